// labdma device-model tests: fault injection over QMP (datasheet 9), resets
// that cancel work in flight (7) and migration of a busy device.
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "labdma_fixture.hpp"

namespace labtest {
namespace {

using ::testing::HasSubstr;

const std::string kDev = "/machine/peripheral/ld";

class LabdmaFault : public LabdmaRing {
 protected:
  void inject(const std::string& fault, const std::string& value) {
    qt_->qom_set(kDev, fault, value);
  }
  std::uint64_t injected() { return qt_->qom_get(kDev, "faults-injected").get<std::uint64_t>(); }
  // Migrates the machine's state into @file; true once QEMU says completed.
  bool save_to(const std::string& file) {
    qt_->qmp("migrate", {{"uri", "exec:cat > " + file}});
    for (int i = 0; i < 1000; ++i) {
      if (qt_->qmp("query-migrate").value("status", "") == "completed") return true;
      qt_->clock_step(1'000);
    }
    return false;
  }
  // An -incoming QEMU: waits until the state is loaded (or QEMU is gone).
  void wait_incoming() {
    for (int i = 0; i < 1000; ++i) {
      if (qt_->qmp("query-status").value("status", "") != "inmigrate") return;
      qt_->clock_step(1'000);
    }
  }
};

TEST_F(LabdmaFault, FailHaltsTheNthDescriptorWithTheGivenCode) {
  start("labdma");
  enable();
  setup(1);
  EXPECT_EQ(injected(), 0U);
  inject("fault-fail", "1:2:5");
  EXPECT_EQ(qt_->qom_get(kDev, "faults-armed"), "fail=1:2:5");
  cwr(1, CH_CTRL, kRun);
  submit(1, {{kSrc, kDst, 64, kCopy, 0}, {kSrc, kDst, 64, kCopy, 0}, {kSrc, kDst, 64, kCopy, 0}});
  EXPECT_EQ(wait(1), kHalted | kSrcRead << 8);
  EXPECT_EQ(crd(1, ERR_INDEX), 2U) << "the third descriptor (N = 2) fails";
  EXPECT_EQ(desc_status(1, 2), kDone | kSrcRead);
  EXPECT_EQ(injected(), 1U);
  EXPECT_EQ(qt_->qom_get(kDev, "faults-armed"), "") << "one-shot";

  // The code defaults to INJECTED; N = 0 is the next descriptor.
  cwr(1, CH_CTRL, kChReset);
  tail_[1] = 0;
  inject("fault-fail", "1:0");
  EXPECT_EQ(run(1, {{kSrc, kDst, 64, kCopy, 0}}), kHalted | kInjected << 8);
  EXPECT_TRUE(rd(INT_STATUS) & kIntError);
  cwr(1, CH_CTRL, kChReset);
  tail_[1] = 0;
  EXPECT_EQ(run(1, {{kSrc, kDst, 64, kCopy, 0}}), kIdle);
}

TEST_F(LabdmaFault, HangKeepsTheChannelBusyUntilAbortOrReset) {
  start("labdma");
  enable();
  setup(0);
  inject("fault-hang", "0");
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kDst, 64, kCopy, 0}});
  for (int i = 0; i < 50; ++i)
    qt_->clock_step(1'000'000);
  EXPECT_EQ(crd(0, CH_STATUS), kBusy);
  EXPECT_EQ(crd(0, HEAD), 0U);
  cwr(0, CH_CTRL, kAbort);
  EXPECT_EQ(crd(0, CH_STATUS), kHalted | kAborted << 8);
  cwr(0, CH_CTRL, kChReset);
  tail_[0] = 0;
  EXPECT_EQ(run(0, {{kSrc, kDst, 64, kCopy, 0}}), kIdle) << "abort ended the hang";

  inject("fault-hang", "0");
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kDst, 64, kCopy, 0}});
  EXPECT_EQ(crd(0, CH_STATUS), kBusy);
  cwr(0, CH_CTRL, kChReset);
  EXPECT_EQ(qt_->qom_get(kDev, "faults-armed"), "") << "a channel reset ends the hang";
  tail_[0] = 0;
  EXPECT_EQ(run(0, {{kSrc, kDst, 64, kCopy, 0}}), kIdle);
  EXPECT_EQ(injected(), 2U);
}

