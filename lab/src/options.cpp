#include "options.hpp"

#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include <CLI/CLI.hpp>

#include "exit_codes.hpp"

namespace edulab {

std::string to_string(Arch a) {
  return a == Arch::x86_64 ? "x86_64" : "aarch64";
}

std::string to_string(KernelFlavour k) {
  switch (k) {
    case KernelFlavour::stock:
      return "stock";
    case KernelFlavour::debug:
      return "debug";
    case KernelFlavour::min:
      return "min";
    case KernelFlavour::lts612:
      return "6.12";
    case KernelFlavour::rt612:
      return "6.12-rt";
  }
  return "stock";
}

std::string to_string(Accel a) {
  switch (a) {
    case Accel::automatic:
      return "auto";
    case Accel::tcg:
      return "tcg";
    case Accel::kvm:
      return "kvm";
  }
  return "auto";
}

AllowedSkip parse_allowed_skip(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
    throw std::invalid_argument("--allow-skip: expected PATTERN=REASON, got '" + spec + "'");
  }
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

AddedPath parse_added_path(const std::string& spec) {
  AddedPath p;
  const auto colon = spec.find(':');
  p.host = spec.substr(0, colon);
  if (p.host.empty()) throw std::invalid_argument("--add: empty host path in '" + spec + "'");
  if (colon != std::string::npos) {
    p.guest = spec.substr(colon + 1);
    if (p.guest.empty() || p.guest.front() != '/') {
      throw std::invalid_argument("--add: guest path must be absolute in '" + spec + "'");
    }
  } else {
    std::filesystem::path h(p.host);
    std::string base = h.filename().string();
    if (base.empty()) base = h.parent_path().filename().string();
    p.guest = "/root/" + base;
  }
  return p;
}

namespace {

constexpr const char* kFooter = R"(Exit status:
  the command's own exit status when it ran to completion, else
  120  the guest ended without reporting the command's status, or test
       results were missing (--expect-gtest)
       or a test skipped without --allow-skip
  121  boot failure: the guest never became ready
  122  the guest kernel reported an oops, panic, BUG, WARNING, KASAN,
       lockdep, DMA-API or kmemleak problem (log excerpt on stderr)
  123  QEMU crashed or aborted (e.g. "hardware error")
  124  timeout
  125  runner error (bad usage, missing kernel or image, QEMU not startable)
A one-line reason is printed on stderr for every status from 120 to 125; if
the command itself exited with one of those, stderr says so, and
--verdict-json tells the two apart ("source": "guest" or "runner").

Examples:
  run_qemu.sh -- uname -a
  run_qemu.sh --edu 4 --append edu.force_intx=1 -- cat /proc/interrupts
  run_qemu.sh --arch aarch64 -- uname -m
  run_qemu.sh --labdma 1 --labdma-lite 1 -- labdma-smoke
  run_qemu.sh --kernel debug --mem 2G -- edu-abi-tests
  run_qemu.sh --qmp /tmp/lab.qmp --add-binary /usr/bin/strace -- sh)";

}  // namespace

