#include "eductl/output.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "edu/error.hpp"

namespace eductl {

using nlohmann::json;

int exit_code_for(const std::error_code& ec) noexcept {
  if (ec.category() == edu::category()) {
    switch (static_cast<edu::errc>(ec.value())) {
      case edu::errc::no_device:
      case edu::errc::device_not_visible:
        return static_cast<int>(Exit::no_device);
      case edu::errc::bad_visible_devices:
      case edu::errc::out_of_window:
      case edu::errc::size_mismatch:
      case edu::errc::bad_argument:
        return static_cast<int>(Exit::usage);
      case edu::errc::bad_sysfs:
      case edu::errc::short_transfer:
        return static_cast<int>(Exit::failed);
    }
    return static_cast<int>(Exit::failed);
  }
  if (ec == std::errc::no_such_file_or_directory || ec == std::errc::no_such_device ||
      ec == std::errc::no_such_device_or_address)
    return static_cast<int>(Exit::no_device);
  if (ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted)
    return static_cast<int>(Exit::permission_denied);
  if (ec == std::errc::timed_out) return static_cast<int>(Exit::timeout);
  return static_cast<int>(Exit::failed);
}

namespace {

std::string edu_code_name(const std::error_code& ec) {
  switch (static_cast<edu::errc>(ec.value())) {
    case edu::errc::no_device:
      return "edu:no_device";
    case edu::errc::device_not_visible:
      return "edu:device_not_visible";
    case edu::errc::bad_visible_devices:
      return "edu:bad_visible_devices";
    case edu::errc::out_of_window:
      return "edu:out_of_window";
    case edu::errc::size_mismatch:
      return "edu:size_mismatch";
    case edu::errc::bad_sysfs:
      return "edu:bad_sysfs";
    case edu::errc::short_transfer:
      return "edu:short_transfer";
    case edu::errc::bad_argument:
      return "edu:bad_argument";
  }
  return "edu:" + std::to_string(ec.value());
}

}  // namespace

ErrorReport classify(const std::exception& e) {
  ErrorReport r;
  if (const auto* ee = dynamic_cast<const edu::Error*>(&e)) {
    r.what = ee->operation();
    r.why = ee->reason();
    r.hint = ee->hint();
  } else if (const auto* se = dynamic_cast<const std::system_error*>(&e)) {
    r.what = se->what();
    const std::string suffix = ": " + se->code().message();
    if (r.what.size() > suffix.size() &&
        r.what.compare(r.what.size() - suffix.size(), suffix.size(), suffix) == 0)
      r.what.resize(r.what.size() - suffix.size());
    r.why = se->code().message();
    r.hint.clear();
  } else {
    r.what = "internal error";
    r.why = e.what();
    r.code = "internal";
    r.exit_code = static_cast<int>(Exit::failed);
    return r;
  }
  const auto& ec = dynamic_cast<const std::system_error&>(e).code();
  if (ec.category() == edu::category()) {
    r.code = edu_code_name(ec);
  } else {
    r.errno_value = ec.value();
    r.code = edu::errno_name(ec.value());
  }
  // Only libedu errors carry device semantics (ENOENT opening /dev/eduN means
  // "no device"); a plain system_error is about the user's files.
  if (dynamic_cast<const edu::Error*>(&e) != nullptr)
    r.exit_code = exit_code_for(ec);
  else if (ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted)
    r.exit_code = static_cast<int>(Exit::permission_denied);
  else
    r.exit_code = static_cast<int>(Exit::failed);
  return r;
}

std::string error_line(const ErrorReport& r) {
  std::string line = "eductl: " + r.what;
  if (!r.why.empty()) line += (r.what.empty() ? "" : ": ") + r.why;
  if (!r.hint.empty()) line += " — " + r.hint;
  return line;
}

json envelope(Verb verb) {
  return json{{"schema", kJsonSchemaVersion}, {"command", verb_name(verb)}};
}

json error_json(const ErrorReport& r, Verb verb) {
  json j = envelope(verb);
  j["error"] = {{"message", error_line(r).substr(8)},  // without "eductl: "
                {"what", r.what},
                {"why", r.why},
                {"hint", r.hint},
                {"code", r.code},
                {"errno", r.errno_value},
                {"exit_code", r.exit_code}};
  return j;
}

json counters_json(const edu::Counters& c) {
  return json{{"irqs", c.irqs},       {"factorial_ops", c.factorial_ops},
              {"dma_ops", c.dma_ops}, {"dma_bytes", c.dma_bytes},
              {"errors", c.errors},   {"timeouts", c.timeouts}};
}

json device_json(const edu::DeviceInfo& info) {
  return json{{"index", info.index},
              {"name", info.name},
              {"path", info.dev_path.string()},
              {"sysfs_path", info.sysfs_path.string()},
              {"pci_address", info.pci_address},
              {"id_register", info.id_register},
              {"version", info.version},
              {"irq_mode", std::string(edu::to_string(info.irq_mode))},
              {"dma_mask_bits", info.dma_mask_bits},
              {"dma_window", info.dma_window},
              {"counters", counters_json(info.counters)}};
}

json identity_json(const edu::drv::Identity& id) {
  return json{{"id_register", id.id_register},
              {"major", id.major},
              {"minor", id.minor},
              {"index", id.index},
              {"irq_mode", std::string(edu::to_string(id.irq_mode))},
              {"dma_mask_bits", id.dma_mask_bits},
              {"dma_window", id.dma_window},
              {"staging_size", id.staging_size},
              {"caps", id.caps.names()},
              {"caps_bits", id.caps.bits}};
}

std::string hex32(std::uint32_t v) {
  return fmt::format("{:#010x}", v);
}

std::string list_text(std::span<const edu::DeviceInfo> devices, std::size_t present,
                      const std::optional<std::string>& filter) {
  std::string out;
  if (devices.empty()) {
    out = present == 0 ? "no edu devices (is the driver loaded? try `modprobe edu`)\n"
                       : fmt::format(
                             "no visible edu devices ({} present, hidden by "
                             "EDU_VISIBLE_DEVICES=\"{}\")\n",
                             present, filter.value_or(""));
    return out;
  }
  out += fmt::format("{:<6} {:<12} {:<14} {:<8} {:<5} {:>9} {:>10}\n", "INDEX", "NODE", "PCI",
                     "VERSION", "IRQ", "DMA_BITS", "DMA_WINDOW");
  for (const auto& d : devices)
    out += fmt::format("{:<6} {:<12} {:<14} {:<8} {:<5} {:>9} {:>10}\n", d.index,
                       d.dev_path.string(), d.pci_address.empty() ? "-" : d.pci_address,
                       d.version.empty() ? "-" : d.version, edu::to_string(d.irq_mode),
                       d.dma_mask_bits, d.dma_window);
  if (filter && devices.size() != present)
    out += fmt::format("({} of {} present devices visible: EDU_VISIBLE_DEVICES=\"{}\")\n",
                       devices.size(), present, *filter);
  return out;
}

std::string info_text(const edu::DeviceInfo& info, const edu::drv::Identity& id) {
  std::string caps;
  for (const auto& c : id.caps.names())
    caps += (caps.empty() ? "" : ", ") + c;
  return fmt::format(
      "device        {} (index {})\n"
      "pci address   {}\n"
      "id register   {} (version {}.{})\n"
      "irq mode      {}\n"
      "dma mask      {} bits\n"
      "dma window    {} bytes\n"
      "staging size  {} bytes\n"
      "capabilities  {}\n",
      info.dev_path.string(), id.index, info.pci_address.empty() ? "-" : info.pci_address,
      hex32(id.id_register), id.major, id.minor, edu::to_string(id.irq_mode), id.dma_mask_bits,
      id.dma_window, id.staging_size, caps.empty() ? "-" : caps);
}

std::string counters_text(const edu::Counters& c) {
  return fmt::format(
      "irqs           {}\nfactorial_ops  {}\ndma_ops        {}\ndma_bytes      {}\n"
      "errors         {}\ntimeouts       {}\n",
      c.irqs, c.factorial_ops, c.dma_ops, c.dma_bytes, c.errors, c.timeouts);
}

std::string to_hex(std::span<const std::byte> bytes) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::byte b : bytes) {
    const auto v = std::to_integer<unsigned>(b);
    out += kDigits[v >> 4];
    out += kDigits[v & 0xF];
  }
  return out;
}

