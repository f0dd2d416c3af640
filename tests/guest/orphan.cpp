#include "orphan.hpp"

#include <array>
#include <cstring>
#include <iostream>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/edu.h>

namespace edutest {

struct OrphanScenario::Shared {
  EduNode node;
  Fd fd;        // loopback in flight, staging mapped, poll waiter
  Fd fd_async;  // slow asynchronous factorial, blocking COMPLETE waiter
  Mapping staging;
  Mapping src, dst;
  std::uint64_t len = 0;
  std::uint32_t slow_input = 0;

  struct LoopOutcome {
    Ret ret;
    std::uint64_t done;
  };
  struct CompleteOutcome {
    Ret ret;
    edu_completion c;
    std::chrono::steady_clock::time_point when;
  };
  std::future<LoopOutcome> loop;
  std::future<CompleteOutcome> complete;
  std::future<short> polled;
};

OrphanScenario::OrphanScenario(const EduNode& n, std::uint32_t slow_input,
                               std::uint64_t loopback_len)
    : s_(std::make_shared<Shared>()) {
  s_->node = n;
  s_->slow_input = slow_input;
  s_->fd = open_node(n);
  s_->fd_async = open_node(n);
  if (!s_->fd || !s_->fd_async) return;
  const auto id = identify(s_->fd.get());
  void* p = ::mmap(nullptr, id.staging_size, PROT_READ | PROT_WRITE, MAP_SHARED, s_->fd.get(), 0);
  EXPECT_NE(p, MAP_FAILED) << "mmap: " << errno_name(errno);
  if (p != MAP_FAILED) {
    s_->staging = Mapping(p, id.staging_size);
    std::memset(p, 0x3c, id.staging_size);
  }
  s_->len = loopback_len;
  s_->src = anon_map(s_->len);
  s_->dst = anon_map(s_->len);
  if (!s_->src.valid() || !s_->dst.valid()) return;
  fill_pattern(s_->src.span(), 0x0dd);

  EXPECT_OK(do_factorial(s_->fd_async.get(), slow_input, EDU_OP_ASYNC, kMaxTimeoutMs))
      << "async factorial to be in flight at removal";

  auto shared = s_;
  std::promise<Shared::LoopOutcome> loop_p;
  s_->loop = loop_p.get_future();
  std::thread([shared, pr = std::move(loop_p)]() mutable {
    edu_dma_user u{};
    u.direction = EDU_DMA_LOOPBACK;
    u.src = uptr(shared->src.data());
    u.dst = uptr(shared->dst.data());
    u.length = shared->len;
    const Ret r = R(::ioctl(shared->fd.get(), EDU_IOC_DMA_USER, &u));
    pr.set_value({r, u.done});
  }).detach();

  std::promise<Shared::CompleteOutcome> complete_p;
  s_->complete = complete_p.get_future();
  std::thread([shared, pr = std::move(complete_p)]() mutable {
    edu_completion c{};
    const Ret r = R(::ioctl(shared->fd_async.get(), EDU_IOC_COMPLETE, &c));
    pr.set_value({r, c, std::chrono::steady_clock::now()});
  }).detach();

  std::promise<short> poll_p;
  s_->polled = poll_p.get_future();
  std::thread([shared, pr = std::move(poll_p)]() mutable {
    pollfd pf{shared->fd.get(), POLLIN, 0};
    const int ready = ::poll(&pf, 1, 90000);
    pr.set_value(ready > 0 ? pf.revents : static_cast<short>(ready == 0 ? 0 : -1));
  }).detach();

  // Let the loopback get going.
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(s_->loop.wait_for(0s), std::future_status::timeout)
      << "the loopback finished before the removal";
  EXPECT_EQ(s_->complete.wait_for(0s), std::future_status::timeout)
      << "COMPLETE returned before the removal";
}

OrphanScenario::~OrphanScenario() = default;  // threads own the shared state

void OrphanScenario::expect_waiters_woken(std::chrono::milliseconds timeout,
                                          std::chrono::steady_clock::time_point removed) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!s_->loop.valid()) {
    ADD_FAILURE() << "scenario not set up";
    return;
  }
  if (s_->loop.wait_until(deadline) != std::future_status::ready) {
    ADD_FAILURE() << "DMA_USER loopback in flight did not return after the removal";
  } else {
    const auto o = s_->loop.get();
    std::cout << "[ INFO     ] in-flight DMA_USER returned "
              << (o.ret.rc < 0 ? errno_name(o.ret.err) : std::to_string(o.ret.rc)) << " after "
              << o.done << " of " << s_->len << " bytes" << std::endl;
    ::testing::Test::RecordProperty("inflight_dma_user_errno",
                                    o.ret.rc < 0 ? ::strerrorname_np(o.ret.err) : "none");
    EXPECT_ERRNO_ANY((std::vector<int>{ENODEV, EIO, EINTR}), o.ret)
        << "in-flight DMA_USER at removal";
    EXPECT_LT(o.done, s_->len);
    if (o.done <= s_->len) {
      EXPECT_EQ(first_mismatch({s_->src.data(), o.done}, {s_->dst.data(), o.done}), -1)
          << "done = " << o.done << " bytes must have reached the destination";
    }
  }
  if (s_->complete.wait_until(deadline) != std::future_status::ready) {
    ADD_FAILURE() << "blocking COMPLETE did not return after the removal";
  } else {
    const auto o = s_->complete.get();
    if (o.ret.rc == 0 && o.c.status == 0 && o.when < removed) {
      EXPECT_EQ(o.c.result, factorial_mod32(s_->slow_input));
      std::cout << "[ INFO     ] the asynchronous factorial finished before the removal: "
                   "COMPLETE wake-up by remove not exercised"
                << std::endl;
    } else {
      EXPECT_ERRNO(ENODEV, o.ret) << "a sleeping COMPLETE must be woken with ENODEV";
    }
  }
  if (s_->polled.wait_until(deadline) != std::future_status::ready) {
    ADD_FAILURE() << "poll() did not return after the removal";
  } else {
    const short ev = s_->polled.get();
    EXPECT_TRUE((ev & POLLERR) && (ev & POLLHUP))
        << "poll woken with revents " << hex(static_cast<std::uint16_t>(ev))
        << ", want POLLERR|POLLHUP";
  }
}

