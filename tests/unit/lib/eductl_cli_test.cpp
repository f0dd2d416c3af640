// eductl argument parsing: command line -> Command, usage errors, help.
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "eductl/cli.hpp"

namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Parsed {
  eductl::ParseResult result;
  std::string out;
  std::string err;
};

Parsed parse(const std::vector<std::string>& args) {
  std::ostringstream out;
  std::ostringstream err;
  Parsed p{eductl::parse_command_line(args, out, err), {}, {}};
  p.out = out.str();
  p.err = err.str();
  return p;
}

eductl::Command ok(const std::vector<std::string>& args) {
  auto p = parse(args);
  EXPECT_TRUE(p.result.command.has_value()) << p.err;
  return p.result.command.value_or(eductl::Command{});
}

void expect_usage_error(const std::vector<std::string>& args, const std::string& fragment) {
  auto p = parse(args);
  EXPECT_FALSE(p.result.command.has_value());
  EXPECT_EQ(p.result.exit_code, 2);
  EXPECT_THAT(p.err, StartsWith("eductl: "));
  EXPECT_THAT(p.err, HasSubstr(fragment));
  EXPECT_THAT(p.err, HasSubstr("--help`"));
  EXPECT_EQ(std::count(p.err.begin(), p.err.end(), '\n'), 1) << "one line: " << p.err;
}

TEST(EductlCli, List) {
  const auto c = ok({"list"});
  EXPECT_EQ(c.verb, eductl::Verb::list);
  EXPECT_FALSE(c.json);
  EXPECT_FALSE(c.device.has_value());
}

TEST(EductlCli, GlobalOptionsBeforeOrAfterSubcommand) {
  auto c = ok({"--device", "2", "--json", "info"});
  EXPECT_EQ(c.verb, eductl::Verb::info);
  EXPECT_EQ(c.device, 2U);
  EXPECT_TRUE(c.json);
  c = ok({"stats", "-d", "1", "--json"});
  EXPECT_EQ(c.verb, eductl::Verb::stats);
  EXPECT_EQ(c.device, 1U);
  EXPECT_TRUE(c.json);
}

TEST(EductlCli, Factorial) {
  auto c = ok({"fact", "10"});
  EXPECT_EQ(c.verb, eductl::Verb::fact);
  EXPECT_EQ(c.n, 10U);
  EXPECT_EQ(c.wait, edu::WaitMode::driver_default);
  EXPECT_EQ(c.timeout_ms, 0U);
  c = ok({"fact", "0xc", "--wait", "poll", "--timeout", "250"});
  EXPECT_EQ(c.n, 12U);
  EXPECT_EQ(c.wait, edu::WaitMode::poll);
  EXPECT_EQ(c.timeout_ms, 250U);
  c = ok({"fact", "5", "--async"});
  EXPECT_TRUE(c.async);
}

TEST(EductlCli, FactorialUsageErrors) {
  expect_usage_error({"fact"}, "N");
  expect_usage_error({"fact", "5", "--wait", "sometimes"}, "sometimes");
  expect_usage_error({"fact", "5", "--timeout", "60001"}, "60001");
  expect_usage_error({"fact", "5", "--async", "--wait", "irq"}, "--async");
  expect_usage_error({"fact", "five"}, "five");
}

TEST(EductlCli, LiveAndIrq) {
  auto c = ok({"live"});
  EXPECT_EQ(c.value, 0x12345678U);
  c = ok({"live", "0xdeadbeef"});
  EXPECT_EQ(c.value, 0xdeadbeefU);
  c = ok({"irq"});
  EXPECT_EQ(c.irq_status, 0x10000U);
  c = ok({"irq", "0x2"});
  EXPECT_EQ(c.irq_status, 0x2U);
  expect_usage_error({"irq", "0x1"}, "0x100");
  expect_usage_error({"irq", "0x100"}, "0x100");
  expect_usage_error({"irq", "0"}, "non-zero");
}