std::string format_bytes(double bytes) {
  static constexpr std::array<const char*, 5> kUnits = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024.0 && unit < 4) {
    bytes /= 1024.0;
    ++unit;
  }
  if (unit == 0) return fmt::format("{:.0f} B", bytes);
  return fmt::format("{:.1f} {}", bytes, kUnits[unit]);
}

std::string format_duration(std::chrono::seconds s) {
  const auto total = std::max<std::int64_t>(s.count(), 0);
  const auto h = total / 3600;
  const auto m = (total % 3600) / 60;
  const auto sec = total % 60;
  if (h > 0) return fmt::format("{}:{:02}:{:02}", h, m, sec);
  return fmt::format("{}:{:02}", m, sec);
}

std::string format_progress(std::uint64_t done, std::optional<std::uint64_t> total,
                            std::chrono::duration<double> elapsed, int width) {
  const double secs = elapsed.count();
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
  const std::string rate_text = secs > 0 ? format_bytes(rate) + "/s" : "-- B/s";
  if (!total) return fmt::format("\r  {}  {}", format_bytes(static_cast<double>(done)), rate_text);
  const double frac =
      *total == 0 ? 1.0
                  : std::clamp(static_cast<double>(done) / static_cast<double>(*total), 0.0, 1.0);
  const int filled = static_cast<int>(std::floor(frac * width));
  std::string bar(static_cast<std::size_t>(width), ' ');
  for (int i = 0; i < filled; ++i)
    bar[static_cast<std::size_t>(i)] = '=';
  if (filled < width) bar[static_cast<std::size_t>(filled)] = '>';
  std::string eta = "--:--";
  if (rate > 0 && done <= *total)
    eta = format_duration(std::chrono::seconds(
        static_cast<std::int64_t>(std::ceil(static_cast<double>(*total - done) / rate))));
  return fmt::format("\r[{}] {:3.0f}%  {} / {}  {}  ETA {}", bar, frac * 100.0,
                     format_bytes(static_cast<double>(done)),
                     format_bytes(static_cast<double>(*total)), rate_text, eta);
}

}  // namespace eductl
