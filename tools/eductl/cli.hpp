/// @file eductl/cli.hpp
/// @brief eductl argument parsing: command line -> Command (no device needed).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "edu/plan.hpp"
#include "edu/types.hpp"

namespace eductl {

/// Process exit codes of eductl (documented in docs/eductl-json.md).
enum class Exit : int {
  ok = 0,                 ///< success
  failed = 1,             ///< the operation failed (device error, I/O error, check failed)
  usage = 2,              ///< bad command line or argument
  no_device = 3,          ///< no such device / driver not loaded / device removed / hidden
  permission_denied = 4,  ///< EACCES / EPERM
  timeout = 5,            ///< the device did not finish in time (ETIMEDOUT)
};

/// The subcommand.
enum class Verb { list, info, stats, fact, live, irq, write, read, copy, reg_read, reg_write };

/// When to draw the progress bar of `copy`.
enum class Progress { automatic, always, never };

/// A parsed command line.
struct Command {
  Verb verb = Verb::list;
  std::optional<unsigned> device;  ///< --device N: /dev/eduN (default: first visible)
  bool json = false;               ///< --json

  // fact
  std::uint32_t n = 0;                                 ///< factorial input
  edu::WaitMode wait = edu::WaitMode::driver_default;  ///< --wait
  std::uint32_t timeout_ms = 0;                        ///< --timeout (0 = driver default)
  bool async = false;                                  ///< --async (poll-driven completion)

  // live
  std::uint32_t value = 0x12345678;  ///< value written to the liveness register

  // irq
  std::uint32_t irq_status = 0x00010000;  ///< status bits to raise

  // write / read / copy
  std::string input = "-";                        ///< input file, "-" = stdin
  std::string output = "-";                       ///< output file, "-" = stdout
  std::uint64_t offset = 0;                       ///< --offset in the device buffer
  std::optional<std::uint64_t> length;            ///< --length (default: all input / to window end)
  edu::CopyPath path = edu::CopyPath::automatic;  ///< --path
  std::uint64_t block_size = std::uint64_t{1} << 20;  ///< copy: bytes read from the input at a time
  bool all_devices = false;                           ///< copy --all-devices
  Progress progress = Progress::automatic;            ///< copy --progress / --no-progress

  // reg
  std::uint32_t reg_offset = 0;  ///< register offset
  std::uint32_t reg_width = 4;   ///< 4 or 8
  std::uint64_t reg_value = 0;   ///< value for reg write
};

/// Result of parsing: a command to run, or an exit code (after --help, or a
/// usage error already reported on the error stream).
struct ParseResult {
  std::optional<Command> command;  ///< set when there is something to run
  int exit_code = 0;               ///< meaningful when !command
};

/// Parses @p args (without the program name). Help goes to @p out, usage
/// errors as one line "eductl: <what> — <hint>" to @p err.
[[nodiscard]] ParseResult parse_command_line(const std::vector<std::string>& args,
                                             std::ostream& out, std::ostream& err);

/// Subcommand name of a verb ("reg read" for Verb::reg_read).
[[nodiscard]] const char* verb_name(Verb verb) noexcept;

/// Parses a --path value: "auto", "staging", "pinned", "rw".
[[nodiscard]] std::optional<edu::CopyPath> parse_copy_path(const std::string& text) noexcept;

}  // namespace eductl
