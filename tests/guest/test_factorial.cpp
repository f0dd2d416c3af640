// EDU_IOC_FACTORIAL: results in every wait mode, argument validation,
// timeouts, O_NONBLOCK and signals during every blocking wait; after each
// timed-out or interrupted operation the unit must still work.
#include <thread>

#include <sys/ioctl.h>

#include <linux/edu.h>

#include "edu_test_util.hpp"

namespace edutest {
namespace {

class Factorial : public EduTest {};
class FactorialSignals : public EduTest {};

// Status register bit 0: the factorial unit computes.
bool unit_busy(int fd) {
  edu_reg r{};
  r.offset = 0x20;
  r.width = 4;
  if (::ioctl(fd, EDU_IOC_REG_READ, &r) != 0) return false;
  return (r.value & 1) != 0;
}

// Starts a slow factorial in a thread on its own open file and returns once
// the unit is seen busy.
class SlowFactorialThread {
 public:
  explicit SlowFactorialThread(const EduNode& n) : fd_(open_node(n)) {
    thread_ = std::jthread([this] {
      result_ = do_factorial(fd_.get(), kSlowFactorial, EDU_WAIT_IRQ, kMaxTimeoutMs, &value_);
    });
    started_ = wait_until([&] { return unit_busy(fd_.get()); }, 5s);
  }
  [[nodiscard]] bool started() const { return started_; }
  Ret join(std::uint32_t* value) {
    thread_.join();
    *value = value_;
    return result_;
  }

 private:
  Fd fd_;
  Ret result_{};
  std::uint32_t value_ = 0;
  bool started_ = false;
  std::jthread thread_;
};

TEST_F(Factorial, AllWaitModesGiveCorrectResults) {
  std::vector<std::uint32_t> inputs;
  for (std::uint32_t n = 0; n <= 20; ++n)
    inputs.push_back(n);
  for (std::uint32_t n : {25U, 33U, 34U, 100U, 4096U, 65535U})
    inputs.push_back(n);
  for (std::uint32_t mode : {EDU_WAIT_DEFAULT, EDU_WAIT_IRQ, EDU_WAIT_POLL, EDU_WAIT_HYBRID}) {
    for (std::uint32_t n : inputs) {
      std::uint32_t res = 0;
      ASSERT_OK(do_factorial(fd(), n, mode, 0, &res)) << "n=" << n << " mode=" << mode;
      EXPECT_EQ(res, factorial_mod32(n)) << "n=" << n << " mode=" << mode;
    }
  }
}

TEST_F(Factorial, ExplicitTimeoutWithinLimitIsAccepted) {
  for (std::uint32_t t : {1U, 1000U, kMaxTimeoutMs}) {
    std::uint32_t res = 0;
    EXPECT_OK(do_factorial(fd(), 6, EDU_WAIT_IRQ, t, &res)) << "timeout_ms " << t;
    EXPECT_EQ(res, 720U);
  }
}

TEST_F(Factorial, InvalidArgumentsAreRejected) {
  const auto before = stats(fd());
  edu_factorial f{};
  f.input = 3;
  f.reserved = 1;
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_FACTORIAL, &f)) << "reserved";
  f.reserved = 1ULL << 40;
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_FACTORIAL, &f)) << "reserved";
  for (std::uint32_t flags :
       {1U << 2, 1U << 3, 1U << 5, 1U << 8, 1U << 31, 0xffffffffU, EDU_OP_ASYNC | EDU_WAIT_IRQ,
        EDU_OP_ASYNC | EDU_WAIT_POLL, EDU_OP_ASYNC | EDU_WAIT_HYBRID}) {
    EXPECT_ERRNO(EINVAL, do_factorial(fd(), 3, flags, 0)) << "flags " << hex(flags);
  }
  for (std::uint32_t t : {kMaxTimeoutMs + 1, 100000U, 0xffffffffU}) {
    EXPECT_ERRNO(EINVAL, do_factorial(fd(), 3, EDU_WAIT_IRQ, t)) << "timeout_ms " << t;
  }
  const auto after = stats(fd());
  EXPECT_EQ(after.factorial_ops, before.factorial_ops) << "a rejected request ran";
}

TEST_F(Factorial, TimesOutInEveryWaitModeAndRecovers) {
  for (std::uint32_t mode : {EDU_WAIT_IRQ, EDU_WAIT_POLL, EDU_WAIT_HYBRID}) {
    const auto before = stats(fd());
    const auto t0 = Clock::now();
    EXPECT_ERRNO(ETIMEDOUT, do_factorial(fd(), kSlowFactorial, mode, 20)) << "mode " << mode;
    const long took = ms_since(t0);
    EXPECT_GE(took, 15) << "timed out before timeout_ms";
    EXPECT_LT(took, 1500) << "timeout_ms=20 not honoured (mode " << mode << ")";
    const auto after = stats(fd());
    EXPECT_EQ(after.timeouts, before.timeouts + 1) << "mode " << mode;
    EXPECT_EQ(after.factorial_ops, before.factorial_ops);
    expect_factorial_works(fd());
  }
}

