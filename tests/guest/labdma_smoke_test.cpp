// labdma smoke test in the guest, without labdma.ko: user space drives the
// device the way a UIO driver would, through sysfs -- resource0 for the
// registers, config for bus mastering -- with DMA into locked pages whose
// physical addresses come from /proc/self/pagemap (root only). The
// scenarios that run it have no IOMMU, so a physical address is the bus
// address. Per device: identification against the datasheet, one ring
// transfer of each operation the variant has, and a bad descriptor that
// halts a channel with its error code until a channel reset. A function
// bound to a driver (labdma.ko binds at boot) is unbound for the run and
// bound again when the program exits.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace fs = std::filesystem;

namespace {

// docs/labdma/datasheet.md
constexpr std::uint32_t kId = 0x4c444d41;
constexpr std::uint32_t ID = 0x000, VERSION = 0x004, CAP = 0x008, MAX_XFER = 0x00c, CTRL = 0x010;
constexpr std::uint32_t RING_LO = 0x00, RING_HI = 0x04, RING_SIZE = 0x08, TAIL = 0x0c, HEAD = 0x10,
                        CH_CTRL = 0x14, CH_STATUS = 0x18, ERR_INDEX = 0x1c, WB_LO = 0x28,
                        WB_HI = 0x2c, BYTES_LO = 0x30, DESCS_LO = 0x38;
constexpr std::uint32_t kRun = 1U << 0, kChReset = 1U << 2;
constexpr std::uint32_t kBusy = 1, kHalted = 2;
constexpr std::uint32_t kDone = 1U << 31;
constexpr std::uint32_t kBadLen = 1;
enum Op : std::uint16_t { kNop = 0, kCopy, kFill, kMul2, kMul4, kCrc32c };

constexpr std::uint32_t chan(unsigned c) {
  return 0x1000 + 0x100 * c;
}

std::string read_line(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  return s;
}

void write_file(const fs::path& p, const std::string& v) {
  std::ofstream out(p);
  out << v;
  out.flush();
  if (!out) throw std::system_error(errno, std::generic_category(), "write " + p.string());
}

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Stores to RAM are visible to the device before the doorbell; what the
// device wrote is read only after the register that says it is done.
void dma_wmb() {
#if defined(__aarch64__)
  asm volatile("dmb oshst" ::: "memory");
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);  // x86: stores are ordered
#endif
}
void dma_rmb() {
#if defined(__aarch64__)
  asm volatile("dmb oshld" ::: "memory");
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

// An unbound labdma function, enabled for the test and disabled after.
class Device {
 public:
  explicit Device(fs::path dir) : dir_(std::move(dir)) {
    device_id_ = static_cast<std::uint16_t>(std::stoul(read_line(dir_ / "device"), nullptr, 16));
    write_file(dir_ / "enable", "1");
    set_bus_master(true);
    fd_ = ::open((dir_ / "resource0").c_str(), O_RDWR | O_SYNC | O_CLOEXEC);
    if (fd_ < 0) throw_errno("open resource0");
    size_ = fs::file_size(dir_ / "resource0");
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) throw_errno("mmap resource0");
    map_ = p;
    regs_ = static_cast<volatile std::uint32_t*>(p);
  }
  ~Device() {
    try {
      wr(CTRL, 2);  // soft reset: the device lets go of our pages
      ::munmap(map_, size_);
      ::close(fd_);
      set_bus_master(false);
      write_file(dir_ / "enable", "0");
    } catch (...) {  // best effort on the way out
    }
  }
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  Device(Device&&) = delete;
  Device& operator=(Device&&) = delete;

  [[nodiscard]] std::uint32_t rd(std::uint32_t off) const { return regs_[off / 4]; }
  void wr(std::uint32_t off, std::uint32_t v) { regs_[off / 4] = v; }
  [[nodiscard]] bool lite() const { return device_id_ == 0x10f1; }
  [[nodiscard]] const fs::path& dir() const { return dir_; }

 private:
  void set_bus_master(bool on) {
    const int fd = ::open((dir_ / "config").c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) throw_errno("open config");
    std::uint16_t cmd = 0;
    if (::pread(fd, &cmd, 2, 4) != 2) throw_errno("read PCI command");
    cmd = static_cast<std::uint16_t>(on ? (cmd | 0x4U) : (cmd & ~0x4U));
    if (::pwrite(fd, &cmd, 2, 4) != 2) throw_errno("write PCI command");
    ::close(fd);
  }

  fs::path dir_;
  std::uint16_t device_id_ = 0;
  int fd_ = -1;
  std::size_t size_ = 0;
  void* map_ = nullptr;
  volatile std::uint32_t* regs_ = nullptr;
};

