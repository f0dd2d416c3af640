// Runs QEMU for one scenario and gathers the evidence for a verdict: the
// kernel console, the guest's control/output/result channels, QEMU's own
// output and how it ended.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "qemu_command.hpp"
#include "termination.hpp"
#include "verdict.hpp"

namespace edulab {

struct SessionLimits {
  unsigned timeout_s = 0;  // 0: none
  unsigned boot_timeout_s = 240;
  unsigned poweroff_timeout_s = 30;
  // After a limit is hit: how long the guest's task dump may take to arrive
  // before QEMU is killed (0: kill at once).
  unsigned dump_wait_s = 4;
};

struct SessionResult {
  Evidence evidence;
  std::map<std::string, std::string> result_files;  // from the guest's /lab/results
  int interrupted_by = 0;  // the termination signal that ended the run, if one did
};

// Parses the framed stream the guest sends on the results port:
// "FILE <name> <size>\n" followed by exactly <size> bytes, repeated.
std::map<std::string, std::string> parse_result_stream(const std::string& stream);

// Creates the sockets in `workdir`, starts QEMU and runs until it exits or a
// limit is hit, or until one of `signals` arrives (QEMU is then killed and
// the signal reported in the result). Guest stdout/stderr are forwarded live
// to ours.
SessionResult run_session(Scenario& scenario, const std::filesystem::path& workdir,
                          const SessionLimits& limits, TerminationSignals& signals, bool verbose);

}  // namespace edulab
