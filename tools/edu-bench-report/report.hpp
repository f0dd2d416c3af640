/// @file edu-bench-report/report.hpp
/// @brief Host-side analysis of an edu-bench JSON document (schema
/// "edu-bench/1", docs/cpp-api.md): shape validation, the figures and
/// targets of the benchmark, and their Markdown / plain-text rendering.
///
/// Nothing here asserts times: the targets are evaluated and reported, met
/// or not; only a malformed document is an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edubench::report {

/// The schema this renderer understands.
inline constexpr const char* kSchema = "edu-bench/1";

/// Target thresholds (docs: README "Benchmarks").
inline constexpr double kDmaRatioTarget = 0.99;     ///< DMA path >= 0.99 of the device limit
inline constexpr unsigned kScalingDevices = 4;      ///< scaling measured at 4 devices ...
inline constexpr double kScalingTarget = 3.9;       ///< ... >= 3.9x one device
inline constexpr double kLatencyRatioTarget = 1.2;  ///< best driver p50 <= 1.2x raw MMIO
inline constexpr const char* kRawBaseline = "raw_mmio_spin";  ///< raw factorial series

/// Shape problems of @p doc (empty: valid). Each is "<JSON pointer>: <what>".
/// Checks: required top-level keys and sections (every section listed in
/// options.sections must have results; the raw MMIO series must exist when
/// options.raw_device is set), every number finite, every sample set
/// non-empty with summary count > 0, and no recorded bench errors.
[[nodiscard]] std::vector<std::string> check_document(const nlohmann::json& doc);

/// Spread of one sample set, from its summary_ns (ns).
struct Spread {
  std::size_t count = 0;  ///< samples the summary is over (samples_total)
  double min = 0;         ///< fastest
  double p50 = 0;         ///< median
  double p90 = 0;         ///< 90th percentile
  double p99 = 0;         ///< 99th percentile
  double max = 0;         ///< slowest
  double iqr = 0;         ///< p75 - p25
  double cv = 0;          ///< stddev / mean (NaN if undefined)
};

/// One DMA throughput series (results.dma[]).
struct DmaRow {
  std::string path;                        ///< read_write, staging, pinned, pinned_heap
  std::string direction;                   ///< to_device, from_device, loopback
  std::string buffer;                      ///< buffer kind (driver_coherent, thp, heap, "")
  std::optional<bool> contiguous;          ///< buffer physically contiguous, if known
  Spread spread;                           ///< operation durations
  std::uint64_t engine_bytes = 0;          ///< bytes the engine moves per operation
  double limit = 0;                        ///< device limit, B/s
  double engine_bps = 0;                   ///< engine B/s at the median
  double ratio = 0;                        ///< engine_bps / limit (median)
  double ratio_low = 0;                    ///< ratio at the slowest sample
  double ratio_high = 0;                   ///< ratio at the fastest sample
  double transfers_min = 0;                ///< minimum device transfers per operation
  std::optional<double> transfers_actual;  ///< what the driver counted
  /// True for the paths the 0.99 target is about (read_write, staging, pinned).
  [[nodiscard]] bool is_target() const;
};

/// One scaling entry (results.scaling.entries[]).
struct ScalingRow {
  unsigned devices = 0;          ///< devices in parallel
  Spread spread;                 ///< round durations
  double speedup = 0;            ///< payload rate / the 1-device payload rate (medians)
  double speedup_low = 0;        ///< at this entry's slowest round vs the 1-device median
  double speedup_high = 0;       ///< at this entry's fastest round vs the 1-device median
  double ratio = 0;              ///< engine rate / (devices x limit)
  std::optional<bool> verified;  ///< data came back intact
};

