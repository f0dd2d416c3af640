// labdma ABI: identification, interrupts, the register window, resets and
// every bad input the ioctls can get (docs/labdma/uapi.md).
#include <cstdlib>
#include <fstream>
#include <thread>

#include <sys/ioctl.h>
#include <sys/wait.h>

#include "labdma_test_util.hpp"

namespace {

using namespace edutest;
using namespace labdmatest;

long env_count(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtol(v, nullptr, 10) : -1;
}

using Labdma = FullDeviceTest;

TEST(Identify, EveryFunctionIsBoundAndDescribesItself) {
  const auto all = nodes();
  long full = 0;
  long lite = 0;
  for (const auto& n : all) {
    SCOPED_TRACE(n.name);
    const labdma_info& i = n.info;
    EXPECT_EQ(i.id, kId);
    EXPECT_EQ(i.hw_version, kVersion);
    EXPECT_EQ(i.vendor, 0x1af4);
    EXPECT_EQ(i.channels, i.cap & 0xfU);
    EXPECT_EQ(i.ops_mask, (i.cap >> 8) & 0xffU);
    EXPECT_EQ(read_trimmed(n.cls / "channels"), std::to_string(i.channels));
    EXPECT_EQ("labdma" + std::to_string(i.index), n.name);
    EXPECT_EQ(i.ring_entries, 256U);
    EXPECT_GE(i.dma_mask_bits, 32U);
    EXPECT_GT(i.queue_depth, 0U);
    EXPECT_EQ(i.max_async, 4U << 20);
    EXPECT_EQ(read_trimmed(n.cls / "state"), "ok");
    if (i.variant == LABDMA_VARIANT_FULL) {
      ++full;
      EXPECT_EQ(i.device, 0x10f0);
      EXPECT_EQ(i.ops_mask, 0x3fU);
      EXPECT_EQ(i.max_xfer, 1U << 20);
      EXPECT_EQ(read_trimmed(n.cls / "variant"), "labdma");
      EXPECT_EQ(read_trimmed(n.cls / "ops"), "nop copy fill mul2 mul4 crc32c");
    } else if (i.variant == LABDMA_VARIANT_LITE) {
      ++lite;
      EXPECT_EQ(i.device, 0x10f1);
      EXPECT_EQ(i.channels, 1U);
      EXPECT_EQ(i.ops_mask, 0x07U);
      EXPECT_EQ(i.max_xfer, 64U << 10);
      EXPECT_EQ(read_trimmed(n.cls / "variant"), "labdma-lite");
      EXPECT_EQ(read_trimmed(n.cls / "ops"), "nop copy fill");
      EXPECT_NE(i.irq_mode, static_cast<std::uint32_t>(LABDMA_IRQ_MODE_MSIX))
          << "lite has no MSI-X";
    }
    Fd f = open_labdma(n);
    ASSERT_TRUE(f.valid());
    labdma_version v{};
    ASSERT_OK(::ioctl(f.get(), LABDMA_IOC_GET_VERSION, &v));
    EXPECT_EQ(v.abi, static_cast<std::uint32_t>(LABDMA_ABI_VERSION));
    EXPECT_EQ(v.hw_version, kVersion);
    EXPECT_NE(v.driver_caps & LABDMA_DRV_CAP_ASYNC, 0U);
    for (const auto r : v.reserved)
      EXPECT_EQ(r, 0U);
  }
  if (env_count("LABDMA_EXPECTED_FULL") >= 0) {
    EXPECT_EQ(full, env_count("LABDMA_EXPECTED_FULL"));
  }
  if (env_count("LABDMA_EXPECTED_LITE") >= 0) {
    EXPECT_EQ(lite, env_count("LABDMA_EXPECTED_LITE"));
  }
}

// Interrupt mode and vectors as the scenario asks (labdma.irq_mode=...),
// named in /proc/interrupts: labdmaN-err and labdmaN-chC with MSI-X.
TEST(Irq, ModeAndVectorsMatchTheScenario) {
  const char* want = std::getenv("LABDMA_EXPECTED_IRQ_MODE");
  const auto interrupts = read_file("/proc/interrupts").value_or("");
  for (const auto& n : nodes()) {
    SCOPED_TRACE(n.name);
    const std::string mode = read_trimmed(n.cls / "irq_mode");
    if (want != nullptr && (n.info.variant != LABDMA_VARIANT_LITE || std::string(want) != "msix")) {
      EXPECT_EQ(mode, want);
    }
    EXPECT_EQ(read_trimmed(n.cls / "irq_vectors"), std::to_string(n.info.irq_vectors));
    if (mode == "msix") {
      EXPECT_EQ(n.info.irq_mode, static_cast<std::uint32_t>(LABDMA_IRQ_MODE_MSIX));
      EXPECT_GE(n.info.irq_vectors, 2U);
      EXPECT_LE(n.info.irq_vectors, n.info.channels + 1);
      EXPECT_NE(interrupts.find(n.name + "-err"), std::string::npos) << interrupts;
      EXPECT_NE(interrupts.find(n.name + "-ch0"), std::string::npos) << interrupts;
      // each channel's VECTOR register names a vector it has
      Fd f = open_labdma(n);
      for (unsigned c = 0; c < n.info.channels; ++c) {
        labdma_reg r = reg(chan_reg(c, kChVector));
        ASSERT_OK(::ioctl(f.get(), LABDMA_IOC_REG_READ, &r));
        EXPECT_GE(r.value, 1U);
        EXPECT_LT(r.value, n.info.irq_vectors);
      }
    } else {
      EXPECT_EQ(n.info.irq_vectors, 1U);
      EXPECT_NE(interrupts.find(n.name), std::string::npos) << interrupts;
    }
  }
}

TEST_F(Labdma, DointRoundTripsAreCountedAndTimed) {
  const auto before = stats_of(fd());
  labdma_doint d{};
  ASSERT_OK(::ioctl(fd(), LABDMA_IOC_DOINT, &d));
  EXPECT_GE(d.count, before.test_irqs + 1);
  EXPECT_GT(d.latency_ns, 0U);
  EXPECT_LT(d.latency_ns, 1'000'000'000ULL);
  labdma_doint all = doint(0xff);
  ASSERT_OK(::ioctl(fd(), LABDMA_IOC_DOINT, &all));
  EXPECT_GE(all.count, d.count + 8);
  EXPECT_EQ(read_trimmed(node_.cls / "statistics/test_irqs"),
            std::to_string(stats_of(fd()).test_irqs));
  labdma_doint bad = doint(0x100);
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), LABDMA_IOC_DOINT, &bad));
  labdma_doint out_set{};
  out_set.count = 1;
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), LABDMA_IOC_DOINT, &out_set));
  labdma_doint res{};
  res.reserved[1] = 1;
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), LABDMA_IOC_DOINT, &res));
  labdma_doint slow{};
  slow.timeout_ms = 60001;
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), LABDMA_IOC_DOINT, &slow));
}

