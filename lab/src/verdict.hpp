// Turns what a VM run left behind into one honest verdict and exit status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "options.hpp"

namespace edulab {

enum class Outcome {
  completed,       // the command ran and reported its status
  missing_result,  // the guest ended without reporting, or test results are missing
  boot_failure,
  guest_oops,
  qemu_crash,
  timeout,
};

std::string to_string(Outcome o);

// How the QEMU process ended.
struct QemuExit {
  bool exited = false;  // normal exit (status valid) as opposed to a signal
  int status = 0;
  int signal = 0;
};

// A kernel log line that must fail the run, with surrounding context.
struct KernelProblem {
  std::string line;
  std::vector<std::string> context;
};

// Scans a kernel log (console or dmesg) for oopses, panics, BUG/WARNING
// splats, KASAN, lockdep, DMA-API debug and kmemleak reports. Known benign
// boot messages that share a keyword are ignored.
// Lines also found in `already_reported` (another log of the same run) are
// passed over, so a second log adds only what the first one lacks.
std::vector<KernelProblem> find_kernel_problems(std::string_view log,
                                                std::string_view already_reported = {});

// Scans QEMU's own stderr for fatal errors (hardware error, assertion, abort).
std::optional<std::string> find_qemu_fatal(std::string_view qemu_output);

// One test of a GoogleTest report.
struct GtestCase {
  std::string suite;
  std::string name;
  enum class Result { passed, failed, skipped } result = Result::passed;
  double seconds = 0;
  std::vector<std::string> failures;  // the failure messages
  [[nodiscard]] std::string full_name() const { return suite + "." + name; }
};

struct GtestSummary {
  int files = 0;
  int tests = 0;
  int failures = 0;
  int errors = 0;
  int skipped = 0;
  std::vector<std::string> problems;  // unreadable files, failed test names
  std::vector<GtestCase> cases;
};

// Reads GoogleTest JSON reports (--gtest_output=json:...).
GtestSummary summarize_gtest_reports(const std::vector<std::string>& json_documents);

// The skipped tests that no allowance covers.
std::vector<std::string> unexpected_skips(const GtestSummary& s,
                                          const std::vector<AllowedSkip>& allowed);

// The reason a skip is allowed, if one is.
std::optional<std::string> skip_allowance(const std::string& test,
                                          const std::vector<AllowedSkip>& allowed);

struct Evidence {
  std::string console;  // kernel console
  std::string kmsg;     // kernel log streamed by the guest (decoded /dev/kmsg records)
  // When the runner asked the guest for a task dump (a limit was hit), only
  // what the logs held before that is judged: the dump's stack traces are
  // evidence, not a problem.
  std::size_t console_judged = std::string::npos;
  std::size_t kmsg_judged = std::string::npos;
  bool task_dump_requested = false;
  std::uint64_t kmsg_records = 0;
  std::uint64_t kmsg_lost = 0;
  std::string qemu_output;  // QEMU's stdout + stderr
  QemuExit qemu;
  bool ready = false;               // guest reached the point of running the command
  std::optional<int> guest_status;  // the command's exit status
  bool timed_out = false;
  bool boot_timed_out = false;
  bool poweroff_timed_out = false;
  bool expect_gtest = false;
  std::vector<std::string> gtest_reports;
  std::vector<AllowedSkip> allowed_skips;
  std::string accel;                   // what QEMU ran with
  std::optional<double> boot_seconds;  // start to READY
};

struct Verdict {
  Outcome outcome = Outcome::completed;
  int exit_status = 0;
  std::string reason;                // one line, empty for a clean completion
  std::vector<std::string> excerpt;  // log lines worth showing
};

Verdict classify(const Evidence& e);

}  // namespace edulab
