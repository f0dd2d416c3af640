#include "verdict.hpp"

#include <array>

#include <gtest/gtest.h>

#include "exit_codes.hpp"
#include "recorded_run.hpp"
#include "session.hpp"

using namespace edulab;

namespace {

Evidence clean_completion(int status) {
  Evidence e;
  e.ready = true;
  e.guest_status = status;
  e.qemu.exited = true;
  return e;
}

}  // namespace

TEST(Verdict, CleanRunReturnsTheCommandsStatus) {
  const auto rec = load_recorded_run("clean-boot.log");
  Evidence e = clean_completion(7);
  e.console = rec.console;
  e.kmsg = rec.kmsg;
  e.qemu_output = rec.qemu;
  const auto v = classify(e);
  EXPECT_EQ(v.outcome, Outcome::completed);
  EXPECT_EQ(v.exit_status, 7);
  EXPECT_TRUE(v.reason.empty());
}

TEST(Verdict, CleanBootLogHasNoFalsePositives) {
  const auto rec = load_recorded_run("clean-boot.log");
  EXPECT_GT(rec.kmsg.size(), 10000U) << "fixture should be a full dmesg";
  EXPECT_TRUE(find_kernel_problems(rec.kmsg).empty());
  EXPECT_TRUE(find_kernel_problems(rec.console).empty());
}

TEST(Verdict, RecordedGuestPanicIsAnOops) {
  const auto rec = load_recorded_run("guest-panic.log");
  Evidence e;
  e.ready = true;  // the panic hit while the command ran
  e.console = rec.console;
  e.kmsg = rec.kmsg;
  e.qemu_output = rec.qemu;
  e.qemu.exited = true;  // panic=-1 + -no-reboot: QEMU exits 0
  const auto v = classify(e);
  EXPECT_EQ(v.outcome, Outcome::guest_oops);
  EXPECT_EQ(v.exit_status, kExitGuestOops);
  EXPECT_NE(v.reason.find("Kernel panic"), std::string::npos) << v.reason;
  EXPECT_FALSE(v.excerpt.empty());
}

TEST(Verdict, RecordedQemuHardwareErrorIsACrash) {
  const auto rec = load_recorded_run("qemu-hardware-error.log");
  Evidence e;
  e.ready = true;
  e.console = rec.console;
  e.qemu_output = rec.qemu;
  e.qemu.signal = 6;  // hw_error() aborts
  const auto v = classify(e);
  EXPECT_EQ(v.outcome, Outcome::qemu_crash);
  EXPECT_EQ(v.exit_status, kExitQemuCrash);
  EXPECT_NE(v.reason.find("hardware error"), std::string::npos) << v.reason;
  ASSERT_FALSE(v.excerpt.empty());
  EXPECT_NE(v.excerpt.front().find("EDU: DMA range"), std::string::npos);
}

TEST(Verdict, KernelProblemPatterns) {
  const std::array bad = {
      "[    5.1] BUG: kernel NULL pointer dereference, address: 0000000000000000",
      "[    5.1] WARNING: CPU: 0 PID: 1 at drivers/misc/edu.c:10 edu_probe+0x1/0x2 [edu]",
      "[    5.1] Oops: 0002 [#1] PREEMPT SMP KASAN",
      "[    5.1] BUG: KASAN: slab-use-after-free in edu_release+0x1/0x2",
      "[    5.1] WARNING: possible recursive locking detected",
      "[    5.1] WARNING: possible circular locking dependency detected",
      // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one line, split at 100 columns
      "[    5.1] edu 0000:01:00.0: DMA-API: device driver tries to free DMA memory it has not "
      "allocated",
      "[    5.1] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
      "unreferenced object 0xffff888003c1a000 (size 4096):",
      "[    5.1] general protection fault, probably for non-canonical address 0xdead",
      "[    5.1] Call Trace:",
      "[    5.1] BUG: sleeping function called from invalid context at mm/slab.h:1",
      "[    5.1] Unable to handle kernel paging request at virtual address 0000000000001000",
      "[    5.1] INFO: task edu-abi-tests:123 blocked for more than 120 seconds.",
  };
  for (const char* line : bad) {
    EXPECT_EQ(find_kernel_problems(line).size(), 1U) << line;
  }
  const std::array benign = {
      "[    0.5] DMA-API: preallocated 65536 debug entries",
      "[    0.5] DMA-API: debugging enabled by kernel config",
      "[    0.5] kmemleak: Kernel memory leak detector initialized (mem pool available: 15000)",
      "[    0.5] kasan: KernelAddressSanitizer initialized (generic)",
      "[    0.5] edu 0000:01:00.0: edu v1.0, irq mode msi",
      "[    0.5] Warning: unable to open an initial console.",
  };
  for (const char* line : benign) {
    EXPECT_TRUE(find_kernel_problems(line).empty()) << line;
  }
}