// Several threads raising the same and different bits: each sees its own.
TEST_F(Labdma, DointFromManyThreads) {
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        labdma_doint d = doint((i % 2 != 0) ? 1U : (1U << t));
        if (::ioctl(fd(), LABDMA_IOC_DOINT, &d) != 0) ++failures;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(Labdma, UnknownAndMalformedIoctls) {
  std::array<std::uint8_t, 256> buf{};
  EXPECT_ERRNO(ENOTTY, ::ioctl(fd(), _IOR(LABDMA_IOC_MAGIC, 0x7f, std::uint64_t), buf.data()));
  EXPECT_ERRNO(ENOTTY, ::ioctl(fd(), _IOR('E', 0x01, struct labdma_info), buf.data()));
  // a known number with the wrong size is another command
  EXPECT_ERRNO(ENOTTY, ::ioctl(fd(), _IOWR(LABDMA_IOC_MAGIC, 0x08, std::uint64_t), buf.data()));
  for (const unsigned long cmd : {LABDMA_IOC_GET_VERSION, LABDMA_IOC_IDENTIFY, LABDMA_IOC_DOINT,
                                  LABDMA_IOC_REG_READ, LABDMA_IOC_RESET, LABDMA_IOC_MUL2,
                                  LABDMA_IOC_SUBMIT, LABDMA_IOC_COMPLETE, LABDMA_IOC_STATS}) {
    SCOPED_TRACE(hex(cmd));
    EXPECT_ERRNO(EFAULT, ::ioctl(fd(), cmd, null_buffer()));
    EXPECT_ERRNO(EFAULT, ::ioctl(fd(), cmd, unmapped_address()));
    EXPECT_ERRNO(EFAULT, ::ioctl(fd(), cmd, kKernelAddress));
  }
  // output-only structures into read-only memory
  const Mapping ro = anon_map(page_size(), PROT_READ);
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), LABDMA_IOC_IDENTIFY, ro.data()));
  EXPECT_ERRNO(EFAULT, ::ioctl(fd(), LABDMA_IOC_STATS, ro.data()));
}

