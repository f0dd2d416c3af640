// Command line of the lab's VM runner (scripts/run_qemu.sh).
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace edulab {

enum class Arch { x86_64, aarch64 };
// stock: Debian 12's 6.1; debug, min: the lab's own 6.1 builds; lts612 and
// rt612: Debian 12's 6.12 LTS backport and its PREEMPT_RT build ("6.12",
// "6.12-rt" on the command line).
enum class KernelFlavour { stock, debug, min, lts612, rt612 };
enum class Interactive { automatic, yes, no };
enum class Accel { automatic, tcg, kvm };

std::string to_string(Arch a);
std::string to_string(KernelFlavour k);
std::string to_string(Accel a);

// A test the scenario may skip, and why (`--allow-skip PATTERN=REASON`).
// PATTERN is a glob over "Suite.Test" (fnmatch(3)).
struct AllowedSkip {
  std::string pattern;
  std::string reason;
};

// A host file or directory copied into the guest (`--add HOST[:GUEST]`).
struct AddedPath {
  std::string host;
  std::string guest;  // absolute; defaults to /root/<basename of host>
};

struct RunOptions {
  Arch arch = Arch::x86_64;
  KernelFlavour kernel = KernelFlavour::stock;
  unsigned edu_count = 2;
  unsigned labdma_count = 0;       // QEMU's "labdma" (docs/labdma/datasheet.md)
  unsigned labdma_lite_count = 0;  // its "labdma-lite" sibling
  std::string memory;              // QEMU -m syntax; empty: the architecture's default
  unsigned smp = 1;
  std::vector<std::string> qemu_args;
  std::vector<std::string> edu_props;     // extra properties for every edu device
  std::vector<std::string> labdma_props;  // extra properties for every labdma device
  std::vector<std::string> append;        // extra guest kernel command line
  std::vector<AddedPath> added;
  std::vector<std::string> added_binaries;
  std::string qmp_socket;
  bool iommu = false;
  unsigned timeout_s = 0;  // 0: 600 s with a command, none interactively
  unsigned boot_timeout_s = 240;
  std::string stage_dir;  // empty: <root>/build/stage/<arch>-<kernel>
  std::string results_dir;
  bool expect_gtest = false;
  std::vector<AllowedSkip> allowed_skips;
  std::string verdict_json;  // write the verdict here as JSON
  std::string junit_file;    // write the GoogleTest reports here as JUnit XML
  Accel accel = Accel::automatic;
  bool panic_on_warn = false;
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

// Parses "PATTERN=REASON"; both parts must be non-empty.
AllowedSkip parse_allowed_skip(const std::string& spec);

// Parses "HOST[:GUEST]"; the guest path must be absolute when given.
AddedPath parse_added_path(const std::string& spec);

}  // namespace edulab
