/// @file edu/types.hpp
/// @brief Vocabulary types shared by the driver and runtime APIs.
///
/// These mirror the constants of the kernel UAPI (<linux/edu.h>) without
/// exposing it: the public headers do not include the UAPI header, so an
/// installed libedu does not need it. The library checks at compile time that
/// every value here equals its UAPI counterpart.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edu {

/// How the driver waits for a synchronous operation (EDU_WAIT_*).
enum class WaitMode : std::uint32_t {
  driver_default = 0,  ///< the driver's `wait_mode` module parameter
  irq = 1,             ///< sleep until the completion interrupt
  poll = 2,            ///< poll the status register
  hybrid = 3,          ///< poll for `hybrid_spin_us`, then sleep on the interrupt
};

/// Interrupt delivery of a device (EDU_IRQ_MODE_*).
enum class IrqMode : std::uint32_t {
  intx = 0,               ///< legacy INTx
  msi = 1,                ///< MSI
  unknown = 0xFFFFFFFFU,  ///< not reported / not recognised
};

/// Direction of a DMA transfer (EDU_DMA_*).
enum class Direction : std::uint32_t {
  to_device = 1,    ///< host memory -> device buffer
  from_device = 2,  ///< device buffer -> host memory
  loopback = 3,     ///< host memory -> device buffer -> host memory (pinned path only)
};

/// Device capability bits (EDU_CAP_*).
enum class Cap : std::uint32_t {
  factorial_irq = 1U << 0,  ///< factorial completion raises interrupt 0x001
  dma = 1U << 1,            ///< the DMA engine is usable
  async = 1U << 2,          ///< asynchronous operations (EDU_OP_ASYNC) are accepted
};

/// A set of Cap bits.
struct Caps {
  std::uint32_t bits = 0;  ///< raw EDU_CAP_* bits

  /// True if @p cap is set.
  [[nodiscard]] constexpr bool has(Cap cap) const noexcept {
    return (bits & static_cast<std::uint32_t>(cap)) != 0;
  }
  /// Names of the set bits ("factorial_irq", "dma", "async"); unknown bits as "bitN".
  [[nodiscard]] std::vector<std::string> names() const;

  /// Bitwise equality.
  friend constexpr bool operator==(const Caps&, const Caps&) = default;
};

/// Per-device counters (EDU_IOC_STATS, and the sysfs counter attributes).
struct Counters {
  std::uint64_t irqs = 0;           ///< interrupts handled
  std::uint64_t factorial_ops = 0;  ///< factorial operations completed
  std::uint64_t dma_ops = 0;        ///< DMA transfers completed
  std::uint64_t dma_bytes = 0;      ///< bytes moved by DMA
  std::uint64_t errors = 0;         ///< failed operations
  std::uint64_t timeouts = 0;       ///< operations that timed out

  /// Memberwise equality.
  friend constexpr bool operator==(const Counters&, const Counters&) = default;
};

/// Value of the identification register of QEMU's edu device (version 1.0).
inline constexpr std::uint32_t kQemuIdRegister = 0x010000ed;

/// Virtual time one DMA transfer takes on the device, whatever its size.
inline constexpr std::chrono::milliseconds kDmaTransferTime{100};

/// Largest per-operation timeout the driver accepts (EDU_IOC_FACTORIAL).
inline constexpr std::chrono::milliseconds kMaxTimeout{60000};

/// Interrupt status bits the driver reserves for its own completions;
/// raise_irq() refuses them (EDU_IRQ_FACTORIAL | EDU_IRQ_DMA).
inline constexpr std::uint32_t kReservedIrqBits = 0x00000001U | 0x00000100U;

/// "irq", "poll", "hybrid" or "default".
[[nodiscard]] std::string_view to_string(WaitMode mode) noexcept;
/// "msi", "intx" or "unknown".
[[nodiscard]] std::string_view to_string(IrqMode mode) noexcept;
/// "to_device", "from_device" or "loopback".
[[nodiscard]] std::string_view to_string(Direction dir) noexcept;

/// Parses "irq", "poll", "hybrid", "default" (case-sensitive); nullopt otherwise.
[[nodiscard]] std::optional<WaitMode> parse_wait_mode(std::string_view text) noexcept;
/// Parses the sysfs `irq_mode` attribute ("msi", "intx"; surrounding whitespace ignored).
[[nodiscard]] IrqMode parse_irq_mode(std::string_view text) noexcept;

}  // namespace edu
