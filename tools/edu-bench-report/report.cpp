// analyse(), markdown(), summary_table(), figures() and plot_files().
#include "edu-bench-report/report.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

namespace edubench::report {

using nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double num(const json& obj, const char* key, double fallback = kNaN) {
  if (!obj.is_object() || !obj.contains(key)) return fallback;
  const json& v = obj.at(key);
  return v.is_number() ? v.get<double>() : fallback;
}

std::string str(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj.at(key).is_string()) return {};
  return obj.at(key).get<std::string>();
}

const json& member(const json& obj, const char* key) {
  static const json kNull;
  return obj.is_object() && obj.contains(key) ? obj.at(key) : kNull;
}

std::optional<double> finite(double v) {
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

Spread spread_of(const json& series) {
  const json& s = member(series, "summary_ns");
  Spread sp;
  const double total = num(series, "samples_total", num(s, "count", 0));
  sp.count = total > 0 ? static_cast<std::size_t>(total) : 0;
  sp.min = num(s, "min");
  sp.p50 = num(s, "p50");
  sp.p90 = num(s, "p90");
  sp.p99 = num(s, "p99");
  sp.max = num(s, "max");
  sp.iqr = num(s, "iqr");
  sp.cv = num(s, "cv");
  return sp;
}

/// Engine throughput of one operation of @p ns nanoseconds, relative to @p limit.
double ratio_at(double engine_bytes, double ns, double limit) {
  if (!(ns > 0) || !(limit > 0)) return kNaN;
  return engine_bytes / (ns / 1e9) / limit;
}

std::string ms(double ns) {
  return std::isfinite(ns) ? fmt::format("{:.3f}", ns / 1e6) : "n/a";
}
std::string us(double ns) {
  return std::isfinite(ns) ? fmt::format("{:.2f}", ns / 1e3) : "n/a";
}
std::string fixed(double v, int digits) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "n/a";
}

std::string status_text(const Target& t) {
  if (!t.met) return t.value ? "info" : "not measured";
  return *t.met ? "met" : "NOT MET";
}

std::string label(const DmaRow& d) {
  return d.path + "/" + d.direction;
}

}  // namespace

bool DmaRow::is_target() const {
  return path == "read_write" || path == "staging" || path == "pinned";
}

std::string fmt_ratio(std::optional<double> v) {
  return v && std::isfinite(*v) ? fmt::format("{:.4f}", *v) : "n/a";
}