// The catalogue (after syzkaller's pkg/report): one line of each kind of
// report the x86_64 and arm64 kernels print.
TEST(Verdict, KernelProblemCatalogue) {
  const std::array bad = {
      "[    5.1] BUG kmalloc-64 (Not tainted): Poison overwritten",
      "[    5.1] BUG edu_ops (Tainted: G    B   O      ): Object already free",
      "[    5.1] kernel BUG at drivers/misc/edu.c:42!",
      "[    5.1] Internal error: Oops: 0000000096000005 [#1] SMP",
      "[    5.1] Call trace:",
      "[    5.1] refcount_t: underflow; use-after-free.",
      "[    5.1] list_add double add: new=ffff0000c1234000, prev=ffff0000c1234000.",
      "[    5.1] list_add corruption. prev->next should be next (ffff8880), but was 0000",
      "[    5.1] list_del corruption, ffff888003c1a000->next is LIST_POISON1 (dead000000000100)",
      "[    5.1] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
      "[    5.1] INFO: rcu_sched self-detected stall on CPU",
      "[    5.1] INFO: task insmod:77 blocked for more than 10 seconds.",
      "[    5.1] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [edu-tests:90]",
      "[    5.1] NMI watchdog: Watchdog detected hard LOCKUP on cpu 1",
      "[    5.1] UBSAN: array-index-out-of-bounds in drivers/misc/edu.c:12:3",
      "[    5.1] BUG: KFENCE: use-after-free read in edu_release+0x1/0x2",
      "[    5.1] invalid opcode: 0000 [#1] PREEMPT SMP NOPTI",
      "[    5.1] stack segment: 0000 [#1] PREEMPT SMP KASAN",
      "[    5.1] divide error: 0000 [#1] PREEMPT SMP NOPTI",
      "[    5.1] PANIC: double fault, error_code: 0x0",
      "[    5.1] BUG: spinlock bad magic on CPU#0, swapper/0/1",
      "[    5.1] BUG: scheduling while atomic: edu-tests/91/0x00000002",
      "[    5.1] WARNING: suspicious RCU usage",
      "[    5.1] INFO: trying to register non-static key.",
      "[    5.1] VFS: Busy inodes after unmount of tmpfs.",
  };
  for (const char* line : bad) {
    EXPECT_EQ(find_kernel_problems(line).size(), 1U) << line;
  }
  const std::array benign = {
      "[    0.5] KFENCE: initialized - using 2097152 bytes for 255 objects",
      "[    0.5] ODEBUG: selftest passed",
      "[    9.1] INFO: lockdep is turned off.",
      "[    9.1] traps: edu-tests[90] general protection fault ip:4011 sp:7ffc error:0 in "
      "x[401000+1000]",
      "[    0.1] WARNING: See https://www.kernel.org/doc/html/latest/ for mitigation options.",
      "[    0.5] lab-kmsg: end of log",
  };
  for (const char* line : benign) {
    EXPECT_TRUE(find_kernel_problems(line).empty()) << line;
  }
}

