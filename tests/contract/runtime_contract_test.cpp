// The runtime API's contract (see contract_target.hpp): copies on every path,
// thread safety of one shared Device, one asynchronous operation per open
// file and any number per Device, reuse of finished operations' files, and
// the handles' ownership rules. Compiled into the host unit tests (against
// the emulation) and into the guest's edu-lib-tests (against edu.ko).
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <concepts>
#include <cstring>
#include <thread>
#include <type_traits>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "contract_target.hpp"
#include "edu/edu.hpp"

namespace educontract {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// ---- ownership: what must not compile

// The runtime owns its devices: a caller can use them, not take them.
static_assert(
    std::is_same_v<decltype(std::declval<edu::Runtime&>().device(0)), const edu::Device&>);
static_assert(!std::is_constructible_v<edu::Device, const edu::Device&&>);
static_assert(std::is_same_v<decltype(edu::default_device()), const edu::Device&>);
// O_NONBLOCK belongs to the open file: changing it needs a non-const handle,
// so holders of the runtime's const Device cannot change it for everyone.
template <typename D>
concept CanSetNonblocking = requires(D& d) {
  d.set_nonblocking(true);
};
static_assert(!CanSetNonblocking<const edu::drv::Device>);
static_assert(CanSetNonblocking<edu::drv::Device>);

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  std::uint32_t x = 2654435761U * (seed + 1);
  for (auto& b : v) {
    x = x * 1664525U + 1013904223U;
    b = static_cast<std::byte>(x >> 24);
  }
  return v;
}

class Contract : public ::testing::Test {
 protected:
  void SetUp() override {
    target_ = make_target();
    ASSERT_GE(target_->runtime().device_count(), 2U) << target_->name();
  }
  edu::Runtime& rt() { return target_->runtime(); }
  const edu::Device& dev(std::size_t i = 0) { return rt().device(i); }
  Target& target() { return *target_; }

 private:
  std::unique_ptr<Target> target_;
};

TEST_F(Contract, CopiesRoundTripOnEveryPath) {
  const edu::Device& d = dev();
  ASSERT_EQ(d.dma_window(), 4095U);
  unsigned seed = 1;
  for (auto path : {edu::CopyPath::staging, edu::CopyPath::pinned, edu::CopyPath::read_write}) {
    SCOPED_TRACE(edu::to_string(path));
    edu::CopyOptions o;
    o.path = path;
    for (std::size_t size : {std::size_t{1}, std::size_t{4095}, std::size_t{3 * 4095 + 17}}) {
      const auto src = pattern(size, seed++);
      std::vector<std::byte> dst(size);
      const auto r = edu::copy_through(d, src, dst, o);
      EXPECT_EQ(r.bytes, size);
      EXPECT_EQ(r.path, path);
      EXPECT_TRUE(dst == src) << size;
    }
    const auto data = pattern(100, seed++);
    EXPECT_EQ(edu::copy_to_device(d, 3995, data, o).bytes, 100U);
    std::vector<std::byte> back(100);
    EXPECT_EQ(edu::copy_from_device(d, 3995, back, o).bytes, 100U);
    EXPECT_TRUE(back == data);
  }
}

/// Threads sharing one Device, each streaming its own pattern through it on
/// @p paths[thread]; every copy must come back intact.
void expect_copies_intact(const edu::Device& d, const std::vector<edu::CopyPath>& paths,
                          std::chrono::milliseconds budget) {
  constexpr int kMaxIterations = 3000;
  constexpr std::size_t kSize = 300;
  std::atomic<int> corrupted{0};
  std::atomic<int> copies{0};
  std::atomic<bool> failed{false};
  const auto deadline = std::chrono::steady_clock::now() + budget;
  {
    std::vector<std::jthread> threads;
    for (std::size_t t = 0; t < paths.size(); ++t) {
      threads.emplace_back([&, t] {
        const auto src = pattern(kSize, static_cast<unsigned>(100 + t));
        std::vector<std::byte> dst(kSize);
        edu::CopyOptions o;
        o.path = paths[t];
        for (int i = 0; i < kMaxIterations && std::chrono::steady_clock::now() < deadline; ++i) {
          std::fill(dst.begin(), dst.end(), std::byte{0});
          try {
            (void)edu::copy_through(d, src, dst, o);
          } catch (const edu::Error& e) {
            ADD_FAILURE() << e.what();
            failed = true;
            return;
          }
          ++copies;
          if (dst != src) ++corrupted;
        }
      });
    }
  }
  EXPECT_FALSE(failed);
  EXPECT_EQ(corrupted.load(), 0) << "of " << copies.load() << " copies";
  EXPECT_GE(copies.load(), static_cast<int>(paths.size())) << "every thread copies at least once";
}

TEST_F(Contract, CopyThroughIsThreadSafeOnTheReadWritePath) {
  using P = edu::CopyPath;
  expect_copies_intact(dev(), {P::read_write, P::read_write, P::read_write, P::read_write},
                       target().stress_budget());
}

TEST_F(Contract, CopyThroughIsThreadSafeAcrossPaths) {
  using P = edu::CopyPath;
  expect_copies_intact(dev(), {P::staging, P::read_write, P::pinned, P::staging, P::read_write},
                       target().stress_budget());
}

