/// @file edu/driver.hpp
/// @brief Driver API: thin RAII wrappers over the edu kernel ABI.
///
/// One type per kernel object: drv::Device owns an open file of /dev/eduN,
/// drv::StagingMapping owns the mmap'd staging buffer of such a file. Every
/// member function is one system call (ioctl, pread/pwrite, mmap, poll) with
/// the semantics documented in docs/uapi.md; nothing is cached or retried
/// except that a system call interrupted by a signal before doing anything
/// (EINTR) is restarted.
///
/// Errors: every function throws edu::Error (a std::system_error carrying the
/// errno from the kernel) unless it is noexcept or takes a std::error_code&.
///
/// Thread safety: the kernel serialises access to the device, so distinct
/// threads may call const member functions of one Device concurrently. Each
/// open file has at most one asynchronous operation in flight and its own
/// staging buffer; use one Device per thread for those.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>

#include "edu/error.hpp"
#include "edu/types.hpp"

namespace edu::drv {

/// Owning file descriptor: closed on destruction; move-only.
class UniqueFd {
 public:
  /// An empty handle (get() == -1).
  UniqueFd() noexcept = default;
  /// Takes ownership of @p fd (may be -1).
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  /// Transfers ownership; @p other becomes empty.
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  /// Closes the current descriptor and takes ownership of @p other's.
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  /// Closes the descriptor, if any.
  ~UniqueFd();

  /// The descriptor, or -1.
  [[nodiscard]] int get() const noexcept { return fd_; }
  /// True if a descriptor is owned.
  [[nodiscard]] explicit operator bool() const noexcept { return fd_ >= 0; }
  /// Gives up ownership and returns the descriptor.
  [[nodiscard]] int release() noexcept;
  /// Closes the current descriptor and owns @p fd instead (reset(get()) keeps it).
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

/// Result of EDU_IOC_IDENTIFY.
struct Identity {
  std::uint32_t id_register = 0;        ///< raw identification register (0x010000ed on QEMU)
  std::uint16_t major = 0;              ///< device major version
  std::uint16_t minor = 0;              ///< device minor version
  std::uint32_t index = 0;              ///< N of /dev/eduN
  IrqMode irq_mode = IrqMode::unknown;  ///< interrupt delivery
  std::uint32_t dma_mask_bits = 0;      ///< DMA mask width set by the driver
  std::uint32_t dma_window = 0;         ///< usable bytes at the start of the device buffer
  std::uint32_t staging_size = 0;       ///< size of the per-open staging buffer
  Caps caps;                            ///< capability bits
};

/// Kind of a finished asynchronous operation (EDU_COMPLETION_*).
enum class OpKind : std::uint32_t {
  factorial = 1,  ///< EDU_IOC_FACTORIAL with EDU_OP_ASYNC
  dma = 2,        ///< EDU_IOC_DMA_STAGING with EDU_OP_ASYNC
};

/// Result of EDU_IOC_COMPLETE.
struct Completion {
  OpKind op = OpKind::factorial;  ///< which operation finished
  int status = 0;                 ///< 0 or a negative errno (e.g. -ETIMEDOUT)
  std::uint64_t result = 0;       ///< factorial result, or bytes transferred for DMA

  /// True if status == 0.
  [[nodiscard]] bool ok() const noexcept { return status == 0; }
  /// The status as an error code (empty when ok()).
  [[nodiscard]] std::error_code error() const noexcept {
    return status == 0 ? std::error_code{} : std::error_code(-status, std::system_category());
  }
};

/// Result of poll() on a device file.
struct PollResult {
  bool readable = false;  ///< an asynchronous operation has completed (EPOLLIN)
  bool hangup = false;    ///< the device was removed (EPOLLERR | EPOLLHUP)
};

/// How to open a device node.
struct OpenOptions {
  /// O_NONBLOCK: operations that would wait for a busy unit fail with EAGAIN,
  /// and complete() fails with EAGAIN instead of waiting.
  bool nonblocking = false;
};

/// The mmap'd staging buffer of one open file (EDU_IOC_DMA_STAGING source or
/// destination). Unmapped on destruction; move-only. The mapping stays valid
/// after the Device is closed (the kernel keeps the buffer until both are
/// gone), but is zapped if the PCI device is removed (access: SIGBUS).
class StagingMapping {
 public:
  /// An empty mapping.
  StagingMapping() noexcept = default;
  StagingMapping(const StagingMapping&) = delete;
  StagingMapping& operator=(const StagingMapping&) = delete;
  /// Transfers ownership; @p other becomes empty.
  StagingMapping(StagingMapping&& other) noexcept;
  /// Unmaps the current mapping and takes over @p other's.
  StagingMapping& operator=(StagingMapping&& other) noexcept;
  /// Unmaps.
  ~StagingMapping();

  /// The mapped bytes.
  [[nodiscard]] std::span<std::byte> bytes() const noexcept { return {data_, size_}; }
  /// Start of the mapping (nullptr if empty).
  [[nodiscard]] std::byte* data() const noexcept { return data_; }
  /// Length of the mapping in bytes.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// True if nothing is mapped.
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

 private:
  friend class Device;
  StagingMapping(std::byte* data, std::size_t size) noexcept : data_(data), size_(size) {}
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

/// An open file of /dev/eduN. Move-only; closed on destruction (which waits,
/// in the kernel, for an asynchronous operation still in flight).
class Device {
 public:
  /// An empty handle; every operation on it throws (EBADF).
  Device() noexcept = default;

