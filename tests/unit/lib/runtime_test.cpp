// The runtime layer end to end against the in-process driver emulation
// (fake_edu.hpp): copies on every path, chunking, multi-device splitting,
// asynchronous operations and error propagation.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <numeric>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "edu/edu.hpp"
#include "fake_edu.hpp"
#include "fake_sysfs.hpp"

namespace {

using ::testing::Each;
using ::testing::HasSubstr;

std::vector<std::byte> pattern(std::size_t n, unsigned seed = 1) {
  std::vector<std::byte> v(n);
  std::uint32_t x = 2654435761U * (seed + 1);
  for (auto& b : v) {
    x = x * 1664525U + 1013904223U;
    b = static_cast<std::byte>(x >> 24);
  }
  return v;
}

/// N emulated devices with sysfs entries and nodes, and a runtime over them.
class Rig {
 public:
  explicit Rig(unsigned devices, std::optional<std::string> filter = std::nullopt) {
    for (unsigned i = 0; i < devices; ++i) {
      sysfs_.add_device(i);
      fakes_.push_back(
          std::make_unique<edutest::FakeEdu>(sysfs_.dev() / ("edu" + std::to_string(i)), i));
    }
    edu::DiscoveryOptions o;
    o.sysfs_root = sysfs_.sys();
    o.dev_root = sysfs_.dev();
    o.visible_devices = std::move(filter);
    options_ = o;
    runtime_ = std::make_unique<edu::Runtime>(o);
  }
  edu::Runtime& rt() { return *runtime_; }
  const edu::Device& dev(std::size_t i = 0) { return runtime_->device(i); }
  edutest::FakeEduState& fake(std::size_t i = 0) { return fakes_[i]->state(); }
  [[nodiscard]] const edu::DiscoveryOptions& options() const { return options_; }

 private:
  edutest::FakeSysfs sysfs_;
  std::vector<std::unique_ptr<edutest::FakeEdu>> fakes_;
  edu::DiscoveryOptions options_;
  std::unique_ptr<edu::Runtime> runtime_;
};

TEST(RuntimeDevice, OpensAndIdentifies) {
  Rig rig(1);
  const edu::Device& d = rig.dev();
  EXPECT_EQ(d.index(), 0U);
  EXPECT_EQ(d.dma_window(), 4095U);
  EXPECT_EQ(d.identity().staging_size, 16384U);
  EXPECT_TRUE(d.identity().caps.has(edu::Cap::async));
  EXPECT_EQ(d.factorial(10), 3628800U);
  EXPECT_TRUE(d.alive());
  EXPECT_EQ(d.counters().factorial_ops, 1U);
  EXPECT_EQ(&rig.dev(), &d);  // opened once
  EXPECT_EQ(d.driver().raise_irq(0x10000), 1U);
}

TEST(RuntimeDevice, RegisterAccessWithoutPrivilegeGivesHint) {
  Rig rig(1);
  try {
    (void)rig.dev().driver().reg_read(0x04);
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), std::errc::operation_not_permitted);
    EXPECT_THAT(e.hint(), HasSubstr("CAP_SYS_ADMIN"));
  }
}

class CopyPaths : public ::testing::TestWithParam<edu::CopyPath> {};

TEST_P(CopyPaths, ToAndFromDeviceRoundTrip) {
  Rig rig(1);
  const edu::Device& d = rig.dev();
  const auto data = pattern(1000);
  edu::CopyOptions o;
  o.path = GetParam();
  const auto w = edu::copy_to_device(d, 100, data, o);
  EXPECT_EQ(w.bytes, 1000U);
  EXPECT_EQ(w.path, GetParam());
  EXPECT_EQ(w.dma_transfers, 1U);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), rig.fake().buffer.begin() + 100));
  std::vector<std::byte> back(1000);
  const auto r = edu::copy_from_device(d, 100, back, o);
  EXPECT_EQ(r.bytes, 1000U);
  EXPECT_EQ(back, data);
  EXPECT_EQ(rig.fake().transfers, (std::vector<std::uint64_t>{1000, 1000}));
}

TEST_P(CopyPaths, WholeWindow) {
  Rig rig(1);
  const auto data = pattern(4095);
  edu::CopyOptions o;
  o.path = GetParam();
  (void)edu::copy_to_device(rig.dev(), 0, data, o);
  std::vector<std::byte> back(4095);
  (void)edu::copy_from_device(rig.dev(), 0, back, o);
  EXPECT_EQ(back, data);
  EXPECT_EQ(rig.fake().transfers.size(), 2U);  // one full-window transfer each way
}

