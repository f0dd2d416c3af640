// --verdict-json and --junit output.
#include "report.hpp"

#include <gtest/gtest.h>

#include "exit_codes.hpp"

using namespace edulab;

namespace {

Evidence run_with_reports() {
  Evidence e;
  e.ready = true;
  e.guest_status = 1;
  e.qemu.exited = true;
  e.expect_gtest = true;
  e.allowed_skips = {{"Dma.Big*", "needs --mem 2G"}};
  e.gtest_reports = {R"({"tests": 3, "failures": 1, "testsuites": [
    {"name": "Dma", "testsuite": [
      {"name": "Ok", "status": "RUN", "result": "COMPLETED", "time": "0.25s"},
      {"name": "Bad<&>", "status": "RUN", "result": "COMPLETED", "time": "1s",
       "failures": [{"failure": "x.cpp:1\nExpected: 1 < 2", "type": ""}]},
      {"name": "BigBounce", "status": "RUN", "result": "SKIPPED", "time": "0s"}]}]})"};
  return e;
}

}  // namespace

TEST(VerdictJson, TellsTheCommandsStatusFromARunnerVerdict) {
  Evidence e;
  e.ready = true;
  e.guest_status = 124;  // the command's own status
  e.qemu.exited = true;
  const RunFacts facts{"x86_64", "stock", "tcg", 2.5, 7.0};
  auto j = verdict_json(classify(e), e, facts);
  EXPECT_EQ(j["status"], 124);
  EXPECT_EQ(j["source"], "guest");
  EXPECT_EQ(j["outcome"], "completed");
  EXPECT_EQ(j["accelerator"], "tcg");
  EXPECT_EQ(j["boot_seconds"], 2.5);
  EXPECT_EQ(j["total_seconds"], 7.0);
  EXPECT_TRUE(j["tests"].is_null());

  Evidence t;
  t.ready = true;
  t.timed_out = true;
  t.qemu.signal = 9;
  j = verdict_json(classify(t), t, facts);
  EXPECT_EQ(j["status"], kExitTimeout);
  EXPECT_EQ(j["source"], "runner");
  EXPECT_EQ(j["outcome"], "timeout");
  EXPECT_FALSE(j["reason"].get<std::string>().empty());
}

TEST(VerdictJson, CountsAndNamesTests) {
  const Evidence e = run_with_reports();
  const auto j = verdict_json(classify(e), e, RunFacts{"x86_64", "debug", "tcg", {}, 1.0});
  EXPECT_EQ(j["status"], 1);
  EXPECT_TRUE(j["boot_seconds"].is_null());
  EXPECT_EQ(j["tests"]["run"], 2);
  EXPECT_EQ(j["tests"]["failed"], 1);
  EXPECT_EQ(j["tests"]["skipped"], 1);
  EXPECT_EQ(j["tests"]["failed_tests"][0], "Dma.Bad<&>");
  EXPECT_EQ(j["tests"]["skipped_tests"][0]["name"], "Dma.BigBounce");
  EXPECT_EQ(j["tests"]["skipped_tests"][0]["allowed"], true);
  EXPECT_EQ(j["tests"]["skipped_tests"][0]["reason"], "needs --mem 2G");
}

TEST(Junit, OneTestcasePerTestWithFailuresAndSkips) {
  const Evidence e = run_with_reports();
  const std::string x = junit_xml(summarize_gtest_reports(e.gtest_reports), "vm.x86_64.msi");
  EXPECT_NE(x.find(R"(<testsuites name="vm.x86_64.msi" tests="3" failures="1" skipped="1")"),
            std::string::npos)
      << x;
  EXPECT_NE(
      x.find(
          R"(<testsuite name="vm.x86_64.msi/Dma" tests="3" failures="1" errors="0" skipped="1" time="1.250">)"),
      std::string::npos)
      << x;
  EXPECT_NE(x.find(R"(<testcase classname="vm.x86_64.msi/Dma" name="Ok" time="0.250"/>)"),
            std::string::npos)
      << x;
  EXPECT_NE(x.find(R"(name="Bad&lt;&amp;&gt;")"), std::string::npos) << x;
  EXPECT_NE(x.find(R"(<failure message="x.cpp:1">x.cpp:1)"), std::string::npos) << x;
  EXPECT_NE(x.find("<skipped/>"), std::string::npos) << x;
}
