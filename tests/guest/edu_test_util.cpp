#include "edu_test_util.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace edutest {

// ---------------------------------------------------------------------------
// Memory

std::size_t page_size() {
  static const auto ps = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return ps;
}

Mapping anon_map(std::size_t len, int prot) {
  void* p = ::mmap(nullptr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(p, MAP_FAILED) << "mmap(" << len << "): " << errno_name(errno);
  if (p == MAP_FAILED) return {};
  return {p, len};
}

void* null_buffer() {
  // NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables): volatile hides the null
  static void* volatile null = nullptr;
  return null;
}

std::uint8_t* unmapped_address() {
  // Map a page and unmap it again: nothing is mapped there until the next
  // mmap, so use the address right away.
  void* p = ::mmap(nullptr, page_size(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  ::munmap(p, page_size());
  return static_cast<std::uint8_t*>(p);
}

std::uint8_t* inaccessible_address() {
  // NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables): PROT_NONE, never written
  static std::uint8_t* const page = [] {
    void* p = ::mmap(nullptr, page_size(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<std::uint8_t*>(p);
  }();
  return page;
}

// ---------------------------------------------------------------------------
// Results

std::string errno_name(int err) {
  const char* name = ::strerrorname_np(err);
  std::string s = name != nullptr ? name : ("errno " + std::to_string(err));
  return s + " (" + std::generic_category().message(err) + ")";
}

namespace {

// "(::edutest::R(ioctl(...)))" -> "ioctl(...)"
std::string call_text(const char* expr) {
  std::string s(expr);
  const std::string prefix = "(::edutest::R(";
  if (s.rfind(prefix, 0) == 0 && s.size() >= prefix.size() + 2) {
    s = s.substr(prefix.size(), s.size() - prefix.size() - 2);
  }
  return s;
}

std::string describe(const Ret& r) {
  if (r.rc < 0) return "failed with " + errno_name(r.err);
  return "returned " + std::to_string(r.rc);
}

}  // namespace

::testing::AssertionResult IsSysOk(const char* expr, const Ret& r) {
  if (r.rc >= 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << call_text(expr) << " " << describe(r);
}

::testing::AssertionResult IsSysErr(const char* expr, const char* /*unused*/, const Ret& r,
                                    int err) {
  if (r.rc == -1 && r.err == err) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << call_text(expr) << " " << describe(r)
                                       << ", expected it to fail with " << errno_name(err);
}

::testing::AssertionResult IsSysErrAny(const char* expr, const char* /*unused*/, const Ret& r,
                                       const std::vector<int>& errs) {
  if (r.rc == -1 && std::find(errs.begin(), errs.end(), r.err) != errs.end()) {
    return ::testing::AssertionSuccess();
  }
  auto f = ::testing::AssertionFailure();
  f << call_text(expr) << " " << describe(r) << ", expected it to fail with one of:";
  for (int e : errs)
    f << " " << ::strerrorname_np(e);
  return f;
}

::testing::AssertionResult IsSysRet(const char* expr, const char* /*unused*/, const Ret& r,
                                    long want) {
  if (r.rc == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << call_text(expr) << " " << describe(r) << ", expected it to return " << want;
}

// ---------------------------------------------------------------------------
// Devices

std::vector<EduNode> edu_nodes() {
  std::vector<EduNode> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/class/edu", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("edu", 0) != 0) continue;
    EduNode n;
    n.name = name;
    n.index = std::atoi(name.c_str() + 3);
    n.dev = fs::path("/dev") / name;
    n.cls = e.path();
    n.pci = fs::canonical(e.path() / "device", ec);
    out.push_back(std::move(n));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  return out;
}

std::vector<fs::path> edu_pci_functions() {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator("/sys/bus/pci/devices", ec)) {
    if (read_trimmed(d.path() / "vendor") == "0x1234" &&
        read_trimmed(d.path() / "device") == "0x11e8") {
      out.push_back(d.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Fd open_node(const EduNode& n, int flags) {
  Fd fd(::open(n.dev.c_str(), flags | O_CLOEXEC));
  EXPECT_TRUE(fd.valid()) << "open(" << n.dev << "): " << errno_name(errno);
  return fd;
}

EduNode first_node() {
  auto nodes = edu_nodes();
  if (nodes.empty()) {
    ADD_FAILURE() << "no edu device in /sys/class/edu (driver not loaded or not bound?)";
    return {};
  }
  return nodes.front();
}

edu_identify identify(int fd) {
  edu_identify id{};
  EXPECT_OK(::ioctl(fd, EDU_IOC_IDENTIFY, &id));
  return id;
}

edu_stats stats(int fd) {
  edu_stats st{};
  EXPECT_OK(::ioctl(fd, EDU_IOC_STATS, &st));
  return st;
}

std::uint32_t factorial_mod32(std::uint32_t n) {
  if (n >= 34) return 0;  // 34! has 32 factors of two
  std::uint32_t r = 1;
  for (std::uint32_t i = n; i > 0; --i)
    r *= i;
  return r;
}

Ret do_factorial(int fd, std::uint32_t n, std::uint32_t flags, std::uint32_t timeout_ms,
                 std::uint32_t* result) {
  edu_factorial f{};
  f.input = n;
  f.flags = flags;
  f.timeout_ms = timeout_ms;
  f.result = 0xdeadbeef;
  const Ret r = R(::ioctl(fd, EDU_IOC_FACTORIAL, &f));
  if (result != nullptr) *result = f.result;
  return r;
}

Ret dma_staging(int fd, std::uint32_t dir, std::uint64_t soff, std::uint64_t doff,
                std::uint64_t len, std::uint32_t flags) {
  edu_dma_staging s{};
  s.direction = dir;
  s.flags = flags;
  s.staging_offset = soff;
  s.device_offset = doff;
  s.length = len;
  return R(::ioctl(fd, EDU_IOC_DMA_STAGING, &s));
}

void expect_factorial_works(int fd) {
  std::uint32_t res = 0;
  // Polling wait with the longest timeout: first waits for any computation
  // an earlier (timed out / interrupted) operation left running.
  EXPECT_OK(do_factorial(fd, 10, EDU_WAIT_POLL, kMaxTimeoutMs, &res).rc)
      << "device unusable after the previous operation";
  EXPECT_EQ(res, 3628800U);
}

void expect_dma_works(int fd, std::uint32_t offset, std::uint32_t len) {
  static std::atomic<std::uint64_t> seed{0x5eed};
  const auto data = pattern(len, seed++);
  std::vector<std::uint8_t> back(len, 0);
  EXPECT_RET(len, ::pwrite(fd, data.data(), len, offset)) << "DMA engine unusable";
  EXPECT_RET(len, ::pread(fd, back.data(), len, offset)) << "DMA engine unusable";
  EXPECT_EQ(first_mismatch(data, back), -1) << "data read back differs";
}

// ---------------------------------------------------------------------------
// Data

std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1U) != 0 ? 0xedb88320U ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (std::uint8_t b : data)
    crc = table[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

void fill_pattern(std::span<std::uint8_t> buf, std::uint64_t seed) {
  // splitmix64: every seed gives a different, non-repeating byte stream.
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  std::size_t i = 0;
  while (i < buf.size()) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (int k = 0; k < 8 && i < buf.size(); ++k, ++i) {
      buf[i] = static_cast<std::uint8_t>(z >> (8 * k));
    }
  }
}

std::vector<std::uint8_t> pattern(std::size_t len, std::uint64_t seed) {
  std::vector<std::uint8_t> v(len);
  fill_pattern(v, seed);
  return v;
}

long first_mismatch(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return static_cast<long>(i);
  }
  return a.size() == b.size() ? -1 : static_cast<long>(n);
}

// ---------------------------------------------------------------------------
// Signals

namespace {
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables): written by the handler
std::array<std::atomic<int>, NSIG> g_signal_counts{};
void counting_handler(int sig) {
  g_signal_counts[static_cast<std::size_t>(sig)]++;
}
}  // namespace

SignalCatcher::SignalCatcher(int sig) : sig_(sig) {
  g_signal_counts[static_cast<std::size_t>(sig)] = 0;
  struct sigaction sa {};
  sa.sa_handler = counting_handler;
  sa.sa_flags = 0;  // no SA_RESTART: interrupted calls fail with EINTR
  sigemptyset(&sa.sa_mask);
  EXPECT_EQ(::sigaction(sig, &sa, nullptr), 0) << errno_name(errno);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

// The handler stays installed: a signal a timer queued just before it was
// deleted (possibly for another thread) must not find the default action
// (termination) later.

int SignalCatcher::count() const {
  return g_signal_counts[static_cast<std::size_t>(sig_)];
}

pid_t current_tid() {
  return static_cast<pid_t>(::syscall(SYS_gettid));
}

ThreadTimer::ThreadTimer(int sig, std::chrono::milliseconds first,
                         std::chrono::milliseconds interval, pid_t tid) {
  sigevent sev{};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = sig;
  sev._sigev_un._tid = tid > 0 ? tid : current_tid();
  if (::timer_create(CLOCK_MONOTONIC, &sev, &timer_) != 0) {
    ADD_FAILURE() << "timer_create: " << errno_name(errno);
    return;
  }
  armed_ = true;
  itimerspec its{};
  its.it_value.tv_sec = first.count() / 1000;
  its.it_value.tv_nsec = (first.count() % 1000) * 1000000L;
  its.it_interval.tv_sec = interval.count() / 1000;
  its.it_interval.tv_nsec = (interval.count() % 1000) * 1000000L;
  EXPECT_EQ(::timer_settime(timer_, 0, &its, nullptr), 0) << errno_name(errno);
}

void ThreadTimer::cancel() {
  if (armed_) ::timer_delete(timer_);
  armed_ = false;
}

ThreadTimer::~ThreadTimer() {
  cancel();
}

// ---------------------------------------------------------------------------
// EngineHammer

EngineHammer::EngineHammer(EduNode n, int threads, std::uint32_t offset, std::uint32_t slice)
    : node_(std::move(n)) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, i, offset, slice] {
      work(i, offset + static_cast<std::uint32_t>(i) * slice, slice);
    });
  }
}

EngineHammer::~EngineHammer() {
  stop();
}

void EngineHammer::work(int i, std::uint32_t offset, std::uint32_t slice) {
  Fd fd(::open(node_.dev.c_str(), O_RDWR | O_CLOEXEC));
  auto fail = [&](const std::string& what) {
    std::lock_guard lock(mu_);
    if (failure_.empty()) failure_ = "hammer " + std::to_string(i) + ": " + what;
  };
  if (!fd) {
    fail("open: " + errno_name(errno));
    return;
  }
  std::vector<std::uint8_t> back(slice);
  for (std::uint64_t round = 0; !stop_; ++round) {
    const auto data = pattern(slice, (static_cast<std::uint64_t>(i) << 32) | round);
    Ret r = R(::pwrite(fd.get(), data.data(), slice, offset));
    if (r.rc != static_cast<long>(slice)) {
      fail("pwrite returned " + std::to_string(r.rc) + " " + errno_name(r.err));
      return;
    }
    ++transfers_;
    std::fill(back.begin(), back.end(), 0);
    r = R(::pread(fd.get(), back.data(), slice, offset));
    if (r.rc != static_cast<long>(slice)) {
      fail("pread returned " + std::to_string(r.rc) + " " + errno_name(r.err));
      return;
    }
    ++transfers_;
    if (const long at = first_mismatch(data, back); at >= 0) {
      fail("data mismatch at offset " + std::to_string(offset + static_cast<std::uint32_t>(at)));
      return;
    }
  }
}

bool EngineHammer::wait_started(std::chrono::milliseconds timeout) const {
  // Any progress will do: the engine is busy. (Not every worker needs to
  // have had its turn; the driver's claim is not FIFO.)
  return wait_until([&] { return !failure().empty() || transfers_ >= 2; }, timeout) &&
         failure().empty();
}

void EngineHammer::stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::string EngineHammer::failure() const {
  std::lock_guard lock(mu_);
  return failure_;
}

// ---------------------------------------------------------------------------
// Processes

int run_in_child(const std::function<int()>& fn) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << errno_name(errno);
    return -1;
  }
  if (pid == 0) {
    int rc = 99;
    try {
      rc = fn();
    } catch (...) {
      rc = 98;
    }
    std::fflush(nullptr);
    ::_exit(rc);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

int run_program(const std::vector<std::string>& argv, std::string* out) {
  std::array<int, 2> pipefd = {-1, -1};
  if (out != nullptr && ::pipe2(pipefd.data(), O_CLOEXEC) != 0) return -1;
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (out != nullptr) {
      ::dup2(pipefd[1], 1);
      ::dup2(pipefd[1], 2);
    }
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) {
      // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): execvp(3) never writes argv
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  if (out != nullptr) {
    ::close(pipefd[1]);
    std::array<char, 4096> buf{};
    for (;;) {
      const ssize_t n = ::read(pipefd[0], buf.data(), buf.size());
      if (n > 0) {
        out->append(buf.data(), static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        break;
      }
    }
    ::close(pipefd[0]);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

// ---------------------------------------------------------------------------
// Files

std::optional<std::string> read_file(const fs::path& p) {
  Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string s;
  std::array<char, 4096> buf{};
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    if (n == 0) break;
    s.append(buf.data(), static_cast<std::size_t>(n));
  }
  return s;
}

std::string read_trimmed(const fs::path& p) {
  auto s = read_file(p).value_or("");
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  return s;
}

std::optional<std::uint64_t> parse_u64(const std::string& s) {
  if (s.empty()) return std::nullopt;
  int base = 10;
  std::size_t start = 0;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    start = 2;
  }
  if (start >= s.size()) return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = start; i < s.size(); ++i) {
    const char c = s[i];
    int d = 0;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    v = v * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(d);
  }
  return v;
}

Ret write_file(const fs::path& p, const std::string& s) {
  Fd fd(::open(p.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return Ret{-1, errno};
  return R(::write(fd.get(), s.data(), s.size()));
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(50ms);
  }
}

std::string hex(std::uint64_t v) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "0x%llx", static_cast<unsigned long long>(v));
  return buf.data();
}

}  // namespace edutest
