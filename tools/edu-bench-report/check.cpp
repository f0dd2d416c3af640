// check_document(): the shape of an edu-bench/1 document.
#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "edu-bench-report/report.hpp"

namespace edubench::report {

using nlohmann::json;

namespace {

/// Collects problems, each prefixed by the JSON pointer where it was found.
class Checker {
 public:
  std::vector<std::string> problems;

  void problem(const std::string& at, const std::string& what) {
    problems.push_back((at.empty() ? "/" : at) + ": " + what);
  }

  /// @p obj[@p key] if present and of the wanted kind, else nullptr (and a problem).
  const json* member(const json& obj, const std::string& at, const std::string& key,
                     json::value_t kind) {
    const std::string p = at + "/" + key;
    if (!obj.is_object() || !obj.contains(key)) {
      problem(p, "missing");
      return nullptr;
    }
    const json& v = obj.at(key);
    const bool ok = kind == json::value_t::number_float ? v.is_number() : v.type() == kind;
    if (!ok) {
      problem(p, fmt::format("expected {}, got {}", kind_name(kind), v.type_name()));
      return nullptr;
    }
    return &v;
  }

  const json* object(const json& obj, const std::string& at, const std::string& key) {
    return member(obj, at, key, json::value_t::object);
  }
  const json* array(const json& obj, const std::string& at, const std::string& key) {
    return member(obj, at, key, json::value_t::array);
  }
  const json* string(const json& obj, const std::string& at, const std::string& key) {
    return member(obj, at, key, json::value_t::string);
  }

  /// A finite number, optionally > 0 or >= 0.
  std::optional<double> number(const json& obj, const std::string& at, const std::string& key,
                               double min = -HUGE_VAL, bool strict = false) {
    const json* v = member(obj, at, key, json::value_t::number_float);
    if (v == nullptr) return std::nullopt;
    const double d = v->get<double>();
    if (!std::isfinite(d)) {
      problem(at + "/" + key, "not a finite number");
      return std::nullopt;
    }
    if (strict ? !(d > min) : !(d >= min)) {
      problem(at + "/" + key,
              fmt::format("{} is out of range (must be {} {})", d, strict ? ">" : ">=", min));
      return std::nullopt;
    }
    return d;
  }

  /// samples_ns (non-empty, finite, >= 0), samples_total (> 0) and summary_ns.
  void samples(const json& series, const std::string& at) {
    if (const json* s = array(series, at, "samples_ns")) {
      if (s->empty()) problem(at + "/samples_ns", "no samples");
      for (std::size_t i = 0; i < s->size(); ++i) {
        const json& v = (*s)[i];
        if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0) {
          problem(fmt::format("{}/samples_ns/{}", at, i), "not a finite non-negative number");
          break;  // one is enough
        }
      }
    }
    // samples_total (all samples, when samples_ns is subsampled) is optional.
    if (series.is_object() && series.contains("samples_total"))
      (void)number(series, at, "samples_total", 0, true);
    summary(series, at);
  }

  void summary(const json& series, const std::string& at) {
    const json* s = object(series, at, "summary_ns");
    if (s == nullptr) return;
    const std::string p = at + "/summary_ns";
    const auto count = number(*s, p, "count", 0, true);
    for (const char* k : {"min", "max", "mean", "p50", "p90", "p99", "iqr"})
      (void)number(*s, p, k, 0);
    // stddev and cv are undefined (null) for a single sample.
    for (const char* k : {"stddev", "cv"}) {
      if (count && *count < 2 && s->contains(k) && (*s)[k].is_null()) continue;
      (void)number(*s, p, k, 0);
    }
  }

 private:
  static const char* kind_name(json::value_t k) {
    switch (k) {
      case json::value_t::object:
        return "object";
      case json::value_t::array:
        return "array";
      case json::value_t::string:
        return "string";
      case json::value_t::boolean:
        return "boolean";
      default:
        return "number";
    }
  }
};

void check_dma(Checker& c, const json& dma, const std::string& at) {
  if (!dma.is_array()) return c.problem(at, "expected an array of series");
  if (dma.empty()) c.problem(at, "no series");
  for (std::size_t i = 0; i < dma.size(); ++i) {
    const std::string p = fmt::format("{}/{}", at, i);
    const json& e = dma[i];
    (void)c.string(e, p, "path");
    (void)c.string(e, p, "direction");
    for (const char* k : {"payload_bytes_per_op", "engine_bytes_per_op", "limit_bytes_per_second",
                          "payload_bytes_per_second", "engine_bytes_per_second", "ratio_to_limit",
                          "dma_transfers_per_op"})
      (void)c.number(e, p, k, 0, true);
    if (e.contains("device_dma_ops_per_op")) (void)c.number(e, p, "device_dma_ops_per_op", 0);
    c.samples(e, p);
  }
}

void check_scaling(Checker& c, const json& scaling, const std::string& at) {
  const json* entries = c.array(scaling, at, "entries");
  if (entries == nullptr) return;
  if (entries->empty()) c.problem(at + "/entries", "no entries");
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const std::string p = fmt::format("{}/entries/{}", at, i);
    const json& e = (*entries)[i];
    (void)c.number(e, p, "devices", 1);
    for (const char* k :
         {"payload_bytes_per_device", "limit_bytes_per_second", "engine_bytes_per_second",
          "payload_bytes_per_second", "ratio_to_limit", "speedup_vs_1_device"})
      (void)c.number(e, p, k, 0, true);
    c.samples(e, p);
  }
}

