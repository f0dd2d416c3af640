// RAII handles of the driver API, without a device.
#include "edu/driver.hpp"

#include <cerrno>
#include <type_traits>

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "edu/runtime.hpp"

namespace {

bool fd_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

static_assert(!std::is_copy_constructible_v<edu::drv::UniqueFd>);
static_assert(std::is_nothrow_move_constructible_v<edu::drv::UniqueFd>);
static_assert(!std::is_copy_constructible_v<edu::drv::Device>);
static_assert(std::is_nothrow_move_constructible_v<edu::drv::Device>);
static_assert(!std::is_copy_constructible_v<edu::drv::StagingMapping>);
static_assert(std::is_nothrow_move_constructible_v<edu::drv::StagingMapping>);
static_assert(!std::is_copy_constructible_v<edu::Device>);
static_assert(!std::is_copy_constructible_v<edu::AsyncOp>);
static_assert(std::is_nothrow_move_constructible_v<edu::AsyncOp>);

TEST(UniqueFd, ClosesOnDestructionAndMoves) {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    edu::drv::UniqueFd a(raw);
    EXPECT_TRUE(a);
    edu::drv::UniqueFd b(std::move(a));
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    EXPECT_EQ(b.get(), raw);
    edu::drv::UniqueFd c;
    c = std::move(b);
    EXPECT_EQ(c.get(), raw);
    EXPECT_TRUE(fd_open(raw));
  }
  EXPECT_FALSE(fd_open(raw));
}

TEST(UniqueFd, ReleaseAndReset) {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  edu::drv::UniqueFd a(raw);
  const int released = a.release();
  EXPECT_EQ(released, raw);
  EXPECT_FALSE(a);
  EXPECT_TRUE(fd_open(raw));
  a.reset(released);
  a.reset();
  EXPECT_FALSE(fd_open(raw));
}

TEST(DeviceHandle, MoveTransfersTheFile) {
  auto a = edu::drv::Device::open("/dev/null");
  const int fd = a.fd();
  edu::drv::Device b = std::move(a);
  EXPECT_EQ(b.fd(), fd);
  EXPECT_EQ(b.path(), "/dev/null");
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move)
}

TEST(DeviceHandle, ReadWriteOnOrdinaryFileDescriptor) {
  auto dev = edu::drv::Device::open("/dev/null");
  std::array<std::byte, 16> buf{};
  EXPECT_EQ(dev.pread(buf, 0), 0U);  // end of file
  EXPECT_EQ(dev.pwrite(buf, 0), buf.size());
  dev.set_nonblocking(true);
  EXPECT_NE(::fcntl(dev.fd(), F_GETFL) & O_NONBLOCK, 0);
  dev.set_nonblocking(false);
  EXPECT_EQ(::fcntl(dev.fd(), F_GETFL) & O_NONBLOCK, 0);
}

TEST(DeviceHandle, PollReportsReadability) {
  auto dev = edu::drv::Device::open("/dev/null");
  const auto p = dev.poll(std::chrono::milliseconds{0});
  EXPECT_TRUE(p.readable);  // /dev/null is always readable
  EXPECT_FALSE(p.hangup);
}

TEST(StagingMapping, DefaultIsEmpty) {
  const edu::drv::StagingMapping m;
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.bytes().size(), 0U);
  EXPECT_EQ(m.data(), nullptr);
}

TEST(Completion, StatusToErrorCode) {
  edu::drv::Completion c;
  EXPECT_TRUE(c.ok());
  EXPECT_FALSE(c.error());
  c.status = -ETIMEDOUT;
  EXPECT_FALSE(c.ok());
  EXPECT_EQ(c.error(), std::errc::timed_out);
}

TEST(AsyncOp, EmptyHandle) {
  edu::AsyncOp op;
  EXPECT_FALSE(op.valid());
  EXPECT_EQ(op.fd(), -1);
  EXPECT_THROW((void)op.ready(), edu::Error);
  EXPECT_THROW(op.wait(), edu::Error);
  std::array<edu::AsyncOp*, 2> ops{&op, nullptr};
  EXPECT_EQ(edu::wait_any(ops, std::chrono::milliseconds{0}), std::nullopt);
  EXPECT_NO_THROW(edu::wait_all(ops));
}

}  // namespace