void expect_all_enodev(int fd) {
  edu_identify id{};
  EXPECT_ERRNO(ENODEV, ::ioctl(fd, EDU_IOC_IDENTIFY, &id));
  edu_liveness lv{};
  EXPECT_ERRNO(ENODEV, ::ioctl(fd, EDU_IOC_LIVENESS, &lv));
  EXPECT_ERRNO(ENODEV, do_factorial(fd, 5, EDU_WAIT_IRQ, 0));
  EXPECT_ERRNO(ENODEV, do_factorial(fd, 5, EDU_OP_ASYNC, 0));
  edu_raise_irq ri{};
  ri.status = 2;
  EXPECT_ERRNO(ENODEV, ::ioctl(fd, EDU_IOC_RAISE_IRQ, &ri));
  edu_dma_staging st{};
  st.direction = EDU_DMA_TO_DEVICE;
  st.length = 16;
  EXPECT_ERRNO(ENODEV, ::ioctl(fd, EDU_IOC_DMA_STAGING, &st));
  std::array<std::uint8_t, 64> buf{};
  edu_dma_user u{};
  u.direction = EDU_DMA_TO_DEVICE;
  u.src = uptr(buf.data());
  u.length = 16;
  EXPECT_ERRNO(ENODEV, ::ioctl(fd, EDU_IOC_DMA_USER, &u));
  edu_completion c{};
  EXPECT_ERRNO(ENODEV, ::ioctl(fd, EDU_IOC_COMPLETE, &c));
  edu_stats sts{};
  EXPECT_ERRNO(ENODEV, ::ioctl(fd, EDU_IOC_STATS, &sts));
  edu_reg rg{};
  rg.width = 4;
  EXPECT_ERRNO(ENODEV, ::ioctl(fd, EDU_IOC_REG_READ, &rg));
  rg.offset = 4;
  EXPECT_ERRNO(ENODEV, ::ioctl(fd, EDU_IOC_REG_WRITE, &rg));
  EXPECT_ERRNO(ENODEV, ::pread(fd, buf.data(), 16, 0));
  EXPECT_ERRNO(ENODEV, ::pwrite(fd, buf.data(), 16, 0));
  EXPECT_ERRNO(ENODEV, ::read(fd, buf.data(), 16));
  EXPECT_ERRNO(ENODEV, ::write(fd, buf.data(), 16));
  EXPECT_ERRNO(ENODEV, ::lseek(fd, 0, SEEK_SET));
  void* p = ::mmap(nullptr, page_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  EXPECT_ERRNO(ENODEV, p);
  if (p != MAP_FAILED) ::munmap(p, page_size());
  pollfd pf{fd, POLLIN | POLLOUT, 0};
  EXPECT_EQ(::poll(&pf, 1, 0), 1);
  EXPECT_TRUE((pf.revents & POLLERR) && (pf.revents & POLLHUP))
      << "revents " << hex(static_cast<std::uint16_t>(pf.revents));
}

void OrphanScenario::expect_orphaned() {
  if (!s_->fd || !s_->fd_async) {
    ADD_FAILURE() << "scenario not set up";
    return;
  }
  {
    SCOPED_TRACE("file with the loopback and the mapping");
    expect_all_enodev(s_->fd.get());
  }
  {
    SCOPED_TRACE("file with the asynchronous factorial");
    expect_all_enodev(s_->fd_async.get());
  }
  // The staging mapping was zapped: touching it raises SIGBUS.
  if (s_->staging.valid()) {
    std::uint8_t* p = s_->staging.data();
    const int st = run_in_child([p]() -> int {
      volatile std::uint8_t v = p[0];
      (void)v;
      return 0;
    });
    EXPECT_EQ(st, 128 + SIGBUS) << "access to a zapped staging mapping: want SIGBUS, child ended "
                                << "with status " << st;
  }
  // The node is gone.
  const int f = ::open(s_->node.dev.c_str(), O_RDWR | O_CLOEXEC);
  if (f >= 0) {
    // A new device may have taken the name already; it must not be ours.
    edu_identify id{};
    EXPECT_OK(::ioctl(f, EDU_IOC_IDENTIFY, &id)) << "a live node at the old path must work";
    ::close(f);
  } else {
    EXPECT_TRUE(errno == ENOENT || errno == ENXIO || errno == ENODEV) << errno_name(errno);
  }
}

void OrphanScenario::close_all() {
  if (s_->fd) {
    EXPECT_EQ(::close(s_->fd.release()), 0) << "close: " << errno_name(errno);
  }
  if (s_->fd_async) {
    EXPECT_EQ(::close(s_->fd_async.release()), 0) << "close: " << errno_name(errno);
  }
  s_->staging.reset();
}

}  // namespace edutest
