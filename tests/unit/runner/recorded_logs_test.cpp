// Verdicts from real guest logs, recorded with `run_qemu.sh --log` (console,
// streamed kernel log, QEMU output): kernel problems made on purpose by
// tests/kmod/lab_splat.ko on each architecture, and clean boots of every
// kernel flavour as the false-positive guard.
#include <cctype>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "exit_codes.hpp"
#include "recorded_run.hpp"
#include "verdict.hpp"

using namespace edulab;

namespace {

RecordedRun load(const std::string& name) {
  return load_recorded_run("recorded/" + name);
}

Evidence evidence_of(const RecordedRun& r) {
  Evidence e;
  e.ready = true;
  e.guest_status = 0;
  e.qemu.exited = true;
  e.console = r.console;
  e.kmsg = r.kmsg;
  e.qemu_output = r.qemu;
  return e;
}

// "x86_64-6.12-rt-clean.log" -> "x86_64_6_12_rt_clean"
std::string test_name(std::string file) {
  file.resize(file.size() - 4);  // .log
  for (auto& c : file) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
  }
  return file;
}

struct Splat {
  const char* file;
  const char* first_line;  // regex the verdict's reason must match
};

class RecordedSplat : public testing::TestWithParam<Splat> {};

}  // namespace

TEST_P(RecordedSplat, IsAKernelProblem) {
  const auto rec = load(GetParam().file);
  EXPECT_GT(rec.kmsg.size(), 10000U) << "expected the whole streamed log";
  const auto v = classify(evidence_of(rec));
  EXPECT_EQ(v.exit_status, kExitGuestOops) << v.reason;
  EXPECT_TRUE(std::regex_search(v.reason, std::regex(GetParam().first_line))) << v.reason;
  EXPECT_FALSE(v.excerpt.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Logs, RecordedSplat,
    testing::Values(
        Splat{"x86_64-warn.log", R"(WARNING: CPU: \d+ PID: \d+ at .*lab_splat\.c)"},
        Splat{"x86_64-refcount.log", R"(refcount_t: decrement hit 0)"},
        Splat{"x86_64-list.log", R"(list_add double add)"},
        Splat{"x86_64-oops.log", R"(BUG: kernel NULL pointer dereference)"},
        Splat{"x86_64-softlockup.log", R"(watchdog: BUG: soft lockup - CPU#0 stuck)"},
        Splat{"x86_64-hungtask.log", R"(INFO: task insmod:\d+ blocked for more than 2 seconds)"},
        Splat{"x86_64-rcu.log", R"(rcu: INFO: rcu_\w+ detected stalls)"},
        // The debug kernel's detectors.
        Splat{"x86_64-debug-uaf.log", R"(BUG: KASAN: use-after-free in lab_splat_uaf)"},
        Splat{"x86_64-debug-lockdep.log", R"(WARNING: possible circular locking dependency)"},
        Splat{"x86_64-debug-leak.log", R"(kmemleak: \d+ new suspected memory leaks)"},
        Splat{"x86_64-debug-dmaapi.log",
              R"(DMA-API: +lab_splat: device driver frees DMA memory with different size)"},
        Splat{"aarch64-warn.log", R"(WARNING: CPU: \d+ PID: \d+ at .*lab_splat\.c)"},
        Splat{"aarch64-oops.log", R"(Unable to handle kernel NULL pointer dereference)"}),
    [](const testing::TestParamInfo<Splat>& i) { return test_name(i.param.file); });

// A guest hung in the kernel (insmod sleeping uninterruptibly): the runner's
// task dump at the timeout is full of stack traces, yet the verdict is a
// timeout whose excerpt shows the hung task.
TEST(RecordedHang, TaskDumpIsTheExcerptNotAProblem) {
  for (const char* file : {"x86_64-hang.log", "aarch64-hang.log"}) {
    const auto rec = load(file);
    Evidence e = evidence_of(rec);
    e.guest_status.reset();
    e.timed_out = true;
    e.task_dump_requested = true;
    e.qemu = {};
    e.qemu.signal = 9;
    const std::string mark = "sysrq: Show Blocked State";
    e.console_judged = e.console.rfind('\n', e.console.find(mark)) + 1;
    e.kmsg_judged = e.kmsg.rfind('\n', e.kmsg.find(mark)) + 1;
    ASSERT_NE(e.kmsg.find(mark), std::string::npos) << file;
    const auto v = classify(e);
    EXPECT_EQ(v.exit_status, kExitTimeout) << file << ": " << v.reason;
    std::string excerpt;
    for (const auto& l : v.excerpt)
      excerpt += l + "\n";
    EXPECT_TRUE(std::regex_search(excerpt, std::regex(R"(task:insmod +state:D)"))) << excerpt;
    // Judged whole, the same log is full of problems: the cut is what matters.
    e.console_judged = e.kmsg_judged = std::string::npos;
    EXPECT_EQ(classify(e).exit_status, kExitGuestOops) << file;
  }
}

class CleanBoot : public testing::TestWithParam<const char*> {};

TEST_P(CleanBoot, HasNoFalsePositives) {
  const auto rec = load(GetParam());
  EXPECT_GT(rec.kmsg.size(), 10000U) << "expected the whole streamed log";
  EXPECT_TRUE(find_kernel_problems(rec.kmsg).empty());
  EXPECT_TRUE(find_kernel_problems(rec.console).empty());
  const auto v = classify(evidence_of(rec));
  EXPECT_EQ(v.outcome, Outcome::completed) << v.reason;
}

INSTANTIATE_TEST_SUITE_P(Flavours, CleanBoot,
                         testing::Values("x86_64-clean.log", "aarch64-clean.log",
                                         "x86_64-6.12-clean.log", "x86_64-6.12-rt-clean.log",
                                         "x86_64-debug-clean.log", "x86_64-min-clean.log"),
                         [](const testing::TestParamInfo<const char*>& i) {
                           return test_name(i.param);
                         });