TEST_F(Labdma, RegistersReadAsTheDatasheetSays) {
  labdma_reg r = reg(kRegId);
  ASSERT_OK(::ioctl(fd(), LABDMA_IOC_REG_READ, &r));
  EXPECT_EQ(r.value, kId);
  r = reg(kRegCap);
  ASSERT_OK(::ioctl(fd(), LABDMA_IOC_REG_READ, &r));
  EXPECT_EQ(r.value, node_.info.cap);
  r = reg(kRegCtrl);
  ASSERT_OK(::ioctl(fd(), LABDMA_IOC_REG_READ, &r));
  EXPECT_EQ(r.value, 1U) << "ENABLE";
  for (unsigned c = 0; c < node_.info.channels; ++c) {
    r = reg(chan_reg(c, kChStatus));
    ASSERT_OK(::ioctl(fd(), LABDMA_IOC_REG_READ, &r));
    EXPECT_NE(r.value & 3U, 2U) << "channel " << c << " halted";
    r = reg(chan_reg(c, 0x14));
    ASSERT_OK(::ioctl(fd(), LABDMA_IOC_REG_READ, &r));
    EXPECT_EQ(r.value & 0x9U, 0x9U) << "channel " << c << ": RUN|IRQ_EN";
  }
  // SCRATCH is software's
  labdma_reg w = reg(kRegScratch, 0x5a5aa5a5);
  ASSERT_OK(::ioctl(fd(), LABDMA_IOC_REG_WRITE, &w));
  r = reg(kRegScratch);
  ASSERT_OK(::ioctl(fd(), LABDMA_IOC_REG_READ, &r));
  EXPECT_EQ(r.value, 0x5a5aa5a5U);
  // INT_TEST bits raise test interrupts the driver counts
  const auto before = stats_of(fd()).test_irqs;
  w = reg(kRegIntTest, 1U << 31);
  ASSERT_OK(::ioctl(fd(), LABDMA_IOC_REG_WRITE, &w));
  EXPECT_TRUE(wait_until([&] { return stats_of(fd()).test_irqs > before; }, 5s));
}

