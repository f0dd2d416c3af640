// eductl as a subprocess against the real driver: list/info/stats/fact/live
// with --json parsed, write/read and copy round trips through files with the
// data verified, and the exit codes of usage errors (2) and missing or hidden
// devices (3).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lib_test_util.hpp"

namespace edulibtest {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

/// eductl ARGS..., with EDU_VISIBLE_DEVICES unset unless @p env says otherwise.
ProcessResult eductl_run(const std::vector<std::string>& args,
                         std::map<std::string, std::optional<std::string>> env = {},
                         const std::string& input = {}) {
  std::vector<std::string> argv{eductl()};
  argv.insert(argv.end(), args.begin(), args.end());
  if (!env.contains("EDU_VISIBLE_DEVICES")) env["EDU_VISIBLE_DEVICES"] = std::nullopt;
  return run_process(argv, env, input);
}

/// Parses stdout as one JSON document (failing the test if it is not).
json json_of(const ProcessResult& r) {
  try {
    return json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON (" << e.what() << "): " << r.out << "\nstderr: " << r.err;
    return json::object();
  }
}

std::string show(const ProcessResult& r) {
  return "status " + std::to_string(r.status) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

unsigned first_index() {
  const auto d = sysfs_devices();
  return d.empty() ? 0 : d.front().index;
}

TEST(Eductl, ListJsonMatchesSysfs) {
  const auto sys = sysfs_devices();
  const ProcessResult r = eductl_run({"list", "--json"});
  ASSERT_EQ(r.status, 0) << show(r);
  const json j = json_of(r);
  EXPECT_EQ(j["schema"], 1);
  EXPECT_EQ(j["command"], "list");
  EXPECT_TRUE(j["visible_filter"].is_null());
  EXPECT_EQ(j["present"], sys.size());
  ASSERT_EQ(j["devices"].size(), sys.size());
  for (std::size_t i = 0; i < sys.size(); ++i) {
    const json& d = j["devices"][i];
    EXPECT_EQ(d["index"], sys[i].index);
    EXPECT_EQ(d["path"], "/dev/edu" + std::to_string(sys[i].index));
    EXPECT_EQ(d["pci_address"], sys[i].pci_address);
    EXPECT_EQ(d["irq_mode"], sys[i].irq_mode);
    EXPECT_EQ(d["dma_window"], sys[i].dma_window);
    EXPECT_EQ(d["id_register"], 0x010000ed);
    EXPECT_TRUE(d["counters"].contains("dma_ops"));
  }
  // The table form lists the same nodes.
  const ProcessResult t = eductl_run({"list"});
  ASSERT_EQ(t.status, 0) << show(t);
  for (const auto& s : sys)
    EXPECT_THAT(t.out, HasSubstr("/dev/edu" + std::to_string(s.index)));
}

TEST(Eductl, InfoStatsFactLiveJson) {
  const std::string n = std::to_string(first_index());
  ProcessResult r = eductl_run({"--json", "--device", n, "info"});
  ASSERT_EQ(r.status, 0) << show(r);
  json j = json_of(r);
  EXPECT_EQ(j["command"], "info");
  EXPECT_EQ(j["device"]["index"], first_index());
  EXPECT_EQ(j["identity"]["id_register"], 0x010000ed);
  EXPECT_EQ(j["identity"]["dma_window"], 4095);
  EXPECT_THAT(j["identity"]["caps"].get<std::vector<std::string>>(), ::testing::Contains("dma"));

  r = eductl_run({"stats", "--json", "-d", n});
  ASSERT_EQ(r.status, 0) << show(r);
  EXPECT_TRUE(json_of(r)["counters"].contains("factorial_ops"));

  for (const char* wait : {"default", "irq", "poll", "hybrid"}) {
    r = eductl_run({"--json", "fact", "10", "--wait", wait});
    ASSERT_EQ(r.status, 0) << show(r);
    j = json_of(r);
    EXPECT_EQ(j["result"], 3628800) << wait;
    EXPECT_EQ(j["wait_mode"], wait);
  }
  r = eductl_run({"--json", "fact", "12", "--async"});
  ASSERT_EQ(r.status, 0) << show(r);
  EXPECT_EQ(json_of(r)["result"], 479001600);
  EXPECT_EQ(json_of(r)["async"], true);
  r = eductl_run({"fact", "5"});
  EXPECT_EQ(r.status, 0) << show(r);
  EXPECT_THAT(r.out, HasSubstr("120"));

  r = eductl_run({"--json", "live", "0x1234"});
  ASSERT_EQ(r.status, 0) << show(r);
  EXPECT_EQ(json_of(r)["ok"], true);
  EXPECT_EQ(json_of(r)["inverted"], 0xFFFFEDCBU);
}

TEST(Eductl, WriteReadRoundTripThroughFiles) {
  TempDir t;
  const auto data = pattern(3000, 60);
  write_file(t.path() / "in.bin", data);
  for (const char* path : {"auto", "staging", "pinned", "rw"}) {
    SCOPED_TRACE(path);
    ProcessResult r = eductl_run(
        {"--json", "write", (t.path() / "in.bin").string(), "--offset", "100", "--path", path});
    ASSERT_EQ(r.status, 0) << show(r);
    EXPECT_EQ(json_of(r)["length"], 3000);
    std::filesystem::remove(t.path() / "out.bin");
    r = eductl_run({"read", (t.path() / "out.bin").string(), "--offset", "100", "--length", "3000",
                    "--path", path});
    ASSERT_EQ(r.status, 0) << show(r);
    const auto back = read_file(t.path() / "out.bin");
    EXPECT_EQ(crc32(back), crc32(data));
    EXPECT_TRUE(back == data);
  }
  // stdin in, hex out.
  ProcessResult r = eductl_run({"write", "--offset", "0x10"}, {}, "edu!");
  ASSERT_EQ(r.status, 0) << show(r);
  r = eductl_run({"--json", "read", "--offset", "16", "--length", "4"});
  ASSERT_EQ(r.status, 0) << show(r);
  EXPECT_EQ(json_of(r)["data_hex"], "65647521");
}

TEST(Eductl, CopyVerifiesData) {
  TempDir t;
  const auto data = pattern(20000, 61);
  write_file(t.path() / "in.bin", data);
  ProcessResult r =
      eductl_run({"copy", (t.path() / "in.bin").string(), (t.path() / "out.bin").string(), "--path",
                  "staging", "--no-progress", "--json"});
  ASSERT_EQ(r.status, 0) << show(r);
  json j = json_of(r);
  EXPECT_EQ(j["bytes"], 20000);
  EXPECT_EQ(j["requested_path"], "staging");
  EXPECT_GE(j["dma_transfers"].get<int>(), 2 * 5);
  EXPECT_TRUE(read_file(t.path() / "out.bin") == data);

  // stdin -> stdout, split over every device.
  const std::string text(9000, 'x');
  r = eductl_run({"copy", "--all-devices", "--path", "staging", "--no-progress"}, {}, text);
  ASSERT_EQ(r.status, 0) << show(r);
  EXPECT_EQ(r.out, text);
}

TEST(Eductl, UsageErrorsExit2) {
  TempDir t;
  write_file(t.path() / "big.bin", pattern(5000, 62));
  const std::vector<std::vector<std::string>> cases = {
      {"frobnicate"},
      {"fact"},
      {"fact", "ten"},
      {"fact", "5", "--wait", "sometimes"},
      {"write", (t.path() / "big.bin").string()},  // does not fit the window
      {"read", "--offset", "4095", "--length", "1"},
      {"--device"},
  };
  for (const auto& args : cases) {
    const ProcessResult r = eductl_run(args);
    EXPECT_EQ(r.status, 2) << ::testing::PrintToString(args) << "\n" << show(r);
    EXPECT_THAT(r.err, StartsWith("eductl: ")) << ::testing::PrintToString(args);
  }
  const ProcessResult bad = eductl_run({"list"}, {{"EDU_VISIBLE_DEVICES", "a"}});
  EXPECT_EQ(bad.status, 2) << show(bad);
  EXPECT_THAT(bad.err, HasSubstr("EDU_VISIBLE_DEVICES"));
}

TEST(Eductl, NoDeviceExit3) {
  ProcessResult r = eductl_run({"info"}, {{"EDU_VISIBLE_DEVICES", ""}});
  EXPECT_EQ(r.status, 3) << show(r);
  EXPECT_THAT(r.err, HasSubstr("EDU_VISIBLE_DEVICES"));

  r = eductl_run({"--json", "--device", "99", "info"});
  EXPECT_EQ(r.status, 3) << show(r);
  EXPECT_THAT(r.err, HasSubstr("present device indices"));
  const json j = json_of(r);
  EXPECT_EQ(j["error"]["code"], "edu:no_device");
  EXPECT_EQ(j["error"]["exit_code"], 3);
  EXPECT_THAT(j["error"]["hint"].get<std::string>(), HasSubstr("present device indices"));

  const auto sys = sysfs_devices();
  if (sys.size() > 1) {
    // Hidden by the filter: also "no such device".
    r = eductl_run({"fact", "3", "--device", std::to_string(sys.back().index)},
                   {{"EDU_VISIBLE_DEVICES", std::to_string(sys.front().index)}});
    EXPECT_EQ(r.status, 3) << show(r);
    EXPECT_THAT(r.err, HasSubstr("hides it"));
  }
  // list with nothing visible is not an error.
  r = eductl_run({"--json", "list"}, {{"EDU_VISIBLE_DEVICES", ""}});
  EXPECT_EQ(r.status, 0) << show(r);
  EXPECT_TRUE(json_of(r)["devices"].empty());
  EXPECT_EQ(json_of(r)["visible_filter"], "");
}

}  // namespace
}  // namespace edulibtest
