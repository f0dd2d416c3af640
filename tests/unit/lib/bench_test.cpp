// edu-bench: statistics, options and the JSON document (no device).
#include "edu-bench/bench.hpp"

#include <cmath>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "edu-bench/options.hpp"
#include "edu-bench/stats.hpp"
#include "fake_sysfs.hpp"

namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(Percentile, MatchesNumpyLinear) {
  const std::vector<double> v{1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(edubench::percentile(v, 0), 1.0);
  EXPECT_DOUBLE_EQ(edubench::percentile(v, 50), 2.5);
  EXPECT_DOUBLE_EQ(edubench::percentile(v, 90), 3.7);
  EXPECT_DOUBLE_EQ(edubench::percentile(v, 99), 3.97);
  EXPECT_DOUBLE_EQ(edubench::percentile(v, 100), 4.0);
  EXPECT_DOUBLE_EQ(edubench::percentile(v, 250), 4.0);  // clamped
  EXPECT_DOUBLE_EQ(edubench::percentile(std::vector<double>{7}, 99), 7.0);
  EXPECT_TRUE(std::isnan(edubench::percentile({}, 50)));
}

TEST(Percentile, HundredSamples) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i)
    v.push_back(i);
  EXPECT_DOUBLE_EQ(edubench::percentile(v, 50), 50.5);
  EXPECT_DOUBLE_EQ(edubench::percentile(v, 99), 99.01);
}

TEST(Summarize, UnsortedInput) {
  const auto s = edubench::summarize({5, 1, 4, 2, 3});
  EXPECT_EQ(s.count, 5U);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 5);
  EXPECT_DOUBLE_EQ(s.mean, 3);
  EXPECT_DOUBLE_EQ(s.p50, 3);
  EXPECT_DOUBLE_EQ(s.stddev, std::sqrt(2.5));
  EXPECT_DOUBLE_EQ(s.iqr, 2);
  EXPECT_DOUBLE_EQ(s.cv, std::sqrt(2.5) / 3);
}

TEST(Summarize, EmptyAndSingle) {
  const auto e = edubench::summarize({});
  EXPECT_EQ(e.count, 0U);
  EXPECT_TRUE(std::isnan(e.p50));
  const json j = edubench::to_json(e);
  EXPECT_TRUE(j["p50"].is_null()) << j.dump();
  EXPECT_EQ(j["count"], 0);
  const auto one = edubench::summarize({42});
  EXPECT_DOUBLE_EQ(one.p99, 42);
  EXPECT_TRUE(std::isnan(one.stddev));
}

TEST(SummaryJson, Keys) {
  const json j = edubench::to_json(edubench::summarize({1, 2}));
  for (const char* k : {"count", "min", "max", "mean", "stddev", "p50", "p90", "p99", "iqr", "cv"})
    EXPECT_TRUE(j.contains(k)) << k;
}

