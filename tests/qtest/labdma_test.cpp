// labdma device-model tests, the device-wide part (datasheet 1-3, 5, 7):
// identity, global registers, interrupt delivery, resets.
#include <cstdint>
#include <stdexcept>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "labdma_fixture.hpp"

namespace labtest {
namespace {

using ::testing::HasSubstr;

TEST_F(Labdma, IdentifiesItselfAndItsCapabilities) {
  start("labdma");
  EXPECT_EQ(cfg_->read16(0x00), 0x1af4);
  EXPECT_EQ(cfg_->read16(0x02), 0x10f0);
  EXPECT_EQ(cfg_->read16(0x2c), 0x1af4);
  EXPECT_EQ(cfg_->read16(0x2e), 0x1100);
  EXPECT_EQ(cfg_->read8(0x08), 0x01);             // revision
  EXPECT_EQ(cfg_->read32(0x08) >> 8, 0x088000U);  // class code
  EXPECT_EQ(cfg_->read8(0x3d), 1);                // INTA
  EXPECT_NE(cfg_->find_capability(0x01), 0U) << "PM";
  EXPECT_NE(cfg_->find_capability(0x05), 0U) << "MSI";
  EXPECT_NE(cfg_->find_capability(0x10), 0U) << "PCI Express";
  EXPECT_NE(cfg_->find_capability(0x11), 0U) << "MSI-X";
  enable();
  EXPECT_EQ(rd(ID), 0x4c444d41U);
  EXPECT_EQ(rd(VERSION), 0x00010000U);
  // 4 channels, operations 0..5, MSI-X, fault injection, rings up to 2^12
  EXPECT_EQ(rd(CAP), 4U | 0x3fU << 8 | 1U << 16 | 1U << 17 | 12U << 20);
  EXPECT_EQ(rd(MAX_XFER), 1U << 20);
}

TEST_F(Labdma, LiteSiblingHasItsOwnIdAndFewerCapabilities) {
  start("labdma-lite");
  EXPECT_EQ(cfg_->read16(0x02), 0x10f1);
  EXPECT_NE(cfg_->find_capability(0x05), 0U) << "MSI";
  EXPECT_EQ(cfg_->find_capability(0x11), 0U) << "the lite variant has no MSI-X";
  enable();
  EXPECT_EQ(rd(ID), 0x4c444d41U);
  EXPECT_EQ(rd(CAP), 1U | 0x07U << 8 | 1U << 17 | 12U << 20);
  EXPECT_EQ(rd(MAX_XFER), 64U << 10);
}

TEST_F(Labdma, ChannelCountIsAPropertyWithALimit) {
  start("labdma,channels=2");
  enable();
  EXPECT_EQ(rd(CAP) & 0xfU, 2U);
  qt_.reset();
  try {
    start("labdma,channels=9");
    ADD_FAILURE() << "QEMU accepted channels=9";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("channels must be 1..8, not 9"));
  }
  try {
    start("labdma-lite,channels=2");
    ADD_FAILURE() << "the lite variant accepted a channel count";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("channels"));
  }
}

TEST_F(Labdma, ResetValuesAndAccessRules) {
  start("labdma");
  enable();
  EXPECT_EQ(rd(CTRL), 0U);
  EXPECT_EQ(rd(STATUS), 0U);
  EXPECT_EQ(rd(SCRATCH), 0U);
  EXPECT_EQ(rd(INT_STATUS), 0U);
  EXPECT_EQ(rd(INT_MASK), 0xffffffffU) << "everything masked after reset";
  wr(SCRATCH, 0xdeadbeef);
  EXPECT_EQ(rd(SCRATCH), 0xdeadbeefU);
  wr(CTRL, 0xfffffffd);  // every bit but RESET: only ENABLE sticks
  EXPECT_EQ(rd(CTRL), 1U);
  EXPECT_EQ(rd(STATUS), 1U);
  // Read-only registers ignore writes.
  wr(ID, 0);
  wr(CAP, 0);
  wr(INT_MASK, 0);
  EXPECT_EQ(rd(ID), 0x4c444d41U);
  EXPECT_EQ(rd(INT_MASK), 0xffffffffU);
  // Only aligned 32-bit accesses: others read all ones and write nothing.
  EXPECT_EQ(qt_->readb(kBar0 + SCRATCH), 0xffU);
  EXPECT_EQ(qt_->readw(kBar0 + SCRATCH), 0xffffU);
  qt_->writeb(kBar0 + SCRATCH, 0x11);
  qt_->writew(kBar0 + SCRATCH + 2, 0x2222);
  qt_->writeq(kBar0 + SCRATCH, 0x1234567812345678ULL);
  EXPECT_EQ(rd(SCRATCH), 0xdeadbeefU);
  // Offsets nobody defined read 0.
  EXPECT_EQ(rd(0x0f0), 0U);
  EXPECT_EQ(rd(0x3ffc), 0U);
}

