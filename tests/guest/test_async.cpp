// Asynchronous operations (EDU_OP_ASYNC): readiness through poll/select/epoll,
// EDU_IOC_COMPLETE, -EBUSY/-ENODATA/-EAGAIN, SIGIO, timeouts, signals and
// close with an operation in flight (docs/uapi.md, "Asynchronous
// operations").
#include <array>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <unistd.h>

#include <linux/edu.h>

#include "edu_test_util.hpp"

namespace edutest {
namespace {

Ret start_factorial(int fd, std::uint32_t n, std::uint32_t timeout_ms = kMaxTimeoutMs) {
  return do_factorial(fd, n, EDU_OP_ASYNC, timeout_ms);
}

Ret start_staging(int fd, std::uint32_t dir, std::uint64_t soff, std::uint64_t doff,
                  std::uint64_t len) {
  return dma_staging(fd, dir, soff, doff, len, EDU_OP_ASYNC);
}

Ret complete(int fd, edu_completion* c) {
  std::memset(c, 0xAA, sizeof *c);
  return R(::ioctl(fd, EDU_IOC_COMPLETE, c));
}

short poll_events(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN | POLLRDNORM, 0};
  const int n = ::poll(&p, 1, timeout_ms);
  EXPECT_GE(n, 0) << "poll: " << errno_name(errno);
  return n > 0 ? p.revents : short{0};
}

// select(2) on fd for reading: the same readiness as poll, old interface.
bool select_readable(int fd, int timeout_ms) {
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(fd, &rd);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000L};
  const int n = ::select(fd + 1, &rd, nullptr, nullptr, &tv);
  EXPECT_GE(n, 0) << "select: " << errno_name(errno);
  return n > 0 && FD_ISSET(fd, &rd);
}

void set_nonblock(int fd, bool on) {
  const int fl = ::fcntl(fd, F_GETFL);
  ASSERT_GE(fl, 0);
  ASSERT_EQ(::fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK)), 0);
}

void expect_completion_clean(const edu_completion& c) {
  EXPECT_EQ(c.reserved[0], 0U);
  EXPECT_EQ(c.reserved[1], 0U);
}

class Async : public EduTest {};
class AsyncSignals : public EduTest {};
class Sigio : public EduTest {};

TEST_F(Async, CompleteWithNothingStartedIsNoData) {
  edu_completion c{};
  EXPECT_ERRNO(ENODATA, complete(fd(), &c)) << "blocking file";
  Fd nb = open_node(node_, O_RDWR | O_NONBLOCK);
  ASSERT_TRUE(nb.valid());
  EXPECT_ERRNO(ENODATA, complete(nb.get(), &c)) << "non-blocking file";
  EXPECT_EQ(poll_events(fd(), 0), 0) << "nothing to complete: not readable";
}

TEST_F(Async, FactorialBecomesReadableAndCompletes) {
  ASSERT_OK(start_factorial(fd(), kSlowFactorial));
  EXPECT_EQ(poll_events(fd(), 0), 0) << "readable while the operation runs";
  set_nonblock(fd(), true);
  edu_completion c{};
  EXPECT_ERRNO(EAGAIN, complete(fd(), &c)) << "O_NONBLOCK COMPLETE with the op in flight";
  set_nonblock(fd(), false);

  const short ev = poll_events(fd(), 20000);
  EXPECT_TRUE(ev & POLLIN) << "revents " << hex(static_cast<std::uint16_t>(ev));
  EXPECT_TRUE(ev & POLLRDNORM) << "revents " << hex(static_cast<std::uint16_t>(ev));
  EXPECT_FALSE(ev & (POLLERR | POLLHUP));
  ASSERT_OK(complete(fd(), &c));
  EXPECT_EQ(c.op, static_cast<std::uint32_t>(EDU_COMPLETION_FACTORIAL));
  EXPECT_EQ(c.status, 0);
  EXPECT_EQ(c.result, factorial_mod32(kSlowFactorial));
  expect_completion_clean(c);

  EXPECT_ERRNO(ENODATA, complete(fd(), &c)) << "the completion is consumed";
  EXPECT_EQ(poll_events(fd(), 0), 0) << "still readable after COMPLETE";

  // A quick one, for a result that is not zero.
  ASSERT_OK(start_factorial(fd(), 12));
  ASSERT_TRUE(poll_events(fd(), 10000) & POLLIN);
  ASSERT_OK(complete(fd(), &c));
  EXPECT_EQ(c.op, static_cast<std::uint32_t>(EDU_COMPLETION_FACTORIAL));
  EXPECT_EQ(c.status, 0);
  EXPECT_EQ(c.result, 479001600U);
}

