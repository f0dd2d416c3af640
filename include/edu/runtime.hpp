/// @file edu/runtime.hpp
/// @brief Runtime API: discovery, a default device, memcpy-style transfers of
/// any size, asynchronous operations and multi-device work splitting.
///
/// Layering (like CUDA's runtime over its driver API):
///
///     application -> runtime (edu::) -> driver API (edu::drv::) -> ioctl -> kernel
///
/// Devices are addressed by *ordinal*: the position in the visible-device
/// list (see kVisibleDevicesEnv). The /dev/eduN number is the *index*.
///
/// Errors: every function throws edu::Error (see edu/error.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edu/discovery.hpp"
#include "edu/driver.hpp"
#include "edu/plan.hpp"
#include "edu/types.hpp"

namespace edu {

/// An opened, identified device of the runtime: one open file of /dev/eduN
/// plus its cached identity and a lazily mapped staging buffer. Obtained from
/// Runtime::device(); owned by the Runtime. Thread-safe: copies that use the
/// staging buffer serialise on an internal mutex.
class Device {
 public:
  /// Opens the device node of @p info and identifies it.
  [[nodiscard]] static Device open(const DeviceInfo& info);

  /// Transfers the open file; @p other becomes unusable.
  Device(Device&& other) noexcept;
  /// Closes this device's file and takes over @p other's.
  Device& operator=(Device&& other) noexcept;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  /// Unmaps the staging buffer and closes the file.
  ~Device();

  /// What sysfs said when the device was discovered (counters as of then).
  [[nodiscard]] const DeviceInfo& info() const noexcept;
  /// The identity reported by EDU_IOC_IDENTIFY at open time.
  [[nodiscard]] const drv::Identity& identity() const noexcept;
  /// N of /dev/eduN.
  [[nodiscard]] unsigned index() const noexcept;
  /// Usable bytes of the device buffer (identity().dma_window).
  [[nodiscard]] std::uint32_t dma_window() const noexcept;
  /// The underlying open file, for driver-API calls.
  [[nodiscard]] const drv::Device& driver() const noexcept;

  /// Current counters (EDU_IOC_STATS).
  [[nodiscard]] Counters counters() const;
  /// n! mod 2^32, synchronously.
  [[nodiscard]] std::uint32_t factorial(std::uint32_t n, WaitMode wait = WaitMode::driver_default,
                                        std::chrono::milliseconds timeout = {}) const;
  /// Writes @p value to the liveness register; true if the device returned ~value.
  [[nodiscard]] bool alive(std::uint32_t value = 0x5A5A0F0FU) const;

  /// Opens a second, independent file of the same node (own staging buffer,
  /// own asynchronous-operation slot).
  [[nodiscard]] drv::Device open_file(drv::OpenOptions options = {}) const;

