// labdma recovery: every fault the device model injects (datasheet 9, armed
// over QMP through the runner's bridge) ends as the driver documents it
// (docs/labdma/uapi.md, "Errors and recovery"), and the channel and the
// device stay usable without a reload.
#include <sys/ioctl.h>

#include "labdma_test_util.hpp"

namespace {

using namespace edutest;
using namespace labdmatest;

class Faults : public FullDeviceTest {
 protected:
  void SetUp() override {
    FullDeviceTest::SetUp();
    if (HasFatalFailure()) return;
    const auto port = Qmp::find_port();
    if (!port) GTEST_SKIP() << "no lab.qmp port: this runner does not expose QEMU's monitor";
    qmp_ = std::make_unique<Qmp>(*port);
    ASSERT_TRUE(qmp_->ok());
    const auto id = qdev_id(*qmp_, node_);
    ASSERT_TRUE(id.has_value()) << "no QEMU id for " << node_.pci;
    id_ = *id;
  }
  void TearDown() override {
    if (qmp_) {
      const auto r = qmp_->execute(
          "qom-get", {{"path", "/machine/peripheral/" + id_}, {"property", "faults-armed"}});
      ASSERT_TRUE(r && r->contains("return"));
      EXPECT_EQ((*r)["return"].get<std::string>(), "") << "a fault was armed but never hit";
    }
  }
  void arm(const std::string& prop, const std::string& value) {
    ASSERT_EQ(arm_fault(*qmp_, id_, prop, value), "") << prop << "=" << value;
  }