TEST_F(Labdma, RegisterAccessIsChecked) {
  const std::uint32_t nch = node_.info.channels;
  for (const std::uint32_t off :
       {0x001U, 0x002U, 0x028U, 0x02cU, 0x030U, 0x040U, 0x0fcU, 0x100U, 0x1044U, 0x10fcU,
        chan_reg(nch, 0), 0x3ffcU, 0x4000U, 0xfffffffcU}) {
    SCOPED_TRACE(hex(off));
    labdma_reg r = reg(off);
    EXPECT_ERRNO(EINVAL, ::ioctl(fd(), LABDMA_IOC_REG_READ, &r));
  }
  // ring, write-back, doorbell, control and vector registers steer DMA
  for (unsigned c = 0; c < nch; ++c) {
    for (std::uint32_t r = 0; r <= 0x40; r += 4) {
      SCOPED_TRACE(hex(chan_reg(c, r)));
      labdma_reg w = labdmatest::reg(chan_reg(c, r));
      EXPECT_ERRNO(EPERM, ::ioctl(fd(), LABDMA_IOC_REG_WRITE, &w));
    }
  }
  for (const std::uint32_t off : {kRegId, kRegCtrl, kRegIntStatus, kRegIntMaskSet, 0x02cU}) {
    SCOPED_TRACE(hex(off));
    labdma_reg w = reg(off, 0);
    EXPECT_ERRNO(EPERM, ::ioctl(fd(), LABDMA_IOC_REG_WRITE, &w));
  }
  labdma_reg w = reg(0x0fc, 0);
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), LABDMA_IOC_REG_WRITE, &w));
  w = reg(kRegIntTest, 1);
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), LABDMA_IOC_REG_WRITE, &w)) << "only TEST bits 24..31";
  labdma_reg res = reg(kRegId);
  res.reserved = 1;
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), LABDMA_IOC_REG_READ, &res));
  // the device is untouched: a transfer on every channel works
  for (unsigned c = 0; c < nch; ++c)
    expect_copy_works(fd(), c);
}

// Register access and resets need CAP_SYS_ADMIN; the rest of the ABI not.
TEST_F(Labdma, PrivilegedIoctlsNeedCapSysAdmin) {
  const int fdv = fd();
  const int rc = run_in_child([fdv] {
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) return 10;
    labdma_reg r = reg(kRegId);
    if (::ioctl(fdv, LABDMA_IOC_REG_READ, &r) != -1 || errno != EPERM) return 1;
    labdma_reg w = reg(kRegScratch);
    if (::ioctl(fdv, LABDMA_IOC_REG_WRITE, &w) != -1 || errno != EPERM) return 2;
    labdma_reset z{};
    if (::ioctl(fdv, LABDMA_IOC_RESET, &z) != -1 || errno != EPERM) return 3;
    labdma_doint d{};
    if (::ioctl(fdv, LABDMA_IOC_DOINT, &d) != 0) return 4;
    std::vector<std::uint8_t> src(4096, 7);
    std::vector<std::uint8_t> dst(4096, 0);
    auto s = op(LABDMA_OP_COPY, src.data(), dst.data(), src.size());
    if (::ioctl(fdv, LABDMA_IOC_SUBMIT, &s) != 0 || dst != src) return 5;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "child step " << rc << " failed";
}

TEST_F(Labdma, ChannelAndDeviceResetsLeaveItUsable) {
  const auto before = stats_of(fd());
  for (unsigned c = 0; c < node_.info.channels; ++c) {
    labdma_reset r = reset_args(LABDMA_RESET_CHANNEL, c);
    ASSERT_OK(::ioctl(fd(), LABDMA_IOC_RESET, &r));
    expect_copy_works(fd(), c);
  }
  labdma_reset dev = reset_args(LABDMA_RESET_DEVICE);
  ASSERT_OK(::ioctl(fd(), LABDMA_IOC_RESET, &dev));
  labdma_reg r = reg(kRegScratch);
  ASSERT_OK(::ioctl(fd(), LABDMA_IOC_REG_READ, &r));
  EXPECT_EQ(r.value, 0U) << "a soft reset clears SCRATCH";
  for (unsigned c = 0; c < node_.info.channels; ++c)
    expect_copy_works(fd(), c);
  labdma_doint d{};
  EXPECT_OK(::ioctl(fd(), LABDMA_IOC_DOINT, &d));
  EXPECT_GE(stats_of(fd()).channel_resets, before.channel_resets + 2ULL * node_.info.channels);

  labdma_reset bad = reset_args(2);
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), LABDMA_IOC_RESET, &bad));
  bad = reset_args(LABDMA_RESET_CHANNEL, node_.info.channels);
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), LABDMA_IOC_RESET, &bad));
  bad = reset_args(LABDMA_RESET_DEVICE, 1);
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), LABDMA_IOC_RESET, &bad));
  bad = reset_args(LABDMA_RESET_DEVICE);
  bad.reserved[0] = 1;
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), LABDMA_IOC_RESET, &bad));
}