TEST_P(CopyPaths, ThroughAnySizeInFullWindows) {
  for (std::size_t size : {std::size_t{1}, std::size_t{4095}, std::size_t{4096},
                           std::size_t{3 * 4095 + 17}, std::size_t{100000}}) {
    Rig rig(1);
    const auto src = pattern(size, static_cast<unsigned>(size));
    std::vector<std::byte> dst(size);
    edu::CopyOptions o;
    o.path = GetParam();
    const auto r = edu::copy_through(rig.dev(), src, dst, o);
    EXPECT_EQ(dst, src) << size;
    EXPECT_EQ(r.bytes, size);
    const std::uint64_t windows = edu::dma_transfers(size, 4095);
    EXPECT_EQ(r.dma_transfers, 2 * windows) << size;
    const auto& t = rig.fake().transfers;
    EXPECT_EQ(t.size(), 2 * windows) << size;
    // Fewer, fuller transfers: all full windows except the last pair.
    for (std::size_t i = 0; i + 2 < t.size(); ++i)
      EXPECT_EQ(t[i], 4095U) << size << " #" << i;
  }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, CopyPaths,
                         ::testing::Values(edu::CopyPath::staging, edu::CopyPath::pinned,
                                           edu::CopyPath::read_write),
                         [](const auto& p) { return std::string(edu::to_string(p.param)); });

TEST(Copy, AutomaticPathFollowsThreshold) {
  Rig rig(1);
  auto small = pattern(edu::kPinnedThreshold);
  std::vector<std::byte> out(small.size());
  EXPECT_EQ(edu::copy_through(rig.dev(), small, out).path, edu::CopyPath::staging);
  EXPECT_TRUE(rig.fake().user_calls.empty());
  auto big = pattern(edu::kPinnedThreshold + 1);
  out.resize(big.size());
  EXPECT_EQ(edu::copy_through(rig.dev(), big, out).path, edu::CopyPath::pinned);
  EXPECT_EQ(rig.fake().user_calls.size(), 1U);  // one system call for the whole buffer
  EXPECT_EQ(out, big);
  edu::CopyOptions o;
  o.pinned_threshold = 10;
  EXPECT_EQ(edu::copy_to_device(rig.dev(), 0, std::span(big).first(11), o).path,
            edu::CopyPath::pinned);
}

TEST(Copy, StagingPathPassesWaitMode) {
  Rig rig(1);
  auto data = pattern(10);
  edu::CopyOptions o;
  o.path = edu::CopyPath::staging;
  o.wait = edu::WaitMode::poll;
  (void)edu::copy_to_device(rig.dev(), 0, data, o);
  EXPECT_THAT(rig.fake().wait_flags, Each(static_cast<std::uint32_t>(edu::WaitMode::poll)));
}

TEST(Copy, PinnedLargeBuffersAreBatched) {
  Rig rig(1);
  const std::size_t size = edu::kMaxPinnedBytesPerCall + 5000;
  const auto src = pattern(size);
  std::vector<std::byte> dst(size);
  edu::CopyOptions o;
  o.path = edu::CopyPath::pinned;
  (void)edu::copy_through(rig.dev(), src, dst, o);
  EXPECT_EQ(dst, src);
  const auto& calls = rig.fake().user_calls;
  ASSERT_EQ(calls.size(), 2U);
  EXPECT_LE(calls[0], edu::kMaxPinnedBytesPerCall);
  EXPECT_EQ(calls[0] % 4095, 0U);  // batches end on window boundaries
}

TEST(Copy, ProgressIsMonotonicAndComplete) {
  for (auto path : {edu::CopyPath::staging, edu::CopyPath::pinned, edu::CopyPath::read_write}) {
    Rig rig(1);
    const std::size_t size = 20 * 4095 + 3;
    const auto src = pattern(size);
    std::vector<std::byte> dst(size);
    std::vector<std::uint64_t> seen;
    edu::CopyOptions o;
    o.path = path;
    o.progress = [&](std::uint64_t done, std::uint64_t total) {
      EXPECT_EQ(total, size);
      seen.push_back(done);
    };
    (void)edu::copy_through(rig.dev(), src, dst, o);
    ASSERT_FALSE(seen.empty());
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    EXPECT_EQ(seen.back(), size);
    EXPECT_GE(seen.size(), 3U) << edu::to_string(path);  // visible progress, not one jump
    if (path == edu::CopyPath::pinned) {
      for (auto c : rig.fake().user_calls)
        EXPECT_LE(c, edu::kProgressWindowsPerCall * 4095);
    }
  }
}