/// One latency series (results.latency.series[]).
struct LatencyRow {
  std::string operation;             ///< factorial, liveness
  std::string mode;                  ///< irq, poll, hybrid, default, async_poll, none, raw_*
  Spread spread;                     ///< per-operation latency
  std::optional<double> p50_vs_raw;  ///< p50 / raw baseline p50
  std::optional<double> p99_vs_raw;  ///< p99 / raw baseline p99
  [[nodiscard]] bool is_raw() const { return mode.rfind("raw_mmio", 0) == 0; }
};

/// One contention entry (results.contention.entries[]).
struct ContentionRow {
  unsigned threads = 0;              ///< threads on one device
  Spread spread;                     ///< per-operation latency
  double ops_per_second = 0;         ///< all threads together
  double vs_first = 0;               ///< ops_per_second / that of the first entry
  std::uint64_t operations = 0;      ///< operations measured
  std::uint64_t per_thread_min = 0;  ///< fairness: fewest operations of one thread
  std::uint64_t per_thread_max = 0;  ///< fairness: most operations of one thread
};

/// A target and how the run did against it.
struct Target {
  std::string name;             ///< what is measured
  std::string short_name;       ///< the same, short, for the plain-text table
  std::string requirement;      ///< e.g. ">= 0.99"
  std::optional<double> value;  ///< measured (nullopt: not measured)
  std::optional<bool> met;      ///< nullopt: not measured / informational
  std::string detail;           ///< how the value was obtained
};

/// Everything the renderers need.
struct Report {
  std::string started_at;                 ///< ISO time of the run
  std::string host;                       ///< guest kernel and machine
  std::string clocksource;                ///< guest clocksource the samples were taken with
  std::string accelerator;                ///< QEMU's accelerator (tcg, kvm) as the guest was told
  std::string thp;                        ///< THP setting during the run
  double duration_s = 0;                  ///< bench run time
  std::size_t devices = 0;                ///< driver devices
  std::string raw_device;                 ///< raw MMIO baseline device ("" if none)
  bool smoke = false;                     ///< --smoke run
  std::vector<DmaRow> dma;                ///< DMA series
  std::vector<ScalingRow> scaling;        ///< scaling entries
  std::vector<LatencyRow> latency;        ///< latency series
  std::vector<ContentionRow> contention;  ///< contention entries
  std::vector<Target> targets;            ///< targets, evaluated
  std::vector<std::string> skipped;       ///< "section: reason"
  std::vector<std::string> errors;        ///< "section: message"
  std::vector<std::string> notes;         ///< extra lines about the run (--note)
};

/// Extracts the figures and evaluates the targets. Tolerates missing parts
/// (they are simply absent from the report); run check_document() for shape.
[[nodiscard]] Report analyse(const nlohmann::json& doc);

/// A figure: PNG file name (relative to the output directory) and caption.
struct Figure {
  std::string file;     ///< e.g. "dma_throughput.png"
  std::string title;    ///< plot title
  std::string caption;  ///< one sentence for report.md
};

/// The figures render_plots() produces for @p r (only those with data).
[[nodiscard]] std::vector<Figure> figures(const Report& r);

/// report.md: run description, targets, one table per section (sample
/// counts and spread), the figures in @p figs, skips and errors.
[[nodiscard]] std::string markdown(const Report& r, const std::vector<Figure>& figs);

/// The plain-text summary table printed to stdout.
[[nodiscard]] std::string summary_table(const Report& r);

/// Gnuplot data files and script for the figures of @p r.
struct PlotFiles {
  std::vector<std::pair<std::string, std::string>> data;  ///< (file name, contents)
  std::string script;                                     ///< gnuplot script
};

/// Builds the gnuplot input: @p terminal is "pngcairo" or "png"; data files
/// are referenced relative to @p data_dir, images written to @p out_dir.
[[nodiscard]] PlotFiles plot_files(const Report& r, const std::string& terminal,
                                   const std::string& data_dir, const std::string& out_dir);

/// Formats a ratio / number for tables ("0.997", "n/a").
[[nodiscard]] std::string fmt_ratio(std::optional<double> v);

}  // namespace edubench::report
