// Helpers of the in-guest libedu/eductl tests (edu-lib-tests): data
// patterns and CRC32, environment overrides, temporary files, running
// eductl as a subprocess, and what sysfs says about the devices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace edulibtest {

namespace fs = std::filesystem;

/// @p n pseudo-random bytes, different for each @p seed.
[[nodiscard]] std::vector<std::byte> pattern(std::size_t n, std::uint32_t seed);

/// CRC-32 (IEEE 802.3, as zlib's crc32()).
[[nodiscard]] std::uint32_t crc32(std::span<const std::byte> data);

/// Sets (or, with nullopt, unsets) an environment variable for the scope.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::optional<std::string>& value);
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv();

 private:
  std::string name_;
  std::optional<std::string> old_;
};

/// A temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& p, std::span<const std::byte> data);
[[nodiscard]] std::vector<std::byte> read_file(const fs::path& p);

/// Result of a subprocess.
struct ProcessResult {
  int status = -1;  ///< exit status; 128 + signal if killed; -1 if not started
  std::string out;  ///< its stdout
  std::string err;  ///< its stderr
};

/// Runs @p argv (argv[0] looked up in PATH) with @p env set on top of this
/// process's environment (a value of nullopt unsets the variable), @p input
/// on its stdin, and collects stdout/stderr.
[[nodiscard]] ProcessResult run_process(
    const std::vector<std::string>& argv,
    const std::map<std::string, std::optional<std::string>>& env = {},
    const std::string& input = {});

/// The eductl program: next to this test binary if there, else "eductl".
[[nodiscard]] std::string eductl();

/// One device as sysfs shows it (read directly, not through libedu).
struct SysfsDevice {
  unsigned index = 0;       ///< N of eduN
  std::string pci_address;  ///< target of the `device` link
  std::string irq_mode;     ///< `irq_mode`
  std::uint32_t dma_window = 0;
};

/// /sys/class/edu/edu*, sorted by index.
[[nodiscard]] std::vector<SysfsDevice> sysfs_devices();

/// EDU_EXPECTED_DEVICES if the scenario sets it.
[[nodiscard]] std::optional<unsigned> expected_device_count();

}  // namespace edulibtest
