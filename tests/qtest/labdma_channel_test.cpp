// labdma device-model tests, the channels (datasheet 4, 5.3, 6, 8, 10):
// descriptor rings, every operation, every error code, channel interrupts,
// coalescing and the timing model.
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "labdma_fixture.hpp"

namespace labtest {
namespace {

std::uint32_t le32(const std::vector<std::uint8_t>& v, std::size_t off) {
  return std::uint32_t{v.at(off)} | std::uint32_t{v.at(off + 1)} << 8 |
         std::uint32_t{v.at(off + 2)} << 16 | std::uint32_t{v.at(off + 3)} << 24;
}

TEST_F(LabdmaRing, ChannelRegistersStartAtTheirResetValues) {
  start("labdma");
  enable();
  for (unsigned c = 0; c < 4; ++c) {
    for (const std::uint32_t reg :
         {RING_LO, RING_HI, RING_SIZE, TAIL, HEAD, CH_CTRL, CH_STATUS, ERR_INDEX, ERR_ADDR_LO,
          ERR_ADDR_HI, WB_LO, WB_HI, BYTES_LO, BYTES_HI, DESCS_LO, DESCS_HI})
      EXPECT_EQ(crd(c, reg), 0U) << "channel " << c << " register " << reg;
    EXPECT_EQ(crd(c, VECTOR), 1U + c) << "channel " << c;
  }
  // A channel the device does not have reads 0 and ignores writes.
  cwr(4, RING_SIZE, 16);
  EXPECT_EQ(crd(4, RING_SIZE), 0U);
  EXPECT_EQ(crd(4, VECTOR), 0U);
  // Ring base keeps 64-byte alignment, write-back 8-byte.
  cwr(0, RING_LO, 0x12345678);
  cwr(0, RING_HI, 0x9);
  cwr(0, WB_LO, 0x1007);
  EXPECT_EQ(crd(0, RING_LO), 0x12345640U);
  EXPECT_EQ(crd(0, RING_HI), 0x9U);
  EXPECT_EQ(crd(0, WB_LO), 0x1000U);
  // Read-only registers ignore writes.
  cwr(0, HEAD, 3);
  cwr(0, CH_STATUS, 2);
  EXPECT_EQ(crd(0, HEAD), 0U);
  EXPECT_EQ(crd(0, CH_STATUS), 0U);
}

TEST_F(LabdmaRing, CopyCompletesWritesBackAndCounts) {
  start("labdma");
  enable();
  setup(0);
  fill_pattern(kSrc, 4096, 1);
  const std::uint32_t st =
      run(0, {{kSrc, kDst, 4096, kCopy, 0}, {kSrc + 8, kDst + 8192, 100, kCopy, 0}});
  EXPECT_EQ(st, kIdle);
  EXPECT_EQ(qt_->memread(kDst, 4096), qt_->memread(kSrc, 4096));
  EXPECT_EQ(qt_->memread(kDst + 8192, 100), qt_->memread(kSrc + 8, 100));
  EXPECT_EQ(qt_->readb(kDst + 8192 + 100), 0U) << "a byte past len was written";
  EXPECT_EQ(desc_status(0, 0), kDone);
  EXPECT_EQ(desc_status(0, 1), kDone);
  EXPECT_EQ(crd(0, HEAD), 2U);
  EXPECT_EQ(qt_->readl(wb(0)), 2U) << "HEAD written back";
  EXPECT_EQ(crd(0, BYTES_LO), 4196U);
  EXPECT_EQ(crd(0, BYTES_HI), 0U);
  EXPECT_EQ(crd(0, DESCS_LO), 2U);
  EXPECT_EQ(rd(INT_STATUS), 0U) << "no descriptor asked for an interrupt";
}

TEST_F(LabdmaRing, RingWrapsAroundAndLongRingsFinishInBoundedRuns) {
  start("labdma");
  enable();
  setup(1, 4);
  for (std::uint32_t i = 0; i < 10; ++i) {
    ASSERT_EQ(run(1, {{kSrc, kDst + 16ULL * i, 16, kCopy, 0}}), kIdle) << i;
    EXPECT_EQ(crd(1, HEAD), (i + 1) % 4);
  }
  // A full ring of the largest size: the device yields between runs and
  // still completes every descriptor.
  setup(2, 4096);
  std::vector<Desc> nops(4095, Desc{0, 0, 0, kNop, 0});
  nops.back() = Desc{kSrc, kDst, 64, kCopy, 0};
  EXPECT_EQ(run(2, nops), kIdle);
  EXPECT_EQ(crd(2, HEAD), 4095U);
  EXPECT_EQ(crd(2, DESCS_LO), 4095U);
  EXPECT_EQ(qt_->readl(wb(2)), 4095U);
}

TEST_F(LabdmaRing, EveryOperationComputesTheDatasheetResult) {
  start("labdma");
  enable();
  setup(0);
  // FILL: the pattern repeated little-endian, truncated at len.
  ASSERT_EQ(run(0, {{0x11223344, kDst, 10, kFill, 0}}), kIdle);
  const std::vector<std::uint8_t> want_fill{0x44, 0x33, 0x22, 0x11, 0x44, 0x33,
                                            0x22, 0x11, 0x44, 0x33, 0x00};
  EXPECT_EQ(qt_->memread(kDst, 11), want_fill);

  // MUL2 / MUL4 element-wise on u32 LE, modulo 2^32.
  const std::vector<std::uint32_t> in{0, 1, 3, 0x40000000, 0x80000001, 0xffffffff, 12345};
  std::vector<std::uint8_t> raw;
  for (const std::uint32_t x : in)
    for (int i = 0; i < 4; ++i)
      raw.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
  qt_->memwrite(kSrc, raw);
  const auto n = static_cast<std::uint32_t>(raw.size());
  ASSERT_EQ(run(0, {{kSrc, kDst, n, kMul2, 0}, {kSrc, kDst + 4096, n, kMul4, 0}}), kIdle);
  const auto x2 = qt_->memread(kDst, n);
  const auto x4 = qt_->memread(kDst + 4096, n);
  for (std::size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(le32(x2, 4 * i), in[i] * 2U) << i;
    EXPECT_EQ(le32(x4, 4 * i), in[i] * 4U) << i;
  }

  // CRC32C: the standard check value, and a large buffer across chunks.
  const std::vector<std::uint8_t> check{'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  qt_->memwrite(kSrc, check);
  fill_pattern(kSrc + 4096, 200000, 7);
  const std::uint32_t head = crd(0, HEAD);
  ASSERT_EQ(run(0, {{kSrc, 0, 9, kCrc32c, 0}, {kSrc + 4096, 0, 200000, kCrc32c, 0}}), kIdle);
  EXPECT_EQ(desc_result(0, head), 0xe3069283U);
  EXPECT_EQ(desc_result(0, head + 1), crc32c_ref(qt_->memread(kSrc + 4096, 200000)));
  EXPECT_EQ(desc_status(0, head + 1), kDone);

  // NOP moves nothing and still completes (and may interrupt).
  wr(INT_MASK_CLEAR, 1U);
  ASSERT_EQ(run(0, {{kSrc, kDst, 0, kNop, kFlagIrq | kFlagFence}}, kIrqEn), kIdle);
  EXPECT_EQ(rd(INT_STATUS), 1U);
}

TEST_F(LabdmaRing, LargestDescriptorIsCopiedWhole) {
  start("labdma");
  enable();
  setup(0);
  fill_pattern(kSrc, 1U << 20, 3);
  ASSERT_EQ(run(0, {{kSrc, kDst, 1U << 20, kCopy, 0}, {kSrc, 0, 1U << 20, kCrc32c, 0}}), kIdle);
  EXPECT_EQ(qt_->memread(kDst, 1U << 20), qt_->memread(kSrc, 1U << 20));
  EXPECT_EQ(desc_result(0, 1), crc32c_ref(qt_->memread(kSrc, 1U << 20)));
}

TEST_F(LabdmaRing, OverlappingCopiesBehaveLikeMemmove) {
  start("labdma");
  enable();
  setup(0);
  constexpr std::uint32_t kLen = 600000;  // several internal pieces
  fill_pattern(kSrc, kLen + 8192, 9);
  const auto orig = qt_->memread(kSrc, kLen + 8192);
  // Destination above the source, overlapping.
  ASSERT_EQ(run(0, {{kSrc, kSrc + 4096, kLen, kCopy, 0}}), kIdle);
  EXPECT_TRUE(
      std::equal(orig.begin(), orig.begin() + kLen, qt_->memread(kSrc + 4096, kLen).begin()));
  // Destination below the source, overlapping.
  qt_->memwrite(kSrc, orig);
  ASSERT_EQ(run(0, {{kSrc + 4096, kSrc, kLen, kCopy, 0}}), kIdle);
  EXPECT_TRUE(std::equal(orig.begin() + 4096, orig.begin() + 4096 + kLen,
                         qt_->memread(kSrc, kLen).begin()));
  // MUL2 in place and shifted by one element upwards.
  qt_->memwrite(kSrc, orig);
  ASSERT_EQ(run(0, {{kSrc, kSrc + 4, kLen, kMul2, 0}}), kIdle);
  const auto got = qt_->memread(kSrc + 4, kLen);
  for (std::size_t i = 0; i < kLen; i += 4)
    ASSERT_EQ(le32(got, i), le32(orig, i) * 2U) << "element " << i / 4;
}

// One descriptor that halts the channel with @err: checks the channel, the
// descriptor, the interrupt and that a channel reset makes it usable again.
class LabdmaError : public LabdmaRing {
 protected:
  void expect_halt(unsigned c, Err err, std::uint64_t addr) {
    const std::uint32_t head = crd(c, HEAD);
    EXPECT_EQ(wait(c), kHalted | err << 8) << "error " << err;
    EXPECT_EQ(crd(c, ERR_INDEX), head);
    EXPECT_EQ(err_addr(c), addr) << "error " << err;
    EXPECT_EQ(crd(c, HEAD), head) << "HEAD must not pass a failed descriptor";
    EXPECT_TRUE(rd(STATUS) & 2U) << "global STATUS.ERROR";
    if (err != kAborted) {
      EXPECT_TRUE(rd(INT_STATUS) & kIntError) << "error " << err;
      EXPECT_EQ(desc_status(c, head), kDone | err) << "the descriptor carries the code";
    } else {
      EXPECT_EQ(desc_status(c, head), 0U) << "an aborted descriptor is not written";
    }
    recover(c);
  }
  void recover(unsigned c) {
    wr(INT_STATUS, 0xffffffff);
    cwr(c, CH_CTRL, kChReset);
    EXPECT_EQ(crd(c, CH_STATUS), kIdle);
    EXPECT_EQ(crd(c, HEAD), 0U);
    EXPECT_EQ(crd(c, TAIL), 0U);
    EXPECT_EQ(crd(c, RING_SIZE), ring_size_[c]) << "channel reset keeps the ring";
    EXPECT_EQ(rd(STATUS) & 2U, 0U);
    tail_[c] = 0;
    ASSERT_EQ(run(c, {{kSrc, kDst, 64, kCopy, 0}}), kIdle) << "channel unusable after reset";
  }
  static std::uint64_t desc_addr(unsigned c, std::uint32_t i) { return ring(c) + 32ULL * i; }
};

TEST_F(LabdmaError, BadLengthOpAndAlignment) {
  start("labdma");
  enable();
  setup(0);
  wr(INT_MASK_CLEAR, kIntError);
  const std::vector<std::pair<Desc, Err>> cases{
      {{kSrc, kDst, 0, kCopy, 0}, kBadLen},       {{kSrc, kDst, (1U << 20) + 1, kCopy, 0}, kBadLen},
      {{kSrc, kDst, 6, kMul2, 0}, kBadLen},       {{kSrc, kDst, 8, 6, 0}, kBadOp},
      {{kSrc, kDst, 8, 0xffff, 0}, kBadOp},       {{kSrc, kDst, 8, kCopy, 1U << 2}, kBadOp},
      {{kSrc + 2, kDst, 8, kMul4, 0}, kBadAlign}, {{kSrc, kDst + 1, 8, kMul2, 0}, kBadAlign},
  };
  for (const auto& [d, err] : cases) {
    SCOPED_TRACE(::testing::Message() << "op " << d.op << " len " << d.len);
    cwr(0, CH_CTRL, kChReset);
    tail_[0] = 0;
    cwr(0, CH_CTRL, kRun);
    submit(0, {d});
    expect_halt(0, err, desc_addr(0, 0));
  }
}

TEST_F(LabdmaError, UnreachableAddressesBeyondTheDmaMask) {
  // A 25-bit device (32 MiB) in a 64 MiB machine.
  start("labdma,dma-mask=0x1ffffff");
  enable();
  setup(0);
  constexpr std::uint64_t kHigh = 0x2000000;
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kHigh, kDst, 64, kCopy, 0}});
  expect_halt(0, kSrcRead, kHigh);
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kHigh - 32, 64, kCopy, 0}});  // crosses the mask
  expect_halt(0, kDstWrite, kHigh - 32);
  EXPECT_EQ(qt_->readl(kHigh - 32), 0U) << "no part of a refused range is written";

  // A ring beyond the mask: the descriptor cannot be fetched.
  cwr(0, CH_CTRL, kChReset);
  cwr(0, RING_LO, static_cast<std::uint32_t>(kHigh));
  cwr(0, CH_CTRL, kRun);
  cwr(0, TAIL, 1);
  EXPECT_EQ(wait(0), kHalted | kDescRead << 8);
  EXPECT_EQ(err_addr(0), kHigh);
  cwr(0, CH_CTRL, kChReset);
  cwr(0, RING_LO, static_cast<std::uint32_t>(ring(0)));
  tail_[0] = 0;

  // A write-back address beyond the mask: the data and the descriptor's
  // status are written, HEAD stays on the descriptor.
  fill_pattern(kSrc, 64, 4);
  cwr(0, WB_LO, static_cast<std::uint32_t>(kHigh));
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kDst, 64, kCopy, 0}});
  EXPECT_EQ(wait(0), kHalted | kWbWrite << 8);
  EXPECT_EQ(err_addr(0), kHigh);
  EXPECT_EQ(crd(0, ERR_INDEX), 0U);
  EXPECT_EQ(crd(0, HEAD), 0U);
  EXPECT_EQ(qt_->memread(kDst, 64), qt_->memread(kSrc, 64)) << "the data moved before";
  cwr(0, CH_CTRL, kChReset);

  // The mask must be 2^n - 1, n >= 24.
  qt_.reset();
  for (const char* bad : {"labdma,dma-mask=0xfffff", "labdma,dma-mask=0x1000000"}) {
    try {
      start(bad);
      ADD_FAILURE() << "QEMU accepted " << bad;
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr("dma-mask must be 2^n - 1")) << bad;
    }
  }
}