Report analyse(const json& doc) {
  Report r;
  r.started_at = str(doc, "started_at");
  const json& host = member(doc, "host");
  r.host =
      fmt::format("{} {} ({})", str(host, "sysname"), str(host, "release"), str(host, "machine"));
  r.thp = str(member(doc, "memory"), "thp_enabled");
  r.clocksource = str(host, "clocksource");
  r.accelerator = str(host, "accelerator");
  r.duration_s = num(doc, "duration_s", 0);
  if (member(doc, "devices").is_array()) r.devices = doc["devices"].size();
  const json& options = member(doc, "options");
  r.raw_device = str(options, "raw_device");
  r.smoke = member(options, "smoke").is_boolean() && options["smoke"].get<bool>();
  const json& results = member(doc, "results");

  // ---- DMA
  if (member(results, "dma").is_array()) {
    for (const json& e : results["dma"]) {
      DmaRow d;
      d.path = str(e, "path");
      d.direction = str(e, "direction");
      const json& buf = member(e, "buffer");
      d.buffer = str(buf, "kind");
      if (member(buf, "physically_contiguous").is_boolean())
        d.contiguous = buf["physically_contiguous"].get<bool>();
      d.spread = spread_of(e);
      d.engine_bytes = static_cast<std::uint64_t>(num(e, "engine_bytes_per_op", 0));
      d.limit = num(e, "limit_bytes_per_second");
      d.engine_bps = num(e, "engine_bytes_per_second");
      d.ratio = num(e, "ratio_to_limit");
      const auto engine = static_cast<double>(d.engine_bytes);
      d.ratio_low = ratio_at(engine, d.spread.max, d.limit);
      d.ratio_high = ratio_at(engine, d.spread.min, d.limit);
      d.transfers_min = num(e, "dma_transfers_per_op");
      d.transfers_actual = finite(num(e, "device_dma_ops_per_op"));
      r.dma.push_back(std::move(d));
    }
  }

  // ---- scaling
  if (member(member(results, "scaling"), "entries").is_array()) {
    double base_p50 = kNaN;
    double base_payload = kNaN;
    for (const json& e : results["scaling"]["entries"]) {
      ScalingRow s;
      s.devices = static_cast<unsigned>(num(e, "devices", 0));
      s.spread = spread_of(e);
      s.speedup = num(e, "speedup_vs_1_device");
      s.ratio = num(e, "ratio_to_limit");
      if (member(e, "verified").is_boolean()) s.verified = e["verified"].get<bool>();
      const double payload = num(e, "payload_bytes_per_device") * s.devices;
      if (s.devices == 1) {
        base_p50 = s.spread.p50;
        base_payload = payload;
      }
      // speedup = (payload_k / t_k) / (payload_1 / t_1): at this entry's
      // slowest and fastest round against the 1-device median.
      const double base_rate = base_payload / base_p50;
      s.speedup_low = payload / s.spread.max / base_rate;
      s.speedup_high = payload / s.spread.min / base_rate;
      r.scaling.push_back(s);
    }
  }

  // ---- latency
  const json& latency = member(results, "latency");
  if (member(latency, "series").is_array()) {
    for (const json& e : latency["series"]) {
      LatencyRow l;
      l.operation = str(e, "operation");
      l.mode = str(e, "wait_mode");
      l.spread = spread_of(e);
      r.latency.push_back(std::move(l));
    }
  }
  if (member(latency, "vs_raw_mmio").is_array()) {
    for (const json& v : latency["vs_raw_mmio"]) {
      for (LatencyRow& l : r.latency) {
        if (l.operation == str(v, "operation") && l.mode == str(v, "wait_mode")) {
          l.p50_vs_raw = finite(num(v, "p50_ratio"));
          l.p99_vs_raw = finite(num(v, "p99_ratio"));
        }
      }
    }
  }

  // ---- contention
  if (member(member(results, "contention"), "entries").is_array()) {
    for (const json& e : results["contention"]["entries"]) {
      ContentionRow c;
      c.threads = static_cast<unsigned>(num(e, "threads", 0));
      c.spread = spread_of(e);
      c.ops_per_second = num(e, "ops_per_second");
      c.vs_first = num(e, "throughput_vs_first");
      c.operations = static_cast<std::uint64_t>(num(e, "operations", 0));
      if (member(e, "ops_per_thread").is_array() && !e["ops_per_thread"].empty()) {
        std::vector<std::uint64_t> per;
        for (const json& v : e["ops_per_thread"])
          if (v.is_number()) per.push_back(v.get<std::uint64_t>());
        if (!per.empty()) {
          c.per_thread_min = *std::min_element(per.begin(), per.end());
          c.per_thread_max = *std::max_element(per.begin(), per.end());
        }
      }
      r.contention.push_back(c);
    }
  }

  for (const json& s : member(doc, "skipped").is_array() ? doc["skipped"] : json::array())
    r.skipped.push_back(str(s, "section") + ": " + str(s, "reason"));
  for (const json& e : member(doc, "errors").is_array() ? doc["errors"] : json::array())
    r.errors.push_back(str(e, "section") + ": " + str(e, "message"));

  // ---- targets
  for (const char* path : {"read_write", "staging", "pinned"}) {
    Target t;
    t.name = fmt::format("DMA path `{}`: engine throughput / device limit", path);
    t.short_name = fmt::format("DMA {} / limit", path);
    t.requirement = fmt::format(">= {:.2f}", kDmaRatioTarget);
    std::string parts;
    for (const DmaRow& d : r.dma) {
      if (d.path != path || !std::isfinite(d.ratio)) continue;
      t.value = t.value ? std::min(*t.value, d.ratio) : d.ratio;
      parts += fmt::format("{}{} {:.4f}", parts.empty() ? "" : ", ", d.direction, d.ratio);
    }
    if (t.value) {
      t.met = *t.value >= kDmaRatioTarget;
      t.detail = "worst direction at the median (" + parts + ")";
    } else {
      t.detail = "not measured";
    }
    r.targets.push_back(t);
  }
  {
    Target t;
    t.name = fmt::format("Scaling: {} devices vs 1 device (pinned loopback)", kScalingDevices);
    t.short_name = fmt::format("scaling {} devices / 1 device", kScalingDevices);
    t.requirement = fmt::format(">= {:.1f}x", kScalingTarget);
    unsigned most = 0;
    for (const ScalingRow& s : r.scaling) {
      most = std::max(most, s.devices);
      if (s.devices == kScalingDevices && std::isfinite(s.speedup)) {
        t.value = s.speedup;
        t.met = s.speedup >= kScalingTarget;
        t.detail =
            fmt::format("payload rate at the median, {} rounds; ideal {}.0x, efficiency {:.1f} %",
                        s.spread.count, kScalingDevices, 100.0 * s.speedup / kScalingDevices);
      }
    }
    if (!t.value) t.detail = fmt::format("not measured: {} device(s) in the scaling section", most);
    r.targets.push_back(t);
  }
  {
    Target t;
    t.name = "Latency: best driver wait mode p50 / raw MMIO loop p50 (factorial)";
    t.short_name = "latency best driver p50 / raw p50";
    t.requirement = fmt::format("<= {:.1f}x", kLatencyRatioTarget);
    const LatencyRow* raw = nullptr;
    for (const LatencyRow& l : r.latency)
      if (l.operation == "factorial" && l.mode == kRawBaseline) raw = &l;
    const LatencyRow* best = nullptr;
    for (const LatencyRow& l : r.latency)
      if (l.operation == "factorial" && !l.is_raw() && std::isfinite(l.spread.p50) &&
          (best == nullptr || l.spread.p50 < best->spread.p50))
        best = &l;
    if (raw != nullptr && best != nullptr && raw->spread.p50 > 0) {
      t.value = best->spread.p50 / raw->spread.p50;
      t.met = *t.value <= kLatencyRatioTarget;
      t.detail = fmt::format("best mode `{}`: p50 {} us vs raw {} us", best->mode,
                             us(best->spread.p50), us(raw->spread.p50));
      // What a system call costs at all under this host: the liveness ioctl
      // (two register accesses, no wait) minus the same two accesses from
      // user space. The driver's own share of the gap is what is left.
      const LatencyRow* live = nullptr;
      const LatencyRow* live_raw = nullptr;
      for (const LatencyRow& l : r.latency) {
        if (l.operation != "liveness" || !std::isfinite(l.spread.p50)) continue;
        (l.is_raw() ? live_raw : live) = &l;
      }
      if (live != nullptr && live_raw != nullptr) {
        const double floor = live->spread.p50 - live_raw->spread.p50;
        const double gap = best->spread.p50 - raw->spread.p50;
        t.detail += fmt::format(
            "; gap {} us, of which the system-call floor (liveness ioctl p50 - raw liveness p50) "
            "is {} us, the driver's own cost {} us",
            us(gap), us(floor), us(gap - floor));
      }
    } else {
      t.detail = raw == nullptr ? "not measured: no raw MMIO baseline (--raw-device)"
                                : "not measured: no driver factorial series";
    }
    r.targets.push_back(t);
  }
  {
    Target t;
    t.name = "Contention flatness: ops/s at N threads / ops/s at 1 thread (one device)";
    t.short_name = "contention min ops/s vs 1 thread";
    t.requirement = "~1.0 (info)";
    std::string parts;
    for (const ContentionRow& c : r.contention) {
      if (!std::isfinite(c.vs_first)) continue;
      t.value = t.value ? std::min(*t.value, c.vs_first) : c.vs_first;
      parts += fmt::format("{}{}: {:.2f}", parts.empty() ? "" : ", ", c.threads, c.vs_first);
    }
    t.detail = t.value ? "lowest over thread counts (" + parts + ")" : "not measured";
    r.targets.push_back(t);
  }
  return r;
}