TEST_F(Async, EpollReadiness) {
  Fd ep(::epoll_create1(EPOLL_CLOEXEC));
  ASSERT_TRUE(ep.valid());
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = 77;
  ASSERT_OK(::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd(), &ev));
  ASSERT_OK(start_factorial(fd(), kSlowFactorial));
  std::array<epoll_event, 2> out{};
  EXPECT_RET(0, ::epoll_wait(ep.get(), out.data(), 2, 0)) << "ready while running";
  ASSERT_RET(1, ::epoll_wait(ep.get(), out.data(), 2, 20000));
  EXPECT_EQ(out[0].data.u32, 77U);
  EXPECT_TRUE(out[0].events & EPOLLIN);
  edu_completion c{};
  ASSERT_OK(complete(fd(), &c));
  EXPECT_EQ(c.status, 0);
  EXPECT_RET(0, ::epoll_wait(ep.get(), out.data(), 2, 0)) << "ready after COMPLETE";
}

TEST_F(Async, SelectReadiness) {
  ASSERT_OK(start_factorial(fd(), kSlowFactorial));
  EXPECT_FALSE(select_readable(fd(), 0)) << "ready while running";
  ASSERT_TRUE(select_readable(fd(), 20000)) << "not ready after the operation finished";
  edu_completion c{};
  ASSERT_OK(complete(fd(), &c));
  EXPECT_EQ(c.status, 0);
  EXPECT_EQ(c.result, factorial_mod32(kSlowFactorial));
  EXPECT_FALSE(select_readable(fd(), 0)) << "ready after COMPLETE";
}

TEST_F(Async, SecondOperationOnTheSameFileIsBusy) {
  ASSERT_OK(start_factorial(fd(), kSlowFactorial));
  EXPECT_ERRNO(EBUSY, start_factorial(fd(), 5));
  EXPECT_ERRNO(EBUSY, start_staging(fd(), EDU_DMA_TO_DEVICE, 0, 0, 16))
      << "one asynchronous operation per file, whatever the unit";
  // Another file may run its own.
  Fd other = open_node(node_);
  ASSERT_TRUE(other.valid());
  ASSERT_OK(start_staging(other.get(), EDU_DMA_TO_DEVICE, 0, 0, 16));
  edu_completion c{};
  ASSERT_OK(complete(other.get(), &c));
  EXPECT_EQ(c.op, static_cast<std::uint32_t>(EDU_COMPLETION_DMA));
  EXPECT_EQ(c.status, 0);
  EXPECT_EQ(c.result, 16U);
  ASSERT_OK(complete(fd(), &c));  // blocking: waits for the factorial
  EXPECT_EQ(c.op, static_cast<std::uint32_t>(EDU_COMPLETION_FACTORIAL));
  EXPECT_EQ(c.status, 0);
}

TEST_F(Async, FinishedButUncollectedIsNotInFlight) {
  ASSERT_OK(start_factorial(fd(), 5));
  ASSERT_TRUE(poll_events(fd(), 10000) & POLLIN);
  ASSERT_OK(start_factorial(fd(), 6)) << "a finished operation is no longer in flight";
  edu_completion c{};
  ASSERT_OK(complete(fd(), &c));
  EXPECT_EQ(c.result, 720U) << "COMPLETE must report the latest operation";
  EXPECT_ERRNO(ENODATA, complete(fd(), &c));
}