TEST_F(LabdmaError, MemoryThatIsNotRamOrIsTheDeviceItself) {
  start("labdma");
  enable();
  setup(0);
  // The device's own registers: the re-entrancy guard refuses the access.
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kBar0 + SCRATCH, 4, kCopy, 0}});
  expect_halt(0, kDstWrite, kBar0 + SCRATCH);
  EXPECT_EQ(rd(SCRATCH), 0U);
  // Nothing there: unassigned space above RAM.
  cwr(0, CH_CTRL, kRun);
  submit(0, {{0x30000000, kDst, 64, kCopy, 0}});
  expect_halt(0, kSrcRead, 0x30000000);
  // A destination running off the end of RAM (64 MiB): the part in RAM is
  // written, the descriptor fails where the piece does.
  fill_pattern(kSrc, 8192, 6);
  constexpr std::uint64_t kRamEnd = 64ULL << 20;
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kRamEnd - 4096, 8192, kCopy, 0}});
  expect_halt(0, kDstWrite, kRamEnd - 4096);
  EXPECT_EQ(qt_->memread(kRamEnd - 4096, 4096), qt_->memread(kSrc, 4096));
  // Bus mastering off: not even the descriptor can be read.
  cfg_->write16(0x04, 0x0002);
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kDst, 64, kCopy, 0}});
  EXPECT_EQ(wait(0), kHalted | kDescRead << 8);
  cfg_->write16(0x04, 0x0006);
  cwr(0, CH_CTRL, kChReset);
  tail_[0] = 0;
  EXPECT_EQ(run(0, {{kSrc, kDst, 64, kCopy, 0}}), kIdle);
}