std::vector<Figure> figures(const Report& r) {
  std::vector<Figure> f;
  if (!r.dma.empty())
    f.push_back({"dma_throughput.png", "DMA throughput per path vs the device limit",
                 "Engine bytes/s at the median operation time divided by the device limit "
                 "(dma_window bytes per 100 ms); bars: median, whiskers: slowest..fastest sample; "
                 "dashed: the 0.99 target."});
  if (!r.scaling.empty())
    f.push_back({"scaling.png", "Scaling over devices",
                 "Pinned loopback on 1..N devices in parallel: payload rate relative to one "
                 "device (median; whiskers: slowest..fastest round), against ideal linear scaling "
                 "and the 3.9x-at-4 target."});
  if (!r.latency.empty())
    f.push_back({"latency.png", "Latency per wait mode vs raw MMIO",
                 "p50 and p99 of one operation per wait mode, and of the raw user-space MMIO "
                 "loop on an unbound device (log scale)."});
  if (!r.contention.empty())
    f.push_back({"contention.png", "Contention on one device",
                 "Threads each with their own open file doing synchronous factorials on one "
                 "device: total operations/s (left) and per-operation p50/p99 latency (right, "
                 "log scale)."});
  return f;
}

std::string markdown(const Report& r, const std::vector<Figure>& figs) {
  std::string m;
  auto figure = [&](const std::string& file) {
    for (const Figure& f : figs)
      if (f.file == file) m += fmt::format("![{}]({})\n\n*{}*\n\n", f.title, f.file, f.caption);
  };
  m += "# edu-bench report\n\n";
  m += fmt::format(
      "Run {} on {} (accelerator: `{}`), {:.1f} s; {} driver device(s); raw MMIO baseline: {}; "
      "guest clocksource: `{}`; transparent huge pages: `{}`.{}\n\n",
      r.started_at.empty() ? "(time unknown)" : r.started_at, r.host,
      r.accelerator.empty() ? "?" : r.accelerator, r.duration_s, r.devices,
      r.raw_device.empty() ? "none" : "`" + r.raw_device + "`",
      r.clocksource.empty() ? "?" : r.clocksource, r.thp.empty() ? "?" : r.thp,
      r.smoke ? " **Smoke run: tiny sample counts, not a measurement.**" : "");
  for (const auto& n : r.notes)
    m += "- " + n + "\n";
  if (!r.notes.empty()) m += "\n";
  m += "Raw samples and the bench's own definitions of every key: `results.json`. In the tables "
       "*n* is the number of samples, spread is the interquartile range (IQR), the min..max "
       "range and the coefficient of variation (CV = stddev / mean). Times are guest wall "
       "time (`steady_clock`) around the system calls. The bench asserts nothing; this report "
       "compares against the targets.\n\n";

  m += "## Targets\n\n| target | requirement | measured | status | how |\n|---|---|---|---|---|\n";
  for (const Target& t : r.targets)
    m += fmt::format("| {} | {} | {} | {} | {} |\n", t.name, t.requirement, fmt_ratio(t.value),
                     t.met ? (*t.met ? "met" : "**NOT MET**") : status_text(t), t.detail);
  m += "\n";

  if (!r.dma.empty()) {
    m += "## DMA throughput per path\n\n";
    figure("dma_throughput.png");
    m += "| path | direction | buffer | n | p50 ms | IQR ms | min..max ms | CV | transfers/op "
         "(driver / minimum) | engine B/s (p50) | ratio to limit (p50) | ratio range |\n"
         "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const DmaRow& d : r.dma) {
      std::string buffer = d.buffer.empty() ? "?" : d.buffer;
      if (d.contiguous) buffer += *d.contiguous ? " (contiguous)" : " (not contiguous)";
      m += fmt::format(
          "| {} | {} | {} | {} | {} | {} | {}..{} | {} | {} / {} | {} | {} | {}..{} |\n", d.path,
          d.direction, buffer, d.spread.count, ms(d.spread.p50), ms(d.spread.iqr), ms(d.spread.min),
          ms(d.spread.max), fixed(d.spread.cv, 4),
          d.transfers_actual ? fixed(*d.transfers_actual, 2) : "n/a", fixed(d.transfers_min, 0),
          fixed(d.engine_bps, 0), fmt_ratio(d.ratio), fixed(d.ratio_low, 4),
          fixed(d.ratio_high, 4));
    }
    m += "\nThe limit is one `dma_window` (4095 bytes) per 100 ms per device, whatever the "
         "direction; a loopback moves every payload byte twice (engine bytes = 2 x payload). "
         "`pinned` uses 2 MiB-aligned `MADV_HUGEPAGE` buffers (physically contiguous with "
         "transparent huge pages: one device transfer per window); `pinned_heap` is the same "
         "ioctl on ordinary heap buffers for reference: without an IOMMU a window that "
         "straddles two non-adjacent 4 KiB pages costs two 100 ms transfers. Ratios slightly "
         "above 1 are timing noise between the guest clock and QEMU's DMA timer.\n\n";
  }

  if (!r.scaling.empty()) {
    m += "## Scaling over devices\n\n";
    figure("scaling.png");
    m += "| devices | n | p50 ms | IQR ms | min..max ms | CV | speedup vs 1 (p50) | speedup "
         "range | ideal | efficiency | ratio to limit | data verified |\n"
         "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const ScalingRow& s : r.scaling)
      m += fmt::format(
          "| {} | {} | {} | {} | {}..{} | {} | {} | {}..{} | {}.0 | {} % | {} | {} |\n", s.devices,
          s.spread.count, ms(s.spread.p50), ms(s.spread.iqr), ms(s.spread.min), ms(s.spread.max),
          fixed(s.spread.cv, 4), fixed(s.speedup, 3), fixed(s.speedup_low, 3),
          fixed(s.speedup_high, 3), s.devices, fixed(100.0 * s.speedup / s.devices, 1),
          fmt_ratio(s.ratio), s.verified ? (*s.verified ? "yes" : "**no**") : "?");
    m += "\n";
  }

  if (!r.latency.empty()) {
    m += "## Latency per wait mode\n\n";
    figure("latency.png");
    m += "| operation | wait mode | n | p50 us | p90 us | p99 us | IQR us | min..max us | CV | "
         "p50 / raw | p99 / raw |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const LatencyRow& l : r.latency)
      m += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {}..{} | {} | {} | {} |\n",
                       l.operation, l.is_raw() ? "**" + l.mode + "**" : l.mode, l.spread.count,
                       us(l.spread.p50), us(l.spread.p90), us(l.spread.p99), us(l.spread.iqr),
                       us(l.spread.min), us(l.spread.max), fixed(l.spread.cv, 3),
                       fmt_ratio(l.p50_vs_raw), fmt_ratio(l.p99_vs_raw));
    m += "\n`raw_mmio_spin`/`raw_mmio`: user space maps BAR0 of an edu device that is not bound "
         "to the driver (sysfs `resource0`) and spins on the status register: the floor any "
         "driver path is compared with.\n\n";
  }

  if (!r.contention.empty()) {
    m += "## Contention on one device\n\n";
    figure("contention.png");
    m += "| threads | operations | ops/s | vs first | p50 us | p99 us | IQR us | max us | "
         "ops per thread (min..max) |\n|---|---|---|---|---|---|---|---|---|\n";
    for (const ContentionRow& c : r.contention)
      m += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {}..{} |\n", c.threads,
                       c.operations, fixed(c.ops_per_second, 0), fixed(c.vs_first, 3),
                       us(c.spread.p50), us(c.spread.p99), us(c.spread.iqr), us(c.spread.max),
                       c.per_thread_min, c.per_thread_max);
    m += "\n";
  }

  if (!r.skipped.empty()) {
    m += "## Skipped\n\n";
    for (const auto& s : r.skipped)
      m += "- " + s + "\n";
    m += "\n";
  }
  if (!r.errors.empty()) {
    m += "## Errors\n\n";
    for (const auto& e : r.errors)
      m += "- " + e + "\n";
    m += "\n";
  }
  return m;
}

