// Writer for the "newc" cpio format the Linux kernel unpacks as an initramfs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <ostream>
#include <span>
#include <string>
#include <vector>

namespace edulab {

// An in-memory root file system image, written out as one newc archive.
// Parent directories are created implicitly; later additions replace earlier
// ones at the same path, so per-run files can override the staged rootfs.
class CpioArchive {
 public:
  void add_directory(const std::string& path, std::uint32_t mode = 0755);
  void add_file(const std::string& path, std::vector<std::byte> data, std::uint32_t mode = 0644);
  void add_file(const std::string& path, const std::string& text, std::uint32_t mode = 0644);
  void add_symlink(const std::string& path, const std::string& target);
  void add_char_device(const std::string& path, std::uint32_t major, std::uint32_t minor,
                       std::uint32_t mode = 0600);

  // Copies a host file, directory tree or symlink to guest_path.
  void add_host_path(const std::filesystem::path& host, const std::string& guest_path);

  [[nodiscard]] bool contains(const std::string& path) const;
  [[nodiscard]] std::size_t size() const { return entries_.size(); }
  // The size of the archive write() produces, in bytes.
  [[nodiscard]] std::uint64_t bytes() const;

  // Parents are always emitted before children (sorted by path).
  void write(std::ostream& out) const;

  // Canonical guest path: absolute, no "." or "..", no trailing slash.
  static std::string normalize(const std::string& path);

 private:
  struct Entry {
    std::uint32_t mode = 0;  // including the S_IF* type bits
    std::vector<std::byte> data;
    std::uint32_t rdev_major = 0;
    std::uint32_t rdev_minor = 0;
  };
  void ensure_parents(const std::string& path);
  void put(const std::string& path, Entry entry);

  std::map<std::string, Entry> entries_;
};

}  // namespace edulab
