#include "verdict.hpp"

#include <algorithm>
#include <array>
#include <regex>
#include <sstream>

#include <fnmatch.h>
#include <nlohmann/json.hpp>

#include "exit_codes.hpp"

namespace edulab {

std::string to_string(Outcome o) {
  switch (o) {
    case Outcome::completed:
      return "completed";
    case Outcome::missing_result:
      return "missing-result";
    case Outcome::boot_failure:
      return "boot-failure";
    case Outcome::guest_oops:
      return "guest-oops";
    case Outcome::qemu_crash:
      return "qemu-crash";
    case Outcome::timeout:
      return "timeout";
  }
  return "unknown";
}

namespace {

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string line(text.substr(start, nl - start));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = nl + 1;
  }
  return lines;
}

// Lines that fail a run, each a regular expression searched in one line. The
// catalogue follows syzkaller's pkg/report (linuxOopses) for the x86_64 and
// arm64 reports of Linux 6.1 and later, plus the debug tools the lab's debug
// kernel enables (DMA-API debug, kmemleak) and reports syzkaller reaches only
// through a later line (refcount_t, list corruption, hard lockups).
const std::array kBadPatterns = {
    // BUG: covers KASAN, KFENCE, KCSAN, page faults, soft lockups, spinlock
    // and sleep-in-atomic checks, bad page state, workqueue lockups ...
    std::regex(R"(\bBUG: \S)"),
    // SLUB's consistency checks name the cache: "BUG kmalloc-64 (Not tainted): ..."
    std::regex(R"(\bBUG [\w:.-]+ \((Not tainted|Tainted[^)]*)\): )"),
    std::regex(R"(\bkernel BUG at |\bKernel BUG\b)"),
    std::regex(R"(\bWARNING: \S)"),
    std::regex(R"(\bINFO: task .{1,100} blocked (in I/O wait )?for more than \d+ seconds)"),
    std::regex(R"(\bINFO: rcu_\w+ (self-)?detected (expedited )?stall)"),
    std::regex(
        R"(\bINFO: (possible (circular locking|recursive locking|irq lock inversion)|inconsistent lock state|trying to register non-static key|suspicious RCU usage|task .* can't die))"),
    std::regex(R"(\brcu: INFO: )"),
    std::regex(R"(Watchdog detected hard LOCKUP|\bwatchdog: BUG: soft lockup)"),
    std::regex(R"(Unable to handle kernel )"),
    std::regex(R"(general protection fault)"),
    std::regex(R"((stack segment|divide[ _]error|invalid opcode|int3): [0-9a-f]{4} )"),
    std::regex(R"(\bOops\b)"),
    std::regex(R"(PANIC: double fault)"),
    std::regex(R"(Internal error: )"),
    std::regex(R"(Kernel panic)"),
    std::regex(R"(\bUBSAN: )"),
    std::regex(R"(\bKASAN\b|\bKFENCE\b)"),
    std::regex(R"(\b(list_(add|del)|hlist_\w+|list_replace)\w*( corruption| double add))"),
    std::regex(R"(\brefcount_t: )"),
    std::regex(R"(Call [Tt]race:)"),
    std::regex(R"(possible recursive locking)"),
    std::regex(R"(possible circular locking)"),
    std::regex(R"(inconsistent lock state)"),
    std::regex(R"(suspicious RCU usage)"),
    std::regex(R"(lock held when returning to user space)"),
    std::regex(R"(possible irq lock inversion)"),
    std::regex(R"(DMA-API: )"),
    std::regex(R"(kmemleak: .*(suspected memory leak|unreferenced object))"),
    std::regex(R"(unreferenced object 0x)"),
    std::regex(R"(VFS: (Busy inodes after unmount|Close: file count is 0))"),
};

// Lines that share a keyword with the patterns above but report no problem:
// boot-time notices of the debug tools, and syzkaller's suppressions.
const std::array kBenignPatterns = {
    std::regex(R"(DMA-API: preallocated \d+ debug entries)"),
    std::regex(R"(DMA-API: debugging enabled by kernel config)"),
    std::regex(R"(KASAN: vmalloc|kasan: KernelAddressSanitizer initialized|KASAN init)"),
    std::regex(R"(KFENCE: initialized)"),
    std::regex(R"(ODEBUG:|Boot_DEBUG:)"),
    std::regex(R"(INFO: lockdep is turned off|INFO: Stall ended before state dump start)"),
    std::regex(R"(INFO: NMI handler .* took too long)"),
    std::regex(R"(general protection fault .* error:\d+ in )"),  // a user-space "traps:" line
    std::regex(
        R"(WARNING: See https.* for mitigation options|WARNING: kernel not compiled with CPU_SRSO)"),
    std::regex(R"(WARNING: Unprivileged eBPF is enabled with eIBRS)"),
};

bool is_bad(const std::string& line) {
  const auto matches = [&line](const std::regex& re) { return std::regex_search(line, re); };
  if (std::ranges::any_of(kBenignPatterns, matches)) return false;
  return std::ranges::any_of(kBadPatterns, matches);
}

}  // namespace