TEST(Verdict, ASplatBeforeATimeoutIsAKernelProblem) {
  Evidence e;
  e.ready = true;
  e.kmsg = "[    1.0] lab_splat: loading\n[    1.1] WARNING: CPU: 0 PID: 77 at x.c:1 f\n";
  e.timed_out = true;
  e.qemu.signal = 9;
  const auto v = classify(e);
  EXPECT_EQ(v.exit_status, kExitGuestOops);
  EXPECT_NE(v.reason.find("WARNING: CPU: 0"), std::string::npos) << v.reason;
}

TEST(Verdict, TheTaskDumpAtATimeoutIsEvidenceNotAProblem) {
  Evidence e;
  e.ready = true;
  e.console = "[    1.0] clean console\n";
  e.kmsg = "[    1.0] clean log\n";
  e.console_judged = e.console.size();
  e.kmsg_judged = e.kmsg.size();
  e.task_dump_requested = true;
  e.console += "[   30.0] sysrq: Show Blocked State\n[   30.0] Call Trace:\n";
  e.kmsg +=
      "[   30.0] sysrq: Show Blocked State\n[   30.0] task:insmod state:D stack:0\n"
      "[   30.0] Call Trace:\n[   30.0]  msleep+0x1/0x2\n";
  e.timed_out = true;
  e.qemu.signal = 9;
  const auto v = classify(e);
  EXPECT_EQ(v.exit_status, kExitTimeout);
  std::string excerpt;
  for (const auto& l : v.excerpt)
    excerpt += l + "\n";
  EXPECT_NE(excerpt.find("task:insmod state:D"), std::string::npos) << excerpt;
}

TEST(Verdict, BootFailureUnderKvmSaysHowToAvoidIt) {
  Evidence e;
  e.boot_timed_out = true;
  e.qemu.signal = 9;
  e.accel = "kvm";
  const auto v = classify(e);
  EXPECT_EQ(v.exit_status, kExitBootFailure);
  EXPECT_NE(v.reason.find("--accel tcg"), std::string::npos) << v.reason;
}

namespace {
const char* const kReportWithSkips = R"({"tests": 4, "failures": 0, "testsuites": [
  {"name": "Dma", "testsuite": [
    {"name": "Ok", "status": "RUN", "result": "COMPLETED", "time": "0.5s"},
    {"name": "Bounce2G", "status": "RUN", "result": "SKIPPED", "time": "0s"}]},
  {"name": "Hotplug", "testsuite": [
    {"name": "Unplug", "status": "RUN", "result": "SKIPPED", "time": "0s"},
    {"name": "DISABLED_Old", "status": "NOTRUN", "result": "SUPPRESSED", "time": "0s"}]}]})";
}  // namespace

TEST(Verdict, SkipsAreNamedAndOnlyAllowedOnesPass) {
  const auto s = summarize_gtest_reports({kReportWithSkips});
  EXPECT_EQ(s.skipped, 2);
  ASSERT_EQ(s.cases.size(), 3U);  // the disabled test never ran
  Evidence e = clean_completion(0);
  e.expect_gtest = true;
  e.gtest_reports = {kReportWithSkips};
  auto v = classify(e);
  EXPECT_EQ(v.exit_status, kExitMissingResult);
  EXPECT_NE(v.reason.find("2 test(s) skipped"), std::string::npos) << v.reason;
  ASSERT_EQ(v.excerpt.size(), 2U);
  EXPECT_EQ(v.excerpt[0], "skipped: Dma.Bounce2G");
  e.allowed_skips = {{"Dma.Bounce2G", "needs --mem 2G"}};
  v = classify(e);
  EXPECT_EQ(v.exit_status, kExitMissingResult);
  EXPECT_EQ(v.excerpt, std::vector<std::string>{"skipped: Hotplug.Unplug"});
  e.allowed_skips.push_back({"Hotplug.*", "no hotplug on this kernel"});
  EXPECT_EQ(classify(e).exit_status, 0);
  EXPECT_EQ(skip_allowance("Hotplug.Unplug", e.allowed_skips), "no hotplug on this kernel");
}

TEST(Verdict, OneReportPerSplat) {
  const std::string splat =
      "WARNING: CPU: 0 PID: 1 at x.c:1 f\nModules linked in: edu\nCall Trace:\n <TASK>\n f+0x1\n";
  EXPECT_EQ(find_kernel_problems(splat).size(), 1U);
}

