// Driver API: one system call per member function (docs/uapi.md).
#include "edu/driver.hpp"

#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/edu.h>

#include "edu/error.hpp"
#include "util.hpp"

namespace edu::drv {

// The public vocabulary types mirror the UAPI without including it.
static_assert(static_cast<std::uint32_t>(WaitMode::driver_default) == EDU_WAIT_DEFAULT);
static_assert(static_cast<std::uint32_t>(WaitMode::irq) == EDU_WAIT_IRQ);
static_assert(static_cast<std::uint32_t>(WaitMode::poll) == EDU_WAIT_POLL);
static_assert(static_cast<std::uint32_t>(WaitMode::hybrid) == EDU_WAIT_HYBRID);
static_assert(static_cast<std::uint32_t>(IrqMode::intx) == EDU_IRQ_MODE_INTX);
static_assert(static_cast<std::uint32_t>(IrqMode::msi) == EDU_IRQ_MODE_MSI);
static_assert(static_cast<std::uint32_t>(Direction::to_device) == EDU_DMA_TO_DEVICE);
static_assert(static_cast<std::uint32_t>(Direction::from_device) == EDU_DMA_FROM_DEVICE);
static_assert(static_cast<std::uint32_t>(Direction::loopback) == EDU_DMA_LOOPBACK);
static_assert(static_cast<std::uint32_t>(Cap::factorial_irq) == EDU_CAP_FACTORIAL_IRQ);
static_assert(static_cast<std::uint32_t>(Cap::dma) == EDU_CAP_DMA);
static_assert(static_cast<std::uint32_t>(Cap::async) == EDU_CAP_ASYNC);
static_assert(static_cast<std::uint32_t>(OpKind::factorial) == EDU_COMPLETION_FACTORIAL);
static_assert(static_cast<std::uint32_t>(OpKind::dma) == EDU_COMPLETION_DMA);
static_assert(kReservedIrqBits == (EDU_IRQ_FACTORIAL | EDU_IRQ_DMA));

namespace {

/// ioctl(2), restarted on EINTR; returns 0 or the errno.
int do_ioctl(int fd, unsigned long request, void* arg) noexcept {
  for (;;) {
    if (::ioctl(fd, request, arg) >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

std::uint32_t wait_flags(WaitMode mode) {
  const auto bits = static_cast<std::uint32_t>(mode);
  if ((bits & ~static_cast<std::uint32_t>(EDU_WAIT_MASK)) != 0)
    throw make_error(errc::bad_argument, "wait mode " + std::to_string(bits), Context::ioctl);
  return bits;
}

template <typename Operation>
std::uint32_t timeout_ms(std::chrono::milliseconds timeout, const Operation& op) {
  if (timeout.count() < 0 || timeout > kMaxTimeout)
    throw Error(make_error_code(errc::bad_argument), op(),
                "timeout must be 0 (driver default) .. 60000 ms, got " +
                    std::to_string(timeout.count()) + " ms");
  return static_cast<std::uint32_t>(timeout.count());
}

template <typename Operation>
std::uint32_t dma_direction(Direction dir, const Operation& op) {
  if (dir != Direction::to_device && dir != Direction::from_device)
    throw Error(make_error_code(errc::bad_argument), op(),
                "the staging path moves data to_device or from_device only");
  return static_cast<std::uint32_t>(dir);
}

std::uint64_t user_ptr(const void* p) noexcept {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the UAPI passes pointers as __u64
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p));
}

template <typename Operation>
off_t to_off(std::uint64_t offset, const Operation& op) {
  if (offset > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()))
    throw make_error(errc::out_of_window, op(), Context::io);
  return static_cast<off_t>(offset);
}

}  // namespace

// ---------------------------------------------------------------- UniqueFd

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

UniqueFd::~UniqueFd() {
  reset();
}

int UniqueFd::release() noexcept {
  return std::exchange(fd_, -1);
}

void UniqueFd::reset(int fd) noexcept {
  // reset(get()) keeps the descriptor; close(2) on Linux releases it even on EINTR.
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
}

// ---------------------------------------------------------- StagingMapping

StagingMapping::StagingMapping(StagingMapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

StagingMapping& StagingMapping::operator=(StagingMapping&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

StagingMapping::~StagingMapping() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

// ------------------------------------------------------------------ Device

Device Device::open(unsigned index, OpenOptions options) {
  return open(std::filesystem::path("/dev") / ("edu" + std::to_string(index)), options);
}

Device Device::open(const std::filesystem::path& path, OpenOptions options) {
  std::error_code ec;
  auto dev = open(path, options, ec);
  if (!dev) throw make_error(ec, "open " + path.string(), Context::open);
  return std::move(*dev);
}

std::optional<Device> Device::open(const std::filesystem::path& path, OpenOptions options,
                                   std::error_code& ec) noexcept {
  ec.clear();
  int flags = O_RDWR | O_CLOEXEC;
  if (options.nonblocking) flags |= O_NONBLOCK;
  int fd = -1;
  do {
    fd = ::open(path.c_str(), flags);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    ec.assign(errno, std::system_category());
    return std::nullopt;
  }
  try {
    return Device(UniqueFd(fd), path.string());
  } catch (...) {  // std::string allocation
    ::close(fd);
    ec = std::make_error_code(std::errc::not_enough_memory);
    return std::nullopt;
  }
}

Device Device::adopt(UniqueFd fd, std::string name) {
  return {std::move(fd), std::move(name)};
}

void Device::set_nonblocking(bool on) {
  const int flags = ::fcntl(fd(), F_GETFL);
  if (flags < 0) throw make_errno_error(errno, "fcntl " + path_, Context::io);
  const int wanted = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (wanted != flags && ::fcntl(fd(), F_SETFL, wanted) < 0)
    throw make_errno_error(errno, "fcntl " + path_, Context::io);
}

Identity Device::identify() const {
  edu_identify raw{};
  if (const int err = do_ioctl(fd(), EDU_IOC_IDENTIFY, &raw))
    throw make_errno_error(err, "identify " + path_, Context::ioctl);
  Identity id;
  id.id_register = raw.id_register;
  id.major = raw.major;
  id.minor = raw.minor;
  id.index = raw.index;
  id.irq_mode = raw.irq_mode == EDU_IRQ_MODE_MSI    ? IrqMode::msi
                : raw.irq_mode == EDU_IRQ_MODE_INTX ? IrqMode::intx
                                                    : IrqMode::unknown;
  id.dma_mask_bits = raw.dma_mask_bits;
  id.dma_window = raw.dma_window;
  id.staging_size = raw.staging_size;
  id.caps.bits = raw.caps;
  return id;
}

std::uint32_t Device::liveness(std::uint32_t value) const {
  edu_liveness raw{};
  raw.value = value;
  if (const int err = do_ioctl(fd(), EDU_IOC_LIVENESS, &raw))
    throw make_errno_error(err, "liveness check on " + path_, Context::ioctl);
  return raw.inverted;
}

std::uint32_t Device::factorial(std::uint32_t n, WaitMode wait,
                                std::chrono::milliseconds timeout) const {
  const auto op = [&] { return "factorial(" + std::to_string(n) + ") on " + path_; };
  edu_factorial raw{};
  raw.input = n;
  raw.flags = wait_flags(wait);
  raw.timeout_ms = timeout_ms(timeout, op);
  if (const int err = do_ioctl(fd(), EDU_IOC_FACTORIAL, &raw))
    throw make_errno_error(err, op(), Context::ioctl);
  return raw.result;
}

std::uint64_t Device::raise_irq(std::uint32_t status) const {
  const auto op = [&] { return "raise interrupt " + detail::hex(status) + " on " + path_; };
  if (status == 0 || (status & kReservedIrqBits) != 0)
    throw Error(make_error_code(errc::bad_argument), op(),
                "the status must be non-zero and must not use the driver's bits 0x1 and 0x100");
  edu_raise_irq raw{};
  raw.status = status;
  if (const int err = do_ioctl(fd(), EDU_IOC_RAISE_IRQ, &raw))
    throw make_errno_error(err, op(), Context::ioctl);
  return raw.irq_count;
}

Counters Device::stats() const {
  edu_stats raw{};
  if (const int err = do_ioctl(fd(), EDU_IOC_STATS, &raw))
    throw make_errno_error(err, "read statistics of " + path_, Context::ioctl);
  Counters c;
  c.irqs = raw.irqs;
  c.factorial_ops = raw.factorial_ops;
  c.dma_ops = raw.dma_ops;
  c.dma_bytes = raw.dma_bytes;
  c.errors = raw.errors;
  c.timeouts = raw.timeouts;
  return c;
}

std::size_t Device::pread(std::span<std::byte> dst, std::uint64_t offset) const {
  const auto op = [&] { return "read " + path_; };
  const off_t off = to_off(offset, op);
  for (;;) {
    const ssize_t n = ::pread(fd(), dst.data(), dst.size(), off);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw make_errno_error(errno, op(), Context::io);
  }
}

std::size_t Device::pwrite(std::span<const std::byte> src, std::uint64_t offset) const {
  const auto op = [&] { return "write " + path_; };
  const off_t off = to_off(offset, op);
  for (;;) {
    const ssize_t n = ::pwrite(fd(), src.data(), src.size(), off);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw make_errno_error(errno, op(), Context::io);
  }
}

StagingMapping Device::map_staging(std::size_t length) const {
  if (length == 0) length = identify().staging_size;
  void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd(), 0);
  if (p == MAP_FAILED)
    throw make_errno_error(errno, "map the staging buffer of " + path_, Context::mmap);
  return {static_cast<std::byte*>(p), length};
}

void Device::dma_staging(Direction dir, std::uint64_t staging_offset, std::uint64_t device_offset,
                         std::uint64_t length, WaitMode wait) const {
  const auto op = [&] { return "staging DMA " + std::string(to_string(dir)) + " on " + path_; };
  edu_dma_staging raw{};
  raw.direction = dma_direction(dir, op);
  raw.flags = wait_flags(wait);
  raw.staging_offset = staging_offset;
  raw.device_offset = device_offset;
  raw.length = length;
  if (const int err = do_ioctl(fd(), EDU_IOC_DMA_STAGING, &raw))
    throw make_errno_error(err, op(), Context::ioctl);
}

namespace {

/// EDU_IOC_DMA_USER; a signal after partial progress yields a short count.
/// @p op names the operation (called only to build an error).
template <typename Operation>
std::size_t dma_user(int fd, edu_dma_user& raw, const Operation& op) {
  for (;;) {
    raw.done = 0;
    if (::ioctl(fd, EDU_IOC_DMA_USER, &raw) >= 0) return static_cast<std::size_t>(raw.done);
    const int err = errno;
    if (err == EINTR && raw.done > 0) return static_cast<std::size_t>(raw.done);
    if (err != EINTR) throw make_errno_error(err, op(), Context::ioctl);
  }
}

}  // namespace

std::size_t Device::dma_to_device(std::span<const std::byte> src,
                                  std::uint64_t device_offset) const {
  if (src.empty()) return 0;
  edu_dma_user raw{};
  raw.direction = EDU_DMA_TO_DEVICE;
  raw.src = user_ptr(src.data());
  raw.length = src.size();
  raw.device_offset = device_offset;
  return dma_user(fd(), raw, [&] { return "pinned DMA to_device on " + path_; });
}

std::size_t Device::dma_from_device(std::span<std::byte> dst, std::uint64_t device_offset) const {
  if (dst.empty()) return 0;
  edu_dma_user raw{};
  raw.direction = EDU_DMA_FROM_DEVICE;
  raw.dst = user_ptr(dst.data());
  raw.length = dst.size();
  raw.device_offset = device_offset;
  return dma_user(fd(), raw, [&] { return "pinned DMA from_device on " + path_; });
}

std::size_t Device::dma_loopback(std::span<const std::byte> src, std::span<std::byte> dst) const {
  const auto op = [&] { return "pinned DMA loopback on " + path_; };
  if (src.size() != dst.size())
    throw Error(make_error_code(errc::size_mismatch), op(),
                "source has " + std::to_string(src.size()) + " bytes, destination " +
                    std::to_string(dst.size()));
  if (src.empty()) return 0;
  edu_dma_user raw{};
  raw.direction = EDU_DMA_LOOPBACK;
  raw.src = user_ptr(src.data());
  raw.dst = user_ptr(dst.data());
  raw.length = src.size();
  return dma_user(fd(), raw, op);
}

void Device::start_factorial(std::uint32_t n, std::chrono::milliseconds timeout) const {
  const auto op = [&] { return "start factorial(" + std::to_string(n) + ") on " + path_; };
  edu_factorial raw{};
  raw.input = n;
  raw.flags = EDU_OP_ASYNC;
  raw.timeout_ms = timeout_ms(timeout, op);
  if (const int err = do_ioctl(fd(), EDU_IOC_FACTORIAL, &raw))
    throw make_errno_error(err, op(), Context::async);
}

void Device::start_dma_staging(Direction dir, std::uint64_t staging_offset,
                               std::uint64_t device_offset, std::uint64_t length) const {
  const auto op = [&] {
    return "start staging DMA " + std::string(to_string(dir)) + " on " + path_;
  };
  edu_dma_staging raw{};
  raw.direction = dma_direction(dir, op);
  raw.flags = EDU_OP_ASYNC;
  raw.staging_offset = staging_offset;
  raw.device_offset = device_offset;
  raw.length = length;
  if (const int err = do_ioctl(fd(), EDU_IOC_DMA_STAGING, &raw))
    throw make_errno_error(err, op(), Context::async);
}

Completion Device::complete() const {
  edu_completion raw{};
  if (const int err = do_ioctl(fd(), EDU_IOC_COMPLETE, &raw))
    throw make_errno_error(err, "complete the asynchronous operation on " + path_, Context::async);
  Completion c;
  c.op = static_cast<OpKind>(raw.op);
  c.status = raw.status;
  c.result = raw.result;
  return c;
}

std::optional<Completion> Device::try_complete() const {
  const PollResult p = poll(std::chrono::milliseconds{0});
  if (!p.readable && !p.hangup) return std::nullopt;
  return complete();  // on hangup this throws ENODEV with its hint
}

PollResult Device::poll(std::chrono::milliseconds timeout) const {
  // poll(2) ignores a negative descriptor: it would wait for the timeout, or forever.
  if (fd() < 0) throw make_errno_error(EBADF, "poll " + path_, Context::async);
  pollfd pfd{};
  pfd.fd = fd();
  pfd.events = POLLIN;
  const int ms = timeout.count() < 0 ? -1
                 : timeout.count() > std::numeric_limits<int>::max()
                     ? std::numeric_limits<int>::max()
                     : static_cast<int>(timeout.count());
  for (;;) {
    const int r = ::poll(&pfd, 1, ms);
    if (r >= 0) break;
    if (errno != EINTR) throw make_errno_error(errno, "poll " + path_, Context::async);
  }
  PollResult out;
  out.readable = (pfd.revents & POLLIN) != 0;
  out.hangup = (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
  return out;
}

std::uint64_t Device::reg_read(std::uint32_t offset, std::uint32_t width) const {
  edu_reg raw{};
  raw.offset = offset;
  raw.width = width;
  if (const int err = do_ioctl(fd(), EDU_IOC_REG_READ, &raw))
    throw make_errno_error(err, "read register " + detail::hex(offset) + " of " + path_,
                           Context::register_access);
  return raw.value;
}

void Device::reg_write(std::uint32_t offset, std::uint64_t value, std::uint32_t width) const {
  edu_reg raw{};
  raw.offset = offset;
  raw.width = width;
  raw.value = value;
  if (const int err = do_ioctl(fd(), EDU_IOC_REG_WRITE, &raw))
    throw make_errno_error(err, "write register " + detail::hex(offset) + " of " + path_,
                           Context::register_access);
}

}  // namespace edu::drv