std::vector<KernelProblem> find_kernel_problems(std::string_view log,
                                                std::string_view already_reported) {
  const auto lines = split_lines(log);
  std::vector<KernelProblem> problems;
  std::size_t covered_until = 0;  // one report per splat, not one per matching line
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!is_bad(lines[i])) continue;
    if (!already_reported.empty() && already_reported.find(lines[i]) != std::string_view::npos) {
      continue;
    }
    if (i < covered_until) continue;
    KernelProblem p;
    p.line = lines[i];
    const std::size_t from = i >= 2 ? i - 2 : 0;
    const std::size_t to = std::min(lines.size(), i + 25);
    for (std::size_t j = from; j < to; ++j)
      p.context.push_back(lines[j]);
    covered_until = to;
    problems.push_back(std::move(p));
  }
  return problems;
}

std::optional<std::string> find_qemu_fatal(std::string_view qemu_output) {
  static const std::array fatal = {
      std::regex(R"(hardware error)", std::regex::icase),
      std::regex(R"(Assertion .* failed)"),
      std::regex(R"(\bAborted\b)"),
      std::regex(R"(Segmentation fault)"),
      std::regex(R"(core dumped)"),
      std::regex(R"(qemu: fatal:)"),
  };
  for (const auto& line : split_lines(qemu_output)) {
    for (const auto& re : fatal) {
      if (std::regex_search(line, re)) return line;
    }
  }
  return std::nullopt;
}

GtestSummary summarize_gtest_reports(const std::vector<std::string>& json_documents) {
  GtestSummary s;
  for (const auto& doc : json_documents) {
    ++s.files;
    try {
      const auto j = nlohmann::json::parse(doc);
      s.tests += j.at("tests").get<int>();
      s.failures += j.value("failures", 0);
      s.errors += j.value("errors", 0);
      for (const auto& suite : j.value("testsuites", nlohmann::json::array())) {
        for (const auto& t : suite.value("testsuite", nlohmann::json::array())) {
          GtestCase c;
          c.suite = suite.value("name", std::string{"?"});
          c.name = t.value("name", std::string{"?"});
          try {
            c.seconds = std::stod(t.value("time", std::string{"0"}));  // "0.012s"
          } catch (const std::exception&) {
          }
          if (t.contains("failures")) {
            c.result = GtestCase::Result::failed;
            for (const auto& f : t.at("failures"))
              c.failures.push_back(f.value("failure", std::string{}));
            s.problems.push_back("failed: " + c.full_name());
          } else if (t.value("result", std::string{}) == "SKIPPED") {
            c.result = GtestCase::Result::skipped;
            ++s.skipped;
          } else if (t.value("status", std::string{"RUN"}) != "RUN") {
            continue;  // DISABLED_: never ran, not counted in "tests" either
          }
          s.cases.push_back(std::move(c));
        }
      }
    } catch (const std::exception& ex) {
      ++s.errors;
      s.problems.push_back(std::string("unreadable GoogleTest report: ") + ex.what());
    }
  }
  return s;
}

std::optional<std::string> skip_allowance(const std::string& test,
                                          const std::vector<AllowedSkip>& allowed) {
  for (const auto& a : allowed) {
    if (::fnmatch(a.pattern.c_str(), test.c_str(), 0) == 0) return a.reason;
  }
  return std::nullopt;
}

std::vector<std::string> unexpected_skips(const GtestSummary& s,
                                          const std::vector<AllowedSkip>& allowed) {
  std::vector<std::string> out;
  for (const auto& c : s.cases) {
    if (c.result == GtestCase::Result::skipped && !skip_allowance(c.full_name(), allowed)) {
      out.push_back(c.full_name());
    }
  }
  return out;
}

