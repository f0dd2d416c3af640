// Concurrency: many threads in many processes on one device and on every
// device at once, each with its own data (own slice of the window, own
// staging buffer, own user buffers), every byte verified by CRC32. The
// device serialises DMA at 100 ms per transfer, so each test keeps to a few
// dozen transfers per device.
#include <cstring>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/edu.h>

#include "edu_test_util.hpp"

namespace edutest {
namespace {

// ---------------------------------------------------------------------------
// Workers: each returns "" or what went wrong.

std::string rw_rounds(const EduNode& n, std::uint32_t off, std::uint32_t len, int rounds,
                      std::uint64_t seed) {
  Fd fd(::open(n.dev.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return "open: " + errno_name(errno);
  std::vector<std::uint8_t> back(len);
  for (int i = 0; i < rounds; ++i) {
    const auto data = pattern(len, seed + static_cast<std::uint64_t>(i));
    Ret r = R(::pwrite(fd.get(), data.data(), len, off));
    if (r.rc != static_cast<long>(len))
      return "pwrite: " + std::to_string(r.rc) + " " + errno_name(r.err);
    std::fill(back.begin(), back.end(), 0);
    r = R(::pread(fd.get(), back.data(), len, off));
    if (r.rc != static_cast<long>(len))
      return "pread: " + std::to_string(r.rc) + " " + errno_name(r.err);
    if (crc32(back) != crc32(data)) {
      return n.name + " slice " + std::to_string(off) + ": CRC mismatch in round " +
             std::to_string(i) + " (first diff at " + std::to_string(first_mismatch(data, back)) +
             ")";
    }
    std::uint32_t res = 0;
    const auto k = static_cast<std::uint32_t>((seed + static_cast<std::uint64_t>(i)) % 21);
    r = do_factorial(fd.get(), k, static_cast<std::uint32_t>(i % 4), kMaxTimeoutMs, &res);
    if (r.rc != 0) return "factorial: " + errno_name(r.err);
    if (res != factorial_mod32(k)) return "factorial(" + std::to_string(k) + ") wrong";
  }
  return "";
}

std::string staging_rounds(const EduNode& n, std::uint32_t off, std::uint32_t len, int rounds,
                           std::uint64_t seed) {
  Fd fd(::open(n.dev.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return "open: " + errno_name(errno);
  edu_identify id{};
  if (::ioctl(fd.get(), EDU_IOC_IDENTIFY, &id) != 0) return "identify: " + errno_name(errno);
  void* p = ::mmap(nullptr, id.staging_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) return "mmap: " + errno_name(errno);
  Mapping m(p, id.staging_size);
  const std::size_t back_off = id.staging_size - len;
  for (int i = 0; i < rounds; ++i) {
    fill_pattern({m.data(), len}, seed + static_cast<std::uint64_t>(i));
    const std::uint32_t want = crc32({m.data(), len});
    edu_dma_staging s{};
    s.direction = EDU_DMA_TO_DEVICE;
    s.flags = static_cast<std::uint32_t>(i % 4);
    s.staging_offset = 0;
    s.device_offset = off;
    s.length = len;
    if (::ioctl(fd.get(), EDU_IOC_DMA_STAGING, &s) != 0) return "staging to: " + errno_name(errno);
    std::memset(m.data() + back_off, 0, len);
    s.direction = EDU_DMA_FROM_DEVICE;
    s.staging_offset = back_off;
    if (::ioctl(fd.get(), EDU_IOC_DMA_STAGING, &s) != 0)
      return "staging from: " + errno_name(errno);
    if (crc32({m.data() + back_off, len}) != want) {
      return n.name + " staging slice " + std::to_string(off) + ": CRC mismatch in round " +
             std::to_string(i);
    }
  }
  return "";
}

std::string loopback_rounds(const EduNode& n, std::size_t len, int rounds, std::uint64_t seed) {
  Fd fd(::open(n.dev.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return "open: " + errno_name(errno);
  std::vector<std::uint8_t> src(len + 7);
  std::vector<std::uint8_t> dst(len + 9);
  for (int i = 0; i < rounds; ++i) {
    fill_pattern(src, seed + static_cast<std::uint64_t>(i));
    std::fill(dst.begin(), dst.end(), 0);
    edu_dma_user u{};
    u.direction = EDU_DMA_LOOPBACK;
    u.src = uptr(src.data() + 7);  // unaligned on purpose
    u.dst = uptr(dst.data() + 3);
    u.length = len;
    if (::ioctl(fd.get(), EDU_IOC_DMA_USER, &u) != 0) {
      return "loopback: " + errno_name(errno) + " done " + std::to_string(u.done);
    }
    if (u.done != len) return "loopback done " + std::to_string(u.done);
    if (crc32({src.data() + 7, len}) != crc32({dst.data() + 3, len})) {
      return n.name + ": loopback CRC mismatch in round " + std::to_string(i) +
             " (another transfer got into the device buffer between a chunk's two halves?)";
    }
  }
  return "";
}

std::string factorial_rounds(const EduNode& n, int rounds, std::uint64_t seed) {
  Fd fd(::open(n.dev.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return "open: " + errno_name(errno);
  for (int i = 0; i < rounds; ++i) {
    const auto k = static_cast<std::uint32_t>((seed * 7 + static_cast<std::uint64_t>(i)) % 40);
    std::uint32_t res = 0;
    const Ret r = do_factorial(fd.get(), k, static_cast<std::uint32_t>(i % 4), kMaxTimeoutMs, &res);
    if (r.rc != 0) return "factorial: " + errno_name(r.err);
    if (res != factorial_mod32(k)) {
      return n.name + ": factorial(" + std::to_string(k) + ") = " + std::to_string(res) +
             " (another caller's result?)";
    }
  }
  return "";
}

// ---------------------------------------------------------------------------
// Threads and processes.

using Job = std::function<std::string()>;

// Runs every job in its own thread; returns the failures, one per line.
std::string run_threads(const std::vector<Job>& jobs) {
  std::vector<std::string> results(jobs.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = jobs[i](); });
  }
  for (auto& t : threads)
    t.join();
  std::string out;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (!results[i].empty()) out += "thread " + std::to_string(i) + ": " + results[i] + "\n";
  }
  return out;
}

// Forks one child per job list; each child runs its jobs in threads. Returns
// all failures (children report theirs through a pipe).
std::string run_processes(const std::vector<std::vector<Job>>& per_process) {
  struct Child {
    pid_t pid;
    int rd;
  };
  std::vector<Child> children;
  std::fflush(nullptr);
  for (const auto& jobs : per_process) {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) return "pipe: " + errno_name(errno);
    const pid_t pid = ::fork();
    if (pid < 0) return "fork: " + errno_name(errno);
    if (pid == 0) {
      ::close(fds[0]);
      std::string out = run_threads(jobs);
      if (out.size() > 8000) out.resize(8000);
      [[maybe_unused]] const ssize_t w = ::write(fds[1], out.data(), out.size());
      ::_exit(out.empty() ? 0 : 1);
    }
    ::close(fds[1]);
    children.push_back({pid, fds[0]});
  }
  std::string out;
  for (std::size_t p = 0; p < children.size(); ++p) {
    std::string msg;
    std::array<char, 1024> buf{};
    ssize_t n = 0;
    while ((n = ::read(children[p].rd, buf.data(), buf.size())) > 0)
      msg.append(buf.data(), static_cast<size_t>(n));
    ::close(children[p].rd);
    int st = 0;
    ::waitpid(children[p].pid, &st, 0);
    if (!WIFEXITED(st)) {
      out += "process " + std::to_string(p) + " killed by signal " +
             std::to_string(WIFSIGNALED(st) ? WTERMSIG(st) : -1) + "\n";
    } else if (WEXITSTATUS(st) != 0 || !msg.empty()) {
      std::istringstream lines(msg);
      for (std::string l; std::getline(lines, l);) {
        out += "process " + std::to_string(p) + " " + l + "\n";
      }
    }
  }
  return out;
}

// Slices of the window for k workers.
std::uint32_t slice_len(int k) {
  return kWindow / static_cast<std::uint32_t>(k);
}

class Concurrency : public EduTest {};

TEST_F(Concurrency, ThreadsAndProcessesOnOneDevice) {
  // 2 processes x 3 threads, each with its own slice: read/write, staging.
  constexpr int kProcs = 2;
  constexpr int kThreads = 3;
  constexpr int kRounds = 3;
  const std::uint32_t len = slice_len(kProcs * kThreads);
  std::vector<std::vector<Job>> procs(kProcs);
  for (int p = 0; p < kProcs; ++p) {
    for (int t = 0; t < kThreads; ++t) {
      const int w = p * kThreads + t;
      const std::uint32_t off = static_cast<std::uint32_t>(w) * len;
      const std::uint64_t seed = 10000 + 100 * static_cast<std::uint64_t>(w);
      if (t == 1) {
        procs[p].push_back([=, n = node_] { return staging_rounds(n, off, len, kRounds, seed); });
      } else {
        procs[p].push_back([=, n = node_] { return rw_rounds(n, off, len, kRounds, seed); });
      }
    }
    procs[p].push_back(
        [p, n = node_] { return factorial_rounds(n, 60, 20 + static_cast<std::uint64_t>(p)); });
  }
  EXPECT_EQ(run_processes(procs), "");
}

TEST_F(Concurrency, LoopbacksAndFactorialsOnOneDevice) {
  // LOOPBACK uses the whole window per chunk: the driver must keep other
  // transfers out between a chunk's two halves.
  constexpr int kProcs = 2;
  std::vector<std::vector<Job>> procs(kProcs);
  for (int p = 0; p < kProcs; ++p) {
    for (int t = 0; t < 2; ++t) {
      const std::uint64_t seed = 20000 + 100 * static_cast<std::uint64_t>(p * 2 + t);
      procs[p].push_back([=, n = node_] { return loopback_rounds(n, 6000, 2, seed); });
    }
    procs[p].push_back(
        [p, n = node_] { return factorial_rounds(n, 100, 30 + static_cast<std::uint64_t>(p)); });
  }
  EXPECT_EQ(run_processes(procs), "");
}

TEST_F(Concurrency, EveryDeviceAtOnce) {
  const auto nodes = edu_nodes();
  ASSERT_FALSE(nodes.empty());
  const char* want = std::getenv("EDU_EXPECTED_DEVICES");
  if (want != nullptr) {
    EXPECT_EQ(nodes.size(), std::strtoul(want, nullptr, 10));
  }
  // Per device: 2 processes x 2 threads on their own slices. Processes
  // span all devices so one process talks to several devices at once.
  constexpr int kProcs = 2;
  constexpr int kThreads = 2;
  constexpr int kRounds = 3;
  const std::uint32_t len = slice_len(kProcs * kThreads);
  std::vector<std::vector<Job>> procs(kProcs);
  for (const auto& n : nodes) {
    for (int p = 0; p < kProcs; ++p) {
      for (int t = 0; t < kThreads; ++t) {
        const int w = p * kThreads + t;
        const std::uint32_t off = static_cast<std::uint32_t>(w) * len;
        const std::uint64_t seed =
            30000 + 1000 * static_cast<std::uint64_t>(n.index) + 10 * static_cast<std::uint64_t>(w);
        if (t == 0) {
          procs[p].push_back([=] { return rw_rounds(n, off, len, kRounds, seed); });
        } else {
          procs[p].push_back([=] { return staging_rounds(n, off, len, kRounds, seed); });
        }
      }
    }
  }
  EXPECT_EQ(run_processes(procs), "");
  // Devices must not see each other's data: each device's slice 0 holds the
  // pattern of its own last round.
  for (const auto& n : nodes) {
    Fd f = open_node(n);
    ASSERT_TRUE(f.valid());
    std::vector<std::uint8_t> back(len);
    ASSERT_RET(len, ::pread(f.get(), back.data(), len, 0));
    const auto want_data =
        pattern(len, 30000 + 1000 * static_cast<std::uint64_t>(n.index) + kRounds - 1);
    EXPECT_EQ(crc32(back), crc32(want_data)) << n.name << " slice 0";
  }
}

TEST_F(Concurrency, LoopbacksOnEveryDeviceAtOnce) {
  const auto nodes = edu_nodes();
  std::vector<Job> jobs;
  for (const auto& n : nodes) {
    for (int t = 0; t < 2; ++t) {
      const std::uint64_t seed =
          40000 + 100 * static_cast<std::uint64_t>(n.index) + static_cast<std::uint64_t>(t);
      jobs.emplace_back([=] { return loopback_rounds(n, 5000, 2, seed); });
    }
  }
  EXPECT_EQ(run_threads(jobs), "");
}

TEST_F(Concurrency, OpenCloseMmapChurn) {
  // No DMA: open/identify/mmap/close from many threads while another
  // thread runs factorials on a long-lived file.
  std::vector<Job> jobs;
  jobs.reserve(4);
  for (int t = 0; t < 4; ++t) {
    jobs.emplace_back([n = node_, t]() -> std::string {
      for (int i = 0; i < 150; ++i) {
        Fd f(::open(n.dev.c_str(), O_RDWR | O_CLOEXEC));
        if (!f) return "open: " + errno_name(errno);
        edu_identify id{};
        if (::ioctl(f.get(), EDU_IOC_IDENTIFY, &id) != 0) return "identify: " + errno_name(errno);
        if ((i + t) % 3 == 0) {
          void* p =
              ::mmap(nullptr, id.staging_size, PROT_READ | PROT_WRITE, MAP_SHARED, f.get(), 0);
          if (p == MAP_FAILED) return "mmap: " + errno_name(errno);
          static_cast<std::uint8_t*>(p)[i % id.staging_size] = 1;
          if ((i + t) % 2 == 0) ::munmap(p, id.staging_size);  // else after close
          f.reset();
          if ((i + t) % 2 != 0) ::munmap(p, id.staging_size);
        }
      }
      return "";
    });
  }
  jobs.emplace_back([n = node_] { return factorial_rounds(n, 200, 50); });
  EXPECT_EQ(run_threads(jobs), "");
}

TEST_F(Concurrency, AsyncOperationsFromManyFiles) {
  constexpr int kFiles = 8;
  std::vector<Fd> files;
  for (int i = 0; i < kFiles; ++i) {
    files.push_back(open_node(node_));
    ASSERT_TRUE(files.back().valid());
  }
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_OK(do_factorial(files[static_cast<std::size_t>(i)].get(),
                           static_cast<std::uint32_t>(5 + i), EDU_OP_ASYNC, kMaxTimeoutMs))
        << "file " << i;
  }
  for (int i = 0; i < kFiles; ++i) {
    pollfd p{files[static_cast<std::size_t>(i)].get(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 10000), 1) << "file " << i << " never became readable";
    edu_completion c{};
    ASSERT_OK(::ioctl(files[static_cast<std::size_t>(i)].get(), EDU_IOC_COMPLETE, &c));
    EXPECT_EQ(c.status, 0);
    EXPECT_EQ(c.result, factorial_mod32(static_cast<std::uint32_t>(5 + i)))
        << "file " << i << " got another file's result";
  }
  // Asynchronous staging DMA from four files into four slices.
  constexpr int kDma = 4;
  const std::uint32_t len = slice_len(kDma);
  std::vector<Mapping> maps;
  std::vector<std::uint32_t> crcs;
  for (int i = 0; i < kDma; ++i) {
    const int fd = files[static_cast<std::size_t>(i)].get();
    void* p = ::mmap(nullptr, page_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ASSERT_NE(p, MAP_FAILED);
    maps.emplace_back(p, page_size());
    fill_pattern({maps.back().data(), len}, 50000 + static_cast<std::uint64_t>(i));
    crcs.push_back(crc32({maps.back().data(), len}));
    edu_dma_staging s{};
    s.direction = EDU_DMA_TO_DEVICE;
    s.flags = EDU_OP_ASYNC;
    s.device_offset = static_cast<std::uint64_t>(i) * len;
    s.length = len;
    ASSERT_OK(::ioctl(fd, EDU_IOC_DMA_STAGING, &s)) << "file " << i;
  }
  for (int i = 0; i < kDma; ++i) {
    edu_completion c{};
    ASSERT_OK(::ioctl(files[static_cast<std::size_t>(i)].get(), EDU_IOC_COMPLETE, &c));
    EXPECT_EQ(c.op, static_cast<std::uint32_t>(EDU_COMPLETION_DMA));
    EXPECT_EQ(c.status, 0);
    EXPECT_EQ(c.result, len);
  }
  std::vector<std::uint8_t> back(len);
  for (int i = 0; i < kDma; ++i) {
    ASSERT_RET(len, ::pread(fd(), back.data(), len, static_cast<off_t>(i) * len));
    EXPECT_EQ(crc32(back), crcs[static_cast<std::size_t>(i)]) << "slice " << i;
  }
}

}  // namespace
}  // namespace edutest
