// libedu driver API (edu::drv) against the real driver: every wrapper end
// to end, with the data that went through the device verified.
#include <algorithm>
#include <chrono>
#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "edu/edu.hpp"
#include "lib_test_util.hpp"

namespace edulibtest {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

/// The first device present, opened through the driver API.
edu::drv::Device first_device() {
  const auto devs = sysfs_devices();
  if (devs.empty()) throw std::runtime_error("no /sys/class/edu/edu* device");
  return edu::drv::Device::open(devs.front().index);
}

TEST(LibDriver, IdentifyMatchesSysfs) {
  const auto devs = sysfs_devices();
  ASSERT_FALSE(devs.empty()) << "no edu device bound to the driver";
  if (const auto want = expected_device_count()) {
    EXPECT_EQ(devs.size(), *want);
  }
  for (const auto& s : devs) {
    SCOPED_TRACE("edu" + std::to_string(s.index));
    const edu::drv::Device d = edu::drv::Device::open(s.index);
    EXPECT_EQ(d.path(), "/dev/edu" + std::to_string(s.index));
    const edu::drv::Identity id = d.identify();
    EXPECT_EQ(id.id_register, edu::kQemuIdRegister);
    EXPECT_EQ(id.major, 1);
    EXPECT_EQ(id.minor, 0);
    EXPECT_EQ(id.index, s.index);
    EXPECT_EQ(id.dma_window, s.dma_window);
    EXPECT_EQ(id.dma_window, 4095U);
    EXPECT_EQ(edu::to_string(id.irq_mode), s.irq_mode);
    EXPECT_GT(id.staging_size, 0U);
    EXPECT_TRUE(id.caps.has(edu::Cap::dma));
    EXPECT_TRUE(id.caps.has(edu::Cap::async));
  }
}

TEST(LibDriver, LivenessAndFactorialInEveryWaitMode) {
  const auto d = first_device();
  for (std::uint32_t v : {0U, 0x12345678U, 0xFFFFFFFFU})
    EXPECT_EQ(d.liveness(v), ~v);
  for (edu::WaitMode m : {edu::WaitMode::driver_default, edu::WaitMode::irq, edu::WaitMode::poll,
                          edu::WaitMode::hybrid}) {
    SCOPED_TRACE(edu::to_string(m));
    EXPECT_EQ(d.factorial(0, m), 1U);
    EXPECT_EQ(d.factorial(10, m), 3628800U);
    EXPECT_EQ(d.factorial(13, m, 2000ms), 1932053504U);  // 13! mod 2^32
  }
}

TEST(LibDriver, PreadPwriteRoundTripAndWindowEnd) {
  const auto d = first_device();
  const std::uint32_t w = d.identify().dma_window;
  const auto data = pattern(w, 1);
  EXPECT_EQ(d.pwrite(data, 0), w);
  std::vector<std::byte> back(w);
  EXPECT_EQ(d.pread(back, 0), w);
  EXPECT_EQ(crc32(back), crc32(data));
  EXPECT_TRUE(back == data);

  // Short counts at the end of the window, 0 / ENOSPC past it.
  const auto tail = pattern(100, 2);
  EXPECT_EQ(d.pwrite(tail, w - 10), 10U);
  std::vector<std::byte> t(100);
  EXPECT_EQ(d.pread(t, w - 10), 10U);
  EXPECT_TRUE(std::equal(t.begin(), t.begin() + 10, tail.begin()));
  EXPECT_EQ(d.pread(t, w), 0U);
  try {
    (void)d.pwrite(tail, w);
    ADD_FAILURE() << "pwrite at the window end succeeded";
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), std::errc::no_space_on_device) << e.what();
  }
}

TEST(LibDriver, StagingDmaRoundTrip) {
  const auto d = first_device();
  const auto id = d.identify();
  edu::drv::StagingMapping map = d.map_staging();
  ASSERT_GE(map.size(), id.staging_size);
  const auto data = pattern(2000, 3);
  std::memcpy(map.data(), data.data(), data.size());
  for (edu::WaitMode m : {edu::WaitMode::irq, edu::WaitMode::poll})
    d.dma_staging(edu::Direction::to_device, 0, 100, data.size(), m);
  // Back into another part of the staging buffer.
  const std::size_t back_at = 8192 < id.staging_size - data.size() ? 8192 : 0;
  std::memset(map.data() + back_at, 0, data.size());
  d.dma_staging(edu::Direction::from_device, back_at, 100, data.size());
  EXPECT_EQ(std::memcmp(map.data() + back_at, data.data(), data.size()), 0);
}