TEST_F(LabdmaError, RingMisconfiguration) {
  start("labdma");
  enable();
  setup(0, 3);  // not a power of two
  cwr(0, CH_CTRL, kRun);
  EXPECT_EQ(crd(0, CH_STATUS), kHalted | kRingConfig << 8);
  EXPECT_TRUE(rd(INT_STATUS) & kIntError);
  cwr(0, CH_CTRL, kChReset);
  for (const std::uint32_t size : {0U, 1U, 8192U}) {
    cwr(0, RING_SIZE, size);
    cwr(0, CH_CTRL, kRun);
    EXPECT_EQ(crd(0, CH_STATUS), kHalted | kRingConfig << 8) << size;
    cwr(0, CH_CTRL, kChReset);
  }
  // TAIL outside the ring.
  cwr(0, RING_SIZE, 16);
  cwr(0, CH_CTRL, kRun);
  cwr(0, TAIL, 16);
  EXPECT_EQ(crd(0, CH_STATUS), kHalted | kRingConfig << 8);
  cwr(0, CH_CTRL, kChReset);
  // A ring register written while the channel runs is ignored, and the
  // channel halts at the next RUN.
  cwr(0, CH_CTRL, kRun);
  cwr(0, RING_LO, 0x5000);
  EXPECT_EQ(crd(0, RING_LO), static_cast<std::uint32_t>(ring(0)));
  cwr(0, CH_CTRL, kRun);
  EXPECT_EQ(crd(0, CH_STATUS), kHalted | kRingConfig << 8);
  cwr(0, CH_CTRL, kChReset);
  ring_size_[0] = 16;
  tail_[0] = 0;
  EXPECT_EQ(run(0, {{kSrc, kDst, 64, kCopy, 0}}), kIdle);
}