TEST(Copy, RangeChecksBeforeTheKernel) {
  Rig rig(1);
  auto data = pattern(100);
  try {
    (void)edu::copy_to_device(rig.dev(), 4000, data);
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), edu::errc::out_of_window);
    EXPECT_THAT(e.hint(), HasSubstr("4095"));
  }
  std::vector<std::byte> big(4096);
  EXPECT_THROW((void)edu::copy_from_device(rig.dev(), 0, big), edu::Error);
  std::vector<std::byte> small(5);
  EXPECT_THROW((void)edu::copy_through(rig.dev(), data, small), edu::Error);
  EXPECT_TRUE(rig.fake().transfers.empty());
  EXPECT_EQ(edu::copy_to_device(rig.dev(), 4095, {}).bytes, 0U);  // empty at the end: no-op
}

TEST(Copy, DriverErrorsPropagateWithContext) {
  Rig rig(1);
  (void)rig.dev();  // opened (and identified) before the failure is armed
  rig.fake().fail_next_errno = EIO;
  auto data = pattern(100);
  edu::CopyOptions o;
  o.path = edu::CopyPath::staging;
  try {
    (void)edu::copy_to_device(rig.dev(), 0, data, o);
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code().value(), EIO);
    EXPECT_THAT(e.operation(), HasSubstr("staging DMA to_device"));
    EXPECT_THAT(e.hint(), HasSubstr("dmesg"));
  }
}

TEST(CopyAll, SplitsAcrossDevicesOnWindowBoundaries) {
  Rig rig(3);
  const std::size_t size = 10 * 4095 + 100;  // 11 windows: 4 + 4 + 3
  const auto src = pattern(size);
  std::vector<std::byte> dst(size);
  std::uint64_t last = 0;
  edu::CopyOptions o;
  o.progress = [&](std::uint64_t done, std::uint64_t total) {
    EXPECT_EQ(total, size);
    last = std::max(last, done);
  };
  const auto r = edu::copy_through_all(rig.rt(), src, dst, o);
  EXPECT_EQ(dst, src);
  EXPECT_EQ(last, size);
  ASSERT_EQ(r.slices.size(), 3U);
  EXPECT_EQ(r.slices[0].slice, (edu::Chunk{0, 4 * 4095ULL}));
  EXPECT_EQ(r.slices[1].slice, (edu::Chunk{4 * 4095ULL, 4 * 4095ULL}));
  EXPECT_EQ(r.slices[2].slice, (edu::Chunk{8 * 4095ULL, 2 * 4095ULL + 100}));
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_EQ(r.slices[i].device_index, i);
    EXPECT_EQ(rig.fake(i).counters.dma_bytes, 2 * r.slices[i].slice.length) << i;
  }
}

TEST(CopyAll, HonoursVisibleDevicesAndSkipsIdleOnes) {
  Rig rig(3, "2,0");
  const auto src = pattern(4095);  // one window: only the first visible device works
  std::vector<std::byte> dst(src.size());
  const auto r = edu::copy_through_all(rig.rt(), src, dst);
  EXPECT_EQ(dst, src);
  ASSERT_EQ(r.slices.size(), 1U);
  EXPECT_EQ(r.slices[0].device_index, 2U);
  EXPECT_TRUE(rig.fake(1).transfers.empty());
}

TEST(CopyAll, FirstErrorIsRethrownAfterAllThreads) {
  Rig rig(2);
  rig.fake(1).fail_after_calls = 1;
  rig.fake(1).fail_errno = ETIMEDOUT;
  const auto src = pattern(6 * std::size_t{4095});
  std::vector<std::byte> dst(src.size());
  edu::CopyOptions o;
  o.path = edu::CopyPath::staging;
  try {
    (void)edu::copy_through_all(rig.rt(), src, dst, o);
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), std::errc::timed_out);
    EXPECT_THAT(e.operation(), HasSubstr("edu1"));
  }
  // Device 0 finished its slice regardless.
  EXPECT_TRUE(std::equal(src.begin(), src.begin() + 3L * 4095, dst.begin()));
}

