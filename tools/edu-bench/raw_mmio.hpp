/// @file edu-bench/raw_mmio.hpp
/// @brief Raw user-space MMIO on an edu device that is NOT bound to the
/// driver: the baseline the driver's wait modes are compared with.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "edu/driver.hpp"

namespace edubench {

/// BAR0 of an unbound edu device, mmap'd from sysfs resource0 with O_SYNC.
class RawMmio {
 public:
  /// Opens /sys/bus/pci/devices/<bdf>/resource0 after checking the device is
  /// an edu (1234:11e8) and not bound to a driver; enables it if needed.
  /// Throws edu::Error with a hint on every failure.
  [[nodiscard]] static RawMmio open(const std::string& bdf,
                                    const std::filesystem::path& sysfs_root = "/sys");

  RawMmio(RawMmio&& other) noexcept;
  RawMmio& operator=(RawMmio&& other) noexcept;
  RawMmio(const RawMmio&) = delete;
  RawMmio& operator=(const RawMmio&) = delete;
  ~RawMmio();

  /// 32-bit read of BAR0 at @p offset.
  [[nodiscard]] std::uint32_t read32(std::size_t offset) const noexcept;
  /// 32-bit write of BAR0 at @p offset.
  void write32(std::size_t offset, std::uint32_t value) const noexcept;

  /// Writes n to the factorial register and spins on the status register's
  /// busy bit; returns the result. Throws ETIMEDOUT after @p timeout.
  [[nodiscard]] std::uint32_t factorial(
      std::uint32_t n, std::chrono::milliseconds timeout = std::chrono::seconds(1)) const;
  /// Writes the liveness register and reads it back.
  [[nodiscard]] std::uint32_t liveness(std::uint32_t value) const noexcept;
  /// The PCI address.
  [[nodiscard]] const std::string& bdf() const noexcept { return bdf_; }

 private:
  RawMmio() = default;
  edu::drv::UniqueFd fd_;
  volatile std::uint32_t* regs_ = nullptr;
  std::size_t length_ = 0;
  std::string bdf_;
};

}  // namespace edubench
