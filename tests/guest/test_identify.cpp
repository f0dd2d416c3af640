// IDENTIFY, LIVENESS, RAISE_IRQ, STATS, REG_READ/REG_WRITE and the rules
// every ioctl shares: unknown numbers and wrong sizes are -ENOTTY, bad
// argument pointers -EFAULT (docs/uapi.md, "ioctls").
#include <array>
#include <cstring>

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include <linux/edu.h>

#include <grp.h>

#include "edu_test_util.hpp"

namespace edutest {
namespace {

struct IoctlInfo {
  const char* name;
  unsigned long cmd;
};

const std::array kIoctls = {
    IoctlInfo{"EDU_IOC_IDENTIFY", EDU_IOC_IDENTIFY},
    IoctlInfo{"EDU_IOC_LIVENESS", EDU_IOC_LIVENESS},
    IoctlInfo{"EDU_IOC_FACTORIAL", EDU_IOC_FACTORIAL},
    IoctlInfo{"EDU_IOC_RAISE_IRQ", EDU_IOC_RAISE_IRQ},
    IoctlInfo{"EDU_IOC_DMA_STAGING", EDU_IOC_DMA_STAGING},
    IoctlInfo{"EDU_IOC_DMA_USER", EDU_IOC_DMA_USER},
    IoctlInfo{"EDU_IOC_COMPLETE", EDU_IOC_COMPLETE},
    IoctlInfo{"EDU_IOC_STATS", EDU_IOC_STATS},
    IoctlInfo{"EDU_IOC_REG_READ", EDU_IOC_REG_READ},
    IoctlInfo{"EDU_IOC_REG_WRITE", EDU_IOC_REG_WRITE},
};

// The UAPI promises one layout for 32- and 64-bit callers.
static_assert(sizeof(edu_identify) == 64);
static_assert(sizeof(edu_liveness) == 16);
static_assert(sizeof(edu_factorial) == 24);
static_assert(sizeof(edu_raise_irq) == 24);
static_assert(sizeof(edu_dma_staging) == 48);
static_assert(sizeof(edu_dma_user) == 64);
static_assert(sizeof(edu_completion) == 32);
static_assert(sizeof(edu_reg) == 32);
static_assert(sizeof(edu_stats) == 80);

class Identify : public EduTest {};
class Liveness : public EduTest {};
class Ioctl : public EduTest {};
class RaiseIrq : public EduTest {};
class Stats : public EduTest {};
class Regs : public EduTest {};

// --------------------------------------------------------------------------
// IDENTIFY

TEST_F(Identify, FieldsDescribeTheDevice) {
  edu_identify id{};
  std::memset(&id, 0xAA, sizeof id);
  ASSERT_OK(::ioctl(fd(), EDU_IOC_IDENTIFY, &id));
  EXPECT_EQ(id.id_register, kIdRegister) << hex(id.id_register);
  EXPECT_EQ(id.major, id.id_register >> 24);
  EXPECT_EQ(id.minor, (id.id_register >> 16) & 0xffU);
  EXPECT_EQ("edu" + std::to_string(id.index), node_.name);
  EXPECT_TRUE(id.irq_mode == EDU_IRQ_MODE_MSI || id.irq_mode == EDU_IRQ_MODE_INTX) << id.irq_mode;
  EXPECT_EQ(id.dma_window, kWindow);
  EXPECT_GE(id.dma_mask_bits, 28U);
  EXPECT_LE(id.dma_mask_bits, 64U);
  EXPECT_GT(id.staging_size, 0U);
  EXPECT_EQ(id.staging_size % page_size(), 0U) << "staging_size must be a page multiple";
  EXPECT_LE(id.staging_size, 1U << 20);
  EXPECT_EQ(id.caps, EDU_CAP_FACTORIAL_IRQ | EDU_CAP_DMA | EDU_CAP_ASYNC) << hex(id.caps);
}

TEST_F(Identify, ReservedBytesAreZeroed) {
  edu_identify id{};
  std::memset(&id, 0xAA, sizeof id);
  ASSERT_OK(::ioctl(fd(), EDU_IOC_IDENTIFY, &id));
  for (std::size_t i = 0; i < std::size(id.reserved); ++i) {
    EXPECT_EQ(id.reserved[i], 0U) << "reserved[" << i << "] = " << hex(id.reserved[i]);
  }
}

TEST_F(Identify, EveryDeviceHasItsOwnIndex) {
  std::vector<std::uint32_t> seen;
  for (const auto& n : edu_nodes()) {
    Fd f = open_node(n, O_RDONLY);
    ASSERT_TRUE(f.valid());
    const auto id = identify(f.get());
    EXPECT_EQ("edu" + std::to_string(id.index), n.name);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), id.index), 0) << "duplicate index " << id.index;
    seen.push_back(id.index);
  }
  EXPECT_EQ(seen.size(), edu_pci_functions().size()) << "every edu PCI function has a node";
}

