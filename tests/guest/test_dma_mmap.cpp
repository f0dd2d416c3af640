// mmap of the per-open staging buffer and EDU_IOC_DMA_STAGING (docs/uapi.md,
// "mmap (staging buffer)" and the ioctl table).
#include <array>
#include <cstring>
#include <thread>

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/edu.h>

#include "edu_test_util.hpp"

namespace edutest {
namespace {

Mapping map_staging(int fd, std::size_t len, int prot = PROT_READ | PROT_WRITE,
                    int flags = MAP_SHARED, off_t off = 0) {
  void* p = ::mmap(nullptr, len, prot, flags, fd, off);
  if (p == MAP_FAILED) return {};
  return {p, len};
}

class DmaMmap : public EduTest {
 protected:
  [[nodiscard]] std::size_t staging() const { return id_.staging_size; }
};
class DmaStaging : public DmaMmap {};

TEST_F(DmaMmap, BadOffsetLengthOrPrivateMappingIsInvalid) {
  const std::size_t ps = page_size();
  const std::size_t s = staging();
  auto try_map = [&](std::size_t len, int prot, int flags, off_t off) {
    void* p = ::mmap(nullptr, len, prot, flags, fd(), off);
    const Ret r = R(p);
    if (p != MAP_FAILED) ::munmap(p, len);
    return r;
  };
  EXPECT_ERRNO(EINVAL, try_map(s + ps, PROT_READ | PROT_WRITE, MAP_SHARED, 0)) << "too long";
  EXPECT_ERRNO(EINVAL, try_map(2 * s, PROT_READ, MAP_SHARED, 0)) << "too long";
  EXPECT_ERRNO(EINVAL, try_map(ps, PROT_READ | PROT_WRITE, MAP_SHARED, static_cast<off_t>(ps)))
      << "offset must be 0";
  EXPECT_ERRNO(EINVAL, try_map(ps, PROT_READ | PROT_WRITE, MAP_SHARED, static_cast<off_t>(s)))
      << "offset must be 0";
  EXPECT_ERRNO(EINVAL, try_map(ps, PROT_READ, MAP_SHARED, off_t{1} << 40)) << "offset must be 0";
  EXPECT_ERRNO(EINVAL, try_map(ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0)) << "private writable";
  EXPECT_ERRNO(EINVAL, try_map(s, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0)) << "private writable";
  EXPECT_ERRNO(EINVAL, try_map(0, PROT_READ, MAP_SHARED, 0)) << "empty";

  EXPECT_OK(try_map(s, PROT_READ | PROT_WRITE, MAP_SHARED, 0)) << "the whole buffer";
  EXPECT_OK(try_map(ps, PROT_READ | PROT_WRITE, MAP_SHARED, 0)) << "a prefix";
  EXPECT_OK(try_map(s, PROT_READ, MAP_SHARED, 0)) << "read-only";
  EXPECT_OK(try_map(s - ps + 1, PROT_READ, MAP_SHARED, 0)) << "length is page-rounded";
}

TEST_F(DmaMmap, PatternGoesThroughTheDeviceAndBack) {
  Mapping m = map_staging(fd(), staging());
  ASSERT_TRUE(m.valid()) << errno_name(errno);
  struct Case {
    std::uint64_t soff, doff, len;
  };
  const std::size_t ps = page_size();
  const auto cases = std::to_array<Case>({
      {0, 0, kWindow},
      {staging() - 100, 3995, 100},  // end of staging buffer and of the window
      {std::min<std::uint64_t>(ps - 10, staging() - 2000), 7, 2000},  // crosses a page
      {1, 4094, 1},
  });
  std::uint64_t seed = 1100;
  for (const auto& c : cases) {
    fill_pattern({m.data() + c.soff, c.len}, seed++);
    const std::uint32_t want = crc32({m.data() + c.soff, c.len});
    ASSERT_OK(dma_staging(fd(), EDU_DMA_TO_DEVICE, c.soff, c.doff, c.len));
    std::memset(m.data(), 0, m.size());
    ASSERT_OK(dma_staging(fd(), EDU_DMA_FROM_DEVICE, c.soff, c.doff, c.len));
    EXPECT_EQ(crc32({m.data() + c.soff, c.len}), want)
        << "staging offset " << c.soff << " device offset " << c.doff << " length " << c.len;
    if (c.soff > 0) {
      EXPECT_EQ(m.data()[c.soff - 1], 0) << "DMA wrote before its range";
    }
    if (c.soff + c.len < m.size()) {
      EXPECT_EQ(m.data()[c.soff + c.len], 0) << "DMA wrote past its range";
    }
  }
}

TEST_F(DmaMmap, StagingAndReadWriteSeeTheSameDeviceBuffer) {
  Mapping m = map_staging(fd(), staging());
  ASSERT_TRUE(m.valid()) << errno_name(errno);
  // staging -> device, then read(2)
  fill_pattern({m.data(), 1500}, 1200);
  ASSERT_OK(dma_staging(fd(), EDU_DMA_TO_DEVICE, 0, 600, 1500));
  std::vector<std::uint8_t> back(1500, 0);
  ASSERT_RET(1500, ::pread(fd(), back.data(), 1500, 600));
  EXPECT_EQ(crc32(back), crc32({m.data(), 1500}));
  // write(2), then device -> staging
  const auto data = pattern(900, 1201);
  ASSERT_RET(900, ::pwrite(fd(), data.data(), 900, 3000));
  const std::size_t soff = staging() - 900;
  ASSERT_OK(dma_staging(fd(), EDU_DMA_FROM_DEVICE, soff, 3000, 900));
  EXPECT_EQ(crc32({m.data() + soff, 900}), crc32(data));
}

TEST_F(DmaMmap, EveryWaitModeMovesTheData) {
  Mapping m = map_staging(fd(), staging());
  ASSERT_TRUE(m.valid()) << errno_name(errno);
  std::uint64_t seed = 1300;
  for (std::uint32_t mode : {EDU_WAIT_DEFAULT, EDU_WAIT_IRQ, EDU_WAIT_POLL, EDU_WAIT_HYBRID}) {
    fill_pattern({m.data(), 777}, seed++);
    const std::uint32_t want = crc32({m.data(), 777});
    ASSERT_OK(dma_staging(fd(), EDU_DMA_TO_DEVICE, 0, 100, 777, mode)) << "mode " << mode;
    std::memset(m.data(), 0, 777);
    ASSERT_OK(dma_staging(fd(), EDU_DMA_FROM_DEVICE, 0, 100, 777, mode)) << "mode " << mode;
    EXPECT_EQ(crc32({m.data(), 777}), want) << "mode " << mode;
  }
}

TEST_F(DmaMmap, EachOpenFileHasItsOwnBuffer) {
  Fd other = open_node(node_);
  ASSERT_TRUE(other.valid());
  Mapping a = map_staging(fd(), page_size());
  Mapping b = map_staging(other.get(), page_size());
  ASSERT_TRUE(a.valid() && b.valid());
  fill_pattern(a.span(), 1400);
  fill_pattern(b.span(), 1401);
  EXPECT_NE(crc32(a.span()), crc32(b.span())) << "two files share one staging buffer";
  const std::uint32_t crc_a = crc32({a.data(), 1000});
  ASSERT_OK(dma_staging(fd(), EDU_DMA_TO_DEVICE, 0, 0, 1000));
  ASSERT_OK(dma_staging(other.get(), EDU_DMA_FROM_DEVICE, 0, 0, 1000));
  EXPECT_EQ(crc32({b.data(), 1000}), crc_a) << "device -> other file's buffer";
  EXPECT_EQ(crc32({a.data(), 1000}), crc_a) << "the first buffer changed";
}

TEST_F(DmaMmap, TwoMappingsOfOneFileShareTheBuffer) {
  Mapping a = map_staging(fd(), staging());
  Mapping b = map_staging(fd(), staging(), PROT_READ);
  ASSERT_TRUE(a.valid() && b.valid());
  fill_pattern(a.span(), 1500);
  EXPECT_EQ(crc32(b.span()), crc32(a.span()));
}

TEST_F(DmaMmap, MappingOutlivesTheFile) {
  Fd f = open_node(node_);
  ASSERT_TRUE(f.valid());
  Mapping m = map_staging(f.get(), staging());
  ASSERT_TRUE(m.valid());
  fill_pattern(m.span(), 1600);
  ASSERT_OK(dma_staging(f.get(), EDU_DMA_TO_DEVICE, 0, 0, 512));
  const std::uint32_t want = crc32(m.span());
  const std::uint32_t sent = crc32({m.data(), 512});
  f.reset();  // close: the buffer lives until the mapping is gone
  EXPECT_EQ(crc32(m.span()), want) << "staging buffer changed or freed at close";
  std::memset(m.data(), 0x5a, m.size());  // still writable, no SIGBUS
  EXPECT_EQ(m.data()[m.size() - 1], 0x5a);
  std::vector<std::uint8_t> back(512, 0);
  ASSERT_RET(512, ::pread(fd(), back.data(), 512, 0));
  EXPECT_EQ(crc32(back), sent) << "the device buffer keeps what was sent";
}

TEST_F(DmaMmap, StagingWorksWithoutAMapping) {
  // The buffer is allocated on first use: device -> staging -> device
  // moves data from one place of the device buffer to another.
  const auto data = pattern(1024, 1700);
  ASSERT_RET(1024, ::pwrite(fd(), data.data(), 1024, 0));
  const std::uint64_t soff = staging() - 1024;
  ASSERT_OK(dma_staging(fd(), EDU_DMA_FROM_DEVICE, soff, 0, 1024));
  ASSERT_OK(dma_staging(fd(), EDU_DMA_TO_DEVICE, soff, 2048, 1024));
  std::vector<std::uint8_t> back(1024, 0);
  ASSERT_RET(1024, ::pread(fd(), back.data(), 1024, 2048));
  EXPECT_EQ(first_mismatch(data, back), -1);
}

// Opens are unbounded; the coherent memory they hold is not: a per-device
// budget (sysfs staging_budget, bytes) makes the allocation beyond it fail
// with ENOMEM, and a closed file gives its share back.
TEST_F(DmaMmap, StagingBudgetBoundsCoherentMemory) {
  const fs::path budget_attr = node_.cls / "staging_budget";
  const fs::path used_attr = node_.cls / "staging_used";
  const std::string saved = read_trimmed(budget_attr);
  ASSERT_FALSE(saved.empty()) << budget_attr << " missing";
  const std::uint64_t base = std::stoull(read_trimmed(used_attr));
  // NOLINTNEXTLINE(cppcoreguidelines-special-member-functions): an aggregate, never copied
  struct Restore {
    fs::path p;
    std::string v;
    ~Restore() { (void)write_file(p, v); }
  } restore{budget_attr, saved};
  ASSERT_OK(write_file(budget_attr, std::to_string(base + 3 * staging())));

  std::vector<Fd> files;
  std::vector<Mapping> maps;
  for (int i = 0; i < 3; ++i) {
    files.push_back(open_node(node_));
    ASSERT_TRUE(files.back().valid());
    maps.push_back(map_staging(files.back().get(), staging()));
    ASSERT_TRUE(maps.back().valid()) << "file " << i << " within the budget";
  }
  EXPECT_EQ(std::stoull(read_trimmed(used_attr)), base + 3 * staging());
  Fd extra = open_node(node_);
  ASSERT_TRUE(extra.valid()) << "opening needs no staging memory";
  void* p = ::mmap(nullptr, staging(), PROT_READ | PROT_WRITE, MAP_SHARED, extra.get(), 0);
  EXPECT_EQ(p, MAP_FAILED) << "mmap beyond the staging budget";
  EXPECT_EQ(errno, ENOMEM);
  if (p != MAP_FAILED) ::munmap(p, staging());
  EXPECT_ERRNO(ENOMEM, dma_staging(extra.get(), EDU_DMA_TO_DEVICE, 0, 0, 64))
      << "DMA_STAGING beyond the budget";
  EXPECT_RET(64, ::pwrite(extra.get(), std::array<std::uint8_t, 64>{}.data(), 64, 0))
      << "read/write need no staging memory";

  maps.pop_back();
  files.pop_back();  // closed: its buffer is freed
  EXPECT_EQ(std::stoull(read_trimmed(used_attr)), base + 2 * staging());
  Mapping m = map_staging(extra.get(), staging());
  EXPECT_TRUE(m.valid()) << "a closed file's share was not given back";
  EXPECT_ERRNO(EINVAL, write_file(budget_attr, "lots")) << "a non-number";
}

// --------------------------------------------------------------------------
// Validation

TEST_F(DmaStaging, InvalidRangesAndLengths) {
  const std::uint64_t s = staging();
  const auto before = stats(fd());
  struct Case {
    std::uint64_t soff, doff, len;
    const char* what;
  };
  const auto cases = std::to_array<Case>({
      {0, 0, 0, "length 0"},
      {0, 0, 4096, "length past the window"},
      {0, 0, 1ULL << 40, "huge length"},
      {0, 0, ~0ULL, "length UINT64_MAX"},
      {0, 1, 4095, "device range past the window"},
      {0, 4095, 1, "device offset at the window end"},
      {0, 4096, 1, "device offset past the window"},
      {0, ~0ULL - 5, 10, "device offset + length overflows"},
      {s, 0, 1, "staging offset at the buffer end"},
      {s - 10, 0, 11, "staging range past the buffer"},
      {~0ULL, 0, 1, "staging offset UINT64_MAX"},
      {~0ULL - 5, 0, 10, "staging offset + length overflows"},
  });
  for (const auto& c : cases) {
    for (std::uint32_t dir : {EDU_DMA_TO_DEVICE, EDU_DMA_FROM_DEVICE}) {
      EXPECT_ERRNO(EINVAL, dma_staging(fd(), dir, c.soff, c.doff, c.len))
          << c.what << " (direction " << dir << ")";
    }
  }
  EXPECT_EQ(stats(fd()).dma_ops, before.dma_ops) << "a rejected request started a DMA";
}

TEST_F(DmaStaging, InvalidDirectionFlagsAndReserved) {
  const auto before = stats(fd());
  for (std::uint32_t dir : {0U, static_cast<std::uint32_t>(EDU_DMA_LOOPBACK), 4U, 0xffffffffU}) {
    EXPECT_ERRNO(EINVAL, dma_staging(fd(), dir, 0, 0, 16)) << "direction " << dir;
  }
  for (std::uint32_t flags : {1U << 2, 1U << 3, 1U << 5, 1U << 31, EDU_OP_ASYNC | EDU_WAIT_IRQ,
                              EDU_OP_ASYNC | EDU_WAIT_POLL, EDU_OP_ASYNC | EDU_WAIT_HYBRID}) {
    EXPECT_ERRNO(EINVAL, dma_staging(fd(), EDU_DMA_TO_DEVICE, 0, 0, 16, flags))
        << "flags " << hex(flags);
  }
  for (int i = 0; i < 2; ++i) {
    edu_dma_staging st{};
    st.direction = EDU_DMA_TO_DEVICE;
    st.length = 16;
    st.reserved[i] = 1;
    EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_DMA_STAGING, &st)) << "reserved[" << i << "]";
  }
  EXPECT_EQ(stats(fd()).dma_ops, before.dma_ops) << "a rejected request started a DMA";
}

