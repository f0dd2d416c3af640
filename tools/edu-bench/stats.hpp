/// @file edu-bench/stats.hpp
/// @brief Sample statistics of edu-bench: percentiles and summaries.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

namespace edubench {

/// Summary of a sample set. Every field but count is NaN (JSON null) when
/// count == 0; stddev is NaN when count < 2.
struct Summary {
  std::size_t count = 0;  ///< number of samples
  double min = 0;         ///< smallest sample
  double max = 0;         ///< largest sample
  double mean = 0;        ///< arithmetic mean
  double stddev = 0;      ///< sample standard deviation (n - 1)
  double p50 = 0;         ///< median
  double p90 = 0;         ///< 90th percentile
  double p99 = 0;         ///< 99th percentile
  double iqr = 0;         ///< interquartile range p75 - p25
  double cv = 0;          ///< coefficient of variation stddev / mean
};

/// The @p p-th percentile (0..100) of ascending @p sorted samples, linearly
/// interpolated between the closest ranks (numpy's default, Hyndman-Fan type
/// 7): rank = p/100 * (n - 1). NaN for no samples; p is clamped to [0, 100].
[[nodiscard]] double percentile(std::span<const double> sorted, double p) noexcept;

/// Summarises @p samples (any order).
[[nodiscard]] Summary summarize(std::vector<double> samples);

/// @p v as a JSON number, or null if it is NaN or infinite.
[[nodiscard]] nlohmann::json number_or_null(double v);

/// {"count", "min", "max", "mean", "stddev", "p50", "p90", "p99", "iqr", "cv"};
/// undefined values are null.
[[nodiscard]] nlohmann::json to_json(const Summary& s);

}  // namespace edubench