TEST_F(Labdma, TimestampFollowsTheVirtualClockAndLatchesItsHighHalf) {
  start("labdma");
  enable();
  auto stamp = [&] {
    const std::uint64_t lo = rd(TIMESTAMP_LO);
    return std::uint64_t{rd(TIMESTAMP_HI)} << 32 | lo;
  };
  const std::uint64_t t0 = stamp();
  qt_->clock_step(5'000'000);
  const std::uint64_t t1 = stamp();
  EXPECT_GE(t1 - t0, 5'000'000U);
  EXPECT_LT(t1 - t0, 6'000'000U);
}

TEST_F(Labdma, IntxFollowsPendingAndMaskedSources) {
  start("labdma");
  enable();
  qt_->irq_intercept_in("ioapic");
  (void)qt_->take_raised();

  // Set while masked: status shows it, the line stays low.
  wr(INT_TEST, kTest0);
  EXPECT_EQ(rd(INT_STATUS), kTest0);
  EXPECT_TRUE(qt_->take_raised().empty()) << "a masked source raised INTx";

  // Unmasking a pending source raises the line.
  wr(INT_MASK_CLEAR, kTest0 | kTest1);
  const auto raised = qt_->take_raised();
  ASSERT_EQ(raised.size(), 1U) << "unmasking a pending source must raise INTx once";
  const unsigned line = raised.front();
  EXPECT_TRUE(qt_->irq(line));

  // Masking it lowers the line; unmasking raises it again.
  wr(INT_MASK_SET, kTest0);
  EXPECT_FALSE(qt_->irq(line));
  EXPECT_EQ(rd(INT_MASK) & (kTest0 | kTest1), kTest0);
  wr(INT_MASK_CLEAR, kTest0);
  EXPECT_TRUE(qt_->irq(line));

  // Two sources: clearing one keeps the level, clearing both lowers it.
  wr(INT_TEST, kTest1);
  EXPECT_EQ(rd(INT_STATUS), kTest0 | kTest1);
  wr(INT_STATUS, kTest0);
  EXPECT_TRUE(qt_->irq(line));
  EXPECT_EQ(rd(INT_STATUS), kTest1);
  wr(INT_STATUS, kTest1);
  EXPECT_FALSE(qt_->irq(line));
  EXPECT_EQ(rd(INT_STATUS), 0U);

  // INT_TEST only sets the test bits.
  wr(INT_TEST, 0x00ffffffU);
  EXPECT_EQ(rd(INT_STATUS), 0U);

  // A soft reset lowers the line and masks everything.
  wr(INT_TEST, kTest0);
  EXPECT_TRUE(qt_->irq(line));
  wr(SCRATCH, 5);
  wr(CTRL, 2);
  EXPECT_FALSE(qt_->irq(line));
  EXPECT_EQ(rd(INT_STATUS), 0U);
  EXPECT_EQ(rd(INT_MASK), 0xffffffffU);
  EXPECT_EQ(rd(SCRATCH), 0U);
  EXPECT_EQ(rd(CTRL), 0U) << "RESET reads 0";
}

TEST_F(LabdmaMsi, MessagePerNewlyPendingSourceAndAfterAPartialClear) {
  start("labdma-lite");
  enable();
  enable_msi();
  qt_->irq_intercept_in("ioapic");
  (void)qt_->take_raised();
  clear_mailbox();

  wr(INT_TEST, kTest0);  // masked
  EXPECT_EQ(mailbox(), 0U) << "a masked source sent a message";
  wr(INT_MASK_CLEAR, kTest0 | kTest1);
  EXPECT_EQ(mailbox(), 0x4242U) << "unmasking a pending source must send one";
  clear_mailbox();

  wr(INT_TEST, kTest1);  // newly pending
  EXPECT_EQ(mailbox(), 0x4242U);
  clear_mailbox();
  wr(INT_STATUS, kTest0);  // test1 still pending: signal again
  EXPECT_EQ(mailbox(), 0x4242U) << "a clear that leaves a source pending must re-signal";
  clear_mailbox();
  wr(INT_STATUS, kTest1);  // nothing left
  EXPECT_EQ(mailbox(), 0U);
  EXPECT_TRUE(qt_->take_raised().empty()) << "INTx must stay quiet while MSI is enabled";

  // Configuration writes that do not switch the interrupt mode send
  // nothing, even with a source pending.
  wr(INT_TEST, kTest0);
  EXPECT_EQ(mailbox(), 0x4242U);
  clear_mailbox();
  cfg_->write16(0x04, 0x0006);
  (void)cfg_->read32(0x10);
  cfg_->write32(0x10, static_cast<std::uint32_t>(kBar0));
  EXPECT_EQ(mailbox(), 0U) << "a config write re-sent a pending source";
  wr(INT_STATUS, kTest0);
  clear_mailbox();

  // No bus mastering, no message.
  cfg_->write16(0x04, 0x0002);
  wr(INT_TEST, kTest0);
  EXPECT_EQ(mailbox(), 0U);
}