TEST_F(LabdmaFault, DroppedInterruptLeavesTheWriteBackAsTheOnlyTrace) {
  start("labdma");
  enable();
  enable_msix(5);
  wr(INT_MASK_CLEAR, 1U);
  setup(0);
  inject("fault-drop-irq", "0:2");
  const Desc d{kSrc, kDst, 64, kCopy, kFlagIrq};
  ASSERT_EQ(run(0, {d}, kIrqEn), kIdle);
  ASSERT_EQ(run(0, {d}, kIrqEn), kIdle);
  EXPECT_EQ(rd(INT_STATUS), 0U);
  EXPECT_EQ(mailbox(1), 0U);
  EXPECT_EQ(qt_->readl(wb(0)), 2U) << "the completions are written back";
  EXPECT_EQ(desc_status(0, 1), kDone);
  ASSERT_EQ(run(0, {d}, kIrqEn), kIdle);
  EXPECT_EQ(rd(INT_STATUS), 1U) << "the third interrupt arrives";
  EXPECT_EQ(mailbox(1), 0xab01U);
  EXPECT_EQ(injected(), 2U);
}

TEST_F(LabdmaFault, CorruptionFlipsTheFirstByteOfTheNextResult) {
  start("labdma");
  enable();
  setup(0);
  fill_pattern(kSrc, 256, 11);
  const auto src = qt_->memread(kSrc, 256);
  inject("fault-corrupt", "0");
  ASSERT_EQ(run(0, {{kSrc, kDst, 0, kNop, 0}, {kSrc, kDst, 256, kCopy, 0}}), kIdle)
      << "a NOP carries no data and leaves the fault armed";
  auto dst = qt_->memread(kDst, 256);
  EXPECT_EQ(dst[0], static_cast<std::uint8_t>(~src[0]));
  EXPECT_TRUE(std::equal(src.begin() + 1, src.end(), dst.begin() + 1));
  EXPECT_EQ(desc_status(0, 1), kDone) << "corruption is silent";

  inject("fault-corrupt", "0");
  ASSERT_EQ(run(0, {{kSrc, 0, 256, kCrc32c, 0}}), kIdle);
  EXPECT_EQ(desc_result(0, 2), ~crc32c_ref(src));
  ASSERT_EQ(run(0, {{kSrc, 0, 256, kCrc32c, 0}}), kIdle);
  EXPECT_EQ(desc_result(0, 3), crc32c_ref(src)) << "one-shot";
}

TEST_F(LabdmaFault, DelayPostponesTheNextDescriptor) {
  start("labdma");
  enable();
  setup(0);
  inject("fault-delay", "0:3000000");
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kDst, 64, kCopy, 0}, {kSrc, kDst, 64, kCopy, 0}});
  qt_->clock_step(2'900'000);
  EXPECT_EQ(crd(0, HEAD), 0U);
  EXPECT_EQ(crd(0, CH_STATUS), kBusy);
  qt_->clock_step(100'000);
  (void)crd(0, HEAD);
  EXPECT_EQ(crd(0, HEAD), 2U) << "only the first is delayed";
  EXPECT_EQ(injected(), 1U);
}

TEST_F(LabdmaFault, DelayAddsToWhatTheLinkAllows) {
  // 1000 MB/s link: 4096 bytes take 4.096 us; a 10 us delay comes on top.
  start("labdma,link-bw-mbps=1000");
  enable();
  setup(0);
  inject("fault-delay", "0:10000");
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kDst, 4096, kCopy, 0}});
  qt_->clock_step(14'000);
  EXPECT_EQ(crd(0, HEAD), 0U);
  qt_->clock_step(200);
  (void)crd(0, HEAD);
  EXPECT_EQ(crd(0, HEAD), 1U);
  EXPECT_EQ(injected(), 1U);

  // A delayed descriptor paused away keeps its delay armed (and uncounted).
  inject("fault-delay", "0:10000");
  submit(0, {{kSrc, kDst, 4096, kCopy, 0}});
  (void)crd(0, HEAD);
  cwr(0, CH_CTRL, 0);
  EXPECT_EQ(qt_->qom_get(kDev, "faults-armed"), "delay=0:10000");
  EXPECT_EQ(injected(), 1U);
}