TEST_F(Identify, BadPointersFault) {
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_IDENTIFY, nullptr));
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_IDENTIFY, unmapped_address()));
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_IDENTIFY, kKernelAddress));
  Mapping ro = anon_map(page_size(), PROT_READ);
  ASSERT_TRUE(ro.valid());
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_IDENTIFY, ro.data()));
  // Straddling the end of a readable+writable mapping into a hole.
  Mapping rw = anon_map(2 * page_size());
  ASSERT_TRUE(rw.valid());
  ASSERT_EQ(::munmap(rw.data() + page_size(), page_size()), 0);
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_IDENTIFY, rw.data() + page_size() - 8));
}

TEST_F(Identify, WorksOnReadOnlyAndWriteOnlyOpens) {
  for (int flags : {O_RDONLY, O_WRONLY, O_RDWR | O_NONBLOCK}) {
    Fd f = open_node(node_, flags);
    ASSERT_TRUE(f.valid());
    edu_identify id{};
    EXPECT_OK(::ioctl(f.get(), EDU_IOC_IDENTIFY, &id)) << "flags " << hex(flags);
    EXPECT_EQ(id.id_register, kIdRegister);
  }
}

// --------------------------------------------------------------------------
// LIVENESS

TEST_F(Liveness, ReadsBackTheInverse) {
  for (std::uint32_t v :
       {0U, 1U, 0xffffffffU, 0xdeadbeefU, 0x12345678U, 0x80000000U, 0x55aa55aaU}) {
    edu_liveness lv{};
    lv.value = v;
    lv.inverted = 0x0badf00d;
    ASSERT_OK(::ioctl(fd(), EDU_IOC_LIVENESS, &lv));
    EXPECT_EQ(lv.inverted, ~v) << "value " << hex(v);
    EXPECT_EQ(lv.value, v) << "input field must be left alone";
    EXPECT_EQ(lv.reserved, 0U);
  }
}

TEST_F(Liveness, ReservedMustBeZero) {
  edu_liveness lv{};
  lv.value = 1;
  lv.reserved = 1;
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_LIVENESS, &lv));
  lv.reserved = 1ULL << 63;
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_LIVENESS, &lv));
}

TEST_F(Liveness, BadPointersFault) {
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_LIVENESS, nullptr));
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_LIVENESS, unmapped_address()));
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_LIVENESS, kKernelAddress));
  // Readable but not writable: the result cannot be returned.
  Mapping ro = anon_map(page_size(), PROT_READ);
  ASSERT_TRUE(ro.valid());
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_LIVENESS, ro.data()));
}

// --------------------------------------------------------------------------
// Common ioctl rules

TEST_F(Ioctl, UnknownNumbersAreNotTty) {
  alignas(8) std::array<std::uint8_t, 512> arg{};
  const std::vector<unsigned long> unknown = {
      0UL,
      _IO(EDU_IOC_MAGIC, 0x00),
      _IOWR(EDU_IOC_MAGIC, 0x0a, edu_identify),
      _IOWR(EDU_IOC_MAGIC, 0x0b, std::uint64_t),
      _IOR(EDU_IOC_MAGIC, 0x10, edu_stats),
      _IOWR(EDU_IOC_MAGIC, 0xff, edu_reg),
      // The right numbers with another magic.
      _IOR(0xEE, 0x00, edu_identify),
      _IOWR('T', 0x02, edu_factorial),
      TCGETS,
  };
  for (unsigned long cmd : unknown) {
    EXPECT_ERRNO(ENOTTY, ::ioctl(fd(), cmd, arg.data())) << "cmd " << hex(cmd);
  }
  EXPECT_EQ(::isatty(fd()), 0) << "an edu node is not a terminal";
}