std::variant<RunOptions, ExitRequest> parse_options(const std::vector<std::string>& args) {
  RunOptions o;
  CLI::App app{
      "Boot the edu driver lab under QEMU, optionally run a command in the guest, and return an "
      "honest verdict.",
      "run_qemu.sh"};
  app.footer(kFooter);
  app.get_formatter()->column_width(34);

  const std::map<std::string, Arch> arches{{"x86_64", Arch::x86_64}, {"aarch64", Arch::aarch64}};
  const std::map<std::string, KernelFlavour> kernels{{"stock", KernelFlavour::stock},
                                                     {"debug", KernelFlavour::debug},
                                                     {"min", KernelFlavour::min},
                                                     {"6.12", KernelFlavour::lts612},
                                                     {"6.12-rt", KernelFlavour::rt612}};
  app.add_option("--arch", o.arch, "guest architecture: x86_64 (q35) or aarch64 (virt)")
      ->transform(CLI::CheckedTransformer(arches, CLI::ignore_case))
      ->default_str("x86_64");
  app.add_option("--kernel", o.kernel,
                 "kernel flavour: stock (Debian's 6.1), debug (KASAN, lockdep, ...), min, 6.12 "
                 "or 6.12-rt (Debian's 6.12 LTS, PREEMPT_RT)")
      ->transform(CLI::CheckedTransformer(kernels, CLI::ignore_case))
      ->default_str("stock");
  app.add_option("--edu", o.edu_count,
                 "number of edu devices, each behind a hotplug-capable "
                 "PCIe root port with QEMU id eduN")
      ->check(CLI::Range(0U, 30U))
      ->default_str("2");
  app.add_option("--edu-prop", o.edu_props,
                 "extra QEMU property for every edu device, e.g. dma_mask=0xfffffff (repeatable)");
  app.add_option("--labdma", o.labdma_count,
                 "number of labdma devices (the lab's DMA engine, docs/labdma/datasheet.md), "
                 "each behind a PCIe root port with QEMU id labdmaN; runs the lab's QEMU "
                 "(make _qemu builds it)")
      ->check(CLI::Range(0U, 8U))
      ->default_str("0");
  app.add_option("--labdma-lite", o.labdma_lite_count,
                 "number of labdma-lite devices (1 channel, MSI only), QEMU ids labdmaliteN")
      ->check(CLI::Range(0U, 8U))
      ->default_str("0");
  app.add_option("--labdma-prop", o.labdma_props,
                 "extra QEMU property for every labdma and labdma-lite device, e.g. "
                 "desc-latency-ns=1000 (repeatable)");
  app.add_option("--mem", o.memory,
                 "guest memory, QEMU -m syntax (default 256M; 512M on "
                 "aarch64 and for the debug kernel)")
      ->check([](const std::string& v) {
        return std::regex_match(v, std::regex("[0-9]+(\\.[0-9]+)?[kKmMgGtT]?"))
                   ? std::string{}
                   : "expected e.g. 256M or 2G";
      });
  app.add_option("--smp", o.smp, "number of guest CPUs")
      ->check(CLI::Range(1U, 8U))
      ->default_str("1");
  app.add_option("--qemu-arg", o.qemu_args, "argument passed to QEMU verbatim (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--append", o.append, "extra guest kernel command line (repeatable)")
      ->allow_extra_args(false);
  std::vector<std::string> adds;
  app.add_option("--add", adds,
                 "copy a host file or directory into the guest, HOST[:GUEST] "
                 "(default GUEST: /root/<name>) (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--add-binary", o.added_binaries,
                 "copy a dynamically linked program and the shared libraries it needs into the "
                 "guest's /usr/local/bin (repeatable)")
      ->allow_extra_args(false)
      ->check(CLI::ExistingFile);
  app.add_flag("--iommu", o.iommu,
               "put the devices behind an IOMMU (x86_64: intel-iommu, intel_iommu=on)");
  app.add_option("--qmp", o.qmp_socket, "expose the QMP monitor on this unix socket path");
  app.add_option("--timeout", o.timeout_s,
                 "seconds before the run is killed (default 600 with a command, none "
                 "interactively)");
  app.add_option("--boot-timeout", o.boot_timeout_s, "seconds the guest may take to become ready")
      ->default_str("240");
  app.add_option("--stage", o.stage_dir,
                 "staged kernel + rootfs (default build/stage/ARCH-KERNEL)");
  app.add_option("--results", o.results_dir,
                 "host directory receiving the files the guest writes to /lab/results");
  app.add_flag("--expect-gtest", o.expect_gtest,
               "fail unless /lab/results holds GoogleTest JSON reports with tests and no failures");
  std::vector<std::string> skips;
  app.add_option("--allow-skip", skips,
                 "with --expect-gtest: tests matching PATTERN (a glob over Suite.Test) may skip, "
                 "for REASON; any other skip fails the run (repeatable)")
      ->type_name("PATTERN=REASON")
      ->allow_extra_args(false);
  app.add_option("--verdict-json", o.verdict_json,
                 "write the verdict (status, reason, excerpt, tests, accelerator, times) as JSON");
  app.add_option("--junit", o.junit_file,
                 "write the GoogleTest reports from the guest as one JUnit XML file");
  const std::map<std::string, Accel> accels{
      {"auto", Accel::automatic}, {"tcg", Accel::tcg}, {"kvm", Accel::kvm}};
  app.add_option("--accel", o.accel,
                 "tcg, kvm, or auto: KVM only where a probe (cached) shows it boots this "
                 "guest, else TCG")
      ->transform(CLI::CheckedTransformer(accels, CLI::ignore_case))
      ->default_str("auto");
  app.add_flag("--panic-on-warn", o.panic_on_warn,
               "the guest kernel panics at its first WARNING (stops at the first splat)");
  app.add_option("--log", o.log_file, "write the guest kernel log (console and streamed log) here");
  bool interactive = false;
  bool batch = false;
  app.add_flag("--interactive", interactive,
               "give a root shell on the console (default when "
               "stdin is a terminal and no command is given)");
  app.add_flag("--batch", batch, "never interactive: run the demo (or the command) and power off");
  app.add_flag("-v,--verbose", o.verbose, "print the QEMU command line and the guest console");
  app.add_option("command", o.command, "command to run as root in the guest, after --");
  app.positionals_at_end(true);

  std::vector<std::string> rev(args.rbegin(), args.rend());
  try {
    app.parse(rev);
    if (interactive && batch) throw CLI::ValidationError("--interactive and --batch conflict");
    if (interactive && !o.command.empty()) {
      throw CLI::ValidationError("--interactive cannot be combined with a command");
    }
    o.interactive = interactive ? Interactive::yes
                    : batch     ? Interactive::no
                                : Interactive::automatic;
    for (const auto& a : adds)
      o.added.push_back(parse_added_path(a));
    for (const auto& a : skips)
      o.allowed_skips.push_back(parse_allowed_skip(a));
    if ((o.kernel != KernelFlavour::stock) && o.arch != Arch::x86_64) {
      throw CLI::ValidationError("--kernel " + to_string(o.kernel) +
                                 " is x86_64 only (aarch64 boots Debian's stock kernel)");
    }
    if (o.edu_count + o.labdma_count + o.labdma_lite_count > 30) {
      // each device has its own root port, and a root bus has 32 slots
      throw CLI::ValidationError(
          "--edu, --labdma and --labdma-lite add up to more than 30 "
          "devices (each takes a root-bus slot)");
    }
    if (o.iommu && o.arch != Arch::x86_64) {
      throw CLI::ValidationError("--iommu is only available for --arch x86_64");
    }
  } catch (const CLI::CallForHelp&) {
    return ExitRequest{0, app.help(), false};
  } catch (const CLI::ParseError& e) {
    return ExitRequest{kExitRunnerError,
                       "run_qemu: " + std::string(e.what()) + " (see run_qemu.sh --help)\n", true};
  } catch (const std::invalid_argument& e) {
    return ExitRequest{kExitRunnerError, "run_qemu: " + std::string(e.what()) + "\n", true};
  }
  return o;
}

}  // namespace edulab