TEST_F(Async, BlockingCompleteWaitsForTheResult) {
  ASSERT_OK(start_factorial(fd(), kSlowFactorial));
  const auto t0 = Clock::now();
  edu_completion c{};
  ASSERT_OK(complete(fd(), &c));
  EXPECT_GT(Clock::now() - t0, 50ms) << "COMPLETE returned before a slow factorial finished";
  EXPECT_EQ(c.op, static_cast<std::uint32_t>(EDU_COMPLETION_FACTORIAL));
  EXPECT_EQ(c.status, 0);
  EXPECT_EQ(c.result, factorial_mod32(kSlowFactorial));
}

TEST_F(Async, DmaStagingRoundTrip) {
  Mapping m(::mmap(nullptr, id_.staging_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd(), 0),
            id_.staging_size);
  ASSERT_TRUE(m.valid()) << errno_name(errno);
  fill_pattern({m.data(), 3000}, 3000);
  const std::uint32_t want = crc32({m.data(), 3000});
  ASSERT_OK(start_staging(fd(), EDU_DMA_TO_DEVICE, 0, 50, 3000));
  ASSERT_TRUE(poll_events(fd(), 10000) & POLLIN);
  edu_completion c{};
  ASSERT_OK(complete(fd(), &c));
  EXPECT_EQ(c.op, static_cast<std::uint32_t>(EDU_COMPLETION_DMA));
  EXPECT_EQ(c.status, 0);
  EXPECT_EQ(c.result, 3000U) << "bytes transferred";
  expect_completion_clean(c);

  std::vector<std::uint8_t> back(3000, 0);
  ASSERT_RET(3000, ::pread(fd(), back.data(), 3000, 50));
  EXPECT_EQ(crc32(back), want);

  std::memset(m.data(), 0, m.size());
  const std::size_t soff = id_.staging_size - 3000;
  ASSERT_OK(start_staging(fd(), EDU_DMA_FROM_DEVICE, soff, 50, 3000));
  ASSERT_OK(complete(fd(), &c));
  EXPECT_EQ(c.status, 0);
  EXPECT_EQ(c.result, 3000U);
  EXPECT_EQ(crc32({m.data() + soff, 3000}), want);
}

TEST_F(Async, TimeoutIsReportedInTheCompletion) {
  const auto before = stats(fd());
  ASSERT_OK(start_factorial(fd(), kSlowFactorial, 20));
  edu_completion c{};
  const auto t0 = Clock::now();
  ASSERT_OK(complete(fd(), &c));
  EXPECT_LT(Clock::now() - t0, 2s) << "the asynchronous timeout was not honoured";
  EXPECT_EQ(c.op, static_cast<std::uint32_t>(EDU_COMPLETION_FACTORIAL));
  EXPECT_EQ(c.status, -ETIMEDOUT);
  EXPECT_EQ(stats(fd()).timeouts, before.timeouts + 1);
  expect_factorial_works(fd());
}

TEST_F(Async, FaultingCompleteArgument) {
  ASSERT_OK(start_factorial(fd(), 5));
  ASSERT_TRUE(poll_events(fd(), 10000) & POLLIN);
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_COMPLETE, nullptr));
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_COMPLETE, kKernelAddress));
  Mapping ro = anon_map(page_size(), PROT_READ);
  ASSERT_TRUE(ro.valid());
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_COMPLETE, ro.data()));
  // The contract does not say whether a result survives a faulting COMPLETE;
  // if it does, it must be the right one.
  edu_completion c{};
  const Ret r = complete(fd(), &c);
  if (r.rc == 0) {
    EXPECT_EQ(c.result, 120U);
  } else {
    EXPECT_EQ(r.err, ENODATA) << errno_name(r.err);
  }
}