// Locked pages and their physical addresses.
class DmaPages {
 public:
  explicit DmaPages(std::size_t pages) : len_(pages * kPage) {
    void* p = ::mmap(nullptr, len_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) throw_errno("mmap DMA pages");
    mem_ = static_cast<std::uint8_t*>(p);
    std::memset(mem_, 0, len_);
    const int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno("open pagemap");
    for (std::size_t i = 0; i < pages; ++i) {
      std::uint64_t e = 0;
      // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): pagemap is indexed by address
      const auto vpn = reinterpret_cast<std::uintptr_t>(mem_ + i * kPage) / kPage;
      if (::pread(fd, &e, 8, static_cast<off_t>(vpn * 8)) != 8) throw_errno("read pagemap");
      const std::uint64_t pfn = e & ((1ULL << 55) - 1);
      if ((e >> 63) == 0 || pfn == 0) {
        ::close(fd);
        throw std::runtime_error("pagemap gives no physical address (not root?)");
      }
      phys_.push_back(pfn * kPage);
    }
    ::close(fd);
  }
  ~DmaPages() { ::munmap(mem_, len_); }
  DmaPages(const DmaPages&) = delete;
  DmaPages& operator=(const DmaPages&) = delete;
  DmaPages(DmaPages&&) = delete;
  DmaPages& operator=(DmaPages&&) = delete;

  std::span<std::uint8_t> page(std::size_t i) { return {mem_ + i * kPage, kPage}; }
  [[nodiscard]] std::uint64_t phys(std::size_t i) const { return phys_.at(i); }
  static constexpr std::size_t kPage = 4096;

 private:
  std::size_t len_;
  std::uint8_t* mem_ = nullptr;
  std::vector<std::uint64_t> phys_;
};

// The functions' drivers, detached while this program runs.
class DriversDetached {
 public:
  explicit DriversDetached(const std::vector<fs::path>& functions) {
    for (const auto& f : functions) {
      const fs::path link = f / "driver";
      if (!fs::is_symlink(link)) continue;
      const fs::path driver = fs::canonical(link);
      write_file(driver / "unbind", f.filename().string());
      bound_.emplace_back(driver, f.filename().string());
    }
  }
  DriversDetached(const DriversDetached&) = delete;
  DriversDetached& operator=(const DriversDetached&) = delete;
  ~DriversDetached() {
    for (const auto& [driver, bdf] : bound_) {
      try {
        write_file(driver / "bind", bdf);
      } catch (const std::system_error& e) {
        std::fprintf(stderr, "labdma-smoke: rebinding %s: %s\n", bdf.c_str(), e.what());
      }
    }
  }

 private:
  std::vector<std::pair<fs::path, std::string>> bound_;
};

std::vector<fs::path> labdma_functions() {
  std::vector<fs::path> out;
  for (const auto& d : fs::directory_iterator("/sys/bus/pci/devices")) {
    const std::string id = read_line(d.path() / "vendor") + ":" + read_line(d.path() / "device");
    if (id == "0x1af4:0x10f0" || id == "0x1af4:0x10f1") out.push_back(d.path());
  }
  std::sort(out.begin(), out.end());
  static const DriversDetached detached(out);
  return out;
}

long env_count(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtol(v, nullptr, 10) : -1;
}

std::uint32_t crc32c_ref(std::span<const std::uint8_t> data) {
  std::uint32_t crc = 0xffffffff;
  for (const std::uint8_t b : data) {
    crc ^= b;
    for (int k = 0; k < 8; ++k)
      crc = (crc >> 1) ^ (0x82f63b78U & (0U - (crc & 1U)));
  }
  return ~crc;
}

