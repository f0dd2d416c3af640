// eductl output: JSON shape, error lines and exit codes, progress bar, and
// whole commands against a fake sysfs tree (no device needed).
#include <cerrno>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "edu/error.hpp"
#include "eductl/app.hpp"
#include "eductl/output.hpp"
#include "fake_edu.hpp"
#include "fake_sysfs.hpp"

namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::set<std::string> keys(const json& j) {
  std::set<std::string> k;
  for (const auto& [key, value] : j.items())
    k.insert(key);
  return k;
}

edu::DeviceInfo sample_info() {
  edu::DeviceInfo i;
  i.index = 3;
  i.name = "edu3";
  i.sysfs_path = "/sys/class/edu/edu3";
  i.dev_path = "/dev/edu3";
  i.id_register = 0x010000ed;
  i.version = "1.0";
  i.irq_mode = edu::IrqMode::intx;
  i.dma_mask_bits = 28;
  i.dma_window = 4095;
  i.pci_address = "0000:00:07.0";
  i.counters.dma_ops = 9;
  return i;
}

TEST(EductlJson, DeviceShape) {
  const json j = eductl::device_json(sample_info());
  EXPECT_EQ(keys(j), (std::set<std::string>{"index", "name", "path", "sysfs_path", "pci_address",
                                            "id_register", "version", "irq_mode", "dma_mask_bits",
                                            "dma_window", "counters"}));
  EXPECT_EQ(j["index"], 3);
  EXPECT_EQ(j["path"], "/dev/edu3");
  EXPECT_EQ(j["irq_mode"], "intx");
  EXPECT_EQ(j["id_register"], 0x010000ed);
  EXPECT_EQ(keys(j["counters"]), (std::set<std::string>{"irqs", "factorial_ops", "dma_ops",
                                                        "dma_bytes", "errors", "timeouts"}));
  EXPECT_EQ(j["counters"]["dma_ops"], 9);
}

TEST(EductlJson, IdentityShape) {
  edu::drv::Identity id;
  id.id_register = 0x010000ed;
  id.major = 1;
  id.irq_mode = edu::IrqMode::msi;
  id.dma_window = 4095;
  id.staging_size = 16384;
  id.caps.bits = 0x7;
  const json j = eductl::identity_json(id);
  EXPECT_EQ(keys(j), (std::set<std::string>{"id_register", "major", "minor", "index", "irq_mode",
                                            "dma_mask_bits", "dma_window", "staging_size", "caps",
                                            "caps_bits"}));
  EXPECT_EQ(j["caps"], json({"factorial_irq", "dma", "async"}));
  EXPECT_EQ(j["irq_mode"], "msi");
}

TEST(EductlJson, EnvelopeAndError) {
  EXPECT_EQ(eductl::envelope(eductl::Verb::reg_read),
            json({{"schema", eductl::kJsonSchemaVersion}, {"command", "reg read"}}));
  eductl::ErrorReport r{
      "open /dev/edu0", "No such file or directory", "try `modprobe edu`", "ENOENT", ENOENT, 3};
  const json j = eductl::error_json(r, eductl::Verb::fact);
  EXPECT_EQ(j["command"], "fact");
  EXPECT_EQ(keys(j["error"]), (std::set<std::string>{"message", "what", "why", "hint", "code",
                                                     "errno", "exit_code"}));
  EXPECT_EQ(j["error"]["message"],
            "open /dev/edu0: No such file or directory — try `modprobe edu`");
  EXPECT_EQ(j["error"]["exit_code"], 3);
}

TEST(EductlErrors, LineFormat) {
  eductl::ErrorReport r{
      "open /dev/edu0", "No such file or directory", "try `modprobe edu`", "ENOENT", ENOENT, 3};
  EXPECT_EQ(eductl::error_line(r),
            "eductl: open /dev/edu0: No such file or directory — try `modprobe edu`");
  r.hint.clear();
  EXPECT_EQ(eductl::error_line(r), "eductl: open /dev/edu0: No such file or directory");
}

