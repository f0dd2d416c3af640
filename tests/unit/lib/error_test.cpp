// Error scheme: codes, messages, hints; the driver API's errno mapping
// exercised on files that are not edu devices.
#include "edu/error.hpp"

#include <array>
#include <cerrno>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "edu/driver.hpp"
#include "fake_sysfs.hpp"

namespace {

using ::testing::HasSubstr;

TEST(Error, EduCodesCompareAndMapToGenericConditions) {
  const std::error_code ec = edu::errc::no_device;
  EXPECT_EQ(ec, edu::errc::no_device);
  EXPECT_EQ(ec.category().name(), std::string("edu"));
  EXPECT_EQ(ec, std::errc::no_such_device);
  EXPECT_EQ(std::error_code(edu::errc::out_of_window), std::errc::invalid_argument);
  EXPECT_EQ(std::error_code(edu::errc::bad_sysfs), std::errc::io_error);
  EXPECT_FALSE(ec.message().empty());
}

TEST(Error, WhatIsOperationReasonHint) {
  const edu::Error e(std::error_code(ENOENT, std::system_category()), "open /dev/edu0",
                     "is the driver loaded? try `modprobe edu`");
  EXPECT_EQ(std::string(e.what()),
            "open /dev/edu0: " + std::error_code(ENOENT, std::system_category()).message() +
                " — is the driver loaded? try `modprobe edu`");
  EXPECT_EQ(e.operation(), "open /dev/edu0");
  EXPECT_EQ(e.hint(), "is the driver loaded? try `modprobe edu`");
  EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
  // Copies share the details and stay valid.
  const edu::Error copy = e;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_STREQ(copy.what(), e.what());
}

TEST(Error, NoHintMeansNoDash) {
  const edu::Error e(std::error_code(EDOM, std::system_category()), "compute", "");
  EXPECT_EQ(std::string(e.what()).find("—"), std::string::npos);
}

TEST(Error, HintsDependOnContext) {
  const auto sys = [](int v) { return std::error_code(v, std::system_category()); };
  EXPECT_THAT(edu::hint_for(sys(ENOENT), edu::Context::open), HasSubstr("modprobe edu"));
  EXPECT_TRUE(edu::hint_for(sys(ENOENT), edu::Context::io).empty());
  EXPECT_THAT(edu::hint_for(sys(EPERM), edu::Context::register_access), HasSubstr("CAP_SYS_ADMIN"));
  EXPECT_THAT(edu::hint_for(sys(EACCES), edu::Context::open), HasSubstr("root"));
  EXPECT_THAT(edu::hint_for(sys(ETIMEDOUT), edu::Context::ioctl), HasSubstr("60000"));
  EXPECT_THAT(edu::hint_for(sys(EBUSY), edu::Context::async), HasSubstr("in flight"));
  EXPECT_THAT(edu::hint_for(sys(ENODEV), edu::Context::ioctl), HasSubstr("removed"));
  EXPECT_THAT(edu::hint_for(sys(ENOTTY), edu::Context::ioctl), HasSubstr("not an edu device"));
  EXPECT_THAT(edu::hint_for(sys(ENOSPC), edu::Context::io), HasSubstr("window"));
  EXPECT_THAT(edu::hint_for(sys(ENODATA), edu::Context::async), HasSubstr("no asynchronous"));
  EXPECT_THAT(edu::hint_for(edu::errc::no_device, edu::Context::discovery),
              HasSubstr("modprobe edu"));
  EXPECT_THAT(edu::hint_for(edu::errc::device_not_visible, edu::Context::open),
              HasSubstr("EDU_VISIBLE_DEVICES"));
}

TEST(Error, ErrnoNames) {
  EXPECT_EQ(edu::errno_name(ENOENT), "ENOENT");
  EXPECT_EQ(edu::errno_name(ETIMEDOUT), "ETIMEDOUT");
  EXPECT_EQ(edu::errno_name(ENOTTY), "ENOTTY");
  EXPECT_EQ(edu::errno_name(4242), "E4242");
}

TEST(DriverErrors, OpeningMissingNodeSaysLoadTheDriver) {
  edutest::TempDir dir;
  const auto node = dir.path() / "edu7";
  try {
    (void)edu::drv::Device::open(node);
    FAIL() << "open of a missing node succeeded";
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(e.operation(), "open " + node.string());
    EXPECT_THAT(e.hint(), HasSubstr("is the driver loaded? try `modprobe edu`"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("modprobe edu"));
  }
}

TEST(DriverErrors, CatchableAsSystemError) {
  EXPECT_THROW((void)edu::drv::Device::open("/nonexistent/dir/edu0"), std::system_error);
}

TEST(DriverErrors, NonThrowingOpenReportsErrorCode) {
  std::error_code ec;
  auto dev = edu::drv::Device::open("/nonexistent/dir/edu0", {}, ec);
  EXPECT_FALSE(dev.has_value());
  EXPECT_EQ(ec, std::errc::no_such_file_or_directory);

  auto ok = edu::drv::Device::open("/dev/null", {}, ec);
  ASSERT_TRUE(ok.has_value());
  EXPECT_FALSE(ec);
  EXPECT_GE(ok->fd(), 0);
  EXPECT_EQ(ok->path(), "/dev/null");
}

TEST(DriverErrors, IoctlOnNonEduFileIsEnottyWithHint) {
  auto dev = edu::drv::Device::open("/dev/null");
  try {
    (void)dev.identify();
    FAIL() << "identify on /dev/null succeeded";
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code().value(), ENOTTY);
    EXPECT_THAT(e.operation(), HasSubstr("identify /dev/null"));
    EXPECT_THAT(e.hint(), HasSubstr("not an edu device"));
  }
  EXPECT_THROW((void)dev.stats(), edu::Error);
  EXPECT_THROW((void)dev.liveness(1), edu::Error);
  EXPECT_THROW((void)dev.complete(), edu::Error);
}

TEST(DriverErrors, ArgumentsCheckedBeforeTheKernel) {
  auto dev = edu::drv::Device::open("/dev/null");
  // Reserved interrupt bits and zero status never reach the ioctl.
  for (std::uint32_t status : {0U, 0x1U, 0x100U, 0x101U}) {
    try {
      (void)dev.raise_irq(status);
      FAIL() << "raise_irq accepted " << status;
    } catch (const edu::Error& e) {
      EXPECT_EQ(e.code(), edu::errc::bad_argument);
    }
  }
  try {
    (void)dev.factorial(5, edu::WaitMode::irq, std::chrono::milliseconds(60001));
    FAIL() << "timeout > 60000 accepted";
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), edu::errc::bad_argument);
    EXPECT_THAT(e.hint(), HasSubstr("60000"));
  }
  std::array<std::byte, 8> a{};
  std::array<std::byte, 4> b{};
  try {
    (void)dev.dma_loopback(a, b);
    FAIL() << "loopback with different sizes accepted";
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), edu::errc::size_mismatch);
  }
  EXPECT_THROW(dev.dma_staging(edu::Direction::loopback, 0, 0, 1), edu::Error);
  // Empty pinned transfers are no-ops, not ioctls.
  EXPECT_EQ(dev.dma_to_device({}, 0), 0U);
  EXPECT_EQ(dev.dma_loopback({}, {}), 0U);
}

TEST(DriverErrors, EmptyHandleFailsWithEbadf) {
  const edu::drv::Device dev;
  EXPECT_FALSE(static_cast<bool>(dev));
  try {
    (void)dev.identify();
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code().value(), EBADF);
  }
}

}  // namespace
