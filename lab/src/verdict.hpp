// Turns what a VM run left behind into one honest verdict and exit status.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
std::vector<KernelProblem> find_kernel_problems(std::string_view log);

// Scans QEMU's own stderr for fatal errors (hardware error, assertion, abort).
std::optional<std::string> find_qemu_fatal(std::string_view qemu_output);

struct GtestSummary {
  int files = 0;
  int tests = 0;
  int failures = 0;
  int errors = 0;
  std::vector<std::string> problems;  // unreadable files, failed test names
};

// Reads GoogleTest JSON reports (--gtest_output=json:...).
GtestSummary summarize_gtest_reports(const std::vector<std::string>& json_documents);

struct Evidence {
  std::string console;      // kernel console
  std::string kmsg;         // dmesg dumped by the guest after the command
  std::string qemu_output;  // QEMU's stdout + stderr
  QemuExit qemu;
  bool ready = false;               // guest reached the point of running the command
  std::optional<int> guest_status;  // the command's exit status
  bool timed_out = false;
  bool boot_timed_out = false;
  bool poweroff_timed_out = false;
  bool expect_gtest = false;
  std::vector<std::string> gtest_reports;
};

struct Verdict {
  Outcome outcome = Outcome::completed;
  int exit_status = 0;
  std::string reason;                // one line, empty for a clean completion
  std::vector<std::string> excerpt;  // log lines worth showing
};

Verdict classify(const Evidence& e);

}  // namespace edulab