TEST_F(LabdmaError, AbortStopsAChannelBeforeItsWriteReturns) {
  start("labdma,desc-latency-ns=1000000");
  enable();
  setup(0);
  fill_pattern(kSrc, 64, 5);
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kDst, 64, kCopy, 0}, {kSrc, kDst + 64, 64, kCopy, 0}});
  EXPECT_EQ(crd(0, CH_STATUS), kBusy);
  cwr(0, CH_CTRL, kAbort);
  EXPECT_EQ(crd(0, CH_STATUS), kHalted | kAborted << 8);
  EXPECT_EQ(rd(INT_STATUS) & kIntError, 0U) << "an abort is not an error interrupt";
  qt_->clock_step(10'000'000);
  EXPECT_EQ(qt_->readl(kDst), 0U) << "the device touched memory after ABORT";
  EXPECT_EQ(crd(0, HEAD), 0U);
  expect_halt(0, kAborted, desc_addr(0, 0));
}

TEST_F(LabdmaRing, PausingKeepsTheWorkAndResumingFinishesIt) {
  start("labdma,desc-latency-ns=1000000");
  enable();
  setup(0);
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kDst, 64, kCopy, 0}});
  cwr(0, CH_CTRL, 0);  // RUN clear: idle, nothing moves
  EXPECT_EQ(crd(0, CH_STATUS), kIdle);
  qt_->clock_step(5'000'000);
  EXPECT_EQ(crd(0, HEAD), 0U);
  wr(CTRL, 0);  // global ENABLE clear: RUN set, but the channel waits
  cwr(0, CH_CTRL, kRun);
  EXPECT_EQ(crd(0, CH_STATUS), kBusy);
  qt_->clock_step(5'000'000);
  EXPECT_EQ(crd(0, HEAD), 0U);
  wr(CTRL, 1);
  qt_->clock_step(1'000'000);
  EXPECT_EQ(wait(0), kIdle);
  EXPECT_EQ(crd(0, HEAD), 1U);
}

