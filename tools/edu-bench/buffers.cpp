#include "edu-bench/buffers.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "edu/driver.hpp"
#include "edu/error.hpp"

namespace edubench {

namespace {

std::size_t page_size() {
  return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

std::size_t round_up(std::size_t v, std::size_t to) {
  return (v + to - 1) / to * to;
}

}  // namespace

HugeBuffer HugeBuffer::allocate(std::size_t bytes) {
  const std::size_t size = round_up(std::max<std::size_t>(bytes, 1), kHugePageSize);
  // Over-map by one huge page and trim, so the start is 2 MiB-aligned.
  const std::size_t span = size + kHugePageSize;
  void* p = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw edu::make_errno_error(errno, "map a " + std::to_string(size) + "-byte DMA buffer",
                                edu::Context::mmap);
  auto* const base = static_cast<std::byte*>(p);
  std::size_t room = span;
  // Cannot fail: the mapping is a whole huge page longer than size.
  auto* const aligned = static_cast<std::byte*>(std::align(kHugePageSize, size, p, room));
  if (aligned > base) ::munmap(base, static_cast<std::size_t>(aligned - base));
  std::byte* const end = aligned + size;
  if (base + span > end) ::munmap(end, static_cast<std::size_t>(base + span - end));

  HugeBuffer b;
  b.data_ = aligned;
  b.size_ = size;
  b.madvise_ok_ = ::madvise(b.data_, size, MADV_HUGEPAGE) == 0;
  // Fault everything in now (one write per page), so the first measured
  // operation does not pay for it and the huge pages exist before pinning.
  const std::size_t ps = page_size();
  for (std::size_t off = 0; off < size; off += ps)
    b.data_[off] = std::byte{0};
  return b;
}

HugeBuffer::HugeBuffer(HugeBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      madvise_ok_(other.madvise_ok_) {}

HugeBuffer& HugeBuffer::operator=(HugeBuffer&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    madvise_ok_ = other.madvise_ok_;
  }
  return *this;
}

HugeBuffer::~HugeBuffer() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

std::span<std::byte> HugeBuffer::slice(std::size_t offset, std::size_t length) const noexcept {
  if (offset >= size_) return {};
  return {data_ + offset, std::min(length, size_ - offset)};
}

nlohmann::json HugeBuffer::describe(std::size_t used) const {
  using nlohmann::json;
  const auto huge = anon_huge_bytes(data_);
  const auto contiguous = physically_contiguous(data_, std::min(used, size_));
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): alignment is an address property
  const bool aligned = reinterpret_cast<std::uintptr_t>(data_) % kHugePageSize == 0;
  return json{{"kind", "thp"},
              {"bytes", size_},
              {"aligned_2mib", aligned},
              {"madvise_ok", madvise_ok_},
              {"anon_huge_bytes", huge ? json(*huge) : json(nullptr)},
              {"physically_contiguous", contiguous ? json(*contiguous) : json(nullptr)}};
}

std::optional<bool> physically_contiguous(const void* data, std::size_t length) {
  if (length == 0) return true;
  const std::size_t ps = page_size();
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): pagemap is indexed by address
  const auto start = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = start / ps;
  const std::uintptr_t last = (start + length - 1) / ps;
  edu::drv::UniqueFd fd(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  constexpr std::uint64_t kPresent = 1ULL << 63;
  constexpr std::uint64_t kPfnMask = (1ULL << 55) - 1;
  std::uint64_t prev = 0;
  for (std::uintptr_t page = first; page <= last; ++page) {
    std::uint64_t entry = 0;
    if (::pread(fd.get(), &entry, sizeof entry, static_cast<off_t>(page * sizeof entry)) !=
        static_cast<ssize_t>(sizeof entry))
      return std::nullopt;
    const std::uint64_t pfn = entry & kPfnMask;
    if ((entry & kPresent) == 0 || pfn == 0) return std::nullopt;  // absent, or PFNs hidden
    if (page != first && pfn != prev + 1) return false;
    prev = pfn;
  }
  return true;
}

std::optional<std::size_t> anon_huge_bytes(const void* address) {
  std::ifstream in("/proc/self/smaps");
  if (!in) return std::nullopt;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): smaps lists address ranges
  const auto want = reinterpret_cast<std::uintptr_t>(address);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    // A mapping header: "7f0000000000-7f0000200000 rw-p ..."; attribute lines
    // are "Name:   value kB".
    const auto dash = line.find('-');
    const auto colon = line.find(':');
    if (dash != std::string::npos && (colon == std::string::npos || dash < colon) &&
        line.find(' ') > dash) {
      const auto space = line.find(' ');
      std::uintptr_t lo = 0;
      std::uintptr_t hi = 0;
      const auto r1 = std::from_chars(line.data(), line.data() + dash, lo, 16);
      const auto r2 = std::from_chars(line.data() + dash + 1, line.data() + space, hi, 16);
      inside = r1.ec == std::errc{} && r2.ec == std::errc{} && lo <= want && want < hi;
      continue;
    }
    if (inside && line.rfind("AnonHugePages:", 0) == 0) {
      std::istringstream s(line.substr(14));
      std::size_t kb = 0;
      if (s >> kb) return kb * 1024;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::string thp_setting() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string s;
  std::getline(in, s);
  return s;
}

}  // namespace edubench
