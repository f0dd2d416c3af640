#include "edu-bench/stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace edubench {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

double percentile(std::span<const double> sorted, double p) noexcept {
  if (sorted.empty()) return kNaN;
  p = std::clamp(p, 0.0, 100.0);
  const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

Summary summarize(std::vector<double> samples) {
  Summary s;
  s.count = samples.size();
  if (samples.empty()) {
    s.min = s.max = s.mean = s.stddev = s.p50 = s.p90 = s.p99 = s.iqr = s.cv = kNaN;
    return s;
  }
  std::sort(samples.begin(), samples.end());
  const auto n = static_cast<double>(samples.size());
  s.min = samples.front();
  s.max = samples.back();
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / n;
  if (samples.size() >= 2) {
    double sq = 0;
    for (double v : samples)
      sq += (v - s.mean) * (v - s.mean);
    s.stddev = std::sqrt(sq / (n - 1));
  } else {
    s.stddev = kNaN;
  }
  s.p50 = percentile(samples, 50);
  s.p90 = percentile(samples, 90);
  s.p99 = percentile(samples, 99);
  s.iqr = percentile(samples, 75) - percentile(samples, 25);
  s.cv = s.mean != 0 ? s.stddev / s.mean : kNaN;
  return s;
}

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::json to_json(const Summary& s) {
  return nlohmann::json{{"count", s.count},
                        {"min", number_or_null(s.min)},
                        {"max", number_or_null(s.max)},
                        {"mean", number_or_null(s.mean)},
                        {"stddev", number_or_null(s.stddev)},
                        {"p50", number_or_null(s.p50)},
                        {"p90", number_or_null(s.p90)},
                        {"p99", number_or_null(s.p99)},
                        {"iqr", number_or_null(s.iqr)},
                        {"cv", number_or_null(s.cv)}};
}

}  // namespace edubench
