// The success path of a driver-API call or a small runtime copy allocates no
// heap memory (edu-bench's latency loop measures it): error messages are built
// only when an error is thrown. A binary of its own, because it replaces the
// global operator new to count allocations.
#include <array>
#include <cstdlib>
#include <new>
#include <vector>

#include <gtest/gtest.h>

#include "edu/edu.hpp"
#include "fake_edu.hpp"
#include "fake_sysfs.hpp"

namespace {

// Written by the operator new replacement below, which has no other state.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
thread_local std::size_t t_allocations = 0;

}  // namespace

// The replacements pair malloc with free, which GCC cannot see through.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
// NOLINTBEGIN(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory,misc-new-delete-overloads)
void* operator new(std::size_t size) {
  ++t_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t /*size*/) noexcept {
  std::free(p);
}
// NOLINTEND(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory,misc-new-delete-overloads)
#pragma GCC diagnostic pop

namespace {

/// Heap allocations this thread makes while running @p f.
template <typename F>
std::size_t allocations_in(F&& f) {
  const std::size_t before = t_allocations;
  f();
  return t_allocations - before;
}

class HotPath : public ::testing::Test {
 protected:
  void SetUp() override {
    sysfs_.add_device(0);
    fake_ = std::make_unique<edutest::FakeEdu>(sysfs_.dev() / "edu0", 0);
    // The emulation records every call; room for them is made up front so
    // that only libedu's own allocations count.
    auto& s = fake_->state();
    s.transfers.reserve(100000);
    s.user_calls.reserve(10000);
    s.wait_flags.reserve(10000);
    runtime_ = std::make_unique<edu::Runtime>(edu::DiscoveryOptions{
        .sysfs_root = sysfs_.sys(), .dev_root = sysfs_.dev(), .visible_devices = {}});
    dev_ = &runtime_->device(0);
    // First use maps the staging buffer (a one-time cost, not the hot path).
    std::array<std::byte, 8> warm{};
    (void)edu::copy_to_device(*dev_, 0, warm);
  }

  const edu::Device& dev() { return *dev_; }

 private:
  edutest::FakeSysfs sysfs_;
  std::unique_ptr<edutest::FakeEdu> fake_;
  std::unique_ptr<edu::Runtime> runtime_;
  const edu::Device* dev_ = nullptr;
};

TEST_F(HotPath, DriverCallsDoNotAllocate) {
  const edu::drv::Device& d = dev().driver();
  std::array<std::byte, 256> buf{};
  std::array<std::byte, 256> out{};
  const std::size_t n = allocations_in([&] {
    for (int i = 0; i < 100; ++i) {
      (void)d.factorial(10);
      (void)d.factorial(10, edu::WaitMode::poll, std::chrono::milliseconds{500});
      (void)d.liveness(0x1234);
      (void)d.stats();
      d.dma_staging(edu::Direction::to_device, 0, 0, 64);
      d.dma_staging(edu::Direction::from_device, 0, 0, 64);
      (void)d.pwrite(buf, 10);
      (void)d.pread(out, 10);
      (void)d.dma_to_device(buf, 0);
      (void)d.dma_from_device(out, 0);
      (void)d.dma_loopback(buf, out);
    }
  });
  EXPECT_EQ(n, 0U);
}

TEST_F(HotPath, SmallRuntimeCopiesDoNotAllocate) {
  std::vector<std::byte> src(5000, std::byte{0x5A});
  std::vector<std::byte> dst(5000);
  const std::size_t n = allocations_in([&] {
    for (auto path : {edu::CopyPath::staging, edu::CopyPath::pinned, edu::CopyPath::read_write}) {
      edu::CopyOptions o;
      o.path = path;
      (void)edu::copy_to_device(dev(), 0, std::span(src).first(4000), o);
      (void)edu::copy_from_device(dev(), 0, std::span(dst).first(4000), o);
      (void)edu::copy_through(dev(), src, dst, o);
    }
    (void)dev().factorial(12);
  });
  EXPECT_EQ(n, 0U);
  EXPECT_EQ(dst, src);
}

TEST_F(HotPath, ErrorsStillCarryTheirMessage) {
  // The lazily built message is still complete.
  try {
    (void)dev().driver().factorial(3, edu::WaitMode::irq, std::chrono::milliseconds{70000});
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.operation(), "factorial(3) on " + dev().driver().path());
    EXPECT_EQ(e.hint(), "timeout must be 0 (driver default) .. 60000 ms, got 70000 ms");
  }
}

}  // namespace
