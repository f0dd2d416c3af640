// Helpers shared by the in-guest ABI suite (tests/guest): an owned file
// descriptor, syscall result checks that print errno names, device
// enumeration, CRC32 and data patterns, signal/timer helpers, child
// processes and small sysfs accessors.
//
// Everything here talks to the kernel through raw system calls on purpose:
// the suite tests the driver's ABI (docs/uapi.md), not a library.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include <linux/edu.h>

#include <gtest/gtest.h>

namespace edutest {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------
// Constants the contract fixes (docs/uapi.md).

inline constexpr std::uint32_t kWindow = 4095;  // edu_identify.dma_window
inline constexpr std::uint32_t kIdRegister = 0x010000ed;
inline constexpr std::uint32_t kMaxTimeoutMs = 60000;
// A kernel address on both x86_64 (direct map) and arm64 (TTBR1 half).
inline constexpr std::uint64_t kKernelAddress = 0xffff888000000000ULL;
// A factorial input the device needs about a second or more for (QEMU
// computes n! with n multiplications in a thread): something to interrupt.
inline constexpr std::uint32_t kSlowFactorial = 0x60000000U;

// ---------------------------------------------------------------------------
// Owned file descriptor.

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~Fd() { reset(); }

  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Owned memory mapping.
class Mapping {
 public:
  Mapping() = default;
  Mapping(void* p, std::size_t len) : p_(p), len_(len) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  Mapping(Mapping&& o) noexcept
      : p_(std::exchange(o.p_, MAP_FAILED)), len_(std::exchange(o.len_, 0)) {}
  Mapping& operator=(Mapping&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, MAP_FAILED);
      len_ = std::exchange(o.len_, 0);
    }
    return *this;
  }
  ~Mapping() { reset(); }

  [[nodiscard]] bool valid() const { return p_ != MAP_FAILED; }
  [[nodiscard]] std::uint8_t* data() const { return static_cast<std::uint8_t*>(p_); }
  [[nodiscard]] std::size_t size() const { return len_; }
  [[nodiscard]] std::span<std::uint8_t> span() const { return {data(), len_}; }
  void reset() {
    if (p_ != MAP_FAILED) ::munmap(p_, len_);
    p_ = MAP_FAILED;
    len_ = 0;
  }

 private:
  void* p_ = MAP_FAILED;
  std::size_t len_ = 0;
};

// Anonymous private mapping (page aligned); fails the test if mmap fails.
Mapping anon_map(std::size_t len, int prot = PROT_READ | PROT_WRITE);
// An address with nothing mapped there (until the next mmap: use it at once).
std::uint8_t* unmapped_address();
// A mapped page that cannot be accessed (PROT_NONE), kept for the process.
std::uint8_t* inaccessible_address();
// A null pointer the compiler cannot see through (for -EFAULT checks
// against functions declared nonnull).
void* null_buffer();
std::size_t page_size();

// ---------------------------------------------------------------------------
// System call results with errno names in failure messages.

struct Ret {
  long rc;
  int err;  // errno when rc < 0, else 0
};

// Wraps a call's return value and the errno it left (read right after it).
inline Ret R(long rc) {
  return Ret{rc, rc < 0 ? errno : 0};
}
inline Ret R(const Ret& r) {
  return r;
}
inline Ret R(void* p) {
  return Ret{p == MAP_FAILED ? -1L : 0L, p == MAP_FAILED ? errno : 0};
}

std::string errno_name(int err);  // "EINVAL (Invalid argument)"

::testing::AssertionResult IsSysOk(const char* expr, const Ret& r);
::testing::AssertionResult IsSysErr(const char* expr, const char* err_expr, const Ret& r, int err);
::testing::AssertionResult IsSysErrAny(const char* expr, const char* errs_expr, const Ret& r,
                                       const std::vector<int>& errs);
::testing::AssertionResult IsSysRet(const char* expr, const char* want_expr, const Ret& r,
                                    long want);

}  // namespace edutest

