// labdma device-model tests: SR-IOV (datasheet 12). The PF's SR-IOV
// capability lives in extended configuration space, reached through ECAM
// (q35's PCIEXBAR); VFs appear at the PF's function + 1, 2, ... with one
// channel each, their BAR0 holding the registers and the MSI-X table.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "labdma_fixture.hpp"

namespace labtest {
namespace {

using ::testing::HasSubstr;

constexpr std::uint64_t kEcam = 0xb0000000;
constexpr std::uint64_t kVfBar = 0xe0200000;  // VF n at + n * 32 KiB
constexpr std::uint64_t kVfSize = 32ULL * 1024;
constexpr unsigned kSriov = 0x148;  // datasheet 12

class LabdmaSriov : public LabdmaRing {
 protected:
  void start_with_ecam(const std::string& device) {
    start(device);
    PciConfig mch(*qt_, 0, 0, 0);
    mch.write32(0x64, 0);
    mch.write32(0x60, static_cast<std::uint32_t>(kEcam) | 1U);
    enable();
  }
  static std::uint64_t ecam(unsigned fn, unsigned reg) {
    return kEcam + (std::uint64_t{kSlot} << 15) + (std::uint64_t{fn} << 12) + reg;
  }
  std::uint32_t pf_ext(unsigned reg) { return qt_->readl(ecam(0, reg)); }
  void pf_ext16(unsigned reg, std::uint16_t v) { qt_->writew(ecam(0, reg), v); }
  // VF @n's registers.
  std::uint32_t vrd(unsigned n, std::uint32_t reg) {
    return qt_->readl(kVfBar + kVfSize * n + reg);
  }
  void vwr(unsigned n, std::uint32_t reg, std::uint32_t v) {
    qt_->writel(kVfBar + kVfSize * n + reg, v);
  }
  // VF BAR0 placed, @count VFs enabled with memory decoding.
  void enable_vfs(std::uint16_t count) {
    qt_->writel(ecam(0, kSriov + 0x24), static_cast<std::uint32_t>(kVfBar) | 0x4U);
    qt_->writel(ecam(0, kSriov + 0x28), 0);
    pf_ext16(kSriov + 0x10, count);   // NumVFs
    pf_ext16(kSriov + 0x08, 0x0009);  // VF Enable | VF Memory Space Enable
  }
};

TEST_F(LabdmaSriov, CapabilityDescribesTheVirtualFunctions) {
  start_with_ecam("labdma,sriov-vfs=3");
  EXPECT_EQ(pf_ext(kSriov) & 0xffffU, 0x0010U) << "SR-IOV extended capability";
  EXPECT_EQ(pf_ext(kSriov + 0x0c) & 0xffffU, 3U) << "InitialVFs";
  EXPECT_EQ(pf_ext(kSriov + 0x0c) >> 16, 3U) << "TotalVFs";
  EXPECT_EQ(pf_ext(kSriov + 0x14), 1U | 1U << 16) << "First VF offset 1, stride 1";
  EXPECT_EQ(pf_ext(kSriov + 0x18) >> 16, 0x10f2U) << "VF device ID";
  // No VF before VF Enable.
  EXPECT_EQ(qt_->readl(ecam(1, 0)), 0xffffffffU);
}

TEST_F(LabdmaSriov, EachVfIsOneChannelThatMovesDataAndSignalsOverMsix) {
  start_with_ecam("labdma,sriov-vfs=2");
  enable_vfs(2);
  for (unsigned n = 0; n < 2; ++n) {
    SCOPED_TRACE("VF " + std::to_string(n));
    PciConfig vf(*qt_, 0, kSlot, 1 + n);
    EXPECT_EQ(vf.read32(0x00), 0xffffffffU) << "VFs read vendor/device as all ones";
    EXPECT_EQ(vf.read8(0x3d), 0U) << "no INTx pin";
    EXPECT_EQ(vf.find_capability(0x05), 0U) << "no MSI";
    const unsigned msix = vf.find_capability(0x11);
    ASSERT_NE(msix, 0U);
    EXPECT_EQ((vf.read16(msix + 2) & 0x7ffU) + 1, 2U) << "errors + one channel";
    EXPECT_EQ(vf.read32(msix + 4), 16U * 1024) << "table in BAR0 at 16 KiB";
    vf.write16(0x04, 0x0006);  // memory, bus master
    EXPECT_EQ(vrd(n, ID), 0x4c444d41U);
    EXPECT_EQ(vrd(n, CAP) & 0xfU, 1U) << "one channel";
    EXPECT_NE(vrd(n, CAP) & (1U << 16), 0U) << "MSI-X";

    // MSI-X vector 1 (the channel) at mailbox slot 4 + n.
    const std::uint64_t table = kVfBar + kVfSize * n + 16ULL * 1024;
    const std::uint64_t mailbox_n = kMsiMailbox + 4ULL * (4 + n);
    const std::uint64_t dst = kDst + 0x10000ULL * n;
    qt_->writel(table + 16, static_cast<std::uint32_t>(mailbox_n));
    qt_->writel(table + 20, 0);
    qt_->writel(table + 24, 0xcd00 + n);
    qt_->writel(table + 28, 0);
    vf.write16(msix + 2, 0x8000);
    qt_->writel(mailbox_n, 0);

    // A copy through the VF's channel 0, its ring apart from the PF's.
    const std::uint64_t ring = kRings + 0x40000 + 0x1000ULL * n;
    std::vector<std::uint8_t> raw;
    auto le = [&raw](std::uint64_t v, unsigned bytes) {
      for (unsigned i = 0; i < bytes; ++i)
        raw.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    };
    le(kSrc, 8);
    le(dst, 8);
    le(256, 4);
    le(kCopy, 2);
    le(kFlagIrq, 2);
    le(0, 8);
    qt_->memwrite(ring, raw);
    fill_pattern(kSrc, 256, 30 + n);
    vwr(n, CTRL, 1);
    vwr(n, INT_MASK_CLEAR, 1);
    vwr(n, chan(0) + RING_LO, static_cast<std::uint32_t>(ring));
    vwr(n, chan(0) + RING_SIZE, 4);
    vwr(n, chan(0) + CH_CTRL, kRun | kIrqEn);
    vwr(n, chan(0) + TAIL, 1);
    for (int i = 0; i < 100 && vrd(n, chan(0) + HEAD) != 1; ++i) {
    }
    EXPECT_EQ(vrd(n, chan(0) + HEAD), 1U);
    EXPECT_EQ(qt_->memread(dst, 256), qt_->memread(kSrc, 256));
    EXPECT_EQ(qt_->readl(mailbox_n), 0xcd00U + n);
  }
  // The PF keeps its own four channels.
  setup(3);
  fill_pattern(kSrc, 64, 99);
  EXPECT_EQ(run(3, {{kSrc, kDst + 0x80000, 64, kCopy, 0}}), kIdle);
  EXPECT_EQ(qt_->memread(kDst + 0x80000, 64), qt_->memread(kSrc, 64));
}

TEST_F(LabdmaSriov, VfsGoAwayWithVfEnableAndWithAPfReset) {
  start_with_ecam("labdma,sriov-vfs=2");
  enable_vfs(2);
  EXPECT_EQ(qt_->readl(ecam(2, 0)), 0xffffffffU) << "a VF reads all ones too";
  PciConfig vf1(*qt_, 0, kSlot, 2);
  vf1.write16(0x04, 0x0002);
  EXPECT_EQ(vrd(1, ID), 0x4c444d41U);
  pf_ext16(kSriov + 0x08, 0);  // VF Enable off
  EXPECT_NE(vrd(1, ID), 0x4c444d41U) << "VF 1 still decodes";

  enable_vfs(2);
  PciConfig vf0(*qt_, 0, kSlot, 1);
  vf0.write16(0x04, 0x0002);
  EXPECT_EQ(vrd(0, ID), 0x4c444d41U);
  const unsigned exp = cfg_->find_capability(0x10);
  cfg_->write16(exp + 8, static_cast<std::uint16_t>(cfg_->read16(exp + 8) | 0x8000U));  // FLR
  EXPECT_NE(vrd(0, ID), 0x4c444d41U) << "VF 0 survived its PF's FLR";
  EXPECT_EQ(pf_ext(kSriov + 0x08) & 1U, 0U) << "VF Enable cleared";

  // A system reset likewise (and QEMU survives removing VFs mid-reset).
  enable_vfs(2);
  qt_->qmp("system_reset");
  PciConfig mch(*qt_, 0, 0, 0);
  mch.write32(0x60, static_cast<std::uint32_t>(kEcam) | 1U);  // firmware's job again
  EXPECT_EQ(pf_ext(kSriov + 0x08) & 1U, 0U) << "VF Enable survived a system reset";
  EXPECT_EQ(qt_->readl(ecam(1, 0)), 0xffffffffU) << "a VF survived a system reset";
  EXPECT_EQ(pf_ext(0) & 0xffffU, 0x1af4U);
}

TEST_F(LabdmaSriov, OnlyTheFullVariantAndAtMostSevenVfs) {
  for (const char* bad : {"labdma,sriov-vfs=8", "labdma-lite,sriov-vfs=1"}) {
    try {
      start(bad);
      ADD_FAILURE() << "QEMU accepted " << bad;
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("sriov-vfs")) << bad;
    }
    qt_.reset();
  }
  // ... and cannot even be created where everything must migrate.
  try {
    qt_ = std::make_unique<Qtest>(
        qemu_path(), std::vector<std::string>{"-only-migratable", "-machine", "q35", "-device",
                                              "labdma,sriov-vfs=1"});
    ADD_FAILURE() << "QEMU accepted an unmigratable device with -only-migratable";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("does not migrate"));
  }
  qt_.reset();
  // A device with VFs is not migratable, and says so.
  start("labdma,sriov-vfs=1");
  EXPECT_THROW(qt_->qmp("migrate", {{"uri", "exec:cat > /dev/null"}}), QmpError);
}

}  // namespace
}  // namespace labtest