Verdict classify(const Evidence& e) {
  Verdict v;
  auto excerpt_of = [](const std::vector<KernelProblem>& ps) {
    std::vector<std::string> out;
    for (const auto& p : ps) {
      if (out.size() > 80) break;
      out.insert(out.end(), p.context.begin(), p.context.end());
      out.emplace_back("----");
    }
    return out;
  };
  auto tail = [](std::string_view text, std::size_t n) {
    auto lines = split_lines(text);
    if (lines.size() > n) lines.erase(lines.begin(), lines.end() - static_cast<long>(n));
    return lines;
  };

  // 1. QEMU itself died: nothing the guest said can be trusted to be complete.
  const auto fatal = find_qemu_fatal(e.qemu_output);
  const bool killed_by_signal = !e.qemu.exited && e.qemu.signal != 0 && !e.timed_out &&
                                !e.boot_timed_out && !e.poweroff_timed_out;
  if (fatal || killed_by_signal) {
    v.outcome = Outcome::qemu_crash;
    v.exit_status = kExitQemuCrash;
    v.reason = fatal ? "QEMU crashed: " + *fatal
                     : "QEMU was killed by signal " + std::to_string(e.qemu.signal);
    // QEMU's register dump after a hardware error buries the cause.
    const auto lines = split_lines(e.qemu_output);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (fatal && lines[i] == *fatal) {
        v.excerpt.assign(lines.begin() + static_cast<long>(i),
                         lines.begin() + static_cast<long>(std::min(lines.size(), i + 4)));
      }
    }
    if (v.excerpt.empty()) v.excerpt = tail(e.qemu_output, 20);
    return v;
  }

  // 2. The guest kernel complained, anywhere in the run.
  // The streamed log is complete from early boot on; the console (errors and
  // warnings only) covers what happened before the streamer started.
  const std::string_view judged_kmsg =
      std::string_view(e.kmsg).substr(0, std::min(e.kmsg_judged, e.kmsg.size()));
  const std::string_view judged_console =
      std::string_view(e.console).substr(0, std::min(e.console_judged, e.console.size()));
  auto problems = find_kernel_problems(judged_kmsg);
  // What only the console has: the seconds before the streamer started, and
  // the last words of a panic (user space, the streamer too, stops there).
  for (auto& p : find_kernel_problems(judged_console, judged_kmsg))
    problems.push_back(std::move(p));
  if (!problems.empty()) {
    v.outcome = Outcome::guest_oops;
    v.exit_status = kExitGuestOops;
    v.reason = "guest kernel problem: " + problems.front().line;
    v.excerpt = excerpt_of(problems);
    return v;
  }

  // Where the guest hung: the task dump asked for when the limit was hit.
  auto hang_excerpt = [&]() {
    std::vector<std::string> out;
    if (e.task_dump_requested && e.kmsg_judged < e.kmsg.size()) {
      auto dump = split_lines(std::string_view(e.kmsg).substr(e.kmsg_judged));
      if (dump.size() > 60) dump.resize(60);
      out.emplace_back("(task dump requested by the runner at the limit:)");
      out.insert(out.end(), dump.begin(), dump.end());
    } else {
      out = tail(judged_console.empty() ? std::string_view(e.kmsg) : judged_console, 30);
    }
    return out;
  };

  if (e.timed_out || e.poweroff_timed_out) {
    v.outcome = Outcome::timeout;
    v.exit_status = kExitTimeout;
    v.reason = e.poweroff_timed_out ? "timeout: the guest did not power off after the command"
               : e.ready            ? "timeout: the command did not finish in time"
                                    : "timeout: the guest did not boot in time";
    v.excerpt = hang_excerpt();
    return v;
  }

  if (!e.ready) {
    v.outcome = Outcome::boot_failure;
    v.exit_status = kExitBootFailure;
    v.reason = e.boot_timed_out ? "boot failure: the guest did not become ready in time"
                                : "boot failure: QEMU exited before the guest became ready";
    if (e.accel == "kvm") {
      v.reason += " under KVM (if KVM cannot run guests on this host, use --accel tcg or auto)";
    }
    v.excerpt = e.task_dump_requested ? hang_excerpt() : tail(e.console + e.qemu_output, 30);
    return v;
  }

  if (!e.guest_status) {
    v.outcome = Outcome::missing_result;
    v.exit_status = kExitMissingResult;
    v.reason = "missing result: the guest ended without reporting the command's exit status";
    v.excerpt = tail(e.console, 30);
    return v;
  }

  if (e.qemu.exited && e.qemu.status != 0) {
    v.outcome = Outcome::qemu_crash;
    v.exit_status = kExitQemuCrash;
    v.reason = "QEMU exited with status " + std::to_string(e.qemu.status);
    v.excerpt = tail(e.qemu_output, 20);
    return v;
  }

  if (e.expect_gtest) {
    const auto s = summarize_gtest_reports(e.gtest_reports);
    if (s.files == 0 || s.tests == 0 || s.errors != 0 ||
        (s.failures != 0 && *e.guest_status == 0)) {
      v.outcome = Outcome::missing_result;
      v.exit_status = kExitMissingResult;
      v.reason = s.files == 0    ? "missing result: no GoogleTest report came back from the guest"
                 : s.tests == 0  ? "missing result: the GoogleTest reports contain no test"
                 : s.errors != 0 ? "missing result: unreadable GoogleTest report"
                                 : "missing result: tests failed but the command exited 0";
      v.excerpt = s.problems;
      return v;
    }
    if (const auto skips = unexpected_skips(s, e.allowed_skips); !skips.empty()) {
      v.outcome = Outcome::missing_result;
      v.exit_status = kExitMissingResult;
      v.reason = "missing result: " + std::to_string(skips.size()) +
                 " test(s) skipped that the scenario does not allow to skip "
                 "(--allow-skip PATTERN=REASON)";
      for (const auto& name : skips)
        v.excerpt.push_back("skipped: " + name);
      return v;
    }
  }

  v.outcome = Outcome::completed;
  v.exit_status = *e.guest_status;
  return v;
}

}  // namespace edulab
