// A fake /sys (class/edu/eduN/...) and /dev tree in a temporary directory.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace edutest {

/// A temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "edu-unit-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

/// <root>/sys/class/edu/eduN/{attributes} and <root>/dev (empty: no nodes).
class FakeSysfs {
 public:
  FakeSysfs() {
    std::filesystem::create_directories(sys() / "class");
    std::filesystem::create_directories(dev());
  }

  [[nodiscard]] std::filesystem::path sys() const { return dir_.path() / "sys"; }
  [[nodiscard]] std::filesystem::path dev() const { return dir_.path() / "dev"; }
  [[nodiscard]] std::filesystem::path class_dir() const { return sys() / "class" / "edu"; }

  /// Adds eduN with the attributes the driver exports (as a real sysfs would
  /// show them: one value and a newline). Returns the device's directory,
  /// which callers may ignore.
  // NOLINTNEXTLINE(readability-make-member-function-const): it grows the fake tree
  std::filesystem::path add_device(unsigned index, const std::string& bdf = "",
                                   std::uint32_t window = 4095) {
    auto d = class_dir() / ("edu" + std::to_string(index));
    std::filesystem::create_directories(d);
    write(d / "id_register", "0x010000ed\n");
    write(d / "version", "1.0\n");
    write(d / "irq_mode", "msi\n");
    write(d / "dma_mask_bits", "28\n");
    write(d / "dma_window", std::to_string(window) + "\n");
    write(d / "irqs", std::to_string(10 + index) + "\n");
    write(d / "factorial_ops", "3\n");
    write(d / "dma_ops", "4\n");
    write(d / "dma_bytes", "16380\n");
    write(d / "errors", "0\n");
    write(d / "timeouts", "0\n");
    const std::string pci = bdf.empty() ? "0000:00:0" + std::to_string(4 + index) + ".0" : bdf;
    // Dangling on purpose: discovery must only read the link, not follow it.
    std::filesystem::create_directory_symlink("../../../devices/pci0000:00/" + pci, d / "device");
    return d;
  }

  /// Removes eduN's directory, as the driver's remove does.
  // NOLINTNEXTLINE(readability-make-member-function-const): it shrinks the fake tree
  void remove_device(unsigned index) {
    std::filesystem::remove_all(class_dir() / ("edu" + std::to_string(index)));
  }

  /// Creates a regular file standing in for /dev/eduN (it is not a device:
  /// ioctls on it fail with ENOTTY).
  void add_node(unsigned index) const { write(dev() / ("edu" + std::to_string(index)), ""); }

  static void write(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out(p);
    out << text;
  }

 private:
  TempDir dir_;
};

}  // namespace edutest