TEST(EductlErrors, ExitCodes) {
  const auto sys = [](int v) { return std::error_code(v, std::system_category()); };
  EXPECT_EQ(eductl::exit_code_for(edu::errc::no_device), 3);
  EXPECT_EQ(eductl::exit_code_for(edu::errc::device_not_visible), 3);
  EXPECT_EQ(eductl::exit_code_for(sys(ENOENT)), 3);
  EXPECT_EQ(eductl::exit_code_for(sys(ENODEV)), 3);
  EXPECT_EQ(eductl::exit_code_for(sys(EACCES)), 4);
  EXPECT_EQ(eductl::exit_code_for(sys(EPERM)), 4);
  EXPECT_EQ(eductl::exit_code_for(sys(ETIMEDOUT)), 5);
  EXPECT_EQ(eductl::exit_code_for(edu::errc::out_of_window), 2);
  EXPECT_EQ(eductl::exit_code_for(edu::errc::bad_visible_devices), 2);
  EXPECT_EQ(eductl::exit_code_for(sys(EIO)), 1);
  EXPECT_EQ(eductl::exit_code_for(sys(EINVAL)), 1);
}

TEST(EductlErrors, Classify) {
  const auto r =
      eductl::classify(edu::make_errno_error(ENOENT, "open /dev/edu0", edu::Context::open));
  EXPECT_EQ(r.what, "open /dev/edu0");
  EXPECT_EQ(r.code, "ENOENT");
  EXPECT_EQ(r.errno_value, ENOENT);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.hint, HasSubstr("modprobe edu"));

  const auto e = eductl::classify(edu::Error(edu::errc::no_device, "find", "h"));
  EXPECT_EQ(e.code, "edu:no_device");
  EXPECT_EQ(e.errno_value, 0);

  // A user's file that does not exist is not "no device".
  const auto f =
      eductl::classify(std::system_error(ENOENT, std::system_category(), "open input.bin"));
  EXPECT_EQ(f.what, "open input.bin");
  EXPECT_EQ(f.exit_code, 1);
  EXPECT_TRUE(f.hint.empty());

  const auto g = eductl::classify(std::runtime_error("boom"));
  EXPECT_EQ(g.exit_code, 1);
  EXPECT_EQ(g.why, "boom");
}

TEST(EductlFormat, Bytes) {
  EXPECT_EQ(eductl::format_bytes(0), "0 B");
  EXPECT_EQ(eductl::format_bytes(1023), "1023 B");
  EXPECT_EQ(eductl::format_bytes(1024), "1.0 KiB");
  EXPECT_EQ(eductl::format_bytes(1536 * 1024), "1.5 MiB");
  EXPECT_EQ(eductl::format_bytes(3.0 * 1024 * 1024 * 1024), "3.0 GiB");
}

TEST(EductlFormat, Duration) {
  using std::chrono::seconds;
  EXPECT_EQ(eductl::format_duration(seconds(0)), "0:00");
  EXPECT_EQ(eductl::format_duration(seconds(75)), "1:15");
  EXPECT_EQ(eductl::format_duration(seconds(3725)), "1:02:05");
  EXPECT_EQ(eductl::format_duration(seconds(-5)), "0:00");
}

TEST(EductlFormat, ProgressWithTotal) {
  using namespace std::chrono_literals;
  const std::string line = eductl::format_progress(512, 1024, 2s, 10);
  EXPECT_EQ(line, "\r[=====>    ]  50%  512 B / 1.0 KiB  256 B/s  ETA 0:02");
  const std::string done = eductl::format_progress(1024, 1024, 4s, 4);
  EXPECT_THAT(done, StartsWith("\r[====] 100%"));
  EXPECT_THAT(done, HasSubstr("ETA 0:00"));
  const std::string start = eductl::format_progress(0, 1024, 0s, 4);
  EXPECT_THAT(start, HasSubstr("ETA --:--"));
  EXPECT_THAT(eductl::format_progress(0, 0, 1s, 4), HasSubstr("100%"));
}

TEST(EductlFormat, ProgressWithoutTotal) {
  using namespace std::chrono_literals;
  EXPECT_EQ(eductl::format_progress(2048, std::nullopt, 2s), "\r  2.0 KiB  1.0 KiB/s");
}

