/// @file edu-bench/buffers.hpp
/// @brief Host buffers for the pinned DMA path: 2 MiB-aligned anonymous
/// memory with MADV_HUGEPAGE, so that transparent huge pages make it
/// physically contiguous.
///
/// Why: without an IOMMU, EDU_IOC_DMA_USER can move a 4095-byte window in one
/// device transfer only if the pages under it are physically adjacent;
/// otherwise the driver splits the window at the page boundary and pays a
/// second 100 ms transfer. Ordinary heap buffers (4 KiB pages, scattered)
/// therefore run the pinned path at about half the device limit; a buffer in
/// one transparent huge page does not.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

namespace edubench {

/// Size and alignment of an x86_64/arm64 (4 KiB granule) PMD huge page.
inline constexpr std::size_t kHugePageSize = std::size_t{2} << 20;

/// 2 MiB-aligned anonymous memory advised for transparent huge pages
/// (madvise(MADV_HUGEPAGE)) and faulted in. Move-only; unmapped on destruction.
class HugeBuffer {
 public:
  /// An empty buffer.
  HugeBuffer() noexcept = default;
  /// Maps at least @p bytes (rounded up to kHugePageSize), 2 MiB-aligned,
  /// advises MADV_HUGEPAGE and touches every page. Throws edu::Error
  /// (ENOMEM) if the mapping fails; a refused madvise is not an error (the
  /// buffer then simply has small pages: see describe()).
  [[nodiscard]] static HugeBuffer allocate(std::size_t bytes);

  HugeBuffer(HugeBuffer&& other) noexcept;
  HugeBuffer& operator=(HugeBuffer&& other) noexcept;
  HugeBuffer(const HugeBuffer&) = delete;
  HugeBuffer& operator=(const HugeBuffer&) = delete;
  ~HugeBuffer();

  /// All mapped bytes.
  [[nodiscard]] std::span<std::byte> bytes() const noexcept { return {data_, size_}; }
  /// @p length bytes from @p offset (clamped to the mapping).
  [[nodiscard]] std::span<std::byte> slice(std::size_t offset, std::size_t length) const noexcept;

  /// What the buffer really got: {"kind": "thp", "bytes", "aligned_2mib",
  /// "madvise_ok", "anon_huge_bytes" (AnonHugePages of its VMA in
  /// /proc/self/smaps, null if unreadable), "physically_contiguous" (bytes [0, @p used) by
  /// /proc/self/pagemap PFNs; null without the privilege to read PFNs)}.
  [[nodiscard]] nlohmann::json describe(std::size_t used) const;

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  bool madvise_ok_ = false;
};

/// True/false if the page frames under [@p data, + @p length) are
/// consecutive; nullopt if /proc/self/pagemap does not show PFNs (needs
/// CAP_SYS_ADMIN) or a page is not present.
[[nodiscard]] std::optional<bool> physically_contiguous(const void* data, std::size_t length);

/// AnonHugePages (bytes) of the mapping (VMA) containing @p address, from
/// /proc/self/smaps; nullopt if not found. Adjacent buffers with the same
/// flags may share one VMA: the value then covers all of them.
[[nodiscard]] std::optional<std::size_t> anon_huge_bytes(const void* address);

/// Contents of /sys/kernel/mm/transparent_hugepage/enabled ("always [madvise]
/// never"), or "" if absent.
[[nodiscard]] std::string thp_setting();

}  // namespace edubench
