#include "edu-bench/options.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <ostream>

#include <CLI/CLI.hpp>

namespace edubench {

const char* to_string(Section s) noexcept {
  switch (s) {
    case Section::dma:
      return "dma";
    case Section::scaling:
      return "scaling";
    case Section::latency:
      return "latency";
    case Section::contention:
      return "contention";
  }
  return "?";
}

std::optional<std::string> normalize_bdf(const std::string& text) {
  // [DDDD:]BB:SS.F, hex digits.
  std::string s = text;
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (s.size() == 7) s = "0000:" + s;
  if (s.size() != 12 || s[4] != ':' || s[7] != ':' || s[10] != '.') return std::nullopt;
  for (std::size_t i : {0U, 1U, 2U, 3U, 5U, 6U, 8U, 9U})
    if (std::isxdigit(static_cast<unsigned char>(s[i])) == 0) return std::nullopt;
  if (s[11] < '0' || s[11] > '7') return std::nullopt;
  return s;
}

ParseResult parse_bench_args(const std::vector<std::string>& args, std::ostream& out,
                             std::ostream& err) {
  BenchOptions o;
  std::vector<std::string> sections;
  std::size_t contention_ms = 0;
  std::string raw;

  CLI::App app{
      "edu-bench — throughput, scaling, latency and contention of the edu driver.\n"
      "Prints one self-describing JSON document.",
      "edu-bench"};
  app.footer(
      "Exit codes: 0 ok, 1 a section failed (see \"errors\" in the output), 2 usage error,\n"
      "            3 no edu device (and no --raw-device).");
  app.add_flag("--smoke", o.smoke, "Tiny sample counts: finishes in seconds (CI)");
  app.add_option("-d,--device", o.device, "Device index N of /dev/eduN (default: first visible)");
  app.add_option("-s,--sections", sections, "Sections to run (default: all)")
      ->check(CLI::IsMember({"dma", "scaling", "latency", "contention"}))
      ->delimiter(',');
  auto* dma = app.add_option("--dma-samples", o.dma_samples, "Transfers per path and direction")
                  ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  auto* lw = app.add_option("--loopback-windows", o.loopback_windows,
                            "Windows per pinned loopback transfer")
                 ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  app.add_option("--max-devices", o.max_devices, "Most devices used in the scaling section")
      ->check(CLI::Range(1U, 64U));
  auto* ls = app.add_option("--latency-samples", o.latency_samples, "Operations per latency series")
                 ->check(CLI::Range(std::size_t{1}, std::size_t{10000000}));
  auto* lr = app.add_option("--latency-rounds", o.latency_rounds,
                            "Interleaved rounds the latency series are measured in")
                 ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  auto* wu = app.add_option("--warmup", o.warmup, "Unmeasured operations before each series");
  app.add_option("--factorial-n", o.factorial_n, "n of the latency factorials (small)")
      ->check(CLI::Range(0U, 12U));
  auto* cm = app.add_option("--contention-ms", contention_ms, "Duration per thread count")
                 ->check(CLI::Range(std::size_t{1}, std::size_t{3600000}));
  app.add_option("--threads", o.thread_counts, "Thread counts of the contention section")
      ->delimiter(',')
      ->check(CLI::Range(1U, 256U));
  app.add_option("--max-raw-samples", o.max_raw_samples, "Raw samples kept per series in the JSON");
  app.add_option("--raw-device", raw,
                 "PCI address of an edu device NOT bound to the driver, for the raw MMIO "
                 "baseline (needs root); skipped if absent");
  app.add_option("-o,--output", o.output, "Write the JSON here instead of stdout");

  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return {std::nullopt, app.exit(e, out, err)};
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    err << "edu-bench: " << msg << " — run `edu-bench --help`\n";
    return {std::nullopt, 2};
  }
  if (o.smoke) {
    if (dma->count() == 0) o.dma_samples = 2;
    if (lw->count() == 0) o.loopback_windows = 2;
    if (ls->count() == 0) o.latency_samples = 50;
    if (lr->count() == 0) o.latency_rounds = 2;
    if (wu->count() == 0) o.warmup = 2;
    if (cm->count() == 0) contention_ms = 200;
  }
  if (contention_ms > 0) o.contention_duration = std::chrono::milliseconds(contention_ms);
  if (!sections.empty()) {
    static const std::map<std::string, Section> kByName = {{"dma", Section::dma},
                                                           {"scaling", Section::scaling},
                                                           {"latency", Section::latency},
                                                           {"contention", Section::contention}};
    o.sections.clear();
    for (const auto& s : sections)
      o.sections.insert(kByName.at(s));
  }
  if (!raw.empty()) {
    o.raw_device = normalize_bdf(raw);
    if (!o.raw_device) {
      err << "edu-bench: --raw-device \"" << raw
          << "\" is not a PCI address — expected e.g. 0000:00:05.0 (see `lspci -D`)\n";
      return {std::nullopt, 2};
    }
  }
  return {o, 0};
}

nlohmann::json to_json(const BenchOptions& o) {
  std::vector<std::string> sections;
  for (Section s : o.sections)
    sections.emplace_back(to_string(s));
  return nlohmann::json{
      {"smoke", o.smoke},
      {"device", o.device ? nlohmann::json(*o.device) : nlohmann::json(nullptr)},
      {"sections", sections},
      {"dma_samples", o.dma_samples},
      {"loopback_windows", o.loopback_windows},
      {"max_devices", o.max_devices},
      {"latency_samples", o.latency_samples},
      {"latency_rounds", o.latency_rounds},
      {"warmup", o.warmup},
      {"factorial_n", o.factorial_n},
      {"contention_ms", o.contention_duration.count()},
      {"threads", o.thread_counts},
      {"max_raw_samples", o.max_raw_samples},
      {"raw_device", o.raw_device ? nlohmann::json(*o.raw_device) : nlohmann::json(nullptr)},
      {"output", o.output}};
}

}  // namespace edubench
