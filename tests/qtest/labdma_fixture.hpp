// labdma device-model tests (docs/labdma/datasheet.md) through QEMU's qtest
// protocol: no guest, the test is the driver. The lab's QEMU comes from
// bsp/qemu/build.sh; LABDMA_QEMU names its qemu-system-x86_64.
#pragma once

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "qtest_client.hpp"

namespace labtest {

// Where the test maps the device (q35: RAM below, MMCONFIG at 0xb0000000).
constexpr std::uint64_t kBar0 = 0xe0000000;
constexpr std::uint64_t kBar2 = 0xe0100000;
// Guest RAM that MSI/MSI-X messages are pointed at, so a test can see them.
constexpr std::uint64_t kMsiMailbox = 0x100000;
constexpr unsigned kSlot = 4;

// Registers (datasheet 3)
constexpr std::uint32_t ID = 0x000;
constexpr std::uint32_t VERSION = 0x004;
constexpr std::uint32_t CAP = 0x008;
constexpr std::uint32_t MAX_XFER = 0x00c;
constexpr std::uint32_t CTRL = 0x010;
constexpr std::uint32_t STATUS = 0x014;
constexpr std::uint32_t SCRATCH = 0x018;
constexpr std::uint32_t INT_STATUS = 0x020;
constexpr std::uint32_t INT_MASK = 0x024;
constexpr std::uint32_t INT_MASK_SET = 0x028;
constexpr std::uint32_t INT_MASK_CLEAR = 0x02c;
constexpr std::uint32_t INT_TEST = 0x030;
constexpr std::uint32_t TIMESTAMP_LO = 0x038;
constexpr std::uint32_t TIMESTAMP_HI = 0x03c;
constexpr std::uint32_t kTest0 = 1U << 24;
constexpr std::uint32_t kTest1 = 1U << 25;
constexpr std::uint32_t kIntError = 1U << 16;

// Channel registers (datasheet 4), relative to the channel's block.
constexpr std::uint32_t chan(unsigned c) {
  return 0x1000 + 0x100 * c;
}
constexpr std::uint32_t RING_LO = 0x00;
constexpr std::uint32_t RING_HI = 0x04;
constexpr std::uint32_t RING_SIZE = 0x08;
constexpr std::uint32_t TAIL = 0x0c;
constexpr std::uint32_t HEAD = 0x10;
constexpr std::uint32_t CH_CTRL = 0x14;
constexpr std::uint32_t CH_STATUS = 0x18;
constexpr std::uint32_t ERR_INDEX = 0x1c;
constexpr std::uint32_t ERR_ADDR_LO = 0x20;
constexpr std::uint32_t ERR_ADDR_HI = 0x24;
constexpr std::uint32_t WB_LO = 0x28;
constexpr std::uint32_t WB_HI = 0x2c;
constexpr std::uint32_t BYTES_LO = 0x30;
constexpr std::uint32_t BYTES_HI = 0x34;
constexpr std::uint32_t DESCS_LO = 0x38;
constexpr std::uint32_t DESCS_HI = 0x3c;
constexpr std::uint32_t VECTOR = 0x40;

constexpr std::uint32_t kRun = 1U << 0;
constexpr std::uint32_t kAbort = 1U << 1;
constexpr std::uint32_t kChReset = 1U << 2;
constexpr std::uint32_t kIrqEn = 1U << 3;
constexpr std::uint32_t coalesce(unsigned count, unsigned timeout_us) {
  return count << 8 | timeout_us << 16;
}

enum ChState : std::uint32_t { kIdle = 0, kBusy = 1, kHalted = 2 };

enum Op : std::uint16_t { kNop = 0, kCopy, kFill, kMul2, kMul4, kCrc32c };
constexpr std::uint16_t kFlagIrq = 1U << 0;
constexpr std::uint16_t kFlagFence = 1U << 1;
constexpr std::uint32_t kDone = 1U << 31;

enum Err : std::uint32_t {
  kOk = 0,
  kBadLen,
  kBadOp,
  kBadAlign,
  kDescRead,
  kSrcRead,
  kDstWrite,
  kWbWrite,
  kRingConfig,
  kAborted,
  kInjected,
};

inline std::string qemu_path() {
  const char* p = std::getenv("LABDMA_QEMU");
  return p != nullptr ? p : "";
}

class Labdma : public ::testing::Test {
 protected:
  void start(const std::string& device) {
    const std::string qemu = qemu_path();
    ASSERT_FALSE(qemu.empty()) << "LABDMA_QEMU is not set (bsp/qemu/build.sh builds it)";
    qt_ = std::make_unique<Qtest>(
        qemu, std::vector<std::string>{"-machine", "q35", "-device",
                                       device + ",id=ld,addr=" + std::to_string(kSlot)});
    cfg_.emplace(*qt_, 0, kSlot, 0);
  }
  // What firmware would do: place the BARs, enable memory decoding and DMA.
  void enable() {
    cfg_->write32(0x10, static_cast<std::uint32_t>(kBar0));
    cfg_->write32(0x14, 0);
    cfg_->write32(0x18, static_cast<std::uint32_t>(kBar2));
    cfg_->write32(0x1c, 0);
    cfg_->write16(0x04, 0x0006);  // memory space, bus master
  }
  std::uint32_t rd(std::uint32_t reg) { return qt_->readl(kBar0 + reg); }
  void wr(std::uint32_t reg, std::uint32_t v) { qt_->writel(kBar0 + reg, v); }