// EXPECT_OK(::ioctl(fd, EDU_IOC_IDENTIFY, &id)): the call must not fail.
#define EXPECT_OK(call) EXPECT_PRED_FORMAT1(::edutest::IsSysOk, (::edutest::R(call)))
#define ASSERT_OK(call) ASSERT_PRED_FORMAT1(::edutest::IsSysOk, (::edutest::R(call)))
// EXPECT_ERRNO(EINVAL, call): the call must fail with exactly this errno.
#define EXPECT_ERRNO(err, call) EXPECT_PRED_FORMAT2(::edutest::IsSysErr, (::edutest::R(call)), err)
#define ASSERT_ERRNO(err, call) ASSERT_PRED_FORMAT2(::edutest::IsSysErr, (::edutest::R(call)), err)
// EXPECT_ERRNO_ANY((std::vector<int>{ENODEV, EIO}), call)
#define EXPECT_ERRNO_ANY(errs, call) \
  EXPECT_PRED_FORMAT2(::edutest::IsSysErrAny, (::edutest::R(call)), errs)
// EXPECT_RET(want, call): the call must return exactly want (e.g. a byte count).
#define EXPECT_RET(want, call) \
  EXPECT_PRED_FORMAT2(::edutest::IsSysRet, (::edutest::R(call)), static_cast<long>(want))
#define ASSERT_RET(want, call) \
  ASSERT_PRED_FORMAT2(::edutest::IsSysRet, (::edutest::R(call)), static_cast<long>(want))

namespace edutest {

// ---------------------------------------------------------------------------
// Devices.

struct EduNode {
  int index = -1;
  std::string name;  // eduN
  fs::path dev;      // /dev/eduN
  fs::path cls;      // /sys/class/edu/eduN
  fs::path pci;      // /sys/bus/pci/devices/<bdf> (resolved)
};

// Every bound edu device, ordered by index.
std::vector<EduNode> edu_nodes();
// edu PCI functions present (bound or not): /sys/bus/pci/devices/<bdf>.
std::vector<fs::path> edu_pci_functions();
Fd open_node(const EduNode& n, int flags = O_RDWR);
// The first device; fails the test (fatal) when there is none.
EduNode first_node();

edu_identify identify(int fd);
edu_stats stats(int fd);

// n! mod 2^32, as the device computes it.
std::uint32_t factorial_mod32(std::uint32_t n);

// EDU_IOC_FACTORIAL; returns the raw syscall result.
Ret do_factorial(int fd, std::uint32_t n, std::uint32_t flags, std::uint32_t timeout_ms,
                 std::uint32_t* result = nullptr);
// EDU_IOC_DMA_STAGING (EDU_OP_ASYNC in flags starts it); the raw result.
Ret dma_staging(int fd, std::uint32_t dir, std::uint64_t soff, std::uint64_t doff,
                std::uint64_t len, std::uint32_t flags = EDU_WAIT_DEFAULT);
// Waits (up to 60 s) until the factorial unit is idle and checks it computes
// 10! correctly: "the device is still usable".
void expect_factorial_works(int fd);
// pwrite + pread of a fresh pattern: "the DMA engine is still usable".
void expect_dma_works(int fd, std::uint32_t offset = 0, std::uint32_t len = 64);

// ---------------------------------------------------------------------------
// Data.

std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc = 0);
void fill_pattern(std::span<std::uint8_t> buf, std::uint64_t seed);
std::vector<std::uint8_t> pattern(std::size_t len, std::uint64_t seed);
// First index where a and b differ, or -1.
long first_mismatch(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);
inline std::uint64_t uptr(const void* p) {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the UAPI passes pointers as __u64
  return reinterpret_cast<std::uintptr_t>(p);
}

// ---------------------------------------------------------------------------
// Signals and timers.

using Clock = std::chrono::steady_clock;

inline long ms_since(Clock::time_point t0) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

// Installs a counting handler for sig WITHOUT SA_RESTART (interrupted
// system calls fail with EINTR) and resets its count. The handler is left
// installed afterwards (see the destructor).
class SignalCatcher {
 public:
  explicit SignalCatcher(int sig);
  SignalCatcher(const SignalCatcher&) = delete;
  SignalCatcher& operator=(const SignalCatcher&) = delete;
  ~SignalCatcher() = default;
  [[nodiscard]] int count() const;