 private:
  friend struct DeviceAccess;
  struct Impl;
  explicit Device(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

/// A set of visible devices, opened lazily on first use. Thread-safe.
class Runtime {
 public:
  /// Discovers devices per @p options (sysfs only; nothing is opened yet).
  explicit Runtime(DiscoveryOptions options);
  /// Discovers devices per DiscoveryOptions::from_environment().
  Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  /// Closes every device it opened (references from device() dangle afterwards).
  ~Runtime();

  /// Number of visible devices.
  [[nodiscard]] std::size_t device_count() const noexcept;
  /// sysfs information of the visible devices, in ordinal order.
  [[nodiscard]] const std::vector<DeviceInfo>& devices() const noexcept;
  /// How many devices are present before EDU_VISIBLE_DEVICES filtering.
  [[nodiscard]] std::size_t present_count() const noexcept;
  /// The options discovery used.
  [[nodiscard]] const DiscoveryOptions& options() const noexcept;

  /// The device with ordinal @p ordinal, opened on first use.
  /// Throws errc::no_device (none visible / ordinal out of range).
  [[nodiscard]] Device& device(std::size_t ordinal = 0);
  /// The device /dev/eduN with N == @p index. Throws errc::device_not_visible
  /// if it exists but is filtered out, errc::no_device if it does not exist.
  [[nodiscard]] Device& device_by_index(unsigned index);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The process-wide runtime, created from the environment on first use.
[[nodiscard]] Runtime& runtime();
/// The process-wide default device: runtime().device(0), opened on first use.
/// Throws errc::no_device ("is the driver loaded? try `modprobe edu`").
[[nodiscard]] Device& default_device();

/// Options of the runtime copies.
struct CopyOptions {
  /// Path to use; automatic = choose_path(size, automatic, pinned_threshold).
  CopyPath path = CopyPath::automatic;
  /// Size above which automatic picks the pinned path.
  std::size_t pinned_threshold = kPinnedThreshold;
  /// Wait mode of the staging-path DMA ioctls.
  WaitMode wait = WaitMode::driver_default;
  /// Called after each piece with (bytes done, total bytes). For
  /// copy_through_all() it may be called from worker threads (serialised).
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

/// What a copy did.
struct CopyResult {
  std::uint64_t bytes = 0;              ///< payload bytes copied
  CopyPath path = CopyPath::automatic;  ///< path actually used
  /// Device DMA transfers issued; for the pinned path the minimum (the
  /// kernel may split windows of non-contiguous pages, see kPinnedThreshold).
  std::uint64_t dma_transfers = 0;
  std::chrono::nanoseconds elapsed{0};  ///< wall time
};

/// Copies host @p src into device buffer [offset, offset + src.size()).
/// The range must lie within the window (else errc::out_of_window).
CopyResult copy_to_device(const Device& dev, std::uint64_t offset, std::span<const std::byte> src,
                          const CopyOptions& options = {});

/// Copies device buffer [offset, offset + dst.size()) into host @p dst.
/// The range must lie within the window (else errc::out_of_window).
CopyResult copy_from_device(const Device& dev, std::uint64_t offset, std::span<std::byte> dst,
                            const CopyOptions& options = {});

/// Streams @p src through the device into @p dst (loopback), any size, in
/// window-sized pieces. The spans must have equal sizes (errc::size_mismatch).
/// The staging and read_write paths take an exclusive flock(2) on the device
/// node around each to/from pair, so cooperating processes do not clobber the
/// device buffer in between; the pinned path is atomic per piece in the kernel.
CopyResult copy_through(const Device& dev, std::span<const std::byte> src, std::span<std::byte> dst,
                        const CopyOptions& options = {});

/// One device's share of copy_through_all().
struct SliceResult {
  unsigned device_index = 0;  ///< N of /dev/eduN
  Chunk slice;                ///< the slice of the buffer it moved
  CopyResult copy;            ///< what its copy did
};

/// Result of copy_through_all().
struct MultiCopyResult {
  std::vector<SliceResult> slices;      ///< one per device that got a non-empty slice
  std::chrono::nanoseconds elapsed{0};  ///< wall time of the whole operation
};

/// copy_through() split across all visible devices of @p rt, in parallel
/// threads, each device owning one contiguous slice (split_for_devices()).
/// If any device fails the first error is rethrown after all threads ended.
MultiCopyResult copy_through_all(Runtime& rt, std::span<const std::byte> src,
                                 std::span<std::byte> dst, const CopyOptions& options = {});
/// copy_through_all() on the default runtime().
MultiCopyResult copy_through_all(std::span<const std::byte> src, std::span<std::byte> dst,
                                 const CopyOptions& options = {});

/// A pending asynchronous device operation: a completion handle.
///
/// Each AsyncOp owns its own open file of the device (the kernel allows one
/// asynchronous operation per open file), so any number can be in flight.
/// Integrate into a poll loop with fd() (readable when done), then call
/// ready() or wait(). Move-only. Destroying an unfinished AsyncOp closes its
/// file, which waits in the kernel for the operation (bounded by its timeout);
/// a from-device copy then does not write its destination.
class AsyncOp {
 public:
  /// What the operation does.
  enum class Kind {
    factorial,    ///< n!
    to_device,    ///< staging buffer -> device buffer
    from_device,  ///< device buffer -> staging buffer -> caller's span
  };

  /// An empty handle (valid() == false).
  AsyncOp() noexcept;
  /// Takes over @p other's operation; @p other becomes empty.
  AsyncOp(AsyncOp&& other) noexcept;
  /// Drops the current operation (see the class comment) and takes over @p other's.
  AsyncOp& operator=(AsyncOp&& other) noexcept;
  AsyncOp(const AsyncOp&) = delete;
  AsyncOp& operator=(const AsyncOp&) = delete;
  /// Closes the operation's file (waiting in the kernel if it is still in flight).
  ~AsyncOp();

  /// True if this handle refers to an operation.
  [[nodiscard]] bool valid() const noexcept;
  /// What the operation does.
  [[nodiscard]] Kind kind() const noexcept;
  /// Descriptor that becomes readable (POLLIN) when the operation is done.
  [[nodiscard]] int fd() const noexcept;
  /// Never blocks: true once the operation has finished (collecting its
  /// result). A failed operation is ready too; wait()/get() throw its error.
  [[nodiscard]] bool ready();
  /// Waits up to @p timeout (< 0: forever); true if finished.
  [[nodiscard]] bool wait_for(std::chrono::milliseconds timeout);
  /// Waits until finished; throws edu::Error if the operation failed (e.g. ETIMEDOUT).
  void wait();
  /// wait(), then the result: n! mod 2^32 for factorial, bytes moved for DMA.
  [[nodiscard]] std::uint64_t get();

 private:
  friend struct AsyncAccess;
  struct State;
  std::unique_ptr<State> state_;
};

/// Starts n! on a fresh open file of @p dev.
[[nodiscard]] AsyncOp factorial_async(const Device& dev, std::uint32_t n,
                                      std::chrono::milliseconds timeout = {});
/// Starts copying @p src (copied into a staging buffer before returning, so it
/// may be reused at once) to device buffer [offset, +src.size()). At most
/// min(dma_window, staging_size) bytes, within the window.
[[nodiscard]] AsyncOp copy_to_device_async(const Device& dev, std::uint64_t offset,
                                           std::span<const std::byte> src);
/// Starts copying device buffer [offset, +dst.size()) into @p dst, which must
/// stay alive until the AsyncOp is ready (written when ready()/wait() collects
/// the completion). At most min(dma_window, staging_size) bytes.
[[nodiscard]] AsyncOp copy_from_device_async(const Device& dev, std::uint64_t offset,
                                             std::span<std::byte> dst);

/// Waits until one of @p ops is finished; returns its position, or nullopt
/// after @p timeout (< 0: forever). Already-finished ops are returned at once;
/// null pointers and invalid ops are skipped.
[[nodiscard]] std::optional<std::size_t> wait_any(
    std::span<AsyncOp* const> ops,
    std::chrono::milliseconds timeout = std::chrono::milliseconds{-1});
/// Waits for all of @p ops; throws the first failure after all finished.
void wait_all(std::span<AsyncOp* const> ops);

}  // namespace edu
