// edulab-run: the VM runner behind scripts/run_qemu.sh.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <unistd.h>

#include "exit_codes.hpp"
#include "initramfs.hpp"
#include "options.hpp"
#include "session.hpp"

namespace fs = std::filesystem;
using namespace edulab;

namespace {

fs::path project_root() {
  if (const char* r = std::getenv("EDULAB_ROOT"); r != nullptr && *r != '\0') return r;
  return EDULAB_SOURCE_DIR;
}

// A private scratch directory for the sockets and the initramfs.
class WorkDir {
 public:
  WorkDir() {
    std::string tmpl = (fs::temp_directory_path() / "edulab.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    }
    path_ = tmpl;
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  ~WorkDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

int run(RunOptions o) {
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
    const CpioArchive cpio = make_initramfs(stage, o);
    std::ofstream out(initrd, std::ios::binary);
    cpio.write(out);
  }

  Scenario scenario;
  scenario.options = o;
  scenario.kernel_image = stage.kernel.string();
  scenario.initramfs = initrd.string();
  scenario.interactive = interactive;

  SessionLimits limits;
  limits.timeout_s = o.timeout_s;
  limits.boot_timeout_s = o.boot_timeout_s;
  const auto t0 = std::chrono::steady_clock::now();
  SessionResult r = run_session(scenario, work.path(), limits, o.verbose);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (!o.log_file.empty()) {
    std::ofstream log(o.log_file, std::ios::binary);
    log << r.evidence.console << "\n----- dmesg (dumped by the guest after the command) -----\n"
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

  const Verdict v = classify(r.evidence);
  if (o.expect_gtest) {
    const auto s = summarize_gtest_reports(r.evidence.gtest_reports);
    std::cerr << "run_qemu: " << s.tests << " tests, " << s.failures << " failed, in " << s.files
              << " report(s)" << std::endl;
    for (const auto& p : s.problems)
      std::cerr << "run_qemu:   " << p << std::endl;
  }
  if (v.outcome != Outcome::completed) {
    if (!v.excerpt.empty()) {
      std::cerr << "run_qemu: ----- log excerpt -----" << std::endl;
      for (const auto& line : v.excerpt)
        std::cerr << "  " << line << std::endl;
      std::cerr << "run_qemu: -----------------------" << std::endl;
    }
    std::cerr << "run_qemu: " << v.reason << std::endl;
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
    return run(std::get<RunOptions>(std::move(parsed)));
  } catch (const std::exception& e) {
    std::cerr << "run_qemu: " << e.what() << std::endl;
    return kExitRunnerError;
  }
}