TEST_F(LabdmaRing, CompletionInterruptsGoToTheChannelsVector) {
  start("labdma");
  enable();
  enable_msix(5);
  wr(INT_MASK_CLEAR, 0xffffffff);
  for (unsigned c = 0; c < 4; ++c)
    setup(c);
  // Without IRQ_EN or without the IRQ flag: no interrupt.
  ASSERT_EQ(run(0, {{kSrc, kDst, 64, kCopy, kFlagIrq}}), kIdle);
  ASSERT_EQ(run(1, {{kSrc, kDst, 64, kCopy, 0}}, kIrqEn), kIdle);
  EXPECT_EQ(rd(INT_STATUS), 0U);
  for (unsigned v = 0; v < 5; ++v)
    EXPECT_EQ(mailbox(v), 0U);
  // Each channel on its own vector.
  for (unsigned c = 0; c < 4; ++c) {
    ASSERT_EQ(run(c, {{kSrc, kDst, 64, kCopy, kFlagIrq}}, kIrqEn), kIdle);
    EXPECT_EQ(rd(INT_STATUS), 1U << c);
    EXPECT_EQ(mailbox(1 + c), 0xab01U + c) << "channel " << c;
    wr(INT_STATUS, 1U << c);
  }
  EXPECT_EQ(mailbox(0), 0U);
  // VECTOR moves a channel; a vector the device does not have is refused.
  clear_mailbox(5);
  cwr(2, VECTOR, 4);
  cwr(2, VECTOR, 5);
  EXPECT_EQ(crd(2, VECTOR), 4U);
  ASSERT_EQ(run(2, {{kSrc, kDst, 64, kCopy, kFlagIrq}}, kIrqEn), kIdle);
  EXPECT_EQ(mailbox(4), 0xab04U);
  EXPECT_EQ(mailbox(3), 0U);
  wr(INT_STATUS, 0xffffffff);
  // Errors go to vector 0.
  clear_mailbox(5);
  cwr(3, CH_CTRL, kRun | kIrqEn);
  submit(3, {{kSrc, kDst, 0, kCopy, 0}});
  EXPECT_EQ(wait(3), kHalted | kBadLen << 8);
  EXPECT_EQ(rd(INT_STATUS), kIntError | 1U << 3) << "a halt sets the channel and ERROR";
  EXPECT_EQ(mailbox(0), 0xab00U);
  EXPECT_EQ(mailbox(4), 0xab04U);
}

