// labdma device-model tests behind QEMU's intel-iommu (datasheet 8: an
// address "unmapped behind an IOMMU" is an error code, never an abort). The
// test is the IOMMU driver too: it builds VT-d legacy-mode root, context
// and second-level page tables in guest RAM and turns translation on.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "labdma_fixture.hpp"

namespace labtest {
namespace {

constexpr std::uint64_t kDmar = 0xfed90000;  // q35's VT-d registers
constexpr std::uint32_t kGcmd = 0x18, kGsts = 0x1c, kRtaddr = 0x20;
constexpr std::uint32_t kTe = 1U << 31, kSrtp = 1U << 30;

// Translation structures in RAM (32 MiB up), 4 KiB each.
constexpr std::uint64_t kRoot = 0x2000000;
constexpr std::uint64_t kContext = 0x2001000;
constexpr std::uint64_t kL3 = 0x2002000;  // 39-bit address width: 3 levels
constexpr std::uint64_t kL2 = 0x2003000;
constexpr std::uint64_t kL1Base = 0x2004000;  // one per 2 MiB region used
constexpr std::uint64_t kRead = 1, kWrite = 2;

class LabdmaIommu : public LabdmaRing {
 protected:
  void start_behind_iommu() {
    qt_ = std::make_unique<Qtest>(
        qemu_path(),
        std::vector<std::string>{"-machine", "q35", "-device", "intel-iommu", "-device",
                                 "labdma,id=ld,addr=" + std::to_string(kSlot)});
    cfg_.emplace(*qt_, 0, kSlot, 0);
    enable();
    // bus 0 -> context table; device 0:4.0 -> second-level tables, AW 39
    // bits (3 levels), domain 1, translated DMA only.
    qt_->writeq(kRoot, kContext | 1U);
    const std::uint64_t ctx = kContext + 16ULL * (kSlot << 3);
    qt_->writeq(ctx, kL3 | 1U);
    qt_->writeq(ctx + 8, 1U | 1U << 8);
    qt_->writeq(kL3, kL2 | kRead | kWrite);
  }
  // IOVA @iova (one 4 KiB page) -> @phys with @perm; IOVAs below 1 GiB.
  void map(std::uint64_t iova, std::uint64_t phys, std::uint64_t perm) {
    const std::uint64_t region = iova >> 21;
    const std::uint64_t l1 = kL1Base + 0x1000 * region;
    qt_->writeq(kL2 + 8 * region, l1 | kRead | kWrite);
    qt_->writeq(l1 + 8 * ((iova >> 12) & 511), phys | perm);
  }
  void translation_on() {
    qt_->writel(kDmar + kRtaddr, static_cast<std::uint32_t>(kRoot));
    qt_->writel(kDmar + kRtaddr + 4, 0);
    qt_->writel(kDmar + kGcmd, kSrtp);
    ASSERT_TRUE(qt_->readl(kDmar + kGsts) & kSrtp) << "root table pointer not taken";
    qt_->writel(kDmar + kGcmd, kTe);
    ASSERT_TRUE(qt_->readl(kDmar + kGsts) & kTe) << "translation not enabled";
  }
};

TEST_F(LabdmaIommu, MappedIovasWorkAndUnmappedOnesAreErrorCodes) {
  start_behind_iommu();
  // Ring and write-back (identity), a source page, a destination page, and
  // a read-only page; everything else unmapped.
  map(kRings, kRings, kRead | kWrite);
  map(kWriteBack, kWriteBack, kRead | kWrite);
  map(kSrc, kSrc, kRead);
  map(kDst, kDst, kRead | kWrite);
  map(kDst + 0x1000, kSrc + 0x1000, kRead);
  translation_on();
  setup(0);
  fill_pattern(kSrc, 4096, 12);

  ASSERT_EQ(run(0, {{kSrc, kDst, 4096, kCopy, 0}}), kIdle);
  EXPECT_EQ(qt_->memread(kDst, 4096), qt_->memread(kSrc, 4096));
  EXPECT_EQ(qt_->readl(wb(0)), 1U) << "write-back through the IOMMU";

  // An unmapped source page, and a copy running into one.
  EXPECT_EQ(run(0, {{kSrc + 0x2000, kDst, 64, kCopy, 0}}), kHalted | kSrcRead << 8);
  EXPECT_EQ(err_addr(0), kSrc + 0x2000);
  cwr(0, CH_CTRL, kChReset);
  tail_[0] = 0;
  EXPECT_EQ(run(0, {{kSrc + 0xff0, kDst, 64, kCopy, 0}}), kHalted | kSrcRead << 8);
  cwr(0, CH_CTRL, kChReset);
  tail_[0] = 0;
  // A read-only destination page.
  EXPECT_EQ(run(0, {{kSrc, kDst + 0x1000, 64, kCopy, 0}}), kHalted | kDstWrite << 8);
  EXPECT_EQ(err_addr(0), kDst + 0x1000);
  EXPECT_EQ(qt_->readl(kSrc + 0x1000), 0U) << "the read-only page was written";
  cwr(0, CH_CTRL, kChReset);
  tail_[0] = 0;
  // A ring nobody mapped.
  cwr(0, RING_LO, 0x600000);
  cwr(0, CH_CTRL, kRun);
  cwr(0, TAIL, 1);
  EXPECT_EQ(wait(0), kHalted | kDescRead << 8);
  EXPECT_EQ(err_addr(0), 0x600000U);
  // A ring the device may read but not write: the descriptor is fetched
  // and its data moves, its status cannot be written back.
  map(0x700000, kRings + 0x8000, kRead);
  cwr(0, CH_CTRL, kChReset);
  cwr(0, RING_LO, 0x700000);
  qt_->writeq(kRings + 0x8000, kSrc);
  qt_->writeq(kRings + 0x8008, kDst);
  qt_->writeq(kRings + 0x8010, 64U | std::uint64_t{kCopy} << 32);
  cwr(0, CH_CTRL, kRun);
  cwr(0, TAIL, 1);
  EXPECT_EQ(wait(0), kHalted | kWbWrite << 8);
  EXPECT_EQ(err_addr(0), 0x700000U + 0x18) << "the status field's address";
  EXPECT_EQ(crd(0, HEAD), 0U);
  // Still usable.
  cwr(0, CH_CTRL, kChReset);
  cwr(0, RING_LO, static_cast<std::uint32_t>(ring(0)));
  tail_[0] = 0;
  EXPECT_EQ(run(0, {{kSrc, kDst, 128, kCopy, 0}}), kIdle);
}

}  // namespace
}  // namespace labtest