  std::unique_ptr<Qmp> qmp_;
  std::string id_;
};

// The N-th descriptor fails with each error code: that operation gets -EIO
// and the code, its neighbours are untouched, the channel goes on.
TEST_F(Faults, EveryDeviceErrorFailsOnlyItsOperation) {
  const auto before = stats_of(fd());
  for (int code = 1; code <= 10; ++code) {
    SCOPED_TRACE("error code " + std::to_string(code));
    const auto src = pattern(64 << 10, code);
    std::vector<std::uint8_t> dst(src.size(), 0);
    arm("fault-fail", "1:0:" + std::to_string(code));
    auto s = op(LABDMA_OP_COPY, src.data(), dst.data(), src.size(), 1);
    EXPECT_ERRNO(EIO, submit(fd(), s));
    EXPECT_EQ(s.hw_error, code);
    EXPECT_EQ(s.done, 0U);
    expect_copy_works(fd(), 1);
  }
  // the second descriptor of an operation: what the first moved counts
  const auto src = pattern(3 << 20, 11);
  std::vector<std::uint8_t> dst(src.size(), 0);
  arm("fault-fail", "0:1");
  auto s = op(LABDMA_OP_COPY, src.data(), dst.data(), src.size(), 0);
  EXPECT_ERRNO(EIO, submit(fd(), s));
  EXPECT_EQ(s.hw_error, 0x0a);
  EXPECT_GT(s.done, 0U);
  EXPECT_LE(s.done, 1U << 20) << "at most one descriptor";
  EXPECT_EQ(first_mismatch({src.data(), s.done}, {dst.data(), s.done}), -1);
  const auto after = stats_of(fd());
  EXPECT_EQ(after.errors, before.errors + 11);
  EXPECT_GE(after.channel_resets, before.channel_resets + 11);
  EXPECT_EQ(read_trimmed(node_.cls / "state"), "ok");
}

// A channel that stops making progress: the operation times out, the
// channel is aborted, reset and used again.
TEST_F(Faults, HungChannelTimesOutAndRecovers) {
  const auto before = stats_of(fd());
  arm("fault-hang", "2");
  const auto src = pattern(8192, 1);
  std::vector<std::uint8_t> dst(src.size(), 0);
  auto s = op(LABDMA_OP_COPY, src.data(), dst.data(), src.size(), 2);
  s.timeout_ms = 300;
  const auto t0 = Clock::now();
  EXPECT_ERRNO(ETIMEDOUT, submit(fd(), s));
  EXPECT_LT(ms_since(t0), 3000);
  EXPECT_EQ(stats_of(fd()).timeouts, before.timeouts + 1);
  expect_copy_works(fd(), 2);
  EXPECT_EQ(read_trimmed(node_.cls / "state"), "ok");
}

// Completion interrupts that never come: the watchdog finds the work done.
TEST_F(Faults, LostInterruptsAreFoundByTheWatchdog) {
  const auto before = stats_of(fd());
  arm("fault-drop-irq", "0:3");
  for (int i = 0; i < 3; ++i)
    expect_copy_works(fd(), 0);
  EXPECT_GE(stats_of(fd()).lost_irqs, before.lost_irqs + 1);
  expect_copy_works(fd(), 0);
}

TEST_F(Faults, DelayWithinTheTimeoutSucceedsBeyondItTimesOut) {
  arm("fault-delay", "3:100000000");  // 100 ms
  auto s = op(LABDMA_OP_NOP, nullptr, nullptr, 0, 3);
  s.timeout_ms = 5000;
  EXPECT_OK(submit(fd(), s));
  arm("fault-delay", "3:5000000000");  // 5 s
  s = op(LABDMA_OP_NOP, nullptr, nullptr, 0, 3);
  s.timeout_ms = 300;
  EXPECT_ERRNO(ETIMEDOUT, submit(fd(), s));
  expect_copy_works(fd(), 3);
}

// An interrupt with nothing behind it is not ours: IRQ_NONE, counted.
TEST_F(Faults, SpuriousInterruptsAreNotClaimed) {
  const auto before = stats_of(fd());
  for (const char* v : {"0", "1"})
    arm("fault-spurious-irq", v);
  EXPECT_TRUE(
      wait_until([&] { return stats_of(fd()).spurious_irqs >= before.spurious_irqs + 2; }, 5s))
      << stats_of(fd()).spurious_irqs;
  expect_copy_works(fd());
  labdma_doint d{};
  EXPECT_OK(::ioctl(fd(), LABDMA_IOC_DOINT, &d));
}

// Corruption the device does not report: the driver cannot see it, the
// caller's check does; the next operation is clean.
TEST_F(Faults, SilentCorruptionIsCaughtByTheCallersCheck) {
  arm("fault-corrupt", "0");
  const auto src = pattern(4096, 4);
  std::vector<std::uint8_t> dst(src.size(), 0);
  auto s = op(LABDMA_OP_COPY, src.data(), dst.data(), src.size(), 0);
  EXPECT_OK(submit(fd(), s));
  EXPECT_EQ(first_mismatch(src, dst), 0);
  EXPECT_EQ(dst[0], static_cast<std::uint8_t>(~src[0]));
  expect_copy_works(fd(), 0);
}

// A destination the device cannot write (its own registers; behind an
// IOMMU an unmapped IOVA): that operation fails with DST_WRITE, the next
// one is fine, and nothing else is touched.
TEST_F(Faults, UnwritableDestinationIsAnErrorNotACrash) {
  const fs::path knob = fs::path("/sys/kernel/debug/labdma") / node_.name / "inject_bad_dst";
  if (!fs::exists(knob)) GTEST_SKIP() << "no debugfs";
  const auto before = stats_of(fd());
  for (const std::uint32_t o : {LABDMA_OP_COPY, LABDMA_OP_FILL, LABDMA_OP_MUL2}) {
    SCOPED_TRACE("op " + std::to_string(o));
    ASSERT_OK(write_file(knob, "1"));
    const auto src = pattern(8192, o);
    std::vector<std::uint8_t> dst(src.size(), 0);
    auto s = op(o, o == LABDMA_OP_FILL ? nullptr : src.data(), dst.data(), src.size(), 0);
    EXPECT_ERRNO(EIO, submit(fd(), s));
    EXPECT_EQ(s.hw_error, 0x06) << "DST_WRITE";
    EXPECT_EQ(read_trimmed(knob), "0");
    expect_copy_works(fd(), 0);
  }
  EXPECT_EQ(stats_of(fd()).errors, before.errors + 3);
  EXPECT_EQ(read_trimmed(node_.cls / "state"), "ok");
}

// A timed-out operation among others on the same channel: only it fails,
// the others are put back on the ring and finish.
TEST_F(Faults, TimeoutSparesTheOtherOperationsOnTheChannel) {
  arm("fault-delay", "1:2000000000");  // the first descriptor: 2 s
  const auto src = pattern(64 << 10, 5);
  std::vector<std::vector<std::uint8_t>> dst(4, std::vector<std::uint8_t>(src.size(), 0));
  for (std::size_t i = 0; i < dst.size(); ++i) {
    auto s = op(LABDMA_OP_COPY, src.data(), dst[i].data(), src.size(), 1);
    s.flags = LABDMA_SUBMIT_ASYNC;
    s.user_data = i;
    s.timeout_ms = i == 0 ? 300 : 10000;
    ASSERT_OK(submit(fd(), s));
  }
  std::vector<labdma_completion> got(4);
  std::uint32_t total = 0;
  while (total < 4) {
    labdma_complete c = complete_args(uptr(got.data() + total), 4 - total, 1, LABDMA_COMPLETE_WAIT);
    ASSERT_OK(::ioctl(fd(), LABDMA_IOC_COMPLETE, &c));
    total += c.count;
  }
  for (const auto& e : got) {
    SCOPED_TRACE("operation " + std::to_string(e.user_data));
    if (e.user_data == 0) {
      EXPECT_EQ(e.status, -ETIMEDOUT);
    } else {
      EXPECT_EQ(e.status, 0);
      EXPECT_EQ(dst[e.user_data], src);
    }
  }
}

}  // namespace
