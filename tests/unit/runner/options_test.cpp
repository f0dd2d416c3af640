#include "options.hpp"

#include <gtest/gtest.h>

#include "exit_codes.hpp"

using namespace edulab;

namespace {

RunOptions parse_ok(const std::vector<std::string>& args) {
  auto r = parse_options(args);
  if (auto* e = std::get_if<ExitRequest>(&r)) {
    ADD_FAILURE() << "unexpected exit request: " << e->output;
    return {};
  }
  return std::get<RunOptions>(r);
}

ExitRequest parse_err(const std::vector<std::string>& args) {
  auto r = parse_options(args);
  EXPECT_TRUE(std::holds_alternative<ExitRequest>(r));
  return std::holds_alternative<ExitRequest>(r) ? std::get<ExitRequest>(r) : ExitRequest{};
}

}  // namespace

TEST(Options, DefaultsMatchTheDocumentedLab) {
  const auto o = parse_ok({});
  EXPECT_EQ(o.arch, Arch::x86_64);
  EXPECT_EQ(o.kernel, KernelFlavour::stock);
  EXPECT_EQ(o.edu_count, 2U);
  EXPECT_EQ(o.smp, 1U);
  EXPECT_TRUE(o.command.empty());
  EXPECT_EQ(o.interactive, Interactive::automatic);
}

TEST(Options, EverythingAfterDoubleDashIsTheCommandVerbatim) {
  const auto o = parse_ok({"--edu", "4", "--", "sh", "-c", "exit 7", "--edu", "--"});
  EXPECT_EQ(o.edu_count, 4U);
  EXPECT_EQ(o.command, (std::vector<std::string>{"sh", "-c", "exit 7", "--edu", "--"}));
}

TEST(Options, RepeatableOptionsAccumulate) {
  const auto o = parse_ok({"--qemu-arg", "-device", "--qemu-arg", "edu,dma_mask=0xfff", "--append",
                           "intel_iommu=on", "--append", "edu.force_intx=1", "--add",
                           "/etc/hostname", "--add", "/tmp:/mnt/t"});
  EXPECT_EQ(o.qemu_args, (std::vector<std::string>{"-device", "edu,dma_mask=0xfff"}));
  EXPECT_EQ(o.append, (std::vector<std::string>{"intel_iommu=on", "edu.force_intx=1"}));
  ASSERT_EQ(o.added.size(), 2U);
  EXPECT_EQ(o.added[0].guest, "/root/hostname");
  EXPECT_EQ(o.added[1].host, "/tmp");
  EXPECT_EQ(o.added[1].guest, "/mnt/t");
}

TEST(Options, ArchAndKernelAreValidated) {
  EXPECT_EQ(parse_ok({"--arch", "aarch64"}).arch, Arch::aarch64);
  EXPECT_EQ(parse_ok({"--kernel", "6.12"}).kernel, KernelFlavour::lts612);
  EXPECT_EQ(parse_ok({"--kernel", "6.12-rt"}).kernel, KernelFlavour::rt612);
  // The lab's own and the newer Debian kernels are x86_64 builds.
  const auto e = parse_err({"--arch", "aarch64", "--kernel", "debug"});
  EXPECT_EQ(e.status, kExitRunnerError);
  EXPECT_NE(e.output.find("x86_64 only"), std::string::npos) << e.output;
  EXPECT_EQ(parse_err({"--arch", "riscv64"}).status, kExitRunnerError);
  EXPECT_EQ(parse_err({"--kernel", "fancy"}).status, kExitRunnerError);
}

TEST(Options, NumbersAreRangeChecked) {
  EXPECT_EQ(parse_ok({"--edu", "0"}).edu_count, 0U);
  EXPECT_EQ(parse_err({"--edu", "31"}).status, kExitRunnerError);
  EXPECT_EQ(parse_err({"--edu", "two"}).status, kExitRunnerError);
  EXPECT_EQ(parse_err({"--smp", "0"}).status, kExitRunnerError);
  EXPECT_EQ(parse_ok({"--mem", "2G"}).memory, "2G");
  EXPECT_EQ(parse_ok({"--mem", "1.5G"}).memory, "1.5G");
  EXPECT_EQ(parse_err({"--mem", "lots"}).status, kExitRunnerError);
}