// A reset while other threads keep transfers going: none of them fails.
TEST_F(Labdma, ResetsUnderLoadLoseNothing) {
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  threads.reserve(3);
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      const auto src = pattern(256 << 10, 50 + t);
      std::vector<std::uint8_t> dst(src.size());
      while (!stop) {
        std::fill(dst.begin(), dst.end(), 0);
        auto s = op(LABDMA_OP_COPY, src.data(), dst.data(), src.size());
        if (::ioctl(fd(), LABDMA_IOC_SUBMIT, &s) != 0 || dst != src) ++bad;
        ++done;
      }
    });
  }
  for (int i = 0; i < 10; ++i) {
    const bool device = i % 3 == 2;
    labdma_reset r = reset_args(device ? LABDMA_RESET_DEVICE : LABDMA_RESET_CHANNEL,
                                device ? 0U : i % node_.info.channels);
    EXPECT_OK(::ioctl(fd(), LABDMA_IOC_RESET, &r));
    std::this_thread::sleep_for(20ms);
  }
  stop = true;
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(bad.load(), 0) << "of " << done.load();
  EXPECT_GT(done.load(), 3);
}

TEST(Sysfs, TunablesAreCheckedAndApplied) {
  const auto n = first_of(LABDMA_VARIANT_FULL);
  ASSERT_TRUE(n);
  const fs::path q = n->cls / "queue_depth";
  const std::string old = read_trimmed(q);
  EXPECT_TRUE(write_file(q, "0").rc < 0);
  EXPECT_TRUE(write_file(q, "1025").rc < 0);
  EXPECT_TRUE(write_file(q, "abc").rc < 0);
  ASSERT_OK(write_file(q, "7"));
  Fd f = open_labdma(*n);
  EXPECT_EQ(info_of(f.get()).queue_depth, 7U);
  ASSERT_OK(write_file(q, old));
  EXPECT_TRUE(write_file(n->cls / "timeout_ms", "60001").rc < 0);
  EXPECT_TRUE(write_file(n->cls / "max_async", "1").rc < 0);
  for (const char* c : {"irqs", "test_irqs", "spurious_irqs", "lost_irqs", "descs", "bytes",
                        "submits", "errors", "timeouts", "channel_resets", "recoveries"}) {
    EXPECT_TRUE(parse_u64(read_trimmed(n->cls / "statistics" / c)).has_value()) << c;
  }
}

TEST(Debugfs, RegistersAndChannelsAreShown) {
  const auto n = first_of(LABDMA_VARIANT_FULL);
  ASSERT_TRUE(n);
  const fs::path dir = fs::path("/sys/kernel/debug/labdma") / n->name;
  if (!fs::exists(dir)) GTEST_SKIP() << "debugfs not mounted";
  const auto regs = read_file(dir / "registers").value_or("");
  EXPECT_NE(regs.find("id          0x4c444d41"), std::string::npos) << regs;
  EXPECT_NE(regs.find("ch0.ring_size   0x00000100"), std::string::npos) << regs;
  const auto chans = read_file(dir / "channels").value_or("");
  EXPECT_NE(chans.find("channel 0: running"), std::string::npos) << chans;
}

}  // namespace
