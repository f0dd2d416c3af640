/// @file eductl/app.hpp
/// @brief Runs a parsed eductl Command against the devices.
#pragma once

#include <iosfwd>

#include "edu/discovery.hpp"
#include "eductl/cli.hpp"

namespace eductl {

/// Everything a command touches outside the device, injectable for tests.
struct Environment {
  edu::DiscoveryOptions discovery;  ///< sysfs root, /dev root, visible-device filter
  std::ostream* out = nullptr;      ///< text / JSON output (stdout)
  std::ostream* err = nullptr;      ///< error lines (stderr)
  bool stderr_is_tty = false;       ///< draw the copy progress bar (with Progress::automatic)
  int stdin_fd = 0;                 ///< data input for "-"
  int stdout_fd = 1;                ///< data output for "-"
};

/// Runs @p cmd; returns the process exit code (Exit). Errors are reported on
/// env.err as one line, and with --json also as a JSON document on env.out.
[[nodiscard]] int run(const Command& cmd, const Environment& env);

/// The whole program: parse argv, build the Environment from the process, run.
[[nodiscard]] int main_entry(int argc, char** argv);

}  // namespace eductl
