#include "initramfs.hpp"

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "elf_deps.hpp"
#include "qemu_command.hpp"

namespace edulab {

namespace fs = std::filesystem;

Stage load_stage(const fs::path& dir) {
  Stage s;
  s.dir = dir;
  s.kernel = dir / "kernel";
  s.rootfs = dir / "rootfs";
  const std::string hint = " (build it with `make stage` or run through scripts/run_qemu.sh)";
  if (!fs::is_directory(dir)) throw std::runtime_error("no staged image at " + dir.string() + hint);
  if (!fs::exists(s.kernel)) throw std::runtime_error("missing " + s.kernel.string() + hint);
  if (!fs::exists(s.rootfs / "init")) {
    throw std::runtime_error("missing " + (s.rootfs / "init").string() + hint);
  }
  std::ifstream rel(dir / "kernel.release");
  std::getline(rel, s.release);
  return s;
}

std::string command_script(const std::vector<std::string>& command) {
  std::string script = "#!/bin/sh\n# Written by the lab runner: the command given after --.\nexec";
  for (const auto& a : command)
    script += " " + shell_quote(a);
  return script + "\n";
}

namespace {

ElfMachine machine_of(Arch a) {
  return a == Arch::x86_64 ? ElfMachine::x86_64 : ElfMachine::aarch64;
}

void add_resolved(CpioArchive& cpio, const fs::path& host, const std::string& guest) {
  // Libraries are usually symlinks to versioned files: the guest needs the bytes.
  const fs::path real = fs::canonical(host);
  cpio.add_host_path(real, guest);
}

}  // namespace

Initramfs make_initramfs(const Stage& stage, const RunOptions& options) {
  Initramfs image;
  CpioArchive& cpio = image.cpio;
  for (const auto& e : fs::directory_iterator(stage.rootfs)) {
    cpio.add_host_path(e.path(), "/" + e.path().filename().string());
  }
  // The kernel opens /dev/console for init before anything is mounted.
  cpio.add_directory("/dev");
  cpio.add_char_device("/dev/console", 5, 1, 0600);

  cpio.add_directory("/lab");
  cpio.add_directory("/lab/results", 0777);
  if (!options.command.empty()) cpio.add_file("/lab/cmd.sh", command_script(options.command), 0755);
  const std::uint64_t base_bytes = cpio.bytes();

  for (const auto& a : options.added)
    cpio.add_host_path(a.host, a.guest);

  for (const auto& b : options.added_binaries) {
    const ElfInfo info = read_elf_info(b);
    if (info.machine != machine_of(options.arch)) {
      throw std::runtime_error("--add-binary " + b + ": built for " + to_string(info.machine) +
                               ", the guest is " + to_string(options.arch));
    }
    add_resolved(cpio, b, "/usr/local/bin/" + fs::path(b).filename().string());
    for (const auto& dep : runtime_dependencies(b))
      add_resolved(cpio, dep.host, dep.guest);
  }
  image.payload_bytes = cpio.bytes() - std::min(base_bytes, cpio.bytes());
  return image;
}

}  // namespace edulab