TEST(Async, FactorialCompletesThroughPoll) {
  Rig rig(1);
  edu::AsyncOp op = edu::factorial_async(rig.dev(), 12);
  EXPECT_TRUE(op.valid());
  EXPECT_GE(op.fd(), 0);
  EXPECT_NE(op.fd(), rig.dev().driver().fd());  // its own open file
  EXPECT_EQ(op.kind(), edu::AsyncOp::Kind::factorial);
  EXPECT_TRUE(op.wait_for(std::chrono::milliseconds{100}));
  EXPECT_TRUE(op.ready());
  EXPECT_EQ(op.get(), 479001600U);
  EXPECT_EQ(op.get(), 479001600U);  // idempotent
}

TEST(Async, CopiesInBothDirections) {
  Rig rig(1);
  const auto data = pattern(300);
  edu::AsyncOp w = edu::copy_to_device_async(rig.dev(), 10, data);
  EXPECT_EQ(w.get(), 300U);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), rig.fake().buffer.begin() + 10));
  std::vector<std::byte> back(300);
  edu::AsyncOp r = edu::copy_from_device_async(rig.dev(), 10, back);
  std::array<edu::AsyncOp*, 1> ops{&r};
  EXPECT_EQ(edu::wait_any(ops, std::chrono::milliseconds{100}), 0U);
  EXPECT_EQ(r.get(), 300U);
  EXPECT_EQ(back, data);
}

TEST(Async, LimitsAreCheckedUpFront) {
  Rig rig(1);
  std::vector<std::byte> big(4096);
  EXPECT_THROW((void)edu::copy_to_device_async(rig.dev(), 0, big), edu::Error);
  EXPECT_THROW((void)edu::copy_from_device_async(rig.dev(), 0, std::span(big).first(0)),
               edu::Error);
}

TEST(Async, OperationFailureIsThrownByWait) {
  Rig rig(1);
  rig.fake().async_status = -ETIMEDOUT;
  edu::AsyncOp op = edu::factorial_async(rig.dev(), 3);
  EXPECT_TRUE(op.ready());  // finished (with an error)
  try {
    op.wait();
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), std::errc::timed_out);
    EXPECT_THAT(e.operation(), HasSubstr("factorial(3)"));
    EXPECT_THAT(e.hint(), HasSubstr("timeout"));
  }
}

TEST(Async, WaitAllAndMove) {
  Rig rig(1);
  edu::AsyncOp a = edu::factorial_async(rig.dev(), 4);
  edu::AsyncOp moved = std::move(a);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move)
  std::array<edu::AsyncOp*, 2> ops{&moved, &a};
  EXPECT_NO_THROW(edu::wait_all(ops));
  EXPECT_EQ(moved.get(), 24U);
}

TEST(DriverApi, StagingMappingIsUsable) {
  Rig rig(1);
  auto file = rig.dev().open_file();
  auto map = file.map_staging();
  ASSERT_EQ(map.size(), 16384U);
  std::memset(map.data(), 0x5A, 64);
  file.dma_staging(edu::Direction::to_device, 0, 7, 64);
  EXPECT_EQ(rig.fake().buffer[7], std::byte{0x5A});
  EXPECT_THROW(file.dma_staging(edu::Direction::to_device, 0, 4000, 200), edu::Error);
  auto moved = std::move(map);
  EXPECT_TRUE(map.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(moved.bytes()[0], std::byte{0x5A});
}

TEST(DriverApi, ShortCountsAtTheWindowEnd) {
  Rig rig(1);
  const auto& drv = rig.dev().driver();
  auto data = pattern(100);
  EXPECT_EQ(drv.pwrite(data, 4045), 50U);
  EXPECT_EQ(drv.dma_to_device(data, 4045), 50U);
  std::vector<std::byte> back(100);
  EXPECT_EQ(drv.pread(back, 4095), 0U);
  try {
    (void)drv.pwrite(data, 4095);
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code().value(), ENOSPC);
    EXPECT_THAT(e.hint(), HasSubstr("window"));
  }
}