TEST(LibDriver, PinnedToFromAndLoopbackWithStats) {
  const auto d = first_device();
  const std::uint32_t w = d.identify().dma_window;
  const auto full = pattern(w, 4);
  const auto data = pattern(3000, 5);
  const edu::Counters before = d.stats();
  EXPECT_EQ(d.dma_to_device(full, 0), w);
  // Clamped to the window: short count.
  std::vector<std::byte> tail(200);
  EXPECT_EQ(d.dma_from_device(tail, w - 50), 50U);
  EXPECT_TRUE(std::equal(tail.begin(), tail.begin() + 50, full.end() - 50));
  EXPECT_EQ(d.dma_to_device(data, 500), 3000U);
  std::vector<std::byte> back(3000);
  EXPECT_EQ(d.dma_from_device(back, 500), 3000U);
  EXPECT_TRUE(back == data);

  const auto src = pattern(3 * w + 17, 6);
  std::vector<std::byte> dst(src.size());
  EXPECT_EQ(d.dma_loopback(src, dst), src.size());
  EXPECT_EQ(crc32(dst), crc32(src));
  const edu::Counters after = d.stats();
  // At least the minimum number of transfers; more if pages were split.
  EXPECT_GE(after.dma_ops - before.dma_ops, 1U + 1U + 1U + 1U + 2U * 4U);
  EXPECT_EQ(after.dma_bytes - before.dma_bytes, w + 50U + 3000U + 3000U + 2U * src.size());
}

TEST(LibDriver, RaiseIrqCountsInterrupts) {
  const auto d = first_device();
  const edu::Counters before = d.stats();
  const std::uint64_t n = d.raise_irq(0x10000);
  EXPECT_GT(n, before.irqs);
  EXPECT_GT(d.stats().irqs, before.irqs);
}

TEST(LibDriver, AsyncFactorialAndStagingWithPollAndComplete) {
  const auto d = first_device();
  d.start_factorial(8);
  const edu::drv::PollResult p = d.poll(5000ms);
  EXPECT_TRUE(p.readable);
  EXPECT_FALSE(p.hangup);
  const edu::drv::Completion c = d.complete();
  EXPECT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c.op, edu::drv::OpKind::factorial);
  EXPECT_EQ(c.result, 40320U);
  EXPECT_FALSE(d.try_complete().has_value());  // nothing left

  edu::drv::StagingMapping map = d.map_staging();
  const auto data = pattern(1000, 6);
  std::memcpy(map.data(), data.data(), data.size());
  d.start_dma_staging(edu::Direction::to_device, 0, 0, data.size());
  // A second asynchronous operation on the same file: EBUSY.
  try {
    d.start_factorial(3);
    ADD_FAILURE() << "two asynchronous operations in flight on one file";
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), std::errc::device_or_resource_busy) << e.what();
    EXPECT_THAT(e.what(), HasSubstr("asynchronous operation in flight"));
  }
  const edu::drv::Completion dc = d.complete();  // blocking file: waits
  EXPECT_TRUE(dc.ok()) << dc.error().message();
  EXPECT_EQ(dc.op, edu::drv::OpKind::dma);
  EXPECT_EQ(dc.result, data.size());
  std::vector<std::byte> back(data.size());
  EXPECT_EQ(d.pread(back, 0), back.size());
  EXPECT_TRUE(back == data);
}

TEST(LibDriver, DebugRegisters) {
  const auto d = first_device();
  EXPECT_EQ(d.reg_read(0x00), edu::kQemuIdRegister);
  d.reg_write(0x04, 0x0F0F0F0FU);
  EXPECT_EQ(d.reg_read(0x04), 0xF0F0F0F0U);
  try {
    d.reg_write(0x08, 1);
    ADD_FAILURE() << "writing the factorial register succeeded";
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), std::errc::operation_not_permitted) << e.what();
    EXPECT_THAT(e.hint(), HasSubstr("owned by the driver"));
  }
}

TEST(LibDriver, OpenByPathAndNonThrowingOpen) {
  const auto devs = sysfs_devices();
  ASSERT_FALSE(devs.empty());
  std::error_code ec;
  auto d = edu::drv::Device::open("/dev/edu" + std::to_string(devs.front().index), {}, ec);
  ASSERT_TRUE(d.has_value()) << ec.message();
  EXPECT_FALSE(ec);
  EXPECT_EQ(d->identify().index, devs.front().index);
  const auto none = edu::drv::Device::open("/dev/edu9999", {}, ec);
  EXPECT_FALSE(none.has_value());
  EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
}

}  // namespace
}  // namespace edulibtest