void check_latency(Checker& c, const json& latency, const std::string& at, bool want_raw) {
  const json* series = c.array(latency, at, "series");
  if (series != nullptr) {
    if (series->empty()) c.problem(at + "/series", "no series");
    bool raw = false;
    for (std::size_t i = 0; i < series->size(); ++i) {
      const std::string p = fmt::format("{}/series/{}", at, i);
      const json& e = (*series)[i];
      (void)c.string(e, p, "operation");
      if (const json* m = c.string(e, p, "wait_mode"))
        raw = raw || m->get<std::string>() == kRawBaseline;
      c.samples(e, p);
    }
    if (want_raw && !raw)
      c.problem(at + "/series", std::string("options.raw_device is set but there is no ") +
                                    kRawBaseline + " series");
  }
  const json* ratios = c.array(latency, at, "vs_raw_mmio");
  if (ratios == nullptr) return;
  if (want_raw && ratios->empty()) c.problem(at + "/vs_raw_mmio", "no ratios to the raw baseline");
  for (std::size_t i = 0; i < ratios->size(); ++i) {
    const std::string p = fmt::format("{}/vs_raw_mmio/{}", at, i);
    (void)c.string((*ratios)[i], p, "wait_mode");
    (void)c.number((*ratios)[i], p, "p50_ratio", 0, true);
    (void)c.number((*ratios)[i], p, "p99_ratio", 0, true);
  }
}

void check_contention(Checker& c, const json& contention, const std::string& at) {
  const json* entries = c.array(contention, at, "entries");
  if (entries == nullptr) return;
  if (entries->empty()) c.problem(at + "/entries", "no entries");
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const std::string p = fmt::format("{}/entries/{}", at, i);
    const json& e = (*entries)[i];
    (void)c.number(e, p, "threads", 1);
    (void)c.number(e, p, "operations", 0, true);
    (void)c.number(e, p, "ops_per_second", 0, true);
    (void)c.number(e, p, "wall_ns", 0, true);
    (void)c.number(e, p, "throughput_vs_first", 0, true);
    c.samples(e, p);
  }
}

}  // namespace

std::vector<std::string> check_document(const json& doc) {
  Checker c;
  if (!doc.is_object()) {
    c.problem("", "not a JSON object (is this edu-bench output?)");
    return c.problems;
  }
  if (const json* s = c.string(doc, "", "schema"); s != nullptr && *s != kSchema)
    c.problem("/schema", fmt::format(R"("{}" is not "{}")", s->get<std::string>(), kSchema));
  (void)c.object(doc, "", "tool");
  (void)c.object(doc, "", "host");
  (void)c.object(doc, "", "definitions");
  (void)c.number(doc, "", "duration_s", 0);
  const json* options = c.object(doc, "", "options");
  const json* results = c.object(doc, "", "results");
  const json* skipped = c.array(doc, "", "skipped");
  const json* errors = c.array(doc, "", "errors");

  if (const json* devices = c.array(doc, "", "devices")) {
    for (std::size_t i = 0; i < devices->size(); ++i) {
      const std::string p = fmt::format("/devices/{}", i);
      (void)c.number((*devices)[i], p, "index", 0);
      (void)c.number((*devices)[i], p, "dma_window", 0, true);
      (void)c.number((*devices)[i], p, "limit_bytes_per_second", 0, true);
    }
  }
  if (errors != nullptr) {
    for (std::size_t i = 0; i < errors->size(); ++i) {
      const json& e = (*errors)[i];
      c.problem(fmt::format("/errors/{}", i),
                fmt::format("the bench failed in {}: {}", e.value("section", std::string("?")),
                            e.value("message", std::string("?"))));
    }
  }

  std::set<std::string> requested;
  bool want_raw = false;
  if (options != nullptr) {
    if (const json* s = c.array(*options, "/options", "sections")) {
      for (const auto& v : *s)
        if (v.is_string()) requested.insert(v.get<std::string>());
      if (requested.empty()) c.problem("/options/sections", "no section requested");
    }
    want_raw = options->contains("raw_device") && (*options)["raw_device"].is_string() &&
               requested.contains("latency");
  }
  if (results == nullptr) return c.problems;

  for (const std::string& name : requested) {
    if (results->contains(name)) continue;
    std::string why;
    if (skipped != nullptr)
      for (const auto& s : *skipped)
        if (s.value("section", std::string()).rfind(name, 0) == 0)
          why = " (skipped: " + s.value("reason", std::string("?")) + ")";
    c.problem("/results/" + name, "requested in options.sections but missing" + why);
  }
  if (results->contains("dma")) check_dma(c, (*results)["dma"], "/results/dma");
  if (results->contains("scaling")) check_scaling(c, (*results)["scaling"], "/results/scaling");
  if (results->contains("latency"))
    check_latency(c, (*results)["latency"], "/results/latency", want_raw);
  if (results->contains("contention"))
    check_contention(c, (*results)["contention"], "/results/contention");
  return c.problems;
}

}  // namespace edubench::report
