#include "edu-bench/raw_mmio.hpp"

#include <cerrno>
#include <fstream>
#include <sstream>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "edu/error.hpp"

namespace edubench {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kRegId = 0x00;
constexpr std::size_t kRegLiveness = 0x04;
constexpr std::size_t kRegFactorial = 0x08;
constexpr std::size_t kRegStatus = 0x20;
constexpr std::uint32_t kStatusBusy = 0x01;

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  std::string t = s.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == ' '))
    t.pop_back();
  return t;
}

[[noreturn]] void fail(std::error_code ec, const std::string& what, const std::string& hint) {
  throw edu::Error(ec, what, hint);
}

}  // namespace

RawMmio RawMmio::open(const std::string& bdf, const fs::path& sysfs_root) {
  const fs::path dir = sysfs_root / "bus" / "pci" / "devices" / bdf;
  const std::string op = "raw MMIO on " + bdf;
  std::error_code ec;
  if (!fs::exists(dir, ec))
    fail(std::make_error_code(std::errc::no_such_device), op,
         "no PCI device " + bdf + " — see `lspci -D -d 1234:11e8`");
  if (read_text(dir / "vendor") != "0x1234" || read_text(dir / "device") != "0x11e8")
    fail(edu::make_error_code(edu::errc::bad_argument), op,
         bdf + " is not an edu device (1234:11e8)");
  if (fs::exists(dir / "driver", ec)) {
    const std::string drv = fs::read_symlink(dir / "driver", ec).filename().string();
    fail(std::make_error_code(std::errc::device_or_resource_busy), op,
         "it is bound to driver '" + drv + "' — unbind it first: echo " + bdf +
             " > /sys/bus/pci/drivers/" + drv + "/unbind");
  }
  // Memory decoding must be on; writing "1" to enable is what pci_enable_device() does.
  if (read_text(dir / "enable") != "1") {
    std::ofstream en(dir / "enable");
    en << "1\n";
  }

  RawMmio m;
  m.bdf_ = bdf;
  const fs::path res = dir / "resource0";
  m.fd_.reset(::open(res.c_str(), O_RDWR | O_SYNC | O_CLOEXEC));
  if (!m.fd_) throw edu::make_errno_error(errno, "open " + res.string(), edu::Context::open);
  m.length_ = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  void* p = ::mmap(nullptr, m.length_, PROT_READ | PROT_WRITE, MAP_SHARED, m.fd_.get(), 0);
  if (p == MAP_FAILED)
    throw edu::make_errno_error(errno, "mmap " + res.string(), edu::Context::mmap);
  m.regs_ = static_cast<volatile std::uint32_t*>(p);
  const std::uint32_t id = m.read32(kRegId);
  if ((id & 0xFFFFU) != 0x00ed)
    fail(edu::make_error_code(edu::errc::bad_argument), op,
         "unexpected identification register " + std::to_string(id) +
             " — is memory decoding enabled?");
  m.write32(kRegStatus, 0);  // no completion interrupt: nobody would acknowledge it
  return m;
}

RawMmio::RawMmio(RawMmio&& other) noexcept
    : fd_(std::move(other.fd_)),
      regs_(std::exchange(other.regs_, nullptr)),
      length_(std::exchange(other.length_, 0)),
      bdf_(std::move(other.bdf_)) {}

RawMmio& RawMmio::operator=(RawMmio&& other) noexcept {
  if (this != &other) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): munmap(2) takes a plain void*
    if (regs_ != nullptr) ::munmap(const_cast<std::uint32_t*>(regs_), length_);
    fd_ = std::move(other.fd_);
    regs_ = std::exchange(other.regs_, nullptr);
    length_ = std::exchange(other.length_, 0);
    bdf_ = std::move(other.bdf_);
  }
  return *this;
}

RawMmio::~RawMmio() {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): munmap(2) takes a plain void*
  if (regs_ != nullptr) ::munmap(const_cast<std::uint32_t*>(regs_), length_);
}

std::uint32_t RawMmio::read32(std::size_t offset) const noexcept {
  return regs_[offset / 4];
}

void RawMmio::write32(std::size_t offset, std::uint32_t value) const noexcept {
  regs_[offset / 4] = value;
}

std::uint32_t RawMmio::factorial(std::uint32_t n, std::chrono::milliseconds timeout) const {
  write32(kRegFactorial, n);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::uint32_t spins = 0;
  while ((read32(kRegStatus) & kStatusBusy) != 0) {
    if ((++spins & 0x3FFU) == 0 && std::chrono::steady_clock::now() > deadline)
      throw edu::make_errno_error(ETIMEDOUT, "raw factorial on " + bdf_, edu::Context::ioctl);
  }
  return read32(kRegFactorial);
}

std::uint32_t RawMmio::liveness(std::uint32_t value) const noexcept {
  write32(kRegLiveness, value);
  return read32(kRegLiveness);
}

}  // namespace edubench
