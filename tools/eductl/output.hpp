/// @file eductl/output.hpp
/// @brief eductl output: JSON documents (stable keys, docs/eductl-json.md),
/// human-readable text, error lines and exit codes, the progress bar.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "edu/discovery.hpp"
#include "edu/driver.hpp"
#include "edu/types.hpp"
#include "eductl/cli.hpp"

namespace eductl {

/// Version of the JSON schema; bumped on incompatible changes.
inline constexpr int kJsonSchemaVersion = 1;

/// An error, split for the one-line message and the JSON "error" object.
struct ErrorReport {
  std::string what;     ///< what was attempted, e.g. "open /dev/edu0"
  std::string why;      ///< the reason, e.g. "No such file or directory"
  std::string hint;     ///< what to do; may be empty
  std::string code;     ///< symbolic code: "ENOENT", or "edu:no_device"
  int errno_value = 0;  ///< the errno, 0 for non-errno errors
  int exit_code = 1;    ///< Exit class of the error
};

/// Classifies an exception. edu::Error: exit_code_for(code); any other
/// std::system_error (the user's files): 4 for EACCES/EPERM, else 1; other
/// exceptions: 1.
[[nodiscard]] ErrorReport classify(const std::exception& e);
/// Exit code for an error code: no_device class 3, permission 4, timeout 5,
/// argument errors 2, everything else 1.
[[nodiscard]] int exit_code_for(const std::error_code& ec) noexcept;
/// "eductl: <what>: <why> — <hint>" (no " — <hint>" when the hint is empty).
[[nodiscard]] std::string error_line(const ErrorReport& r);
/// {"error": {...}} document for --json.
[[nodiscard]] nlohmann::json error_json(const ErrorReport& r, Verb verb);

/// Common envelope: {"schema": 1, "command": "<verb>"}.
[[nodiscard]] nlohmann::json envelope(Verb verb);
/// The "counters" object.
[[nodiscard]] nlohmann::json counters_json(const edu::Counters& c);
/// A device as listed by sysfs (list entries, base of "device" in info).
[[nodiscard]] nlohmann::json device_json(const edu::DeviceInfo& info);
/// The "identity" object (EDU_IOC_IDENTIFY).
[[nodiscard]] nlohmann::json identity_json(const edu::drv::Identity& id);

/// Text form of `list`.
[[nodiscard]] std::string list_text(std::span<const edu::DeviceInfo> devices, std::size_t present,
                                    const std::optional<std::string>& filter);
/// Text form of `info`.
[[nodiscard]] std::string info_text(const edu::DeviceInfo& info, const edu::drv::Identity& id);
/// Text form of counters (`stats`).
[[nodiscard]] std::string counters_text(const edu::Counters& c);

/// Lower-case hex dump string of @p bytes (2 digits per byte, no separators).
[[nodiscard]] std::string to_hex(std::span<const std::byte> bytes);
/// "0x" + 8 lower-case hex digits.
[[nodiscard]] std::string hex32(std::uint32_t v);

/// Human-readable byte count: "512 B", "4.0 KiB", "1.5 MiB", "2.0 GiB".
[[nodiscard]] std::string format_bytes(double bytes);
/// Duration as "M:SS" or "H:MM:SS".
[[nodiscard]] std::string format_duration(std::chrono::seconds s);
/// One progress line (no newline, starts with '\r'):
/// "\r[=====>      ]  45%  1.2 MiB / 2.7 MiB  40.0 KiB/s  ETA 0:37".
/// Without @p total: "\r  1.2 MiB  40.0 KiB/s". @p width = bar cells.
[[nodiscard]] std::string format_progress(std::uint64_t done, std::optional<std::uint64_t> total,
                                          std::chrono::duration<double> elapsed, int width = 30);

}  // namespace eductl
