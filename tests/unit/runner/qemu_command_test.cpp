#include "qemu_command.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "initramfs.hpp"

using namespace edulab;

namespace {

Scenario scenario(Arch arch, unsigned edus) {
  Scenario s;
  s.options.arch = arch;
  s.options.edu_count = edus;
  s.kernel_image = "/k";
  s.initramfs = "/i";
  s.sockets = {"/w/con",  "/w/con.log", "/w/ctl", "/w/out",      "/w/err",
               "/w/kmsg", "/w/res",     "/w/qmp", "/w/qmp-guest"};
  return s;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST(QemuCommand, X86UsesQ35WithEduBehindRootPorts) {
  const auto cmd = qemu_command(scenario(Arch::x86_64, 2));
  EXPECT_EQ(cmd.front(), "qemu-system-x86_64");
  EXPECT_TRUE(has(cmd, "q35"));
  EXPECT_TRUE(has(cmd, "edu,id=edu0,bus=labrp0"));
  EXPECT_TRUE(has(cmd, "edu,id=edu1,bus=labrp1"));
  EXPECT_FALSE(has(cmd, "edu,id=edu2,bus=labrp2"));
  EXPECT_TRUE(has(cmd, "-no-reboot"));
  EXPECT_NE(kernel_command_line(scenario(Arch::x86_64, 0)).find("console=ttyS0"),
            std::string::npos);
}

TEST(QemuCommand, Arm64EduReachesRamAndDriverMatches) {
  const auto s = scenario(Arch::aarch64, 1);
  const auto cmd = qemu_command(s);
  EXPECT_EQ(cmd.front(), "qemu-system-aarch64");
  EXPECT_TRUE(has(cmd, "virt"));
  EXPECT_TRUE(has(cmd, "edu,id=edu0,bus=labrp0,dma_mask=0xffffffffff"));
  const auto cl = kernel_command_line(s);
  EXPECT_NE(cl.find("console=ttyAMA0"), std::string::npos);
  EXPECT_NE(cl.find("edu.dma_bits=40"), std::string::npos);
}

TEST(QemuCommand, LabdmaDevicesUseTheLabsQemuAndTheirOwnRootPorts) {
  EXPECT_FALSE(needs_lab_qemu(scenario(Arch::x86_64, 2).options));
  auto s = scenario(Arch::x86_64, 2);
  s.options.labdma_count = 1;
  s.options.labdma_lite_count = 2;
  s.options.labdma_props = {"desc-latency-ns=500"};
  ASSERT_TRUE(needs_lab_qemu(s.options));
  s.qemu = lab_qemu_binary("/src", Arch::x86_64);
  EXPECT_EQ(s.qemu, "/src/build/qemu/bin/qemu-system-x86_64");
  const auto cmd = qemu_command(s);
  EXPECT_EQ(cmd.front(), "/src/build/qemu/bin/qemu-system-x86_64");
  // edu keeps labrp0/1; labdma devices follow on labrp2..4.
  EXPECT_TRUE(has(cmd, "edu,id=edu1,bus=labrp1"));
  EXPECT_TRUE(has(cmd, "pcie-root-port,id=labrp2,chassis=3,slot=3"));
  EXPECT_TRUE(has(cmd, "labdma,id=labdma0,bus=labrp2,desc-latency-ns=500"));
  EXPECT_TRUE(has(cmd, "labdma-lite,id=labdmalite0,bus=labrp3,desc-latency-ns=500"));
  EXPECT_TRUE(has(cmd, "labdma-lite,id=labdmalite1,bus=labrp4,desc-latency-ns=500"));
  EXPECT_TRUE(has(cmd, "q35"));

  // arm64: GICv3 (an ITS for MSI-X) only where labdma is; edu keeps GICv2m.
  auto a = scenario(Arch::aarch64, 1);
  EXPECT_TRUE(has(qemu_command(a), "virt"));
  a.options.labdma_count = 1;
  EXPECT_TRUE(has(qemu_command(a), "virt,gic-version=3"));
  EXPECT_TRUE(has(qemu_command(a), "labdma,id=labdma0,bus=labrp1"));
}

TEST(QemuCommand, ResultChannelIsSeparateFromTheConsole) {
  const auto cmd = qemu_command(scenario(Arch::x86_64, 0));
  EXPECT_TRUE(has(cmd, "socket,id=con,path=/w/con"));
  for (const char* port : {"lab.ctl", "lab.out", "lab.err", "lab.kmsg", "lab.results", "lab.qmp"}) {
    EXPECT_TRUE(std::any_of(cmd.begin(), cmd.end(), [&](const std::string& a) {
      return a.find(std::string("name=") + port) != std::string::npos;
    })) << port;
  }
}

TEST(QemuCommand, UserArgumentsComeLastAndQmpIsOptional) {
  auto s = scenario(Arch::x86_64, 1);
  s.options.qemu_args = {"-device", "edu,id=extra"};
  s.options.qmp_socket = "/tmp/q.sock";
  s.options.append = {"intel_iommu=on"};
  s.options.memory = "2G";
  const auto cmd = qemu_command(s);
  EXPECT_EQ(cmd[cmd.size() - 2], "-device");
  EXPECT_EQ(cmd.back(), "edu,id=extra");
  EXPECT_TRUE(has(cmd, "unix:/tmp/q.sock,server=on,wait=off"));
  EXPECT_TRUE(has(cmd, "2G"));
  EXPECT_NE(kernel_command_line(s).find(" intel_iommu=on"), std::string::npos);
}

TEST(QemuCommand, InteractiveConsoleIsTheTerminal) {
  auto s = scenario(Arch::x86_64, 0);
  s.interactive = true;
  const auto cmd = qemu_command(s);
  EXPECT_TRUE(std::any_of(cmd.begin(), cmd.end(), [](const std::string& a) {
    return a.starts_with("stdio,id=con,") && a.find("logfile=/w/con.log") != std::string::npos;
  }));
  EXPECT_NE(kernel_command_line(s).find("lab.interactive=1"), std::string::npos);
}

TEST(CommandScript, ArgumentsSurviveVerbatim) {
  EXPECT_EQ(command_script({"sh", "-c", "exit 7"}).substr(command_script({}).size() - 1),
            " sh -c 'exit 7'\n");
  EXPECT_NE(command_script({"echo", "it's $HOME"}).find("'it'\\''s $HOME'"), std::string::npos);
  EXPECT_EQ(shell_quote(""), "''");
}

TEST(QemuCommand, GuestQmpBridgeIsAControlMonitor) {
  const auto cmd = qemu_command(scenario(Arch::x86_64, 1));
  EXPECT_TRUE(has(cmd, "socket,id=labqmp,path=/w/qmp"));
  EXPECT_TRUE(has(cmd, "chardev=labqmp,mode=control"));
}

TEST(QemuCommand, IommuPrecedesThePciDevices) {
  auto s = scenario(Arch::x86_64, 1);
  s.options.iommu = true;
  const auto cmd = qemu_command(s);
  const auto iommu = std::find(cmd.begin(), cmd.end(), "intel-iommu,intremap=off");
  const auto edu = std::find(cmd.begin(), cmd.end(), "edu,id=edu0,bus=labrp0");
  ASSERT_NE(iommu, cmd.end());
  ASSERT_NE(edu, cmd.end());
  EXPECT_LT(iommu, edu);
  EXPECT_NE(kernel_command_line(s).find("intel_iommu=on"), std::string::npos);
}