TEST_F(LabdmaFault, SpuriousInterruptOnEveryDeliveryMode) {
  start("labdma");
  enable();
  qt_->irq_intercept_in("ioapic");
  (void)qt_->take_raised();
  // INTx: asserted with nothing in INT_STATUS, until INT_STATUS is read.
  inject("fault-spurious-irq", "");
  const auto raised = qt_->take_raised();
  ASSERT_EQ(raised.size(), 1U);
  EXPECT_TRUE(qt_->irq(raised.front()));
  EXPECT_EQ(rd(INT_STATUS), 0U);
  EXPECT_FALSE(qt_->irq(raised.front())) << "the read ends it";

  enable_msi();
  inject("fault-spurious-irq", "");
  EXPECT_EQ(mailbox(0), 0x4242U);
  EXPECT_EQ(rd(INT_STATUS), 0U);

  enable_msix(5);
  inject("fault-spurious-irq", "3");
  EXPECT_EQ(mailbox(3), 0xab03U);
  EXPECT_EQ(mailbox(0), 0U);
  EXPECT_EQ(rd(INT_STATUS), 0U);
  EXPECT_THROW(inject("fault-spurious-irq", "5"), QmpError) << "5 vectors: 0..4";
  EXPECT_EQ(injected(), 3U);
}

TEST_F(LabdmaFault, BadFaultValuesAreRefusedWithAReason) {
  start("labdma");
  enable();
  const std::vector<std::vector<std::string>> cases{
      {"fault-fail", "4:0", "no channel 4"},       {"fault-fail", "0:0:11", "error code 1..10"},
      {"fault-fail", "0:0:0", "error code 1..10"}, {"fault-fail", "", "cannot parse"},
      {"fault-fail", "0:x", "cannot parse"},       {"fault-hang", "0:1", "cannot parse"},
      {"fault-delay", "0", "cannot parse"},        {"fault-delay", "0:61000000000", "at most 60 s"},
      {"fault-drop-irq", "0:1:2", "cannot parse"}, {"fault-corrupt", "-1", "no channel"},
  };
  for (const auto& c : cases) {
    try {
      inject(c[0], c[1]);
      ADD_FAILURE() << c[0] << " accepted '" << c[1] << "'";
    } catch (const QmpError& e) {
      EXPECT_THAT(e.what(), HasSubstr(c[2])) << c[0] << "=" << c[1];
    }
  }
  EXPECT_EQ(qt_->qom_get(kDev, "faults-armed"), "") << "nothing was armed";
  EXPECT_EQ(injected(), 0U);
}

TEST_F(LabdmaFault, EveryResetCancelsWorkInFlightAndArmedFaults) {
  start("labdma");
  enable();
  setup(0);
  fill_pattern(kSrc, 64, 2);

  // Soft reset while a delayed descriptor waits: it never happens.
  inject("fault-delay", "0:1000000");
  inject("fault-hang", "1");
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kDst, 64, kCopy, 0}});
  EXPECT_EQ(crd(0, CH_STATUS), kBusy);
  wr(CTRL, 2);
  qt_->clock_step(5'000'000);
  EXPECT_EQ(qt_->readl(kDst), 0U) << "DMA after a soft reset";
  EXPECT_EQ(crd(0, CH_STATUS), kIdle);
  EXPECT_EQ(crd(0, RING_SIZE), 0U) << "soft reset clears the ring";
  EXPECT_EQ(qt_->qom_get(kDev, "faults-armed"), "");

  // FLR while a delayed descriptor waits.
  setup(0);
  inject("fault-delay", "0:1000000");
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kDst, 64, kCopy, 0}});
  const unsigned exp = cfg_->find_capability(0x10);
  ASSERT_NE(exp, 0U);
  cfg_->write16(exp + 8, static_cast<std::uint16_t>(cfg_->read16(exp + 8) | 0x8000U));
  qt_->clock_step(5'000'000);
  EXPECT_EQ(qt_->readl(kDst), 0U) << "DMA after FLR";
  enable();
  EXPECT_EQ(crd(0, CH_STATUS), kIdle);
  EXPECT_EQ(crd(0, RING_SIZE), 0U);

  // System reset.
  setup(0);
  inject("fault-delay", "0:1000000");
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kDst, 64, kCopy, 0}});
  qt_->qmp("system_reset");
  qt_->clock_step(5'000'000);
  EXPECT_EQ(qt_->readl(kDst), 0U) << "DMA after a system reset";
  enable();
  EXPECT_EQ(crd(0, CH_STATUS), kIdle);
}