TEST_F(LabdmaRing, LiteChannelInterruptsOverMsiAndIntx) {
  start("labdma-lite");
  enable();
  setup(0);
  wr(INT_MASK_CLEAR, 1U);
  qt_->irq_intercept_in("ioapic");
  (void)qt_->take_raised();
  ASSERT_EQ(run(0, {{kSrc, kDst, 64, kCopy, kFlagIrq}}, kIrqEn), kIdle);
  const auto raised = qt_->take_raised();
  ASSERT_EQ(raised.size(), 1U) << "INTx on completion";
  EXPECT_TRUE(qt_->irq(raised.front()));
  wr(INT_STATUS, 1U);
  EXPECT_FALSE(qt_->irq(raised.front()));

  enable_msi();
  ASSERT_EQ(run(0, {{kSrc, kDst, 64, kCopy, kFlagIrq}}, kIrqEn), kIdle);
  EXPECT_EQ(mailbox(), 0x4242U);
  EXPECT_EQ(crd(0, VECTOR), 0U) << "no MSI-X, no vector register";
  cwr(0, VECTOR, 0);
  EXPECT_EQ(crd(0, VECTOR), 0U);
  EXPECT_THAT(qt_->qemu_stderr(), ::testing::HasSubstr("no MSI-X vector 0"));
}