TEST_F(Ioctl, WrongStructSizesAreNotTty) {
  alignas(8) std::array<std::uint8_t, 1024> arg{};
  for (const auto& io : kIoctls) {
    const unsigned dir = _IOC_DIR(io.cmd);
    const unsigned nr = _IOC_NR(io.cmd);
    const unsigned size = _IOC_SIZE(io.cmd);
    for (unsigned wrong : {0U, 4U, size - 8, size - 1, size + 1, size + 8, 2 * size, 512U}) {
      if (wrong == size) continue;
      const unsigned long cmd = _IOC(dir, EDU_IOC_MAGIC, nr, wrong);
      EXPECT_ERRNO(ENOTTY, ::ioctl(fd(), cmd, arg.data()))
          << io.name << " with size " << wrong << " instead of " << size;
    }
    // Same size, another direction.
    for (unsigned wrong_dir : {_IOC_NONE, _IOC_READ, _IOC_WRITE, _IOC_READ | _IOC_WRITE}) {
      if (wrong_dir == dir) continue;
      const unsigned long cmd = _IOC(wrong_dir, EDU_IOC_MAGIC, nr, size);
      EXPECT_ERRNO(ENOTTY, ::ioctl(fd(), cmd, arg.data()))
          << io.name << " with direction " << wrong_dir << " instead of " << dir;
    }
  }
}

TEST_F(Ioctl, NullArgumentFaults) {
  for (const auto& io : kIoctls) {
    // COMPLETE with nothing in flight reports -ENODATA before it needs the
    // argument; its -EFAULT is checked in test_async.cpp.
    if (io.cmd == EDU_IOC_COMPLETE) continue;
    EXPECT_ERRNO(EFAULT, ::ioctl(fd(), io.cmd, nullptr)) << io.name;
    EXPECT_ERRNO(EFAULT, ::ioctl(fd(), io.cmd, kKernelAddress)) << io.name << " kernel pointer";
    EXPECT_ERRNO(EFAULT, ::ioctl(fd(), io.cmd, unmapped_address())) << io.name << " unmapped";
  }
}

// A page holding a copy of v, then made read-only.
template <typename T>
Mapping read_only_copy(const T& v) {
  Mapping m = anon_map(page_size());
  if (!m.valid()) return m;
  std::memcpy(m.data(), &v, sizeof v);
  EXPECT_EQ(::mprotect(m.data(), m.size(), PROT_READ), 0) << errno_name(errno);
  return m;
}

TEST_F(Ioctl, ResultsCannotBeWrittenToReadOnlyMemory) {
  Mapping ro = read_only_copy(edu_identify{});
  ASSERT_TRUE(ro.valid());
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_IDENTIFY, ro.data()));
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_STATS, ro.data()));

  edu_reg r{};
  r.offset = 0;
  r.width = 4;
  Mapping ro_reg = read_only_copy(r);
  ASSERT_TRUE(ro_reg.valid());
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_REG_READ, ro_reg.data())) << "valid request";

  edu_liveness lv{};
  lv.value = 3;
  Mapping ro_lv = read_only_copy(lv);
  ASSERT_TRUE(ro_lv.valid());
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_LIVENESS, ro_lv.data())) << "valid request";

  edu_factorial f{};
  f.input = 4;
  Mapping ro_f = read_only_copy(f);
  ASSERT_TRUE(ro_f.valid());
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), EDU_IOC_FACTORIAL, ro_f.data())) << "valid request";
  expect_factorial_works(fd());
}

// --------------------------------------------------------------------------
// RAISE_IRQ