TEST(EductlFormat, HexAndText) {
  const std::array<std::byte, 3> b{std::byte{0x00}, std::byte{0xAB}, std::byte{0x0F}};
  EXPECT_EQ(eductl::to_hex(b), "00ab0f");
  EXPECT_EQ(eductl::hex32(0xed), "0x000000ed");
  EXPECT_THAT(eductl::list_text({}, 0, std::nullopt), HasSubstr("modprobe edu"));
  EXPECT_THAT(eductl::list_text({}, 2, std::string("")), HasSubstr("EDU_VISIBLE_DEVICES"));
  const std::vector<edu::DeviceInfo> v{sample_info()};
  const std::string t = eductl::list_text(v, 1, std::nullopt);
  EXPECT_THAT(t, HasSubstr("/dev/edu3"));
  EXPECT_THAT(t, HasSubstr("0000:00:07.0"));
  EXPECT_THAT(eductl::counters_text({}), HasSubstr("dma_bytes"));
}

// ---- whole commands against a fake sysfs tree

struct RunResult {
  int code;
  std::string out;
  std::string err;
};

RunResult run(const edutest::FakeSysfs& fs, const std::vector<std::string>& args,
              std::optional<std::string> filter = std::nullopt) {
  std::ostringstream out;
  std::ostringstream err;
  const auto parsed = eductl::parse_command_line(args, out, err);
  if (!parsed.command) return {parsed.exit_code, out.str(), err.str()};
  eductl::Environment env;
  env.discovery.sysfs_root = fs.sys();
  env.discovery.dev_root = fs.dev();
  env.discovery.visible_devices = std::move(filter);
  env.out = &out;
  env.err = &err;
  const int code = eductl::run(*parsed.command, env);
  return {code, out.str(), err.str()};
}