TEST_F(LabdmaRing, CoalescingByCountTimeoutAndIdle) {
  start("labdma");
  enable();
  enable_msix(5);
  wr(INT_MASK_CLEAR, 1U);
  setup(0, 64);
  const Desc d{kSrc, kDst, 64, kCopy, kFlagIrq};
  const std::uint32_t ctrl = kIrqEn | coalesce(4, 0);
  // Count 4: three completions and the channel going idle signal once (idle
  // flushes); then four at once signal once.
  ASSERT_EQ(run(0, {d, d, d}, ctrl), kIdle);
  EXPECT_EQ(mailbox(1), 0xab01U) << "idle flushes what was counted";
  clear_mailbox(5);
  wr(INT_STATUS, 1U);

  // With a latency per descriptor the channel stays busy between them, so
  // the count and the timeout are visible.
  qt_.reset();
  start("labdma,desc-latency-ns=100000");
  enable();
  enable_msix(5);
  wr(INT_MASK_CLEAR, 1U);
  setup(0, 64);
  cwr(0, CH_CTRL, kRun | kIrqEn | coalesce(4, 0));
  submit(0, {d, d, d, d, d, d, d, d, d});
  for (int i = 0; i < 3; ++i)
    qt_->clock_step(100'000);
  EXPECT_EQ(crd(0, HEAD), 3U);
  EXPECT_EQ(rd(INT_STATUS), 0U) << "3 of 4: not yet";
  qt_->clock_step(100'000);
  EXPECT_EQ(crd(0, HEAD), 4U);
  EXPECT_EQ(rd(INT_STATUS), 1U) << "the 4th completion signals";
  EXPECT_EQ(mailbox(1), 0xab01U);
  wr(INT_STATUS, 1U);
  clear_mailbox(5);
  for (int i = 0; i < 5; ++i)
    qt_->clock_step(100'000);
  EXPECT_EQ(wait(0), kIdle);
  EXPECT_EQ(rd(INT_STATUS), 1U) << "4 more, then idle with 1 counted";

  // Timeout: count 8 and 250 us; two completions 100 us apart are
  // signalled 250 us after the first.
  wr(INT_STATUS, 1U);
  cwr(0, CH_CTRL, kRun | kIrqEn | coalesce(8, 250));
  submit(0, {d, d, d, d, d, d});
  qt_->clock_step(100'000);
  qt_->clock_step(100'000);
  EXPECT_EQ(rd(INT_STATUS), 0U);
  qt_->clock_step(100'000);  // 300 us: 3 done, the timeout (at 350) not yet
  EXPECT_EQ(rd(INT_STATUS), 0U);
  qt_->clock_step(50'000);
  EXPECT_EQ(rd(INT_STATUS), 1U) << "the coalescing timeout signals";
}

TEST_F(LabdmaRing, AbortAndPauseFollowTheCoalescingRules) {
  start("labdma,desc-latency-ns=100000");
  enable();
  enable_msix(5);
  wr(INT_MASK_CLEAR, 0xffffffff);
  setup(0, 64);
  const Desc d{kSrc, kDst, 64, kCopy, kFlagIrq};
  // Count 8, timeout 1 ms: two completions counted, then RUN clear flushes.
  cwr(0, CH_CTRL, kRun | kIrqEn | coalesce(8, 1000));
  submit(0, {d, d, d, d});
  qt_->clock_step(100'000);
  qt_->clock_step(100'000);
  EXPECT_EQ(crd(0, HEAD), 2U);
  EXPECT_EQ(rd(INT_STATUS), 0U);
  cwr(0, CH_CTRL, kIrqEn | coalesce(8, 1000));  // pause
  EXPECT_EQ(crd(0, CH_STATUS), kIdle);
  EXPECT_EQ(rd(INT_STATUS), 1U) << "going idle flushes what was counted";
  EXPECT_EQ(mailbox(1), 0xab01U);
  wr(INT_STATUS, 1U);
  clear_mailbox(5);
  qt_->clock_step(2'000'000);
  EXPECT_EQ(rd(INT_STATUS), 0U) << "no stale coalescing timeout after the flush";
  EXPECT_EQ(mailbox(1), 0U);

  // ABORT with IRQ_EN: the channel's bit, no ERROR.
  cwr(0, CH_CTRL, kRun | kIrqEn);
  EXPECT_EQ(crd(0, CH_STATUS), kBusy);
  cwr(0, CH_CTRL, kAbort);
  EXPECT_EQ(crd(0, CH_STATUS), kHalted | kAborted << 8);
  EXPECT_EQ(rd(INT_STATUS), 1U);
  EXPECT_EQ(mailbox(1), 0xab01U);
  EXPECT_EQ(mailbox(0), 0U);
  // A channel RESET clears the channel's own INT_STATUS bit.
  cwr(0, CH_CTRL, kChReset);
  EXPECT_EQ(rd(INT_STATUS), 0U);
}

TEST_F(LabdmaRing, TimingModelLatencyAndBandwidth) {
  // 1 us per descriptor + 1000 MB/s per channel: 4096 bytes take 4.096 us.
  start("labdma,desc-latency-ns=1000,channel-bw-mbps=1000");
  enable();
  setup(0);
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kDst, 4096, kCopy, 0}});
  qt_->clock_step(5'000);
  EXPECT_EQ(crd(0, HEAD), 0U) << "done before its time";
  qt_->clock_step(100);
  EXPECT_EQ(wait(0), kIdle);
  EXPECT_EQ(crd(0, HEAD), 1U);

  // A shared link of 500 MB/s: two channels' 4096-byte descriptors at once
  // take 8.192 us each on the link, back to back.
  qt_.reset();
  start("labdma,link-bw-mbps=500");
  enable();
  setup(0);
  setup(1);
  cwr(0, CH_CTRL, kRun);
  cwr(1, CH_CTRL, kRun);
  submit(0, {{kSrc, kDst, 4096, kCopy, 0}});
  submit(1, {{kSrc, kDst + 4096, 4096, kCopy, 0}});
  (void)crd(0, HEAD);  // both fetched at the same virtual time
  qt_->clock_step(8'200);
  EXPECT_EQ(crd(0, HEAD) + crd(1, HEAD), 1U) << "one descriptor after 8.2 us";
  qt_->clock_step(8'200);
  EXPECT_EQ(crd(0, HEAD) + crd(1, HEAD), 2U) << "both after 16.4 us";
}

TEST_F(LabdmaRing, TheLinkIsChargedOnlyForWorkThatRuns) {
  // 1 MB/s: 4096 bytes hold the link for 4.096 ms.
  start("labdma,link-bw-mbps=1");
  enable();
  setup(0);
  setup(1);
  // A descriptor that fails its checks reports at once, whatever its len.
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kDst, 0xffffffff, kCopy, 0}});
  (void)crd(0, HEAD);
  EXPECT_EQ(crd(0, CH_STATUS), kHalted | kBadLen << 8) << "without any clock step";
  cwr(0, CH_CTRL, kChReset);
  tail_[0] = 0;
  // A descriptor fetched and then paused away gives its booking back.
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kDst, 4096, kCopy, 0}});
  (void)crd(0, HEAD);
  cwr(0, CH_CTRL, 0);
  cwr(1, CH_CTRL, kRun);
  submit(1, {{kSrc, kDst, 4096, kCopy, 0}});
  qt_->clock_step(4'100'000);
  EXPECT_EQ(crd(1, HEAD), 1U) << "channel 1 waited for a booking nobody used";
}

TEST_F(LabdmaRing, LiteVariantRefusesComputeAndLargeDescriptors) {
  start("labdma-lite");
  enable();
  setup(0);
  EXPECT_EQ(run(0, {{kSrc, kDst, 64 * 1024, kCopy, 0}}), kIdle);
  cwr(0, CH_CTRL, kRun);
  submit(0, {{kSrc, kDst, 64 * 1024 + 4, kCopy, 0}});
  EXPECT_EQ(wait(0), kHalted | kBadLen << 8);
  cwr(0, CH_CTRL, kChReset);
  tail_[0] = 0;
  for (const std::uint16_t op : {kMul2, kMul4, kCrc32c}) {
    cwr(0, CH_CTRL, kRun);
    submit(0, {{kSrc, kDst, 64, op, 0}});
    EXPECT_EQ(wait(0), kHalted | kBadOp << 8) << op;
    cwr(0, CH_CTRL, kChReset);
    tail_[0] = 0;
  }
}

}  // namespace
}  // namespace labtest