TEST_F(Async, CloseWithOperationsInFlight) {
  {
    // close() takes a factorial in flight over instead of sleeping (in D
    // state) until the device has computed it; the unit's next user waits
    // for the abandoned computation instead, interruptibly.
    Fd f = open_node(node_);
    ASSERT_TRUE(f.valid());
    ASSERT_OK(start_factorial(f.get(), kSlowFactorial));
    const auto t0 = Clock::now();
    f.reset();
    const auto took = Clock::now() - t0;
    EXPECT_LT(took, 300ms) << "close() waited for the asynchronous factorial";
    Fd g = open_node(node_);
    ASSERT_TRUE(g.valid());
    edu_factorial req{};
    req.input = 10;
    req.flags = EDU_WAIT_POLL;
    ASSERT_OK(::ioctl(g.get(), EDU_IOC_FACTORIAL, &req)) << "after the abandoned computation";
    EXPECT_EQ(req.result, 3628800U);
  }
  {
    Fd f = open_node(node_);
    ASSERT_TRUE(f.valid());
    Mapping m(::mmap(nullptr, page_size(), PROT_READ | PROT_WRITE, MAP_SHARED, f.get(), 0),
              page_size());
    ASSERT_TRUE(m.valid());
    fill_pattern(m.span(), 3100);
    ASSERT_OK(start_staging(f.get(), EDU_DMA_FROM_DEVICE, 0, 0, kWindow));
    f.reset();
    m.reset();  // last reference: the staging buffer goes after the DMA
  }
  expect_factorial_works(fd());
  expect_dma_works(fd());
}

TEST_F(AsyncSignals, BlockingCompleteIsInterruptible) {
  ASSERT_OK(start_factorial(fd(), kSlowFactorial));
  edu_completion c{};
  {
    SignalCatcher sig(SIGALRM);
    ThreadTimer timer(SIGALRM, 150ms);
    const auto t0 = Clock::now();
    EXPECT_ERRNO(EINTR, complete(fd(), &c));
    EXPECT_LT(Clock::now() - t0, 1500ms);
    timer.cancel();
    EXPECT_GE(sig.count(), 1);
  }
  // The operation is not lost by the interruption.
  ASSERT_OK(complete(fd(), &c));
  EXPECT_EQ(c.op, static_cast<std::uint32_t>(EDU_COMPLETION_FACTORIAL));
  EXPECT_EQ(c.status, 0);
  EXPECT_EQ(c.result, factorial_mod32(kSlowFactorial));
}

TEST_F(Sigio, DeliveredWhenAnOperationCompletes) {
  // Block SIGIO here and collect it synchronously; F_SETOWN_EX directs it
  // to this thread.
  sigset_t set;
  sigset_t old;
  sigemptyset(&set);
  sigaddset(&set, SIGIO);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &set, &old), 0);
  const timespec drain{0, 0};
  while (::sigtimedwait(&set, nullptr, &drain) == SIGIO) {
  }
  f_owner_ex owner{F_OWNER_TID, current_tid()};
  ASSERT_OK(::fcntl(fd(), F_SETOWN_EX, &owner));
  const int fl = ::fcntl(fd(), F_GETFL);
  ASSERT_OK(::fcntl(fd(), F_SETFL, fl | O_ASYNC));

  const timespec five{5, 0};
  ASSERT_OK(start_factorial(fd(), 7));
  EXPECT_EQ(::sigtimedwait(&set, nullptr, &five), SIGIO) << "no SIGIO after the factorial";
  edu_completion c{};
  ASSERT_OK(complete(fd(), &c));
  EXPECT_EQ(c.result, 5040U);

  ASSERT_OK(start_staging(fd(), EDU_DMA_TO_DEVICE, 0, 0, 100));
  EXPECT_EQ(::sigtimedwait(&set, nullptr, &five), SIGIO) << "no SIGIO after the DMA";
  ASSERT_OK(complete(fd(), &c));
  EXPECT_EQ(c.op, static_cast<std::uint32_t>(EDU_COMPLETION_DMA));

  // Off again: no more signals.
  ASSERT_OK(::fcntl(fd(), F_SETFL, fl & ~O_ASYNC));
  ASSERT_OK(start_factorial(fd(), 8));
  ASSERT_OK(complete(fd(), &c));
  const timespec short_wait{0, 300000000};
  EXPECT_ERRNO(EAGAIN, ::sigtimedwait(&set, nullptr, &short_wait)) << "SIGIO with O_ASYNC off";
  ASSERT_EQ(::pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);
}

}  // namespace
}  // namespace edutest
