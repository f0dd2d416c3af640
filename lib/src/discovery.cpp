// sysfs discovery: /sys/class/edu/eduN/{id_register,version,...,device}.
#include "edu/discovery.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "edu/error.hpp"
#include "util.hpp"

namespace edu {
namespace fs = std::filesystem;

namespace {

/// Contents of a sysfs attribute, or nullopt if it cannot be read.
std::optional<std::string> read_attribute(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::string(detail::trim(buf.str()));
}

[[noreturn]] void bad_attribute(const fs::path& file, const std::string& why) {
  throw Error(make_error_code(errc::bad_sysfs), "read " + file.string(),
              why + "; do the edu module and libedu versions match?");
}

std::uint64_t required_number(const fs::path& dir, const char* name) {
  const fs::path file = dir / name;
  const auto text = read_attribute(file);
  if (!text) bad_attribute(file, "the attribute is missing or unreadable");
  const auto value = parse_sysfs_number(*text);
  if (!value) bad_attribute(file, "not a number: \"" + *text + "\"");
  return *value;
}

std::uint64_t optional_number(const fs::path& dir, const char* name) {
  const auto text = read_attribute(dir / name);
  if (!text) return 0;
  return parse_sysfs_number(*text).value_or(0);
}

std::uint32_t to_u32(std::uint64_t v, const fs::path& file) {
  if (v > 0xFFFFFFFFULL) bad_attribute(file, "value out of range");
  return static_cast<std::uint32_t>(v);
}

/// N of "eduN", or nullopt for other names.
std::optional<unsigned> device_number(std::string_view name) {
  if (name.size() <= 3 || name.substr(0, 3) != "edu") return std::nullopt;
  unsigned n = 0;
  const char* first = name.data() + 3;
  const char* last = name.data() + name.size();
  const auto [ptr, ec] = std::from_chars(first, last, n);
  if (ec != std::errc() || ptr != last) return std::nullopt;
  return n;
}

std::optional<std::string> getenv_string(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

}  // namespace

std::optional<std::uint64_t> parse_sysfs_number(std::string_view text) noexcept {
  text = detail::trim(text);
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<unsigned> parse_visible_devices(std::string_view text) {
  std::vector<unsigned> out;
  if (detail::trim(text).empty()) return out;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t comma = text.find(',', pos);
    const std::string_view item = detail::trim(
        text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    unsigned n = 0;
    const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size())
      throw Error(make_error_code(errc::bad_visible_devices),
                  std::string(kVisibleDevicesEnv) + "=\"" + std::string(text) + "\"",
                  "expected comma-separated device indices, e.g. `0,2`; bad item \"" +
                      std::string(item) + "\"");
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

DiscoveryOptions DiscoveryOptions::from_environment() {
  DiscoveryOptions o;
  if (auto v = getenv_string(kSysfsRootEnv); v && !v->empty()) o.sysfs_root = *v;
  if (auto v = getenv_string(kDevRootEnv); v && !v->empty()) o.dev_root = *v;
  o.visible_devices = getenv_string(kVisibleDevicesEnv);
  return o;
}

Counters read_counters(const fs::path& sysfs_dir) {
  Counters c;
  c.irqs = optional_number(sysfs_dir, "irqs");
  c.factorial_ops = optional_number(sysfs_dir, "factorial_ops");
  c.dma_ops = optional_number(sysfs_dir, "dma_ops");
  c.dma_bytes = optional_number(sysfs_dir, "dma_bytes");
  c.errors = optional_number(sysfs_dir, "errors");
  c.timeouts = optional_number(sysfs_dir, "timeouts");
  return c;
}

DeviceInfo read_device_info(const fs::path& sysfs_dir, const fs::path& dev_root) {
  DeviceInfo info;
  info.name = sysfs_dir.filename().string();
  const auto n = device_number(info.name);
  if (!n) bad_attribute(sysfs_dir, "not an eduN directory");
  info.index = *n;
  info.sysfs_path = sysfs_dir;
  info.dev_path = dev_root / info.name;
  info.id_register = to_u32(required_number(sysfs_dir, "id_register"), sysfs_dir / "id_register");
  info.dma_window = to_u32(required_number(sysfs_dir, "dma_window"), sysfs_dir / "dma_window");
  info.version = read_attribute(sysfs_dir / "version").value_or("");
  info.irq_mode = parse_irq_mode(read_attribute(sysfs_dir / "irq_mode").value_or(""));
  info.dma_mask_bits =
      to_u32(optional_number(sysfs_dir, "dma_mask_bits"), sysfs_dir / "dma_mask_bits");
  std::error_code ec;
  const fs::path link = fs::read_symlink(sysfs_dir / "device", ec);
  if (!ec) info.pci_address = link.filename().string();
  info.counters = read_counters(sysfs_dir);
  return info;
}

std::vector<DeviceInfo> list_devices(const DiscoveryOptions& options) {
  const fs::path class_dir = options.sysfs_root / "class" / "edu";
  std::vector<DeviceInfo> out;
  std::error_code ec;
  fs::directory_iterator it(class_dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory)
      return out;  // driver not loaded: no devices
    throw make_error(ec, "list " + class_dir.string(), Context::discovery);
  }
  for (const fs::directory_entry& entry : it) {
    if (!device_number(entry.path().filename().string())) continue;
    out.push_back(read_device_info(entry.path(), options.dev_root));
  }
  std::sort(out.begin(), out.end(),
            [](const DeviceInfo& a, const DeviceInfo& b) { return a.index < b.index; });
  return out;
}

Discovery discover(const DiscoveryOptions& options) {
  Discovery d;
  d.filter = options.visible_devices;
  std::vector<DeviceInfo> all = list_devices(options);
  d.present = all.size();
  if (!options.visible_devices) {
    d.visible = std::move(all);
    return d;
  }
  for (unsigned index : parse_visible_devices(*options.visible_devices)) {
    auto it = std::find_if(all.begin(), all.end(),
                           [index](const DeviceInfo& i) { return i.index == index; });
    if (it != all.end()) d.visible.push_back(*it);
  }
  return d;
}

}  // namespace edu