TEST_F(Contract, AsyncSlotIsPerFile) {
  // docs/uapi.md: one operation in flight per open file (a second one while
  // it runs is EBUSY, tested with a slow factorial in the guest ABI suite);
  // starting one after the previous finished discards its uncollected
  // completion.
  const edu::drv::Device a = dev().open_file();
  const edu::drv::Device b = dev().open_file();
  a.start_factorial(5);
  b.start_factorial(6);  // another file: its own slot
  ASSERT_TRUE(a.poll(5000ms).readable);
  a.start_factorial(7);  // 5! finished: no longer in flight
  const edu::drv::Completion ca = a.complete();
  const edu::drv::Completion cb = b.complete();
  EXPECT_EQ(ca.op, edu::drv::OpKind::factorial);
  EXPECT_EQ(ca.result, 5040U) << "COMPLETE reports the latest operation";
  EXPECT_EQ(cb.result, 720U);
  try {
    (void)a.complete();
    ADD_FAILURE() << "a second completion of one operation";
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), std::errc::no_message_available) << e.what();
  }
}

TEST_F(Contract, ManyAsyncOperationsInFlightOnOneDevice) {
  // What examples/async_poll.cpp does: several at once, collected in any order.
  const edu::Device& d = dev();
  std::array<std::byte, 64> in{};
  std::vector<edu::AsyncOp> ops;
  for (std::uint32_t n = 1; n <= 4; ++n)
    ops.push_back(edu::factorial_async(d, n));
  ops.push_back(edu::copy_from_device_async(d, 0, in));
  std::vector<edu::AsyncOp*> ptrs;
  ptrs.reserve(ops.size());
  for (auto& op : ops)
    ptrs.push_back(&op);
  edu::wait_all(ptrs);
  constexpr std::array<std::uint64_t, 4> kFactorials{1, 2, 6, 24};
  for (std::size_t i = 0; i < kFactorials.size(); ++i)
    EXPECT_EQ(ops[i].get(), kFactorials[i]) << i;
  EXPECT_EQ(ops[4].get(), in.size());
}

TEST_F(Contract, FinishedAsyncOperationsGiveTheirFilesBack) {
  const edu::Device& d = dev(1);
  const std::size_t before = d.pooled_files();
  int fd = -1;
  {
    edu::AsyncOp op = edu::factorial_async(d, 3);
    fd = op.fd();
    EXPECT_EQ(op.get(), 6U);
  }
  EXPECT_EQ(d.pooled_files(), before + 1);
  // The next operation, a DMA this time, reuses that file.
  const auto data = pattern(200, 7);
  edu::AsyncOp w = edu::copy_to_device_async(d, 0, data);
  EXPECT_EQ(w.fd(), fd);
  EXPECT_EQ(w.get(), 200U);
  std::vector<std::byte> back(200);
  {
    edu::AsyncOp r = edu::copy_from_device_async(d, 0, back);
    EXPECT_EQ(r.get(), 200U);
  }
  EXPECT_TRUE(back == data);
  // An operation dropped before it was collected does not come back.
  w = edu::AsyncOp{};
  const std::size_t pooled = d.pooled_files();
  { edu::AsyncOp dropped = edu::factorial_async(d, 4); }
  EXPECT_EQ(d.pooled_files(), pooled - 1);
  // The pool is bounded.
  std::vector<edu::AsyncOp> many;
  for (std::size_t i = 0; i < edu::kAsyncFilePoolSize + 3; ++i)
    many.push_back(edu::factorial_async(d, 2));
  for (auto& op : many)
    EXPECT_EQ(op.get(), 2U);
  many.clear();
  EXPECT_EQ(d.pooled_files(), edu::kAsyncFilePoolSize);
}

TEST_F(Contract, EmptyDriverHandleFailsAtOnce) {
  edu::drv::Device empty;
  const auto start = std::chrono::steady_clock::now();
  for (auto call : std::array<void (*)(const edu::drv::Device&), 4>{
           [](const edu::drv::Device& e) { (void)e.poll(std::chrono::milliseconds{-1}); },
           [](const edu::drv::Device& e) { (void)e.try_complete(); },
           [](const edu::drv::Device& e) { (void)e.factorial(3); },
           [](const edu::drv::Device& e) { (void)e.map_staging(4096); }}) {
    try {
      call(empty);
      ADD_FAILURE() << "an operation on an empty handle succeeded";
    } catch (const edu::Error& e) {
      EXPECT_EQ(e.code().value(), EBADF) << e.what();
      EXPECT_THAT(e.hint(), HasSubstr("empty")) << e.what();
    }
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(Contract, UniqueFdResetToItsOwnDescriptorKeepsIt) {
  edu::drv::UniqueFd fd(::dup(dev().driver().fd()));
  ASSERT_TRUE(fd);
  const int raw = fd.get();
  fd.reset(fd.get());
  EXPECT_EQ(fd.get(), raw);
  const edu::drv::Device adopted = edu::drv::Device::adopt(std::move(fd), "adopted");
  EXPECT_EQ(adopted.factorial(4), 24U);  // still open
}

TEST_F(Contract, RefreshWithoutHotplugChangesNothing) {
  const edu::Device& before = dev(0);
  const auto count = rt().device_count();
  EXPECT_TRUE(rt().refresh().empty());
  EXPECT_EQ(rt().device_count(), count);
  EXPECT_EQ(&rt().device(0), &before);  // the opened device is kept
  EXPECT_EQ(before.factorial(5), 120U);
}

}  // namespace
}  // namespace educontract
