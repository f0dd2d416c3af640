#include "cpio.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

#include <sys/stat.h>

namespace edulab {

namespace fs = std::filesystem;

std::string CpioArchive::normalize(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    const std::size_t next = path.find('/', pos);
    const std::string part =
        path.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  std::string out;
  for (const auto& p : parts)
    out += "/" + p;
  return out.empty() ? "/" : out;
}

namespace {

[[noreturn]] void not_a_directory(const std::string& dir, const std::string& path) {
  throw std::invalid_argument("initramfs: " + dir + " is not a directory (needed for " + path +
                              ")");
}

}  // namespace

void CpioArchive::ensure_parents(const std::string& path) {
  for (std::size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string dir = path.substr(0, slash);
    auto it = entries_.find(dir);
    if (it == entries_.end()) {
      entries_[dir] = Entry{S_IFDIR | 0755, {}, 0, 0};
    } else if (!S_ISDIR(it->second.mode)) {
      not_a_directory(dir, path);
    }
  }
}

void CpioArchive::put(const std::string& path, Entry entry) {
  const std::string p = normalize(path);
  if (p == "/") throw std::invalid_argument("initramfs: cannot replace the root directory");
  ensure_parents(p);
  if (S_ISDIR(entry.mode)) {
    auto it = entries_.find(p);
    if (it != entries_.end() && S_ISDIR(it->second.mode)) {
      it->second.mode = entry.mode;
      return;
    }
  }
  // Replacing a directory with a file would orphan its children.
  auto it = entries_.find(p);
  if (it != entries_.end() && S_ISDIR(it->second.mode) && !S_ISDIR(entry.mode)) {
    auto child = entries_.lower_bound(p + "/");
    if (child != entries_.end() && child->first.starts_with(p + "/")) {
      throw std::invalid_argument("initramfs: cannot replace non-empty directory " + p);
    }
  }
  entries_[p] = std::move(entry);
}

void CpioArchive::add_directory(const std::string& path, std::uint32_t mode) {
  put(path, Entry{S_IFDIR | (mode & 07777), {}, 0, 0});
}

void CpioArchive::add_file(const std::string& path, std::vector<std::byte> data,
                           std::uint32_t mode) {
  put(path, Entry{S_IFREG | (mode & 07777), std::move(data), 0, 0});
}

void CpioArchive::add_file(const std::string& path, const std::string& text, std::uint32_t mode) {
  std::vector<std::byte> data(text.size());
  std::transform(text.begin(), text.end(), data.begin(),
                 [](char c) { return static_cast<std::byte>(c); });
  add_file(path, std::move(data), mode);
}

void CpioArchive::add_symlink(const std::string& path, const std::string& target) {
  std::vector<std::byte> data(target.size());
  std::transform(target.begin(), target.end(), data.begin(),
                 [](char c) { return static_cast<std::byte>(c); });
  put(path, Entry{S_IFLNK | 0777, std::move(data), 0, 0});
}

void CpioArchive::add_char_device(const std::string& path, std::uint32_t major, std::uint32_t minor,
                                  std::uint32_t mode) {
  put(path, Entry{S_IFCHR | (mode & 07777), {}, major, minor});
}

static std::vector<std::byte> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    throw std::system_error(errno, std::generic_category(), "cannot read " + p.string());
  }
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> data(chars.size());
  std::transform(chars.begin(), chars.end(), data.begin(),
                 [](char c) { return static_cast<std::byte>(c); });
  return data;
}

// NOLINTNEXTLINE(misc-no-recursion): walks a host directory tree, as deep as the tree itself
void CpioArchive::add_host_path(const fs::path& host, const std::string& guest_path) {
  struct stat st {};
  if (::lstat(host.c_str(), &st) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot add " + host.string());
  }
  if (S_ISLNK(st.st_mode)) {
    add_symlink(guest_path, fs::read_symlink(host).string());
  } else if (S_ISDIR(st.st_mode)) {
    add_directory(guest_path, st.st_mode & 07777);
    for (const auto& e : fs::directory_iterator(host)) {
      add_host_path(e.path(), guest_path + "/" + e.path().filename().string());
    }
  } else if (S_ISREG(st.st_mode)) {
    add_file(guest_path, read_file(host), st.st_mode & 07777);
  } else {
    throw std::invalid_argument("cannot add " + host.string() +
                                ": only files, directories and symlinks can be copied");
  }
}

bool CpioArchive::contains(const std::string& path) const {
  return entries_.contains(normalize(path));
}

namespace {

void write_header(std::ostream& out, std::uint32_t ino, std::uint32_t mode, std::uint32_t nlink,
                  std::uint32_t filesize, std::uint32_t rmaj, std::uint32_t rmin,
                  const std::string& name) {
  std::array<char, 111> hdr{};
  // magic ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize
  // check
  std::snprintf(hdr.data(), hdr.size(),
                "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode, 0U, 0U,
                nlink, 0U, filesize, 0U, 0U, rmaj, rmin,
                static_cast<std::uint32_t>(name.size() + 1), 0U);
  out.write(hdr.data(), 110);
  out.write(name.c_str(), static_cast<std::streamsize>(name.size() + 1));
  const std::size_t used = 110 + name.size() + 1;
  static constexpr std::array<char, 4> zeros{};
  out.write(zeros.data(), static_cast<std::streamsize>((4 - used % 4) % 4));
}

}  // namespace

std::uint64_t CpioArchive::bytes() const {
  auto padded = [](std::uint64_t n) { return (n + 3) / 4 * 4; };
  std::uint64_t total = padded(110 + sizeof("TRAILER!!!"));
  for (const auto& [path, e] : entries_) {
    total += padded(110 + path.size()) + padded(e.data.size());  // name: path less '/' plus NUL
  }
  return total;
}

void CpioArchive::write(std::ostream& out) const {
  static constexpr std::array<char, 4> zeros{};
  std::uint32_t ino = 1;
  for (const auto& [path, e] : entries_) {
    const std::string name = path.substr(1);  // archive names are relative
    write_header(out, ino++, e.mode, S_ISDIR(e.mode) ? 2 : 1,
                 static_cast<std::uint32_t>(e.data.size()), e.rdev_major, e.rdev_minor, name);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): ostream::write takes char*
    out.write(reinterpret_cast<const char*>(e.data.data()),
              static_cast<std::streamsize>(e.data.size()));
    out.write(zeros.data(), static_cast<std::streamsize>((4 - e.data.size() % 4) % 4));
  }
  write_header(out, 0, 0, 1, 0, 0, 0, "TRAILER!!!");
  if (!out) throw std::runtime_error("initramfs: write failed");
}

}  // namespace edulab
