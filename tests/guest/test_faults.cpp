// Per-device policy knobs (sysfs) and the driver's fault injection
// (debugfs, docs/uapi.md "Fault injection"): a wedged DMA engine is cut off
// the bus and recovered by a function reset; a failed DMA mapping is a clear
// error that leaves nothing behind.
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/edu.h>

#include "edu_test_util.hpp"

namespace edutest {
namespace {

using namespace std::chrono_literals;

// Restores a sysfs/debugfs value written by a test.
class Restore {
 public:
  explicit Restore(fs::path p) : path_(std::move(p)), old_(read_trimmed(path_)) {}
  ~Restore() {
    if (!old_.empty()) (void)write_file(path_, old_);
  }
  Restore(const Restore&) = delete;
  Restore& operator=(const Restore&) = delete;

 private:
  fs::path path_;
  std::string old_;
};

std::uint64_t attr_u64(const fs::path& p) {
  return parse_u64(read_trimmed(p)).value_or(~0ULL);
}

class PolicyKnobs : public EduTest {};

TEST_F(PolicyKnobs, StartFromTheModuleDefaultsAndAreValidated) {
  const fs::path params = "/sys/module/edu/parameters";
  static constexpr std::array<const char*, 4> kNames = {"", "irq", "poll", "hybrid"};
  const auto mode = attr_u64(params / "wait_mode");
  ASSERT_LT(mode, 4U);
  EXPECT_EQ(read_trimmed(node_.cls / "wait_mode"), kNames.at(mode));
  EXPECT_EQ(attr_u64(node_.cls / "hybrid_spin_us"), attr_u64(params / "hybrid_spin_us"));
  EXPECT_EQ(attr_u64(node_.cls / "timeout_ms"), attr_u64(params / "timeout_ms"));
  // The module parameters are only the defaults of devices bound later.
  EXPECT_ERRNO(EACCES, write_file(params / "timeout_ms", "100"));

  Restore r1(node_.cls / "wait_mode");
  Restore r2(node_.cls / "hybrid_spin_us");
  Restore r3(node_.cls / "timeout_ms");
  for (const char* m : {"irq", "poll", "hybrid"}) {
    ASSERT_OK(write_file(node_.cls / "wait_mode", m));
    EXPECT_EQ(read_trimmed(node_.cls / "wait_mode"), m);
    expect_factorial_works(fd());
  }
  EXPECT_ERRNO(EINVAL, write_file(node_.cls / "wait_mode", "default"));
  EXPECT_ERRNO(EINVAL, write_file(node_.cls / "wait_mode", "3"));
  EXPECT_ERRNO(ERANGE, write_file(node_.cls / "hybrid_spin_us", "10001"));
  EXPECT_ERRNO(EINVAL, write_file(node_.cls / "hybrid_spin_us", "-1"));
  EXPECT_ERRNO(ERANGE, write_file(node_.cls / "timeout_ms", "0"));
  EXPECT_ERRNO(ERANGE, write_file(node_.cls / "timeout_ms", "60001"));
  ASSERT_OK(write_file(node_.cls / "hybrid_spin_us", "0"));
  EXPECT_EQ(attr_u64(node_.cls / "hybrid_spin_us"), 0U);
}

TEST_F(PolicyKnobs, TimeoutIsPerDevice) {
  const auto nodes = edu_nodes();
  Restore r(node_.cls / "timeout_ms");
  ASSERT_OK(write_file(node_.cls / "timeout_ms", "20"));
  if (nodes.size() > 1) {
    EXPECT_NE(attr_u64(nodes[1].cls / "timeout_ms"), 20U) << "the knob leaked to another device";
  }
  // A factorial of seconds with the default timeout (0 = the device's).
  const auto t0 = Clock::now();
  EXPECT_ERRNO(ETIMEDOUT, do_factorial(fd(), 0xfffffff0U, EDU_WAIT_IRQ, 0));
  EXPECT_LT(ms_since(t0), 3000) << "the device's 20 ms timeout was not used";
  ASSERT_OK(write_file(node_.cls / "timeout_ms", "60000"));
  expect_factorial_works(fd());
}

// Fault injection lives in debugfs; every scenario mounts it.
class FaultInjection : public EduTest {
 protected:
  void SetUp() override {
    EduTest::SetUp();
    dbg_ = fs::path("/sys/kernel/debug/edu") / node_.name;
    ASSERT_TRUE(fs::exists(dbg_ / "inject_dma_stuck")) << dbg_ << ": debugfs not mounted?";
  }
  void TearDown() override {
    (void)write_file(dbg_ / "inject_dma_stuck", "0");
    (void)write_file(dbg_ / "inject_map_error", "0");
  }
  // After a stuck engine: the device recovers by itself, once.
  void expect_recovered(std::uint64_t recoveries_before) {
    EXPECT_TRUE(wait_until(
        [&] {
          return read_trimmed(node_.cls / "state") == "ok" &&
                 attr_u64(node_.cls / "recoveries") == recoveries_before + 1;
        },
        30s))
        << "state " << read_trimmed(node_.cls / "state") << ", recoveries "
        << read_trimmed(node_.cls / "recoveries");
    expect_dma_works(fd());
    expect_factorial_works(fd());
  }
  fs::path dbg_;
};

TEST_F(FaultInjection, StuckEngineIsCutOffAndRecoveredByAReset) {
  Restore r(node_.cls / "timeout_ms");
  ASSERT_OK(write_file(node_.cls / "timeout_ms", "200"));
  const auto recoveries = attr_u64(node_.cls / "recoveries");
  const auto errors = stats(fd()).errors;
  ASSERT_OK(write_file(dbg_ / "inject_dma_stuck", "1"));

  const auto data = pattern(64, 7);
  EXPECT_ERRNO(ETIMEDOUT, ::pwrite(fd(), data.data(), data.size(), 0));
  EXPECT_EQ(attr_u64(dbg_ / "inject_dma_stuck"), 0U);
  EXPECT_GT(stats(fd()).errors, errors) << "a stuck engine is counted as an error";
  expect_recovered(recoveries);
}

TEST_F(FaultInjection, StuckEngineUnderAnAsynchronousTransfer) {
  Restore r(node_.cls / "timeout_ms");
  ASSERT_OK(write_file(node_.cls / "timeout_ms", "200"));
  const auto recoveries = attr_u64(node_.cls / "recoveries");
  ASSERT_OK(write_file(dbg_ / "inject_dma_stuck", "1"));

  ASSERT_OK(dma_staging(fd(), EDU_DMA_TO_DEVICE, 0, 0, 64, EDU_OP_ASYNC));
  edu_completion c{};
  ASSERT_OK(::ioctl(fd(), EDU_IOC_COMPLETE, &c));
  EXPECT_EQ(c.op, static_cast<std::uint32_t>(EDU_COMPLETION_DMA));
  EXPECT_EQ(c.status, -ETIMEDOUT);
  expect_recovered(recoveries);
}

TEST_F(FaultInjection, MappingFailureIsAnErrorAndLeavesNothingBehind) {
  // Pages the device cannot reach are bounced, never mapped: try pages
  // until one is mapped and takes the injected failure.
  const std::size_t pages = 64;
  const std::size_t pg = page_size();
  Mapping m = anon_map(pages * pg);
  ASSERT_TRUE(m.valid());
  for (std::size_t i = 0; i < pages * pg; i++)
    m.data()[i] = static_cast<std::uint8_t>(i);
  ASSERT_OK(write_file(dbg_ / "inject_map_error", "1"));
  const auto errors = stats(fd()).errors;

  int failed_at = -1;
  for (std::size_t i = 0; i < pages && failed_at < 0; i++) {
    edu_dma_user u{};
    u.direction = EDU_DMA_TO_DEVICE;
    u.src = uptr(m.data() + i * pg);
    u.length = 256;
    const Ret ret = R(::ioctl(fd(), EDU_IOC_DMA_USER, &u));
    if (ret.rc < 0) {
      ASSERT_EQ(ret.err, EIO) << errno_name(ret.err);
      failed_at = static_cast<int>(i);
    }
  }
  ASSERT_GE(failed_at, 0) << "no page of " << pages << " was mapped (all bounced?)";
  EXPECT_EQ(attr_u64(dbg_ / "inject_map_error"), 0U);
  EXPECT_EQ(stats(fd()).errors, errors + 1);

  // The same page again: mapped, transferred, and the data arrives.
  edu_dma_user u{};
  u.direction = EDU_DMA_TO_DEVICE;
  u.src = uptr(m.data() + static_cast<std::size_t>(failed_at) * pg);
  u.length = 256;
  ASSERT_OK(::ioctl(fd(), EDU_IOC_DMA_USER, &u));
  std::vector<std::uint8_t> back(256);
  ASSERT_RET(256, ::pread(fd(), back.data(), back.size(), 0));
  EXPECT_EQ(
      first_mismatch(back, std::span(m.data() + static_cast<std::size_t>(failed_at) * pg, 256)),
      -1);
}

}  // namespace
}  // namespace edutest