TEST_F(RaiseIrq, CountIncreases) {
  edu_raise_irq r{};
  r.status = 0x2;
  r.irq_count = 0xdeadbeef;
  ASSERT_OK(::ioctl(fd(), EDU_IOC_RAISE_IRQ, &r));
  const std::uint64_t first = r.irq_count;
  EXPECT_GE(first, 1U);
  EXPECT_EQ(r.reserved, 0U);
  for (std::uint32_t status : {0x4U, 0x00030000U, 0x80000000U, 0x2U}) {
    edu_raise_irq r2{};
    r2.status = status;
    ASSERT_OK(::ioctl(fd(), EDU_IOC_RAISE_IRQ, &r2)) << hex(status);
    EXPECT_GT(r2.irq_count, first) << "status " << hex(status);
  }
  const auto st = stats(fd());
  EXPECT_GE(st.irqs, first + 4) << "STATS.irqs counts every delivered interrupt";
}

TEST_F(RaiseIrq, InvalidStatusAndFlags) {
  for (std::uint32_t status : {0U, EDU_IRQ_FACTORIAL, EDU_IRQ_DMA, EDU_IRQ_FACTORIAL | 0x2U,
                               EDU_IRQ_DMA | 0x10000U, 0xffffffffU}) {
    edu_raise_irq r{};
    r.status = status;
    EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_RAISE_IRQ, &r)) << "status " << hex(status);
  }
  edu_raise_irq r{};
  r.status = 0x2;
  r.flags = 1;
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_RAISE_IRQ, &r)) << "flags must be zero";
  r.flags = 0x80000000U;
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_RAISE_IRQ, &r)) << "flags must be zero";
  r.flags = 0;
  r.reserved = 1;
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_RAISE_IRQ, &r)) << "reserved must be zero";
}

TEST_F(RaiseIrq, CountsArePerDevice) {
  const auto nodes = edu_nodes();
  if (nodes.size() < 2) GTEST_SKIP() << "needs two edu devices";
  Fd other = open_node(nodes[1]);
  ASSERT_TRUE(other.valid());
  const auto before = stats(other.get());
  for (int i = 0; i < 3; ++i) {
    edu_raise_irq r{};
    r.status = 0x8;
    ASSERT_OK(::ioctl(fd(), EDU_IOC_RAISE_IRQ, &r));
  }
  const auto after = stats(other.get());
  EXPECT_EQ(after.irqs, before.irqs)
      << "raising on " << node_.name << " counted on " << nodes[1].name;
}

// The device raises its interrupt but the CPU never gets it: bus mastering
// off drops the MSI write, INTx disabled masks the line (QEMU honours both).
// The original command register comes back on destruction; a masked INTx
// that is still asserted is delivered then.
class LostInterrupts {
 public:
  explicit LostInterrupts(const EduNode& n) : config_(::open((n.pci / "config").c_str(), O_RDWR)) {
    if (!config_.valid() || ::pread(config_.get(), &saved_, sizeof saved_, kCommand) != 2) {
      ADD_FAILURE() << "cannot read " << (n.pci / "config") << ": " << errno_name(errno);
      return;
    }
    const std::uint16_t blocked = (saved_ & ~kMaster) | kIntxDisable;
    armed_ = ::pwrite(config_.get(), &blocked, sizeof blocked, kCommand) == 2;
    EXPECT_TRUE(armed_) << "cannot write the PCI command register: " << errno_name(errno);
  }
  LostInterrupts(const LostInterrupts&) = delete;
  LostInterrupts& operator=(const LostInterrupts&) = delete;
  ~LostInterrupts() {
    if (armed_) {
      EXPECT_EQ(::pwrite(config_.get(), &saved_, sizeof saved_, kCommand), 2);
    }
  }
  [[nodiscard]] bool armed() const { return armed_; }

 private:
  static constexpr off_t kCommand = 0x04;  // PCI_COMMAND
  static constexpr std::uint16_t kMaster = 0x0004;
  static constexpr std::uint16_t kIntxDisable = 0x0400;
  Fd config_;
  std::uint16_t saved_ = 0;
  bool armed_ = false;
};