TEST(EductlRun, ListJson) {
  edutest::FakeSysfs fs;
  fs.add_device(1, "0000:00:05.0");
  fs.add_device(0, "0000:00:04.0");
  const RunResult r = run(fs, {"list", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(keys(j),
            (std::set<std::string>{"schema", "command", "devices", "present", "visible_filter"}));
  EXPECT_EQ(j["command"], "list");
  ASSERT_EQ(j["devices"].size(), 2U);
  EXPECT_EQ(j["devices"][0]["index"], 0);
  EXPECT_EQ(j["devices"][1]["pci_address"], "0000:00:05.0");
  EXPECT_EQ(j["present"], 2);
  EXPECT_TRUE(j["visible_filter"].is_null());
}

TEST(EductlRun, ListHonoursVisibleDevices) {
  edutest::FakeSysfs fs;
  fs.add_device(0);
  fs.add_device(1);
  const RunResult r = run(fs, {"--json", "list"}, "1");
  const json j = json::parse(r.out);
  ASSERT_EQ(j["devices"].size(), 1U);
  EXPECT_EQ(j["devices"][0]["index"], 1);
  EXPECT_EQ(j["visible_filter"], "1");
  const RunResult t = run(fs, {"list"}, "1");
  EXPECT_THAT(t.out, HasSubstr("1 of 2"));
}

TEST(EductlRun, ListWithoutDriverSaysModprobe) {
  edutest::FakeSysfs fs;
  const RunResult r = run(fs, {"list"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("modprobe edu"));
}

TEST(EductlRun, NoDeviceIsExit3WithOneLine) {
  edutest::FakeSysfs fs;
  const RunResult r = run(fs, {"fact", "5"});
  EXPECT_EQ(r.code, 3);
  EXPECT_THAT(r.err, StartsWith("eductl: "));
  EXPECT_THAT(r.err, HasSubstr("is the driver loaded? try `modprobe edu`"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  EXPECT_TRUE(r.out.empty());
}

TEST(EductlRun, MissingNodeIsExit3WithHint) {
  edutest::FakeSysfs fs;
  fs.add_device(0);  // sysfs entry but no /dev/edu0
  const RunResult r = run(fs, {"info", "--json"});
  EXPECT_EQ(r.code, 3);
  EXPECT_THAT(r.err, HasSubstr("eductl: open " + (fs.dev() / "edu0").string()));
  EXPECT_THAT(r.err, HasSubstr("modprobe edu"));
  const json j = json::parse(r.out);
  EXPECT_EQ(j["command"], "info");
  EXPECT_EQ(j["error"]["code"], "ENOENT");
  EXPECT_EQ(j["error"]["exit_code"], 3);
}

TEST(EductlRun, HiddenDeviceIsExit3) {
  edutest::FakeSysfs fs;
  fs.add_device(0);
  fs.add_device(1);
  const RunResult r = run(fs, {"--device", "0", "stats"}, "1");
  EXPECT_EQ(r.code, 3);
  EXPECT_THAT(r.err, HasSubstr("EDU_VISIBLE_DEVICES"));
}

TEST(EductlRun, MalformedVisibleDevicesIsUsageError) {
  edutest::FakeSysfs fs;
  fs.add_device(0);
  const RunResult r = run(fs, {"info"}, "zero");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("EDU_VISIBLE_DEVICES"));
}

TEST(EductlRun, NotAnEduNodeIsOperationFailure) {
  edutest::FakeSysfs fs;
  fs.add_device(0);
  fs.add_node(0);  // regular file: identify fails with ENOTTY
  const RunResult r = run(fs, {"info"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("not an edu device"));
}

TEST(EductlRun, UsageErrorsDoNotTouchDevices) {
  edutest::FakeSysfs fs;
  const RunResult r = run(fs, {"fact"});
  EXPECT_EQ(r.code, 2);
}

// ---- whole commands against emulated devices (fake_edu.hpp)

class EductlDevices : public ::testing::Test {
 protected:
  void SetUp() override {
    for (unsigned i = 0; i < 2; ++i) {
      fs_.add_device(i);
      fakes_.push_back(
          std::make_unique<edutest::FakeEdu>(fs_.dev() / ("edu" + std::to_string(i)), i));
    }
  }
  RunResult eductl(const std::vector<std::string>& args) { return run(fs_, args); }
  json eductl_json(std::vector<std::string> args) {
    args.emplace_back("--json");
    const RunResult r = eductl(args);
    EXPECT_EQ(r.code, 0) << r.err;
    return json::parse(r.out);
  }
  std::filesystem::path file(const std::string& name, const std::string& content) {
    auto p = fs_.dev().parent_path() / name;
    edutest::FakeSysfs::write(p, content);
    return p;
  }
  static std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  edutest::FakeEduState& fake(unsigned i) { return fakes_[i]->state(); }

  edutest::FakeSysfs fs_;
  std::vector<std::unique_ptr<edutest::FakeEdu>> fakes_;
};

TEST_F(EductlDevices, InfoAndStatsShape) {
  json j = eductl_json({"info", "--device", "1"});
  EXPECT_EQ(keys(j), (std::set<std::string>{"schema", "command", "device", "identity"}));
  EXPECT_EQ(j["device"]["index"], 1);
  EXPECT_EQ(j["identity"]["dma_window"], 4095);
  EXPECT_EQ(j["identity"]["staging_size"], 16384);
  j = eductl_json({"stats"});
  EXPECT_EQ(keys(j), (std::set<std::string>{"schema", "command", "device", "counters"}));
  EXPECT_EQ(j["device"], 0);
  EXPECT_EQ(j["counters"]["dma_ops"], 0);
  const RunResult text = eductl({"info"});
  EXPECT_THAT(text.out, HasSubstr("0x010000ed (version 1.0)"));
}

TEST_F(EductlDevices, FactLiveIrq) {
  json j = eductl_json({"fact", "5", "--wait", "poll"});
  EXPECT_EQ(keys(j), (std::set<std::string>{"schema", "command", "device", "input", "result",
                                            "wait_mode", "async", "elapsed_ns"}));
  EXPECT_EQ(j["result"], 120);
  EXPECT_EQ(j["wait_mode"], "poll");
  EXPECT_EQ(fake(0).wait_flags.back(), 2U);  // EDU_WAIT_POLL reached the driver
  j = eductl_json({"fact", "0xc", "--async"});
  EXPECT_EQ(j["result"], 479001600);
  EXPECT_EQ(j["wait_mode"], "async");
  EXPECT_EQ(j["async"], true);
  j = eductl_json({"live", "0x0f0f0f0f"});
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["inverted"], 0xf0f0f0f0U);
  j = eductl_json({"irq"});
  EXPECT_EQ(j["irq_count"], 1);
  EXPECT_EQ(j["status"], 0x10000);
  EXPECT_EQ(eductl({"fact", "10"}).out, "10! mod 2^32 = 3628800\n");
}

TEST_F(EductlDevices, WriteThenReadBack) {
  const auto in = file("in.bin", "hello, edu device");
  json w = eductl_json({"write", in.string(), "--offset", "100"});
  EXPECT_EQ(keys(w), (std::set<std::string>{"schema", "command", "device", "offset", "length",
                                            "path", "dma_transfers", "elapsed_ns", "input"}));
  EXPECT_EQ(w["length"], 17);
  EXPECT_EQ(w["path"], "staging");
  json r = eductl_json({"read", "--offset", "100", "--length", "5"});
  EXPECT_EQ(r["data_hex"], "68656c6c6f");  // "hello"
  EXPECT_TRUE(r["output"].is_null());
  const auto out = fs_.dev().parent_path() / "out.bin";
  r = eductl_json({"read", out.string(), "--offset", "100", "--length", "17", "--path", "pinned"});
  EXPECT_FALSE(r.contains("data_hex"));
  EXPECT_EQ(r["path"], "pinned");
  EXPECT_EQ(slurp(out), "hello, edu device");
}

TEST_F(EductlDevices, WriteLimits) {
  const auto big = file("big.bin", std::string(5000, 'x'));
  RunResult r = eductl({"write", big.string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--length"));
  r = eductl({"write", big.string(), "--length", "4095"});
  EXPECT_EQ(r.code, 0) << r.err;
  r = eductl({"write", big.string(), "--offset", "4095"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("window"));
  const auto tiny = file("tiny.bin", "abc");
  r = eductl({"write", tiny.string(), "--length", "10"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("only 3 bytes"));
  r = eductl({"write", (fs_.dev().parent_path() / "missing.bin").string()});
  EXPECT_EQ(r.code, 1);  // the user's file, not the device
  EXPECT_THAT(r.err, HasSubstr("eductl: open "));
}

TEST_F(EductlDevices, CopyStreamsAnySize) {
  std::string data(3 * 4095 + 321, '\0');
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 7);
  const auto in = file("copy-in.bin", data);
  const auto out = fs_.dev().parent_path() / "copy-out.bin";
  json j = eductl_json({"copy", in.string(), out.string(), "--block-size", "5000"});
  EXPECT_EQ(keys(j), (std::set<std::string>{"schema", "command", "devices", "input", "output",
                                            "bytes", "requested_path", "paths_used",
                                            "dma_transfers", "elapsed_ns", "bytes_per_second"}));
  EXPECT_EQ(j["bytes"], data.size());
  EXPECT_EQ(j["devices"], json::array({0}));
  EXPECT_EQ(j["paths_used"], json::array({"staging"}));
  EXPECT_EQ(slurp(out), data);
  j = eductl_json({"copy", in.string(), out.string(), "--all-devices", "--path", "pinned"});
  EXPECT_EQ(j["devices"], json::array({0, 1}));
  EXPECT_EQ(slurp(out), data);
  EXPECT_GT(fake(1).counters.dma_bytes, 0U);
}

TEST_F(EductlDevices, CopyProgressGoesToStderr) {
  const auto in = file("p-in.bin", std::string(20000, 'p'));
  const auto out = fs_.dev().parent_path() / "p-out.bin";
  const RunResult r = eductl({"copy", in.string(), out.string(), "--progress"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_THAT(r.err, HasSubstr("100%"));
  EXPECT_THAT(r.err, HasSubstr("ETA"));
  const RunResult quiet = eductl({"copy", in.string(), out.string()});  // stderr not a tty
  EXPECT_THAT(quiet.err, ::testing::Not(HasSubstr("ETA")));
}

TEST_F(EductlDevices, RegisterAccessWithoutRootIsExit4) {
  const RunResult r = eductl({"reg", "read", "0x4"});
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, HasSubstr("CAP_SYS_ADMIN"));
}

TEST_F(EductlDevices, DriverTimeoutIsExit5) {
  fake(0).fail_after_calls = 1;  // identify passes, the factorial times out
  fake(0).fail_errno = ETIMEDOUT;
  const RunResult r = eductl({"fact", "3"});
  EXPECT_EQ(r.code, 5);
  EXPECT_THAT(r.err, HasSubstr("eductl: factorial(3) on "));
  EXPECT_THAT(r.err, HasSubstr("60000"));
}

}  // namespace