  std::unique_ptr<Qtest> qt_;
  std::optional<PciConfig> cfg_;
};

class LabdmaMsi : public Labdma {
 protected:
  // Points every MSI-X vector v at mailbox slot v with data 0xab00 + v.
  void enable_msix(unsigned vectors) {
    const unsigned msix = cfg_->find_capability(0x11);
    ASSERT_NE(msix, 0U);
    const std::uint32_t table = cfg_->read32(msix + 4);
    ASSERT_EQ(table & 7U, 2U) << "table in BAR2";
    const std::uint64_t base = kBar2 + (table & ~7U);
    for (unsigned v = 0; v < vectors; ++v) {
      qt_->writel(base + std::uint64_t{16} * v,
                  static_cast<std::uint32_t>(kMsiMailbox + std::uint64_t{4} * v));
      qt_->writel(base + std::uint64_t{16} * v + 4, 0);
      qt_->writel(base + std::uint64_t{16} * v + 8, 0xab00 + v);
      qt_->writel(base + std::uint64_t{16} * v + 12, 0);  // unmasked
    }
    cfg_->write16(msix + 2, 0x8000);  // enable, function not masked
    clear_mailbox(vectors);
  }
  // MSI (one vector) at mailbox slot 0 with data 0x4242.
  void enable_msi() {
    const unsigned msi = cfg_->find_capability(0x05);
    ASSERT_NE(msi, 0U);
    ASSERT_TRUE(cfg_->read16(msi + 2) & 0x80U) << "64-bit MSI expected";
    cfg_->write32(msi + 4, static_cast<std::uint32_t>(kMsiMailbox));
    cfg_->write32(msi + 8, 0);
    cfg_->write16(msi + 12, 0x4242);
    cfg_->write16(msi + 2, static_cast<std::uint16_t>(cfg_->read16(msi + 2) | 1U));
    clear_mailbox();
  }
  std::uint32_t mailbox(unsigned slot = 0) {
    return qt_->readl(kMsiMailbox + std::uint64_t{4} * slot);
  }
  void clear_mailbox(unsigned slots = 1) {
    for (unsigned i = 0; i < slots; ++i)
      qt_->writel(kMsiMailbox + std::uint64_t{4} * i, 0);
  }
};

// A descriptor as software writes it (datasheet 6.1).
struct Desc {
  std::uint64_t src = 0;
  std::uint64_t dst = 0;
  std::uint32_t len = 0;
  std::uint16_t op = kNop;
  std::uint16_t flags = 0;
};

// Rings and buffers in guest RAM (64 MiB): channel c's ring at kRings +
// c * 64 KiB, its write-back word at kWriteBack + 64 * c; kSrc and kDst
// are 8 MiB apart.
constexpr std::uint64_t kRings = 0x200000;
constexpr std::uint64_t kWriteBack = 0x300000;
constexpr std::uint64_t kSrc = 0x400000;
constexpr std::uint64_t kDst = 0xc00000;

class LabdmaRing : public LabdmaMsi {
 protected:
  std::uint32_t crd(unsigned c, std::uint32_t reg) { return rd(chan(c) + reg); }
  void cwr(unsigned c, std::uint32_t reg, std::uint32_t v) { wr(chan(c) + reg, v); }
  static std::uint64_t ring(unsigned c) { return kRings + 0x10000ULL * c; }
  static std::uint64_t wb(unsigned c) { return kWriteBack + 64ULL * c; }