std::string summary_table(const Report& r) {
  std::string s;
  s += fmt::format("edu-bench: {} driver device(s), raw MMIO {}, clocksource {}, {:.1f} s{}\n\n",
                   r.devices, r.raw_device.empty() ? "none" : r.raw_device,
                   r.clocksource.empty() ? "?" : r.clocksource, r.duration_s,
                   r.smoke ? " (smoke run)" : "");
  s += fmt::format("{:<36} {:<12} {:>9}  {}\n", "target", "requirement", "measured", "status");
  for (const Target& t : r.targets)
    s += fmt::format("{:<36} {:<12} {:>9}  {}\n", t.short_name, t.requirement, fmt_ratio(t.value),
                     status_text(t));
  if (!r.dma.empty()) {
    s += fmt::format("\n{:<24} {:>4} {:>10} {:>10} {:>11} {:>9}\n", "DMA series", "n", "p50 ms",
                     "IQR ms", "xfers/op", "ratio");
    for (const DmaRow& d : r.dma)
      s +=
          fmt::format("{:<24} {:>4} {:>10} {:>10} {:>11} {:>9}\n", label(d), d.spread.count,
                      ms(d.spread.p50), ms(d.spread.iqr),
                      fmt::format("{}/{}", d.transfers_actual ? fixed(*d.transfers_actual, 1) : "?",
                                  fixed(d.transfers_min, 0)),
                      fmt_ratio(d.ratio));
  }
  if (!r.scaling.empty()) {
    s += fmt::format("\n{:<24} {:>4} {:>10} {:>10} {:>11}\n", "scaling (devices)", "n", "p50 ms",
                     "IQR ms", "speedup");
    for (const ScalingRow& c : r.scaling)
      s += fmt::format("{:<24} {:>4} {:>10} {:>10} {:>11}\n", c.devices, c.spread.count,
                       ms(c.spread.p50), ms(c.spread.iqr), fixed(c.speedup, 3));
  }
  if (!r.latency.empty()) {
    s += fmt::format("\n{:<24} {:>6} {:>10} {:>10} {:>10} {:>9}\n", "latency", "n", "p50 us",
                     "p99 us", "IQR us", "p50/raw");
    for (const LatencyRow& l : r.latency)
      s += fmt::format("{:<24} {:>6} {:>10} {:>10} {:>10} {:>9}\n", l.operation + "/" + l.mode,
                       l.spread.count, us(l.spread.p50), us(l.spread.p99), us(l.spread.iqr),
                       fmt_ratio(l.p50_vs_raw));
  }
  if (!r.contention.empty()) {
    s += fmt::format("\n{:<24} {:>8} {:>10} {:>9} {:>10} {:>10}\n", "contention (threads)", "ops",
                     "ops/s", "vs 1", "p50 us", "p99 us");
    for (const ContentionRow& c : r.contention)
      s += fmt::format("{:<24} {:>8} {:>10} {:>9} {:>10} {:>10}\n", c.threads, c.operations,
                       fixed(c.ops_per_second, 0), fixed(c.vs_first, 3), us(c.spread.p50),
                       us(c.spread.p99));
  }
  for (const auto& e : r.errors)
    s += "error: " + e + "\n";
  return s;
}