// A busy device migrates: registers, the fetched descriptor and its timer
// arrive, and the work finishes on the destination.
TEST_F(LabdmaFault, BusyDeviceMigratesAndFinishesItsWork) {
  start("labdma,desc-latency-ns=2000000");
  enable();
  enable_msix(5);
  wr(INT_MASK_CLEAR, 1U);
  setup(0);
  fill_pattern(kSrc, 4096, 8);
  wr(SCRATCH, 0x5a5a);
  inject("fault-corrupt", "0");
  cwr(0, CH_CTRL, kRun | kIrqEn);
  submit(0, {{kSrc, kDst, 4096, kCopy, kFlagIrq}, {kSrc, kDst + 4096, 4096, kCopy, kFlagIrq}});
  EXPECT_EQ(crd(0, CH_STATUS), kBusy);

  const std::string file = testing::TempDir() + "labdma-migration.bin";
  ASSERT_TRUE(save_to(file));
  qt_.reset();

  const std::string qemu = qemu_path();
  qt_ = std::make_unique<Qtest>(
      qemu, std::vector<std::string>{
                "-machine", "q35", "-device",
                "labdma,id=ld,addr=" + std::to_string(kSlot) + ",desc-latency-ns=2000000",
                "-incoming", "exec:cat " + file});
  cfg_.emplace(*qt_, 0, kSlot, 0);
  wait_incoming();
  std::filesystem::remove(file);
  EXPECT_EQ(rd(SCRATCH), 0x5a5aU);
  EXPECT_EQ(crd(0, RING_SIZE), 16U);
  EXPECT_EQ(crd(0, TAIL), 2U);
  EXPECT_EQ(qt_->qom_get(kDev, "faults-armed"), "corrupt=0") << "armed faults migrate";
  tail_[0] = 2;
  ring_size_[0] = 16;
  EXPECT_EQ(wait(0), kIdle);
  EXPECT_EQ(crd(0, HEAD), 2U);
  auto src = qt_->memread(kSrc, 4096);
  auto dst = qt_->memread(kDst + 4096, 4096);
  EXPECT_EQ(dst, src);
  EXPECT_EQ(rd(INT_STATUS), 1U);
  EXPECT_EQ(mailbox(1), 0xab01U) << "MSI-X state migrated";
}

// The migration stream is input too: a destination with another channel
// count refuses it instead of indexing past its channels.
TEST_F(LabdmaFault, MigrationToADifferentChannelCountIsRefused) {
  start("labdma");
  enable();
  const std::string file = testing::TempDir() + "labdma-migration-ch.bin";
  ASSERT_TRUE(save_to(file));
  qt_.reset();
  bool refused = false;
  try {
    qt_ = std::make_unique<Qtest>(
        qemu_path(),
        std::vector<std::string>{"-machine", "q35", "-device",
                                 "labdma,id=ld,channels=2,addr=" + std::to_string(kSlot),
                                 "-incoming", "exec:cat " + file});
    wait_incoming();
  } catch (const std::runtime_error& e) {
    refused = true;
    EXPECT_THAT(e.what(), HasSubstr("load of migration failed")) << e.what();
  }
  std::filesystem::remove(file);
  EXPECT_TRUE(refused) << "the destination accepted 4 channels' state into 2";
}