TEST_F(DmaStaging, CountsInStats) {
  const auto before = stats(fd());
  ASSERT_OK(dma_staging(fd(), EDU_DMA_TO_DEVICE, 0, 0, 333));
  ASSERT_OK(dma_staging(fd(), EDU_DMA_FROM_DEVICE, 0, 0, 444));
  const auto after = stats(fd());
  EXPECT_EQ(after.dma_ops, before.dma_ops + 2);
  EXPECT_EQ(after.dma_bytes, before.dma_bytes + 777);
}

TEST_F(DmaStaging, BusyEngineNonblockAndSignals) {
  EngineHammer hammer(node_, 2, 2048, 1000);
  ASSERT_TRUE(hammer.wait_started()) << hammer.failure();
  Fd nb = open_node(node_, O_RDWR | O_NONBLOCK);
  ASSERT_TRUE(nb.valid());
  int eagain = 0;
  for (int i = 0; i < 20 && eagain == 0; ++i) {
    std::this_thread::sleep_for(30ms);  // let the hammers queue for the engine
    const Ret r = dma_staging(nb.get(), EDU_DMA_TO_DEVICE, 0, 0, 64);
    if (r.rc < 0) {
      EXPECT_EQ(r.err, EAGAIN) << errno_name(r.err);
      eagain += static_cast<int>(r.err == EAGAIN);
    }
  }
  EXPECT_GT(eagain, 0) << "O_NONBLOCK DMA_STAGING never saw -EAGAIN while the engine was busy";

  SignalCatcher sig(SIGALRM);
  int eintr = 0;
  for (int i = 0; i < 20 && eintr == 0; ++i) {
    std::this_thread::sleep_for(30ms);
    ThreadTimer timer(SIGALRM, 20ms, 20ms);
    const Ret r = dma_staging(fd(), EDU_DMA_FROM_DEVICE, 0, 0, 64,
                              (i % 2) != 0 ? EDU_WAIT_IRQ : EDU_WAIT_POLL);
    timer.cancel();
    if (r.rc < 0) {
      EXPECT_EQ(r.err, EINTR) << errno_name(r.err);
      eintr += static_cast<int>(r.err == EINTR);
    }
  }
  EXPECT_GT(eintr, 0) << "a signal never interrupted DMA_STAGING waiting for the engine";
  hammer.stop();
  EXPECT_EQ(hammer.failure(), "");
  expect_dma_works(fd());
}

}  // namespace
}  // namespace edutest