 private:
  int sig_;
};

// A POSIX timer that sends sig to one thread (default: the caller) after
// first, then every interval (so a call that blocks late is still hit).
class ThreadTimer {
 public:
  ThreadTimer(int sig, std::chrono::milliseconds first, std::chrono::milliseconds interval = 100ms,
              pid_t tid = -1);
  ThreadTimer(const ThreadTimer&) = delete;
  ThreadTimer& operator=(const ThreadTimer&) = delete;
  ~ThreadTimer();
  void cancel();

 private:
  timer_t timer_{};
  bool armed_ = false;
};

pid_t current_tid();

// ---------------------------------------------------------------------------
// Load: threads that keep a device's DMA engine busy with pwrite+pread round
// trips on their own slice of the window, verifying every byte.

class EngineHammer {
 public:
  // threads workers on [offset, offset + threads * slice).
  EngineHammer(EduNode n, int threads, std::uint32_t offset, std::uint32_t slice);
  EngineHammer(const EngineHammer&) = delete;
  EngineHammer& operator=(const EngineHammer&) = delete;
  ~EngineHammer();
  // Waits until the workers are moving data.
  bool wait_started(std::chrono::milliseconds timeout = 5s) const;
  void stop();  // stops and joins
  int transfers() const { return transfers_; }
  // "" if every transfer succeeded and every byte came back.
  std::string failure() const;

 private:
  void work(int i, std::uint32_t offset, std::uint32_t slice);

  EduNode node_;
  std::atomic<bool> stop_{false};
  std::atomic<int> transfers_{0};
  mutable std::mutex mu_;
  std::string failure_;
  std::vector<std::thread> threads_;
};

// ---------------------------------------------------------------------------
// Processes.

// Runs fn in a forked child; returns its exit status, or 128 + signal.
int run_in_child(const std::function<int()>& fn);
// Runs a program (PATH lookup); returns its exit status or 128 + signal,
// 127 if it could not be executed. Output (stdout+stderr) if out != nullptr.
int run_program(const std::vector<std::string>& argv, std::string* out = nullptr);

// ---------------------------------------------------------------------------
// Files.

std::optional<std::string> read_file(const fs::path& p);
std::string read_trimmed(const fs::path& p);                   // "" if unreadable
std::optional<std::uint64_t> parse_u64(const std::string& s);  // dec or 0x hex
Ret write_file(const fs::path& p, const std::string& s);

// Polls pred every 50 ms until it holds or timeout passes.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

std::string hex(std::uint64_t v);

// ---------------------------------------------------------------------------
// The kernel log.

// Kernel log records written from now on (/dev/kmsg, from its end).
class KmsgTail {
 public:
  KmsgTail() : fd_(::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)) {
    if (fd_.valid()) ::lseek(fd_.get(), 0, SEEK_END);
  }
  [[nodiscard]] bool valid() const { return fd_.valid(); }
  // Waits until a new record contains text; returns whether one did.
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    std::array<char, 8192> rec{};
    while (std::chrono::steady_clock::now() < end) {
      const ssize_t n = ::read(fd_.get(), rec.data(), rec.size() - 1);
      if (n > 0) {
        const std::string r(rec.data(), static_cast<std::size_t>(n));
        seen_ += r;
        if (r.find(text) != std::string::npos) return true;
      } else if (n < 0 && errno == EAGAIN) {
        std::this_thread::sleep_for(20ms);
      }
    }
    return false;
  }
  [[nodiscard]] const std::string& seen() const { return seen_; }

 private:
  Fd fd_;
  std::string seen_;
};

// ---------------------------------------------------------------------------
// Fixture: the first edu device, open read-write, identified.

class EduTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = first_node();
    ASSERT_FALSE(node_.name.empty());
    fd_ = open_node(node_);
    ASSERT_TRUE(fd_.valid());
    id_ = identify(fd_.get());
    ASSERT_EQ(id_.dma_window, kWindow);
  }
  [[nodiscard]] int fd() const { return fd_.get(); }

  EduNode node_;
  Fd fd_;
  edu_identify id_{};
};

}  // namespace edutest