TEST_F(RaiseIrq, LostInterruptTimesOutAndDeviceRecovers) {
  const auto before = stats(fd());
  {
    LostInterrupts lost(node_);
    ASSERT_TRUE(lost.armed());
    edu_raise_irq r{};
    r.status = 0x10;
    r.irq_count = 0xdeadbeef;
    const auto t0 = Clock::now();
    EXPECT_ERRNO(ETIMEDOUT, ::ioctl(fd(), EDU_IOC_RAISE_IRQ, &r));
    EXPECT_GE(ms_since(t0), 900) << "the driver waits about a second for the interrupt";
    EXPECT_LT(ms_since(t0), 10000);
  }
  const auto after = stats(fd());
  EXPECT_EQ(after.timeouts, before.timeouts + 1) << "a lost interrupt counts as a timeout";

  edu_raise_irq r{};
  r.status = 0x10;
  ASSERT_OK(::ioctl(fd(), EDU_IOC_RAISE_IRQ, &r)) << "interrupts work again once unblocked";
  EXPECT_GT(r.irq_count, before.irqs);
  expect_factorial_works(fd());
}

// Waiting for an interrupt that never comes costs the timeout, not the
// result: the driver looks at the unit once more before giving up. The
// input takes the device a fraction of a second (kSlowFactorial / 6), far
// less than the timeout, so only a lost interrupt makes the wait that long.
TEST_F(RaiseIrq, LostFactorialInterruptStillGivesTheResult) {
  constexpr std::uint32_t kTimeoutMs = 3000;
  LostInterrupts lost(node_);
  ASSERT_TRUE(lost.armed());
  std::uint32_t result = 1;
  const auto t0 = Clock::now();
  ASSERT_OK(do_factorial(fd(), kSlowFactorial / 6, EDU_WAIT_IRQ, kTimeoutMs, &result));
  EXPECT_EQ(result, factorial_mod32(kSlowFactorial / 6));
  EXPECT_GE(ms_since(t0), kTimeoutMs - 100) << "no interrupt, so only the timeout ended the wait";
}

TEST_F(RaiseIrq, SignalInterruptsTheWait) {
  {
    LostInterrupts lost(node_);
    ASSERT_TRUE(lost.armed());
    SignalCatcher sig(SIGALRM);
    ThreadTimer timer(SIGALRM, 100ms);
    edu_raise_irq r{};
    r.status = 0x200;
    const auto t0 = Clock::now();
    EXPECT_ERRNO(EINTR, ::ioctl(fd(), EDU_IOC_RAISE_IRQ, &r));
    EXPECT_LT(ms_since(t0), 900) << "the signal, not the timeout, ended the wait";
    timer.cancel();
    EXPECT_GE(sig.count(), 1);
  }
  edu_raise_irq r{};
  r.status = 0x200;
  EXPECT_OK(::ioctl(fd(), EDU_IOC_RAISE_IRQ, &r)) << "the device is usable after the signal";
}

// --------------------------------------------------------------------------
// STATS

TEST_F(Stats, ReservedZeroAndCountersMove) {
  edu_stats before{};
  std::memset(&before, 0xAA, sizeof before);
  ASSERT_OK(::ioctl(fd(), EDU_IOC_STATS, &before));
  for (std::size_t i = 0; i < std::size(before.reserved); ++i) {
    EXPECT_EQ(before.reserved[i], 0U) << "reserved[" << i << "]";
  }

  std::uint32_t res = 0;
  ASSERT_OK(do_factorial(fd(), 7, EDU_WAIT_IRQ, 0, &res));
  ASSERT_EQ(res, 5040U);
  ASSERT_OK(do_factorial(fd(), 8, EDU_WAIT_POLL, 0, &res));
  ASSERT_EQ(res, 40320U);
  const auto data = pattern(100, 1);
  std::vector<std::uint8_t> back(50);
  ASSERT_RET(100, ::pwrite(fd(), data.data(), 100, 10));
  ASSERT_RET(50, ::pread(fd(), back.data(), 50, 10));

  const auto after = stats(fd());
  EXPECT_EQ(after.factorial_ops, before.factorial_ops + 2);
  EXPECT_EQ(after.dma_ops, before.dma_ops + 2);
  EXPECT_EQ(after.dma_bytes, before.dma_bytes + 150);
  EXPECT_GE(after.irqs, before.irqs + 2) << "IRQ-mode factorial and DMA raise interrupts";
  EXPECT_EQ(after.errors, before.errors) << "successful operations are no errors";
  EXPECT_EQ(after.timeouts, before.timeouts);
}

