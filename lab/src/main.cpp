// edulab-run: the VM runner behind scripts/run_qemu.sh.
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <unistd.h>

#include "accel.hpp"
#include "exit_codes.hpp"
#include "initramfs.hpp"
#include "options.hpp"
#include "qemu_command.hpp"
#include "report.hpp"
#include "session.hpp"
#include "termination.hpp"

namespace edulab {
const char* source_dir();  // source_dir.cpp
}  // namespace edulab

namespace fs = std::filesystem;
using namespace edulab;

namespace {

fs::path project_root() {
  if (const char* r = std::getenv("EDULAB_ROOT"); r != nullptr && *r != '\0') return r;
  return source_dir();
}

// Identifies this runner across the PID namespaces that may share /tmp
// (containers): "<pid> <pid-namespace>".
std::string owner_id(pid_t pid) {
  std::error_code ec;
  const auto ns = fs::read_symlink("/proc/self/ns/pid", ec);
  return std::to_string(pid) + " " + (ec ? std::string("?") : ns.string());
}

// A private scratch directory for the sockets and the initramfs. It names its
// owner, so that the directories of runners that could not clean up (killed
// with SIGKILL) are removed by the next run in the same PID namespace.
class WorkDir {
 public:
  WorkDir() {
    remove_orphans();
    std::string tmpl = (fs::temp_directory_path() / "edulab.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    }
    path_ = tmpl;
    std::ofstream(path_ / "owner") << owner_id(::getpid()) << "\n";
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  ~WorkDir() { remove(); }
  void remove() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
    path_.clear();
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  static void remove_orphans() {
    std::error_code ec;
    const std::string our_ns = owner_id(0).substr(2);
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path(), ec)) {
      if (!e.path().filename().string().starts_with("edulab.")) continue;
      std::ifstream owner(e.path() / "owner");
      pid_t pid = 0;
      std::string ns;
      if (!(owner >> pid >> ns) || pid <= 0 || ns != our_ns || ns == "?") continue;
      if (::kill(pid, 0) != 0 && errno == ESRCH) fs::remove_all(e.path(), ec);
    }
  }

