/// @file edu-bench/options.hpp
/// @brief edu-bench command line.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edubench {

/// A part of the benchmark.
enum class Section {
  dma,         ///< DMA throughput per path vs the device limit
  scaling,     ///< pinned loopback on 1..N devices in parallel
  latency,     ///< factorial / liveness latency per wait mode (+ raw MMIO if --raw-device)
  contention,  ///< 1, 2, 4, 8 threads on one device
};

/// "dma", "scaling", "latency", "contention".
[[nodiscard]] const char* to_string(Section s) noexcept;

/// What to measure and how much.
struct BenchOptions {
  bool smoke = false;              ///< --smoke: tiny counts, finishes in seconds
  std::optional<unsigned> device;  ///< --device N: device for single-device parts
  std::set<Section> sections = {Section::dma, Section::scaling, Section::latency,
                                Section::contention};  ///< --sections
  std::size_t dma_samples = 10;        ///< --dma-samples: transfers per path/direction
  std::size_t loopback_windows = 4;    ///< --loopback-windows: payload of a loopback
  unsigned max_devices = 4;            ///< --max-devices for scaling
  std::size_t latency_samples = 1000;  ///< --latency-samples per series
  std::size_t latency_rounds = 10;     ///< --latency-rounds: interleaved rounds of the series
  std::size_t warmup = 10;             ///< --warmup operations before each series
  std::uint32_t factorial_n = 5;       ///< --factorial-n (small n)
  std::chrono::milliseconds contention_duration{2000};  ///< --contention-ms per thread count
  std::vector<unsigned> thread_counts = {1, 2, 4, 8};   ///< --threads
  std::size_t max_raw_samples = 20000;                  ///< cap on raw samples stored per series
  std::optional<std::string> raw_device;                ///< --raw-device BDF (unbound edu device)
  std::string output = "-";                             ///< --output FILE ("-" = stdout)
};

/// Result of parsing.
struct ParseResult {
  std::optional<BenchOptions> options;  ///< set when the benchmark should run
  int exit_code = 0;                    ///< otherwise: 0 after --help, 2 on usage errors
};

/// Parses @p args (without the program name). --smoke sets small defaults
/// that explicit options still override.
[[nodiscard]] ParseResult parse_bench_args(const std::vector<std::string>& args, std::ostream& out,
                                           std::ostream& err);

/// The options as JSON (recorded in the output for reproducibility).
[[nodiscard]] nlohmann::json to_json(const BenchOptions& o);

/// Normalises a PCI address: "00:04.0" -> "0000:00:04.0"; nullopt if malformed.
[[nodiscard]] std::optional<std::string> normalize_bdf(const std::string& text);

}  // namespace edubench