TEST(Refresh, SeesDevicesComeAndGo) {
  edutest::FakeSysfs fs;
  fs.add_device(0);
  fs.add_device(1);
  edutest::FakeEdu e0(fs.dev() / "edu0", 0);
  edutest::FakeEdu e1(fs.dev() / "edu1", 1);
  edu::Runtime rt(
      edu::DiscoveryOptions{.sysfs_root = fs.sys(), .dev_root = fs.dev(), .visible_devices = {}});
  const edu::Device& first = rt.device(0);
  const edu::Device& second = rt.device(1);
  EXPECT_TRUE(rt.refresh().empty());

  fs.remove_device(0);  // unplugged
  auto changes = rt.refresh();
  ASSERT_EQ(changes.size(), 1U);
  EXPECT_EQ(changes[0].kind, edu::DeviceChange::Kind::removed);
  EXPECT_EQ(changes[0].info.index, 0U);
  ASSERT_EQ(rt.device_count(), 1U);
  EXPECT_EQ(&rt.device(0), &second);  // still open, now ordinal 0
  EXPECT_EQ(first.index(), 0U);       // the removed one's reference stays valid

  fs.add_device(0);
  fs.add_device(2);
  edutest::FakeEdu e2(fs.dev() / "edu2", 2);
  changes = rt.refresh();
  ASSERT_EQ(changes.size(), 2U);
  EXPECT_EQ(changes[0].kind, edu::DeviceChange::Kind::added);
  EXPECT_EQ(changes[0].info.index, 0U);
  EXPECT_EQ(changes[1].info.index, 2U);
  ASSERT_EQ(rt.device_count(), 3U);
  EXPECT_NE(&rt.device(0), &first);  // a new device, opened afresh
  EXPECT_EQ(rt.device(0).factorial(4), 24U);
  EXPECT_EQ(&rt.device(1), &second);
  EXPECT_EQ(rt.device(2).index(), 2U);
}

TEST(Refresh, KeepsTheVisibleDevicesFilter) {
  edutest::FakeSysfs fs;
  fs.add_device(0);
  edu::Runtime rt(
      edu::DiscoveryOptions{.sysfs_root = fs.sys(), .dev_root = fs.dev(), .visible_devices = "1"});
  EXPECT_EQ(rt.device_count(), 0U);
  fs.add_device(3);
  EXPECT_TRUE(rt.refresh().empty());  // 3 is not visible
  fs.add_device(1);
  const auto changes = rt.refresh();
  ASSERT_EQ(changes.size(), 1U);
  EXPECT_EQ(changes[0].info.index, 1U);
}

TEST(AsyncPool, PooledFilesAreNotReopened) {
  Rig rig(1);
  const edu::Device& d = rig.dev();
  for (int i = 0; i < 20; ++i) {
    const auto data = pattern(64, static_cast<unsigned>(i));
    EXPECT_EQ(edu::copy_to_device_async(d, 0, data).get(), 64U);
    EXPECT_EQ(edu::factorial_async(d, 5).get(), 120U);
  }
  std::lock_guard lock(rig.fake().mutex);
  EXPECT_EQ(rig.fake().closes, 0);  // every operation reused the first file
}

// The process-wide runtime is created once from the environment; the fake
// devices it finds must live as long as the process, so that the test can
// repeat (--gtest_repeat) against the same runtime.
struct ProcessWideFakes {
  edutest::FakeSysfs fs;
  std::unique_ptr<edutest::FakeEdu> e0;
  std::unique_ptr<edutest::FakeEdu> e1;
  ProcessWideFakes() {
    fs.add_device(0);
    fs.add_device(1);
    e0 = std::make_unique<edutest::FakeEdu>(fs.dev() / "edu0", 0);
    e1 = std::make_unique<edutest::FakeEdu>(fs.dev() / "edu1", 1);
  }
};

TEST(DefaultRuntime, LazyFromEnvironment) {
  static const ProcessWideFakes fakes;
  // NOLINTBEGIN(concurrency-mt-unsafe): the environment is set while the test has one thread
  ::setenv("EDU_SYSFS_ROOT", fakes.fs.sys().c_str(), 1);
  ::setenv("EDU_DEV_ROOT", fakes.fs.dev().c_str(), 1);
  ::setenv("EDU_VISIBLE_DEVICES", "1", 1);
  const edu::Device& d = edu::default_device();
  ::unsetenv("EDU_SYSFS_ROOT");
  ::unsetenv("EDU_DEV_ROOT");
  ::unsetenv("EDU_VISIBLE_DEVICES");
  // NOLINTEND(concurrency-mt-unsafe)
  EXPECT_EQ(d.index(), 1U);
  EXPECT_EQ(&edu::default_device(), &d);
  EXPECT_EQ(edu::runtime().device_count(), 1U);
  EXPECT_EQ(d.factorial(5), 120U);
}

}  // namespace
