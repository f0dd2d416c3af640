#include "elf_deps.hpp"

#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>

#include <elf.h>

namespace edulab {

namespace fs = std::filesystem;

std::string to_string(ElfMachine m) {
  switch (m) {
    case ElfMachine::x86_64:
      return "x86_64";
    case ElfMachine::aarch64:
      return "aarch64";
    case ElfMachine::other:
      break;
  }
  return "other";
}

namespace {

template <typename T>
T read_at(const std::vector<char>& img, std::uint64_t off, const fs::path& file) {
  if (off > img.size() || img.size() - off < sizeof(T)) {
    throw std::runtime_error(file.string() + ": truncated ELF file");
  }
  T v{};
  std::memcpy(&v, img.data() + off, sizeof(T));
  return v;
}

std::string read_cstr(const std::vector<char>& img, std::uint64_t off, const fs::path& file) {
  if (off >= img.size()) throw std::runtime_error(file.string() + ": bad ELF string offset");
  const char* s = img.data() + off;
  const std::size_t max = img.size() - off;
  const std::size_t len = strnlen(s, max);
  if (len == max) throw std::runtime_error(file.string() + ": unterminated ELF string");
  return {s, len};
}

// Maps a virtual address to a file offset through the PT_LOAD segments.
std::uint64_t vaddr_to_offset(const std::vector<Elf64_Phdr>& phdrs, std::uint64_t vaddr,
                              const fs::path& file) {
  for (const auto& ph : phdrs) {
    if (ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
      return vaddr - ph.p_vaddr + ph.p_offset;
    }
  }
  throw std::runtime_error(file.string() + ": dynamic string table outside loaded segments");
}

}  // namespace

ElfInfo read_elf_info(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file.string() + ": cannot open");
  const std::vector<char> img((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
  if (img.size() < SELFMAG || std::memcmp(img.data(), ELFMAG, SELFMAG) != 0) {
    throw std::runtime_error(file.string() + ": not an ELF file");
  }
  const auto eh = read_at<Elf64_Ehdr>(img, 0, file);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB) {
    throw std::runtime_error(file.string() + ": only 64-bit little-endian ELF is supported");
  }
  ElfInfo info;
  info.machine = eh.e_machine == EM_X86_64    ? ElfMachine::x86_64
                 : eh.e_machine == EM_AARCH64 ? ElfMachine::aarch64
                                              : ElfMachine::other;
  std::vector<Elf64_Phdr> phdrs;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    phdrs.push_back(read_at<Elf64_Phdr>(img, eh.e_phoff + std::uint64_t{i} * eh.e_phentsize, file));
  }
  const Elf64_Phdr* dynamic = nullptr;
  for (const auto& ph : phdrs) {
    if (ph.p_type == PT_INTERP) {
      info.interpreter = read_cstr(img, ph.p_offset, file);
    } else if (ph.p_type == PT_DYNAMIC) {
      dynamic = &ph;
    }
  }
  if (dynamic == nullptr) return info;

  std::vector<Elf64_Dyn> dyns;
  std::uint64_t strtab = 0;
  for (std::uint64_t off = dynamic->p_offset;
       off + sizeof(Elf64_Dyn) <= dynamic->p_offset + dynamic->p_filesz; off += sizeof(Elf64_Dyn)) {
    const auto d = read_at<Elf64_Dyn>(img, off, file);
    if (d.d_tag == DT_NULL) break;
    if (d.d_tag == DT_STRTAB) strtab = vaddr_to_offset(phdrs, d.d_un.d_ptr, file);
    dyns.push_back(d);
  }
  const std::string origin = fs::absolute(file).parent_path().string();
  for (const auto& d : dyns) {
    if (d.d_tag == DT_NEEDED) {
      info.needed.push_back(read_cstr(img, strtab + d.d_un.d_val, file));
    } else if (d.d_tag == DT_RUNPATH || d.d_tag == DT_RPATH) {
      std::string paths = read_cstr(img, strtab + d.d_un.d_val, file);
      std::size_t start = 0;
      while (start <= paths.size()) {
        std::size_t colon = paths.find(':', start);
        std::string p =
            paths.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
        for (const char* tok : {"$ORIGIN", "${ORIGIN}"}) {
          if (auto at = p.find(tok); at != std::string::npos)
            p.replace(at, std::strlen(tok), origin);
        }
        if (!p.empty()) info.runpath.push_back(p);
        if (colon == std::string::npos) break;
        start = colon + 1;
      }
    }
  }
  return info;
}

std::vector<Dependency> runtime_dependencies(const fs::path& program, const fs::path& sysroot) {
  const ElfInfo top = read_elf_info(program);
  std::vector<fs::path> search;
  switch (top.machine) {
    case ElfMachine::x86_64:
      search = {"/lib/x86_64-linux-gnu",
                "/usr/lib/x86_64-linux-gnu",
                "/lib64",
                "/usr/lib64",
                "/lib",
                "/usr/lib"};
      break;
    case ElfMachine::aarch64:
      search = {"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                "/usr/aarch64-linux-gnu/lib", "/lib", "/usr/lib"};
      break;
    case ElfMachine::other:
      throw std::runtime_error(program.string() + ": unsupported ELF machine type");
  }
  auto in_root = [&](const fs::path& p) { return sysroot / p.relative_path(); };

  const std::string guest_libdir =
      top.machine == ElfMachine::x86_64 ? "/lib/x86_64-linux-gnu" : "/lib/aarch64-linux-gnu";
  std::vector<Dependency> result;
  std::set<std::string> seen;
  if (!top.interpreter.empty()) {
    fs::path interp = in_root(top.interpreter);
    if (!fs::exists(interp)) {
      // Cross binaries name the target's loader; Debian's cross packages keep
      // it under /usr/<triplet>/lib.
      fs::path alt =
          in_root(fs::path("/usr/aarch64-linux-gnu/lib") / fs::path(top.interpreter).filename());
      if (top.machine != ElfMachine::aarch64 || !fs::exists(alt)) {
        throw std::runtime_error(program.string() + ": interpreter " + top.interpreter +
                                 " not found");
      }
      interp = alt;
    }
    result.push_back({interp, top.interpreter});
    seen.insert(fs::path(top.interpreter).filename().string());
  }

  std::vector<std::pair<std::string, std::vector<std::string>>> todo;
  for (const auto& n : top.needed)
    todo.emplace_back(n, top.runpath);
  while (!todo.empty()) {
    auto [name, runpath] = todo.back();
    todo.pop_back();
    if (!seen.insert(name).second) continue;
    fs::path found;
    for (const auto& dir : runpath) {
      if (fs::exists(in_root(fs::path(dir) / name))) {
        found = in_root(fs::path(dir) / name);
        break;
      }
    }
    for (const auto& dir : search) {
      if (!found.empty()) break;
      if (fs::exists(in_root(dir / name))) found = in_root(dir / name);
    }
    if (found.empty()) {
      throw std::runtime_error(program.string() + ": shared library " + name + " not found");
    }
    std::string guest_path = guest_libdir;
    guest_path.append("/").append(name);
    result.push_back({found, std::move(guest_path)});
    const ElfInfo lib = read_elf_info(found);
    for (const auto& n : lib.needed)
      todo.emplace_back(n, lib.runpath);
  }
  return result;
}

}  // namespace edulab
