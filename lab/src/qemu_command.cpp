#include "qemu_command.hpp"

#include <array>
#include <stdexcept>
#include <utility>

namespace edulab {

std::string qemu_binary(Arch arch) {
  return arch == Arch::x86_64 ? "qemu-system-x86_64" : "qemu-system-aarch64";
}

bool needs_lab_qemu(const RunOptions& o) {
  return o.labdma_count + o.labdma_lite_count > 0;
}

std::string lab_qemu_binary(const std::string& root, Arch arch) {
  return root + "/build/qemu/bin/" + qemu_binary(arch);
}

std::string default_memory(Arch arch, KernelFlavour kernel) {
  // KASAN keeps an eighth of RAM as shadow and the debug allocators are
  // hungry: 256M is not enough for the debug kernel plus the test programs.
  if (arch == Arch::aarch64 || kernel == KernelFlavour::debug) return "512M";
  return "256M";
}

std::uint64_t memory_mib(const std::string& size) {
  // QEMU takes a decimal number with an optional suffix: "1.5G", "256", "512M".
  std::size_t used = 0;
  double n = 0;
  try {
    n = std::stod(size, &used);
  } catch (const std::exception&) {
    throw std::invalid_argument("bad memory size '" + size + "'");
  }
  const std::string unit = size.substr(used);
  if (n < 0 || unit.size() > 1 || size.front() < '0' || size.front() > '9') {
    throw std::invalid_argument("bad memory size '" + size + "'");
  }
  double mib = 0;
  switch (unit.empty() ? 'M' : unit[0]) {
    case 'k':
    case 'K':
      mib = n / 1024;
      break;
    case 'm':
    case 'M':
      mib = n;
      break;
    case 'g':
    case 'G':
      mib = n * 1024;
      break;
    case 't':
    case 'T':
      mib = n * 1024 * 1024;
      break;
    default:
      throw std::invalid_argument("bad memory size '" + size + "'");
  }
  return static_cast<std::uint64_t>(mib);
}

std::string plan_memory(const RunOptions& o, std::uint64_t payload_bytes) {
  constexpr std::uint64_t kMiB = 1024ULL * 1024;
  constexpr std::uint64_t kLargestAuto = 16ULL * 1024;  // MiB: beyond that, an initramfs is wrong
  const std::uint64_t base = memory_mib(default_memory(o.arch, o.kernel));
  const std::uint64_t payload = (payload_bytes + kMiB - 1) / kMiB;
  const std::uint64_t needed = (base + 2 * payload + 63) / 64 * 64;
  if (o.memory.empty()) {
    if (needed > kLargestAuto) {
      throw std::invalid_argument("--add/--add-binary bring " + std::to_string(payload) +
                                  " MiB: too big to unpack into guest RAM (it would need " +
                                  std::to_string(needed) +
                                  " MiB); add less, e.g. only the files the command needs");
    }
    return payload == 0 ? default_memory(o.arch, o.kernel) : std::to_string(needed) + "M";
  }
  if (payload > 0 && memory_mib(o.memory) < needed) {
    throw std::invalid_argument("--mem " + o.memory + " is too small for this run: the " +
                                std::to_string(payload) +
                                " MiB that --add/--add-binary bring are unpacked in guest RAM "
                                "next to their archive; give --mem " +
                                std::to_string(needed) + "M or more, or leave --mem out");
  }
  return o.memory;
}

std::string guest_console(Arch arch) {
  return arch == Arch::x86_64 ? "ttyS0" : "ttyAMA0";
}

std::vector<std::string> arch_edu_props(Arch arch) {
  if (arch == Arch::aarch64) return {"dma_mask=0xffffffffff"};
  return {};
}

std::vector<std::string> arch_kernel_params(Arch arch) {
  if (arch == Arch::aarch64) return {"edu.dma_bits=40"};
  // The IO-APIC timer check measures ticks against a calibrated delay loop;
  // under TCG on a busy host (and on the slow debug kernel) it misfires and
  // the boot hangs, so skip it as virtualised guests usually do.
  return {"no_timer_check"};
}

std::string kernel_command_line(const Scenario& s) {
  // The kernel console is a slow serial line under TCG: it shows warnings and
  // worse (loglevel=5), the full log streams from /dev/kmsg (lab-kmsg).
  std::string cmdline = "console=" + guest_console(s.options.arch) + " panic=-1 quiet loglevel=5";
  cmdline += " lab.arch=" + to_string(s.options.arch);
  cmdline += " lab.kernel=" + to_string(s.options.kernel);
  cmdline += " lab.accel=" + s.accel;
  if (s.options.panic_on_warn) cmdline += " panic_on_warn=1";
  if (s.interactive) cmdline += " lab.interactive=1";
  for (const auto& p : arch_kernel_params(s.options.arch))
    cmdline += " " + p;
  if (s.options.iommu) cmdline += " intel_iommu=on iommu.strict=1";
  for (const auto& a : s.options.append)
    cmdline += " " + a;
  return cmdline;
}

std::vector<std::string> qemu_command(const Scenario& s) {
  const RunOptions& o = s.options;
  std::vector<std::string> cmd{s.qemu.empty() ? qemu_binary(o.arch) : s.qemu};
  if (o.arch == Arch::x86_64) {
    cmd.insert(cmd.end(), {"-M", "q35"});
    // The IOMMU must exist before the PCI devices it translates for.
    if (o.iommu) cmd.insert(cmd.end(), {"-device", "intel-iommu,intremap=off"});
  } else {
    // labdma's MSI-X vectors want an ITS (GICv3); edu scenarios keep the
    // GICv2m machine they were proven on.
    cmd.insert(cmd.end(),
               {"-M", needs_lab_qemu(o) ? "virt,gic-version=3" : "virt", "-cpu", "cortex-a57"});
  }
  if (!s.accel.empty()) cmd.insert(cmd.end(), {"-accel", s.accel});
  cmd.insert(cmd.end(),
             {"-m", o.memory.empty() ? default_memory(o.arch, o.kernel) : o.memory, "-smp",
              std::to_string(o.smp), "-nodefaults", "-display", "none", "-no-reboot", "-kernel",
              s.kernel_image, "-initrd", s.initramfs, "-append", kernel_command_line(s)});

  if (s.interactive) {
    // The user's terminal is the guest console; Ctrl-A X quits, Ctrl-A C is
    // QEMU's monitor.
    cmd.insert(cmd.end(),
               {"-chardev", "stdio,id=con,mux=on,signal=off,logfile=" + s.sockets.console_log,
                "-serial", "chardev:con", "-mon", "chardev=con,mode=readline"});
  } else {
    cmd.insert(cmd.end(), {"-chardev", "socket,id=con,path=" + s.sockets.console, "-serial",
                           "chardev:con", "-monitor", "none"});
  }

  // The results channel: virtio-serial ports, separate from the kernel console.
  cmd.insert(cmd.end(), {"-device", "virtio-serial-pci,id=labser"});
  const std::array<std::pair<const char*, const std::string*>, 6> ports{
      {{kPortCtl, &s.sockets.ctl},
       {kPortOut, &s.sockets.out},
       {kPortErr, &s.sockets.err},
       {kPortKmsg, &s.sockets.kmsg},
       {kPortResults, &s.sockets.results},
       {kPortQmp, &s.sockets.qmp_guest}}};
  int n = 0;
  for (const auto& [name, path] : ports) {
    const std::string id = "labport" + std::to_string(n++);
    cmd.insert(cmd.end(), {"-chardev", "socket,id=" + id + ",path=" + *path, "-device",
                           "virtserialport,bus=labser.0,chardev=" + id + ",name=" + name});
  }

  // A QMP monitor the runner bridges to the guest's lab.qmp port, so tests in
  // the guest can hot-unplug devices (device_del) themselves.
  cmd.insert(cmd.end(), {"-chardev", "socket,id=labqmp,path=" + s.sockets.qmp_monitor, "-mon",
                         "chardev=labqmp,mode=control"});

  // Each edu sits behind its own PCIe root port, so any of them can be
  // hot-unplugged over QMP (device_del eduN).
  std::vector<std::string> props = arch_edu_props(o.arch);
  props.insert(props.end(), o.edu_props.begin(), o.edu_props.end());
  for (unsigned i = 0; i < o.edu_count; ++i) {
    const std::string port = "labrp" + std::to_string(i);
    cmd.insert(cmd.end(),
               {"-device", "pcie-root-port,id=" + port + ",chassis=" + std::to_string(i + 1) +
                               ",slot=" + std::to_string(i + 1)});
    std::string dev = "edu,id=edu" + std::to_string(i) + ",bus=" + port;
    for (const auto& p : props)
      dev += "," + p;
    cmd.insert(cmd.end(), {"-device", dev});
  }

  // labdma devices likewise, on the root ports after edu's.
  unsigned port_no = o.edu_count;
  auto add_labdma = [&](const char* type, const char* id_base, unsigned count) {
    for (unsigned i = 0; i < count; ++i, ++port_no) {
      const std::string port = "labrp" + std::to_string(port_no);
      cmd.insert(cmd.end(), {"-device", "pcie-root-port,id=" + port +
                                            ",chassis=" + std::to_string(port_no + 1) +
                                            ",slot=" + std::to_string(port_no + 1)});
      std::string dev = std::string(type) + ",id=" + id_base + std::to_string(i) + ",bus=" + port;
      for (const auto& p : o.labdma_props)
        dev += "," + p;
      cmd.insert(cmd.end(), {"-device", dev});
    }
  };
  add_labdma("labdma", "labdma", o.labdma_count);
  add_labdma("labdma-lite", "labdmalite", o.labdma_lite_count);

  if (!o.qmp_socket.empty()) {
    cmd.insert(cmd.end(), {"-qmp", "unix:" + o.qmp_socket + ",server=on,wait=off"});
  }
  cmd.insert(cmd.end(), o.qemu_args.begin(), o.qemu_args.end());
  return cmd;
}

std::string shell_quote(const std::string& arg) {
  if (!arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789_-./=:,+@%") == std::string::npos) {
    return arg;
  }
  std::string q = "'";
  for (char c : arg) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

}  // namespace edulab
