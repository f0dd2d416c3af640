// Finds what a dynamically linked ELF program needs at run time (its
// interpreter and shared libraries, transitively), without executing it, so
// `--add-binary` works for host programs and cross-built ones alike.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace edulab {

enum class ElfMachine { x86_64, aarch64, other };

struct ElfInfo {
  ElfMachine machine = ElfMachine::other;
  std::string interpreter;           // PT_INTERP, empty for static binaries
  std::vector<std::string> needed;   // DT_NEEDED
  std::vector<std::string> runpath;  // DT_RUNPATH / DT_RPATH, $ORIGIN expanded
};

// Throws std::runtime_error with the file name for non-ELF64 or truncated files.
ElfInfo read_elf_info(const std::filesystem::path& file);

// One file a program needs: where it is on the host, where the guest's
// dynamic loader will look for it.
struct Dependency {
  std::filesystem::path host;
  std::string guest;
};

// The interpreter and every shared library `program` loads, transitively.
// Throws if one cannot be found in the runpath or the architecture's
// directories.
std::vector<Dependency> runtime_dependencies(const std::filesystem::path& program,
                                             const std::filesystem::path& sysroot = "/");

std::string to_string(ElfMachine m);

}  // namespace edulab