  // Device enabled, channel c's ring of @size entries and write-back set.
  void setup(unsigned c, std::uint32_t size = 16) {
    wr(CTRL, 1);
    cwr(c, RING_LO, static_cast<std::uint32_t>(ring(c)));
    cwr(c, RING_HI, 0);
    cwr(c, RING_SIZE, size);
    cwr(c, WB_LO, static_cast<std::uint32_t>(wb(c)));
    cwr(c, WB_HI, 0);
    qt_->writel(wb(c), 0xffffffff);
    ring_size_[c] = size;
    tail_[c] = 0;
  }
  static void encode(std::vector<std::uint8_t>& raw, const Desc& d) {
    auto le = [&raw](std::uint64_t v, unsigned bytes) {
      for (unsigned i = 0; i < bytes; ++i)
        raw.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    };
    le(d.src, 8);
    le(d.dst, 8);
    le(d.len, 4);
    le(d.op, 2);
    le(d.flags, 2);
    le(0, 8);  // status, result
  }
  // Queues @descs behind the channel's tail (one memory write per
  // contiguous run) and rings the doorbell.
  void submit(unsigned c, const std::vector<Desc>& descs) {
    std::vector<std::uint8_t> raw;
    std::uint32_t first = tail_[c];
    for (const Desc& d : descs) {
      encode(raw, d);
      tail_[c] = (tail_[c] + 1) % ring_size_[c];
      if (tail_[c] == 0) {
        qt_->memwrite(ring(c) + 32ULL * first, raw);
        raw.clear();
        first = 0;
      }
    }
    if (!raw.empty()) qt_->memwrite(ring(c) + 32ULL * first, raw);
    cwr(c, TAIL, tail_[c]);
  }
  // Polls until the channel is no longer BUSY, stepping the virtual clock
  // to the next timer when the channel waits for one; returns CH_STATUS.
  std::uint32_t wait(unsigned c) {
    for (int i = 0; i < 20000; ++i) {
      const std::uint32_t st = crd(c, CH_STATUS);
      if ((st & 3U) != kBusy) return st;
      if (i % 4 == 3) qt_->clock_step();
    }
    ADD_FAILURE() << "channel " << c << " still busy";
    return crd(c, CH_STATUS);
  }
  // Runs @descs on channel c and waits for the channel.
  std::uint32_t run(unsigned c, const std::vector<Desc>& descs, std::uint32_t ctrl = 0) {
    cwr(c, CH_CTRL, kRun | ctrl);
    submit(c, descs);
    return wait(c);
  }
  std::uint32_t desc_status(unsigned c, std::uint32_t index) {
    return qt_->readl(ring(c) + 32ULL * index + 0x18);
  }
  std::uint32_t desc_result(unsigned c, std::uint32_t index) {
    return qt_->readl(ring(c) + 32ULL * index + 0x1c);
  }
  std::uint64_t err_addr(unsigned c) {
    const std::uint64_t lo = crd(c, ERR_ADDR_LO);
    return std::uint64_t{crd(c, ERR_ADDR_HI)} << 32 | lo;
  }
  void fill_pattern(std::uint64_t addr, std::size_t len, std::uint32_t seed) {
    std::vector<std::uint8_t> data(len);
    std::uint32_t x = seed;
    for (auto& b : data) {
      x = x * 1664525U + 1013904223U;
      b = static_cast<std::uint8_t>(x >> 24);
    }
    qt_->memwrite(addr, data);
  }

  std::array<std::uint32_t, 8> ring_size_{};
  std::array<std::uint32_t, 8> tail_{};
};

// CRC32C (Castagnoli, reflected, ~0 in and out), bit by bit: the reference.
inline std::uint32_t crc32c_ref(const std::vector<std::uint8_t>& data) {
  std::uint32_t crc = 0xffffffff;
  for (const std::uint8_t b : data) {
    crc ^= b;
    for (int k = 0; k < 8; ++k)
      crc = (crc >> 1) ^ (0x82f63b78U & (0U - (crc & 1U)));
  }
  return ~crc;
}

}  // namespace labtest