// A timed-out computation keeps the unit busy; everything after it must
// wait for it (and can time out, be interrupted or refuse with O_NONBLOCK
// while it does), then work.
TEST_F(Factorial, AbandonedComputationIsWaitedFor) {
  ASSERT_ERRNO(ETIMEDOUT, do_factorial(fd(), kSlowFactorial, EDU_WAIT_IRQ, 10));
  if (!unit_busy(fd())) GTEST_SKIP() << "the device finished too fast to test this";

  Fd nb = open_node(node_, O_RDWR | O_NONBLOCK);
  ASSERT_TRUE(nb.valid());
  EXPECT_ERRNO(EAGAIN, do_factorial(nb.get(), 5, EDU_WAIT_IRQ, kMaxTimeoutMs))
      << "O_NONBLOCK must not wait for the busy unit";
  {
    SignalCatcher sig(SIGALRM);
    ThreadTimer timer(SIGALRM, 100ms);
    const auto t0 = Clock::now();
    EXPECT_ERRNO(EINTR, do_factorial(fd(), 5, EDU_WAIT_POLL, kMaxTimeoutMs))
        << "waiting for the abandoned computation must be interruptible";
    EXPECT_LT(ms_since(t0), 1500);
    timer.cancel();
    EXPECT_GE(sig.count(), 1);
  }
  // Whether waiting for the leftover counts against timeout_ms is not
  // specified: either the result or -ETIMEDOUT, never a stale value.
  std::uint32_t res = 0;
  const Ret r = do_factorial(fd(), 12, EDU_WAIT_IRQ, 30, &res);
  if (r.rc == 0) {
    EXPECT_EQ(res, 479001600U) << "a stale result leaked into the next operation";
  } else {
    EXPECT_EQ(r.err, ETIMEDOUT) << errno_name(r.err);
  }
  res = 0;
  ASSERT_OK(do_factorial(fd(), 11, EDU_WAIT_IRQ, kMaxTimeoutMs, &res));
  EXPECT_EQ(res, 39916800U) << "a stale result leaked into the next operation";
}

TEST_F(Factorial, NonblockWhileAnotherFileComputes) {
  SlowFactorialThread slow(node_);
  ASSERT_TRUE(slow.started()) << "factorial unit never became busy";
  Fd nb = open_node(node_, O_RDWR | O_NONBLOCK);
  ASSERT_TRUE(nb.valid());
  for (std::uint32_t mode : {EDU_WAIT_IRQ, EDU_WAIT_POLL, EDU_WAIT_HYBRID}) {
    EXPECT_ERRNO(EAGAIN, do_factorial(nb.get(), 5, mode, 0)) << "mode " << mode;
  }
  EXPECT_ERRNO(EAGAIN, do_factorial(nb.get(), 5, EDU_OP_ASYNC, 0)) << "async start";
  // A blocking caller waits its turn and gets its own result.
  std::uint32_t res = 0;
  EXPECT_OK(do_factorial(fd(), 9, EDU_WAIT_HYBRID, kMaxTimeoutMs, &res));
  EXPECT_EQ(res, 362880U);
  std::uint32_t slow_res = 1;
  EXPECT_OK(slow.join(&slow_res));
  EXPECT_EQ(slow_res, factorial_mod32(kSlowFactorial));
}

TEST_F(FactorialSignals, InterruptsTheWaitInEveryMode) {
  for (std::uint32_t mode : {EDU_WAIT_IRQ, EDU_WAIT_POLL, EDU_WAIT_HYBRID, EDU_WAIT_DEFAULT}) {
    const auto before = stats(fd());
    {
      SignalCatcher sig(SIGALRM);
      ThreadTimer timer(SIGALRM, 150ms);
      const auto t0 = Clock::now();
      EXPECT_ERRNO(EINTR, do_factorial(fd(), kSlowFactorial, mode, kMaxTimeoutMs))
          << "mode " << mode;
      const long took = ms_since(t0);
      timer.cancel();
      EXPECT_GE(sig.count(), 1);
      EXPECT_LT(took, 1500) << "signal not acted on promptly (mode " << mode << ")";
    }
    const auto after = stats(fd());
    EXPECT_EQ(after.factorial_ops, before.factorial_ops) << "an interrupted op was counted";
    expect_factorial_works(fd());
  }
}

TEST_F(FactorialSignals, InterruptsTheWaitForTheUnit) {
  SlowFactorialThread slow(node_);
  ASSERT_TRUE(slow.started()) << "factorial unit never became busy";
  {
    SignalCatcher sig(SIGALRM);
    ThreadTimer timer(SIGALRM, 100ms);
    EXPECT_ERRNO(EINTR, do_factorial(fd(), 5, EDU_WAIT_IRQ, kMaxTimeoutMs))
        << "waiting for another file's computation";
    EXPECT_ERRNO(EINTR, do_factorial(fd(), 5, EDU_OP_ASYNC, kMaxTimeoutMs))
        << "an asynchronous start waiting for the unit";
    timer.cancel();
    EXPECT_GE(sig.count(), 2);
  }
  std::uint32_t slow_res = 1;
  EXPECT_OK(slow.join(&slow_res)) << "the computing file must not be disturbed";
  EXPECT_EQ(slow_res, factorial_mod32(kSlowFactorial));
  // The interrupted async start left nothing behind on this file.
  edu_completion c{};
  EXPECT_ERRNO(ENODATA, ::ioctl(fd(), EDU_IOC_COMPLETE, &c));
  expect_factorial_works(fd());
}

}  // namespace
}  // namespace edutest