TEST(Throughput, RatioToDeviceLimit) {
  EXPECT_DOUBLE_EQ(edubench::device_limit_bytes_per_second(4095), 40950.0);
  // Every transfer of a full window took exactly 100 ms: the device never idled.
  const std::vector<std::int64_t> samples(5, 100'000'000);
  json j = edubench::throughput_json("pinned", "to_device", 4095, 4095, 4095, samples, 100);
  EXPECT_DOUBLE_EQ(j["ratio_to_limit"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["payload_bytes_per_second"].get<double>(), 40950.0);
  EXPECT_EQ(j["dma_transfers_per_op"], 1);
  EXPECT_EQ(j["samples_ns"].size(), 5U);
  EXPECT_EQ(j["samples_total"], 5);
  // A loopback of 2 windows in 400 ms: 4 transfers, engine at the limit,
  // payload at half of it.
  j = edubench::throughput_json("pinned", "loopback", 8190, 16380, 4095,
                                std::vector<std::int64_t>(3, 400'000'000), 100);
  EXPECT_DOUBLE_EQ(j["ratio_to_limit"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["payload_bytes_per_second"].get<double>(), 20475.0);
  EXPECT_EQ(j["dma_transfers_per_op"], 4);
  // Half the window per transfer: half the limit.
  j = edubench::throughput_json("staging", "from_device", 2048, 2048, 4096,
                                std::vector<std::int64_t>(3, 100'000'000), 100);
  EXPECT_DOUBLE_EQ(j["ratio_to_limit"].get<double>(), 0.5);
}

TEST(Samples, CapKeepsOrderAndSpread) {
  std::vector<std::int64_t> v(1000);
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<std::int64_t>(i);
  const auto c = edubench::cap_samples(v, 10);
  ASSERT_EQ(c.size(), 10U);
  EXPECT_EQ(c.front(), 0);
  EXPECT_EQ(c[1], 100);
  EXPECT_TRUE(std::is_sorted(c.begin(), c.end()));
  EXPECT_EQ(edubench::cap_samples(v, 5000).size(), 1000U);
  EXPECT_TRUE(edubench::cap_samples(v, 0).empty());
  const json l = edubench::latency_json("factorial", "irq", v, 10);
  EXPECT_EQ(l["samples_ns"].size(), 10U);
  EXPECT_EQ(l["samples_total"], 1000);
  EXPECT_EQ(l["summary_ns"]["count"], 1000);
}

edubench::ParseResult parse(const std::vector<std::string>& args, std::string* err_text = nullptr) {
  std::ostringstream out;
  std::ostringstream err;
  auto r = edubench::parse_bench_args(args, out, err);
  if (err_text != nullptr) *err_text = err.str();
  return r;
}

TEST(BenchOptions, Defaults) {
  const auto r = parse({});
  ASSERT_TRUE(r.options);
  EXPECT_FALSE(r.options->smoke);
  EXPECT_EQ(r.options->sections.size(), 4U);
  EXPECT_EQ(r.options->thread_counts, (std::vector<unsigned>{1, 2, 4, 8}));
  EXPECT_EQ(r.options->latency_samples, 1000U);
  EXPECT_FALSE(r.options->raw_device);
}

TEST(BenchOptions, SmokeShrinksButExplicitWins) {
  auto r = parse({"--smoke"});
  ASSERT_TRUE(r.options);
  EXPECT_EQ(r.options->dma_samples, 2U);
  EXPECT_EQ(r.options->latency_samples, 50U);
  EXPECT_EQ(r.options->contention_duration, std::chrono::milliseconds(200));
  r = parse({"--smoke", "--latency-samples", "7", "--contention-ms", "30"});
  EXPECT_EQ(r.options->latency_samples, 7U);
  EXPECT_EQ(r.options->contention_duration, std::chrono::milliseconds(30));
  EXPECT_EQ(r.options->dma_samples, 2U);
}

TEST(BenchOptions, ListsAndRawDevice) {
  auto r = parse({"--sections", "latency,dma", "--threads", "1,3", "--raw-device", "00:05.0"});
  ASSERT_TRUE(r.options);
  EXPECT_EQ(r.options->sections,
            (std::set<edubench::Section>{edubench::Section::latency, edubench::Section::dma}));
  EXPECT_EQ(r.options->thread_counts, (std::vector<unsigned>{1, 3}));
  EXPECT_EQ(r.options->raw_device, "0000:00:05.0");
  const json j = edubench::to_json(*r.options);
  EXPECT_EQ(j["sections"], json({"dma", "latency"}));
  EXPECT_EQ(j["raw_device"], "0000:00:05.0");
}

TEST(BenchOptions, UsageErrors) {
  std::string err;
  auto r = parse({"--sections", "everything"}, &err);
  EXPECT_FALSE(r.options);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(err, HasSubstr("edu-bench: "));
  r = parse({"--raw-device", "pci-5"}, &err);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(err, HasSubstr("lspci"));
  r = parse({"--help"}, &err);
  EXPECT_EQ(r.exit_code, 0);
}

TEST(BenchOptions, NormalizeBdf) {
  EXPECT_EQ(edubench::normalize_bdf("0000:00:04.0"), "0000:00:04.0");
  EXPECT_EQ(edubench::normalize_bdf("00:1F.7"), "0000:00:1f.7");
  EXPECT_EQ(edubench::normalize_bdf("00:04.8"), std::nullopt);
  EXPECT_EQ(edubench::normalize_bdf("0000:00:04"), std::nullopt);
  EXPECT_EQ(edubench::normalize_bdf("zz:04.0"), std::nullopt);
}

TEST(BenchRun, NoDeviceDocumentIsSelfDescribing) {
  edutest::FakeSysfs fs;
  edu::DiscoveryOptions d;
  d.sysfs_root = fs.sys();
  d.dev_root = fs.dev();
  const auto r = parse({"--smoke"});
  const auto report = edubench::run_bench(*r.options, d);
  EXPECT_EQ(report.exit_code, 3);
  const json& j = report.document;
  EXPECT_EQ(j["schema"], edubench::kSchema);
  for (const char* k : {"tool", "started_at", "host", "options", "definitions", "devices",
                        "results", "skipped", "errors", "duration_s"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_TRUE(j["devices"].empty());
  EXPECT_TRUE(j["errors"].empty());
  std::set<std::string> skipped;
  for (const auto& s : j["skipped"])
    skipped.insert(s["section"].get<std::string>());
  for (const char* s : {"devices", "dma", "scaling", "contention", "latency/raw_mmio"})
    EXPECT_TRUE(skipped.count(s)) << s;
  EXPECT_TRUE(j["definitions"].contains("ratio_to_limit"));
  // Round-trips through text.
  EXPECT_EQ(json::parse(j.dump()), j);
}

}  // namespace