// Whatever a guest writes -- registers, rings, descriptors, including rings
// and buffers aimed at the device's own registers and MSI-X table -- QEMU
// neither aborts nor stops answering, and a soft reset brings the device
// back. Seeded: a failure names the seed.
TEST_F(LabdmaFault, RandomRegisterAndDescriptorStormNeverStopsQemu) {
  start("labdma,desc-latency-ns=100");
  enable();
  enable_msix(5);
  const std::uint32_t seed = 20261127;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::uint64_t x = seed;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  const std::vector<std::uint64_t> targets{kRings,     kSrc,       kDst,      kMsiMailbox,
                                           kBar0,      kBar2,      0x3fff000, 0xfffff000,
                                           0x30000000, 0xfee00000, 1ULL << 40};
  for (unsigned c = 0; c < 4; ++c) {
    setup(c, 8);
    cwr(c, CH_CTRL, kRun);
  }
  unsigned halts = 0;
  unsigned progress = 0;  // descriptors seen completing
  std::array<std::uint32_t, 4> last_descs{};
  for (int i = 0; i < 3000; ++i) {
    const std::uint64_t r = next();
    switch (r % 8) {
      case 0:
      case 1: {  // a random descriptor behind a channel's tail
        const auto c = static_cast<unsigned>((r >> 8) % 4);
        // mostly RAM, sometimes anything on the list
        auto pick = [&targets](std::uint64_t v) {
          return targets[v % 4 != 0 ? 1 + (v >> 2) % 2 : (v >> 2) % targets.size()];
        };
        const Desc d{
            pick(r >> 12) + ((r >> 20) & 0xff0), pick(r >> 28) + ((r >> 36) & 0xff0),
            static_cast<std::uint32_t>((r >> 44) % 3 == 0 ? (r >> 24) : (r >> 24) & 0x3fff),
            static_cast<std::uint16_t>((r >> 40) % 8), static_cast<std::uint16_t>((r >> 52) & 3)};
        submit(c, {d});
        break;
      }
      case 2: {  // a channel register
        const auto c = static_cast<unsigned>((r >> 8) % 5);
        const std::uint32_t reg = static_cast<std::uint32_t>((r >> 16) % 0x48) & ~3U;
        auto v = static_cast<std::uint32_t>(r >> 32);
        if (reg == RING_LO || reg == WB_LO)
          v = static_cast<std::uint32_t>(targets[v % targets.size()]);
        cwr(c, reg, v);
        break;
      }
      case 3:  // a global register
        wr(static_cast<std::uint32_t>((r >> 8) % 0x40) & ~3U, static_cast<std::uint32_t>(r >> 32));
        break;
      case 4:
        qt_->clock_step(static_cast<std::int64_t>((r >> 8) % 20000));
        break;
      case 5: {  // restart a halted channel the way a driver would
        const auto c = static_cast<unsigned>((r >> 8) % 4);
        if ((crd(c, CH_STATUS) & 3U) == kHalted || crd(c, RING_SIZE) != 8) {
          cwr(c, CH_CTRL, kChReset);
          setup(c, 8);  // after a soft reset the ring is gone too
        }
        cwr(c, CH_CTRL, kRun | kIrqEn | static_cast<std::uint32_t>(r & 0xffff0000U));
        break;
      }
      case 6:
        (void)rd(INT_STATUS);
        wr(INT_STATUS, static_cast<std::uint32_t>(r >> 8));
        wr(CTRL, 1);
        break;
      default: {
        const auto c = static_cast<unsigned>((r >> 16) % 4);
        const std::uint32_t st = crd(c, CH_STATUS);
        halts += (st & 3U) == kHalted ? 1 : 0;

        const std::uint32_t descs = crd(c, DESCS_LO);
        progress += descs > last_descs.at(c) ? descs - last_descs.at(c) : 0;
        last_descs.at(c) = descs;
        if ((r >> 8) % 50 == 0) wr(CTRL, 2);  // soft reset now and then
        break;
      }
    }
  }
  // The storm did reach the engine: channels both completed and failed.
  EXPECT_GT(halts, 10U);
  EXPECT_GT(progress, 10U);
  // Still answering, and a soft reset gives a working device.
  EXPECT_EQ(rd(ID), 0x4c444d41U);
  wr(CTRL, 2);
  enable();
  setup(0);
  fill_pattern(kSrc, 256, 1);
  EXPECT_EQ(run(0, {{kSrc, kDst, 256, kCopy, 0}}), kIdle);
  EXPECT_EQ(qt_->memread(kDst, 256), qt_->memread(kSrc, 256));
}

}  // namespace
}  // namespace labtest
