// The QEMU command line for a lab scenario.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "options.hpp"

namespace edulab {

// Unix sockets the runner listens on; QEMU connects to each as a client.
struct LabSockets {
  std::string console;      // empty: the console is QEMU's stdio (interactive)
  std::string console_log;  // with a stdio console: QEMU copies it here
  std::string ctl;
  std::string out;
  std::string err;
  std::string kmsg;
  std::string results;
  std::string qmp_monitor;  // QEMU's QMP monitor, driven by the runner
  std::string qmp_guest;    // the guest's lab.qmp port, bridged to it
};

// The names the guest sees in /sys/class/virtio-ports/*/name.
inline constexpr const char* kPortCtl = "lab.ctl";
inline constexpr const char* kPortOut = "lab.out";
inline constexpr const char* kPortErr = "lab.err";
inline constexpr const char* kPortKmsg = "lab.kmsg";
inline constexpr const char* kPortResults = "lab.results";
inline constexpr const char* kPortQmp = "lab.qmp";

struct Scenario {
  RunOptions options;
  std::string qemu;  // the QEMU binary; empty: qemu_binary() from PATH
  std::string kernel_image;
  std::string initramfs;
  bool interactive = false;
  std::string accel = "tcg";  // -accel: tcg or kvm (see accel.hpp)
  LabSockets sockets;
};

std::string qemu_binary(Arch arch);
// Scenarios with a labdma device need the lab's own QEMU (bsp/qemu), which
// the top-level Makefile builds into <root>/build/qemu.
bool needs_lab_qemu(const RunOptions& o);
std::string lab_qemu_binary(const std::string& root, Arch arch);
std::string default_memory(Arch arch, KernelFlavour kernel);
std::string guest_console(Arch arch);

// QEMU -m syntax ("256M", "2G", "1024": MiB without a suffix) to MiB; throws
// std::invalid_argument on anything else.
std::uint64_t memory_mib(const std::string& size);

// The guest memory for a run (QEMU -m). The kernel unpacks the initramfs into
// RAM while the archive itself is still there, so what --add/--add-binary
// bring costs about twice their size: without --mem the default grows by
// that; an explicit --mem too small for it, or a payload too big for any
// initramfs, throws std::invalid_argument with a one-line reason naming the
// option that fixes it.
std::string plan_memory(const RunOptions& o, std::uint64_t payload_bytes);

// Extra edu properties the architecture needs (arm64 RAM starts at 1 GiB, out
// of reach of edu's default 28-bit DMA mask) and the driver parameter to match.
std::vector<std::string> arch_edu_props(Arch arch);
std::vector<std::string> arch_kernel_params(Arch arch);

std::string kernel_command_line(const Scenario& s);
std::vector<std::string> qemu_command(const Scenario& s);

// Quotes an argument for display in a shell.
std::string shell_quote(const std::string& arg);

}  // namespace edulab