TEST(Options, LabdmaDevicesAreCountedAndBounded) {
  const auto d = parse_ok({});
  EXPECT_EQ(d.labdma_count, 0U) << "edu scenarios do not need the lab's QEMU";
  EXPECT_EQ(d.labdma_lite_count, 0U);
  const auto o = parse_ok({"--labdma", "2", "--labdma-lite", "1", "--labdma-prop",
                           "desc-latency-ns=1000", "--labdma-prop", "dma-mask=0xffffffff"});
  EXPECT_EQ(o.labdma_count, 2U);
  EXPECT_EQ(o.labdma_lite_count, 1U);
  EXPECT_EQ(o.labdma_props,
            (std::vector<std::string>{"desc-latency-ns=1000", "dma-mask=0xffffffff"}));
  EXPECT_EQ(parse_err({"--labdma", "9"}).status, kExitRunnerError);
  const auto e = parse_err({"--edu", "25", "--labdma", "4", "--labdma-lite", "2"});
  EXPECT_NE(e.output.find("more than 30 devices"), std::string::npos) << e.output;
}

TEST(Options, UsageErrorsSayWhatIsWrong) {
  const auto e = parse_err({"--no-such-option"});
  EXPECT_TRUE(e.to_stderr);
  EXPECT_NE(e.output.find("--no-such-option"), std::string::npos) << e.output;
  EXPECT_NE(e.output.find("--help"), std::string::npos);
}

TEST(Options, HelpDocumentsExitStatuses) {
  const auto e = parse_err({"--help"});
  EXPECT_EQ(e.status, 0);
  EXPECT_FALSE(e.to_stderr);
  for (const char* s :
       {"--arch", "--kernel", "--edu", "--mem", "--smp", "--qemu-arg", "--append", "--add",
        "--add-binary", "--qmp", "--timeout", "120", "121", "122", "123", "124", "125"}) {
    EXPECT_NE(e.output.find(s), std::string::npos) << s;
  }
}

TEST(Options, InteractiveConflictsWithACommand) {
  EXPECT_EQ(parse_err({"--interactive", "--", "true"}).status, kExitRunnerError);
  EXPECT_EQ(parse_err({"--interactive", "--batch"}).status, kExitRunnerError);
}

TEST(Options, AddedGuestPathMustBeAbsolute) {
  EXPECT_THROW(parse_added_path("/x:relative"), std::invalid_argument);
  EXPECT_THROW(parse_added_path(":/x"), std::invalid_argument);
  EXPECT_EQ(parse_added_path("/a/b/").guest, "/root/b");
}

TEST(Options, RunnerV2Options) {
  const auto o = parse_ok({"--allow-skip", "Dma.*=needs 2G", "--allow-skip", "Hotplug.X=no acpi",
                           "--verdict-json", "/tmp/v.json", "--junit", "/tmp/j.xml", "--accel",
                           "tcg", "--panic-on-warn"});
  ASSERT_EQ(o.allowed_skips.size(), 2U);
  EXPECT_EQ(o.allowed_skips[0].pattern, "Dma.*");
  EXPECT_EQ(o.allowed_skips[0].reason, "needs 2G");
  EXPECT_EQ(o.verdict_json, "/tmp/v.json");
  EXPECT_EQ(o.junit_file, "/tmp/j.xml");
  EXPECT_EQ(o.accel, Accel::tcg);
  EXPECT_TRUE(o.panic_on_warn);
  EXPECT_EQ(parse_ok({}).accel, Accel::automatic);
  EXPECT_EQ(parse_ok({"--accel", "kvm"}).accel, Accel::kvm);
  EXPECT_EQ(parse_err({"--accel", "hvf"}).status, kExitRunnerError);
  EXPECT_EQ(parse_err({"--allow-skip", "no-reason"}).status, kExitRunnerError);
  EXPECT_EQ(parse_err({"--allow-skip", "=reason"}).status, kExitRunnerError);
}

TEST(Options, IommuIsX86Only) {
  EXPECT_TRUE(parse_ok({"--iommu"}).iommu);
  EXPECT_EQ(parse_err({"--iommu", "--arch", "aarch64"}).status, kExitRunnerError);
}
