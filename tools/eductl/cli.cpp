#include "eductl/cli.hpp"

#include <algorithm>
#include <ostream>
#include <sstream>

#include <CLI/CLI.hpp>

namespace eductl {
namespace {

constexpr const char* kExitCodes =
    "Exit codes: 0 ok, 1 operation failed, 2 usage error, 3 no such device / driver not loaded,\n"
    "            4 permission denied, 5 timed out.\n"
    "Environment: EDU_VISIBLE_DEVICES=i,j,... restricts the visible devices.";

/// A usage error found after CLI11 accepted the syntax.
struct UsageError {
  std::string message;
};

}  // namespace

const char* verb_name(Verb verb) noexcept {
  switch (verb) {
    case Verb::list:
      return "list";
    case Verb::info:
      return "info";
    case Verb::stats:
      return "stats";
    case Verb::fact:
      return "fact";
    case Verb::live:
      return "live";
    case Verb::irq:
      return "irq";
    case Verb::write:
      return "write";
    case Verb::read:
      return "read";
    case Verb::copy:
      return "copy";
    case Verb::reg_read:
      return "reg read";
    case Verb::reg_write:
      return "reg write";
  }
  return "?";
}

std::optional<edu::CopyPath> parse_copy_path(const std::string& text) noexcept {
  if (text == "auto") return edu::CopyPath::automatic;
  if (text == "staging") return edu::CopyPath::staging;
  if (text == "pinned") return edu::CopyPath::pinned;
  if (text == "rw") return edu::CopyPath::read_write;
  return std::nullopt;
}

ParseResult parse_command_line(const std::vector<std::string>& args, std::ostream& out,
                               std::ostream& err) {
  Command cmd;
  std::string wait = "default";
  std::string path = "auto";
  std::uint64_t length = 0;
  std::uint32_t timeout = 0;
  bool progress = false;
  bool no_progress = false;

  CLI::App app{"eductl — control and exercise edu PCI devices through the edu driver", "eductl"};
  app.footer(kExitCodes);
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand
  app.add_option("-d,--device", cmd.device, "Device index N of /dev/eduN (default: first visible)")
      ->check(CLI::Range(0U, 1U << 20));
  app.add_flag("--json", cmd.json, "Print one JSON document on stdout (docs/eductl-json.md)");

  auto* list = app.add_subcommand("list", "List the visible edu devices (sysfs)");
  auto* info = app.add_subcommand("info", "Show identity and configuration of a device");
  auto* stats = app.add_subcommand("stats", "Show the counters of a device");

  auto* fact = app.add_subcommand("fact", "Compute N! mod 2^32 on the device");
  fact->add_option("N", cmd.n, "Input (decimal or 0x hex)")->required();
  fact->add_option("-w,--wait", wait, "Driver wait mode")
      ->check(CLI::IsMember({"default", "irq", "poll", "hybrid"}));
  fact->add_option("-t,--timeout", timeout, "Timeout in ms (0 = driver default, max 60000)")
      ->check(CLI::Range(0U, 60000U));
  fact->add_flag("--async", cmd.async, "Start asynchronously and wait for completion with poll(2)");

  auto* live = app.add_subcommand("live", "Liveness check: the device must return ~VALUE");
  live->add_option("VALUE", cmd.value, "Value to write (default 0x12345678)");

  auto* irq = app.add_subcommand("irq", "Raise an interrupt and wait until the driver saw it");
  irq->add_option("STATUS", cmd.irq_status,
                  "Interrupt status bits (default 0x10000; not 0x1 or 0x100)");

  auto* write = app.add_subcommand("write", "Write FILE (or stdin) into the device buffer");
  write->add_option("FILE", cmd.input, "Input file, - for stdin (default)");
  auto* read = app.add_subcommand("read", "Read the device buffer into FILE (or stdout)");
  read->add_option("FILE", cmd.output, "Output file, - for stdout (default)");
  for (CLI::App* sub : {write, read}) {
    sub->add_option("-o,--offset", cmd.offset, "Offset in the device buffer (default 0)");
    sub->add_option("-l,--length", length,
                    "Bytes (default: write all input; read up to the end of the window)");
    sub->add_option("-p,--path", path, "Transfer path: auto, staging, pinned, rw")
        ->check(CLI::IsMember({"auto", "staging", "pinned", "rw"}));
  }

  auto* copy = app.add_subcommand("copy", "Stream INPUT through the device into OUTPUT");
  copy->add_option("INPUT", cmd.input, "Input file, - for stdin (default)");
  copy->add_option("OUTPUT", cmd.output, "Output file, - for stdout (default)");
  copy->add_option("-p,--path", path, "Transfer path: auto, staging, pinned, rw")
      ->check(CLI::IsMember({"auto", "staging", "pinned", "rw"}));
  copy->add_option("-b,--block-size", cmd.block_size, "Bytes read from INPUT at a time")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 30));
  copy->add_flag("--all-devices", cmd.all_devices,
                 "Split each block across all visible devices in parallel");
  auto* prog = copy->add_flag("--progress", progress, "Always draw the progress bar on stderr");
  copy->add_flag("--no-progress", no_progress, "Never draw the progress bar")->excludes(prog);

  auto* reg = app.add_subcommand("reg", "Debug register access (needs root)");
  reg->require_subcommand(1);
  auto* reg_read = reg->add_subcommand("read", "Read a BAR0 register");
  auto* reg_write = reg->add_subcommand("write", "Write a BAR0 register (only 0x04)");
  reg_read->add_option("OFFSET", cmd.reg_offset, "Register offset")->required();
  reg_write->add_option("OFFSET", cmd.reg_offset, "Register offset")->required();
  reg_write->add_option("VALUE", cmd.reg_value, "Value")->required();
  for (CLI::App* sub : {reg_read, reg_write})
    sub->add_option("--width", cmd.reg_width, "Access width in bytes: 4 or 8")
        ->check(CLI::IsMember({4U, 8U}));

  const std::vector<std::pair<CLI::App*, Verb>> verbs = {
      {list, Verb::list},         {info, Verb::info},          {stats, Verb::stats},
      {fact, Verb::fact},         {live, Verb::live},          {irq, Verb::irq},
      {write, Verb::write},       {read, Verb::read},          {copy, Verb::copy},
      {reg_read, Verb::reg_read}, {reg_write, Verb::reg_write}};

  std::string where = "eductl";
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 wants them reversed
    app.parse(reversed);
    for (const auto& [sub, verb] : verbs)
      if (sub->parsed()) cmd.verb = verb;
    where = std::string("eductl ") + verb_name(cmd.verb);

    cmd.wait = edu::parse_wait_mode(wait).value_or(edu::WaitMode::driver_default);
    cmd.timeout_ms = timeout;
    cmd.path = parse_copy_path(path).value_or(edu::CopyPath::automatic);
    if (write->parsed() || read->parsed())
      if (write->get_option("--length")->count() + read->get_option("--length")->count() > 0)
        cmd.length = length;
    cmd.progress = progress      ? Progress::always
                   : no_progress ? Progress::never
                                 : Progress::automatic;

    if (cmd.verb == Verb::irq &&
        (cmd.irq_status == 0 || (cmd.irq_status & edu::kReservedIrqBits) != 0))
      throw UsageError{
          "STATUS must be non-zero and must not use bits 0x1 and 0x100 (the "
          "driver's own completions)"};
    if (cmd.verb == Verb::fact && cmd.async && cmd.wait != edu::WaitMode::driver_default)
      throw UsageError{"--async completes by interrupt; it cannot be combined with --wait"};
    if (cmd.verb == Verb::copy && cmd.json && cmd.output == "-")
      throw UsageError{"--json needs an OUTPUT file: stdout carries the data"};
    if (cmd.verb == Verb::copy && cmd.all_devices && cmd.device)
      throw UsageError{"--all-devices and --device exclude each other"};
    if (cmd.length && *cmd.length == 0) throw UsageError{"--length must be at least 1"};
  } catch (const CLI::CallForHelp& e) {
    return {std::nullopt, app.exit(e, out, err)};
  } catch (const CLI::CallForAllHelp& e) {
    return {std::nullopt, app.exit(e, out, err)};
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    // Name the subcommand whose --help explains the mistake.
    std::string help = "eductl";
    for (const auto& [sub, verb] : verbs)
      if (sub->parsed()) help = std::string("eductl ") + verb_name(verb);
    err << "eductl: " << msg << " — run `" << help << " --help`\n";
    return {std::nullopt, static_cast<int>(Exit::usage)};
  } catch (const UsageError& e) {
    err << "eductl: " << e.message << " — run `" << where << " --help`\n";
    return {std::nullopt, static_cast<int>(Exit::usage)};
  }
  return {cmd, 0};
}

}  // namespace eductl