TEST(Verdict, PriorityQemuCrashOverOopsOverTimeout) {
  Evidence e;
  e.console = "BUG: unable to handle page fault\n";
  e.qemu_output = "qemu-system-x86_64: hardware error: boom\n";
  e.timed_out = true;
  EXPECT_EQ(classify(e).outcome, Outcome::qemu_crash);
  e.qemu_output.clear();
  EXPECT_EQ(classify(e).outcome, Outcome::guest_oops);
  e.console.clear();
  EXPECT_EQ(classify(e).exit_status, kExitTimeout);
}

TEST(Verdict, BootFailureAndMissingResult) {
  Evidence e;
  e.qemu.exited = true;
  EXPECT_EQ(classify(e).exit_status, kExitBootFailure);
  e.boot_timed_out = true;
  e.qemu = {};
  e.qemu.signal = 9;  // we killed it at the boot deadline: not a crash
  EXPECT_EQ(classify(e).exit_status, kExitBootFailure);
  Evidence m;
  m.ready = true;
  m.qemu.exited = true;
  EXPECT_EQ(classify(m).exit_status, kExitMissingResult);
}

TEST(Verdict, QemuKilledBySignalOrFailingIsACrash) {
  Evidence e = clean_completion(0);
  e.qemu = {};
  e.qemu.signal = 11;
  EXPECT_EQ(classify(e).exit_status, kExitQemuCrash);
  Evidence f = clean_completion(0);
  f.qemu.status = 1;
  EXPECT_EQ(classify(f).exit_status, kExitQemuCrash);
}

TEST(Verdict, PoweroffHangIsATimeout) {
  Evidence e = clean_completion(0);
  e.poweroff_timed_out = true;
  e.qemu = {};
  e.qemu.signal = 9;
  EXPECT_EQ(classify(e).exit_status, kExitTimeout);
}

TEST(Verdict, GtestReportsAreRequiredWhenExpected) {
  Evidence e = clean_completion(0);
  e.expect_gtest = true;
  EXPECT_EQ(classify(e).exit_status, kExitMissingResult);
  e.gtest_reports = {R"({"tests": 0, "failures": 0, "testsuites": []})"};
  EXPECT_EQ(classify(e).exit_status, kExitMissingResult);
  e.gtest_reports = {R"({"tests": 3, "failures": 0, "errors": 0, "testsuites": []})"};
  EXPECT_EQ(classify(e).exit_status, 0);
  e.gtest_reports.emplace_back("{truncated");
  EXPECT_EQ(classify(e).exit_status, kExitMissingResult);
  // Failures with a zero exit status are inconsistent: never a pass.
  e.gtest_reports = {R"({"tests": 3, "failures": 1, "testsuites": []})"};
  EXPECT_EQ(classify(e).exit_status, kExitMissingResult);
  e.guest_status = 1;
  EXPECT_EQ(classify(e).exit_status, 1);
}

TEST(Verdict, GtestSummaryNamesFailedTests) {
  const auto s = summarize_gtest_reports({R"({"tests": 2, "failures": 1, "testsuites": [
      {"name": "Dma", "testsuite": [{"name": "Ok"}, {"name": "Bad", "failures": [{"failure": "x"}]}]}]})"});
  EXPECT_EQ(s.tests, 2);
  EXPECT_EQ(s.failures, 1);
  ASSERT_EQ(s.problems.size(), 1U);
  EXPECT_EQ(s.problems[0], "failed: Dma.Bad");
}

TEST(ResultStream, ParsesFramedFilesAndStopsAtTruncation) {
  const std::string s =
      "FILE a.json 2\n{}FILE b.txt 5\nhello"
      "FILE c 10\nshort";
  const auto files = parse_result_stream(s);
  ASSERT_EQ(files.size(), 2U);
  EXPECT_EQ(files.at("a.json"), "{}");
  EXPECT_EQ(files.at("b.txt"), "hello");
}