TEST_F(Stats, CountersArePerDevice) {
  const auto nodes = edu_nodes();
  if (nodes.size() < 2) GTEST_SKIP() << "needs two edu devices";
  Fd other = open_node(nodes[1]);
  ASSERT_TRUE(other.valid());
  const auto before = stats(other.get());
  ASSERT_OK(do_factorial(fd(), 5, EDU_WAIT_DEFAULT, 0));
  const auto data = pattern(32, 2);
  ASSERT_RET(32, ::pwrite(fd(), data.data(), 32, 0));
  const auto after = stats(other.get());
  EXPECT_EQ(after.factorial_ops, before.factorial_ops);
  EXPECT_EQ(after.dma_ops, before.dma_ops);
  EXPECT_EQ(after.dma_bytes, before.dma_bytes);
}

// --------------------------------------------------------------------------
// REG_READ / REG_WRITE

edu_reg reg(std::uint32_t offset, std::uint32_t width, std::uint64_t value = 0) {
  edu_reg r{};
  r.offset = offset;
  r.width = width;
  r.value = value;
  return r;
}

TEST_F(Regs, ReadAllowedRegisters) {
  auto r = reg(0x00, 4);
  ASSERT_OK(::ioctl(fd(), EDU_IOC_REG_READ, &r));
  EXPECT_EQ(r.value, kIdRegister);
  EXPECT_EQ(r.reserved, 0U);

  edu_liveness lv{};
  lv.value = 0x13572468;
  ASSERT_OK(::ioctl(fd(), EDU_IOC_LIVENESS, &lv));
  r = reg(0x04, 4);
  ASSERT_OK(::ioctl(fd(), EDU_IOC_REG_READ, &r));
  EXPECT_EQ(r.value, ~0x13572468U & 0xffffffffU);

  for (std::uint32_t off : {0x08U, 0x20U, 0x24U}) {
    r = reg(off, 4, 0xffffffffffffffffULL);
    EXPECT_OK(::ioctl(fd(), EDU_IOC_REG_READ, &r)) << "offset " << hex(off);
    EXPECT_LE(r.value, 0xffffffffULL) << "a 4-byte register read is zero-extended";
  }
}

TEST_F(Regs, WriteLiveness) {
  auto w = reg(0x04, 4, 0xa5a5a5a5);
  ASSERT_OK(::ioctl(fd(), EDU_IOC_REG_WRITE, &w));
  auto r = reg(0x04, 4);
  ASSERT_OK(::ioctl(fd(), EDU_IOC_REG_READ, &r));
  EXPECT_EQ(r.value, 0x5a5a5a5aU);
}

TEST_F(Regs, DmaRegistersArePermissionDenied) {
  for (std::uint32_t off : {0x80U, 0x84U, 0x88U, 0x8cU, 0x90U, 0x94U, 0x98U, 0x9cU}) {
    auto r = reg(off, 4);
    EXPECT_ERRNO(EPERM, ::ioctl(fd(), EDU_IOC_REG_READ, &r)) << "read " << hex(off);
    auto w = reg(off, 4, 0);
    EXPECT_ERRNO(EPERM, ::ioctl(fd(), EDU_IOC_REG_WRITE, &w)) << "write " << hex(off);
  }
  for (std::uint32_t off : {0x80U, 0x88U, 0x90U, 0x98U}) {
    auto r = reg(off, 8);
    EXPECT_ERRNO(EPERM, ::ioctl(fd(), EDU_IOC_REG_READ, &r)) << "read64 " << hex(off);
    auto w = reg(off, 8, 0x40000);
    EXPECT_ERRNO(EPERM, ::ioctl(fd(), EDU_IOC_REG_WRITE, &w)) << "write64 " << hex(off);
  }
  expect_dma_works(fd());
}

TEST_F(Regs, DriverOwnedRegistersCannotBeWritten) {
  for (std::uint32_t off : {0x08U, 0x20U, 0x24U, 0x60U, 0x64U}) {
    auto w = reg(off, 4, 0);
    EXPECT_ERRNO(EPERM, ::ioctl(fd(), EDU_IOC_REG_WRITE, &w)) << "write " << hex(off);
  }
  expect_factorial_works(fd());
}

