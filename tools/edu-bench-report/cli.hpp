/// @file edu-bench-report/cli.hpp
/// @brief The edu-bench-report command line (everything but main()).
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace edubench::report {

/// Runs a program (no shell) with stdout and stderr appended to @p log;
/// returns its exit status, or -1 if it could not be started / was killed.
[[nodiscard]] int run_program(const std::vector<std::string>& argv,
                              const std::filesystem::path& log);

/// The best PNG terminal @p gnuplot offers ("pngcairo", else "png"), or
/// nullopt if gnuplot cannot be run or has neither.
[[nodiscard]] std::optional<std::string> png_terminal(const std::string& gnuplot);

/// edu-bench-report [--check FILE] | [INPUT] [-o DIR] [--no-plots] [--gnuplot PATH].
/// Exit codes: 0 ok; 1 malformed/unreadable input, bench errors recorded in
/// it, or plotting failed; 2 usage.
[[nodiscard]] int run_cli(const std::vector<std::string>& args, std::ostream& out,
                          std::ostream& err);

}  // namespace edubench::report