  /// Opens /dev/edu<index>.
  [[nodiscard]] static Device open(unsigned index, OpenOptions options = {});
  /// Opens a device node by path.
  [[nodiscard]] static Device open(const std::filesystem::path& path, OpenOptions options = {});
  /// Non-throwing open: nullopt and @p ec set on failure.
  [[nodiscard]] static std::optional<Device> open(const std::filesystem::path& path,
                                                  OpenOptions options,
                                                  std::error_code& ec) noexcept;
  /// Wraps an already open descriptor of an edu node; @p name is used in messages.
  [[nodiscard]] static Device adopt(UniqueFd fd, std::string name);

  /// The file descriptor (for poll/select/epoll: readable when an async op finished).
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  /// Path (or name) the device was opened by, for messages.
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  /// True if a file is open.
  [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(fd_); }

  /// Switches O_NONBLOCK on or off. Not const: the flag belongs to the open
  /// file, so it changes the behaviour of every holder of this Device.
  void set_nonblocking(bool on);

  /// EDU_IOC_IDENTIFY.
  [[nodiscard]] Identity identify() const;
  /// EDU_IOC_LIVENESS: writes @p value, returns the read-back (~value on a healthy device).
  [[nodiscard]] std::uint32_t liveness(std::uint32_t value) const;
  /// EDU_IOC_FACTORIAL, synchronous: n! mod 2^32.
  /// @param timeout 0 = the driver's default; at most kMaxTimeout (else edu::errc::bad_argument)
  [[nodiscard]] std::uint32_t factorial(std::uint32_t n, WaitMode wait = WaitMode::driver_default,
                                        std::chrono::milliseconds timeout = {}) const;
  /// EDU_IOC_RAISE_IRQ: raises @p status (non-zero, no kReservedIrqBits) and
  /// waits until the handler saw it; returns the device's interrupt count.
  [[nodiscard]] std::uint64_t raise_irq(std::uint32_t status) const;
  /// EDU_IOC_STATS.
  [[nodiscard]] Counters stats() const;

  /// pread(2): device buffer [offset, ...) -> @p dst; returns bytes read
  /// (short at the end of the window, 0 at or past it).
  [[nodiscard]] std::size_t pread(std::span<std::byte> dst, std::uint64_t offset) const;
  /// pwrite(2): @p src -> device buffer [offset, ...); returns bytes written
  /// (short at the end of the window; ENOSPC at or past it).
  [[nodiscard]] std::size_t pwrite(std::span<const std::byte> src, std::uint64_t offset) const;

  /// mmap(2) of this file's staging buffer; @p length 0 maps all of it (staging_size).
  [[nodiscard]] StagingMapping map_staging(std::size_t length = 0) const;
  /// EDU_IOC_DMA_STAGING, synchronous: staging[staging_offset, +length) <-> device[device_offset,
  /// +length).
  /// @p dir is Direction::to_device or Direction::from_device; 1 <= length <= dma_window.
  void dma_staging(Direction dir, std::uint64_t staging_offset, std::uint64_t device_offset,
                   std::uint64_t length, WaitMode wait = WaitMode::driver_default) const;

  /// EDU_IOC_DMA_USER, EDU_DMA_TO_DEVICE: pins @p src and DMAs it to
  /// device[device_offset, ...). Returns bytes done (short at the end of the
  /// window, or when interrupted by a signal after partial progress).
  [[nodiscard]] std::size_t dma_to_device(std::span<const std::byte> src,
                                          std::uint64_t device_offset) const;
  /// EDU_IOC_DMA_USER, EDU_DMA_FROM_DEVICE: device[device_offset, ...) -> pinned @p dst.
  /// Returns bytes done (see dma_to_device()).
  [[nodiscard]] std::size_t dma_from_device(std::span<std::byte> dst,
                                            std::uint64_t device_offset) const;
  /// EDU_IOC_DMA_USER, EDU_DMA_LOOPBACK: streams @p src through the device
  /// buffer into @p dst in window-sized chunks; any length. The spans must have
  /// equal sizes (else edu::errc::size_mismatch). Returns bytes that reached
  /// @p dst (short only when interrupted by a signal after partial progress).
  [[nodiscard]] std::size_t dma_loopback(std::span<const std::byte> src,
                                         std::span<std::byte> dst) const;

  /// EDU_IOC_FACTORIAL with EDU_OP_ASYNC: starts n! and returns; the file
  /// becomes readable when it is done; collect with complete()/try_complete().
  void start_factorial(std::uint32_t n, std::chrono::milliseconds timeout = {}) const;
  /// EDU_IOC_DMA_STAGING with EDU_OP_ASYNC: starts the transfer and returns.
  void start_dma_staging(Direction dir, std::uint64_t staging_offset, std::uint64_t device_offset,
                         std::uint64_t length) const;
  /// EDU_IOC_COMPLETE: returns and clears the finished asynchronous operation;
  /// waits for it on a blocking file (EAGAIN on a non-blocking one; ENODATA if
  /// none was started). A failed operation is reported in Completion::status,
  /// not thrown.
  [[nodiscard]] Completion complete() const;
  /// poll(2) for 0 ms, then EDU_IOC_COMPLETE if readable: nullopt while the
  /// operation is still in flight. Never blocks.
  [[nodiscard]] std::optional<Completion> try_complete() const;
  /// poll(2) on the file; @p timeout < 0 waits forever.
  [[nodiscard]] PollResult poll(std::chrono::milliseconds timeout) const;

  /// EDU_IOC_REG_READ (debug, CAP_SYS_ADMIN): BAR0 register at @p offset.
  [[nodiscard]] std::uint64_t reg_read(std::uint32_t offset, std::uint32_t width = 4) const;
  /// EDU_IOC_REG_WRITE (debug, CAP_SYS_ADMIN; only the liveness register 0x04).
  void reg_write(std::uint32_t offset, std::uint64_t value, std::uint32_t width = 4) const;

 private:
  Device(UniqueFd fd, std::string path) noexcept : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

}  // namespace edu::drv
