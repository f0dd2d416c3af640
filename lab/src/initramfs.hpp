// Assembles the guest's initramfs: the staged BSP rootfs plus this run's
// command and added files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "cpio.hpp"
#include "options.hpp"

namespace edulab {

// What `make stage` leaves in build/stage/<arch>-<kernel>/.
struct Stage {
  std::filesystem::path dir;
  std::filesystem::path kernel;  // image QEMU boots with -kernel
  std::string release;           // uname -r of that kernel
  std::filesystem::path rootfs;  // directory tree copied into the initramfs
};

// Throws std::runtime_error naming what is missing and how to build it.
Stage load_stage(const std::filesystem::path& dir);

// The script the guest's init runs for `-- CMD ARGS...`: CMD exec'd with its
// arguments exactly as given (no second round of shell expansion).
std::string command_script(const std::vector<std::string>& command);

struct Initramfs {
  CpioArchive cpio;
  std::uint64_t payload_bytes = 0;  // what --add and --add-binary brought
};

Initramfs make_initramfs(const Stage& stage, const RunOptions& options);

}  // namespace edulab
