/// @file edu/discovery.hpp
/// @brief Device discovery through sysfs (/sys/class/edu/eduN/).
///
/// Discovery only reads sysfs; it never opens a device node, so it works
/// without access rights to /dev/eduN. The sysfs and /dev roots are
/// injectable, which lets tests run against a fake tree in a temporary
/// directory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edu/types.hpp"

namespace edu {

/// Name of the environment variable restricting the visible devices: a
/// comma-separated list of /dev/eduN indices (like CUDA_VISIBLE_DEVICES).
/// Unset: all devices are visible. Set but empty: none is. The list order is
/// the ordinal order of the runtime (ordinal 0 = first listed index);
/// indices that do not exist are ignored; duplicates count once.
inline constexpr std::string_view kVisibleDevicesEnv = "EDU_VISIBLE_DEVICES";
/// Environment variable overriding the sysfs root "/sys" (for tests).
inline constexpr std::string_view kSysfsRootEnv = "EDU_SYSFS_ROOT";
/// Environment variable overriding the device-node directory "/dev" (for tests).
inline constexpr std::string_view kDevRootEnv = "EDU_DEV_ROOT";

/// What sysfs says about one device.
struct DeviceInfo {
  unsigned index = 0;                   ///< N of eduN
  std::string name;                     ///< "eduN"
  std::filesystem::path sysfs_path;     ///< <sysfs_root>/class/edu/eduN
  std::filesystem::path dev_path;       ///< <dev_root>/eduN
  std::uint32_t id_register = 0;        ///< `id_register` (required)
  std::string version;                  ///< `version`, e.g. "1.0" (empty if absent)
  IrqMode irq_mode = IrqMode::unknown;  ///< `irq_mode`
  std::uint32_t dma_mask_bits = 0;      ///< `dma_mask_bits` (0 if absent)
  std::uint32_t dma_window = 0;         ///< `dma_window` (required)
  std::string pci_address;              ///< target name of the `device` link, e.g. "0000:00:04.0"
  Counters counters;                    ///< counter attributes (0 where absent)
};

/// Where and what to discover.
struct DiscoveryOptions {
  std::filesystem::path sysfs_root = "/sys";  ///< sysfs mount point
  std::filesystem::path dev_root = "/dev";    ///< directory of the eduN nodes
  /// Visible-device filter in EDU_VISIBLE_DEVICES syntax; nullopt = no filter.
  std::optional<std::string> visible_devices;

  /// Options from the process environment: EDU_VISIBLE_DEVICES, and the test
  /// overrides EDU_SYSFS_ROOT / EDU_DEV_ROOT.
  [[nodiscard]] static DiscoveryOptions from_environment();
};

/// Result of discover().
struct Discovery {
  std::vector<DeviceInfo> visible;    ///< visible devices in ordinal order
  std::size_t present = 0;            ///< devices present before filtering
  std::optional<std::string> filter;  ///< the filter applied, if any
};

/// Lists all devices under <sysfs_root>/class/edu, sorted by index, unfiltered.
/// A missing class directory means "no devices" (driver not loaded), not an error.
/// Throws edu::Error (errc::bad_sysfs) if a device's required attributes are unreadable.
[[nodiscard]] std::vector<DeviceInfo> list_devices(const DiscoveryOptions& options = {});

/// Lists the visible devices: list_devices() filtered and ordered by
/// options.visible_devices. Throws errc::bad_visible_devices on a malformed filter.
[[nodiscard]] Discovery discover(const DiscoveryOptions& options);

/// Reads one device directory (<sysfs_root>/class/edu/eduN). @p dev_root is
/// where its node lives.
[[nodiscard]] DeviceInfo read_device_info(const std::filesystem::path& sysfs_dir,
                                          const std::filesystem::path& dev_root = "/dev");

/// Re-reads only the counter attributes of a device directory.
[[nodiscard]] Counters read_counters(const std::filesystem::path& sysfs_dir);

/// Parses an EDU_VISIBLE_DEVICES value: comma-separated decimal indices,
/// whitespace around items allowed, duplicates dropped (first occurrence
/// kept). "" yields an empty list. Throws edu::Error (errc::bad_visible_devices)
/// on anything else, e.g. "0,,1", "a", "-1".
[[nodiscard]] std::vector<unsigned> parse_visible_devices(std::string_view text);

/// Parses an unsigned sysfs number ("4095\n", "0x010000ed"); nullopt if malformed.
[[nodiscard]] std::optional<std::uint64_t> parse_sysfs_number(std::string_view text) noexcept;

}  // namespace edu
