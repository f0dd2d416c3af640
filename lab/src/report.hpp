// What a run leaves for machines to read: the verdict as JSON
// (--verdict-json) and the guest's GoogleTest reports as JUnit XML (--junit),
// the format CI servers (GitLab, Jenkins, GitHub) show per test.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "verdict.hpp"

namespace edulab {

struct RunFacts {
  std::string arch;
  std::string kernel;
  std::string accelerator;             // what QEMU ran with: "tcg" or "kvm"
  std::optional<double> boot_seconds;  // start to the guest's READY
  double total_seconds = 0;
};

// {"status", "outcome", "source" ("guest": the command's own status, or
// "runner": a verdict), "reason", "excerpt", "tests": {...}, "accelerator",
// "boot_seconds", "total_seconds", ...}
nlohmann::json verdict_json(const Verdict& v, const Evidence& e, const RunFacts& facts);

// One <testsuites> document; each GoogleTest suite becomes a <testsuite>
// named "<scenario>/<suite>", so the scenarios of one CI run stay apart.
std::string junit_xml(const GtestSummary& s, const std::string& scenario);

}  // namespace edulab
