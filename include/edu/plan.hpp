/// @file edu/plan.hpp
/// @brief Transfer planning: path choice, chunking and multi-device splits.
///
/// Pure functions, no I/O, used by the runtime copies and unit tested on
/// their own. The cost model they encode: every device DMA transfer takes
/// kDmaTransferTime (100 ms of virtual time) whatever its size, and moves at
/// most dma_window bytes. So the number of transfers is what matters: chunks
/// are always as full as the window allows, and a buffer split across devices
/// is split on window boundaries.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace edu {

/// How a runtime copy moves data.
enum class CopyPath {
  automatic,   ///< choose_path(): staging up to the threshold, pinned above
  staging,     ///< CPU copy into the mmap'd staging buffer + EDU_IOC_DMA_STAGING
  pinned,      ///< EDU_IOC_DMA_USER on the pinned user pages (no CPU copy)
  read_write,  ///< pwrite/pread (the driver's bounce buffer)
};

/// Buffers larger than this many bytes use the pinned-user-pages path by
/// default; smaller ones the staging buffer.
///
/// Small buffers: the staging buffer is already mapped, so a copy costs one
/// memcpy and one ioctl per window, while the pinned path would pin and
/// DMA-map the user pages for a single transfer. Large buffers: the pinned
/// path needs no CPU copies and moves the whole buffer in one system call
/// (the kernel streams it window by window).
///
/// Caveat: the staging buffer is physically contiguous, so each of its
/// transfers is a full window. A pinned user buffer is only as contiguous as
/// its DMA mapping: without an IOMMU, 4 KiB pages that are not physically
/// adjacent split a window at page boundaries into two transfers (100 ms
/// each). Where that happens the staging path is faster for every size; set
/// CopyOptions::path (or pinned_threshold = SIZE_MAX) accordingly. edu-bench
/// reports the transfers each path really costs (device_dma_ops_per_op).
inline constexpr std::size_t kPinnedThreshold = std::size_t{16} * 1024;

/// The pinned path hands the kernel at most this many bytes per
/// EDU_IOC_DMA_USER call, which bounds how much memory is pinned at once.
inline constexpr std::size_t kMaxPinnedBytesPerCall = std::size_t{4} * 1024 * 1024;

/// When a progress callback is set, the pinned path makes calls of at most
/// this many windows (about 1.6 s of loopback each) so progress is visible.
inline constexpr std::size_t kProgressWindowsPerCall = 8;

// A buffer that fits one DMA transfer (QEMU edu's window: 4095 bytes) never
// pays for pinning by default, and a pinned call moves at least one window.
static_assert(kPinnedThreshold >= 4095);
static_assert(kMaxPinnedBytesPerCall >= 4095);

/// "automatic", "staging", "pinned" or "read_write".
[[nodiscard]] const char* to_string(CopyPath path) noexcept;

/// The path a copy of @p length bytes takes: @p requested unless it is
/// automatic, then staging if length <= threshold, else pinned.
[[nodiscard]] CopyPath choose_path(std::size_t length, CopyPath requested = CopyPath::automatic,
                                   std::size_t threshold = kPinnedThreshold) noexcept;

/// A contiguous piece of a transfer.
struct Chunk {
  std::uint64_t offset = 0;  ///< offset from the start of the transfer
  std::uint64_t length = 0;  ///< bytes

  /// Memberwise equality.
  friend constexpr bool operator==(const Chunk&, const Chunk&) = default;
};

/// Splits [0, total) into consecutive chunks of @p chunk bytes (the last one
/// shorter). total == 0 yields no chunks; chunk == 0 is treated as 1.
[[nodiscard]] std::vector<Chunk> plan_chunks(std::uint64_t total, std::uint64_t chunk);

/// Splits [0, total) into @p devices contiguous slices on @p window
/// boundaries, minimising the largest number of window-sized transfers any
/// device has to do (so the slowest device finishes as early as possible).
/// Returns exactly @p devices slices; trailing ones may be empty when there
/// are fewer windows than devices. devices == 0 yields no slices.
[[nodiscard]] std::vector<Chunk> split_for_devices(std::uint64_t total, std::uint64_t window,
                                                   std::size_t devices);

/// Device DMA transfers needed to move @p bytes in one direction, @p window
/// bytes at most per transfer: ceil(bytes / window).
[[nodiscard]] constexpr std::uint64_t dma_transfers(std::uint64_t bytes,
                                                    std::uint64_t window) noexcept {
  return window == 0 ? 0 : (bytes + window - 1) / window;
}

/// Lower bound on the device time of a loopback of @p bytes (to and from the
/// device: 2 transfers per window).
[[nodiscard]] constexpr std::chrono::milliseconds loopback_time(
    std::uint64_t bytes, std::uint64_t window,
    std::chrono::milliseconds per_transfer = std::chrono::milliseconds{100}) noexcept {
  return per_transfer * static_cast<std::int64_t>(2 * dma_transfers(bytes, window));
}

}  // namespace edu
