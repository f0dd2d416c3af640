// edu-bench-report: validation (--check), analysis/targets, rendering and
// the command line, against a small hand-made edu-bench/1 fixture.
#include "edu-bench-report/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "edu-bench-report/cli.hpp"

// test_data_dir.cpp
const char* edu_bench_report_test_data_dir();

namespace {

namespace fs = std::filesystem;
namespace rep = edubench::report;
using nlohmann::json;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const fs::path kFixture = fs::path(edu_bench_report_test_data_dir()) / "bench-small.json";

json fixture() {
  std::ifstream in(kFixture);
  return json::parse(in);
}

/// A fresh temporary directory, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "edu-bench-report-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// check_document() of the fixture after @p mutate.
std::vector<std::string> problems_after(const std::function<void(json&)>& mutate) {
  json j = fixture();
  mutate(j);
  return rep::check_document(j);
}

bool any_contains(const std::vector<std::string>& v, const std::string& s) {
  return std::ranges::any_of(v,
                             [&s](const std::string& x) { return x.find(s) != std::string::npos; });
}

// ------------------------------------------------------------------ check

TEST(Check, FixtureIsValid) {
  EXPECT_THAT(rep::check_document(fixture()), IsEmpty());
}

TEST(Check, NotAnObject) {
  EXPECT_THAT(rep::check_document(json::array()), Contains(HasSubstr("not a JSON object")));
}

TEST(Check, WrongSchema) {
  const auto p = problems_after([](json& j) { j["schema"] = "edu-bench/0"; });
  EXPECT_TRUE(any_contains(p, "/schema")) << ::testing::PrintToString(p);
}

TEST(Check, MissingTopLevelKeys) {
  for (const char* key : {"schema", "options", "results", "devices", "errors", "skipped",
                          "definitions", "duration_s"}) {
    const auto p = problems_after([&](json& j) { j.erase(key); });
    EXPECT_TRUE(any_contains(p, std::string("/") + key + ": missing"))
        << key << ": " << ::testing::PrintToString(p);
  }
}

TEST(Check, RequestedSectionMissing) {
  const auto p = problems_after([](json& j) {
    j["results"].erase("scaling");
    j["skipped"].push_back({{"section", "scaling"}, {"reason", "only 1 device"}});
  });
  EXPECT_THAT(p, Contains(AllOf(HasSubstr("/results/scaling"), HasSubstr("missing"),
                                HasSubstr("only 1 device"))));
}

TEST(Check, SectionNotRequestedMayBeAbsent) {
  const auto p = problems_after([](json& j) {
    j["results"].erase("contention");
    j["options"]["sections"] = {"dma", "latency", "scaling"};
  });
  EXPECT_THAT(p, IsEmpty());
}

TEST(Check, EmptySamples) {
  const auto p =
      problems_after([](json& j) { j["results"]["dma"][0]["samples_ns"] = json::array(); });
  EXPECT_THAT(p, Contains(HasSubstr("/results/dma/0/samples_ns: no samples")));
}

TEST(Check, ZeroCount) {
  const auto p = problems_after(
      [](json& j) { j["results"]["latency"]["series"][2]["summary_ns"]["count"] = 0; });
  EXPECT_THAT(p, Contains(HasSubstr("/results/latency/series/2/summary_ns/count")));
}

TEST(Check, NonFiniteNumbers) {
  // JSON has no NaN: edu-bench writes null for undefined values.
  auto p = problems_after([](json& j) { j["results"]["dma"][1]["summary_ns"]["p50"] = nullptr; });
  EXPECT_THAT(p, Contains(HasSubstr("/results/dma/1/summary_ns/p50")));
  p = problems_after([](json& j) { j["results"]["dma"][1]["ratio_to_limit"] = "fast"; });
  EXPECT_THAT(p, Contains(HasSubstr("/results/dma/1/ratio_to_limit: expected number")));
  p = problems_after([](json& j) { j["results"]["scaling"]["entries"][0]["samples_ns"][1] = -5; });
  EXPECT_THAT(p, Contains(HasSubstr("/results/scaling/entries/0/samples_ns/1")));
  p = problems_after([](json& j) { j["duration_s"] = nullptr; });
  EXPECT_THAT(p, Contains(HasSubstr("/duration_s")));
}

TEST(Check, StddevMayBeNullForOneSample) {
  const auto p = problems_after([](json& j) {
    auto& e = j["results"]["contention"]["entries"][0];
    e["samples_ns"] = {20000};
    e["samples_total"] = 1;
    e["summary_ns"]["count"] = 1;
    e["summary_ns"]["stddev"] = nullptr;
    e["summary_ns"]["cv"] = nullptr;
  });
  EXPECT_THAT(p, IsEmpty());
  const auto q = problems_after(
      [](json& j) { j["results"]["contention"]["entries"][0]["summary_ns"]["stddev"] = nullptr; });
  EXPECT_THAT(q, Contains(HasSubstr("summary_ns/stddev")));
}

TEST(Check, RawBaselineRequiredWhenRequested) {
  const auto p = problems_after([](json& j) {
    auto& s = j["results"]["latency"]["series"];
    s.erase(s.begin());  // raw_mmio_spin
  });
  EXPECT_THAT(p, Contains(HasSubstr("no raw_mmio_spin series")));
  const auto q = problems_after([](json& j) {
    auto& s = j["results"]["latency"]["series"];
    s.erase(s.begin());
    j["results"]["latency"]["vs_raw_mmio"] = json::array();
    j["options"]["raw_device"] = nullptr;
  });
  EXPECT_THAT(q, IsEmpty());
}

TEST(Check, RecordedBenchErrorsFail) {
  const auto p = problems_after([](json& j) {
    j["errors"].push_back({{"section", "dma/pinned/loopback"}, {"message", "boom: EIO"}});
  });
  EXPECT_THAT(p, Contains(AllOf(HasSubstr("/errors/0"), HasSubstr("dma/pinned/loopback"),
                                HasSubstr("boom"))));
}

TEST(Check, EmptySections) {
  auto p = problems_after([](json& j) { j["results"]["dma"] = json::array(); });
  EXPECT_THAT(p, Contains(HasSubstr("/results/dma: no series")));
  p = problems_after([](json& j) { j["results"]["contention"]["entries"] = json::array(); });
  EXPECT_THAT(p, Contains(HasSubstr("/results/contention/entries: no entries")));
  p = problems_after([](json& j) { j["results"]["scaling"] = json::array(); });
  EXPECT_THAT(p, Contains(HasSubstr("/results/scaling/entries: missing")));
}

// ---------------------------------------------------------------- analyse

TEST(Analyse, ExtractsEverySection) {
  const rep::Report r = rep::analyse(fixture());
  EXPECT_EQ(r.devices, 4U);
  EXPECT_EQ(r.raw_device, "0000:05:00.0");
  EXPECT_EQ(r.thp, "always [madvise] never");
  ASSERT_EQ(r.dma.size(), 8U);
  EXPECT_EQ(r.dma[4].path, "pinned");
  EXPECT_EQ(r.dma[4].buffer, "thp");
  EXPECT_EQ(r.dma[4].contiguous, true);
  EXPECT_EQ(r.dma[7].path, "pinned_heap");
  EXPECT_FALSE(r.dma[7].is_target());
  EXPECT_EQ(r.dma[7].transfers_actual, 2.0);
  EXPECT_EQ(r.dma[0].spread.count, 3U);
  // The ratio range comes from the slowest and fastest sample.
  EXPECT_LT(r.dma[0].ratio_low, r.dma[0].ratio);
  EXPECT_GT(r.dma[0].ratio_high, r.dma[0].ratio);
  ASSERT_EQ(r.scaling.size(), 4U);
  EXPECT_NEAR(r.scaling[3].speedup, 3.92, 1e-6);
  EXPECT_NEAR(r.scaling[0].speedup_low, 1.0 / 1.003, 1e-3);
  ASSERT_EQ(r.latency.size(), 8U);
  EXPECT_TRUE(r.latency[0].is_raw());
  EXPECT_NEAR(r.latency[3].p50_vs_raw.value_or(0), 1.15, 1e-9);
  ASSERT_EQ(r.contention.size(), 2U);
  EXPECT_EQ(r.contention[1].per_thread_min, 450U);
}

TEST(Analyse, TargetsMetOnTheFixture) {
  const rep::Report r = rep::analyse(fixture());
  ASSERT_EQ(r.targets.size(), 6U);
  // DMA: worst direction per path.
  EXPECT_NEAR(r.targets[0].value.value_or(0), 0.993, 1e-6);
  EXPECT_NEAR(r.targets[1].value.value_or(0), 0.994, 1e-6);
  EXPECT_NEAR(r.targets[2].value.value_or(0), 0.991, 1e-6);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(r.targets[i].met, true) << r.targets[i].name;
  EXPECT_NEAR(r.targets[3].value.value_or(0), 3.92, 1e-6);
  EXPECT_NEAR(r.targets[4].value.value_or(0), 1.15, 1e-9);
  EXPECT_THAT(r.targets[4].detail, HasSubstr("`poll`"));
  // poll 11.5 us - raw 10 us; liveness ioctl 2.5 us - raw liveness 1 us.
  EXPECT_THAT(r.targets[4].detail,
              HasSubstr("gap 1.50 us, of which the system-call floor (liveness ioctl p50 - raw "
                        "liveness p50) is 1.50 us, the driver's own cost 0.00 us"));
  // Contention is informational.
  EXPECT_FALSE(r.targets[5].met.has_value());
  EXPECT_NEAR(r.targets[5].value.value_or(0), 0.9, 1e-9);
}

TEST(Analyse, TargetsMissedAndUnmeasured) {
  json j = fixture();
  j["results"]["dma"][5]["ratio_to_limit"] = 0.5;  // pinned/from_device
  j["results"]["scaling"]["entries"][3]["speedup_vs_1_device"] = 3.5;
  for (auto& s : j["results"]["latency"]["series"])
    if (s["wait_mode"] == "poll") s["summary_ns"]["p50"] = 15000;  // 1.5x raw
  rep::Report r = rep::analyse(j);
  EXPECT_EQ(r.targets[2].met, false);
  EXPECT_EQ(r.targets[3].met, false);
  EXPECT_EQ(r.targets[4].met, false);
  EXPECT_THAT(rep::summary_table(r), HasSubstr("NOT MET"));

  j = fixture();
  j["results"]["scaling"]["entries"].erase(3);
  j["results"]["latency"]["series"].erase(0);
  r = rep::analyse(j);
  EXPECT_FALSE(r.targets[3].met.has_value());
  EXPECT_THAT(r.targets[3].detail, HasSubstr("3 device(s)"));
  EXPECT_FALSE(r.targets[4].met.has_value());
  EXPECT_THAT(r.targets[4].detail, HasSubstr("no raw MMIO baseline"));
}

TEST(Analyse, ToleratesAnEmptyDocument) {
  const rep::Report r = rep::analyse(json::object());
  EXPECT_TRUE(r.dma.empty());
  EXPECT_EQ(r.targets.size(), 6U);
  for (const auto& t : r.targets)
    EXPECT_FALSE(t.met.has_value()) << t.name;
  EXPECT_TRUE(rep::figures(r).empty());
}

// ------------------------------------------------------------- rendering

TEST(Render, MarkdownHasTargetsTablesAndFigures) {
  const rep::Report r = rep::analyse(fixture());
  const std::string md = rep::markdown(r, rep::figures(r));
  EXPECT_THAT(md, HasSubstr("## Targets"));
  EXPECT_THAT(md, HasSubstr("guest clocksource: `tsc`"));
  EXPECT_THAT(md, HasSubstr("(accelerator: `tcg`)"));
  EXPECT_THAT(md, HasSubstr("| DMA path `pinned`: engine throughput / device limit | >= 0.99 | "
                            "0.9910 | met |"));
  EXPECT_THAT(md, HasSubstr("![DMA throughput per path vs the device limit](dma_throughput.png)"));
  for (const char* f : {"scaling.png", "latency.png", "contention.png"})
    EXPECT_THAT(md, HasSubstr(std::string("(") + f + ")"));
  // Sample count and spread columns.
  EXPECT_THAT(md, HasSubstr("| path | direction | buffer | n | p50 ms | IQR ms |"));
  EXPECT_THAT(md, HasSubstr("| pinned | to_device | thp (contiguous) | 3 |"));
  EXPECT_THAT(md, HasSubstr("| factorial | **raw_mmio_spin** | 3 |"));
  EXPECT_THAT(md, Not(HasSubstr("## Errors")));
}

TEST(Render, MarkdownListsErrorsAndSkips) {
  json j = fixture();
  j["errors"].push_back({{"section", "scaling/3"}, {"message", "ENODEV"}});
  j["skipped"].push_back({{"section", "latency/raw_mmio"}, {"reason", "no --raw-device"}});
  const rep::Report r = rep::analyse(j);
  const std::string md = rep::markdown(r, {});
  EXPECT_THAT(md, HasSubstr("## Errors\n\n- scaling/3: ENODEV"));
  EXPECT_THAT(md, HasSubstr("## Skipped\n\n- latency/raw_mmio: no --raw-device"));
  EXPECT_THAT(md, Not(HasSubstr(".png")));
}

TEST(Render, SummaryTable) {
  const std::string s = rep::summary_table(rep::analyse(fixture()));
  EXPECT_THAT(s, HasSubstr("DMA pinned / limit"));
  EXPECT_THAT(s, HasSubstr("0.9910  met"));
  EXPECT_THAT(s, HasSubstr("scaling 4 devices / 1 device"));
  EXPECT_THAT(s, HasSubstr("pinned_heap/to_device"));
  EXPECT_THAT(s, HasSubstr("factorial/raw_mmio_spin"));
  EXPECT_THAT(s, Not(HasSubstr("NOT MET")));
}

TEST(Render, GnuplotInput) {
  const rep::Report r = rep::analyse(fixture());
  const rep::PlotFiles cairo = rep::plot_files(r, "pngcairo", "/d", "/o");
  EXPECT_THAT(cairo.script, HasSubstr("set terminal pngcairo"));
  EXPECT_THAT(cairo.script, HasSubstr("set output \"/o/dma_throughput.png\""));
  EXPECT_THAT(cairo.script, HasSubstr("\"/d/scaling.dat\""));
  EXPECT_THAT(rep::plot_files(r, "png", "/d", "/o").script, HasSubstr("set terminal png size"));
  ASSERT_EQ(cairo.data.size(), 4U);
  EXPECT_EQ(cairo.data[0].first, "dma.dat");
  EXPECT_THAT(cairo.data[0].second, HasSubstr("4\tpinned/to_device\t0.997"));
  EXPECT_EQ(cairo.data[1].first, "scaling.dat");
  EXPECT_THAT(cairo.data[1].second, HasSubstr("4\t3.920000\t"));
  EXPECT_THAT(cairo.data[2].second, HasSubstr("factorial/poll\t11.500"));
  EXPECT_THAT(cairo.data[3].second, HasSubstr("2\t9000.000\t"));
}

// ------------------------------------------------------------------- CLI

int cli(const std::vector<std::string>& args, std::string* out = nullptr,
        std::string* err = nullptr) {
  std::ostringstream o;
  std::ostringstream e;
  const int rc = rep::run_cli(args, o, e);
  if (out != nullptr) *out = o.str();
  if (err != nullptr) *err = e.str();
  return rc;
}

TEST(Cli, CheckValidFixture) {
  std::string out;
  EXPECT_EQ(cli({"--check", kFixture.string()}, &out), 0);
  EXPECT_THAT(out, HasSubstr("valid edu-bench/1 document: 8 DMA series"));
}

TEST(Cli, CheckFailures) {
  TempDir t;
  std::string err;
  EXPECT_EQ(cli({"--check", (t.path() / "missing.json").string()}, nullptr, &err), 1);
  EXPECT_THAT(err, HasSubstr("No such file"));

  write(t.path() / "truncated.json", read(kFixture).substr(0, 500));
  EXPECT_EQ(cli({"--check", (t.path() / "truncated.json").string()}, nullptr, &err), 1);
  EXPECT_THAT(err, HasSubstr("not valid JSON"));

  json j = fixture();
  j["results"].erase("dma");
  write(t.path() / "nodma.json", j.dump());
  EXPECT_EQ(cli({"--check", (t.path() / "nodma.json").string()}, nullptr, &err), 1);
  EXPECT_THAT(err, HasSubstr("/results/dma: requested in options.sections but missing"));
}

TEST(Cli, Usage) {
  std::string err;
  EXPECT_EQ(cli({}, nullptr, &err), 2);
  EXPECT_THAT(err, HasSubstr("--help"));
  EXPECT_EQ(cli({"--bogus"}, nullptr, &err), 2);
  EXPECT_EQ(cli({"--check", "a.json", "b.json"}, nullptr, &err), 2);
  std::string out;
  EXPECT_EQ(cli({"--help"}, &out), 0);
  EXPECT_THAT(out, HasSubstr("--check"));
}

TEST(Cli, RenderWithoutPlots) {
  TempDir t;
  std::string out;
  ASSERT_EQ(cli({kFixture.string(), "-o", (t.path() / "out").string(), "--no-plots", "--note",
                 "host: 2 cores, load 0.10"},
                &out),
            0);
  EXPECT_THAT(out, HasSubstr("DMA read_write / limit"));
  EXPECT_EQ(read(t.path() / "out" / "results.json"), read(kFixture));
  const std::string md = read(t.path() / "out" / "report.md");
  EXPECT_THAT(md, HasSubstr("# edu-bench report"));
  EXPECT_THAT(md, HasSubstr("\n- host: 2 cores, load 0.10\n"));
  EXPECT_THAT(md, Not(HasSubstr(".png")));
}

TEST(Cli, RenderReportsProblemsButStillWrites) {
  TempDir t;
  json j = fixture();
  j["errors"].push_back({{"section", "contention/8"}, {"message", "EIO"}});
  write(t.path() / "in.json", j.dump());
  std::string err;
  EXPECT_EQ(cli({(t.path() / "in.json").string(), "--no-plots"}, nullptr, &err), 1);
  EXPECT_THAT(err, HasSubstr("contention/8"));
  EXPECT_TRUE(fs::exists(t.path() / "report.md"));
}

TEST(Cli, MissingGnuplotIsAnError) {
  TempDir t;
  std::string err;
  EXPECT_EQ(cli({kFixture.string(), "-o", t.path().string(), "--gnuplot",
                 (t.path() / "no-such-gnuplot").string()},
                nullptr, &err),
            1);
  EXPECT_THAT(err, HasSubstr("gnuplot-nox"));
  EXPECT_TRUE(fs::exists(t.path() / "report.md"));  // the report is still written, without figures
}

TEST(Cli, RenderPngPlots) {
  if (!rep::png_terminal("gnuplot")) GTEST_SKIP() << "gnuplot with a png terminal not installed";
  TempDir t;
  ASSERT_EQ(cli({kFixture.string(), "-o", t.path().string()}), 0);
  for (const char* f : {"dma_throughput.png", "scaling.png", "latency.png", "contention.png"}) {
    const std::string png = read(t.path() / f);
    ASSERT_GT(png.size(), 8U) << f;
    EXPECT_EQ(png.substr(1, 3), "PNG") << f;
  }
  EXPECT_THAT(read(t.path() / "report.md"), HasSubstr("(contention.png)"));
}

}  // namespace