TEST_F(Regs, BadOffsetsAndWidths) {
  // Offsets that are neither allowed nor DMA registers.
  for (std::uint32_t off : {0x02U, 0x0cU, 0x10U, 0x1cU, 0x28U, 0x60U, 0x64U, 0x7cU, 0xa0U, 0x100U,
                            0xffffcU, 0x100000U, 0xfffffffcU}) {
    auto r = reg(off, 4);
    EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_REG_READ, &r)) << "read " << hex(off);
  }
  for (std::uint32_t off : {0x00U, 0x02U, 0x0cU, 0x10U, 0xa0U, 0x100U, 0x100000U, 0xfffffffcU}) {
    auto w = reg(off, 4, 0);
    EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_REG_WRITE, &w)) << "write " << hex(off);
  }
  for (std::uint32_t width : {0U, 1U, 2U, 3U, 5U, 8U, 16U, 0xffffffffU}) {
    auto r = reg(0x00, width);
    EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_REG_READ, &r)) << "read width " << width;
    auto w = reg(0x04, width, 1);
    EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_REG_WRITE, &w)) << "write width " << width;
  }
  auto w = reg(0x04, 4, 0x100000000ULL);
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_REG_WRITE, &w)) << "value wider than the register";
}

TEST_F(Regs, ReservedFieldsMustBeZero) {
  for (unsigned long cmd : {EDU_IOC_REG_READ, EDU_IOC_REG_WRITE}) {
    auto r = reg(0x04, 4);
    r.flags = 1;
    EXPECT_ERRNO(EINVAL, ::ioctl(fd(), cmd, &r)) << "flags";
    r = reg(0x04, 4);
    r.__pad = 1;
    EXPECT_ERRNO(EINVAL, ::ioctl(fd(), cmd, &r)) << "__pad";
    r = reg(0x04, 4);
    r.reserved = 1;
    EXPECT_ERRNO(EINVAL, ::ioctl(fd(), cmd, &r)) << "reserved";
  }
}

TEST_F(Regs, NonRootIsDenied) {
  // The file is opened as root; the child then drops to nobody, which
  // clears its capabilities. REG_* must check the caller, not the opener.
  const int status = run_in_child([&]() -> int {
    if (::setgroups(0, nullptr) != 0) return 10;
    if (::setresgid(65534, 65534, 65534) != 0) return 11;
    if (::setresuid(65534, 65534, 65534) != 0) return 12;
    int bad = 0;
    auto r = reg(0x00, 4);
    errno = 0;
    if (::ioctl(fd(), EDU_IOC_REG_READ, &r) != -1 || errno != EPERM) bad |= 1;
    auto w = reg(0x04, 4, 1);
    errno = 0;
    if (::ioctl(fd(), EDU_IOC_REG_WRITE, &w) != -1 || errno != EPERM) bad |= 2;
    edu_identify id{};
    if (::ioctl(fd(), EDU_IOC_IDENTIFY, &id) != 0 || id.id_register != kIdRegister) bad |= 4;
    edu_liveness lv{};
    lv.value = 7;
    if (::ioctl(fd(), EDU_IOC_LIVENESS, &lv) != 0 || lv.inverted != ~7U) bad |= 8;
    return bad == 0 ? 0 : 32 + bad;
  });
  ASSERT_GE(status, 0);
  ASSERT_NE(status, 10) << "setgroups failed";
  ASSERT_NE(status, 11) << "setresgid failed";
  ASSERT_NE(status, 12) << "setresuid failed";
  ASSERT_TRUE(status == 0 || (status >= 32 && status < 64)) << "child died: status " << status;
  const int bad = status == 0 ? 0 : status - 32;
  EXPECT_EQ(bad & 1, 0) << "REG_READ as nobody did not fail with EPERM";
  EXPECT_EQ(bad & 2, 0) << "REG_WRITE as nobody did not fail with EPERM";
  EXPECT_EQ(bad & 4, 0) << "IDENTIFY as nobody failed";
  EXPECT_EQ(bad & 8, 0) << "LIVENESS as nobody failed";
}

}  // namespace
}  // namespace edutest