struct Desc {
  std::uint64_t src;
  std::uint64_t dst;
  std::uint32_t len;
  std::uint16_t op;
  std::uint16_t flags;
  std::uint32_t status;
  std::uint32_t result;
};
static_assert(sizeof(Desc) == 32);

// Channel c of @dev with a 16-entry ring in page 0 (write-back word at
// offset 2048), source in page 1, destination in page 2.
class Channel {
 public:
  Channel(Device& dev, unsigned c, DmaPages& pages) : dev_(dev), c_(c), pages_(pages) {
    wr(CH_CTRL, kChReset);
    wr(RING_LO, static_cast<std::uint32_t>(pages.phys(0)));
    wr(RING_HI, static_cast<std::uint32_t>(pages.phys(0) >> 32));
    wr(RING_SIZE, kRing);
    wr(WB_LO, static_cast<std::uint32_t>(pages.phys(0) + 2048));
    wr(WB_HI, static_cast<std::uint32_t>((pages.phys(0) + 2048) >> 32));
    wr(CH_CTRL, kRun);
  }
  // Runs one descriptor; returns the channel status once it is not busy.
  std::uint32_t run(Desc d) {
    d.status = 0;
    d.result = 0;
    std::memcpy(pages_.page(0).data() + sizeof(Desc) * tail_, &d, sizeof(d));
    last_ = tail_;
    tail_ = (tail_ + 1) % kRing;
    dma_wmb();
    wr(TAIL, tail_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::uint32_t st = rd(CH_STATUS);
    while ((st & 3U) == kBusy && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
      st = rd(CH_STATUS);
    }
    dma_rmb();
    return st;
  }
  [[nodiscard]] Desc last() const {
    Desc d{};
    std::memcpy(&d, pages_.page(0).data() + sizeof(Desc) * last_, sizeof(d));
    return d;
  }
  [[nodiscard]] std::uint32_t write_back() const {
    std::uint32_t v = 0;
    std::memcpy(&v, pages_.page(0).data() + 2048, 4);
    return v;
  }
  std::uint32_t rd(std::uint32_t reg) { return dev_.rd(chan(c_) + reg); }
  void wr(std::uint32_t reg, std::uint32_t v) { dev_.wr(chan(c_) + reg, v); }
  void reset() {
    wr(CH_CTRL, kChReset);
    tail_ = 0;
    wr(CH_CTRL, kRun);
  }

 private:
  static constexpr std::uint32_t kRing = 16;
  Device& dev_;
  unsigned c_;
  DmaPages& pages_;
  std::uint32_t tail_ = 0;
  std::uint32_t last_ = 0;
};

TEST(LabdmaSmoke, DevicesIdentifyThemselvesAsTheDatasheetSays) {
  const auto fns = labdma_functions();
  long full = 0;
  long lite = 0;
  for (const auto& f : fns) {
    SCOPED_TRACE(f.string());
    Device dev(f);
    EXPECT_EQ(dev.rd(ID), kId);
    EXPECT_EQ(dev.rd(VERSION) >> 16, 1U) << "major version";
    const std::uint32_t cap = dev.rd(CAP);
    if (dev.lite()) {
      ++lite;
      EXPECT_EQ(cap & 0xfU, 1U) << "one channel";
      EXPECT_EQ((cap >> 8) & 0xffU, 0x07U) << "NOP, COPY, FILL";
      EXPECT_EQ(cap & (1U << 16), 0U) << "no MSI-X";
      EXPECT_EQ(dev.rd(MAX_XFER), 64U << 10);
    } else {
      ++full;
      EXPECT_GE(cap & 0xfU, 1U);
      EXPECT_LE(cap & 0xfU, 8U);
      EXPECT_EQ((cap >> 8) & 0xffU, 0x3fU) << "operations 0..5";
      EXPECT_NE(cap & (1U << 16), 0U) << "MSI-X";
      EXPECT_EQ(dev.rd(MAX_XFER), 1U << 20);
    }
    EXPECT_EQ(read_line(f / "subsystem_vendor"), "0x1af4");
  }
  if (const long want = env_count("LABDMA_EXPECTED_FULL"); want >= 0) {
    EXPECT_EQ(full, want);
  }
  if (const long want = env_count("LABDMA_EXPECTED_LITE"); want >= 0) {
    EXPECT_EQ(lite, want);
  }
  EXPECT_FALSE(fns.empty()) << "no labdma device: run with --labdma/--labdma-lite";
}

TEST(LabdmaSmoke, EveryOperationThroughARingOnEveryChannel) {
  for (const auto& f : labdma_functions()) {
    SCOPED_TRACE(f.string());
    Device dev(f);
    dev.wr(CTRL, 2);  // soft reset: a known state
    dev.wr(CTRL, 1);  // ENABLE
    const unsigned channels = dev.rd(CAP) & 0xfU;
    for (unsigned c = 0; c < channels; ++c) {
      SCOPED_TRACE("channel " + std::to_string(c));
      DmaPages pages(3);
      Channel ch(dev, c, pages);
      auto src = pages.page(1);
      auto dst = pages.page(2);
      for (std::size_t i = 0; i < src.size(); ++i)
        src[i] = static_cast<std::uint8_t>(i * 7 + c);

      ASSERT_EQ(ch.run({pages.phys(1), pages.phys(2), 4096, kCopy, 0, 0, 0}), 0U);
      EXPECT_TRUE(std::equal(src.begin(), src.end(), dst.begin()));
      EXPECT_EQ(ch.last().status, kDone);
      EXPECT_EQ(ch.write_back(), 1U) << "HEAD written back";
      EXPECT_EQ(ch.rd(HEAD), 1U);
      EXPECT_EQ(ch.rd(BYTES_LO), 4096U);

      ASSERT_EQ(ch.run({0xa5a5a5a5, pages.phys(2), 100, kFill, 0, 0, 0}), 0U);
      EXPECT_TRUE(std::all_of(dst.begin(), dst.begin() + 100, [](auto b) { return b == 0xa5; }));
      EXPECT_EQ(dst[100], src[100]) << "FILL went past len";

      if (!dev.lite()) {
        ASSERT_EQ(ch.run({pages.phys(1), 0, 4096, kCrc32c, 0, 0, 0}), 0U);
        EXPECT_EQ(ch.last().result, crc32c_ref(src));
        ASSERT_EQ(ch.run({pages.phys(1), pages.phys(2), 4096, kMul2, 0, 0, 0}), 0U);
        for (std::size_t i = 0; i < 4096; i += 4) {
          std::uint32_t x = 0;
          std::uint32_t y = 0;
          std::memcpy(&x, src.data() + i, 4);
          std::memcpy(&y, dst.data() + i, 4);
          ASSERT_EQ(y, x * 2U) << "element " << i / 4;
        }
      }
      EXPECT_EQ(ch.rd(DESCS_LO), dev.lite() ? 2U : 4U);
      ch.wr(CH_CTRL, 0);
    }
  }
}

TEST(LabdmaSmoke, ABadDescriptorHaltsTheChannelUntilItIsReset) {
  for (const auto& f : labdma_functions()) {
    SCOPED_TRACE(f.string());
    Device dev(f);
    dev.wr(CTRL, 2);
    dev.wr(CTRL, 1);
    DmaPages pages(3);
    Channel ch(dev, 0, pages);
    EXPECT_EQ(ch.run({pages.phys(1), pages.phys(2), 0, kCopy, 0, 0, 0}), kHalted | kBadLen << 8);
    EXPECT_EQ(ch.rd(ERR_INDEX), 0U);
    EXPECT_EQ(ch.last().status, kDone | kBadLen);
    EXPECT_EQ(dev.rd(0x014) & 2U, 2U) << "global STATUS.ERROR";
    ch.reset();
    EXPECT_EQ(ch.run({pages.phys(1), pages.phys(2), 64, kCopy, 0, 0, 0}), 0U);
  }
}

}  // namespace