  fs::path path_;
};

int run(RunOptions o, TerminationSignals& signals) {
  const bool interactive = o.interactive == Interactive::yes ||
                           (o.interactive == Interactive::automatic && o.command.empty() &&
                            ::isatty(STDIN_FILENO) != 0 && ::isatty(STDOUT_FILENO) != 0);
  // Without a terminal and without a command, the demo is the command.
  if (!interactive && o.command.empty()) o.command = {"lab-demo"};
  if (o.timeout_s == 0 && !interactive) o.timeout_s = 600;

  const fs::path stage_dir =
      o.stage_dir.empty()
          ? project_root() / "build" / "stage" / (to_string(o.arch) + "-" + to_string(o.kernel))
          : fs::path(o.stage_dir);
  const Stage stage = load_stage(stage_dir);

  WorkDir work;
  const fs::path initrd = work.path() / "initramfs.cpio";
  {
    const Initramfs image = make_initramfs(stage, o);
    o.memory = plan_memory(o, image.payload_bytes);
    std::ofstream out(initrd, std::ios::binary);
    image.cpio.write(out);
  }

  Scenario scenario;
  scenario.options = o;
  if (needs_lab_qemu(o)) {
    scenario.qemu = lab_qemu_binary(project_root().string(), o.arch);
    if (::access(scenario.qemu.c_str(), X_OK) != 0) {
      throw std::runtime_error("labdma devices need the lab's QEMU, and " + scenario.qemu +
                               " is missing: build it with `make _qemu` (or let "
                               "scripts/run_qemu.sh build it)");
    }
  }
  scenario.kernel_image = stage.kernel.string();
  scenario.initramfs = initrd.string();
  scenario.interactive = interactive;
  const AccelChoice accel = choose_accel(o, stage, default_accel_cache(), signals.fd());
  if (!accel.notice.empty()) std::cerr << accel.notice << std::endl;
  scenario.accel = accel.accel;

  SessionLimits limits;
  limits.timeout_s = o.timeout_s;
  limits.boot_timeout_s = o.boot_timeout_s;
  const auto t0 = std::chrono::steady_clock::now();
  SessionResult r = run_session(scenario, work.path(), limits, signals, o.verbose);
  if (r.interrupted_by != 0) {
    work.remove();
    TerminationSignals::reraise(r.interrupted_by);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (!o.log_file.empty()) {
    std::ofstream log(o.log_file, std::ios::binary);
    log << r.evidence.console << "\n----- kernel log (streamed by the guest from /dev/kmsg) -----\n"
        << r.evidence.kmsg << "\n----- QEMU output -----\n"
        << r.evidence.qemu_output;
  }
  if (!o.results_dir.empty()) {
    fs::create_directories(o.results_dir);
    for (const auto& [name, content] : r.result_files) {
      std::ofstream(fs::path(o.results_dir) / fs::path(name).filename(), std::ios::binary)
          << content;
    }
  }
  for (const auto& [name, content] : r.result_files) {
    if (name.ends_with(".json")) r.evidence.gtest_reports.push_back(content);
  }
  r.evidence.expect_gtest = o.expect_gtest;
  r.evidence.allowed_skips = o.allowed_skips;
  r.evidence.accel = accel.accel;

  const Verdict v = classify(r.evidence);
  const auto summary = summarize_gtest_reports(r.evidence.gtest_reports);
  if (o.expect_gtest) {
    std::cerr << "run_qemu: " << summary.tests << " tests, " << summary.failures << " failed, "
              << summary.skipped << " skipped, in " << summary.files << " report(s)" << std::endl;
    for (const auto& p : summary.problems)
      std::cerr << "run_qemu:   " << p << std::endl;
    for (const auto& c : summary.cases) {
      if (c.result != GtestCase::Result::skipped) continue;
      const auto why = skip_allowance(c.full_name(), o.allowed_skips);
      std::cerr << "run_qemu:   skipped: " << c.full_name()
                << (why ? " (allowed: " + *why + ")" : " (NOT ALLOWED)") << std::endl;
    }
  }
  if (!o.junit_file.empty()) {
    const fs::path junit(o.junit_file);
    if (junit.has_parent_path()) fs::create_directories(junit.parent_path());
    std::ofstream(junit) << junit_xml(summary, junit.stem().string());
  }
  if (!o.verdict_json.empty()) {
    RunFacts facts{to_string(o.arch), to_string(o.kernel), accel.accel, r.evidence.boot_seconds,
                   secs};
    const fs::path out(o.verdict_json);
    if (out.has_parent_path()) fs::create_directories(out.parent_path());
    // Log lines are not always valid UTF-8: replace, never throw.
    std::ofstream(out) << verdict_json(v, r.evidence, facts)
                              .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                       << "\n";
  }
  if (v.outcome != Outcome::completed) {
    if (!v.excerpt.empty()) {
      std::cerr << "run_qemu: ----- log excerpt -----" << std::endl;
      for (const auto& line : v.excerpt)
        std::cerr << "  " << line << std::endl;
      std::cerr << "run_qemu: -----------------------" << std::endl;
    }
    std::cerr << "run_qemu: " << v.reason << std::endl;
  } else if (v.exit_status >= kExitMissingResult && v.exit_status <= kExitRunnerError) {
    // The command's own status, in the range of the runner's verdicts.
    std::cerr << "run_qemu: the command itself exited " << v.exit_status
              << " (its own status, not a runner verdict)" << std::endl;
  } else if (o.verbose) {
    std::cerr << "run_qemu: command exited " << v.exit_status << " after " << secs << " s"
              << std::endl;
  }
  return v.exit_status;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = parse_options(args);
  if (auto* req = std::get_if<ExitRequest>(&parsed)) {
    (req->to_stderr ? std::cerr : std::cout) << req->output;
    return req->status;
  }
  try {
    TerminationSignals signals;
    return run(std::get<RunOptions>(std::move(parsed)), signals);
  } catch (const std::exception& e) {
    std::cerr << "run_qemu: " << e.what() << std::endl;
    return kExitRunnerError;
  }
}