PlotFiles plot_files(const Report& r, const std::string& terminal, const std::string& data_dir,
                     const std::string& out_dir) {
  PlotFiles p;
  const std::string term = terminal == "pngcairo"
                               ? "set terminal pngcairo size 960,560 noenhanced font \",10\""
                               : "set terminal png size 960,560 noenhanced";
  auto data = [&](const std::string& name) { return "\"" + data_dir + "/" + name + "\""; };
  auto out = [&](const std::string& name) { return "\"" + out_dir + "/" + name + "\""; };
  std::string& g = p.script;
  g += "# gnuplot script written by edu-bench-report\n";
  g += "set datafile separator \"\\t\"\nset encoding utf8\n";

  if (!r.dma.empty()) {
    std::string d = "# index\tlabel\tratio_p50\tratio_slowest\tratio_fastest\n";
    for (std::size_t i = 0; i < r.dma.size(); ++i) {
      const DmaRow& row = r.dma[i];
      d += fmt::format("{}\t{}\t{}\t{}\t{}\n", i, label(row), fixed(row.ratio, 6),
                       fixed(row.ratio_low, 6), fixed(row.ratio_high, 6));
    }
    p.data.emplace_back("dma.dat", d);
    g += "reset\n" + term + "\nset output " + out("dma_throughput.png") + "\n";
    g += "set title \"DMA throughput per path: engine bytes/s / device limit (4095 B per 100 "
         "ms)\"\n";
    g += "set ylabel \"ratio to device limit\"\nset yrange [0:1.2]\nset grid ytics\n";
    g += "set style fill solid 0.6 border -1\nset boxwidth 0.6\nset xtics rotate by -35 "
         "scale 0\nset key outside top center horizontal\nset xrange [-0.7:" +
         fmt::format("{}", static_cast<double>(r.dma.size()) - 0.3) + "]\n";
    g += "plot " + data("dma.dat") +
         " using 1:3:xtic(2) with boxes lc rgb \"#4477aa\" title \"median\", \\\n"
         "     '' using 1:3:4:5 with yerrorbars lc rgb \"black\" pt 0 title \"slowest..fastest\", "
         "\\\n     0.99 with lines dt 2 lw 2 lc rgb \"red\" title \"target 0.99\", \\\n"
         "     1.0 with lines lc rgb \"gray40\" title \"device limit\"\n";
  }
  if (!r.scaling.empty()) {
    unsigned most = 1;
    std::string d = "# devices\tspeedup_p50\tspeedup_slowest\tspeedup_fastest\n";
    for (const ScalingRow& s : r.scaling) {
      most = std::max(most, s.devices);
      d += fmt::format("{}\t{}\t{}\t{}\n", s.devices, fixed(s.speedup, 6), fixed(s.speedup_low, 6),
                       fixed(s.speedup_high, 6));
    }
    p.data.emplace_back("scaling.dat", d);
    g += "reset\n" + term + "\nset output " + out("scaling.png") + "\n";
    g += "set title \"Scaling: pinned loopback on N devices in parallel\"\n";
    g += fmt::format(
        "set xlabel \"devices\"\nset ylabel \"speedup vs 1 device\"\nset xrange [0.5:{0}.5]\n"
        "set yrange [0:{0}.5]\nset xtics 1\nset grid\nset key top left\n",
        most);
    g += "plot x with lines dt 2 lc rgb \"gray40\" title \"ideal\", \\\n"
         "     (x * 3.9 / 4) with lines dt 3 lw 2 lc rgb \"red\" title \"target 3.9x at 4\", \\\n"
         "     " +
         data("scaling.dat") +
         " using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb \"#4477aa\" title \"measured "
         "(median, slowest..fastest)\"\n";
  }
  if (!r.latency.empty()) {
    std::string d = "# index\tlabel\tp50_us\tp99_us\n";
    for (std::size_t i = 0; i < r.latency.size(); ++i) {
      const LatencyRow& l = r.latency[i];
      d += fmt::format("{}\t{}\t{}\t{}\n", i, l.operation + "/" + l.mode,
                       fixed(l.spread.p50 / 1e3, 3), fixed(l.spread.p99 / 1e3, 3));
    }
    p.data.emplace_back("latency.dat", d);
    g += "reset\n" + term + "\nset output " + out("latency.png") + "\n";
    g += "set title \"Latency per wait mode vs raw user-space MMIO (unbound device)\"\n";
    g += "set ylabel \"latency (us, log scale)\"\nset logscale y\nset grid ytics\n"
         "set style data histograms\nset style histogram cluster gap 1\n"
         "set style fill solid 0.7 border -1\nset boxwidth 0.9\nset xtics rotate by -35 scale 0\n"
         "set key top left\n";
    g += "plot " + data("latency.dat") +
         " using 3:xtic(2) lc rgb \"#4477aa\" title \"p50\", \\\n"
         "     '' using 4 lc rgb \"#ee6677\" title \"p99\"\n";
  }
  if (!r.contention.empty()) {
    std::string d = "# threads\tops_per_second\tp50_us\tp99_us\n";
    unsigned most = 1;
    for (const ContentionRow& c : r.contention)
      most = std::max(most, c.threads);
    for (const ContentionRow& c : r.contention)
      d += fmt::format("{}\t{}\t{}\t{}\n", c.threads, fixed(c.ops_per_second, 3),
                       fixed(c.spread.p50 / 1e3, 3), fixed(c.spread.p99 / 1e3, 3));
    p.data.emplace_back("contention.dat", d);
    g += "reset\n" + term + "\nset output " + out("contention.png") + "\n";
    g += "set title \"Contention: threads doing synchronous factorials on one device\"\n";
    g += fmt::format("set xrange [0.8:{}]\n", most * 1.25);
    g += "set xlabel \"threads\"\nset logscale x 2\nset ylabel \"operations/s (all threads)\"\n"
         "set yrange [0:*]\nset y2label \"latency (us, log scale)\"\nset logscale y2\n"
         "set y2tics\nset ytics nomirror\nset grid\nset key outside top center horizontal\n";
    g += "plot " + data("contention.dat") +
         " using 1:2:xtic(1) with linespoints lw 2 pt 7 lc rgb \"#4477aa\" axes x1y1 title "
         "\"ops/s\", \\\n"
         "     '' using 1:3 with linespoints pt 5 lc rgb \"#228833\" axes x1y2 title \"p50 "
         "latency\", \\\n"
         "     '' using 1:4 with linespoints pt 9 lc rgb \"#ee6677\" axes x1y2 title \"p99 "
         "latency\"\n";
  }
  g += "unset output\n";
  return p;
}

}  // namespace edubench::report
