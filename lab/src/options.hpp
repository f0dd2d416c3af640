// Command line of the lab's VM runner (scripts/run_qemu.sh).
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace edulab {

enum class Arch { x86_64, aarch64 };
enum class KernelFlavour { stock, debug, min };
enum class Interactive { automatic, yes, no };

std::string to_string(Arch a);
std::string to_string(KernelFlavour k);

// A host file or directory copied into the guest (`--add HOST[:GUEST]`).
struct AddedPath {
  std::string host;
  std::string guest;  // absolute; defaults to /root/<basename of host>
};

struct RunOptions {
  Arch arch = Arch::x86_64;
  KernelFlavour kernel = KernelFlavour::stock;
  unsigned edu_count = 2;
  std::string memory;  // QEMU -m syntax; empty: the architecture's default
  unsigned smp = 1;
  std::vector<std::string> qemu_args;
  std::vector<std::string> edu_props;  // extra properties for every edu device
  std::vector<std::string> append;     // extra guest kernel command line
  std::vector<AddedPath> added;
  std::vector<std::string> added_binaries;
  std::string qmp_socket;
  bool iommu = false;
  unsigned timeout_s = 0;  // 0: 600 s with a command, none interactively
  unsigned boot_timeout_s = 240;
  std::string stage_dir;  // empty: <root>/build/stage/<arch>-<kernel>
  std::string results_dir;
  bool expect_gtest = false;
  std::string log_file;
  Interactive interactive = Interactive::automatic;
  bool verbose = false;
  std::vector<std::string> command;
};

// Parsing either yields options to run with, or an exit request (help text,
// version, or a usage error) with the text to print and the status to exit with.
struct ExitRequest {
  int status = 0;
  std::string output;  // stdout for --help, stderr otherwise
  bool to_stderr = false;
};

std::variant<RunOptions, ExitRequest> parse_options(const std::vector<std::string>& args);

// Parses "HOST[:GUEST]"; the guest path must be absolute when given.
AddedPath parse_added_path(const std::string& spec);

}  // namespace edulab