TEST(EductlCli, WriteAndRead) {
  auto c = ok({"write", "data.bin", "--offset", "16", "--length", "100", "--path", "pinned"});
  EXPECT_EQ(c.verb, eductl::Verb::write);
  EXPECT_EQ(c.input, "data.bin");
  EXPECT_EQ(c.offset, 16U);
  EXPECT_EQ(c.length, 100U);
  EXPECT_EQ(c.path, edu::CopyPath::pinned);
  c = ok({"write"});
  EXPECT_EQ(c.input, "-");
  EXPECT_FALSE(c.length.has_value());
  c = ok({"read", "-o", "8", "-l", "4", "-p", "rw"});
  EXPECT_EQ(c.verb, eductl::Verb::read);
  EXPECT_EQ(c.output, "-");
  EXPECT_EQ(c.offset, 8U);
  EXPECT_EQ(c.length, 4U);
  EXPECT_EQ(c.path, edu::CopyPath::read_write);
  expect_usage_error({"read", "--length", "0"}, "--length");
  expect_usage_error({"read", "--path", "teleport"}, "teleport");
}

TEST(EductlCli, Copy) {
  auto c = ok({"copy"});
  EXPECT_EQ(c.verb, eductl::Verb::copy);
  EXPECT_EQ(c.input, "-");
  EXPECT_EQ(c.output, "-");
  EXPECT_EQ(c.progress, eductl::Progress::automatic);
  c = ok({"copy", "in", "out", "--all-devices", "--no-progress", "-b", "65536", "--json"});
  EXPECT_EQ(c.input, "in");
  EXPECT_EQ(c.output, "out");
  EXPECT_TRUE(c.all_devices);
  EXPECT_EQ(c.progress, eductl::Progress::never);
  EXPECT_EQ(c.block_size, 65536U);
  c = ok({"copy", "in", "out", "--progress"});
  EXPECT_EQ(c.progress, eductl::Progress::always);
  expect_usage_error({"copy", "in", "--json"}, "stdout carries the data");
  expect_usage_error({"copy", "in", "out", "--progress", "--no-progress"}, "progress");
  expect_usage_error({"copy", "--all-devices", "--device", "1", "a", "b"}, "--all-devices");
}

TEST(EductlCli, Registers) {
  auto c = ok({"reg", "read", "0x4"});
  EXPECT_EQ(c.verb, eductl::Verb::reg_read);
  EXPECT_EQ(c.reg_offset, 4U);
  EXPECT_EQ(c.reg_width, 4U);
  c = ok({"reg", "write", "0x4", "0x55", "--width", "4"});
  EXPECT_EQ(c.verb, eductl::Verb::reg_write);
  EXPECT_EQ(c.reg_value, 0x55U);
  expect_usage_error({"reg"}, "subcommand");
  expect_usage_error({"reg", "read", "0x4", "--width", "2"}, "2");
}

TEST(EductlCli, UsageErrors) {
  expect_usage_error({}, "subcommand");
  expect_usage_error({"list", "extra"}, "extra");
  expect_usage_error({"--device", "x", "list"}, "x");
  expect_usage_error({"list", "--frobnicate"}, "frobnicate");
}

TEST(EductlCli, HelpEverywhereExitsZero) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--help"},
                                               {"list", "--help"},
                                               {"fact", "-h"},
                                               {"copy", "--help"},
                                               {"reg", "read", "--help"},
                                               {"write", "--help"}}) {
    auto p = parse(args);
    EXPECT_FALSE(p.result.command.has_value());
    EXPECT_EQ(p.result.exit_code, 0);
    EXPECT_THAT(p.out, HasSubstr("Usage:"));
    EXPECT_TRUE(p.err.empty());
  }
  auto top = parse({"--help"});
  EXPECT_THAT(top.out, HasSubstr("Exit codes:"));
  EXPECT_THAT(top.out, HasSubstr("copy"));
  auto fact = parse({"fact", "--help"});
  EXPECT_THAT(fact.out, HasSubstr("--wait"));
}

TEST(EductlCli, Names) {
  EXPECT_STREQ(eductl::verb_name(eductl::Verb::reg_write), "reg write");
  EXPECT_EQ(eductl::parse_copy_path("auto"), edu::CopyPath::automatic);
  EXPECT_EQ(eductl::parse_copy_path("bogus"), std::nullopt);
}

}  // namespace
