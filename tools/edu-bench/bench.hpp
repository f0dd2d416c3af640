/// @file edu-bench/bench.hpp
/// @brief The edu-bench sections and the JSON document they produce.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edu-bench/options.hpp"
#include "edu/discovery.hpp"

namespace edubench {

/// Identifier of the output format ("schema" key).
inline constexpr const char* kSchema = "edu-bench/1";

/// Device limit in bytes per second per direction: one transfer of
/// @p dma_window bytes per kDmaTransferTime (100 ms).
[[nodiscard]] double device_limit_bytes_per_second(std::uint32_t dma_window) noexcept;

/// At most @p max of @p samples, evenly strided (order kept).
[[nodiscard]] std::vector<std::int64_t> cap_samples(const std::vector<std::int64_t>& samples,
                                                    std::size_t max);

/// One throughput series: the raw per-operation durations plus summary,
/// payload and engine throughput (bytes / median duration) and the ratio of
/// the engine throughput to the device limit.
[[nodiscard]] nlohmann::json throughput_json(const std::string& path, const std::string& direction,
                                             std::uint64_t payload_bytes,
                                             std::uint64_t engine_bytes, std::uint32_t dma_window,
                                             const std::vector<std::int64_t>& samples_ns,
                                             std::size_t max_raw);

/// One latency series: raw samples and summary, in ns.
[[nodiscard]] nlohmann::json latency_json(const std::string& operation,
                                          const std::string& wait_mode,
                                          const std::vector<std::int64_t>& samples_ns,
                                          std::size_t max_raw);

/// The "definitions" object: what every key and unit of the document means.
[[nodiscard]] nlohmann::json definitions();

/// Result of run_bench().
// NOLINTNEXTLINE(bugprone-exception-escape): its implicit moves are nlohmann::json's, noexcept
struct BenchReport {
  nlohmann::json document;  ///< the output document
  int exit_code = 0;        ///< 0 ok, 1 a section failed, 3 no device (and no raw device)
};

/// Runs the selected sections against the devices found with @p discovery.
[[nodiscard]] BenchReport run_bench(const BenchOptions& options,
                                    const edu::DiscoveryOptions& discovery);

}  // namespace edubench
