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
/// plus its cached identity, a lazily mapped staging buffer and a pool of
/// files for asynchronous operations. Obtained from Runtime::device() (as a
/// const reference: the Runtime owns it) or owned by the caller through
/// Device::open().
///
/// Thread-safe: any number of threads may use one Device at once. Copies that
/// use the staging buffer serialise on it; copy_through() serialises its use
/// of the device buffer between the threads of the process (a mutex) and
/// between processes (flock(2) on the node).
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
  /// Files of finished asynchronous operations kept for reuse (at most
  /// kAsyncFilePoolSize).
  [[nodiscard]] std::size_t pooled_files() const;

 private:
  friend struct DeviceAccess;
  struct Impl;
  explicit Device(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

/// Files kept per Device for reuse by later asynchronous operations: opening
/// a file costs the kernel a coherent staging buffer and a mapping.
inline constexpr std::size_t kAsyncFilePoolSize = 8;

/// What Runtime::refresh() found changed.
struct DeviceChange {
  /// Whether the device appeared or went away.
  enum class Kind {
    added,    ///< visible now, not before
    removed,  ///< visible before (or its open file was hung up), gone now
  };
  Kind kind = Kind::added;  ///< what happened
  DeviceInfo info;          ///< the device (as of the last discovery for removed ones)
};

/// A set of visible devices, opened lazily on first use. Thread-safe.
///
/// The set is discovered at construction; refresh() re-discovers it after a
/// hotplug. Devices it opened stay alive until the Runtime is destroyed, so
/// references from device() never dangle while the Runtime exists: the
/// reference of a removed device reports ENODEV.
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
  [[nodiscard]] std::size_t device_count() const;
  /// sysfs information of the visible devices, in ordinal order.
  [[nodiscard]] std::vector<DeviceInfo> devices() const;
  /// How many devices are present before EDU_VISIBLE_DEVICES filtering.
  [[nodiscard]] std::size_t present_count() const;
  /// The options discovery used.
  [[nodiscard]] const DiscoveryOptions& options() const noexcept;

  /// The device with ordinal @p ordinal, opened on first use.
  /// Throws errc::no_device (none visible / ordinal out of range).
  [[nodiscard]] const Device& device(std::size_t ordinal = 0);
  /// The device /dev/eduN with N == @p index. Throws errc::device_not_visible
  /// if it exists but is filtered out, errc::no_device if it does not exist.
  [[nodiscard]] const Device& device_by_index(unsigned index);

  /// Re-discovers the devices (after a hotplug): devices that appeared get
  /// ordinals, removed ones lose theirs (ordinals are renumbered as discovery
  /// orders them). An opened device whose file the driver hung up counts as
  /// removed even if a device with its index came back (it is a new device).
  /// Returns the changes, removals first.
  std::vector<DeviceChange> refresh();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The process-wide runtime, created from the environment on first use.
[[nodiscard]] Runtime& runtime();
/// The process-wide default device: runtime().device(0), opened on first use.
/// Throws errc::no_device ("is the driver loaded? try `modprobe edu`").
[[nodiscard]] const Device& default_device();

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
/// Every path uses the start of the device buffer as scratch: around each
/// to/from pair (staging, read_write) or loopback call (pinned, whose pairs
/// the kernel keeps together) it holds the Device's mutex (threads of this
/// process) and an exclusive flock(2) on the node (other processes, which
/// flock cannot tell apart from threads sharing one open file), so no copy
/// clobbers another's data between its two halves.
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
/// ready() or wait(). Move-only. A finished AsyncOp gives its file (and
/// staging mapping) back to the Device's pool when destroyed, for the next
/// operation. Destroying an unfinished one closes its file instead, which
/// waits in the kernel for the operation (bounded by its timeout); a
/// from-device copy then does not write its destination.
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