TEST_F(LabdmaMsi, MsixVectorZeroCarriesTestAndErrorSources) {
  start("labdma");
  enable();
  const unsigned msix = cfg_->find_capability(0x11);
  ASSERT_NE(msix, 0U);
  EXPECT_EQ((cfg_->read16(msix + 2) & 0x7ffU) + 1, 5U) << "channels + 1 vectors";
  enable_msix(5);
  const std::uint64_t base = kBar2 + (cfg_->read32(msix + 4) & ~7U);

  wr(INT_MASK_CLEAR, kTest0);
  wr(INT_TEST, kTest0);
  EXPECT_EQ(mailbox(0), 0xab00U);
  for (unsigned v = 1; v < 5; ++v)
    EXPECT_EQ(mailbox(v), 0U) << "vector " << v;
  clear_mailbox(5);

  // A masked vector holds the message pending and sends it when unmasked.
  qt_->writel(base + 12, 1);
  wr(INT_STATUS, kTest0);
  wr(INT_TEST, kTest0);
  EXPECT_EQ(mailbox(0), 0U);
  qt_->writel(base + 12, 0);
  EXPECT_EQ(mailbox(0), 0xab00U) << "the PBA must deliver the held message";

  // A soft reset forgets a message a masked vector holds back.
  clear_mailbox(5);
  qt_->writel(base + 12, 1);
  wr(INT_STATUS, kTest0);
  wr(INT_TEST, kTest0);
  wr(CTRL, 2);
  qt_->writel(base + 12, 0);
  EXPECT_EQ(mailbox(0), 0U) << "a message from before the reset";

  // Toggling the function mask delivers held messages once, and a config
  // write alone sends nothing.
  wr(INT_MASK_CLEAR, kTest0);
  cfg_->write16(msix + 2, 0xc000);  // enable + function mask
  wr(INT_TEST, kTest0);
  EXPECT_EQ(mailbox(0), 0U);
  cfg_->write16(msix + 2, 0x8000);
  EXPECT_EQ(mailbox(0), 0xab00U);
  clear_mailbox(5);
  cfg_->write16(0x04, 0x0006);
  EXPECT_EQ(mailbox(0), 0U) << "a config write re-sent a pending source";
}

TEST_F(Labdma, FunctionLevelResetRestoresResetValues) {
  start("labdma");
  enable();
  wr(SCRATCH, 77);
  wr(CTRL, 1);
  wr(INT_MASK_CLEAR, kTest0);
  wr(INT_TEST, kTest0);
  const unsigned exp = cfg_->find_capability(0x10);
  ASSERT_NE(exp, 0U);
  ASSERT_TRUE(cfg_->read32(exp + 4) & (1U << 28)) << "DEVCAP: FLR capable";
  cfg_->write16(exp + 8, static_cast<std::uint16_t>(cfg_->read16(exp + 8) | 0x8000U));
  EXPECT_EQ(cfg_->read16(0x04) & 0x6U, 0U) << "FLR clears memory space and bus master";
  enable();
  EXPECT_EQ(rd(SCRATCH), 0U);
  EXPECT_EQ(rd(CTRL), 0U);
  EXPECT_EQ(rd(INT_STATUS), 0U);
  EXPECT_EQ(rd(INT_MASK), 0xffffffffU);
}

// AER (datasheet 1): an error injected the way a driver's error handlers
// are tested (QEMU's pcie_aer_inject_error) is recorded in the device's
// extended capability, reached through ECAM.
TEST_F(Labdma, AerCapabilityRecordsAnInjectedError) {
  start("labdma");
  // q35's MCH (0:0.0) PCIEXBAR: ECAM at 0xb0000000, 256 MiB, enabled, as
  // firmware would set it.
  PciConfig mch(*qt_, 0, 0, 0);
  mch.write32(0x64, 0);
  mch.write32(0x60, 0xb0000001);
  const std::uint64_t ecam = 0xb0000000ULL + (std::uint64_t{kSlot} << 15);
  EXPECT_EQ(qt_->readl(ecam) & 0xffffU, 0x1af4U) << "ECAM reaches the device";
  EXPECT_EQ(qt_->readl(ecam + 0x100) & 0xffffU, 0x0001U) << "AER capability at 0x100";
  EXPECT_EQ(qt_->readl(ecam + 0x104), 0U) << "no uncorrectable error yet";
  const auto out =
      qt_->qmp("human-monitor-command", {{"command-line", "pcie_aer_inject_error ld POISON_TLP"}});
  EXPECT_THAT(out.get<std::string>(), HasSubstr("OK id: ld"));
  EXPECT_NE(qt_->readl(ecam + 0x104) & (1U << 12), 0U) << "uncorrectable status: poisoned TLP";
  const auto cor =
      qt_->qmp("human-monitor-command", {{"command-line", "pcie_aer_inject_error -c ld BAD_TLP"}});
  EXPECT_THAT(cor.get<std::string>(), HasSubstr("OK id: ld"));
  EXPECT_NE(qt_->readl(ecam + 0x110) & (1U << 6), 0U) << "correctable status: bad TLP";
}

}  // namespace
}  // namespace labtest
