// EDU_IOC_DMA_USER: pinned user memory <-> device, any alignment, LOOPBACK
// streaming through the window in chunks; `done` on success and on error
// (docs/uapi.md, ioctl table).
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/edu.h>

#include "edu_test_util.hpp"

namespace edutest {
namespace {

struct UserResult {
  Ret ret;
  std::uint64_t done;
};

UserResult dma_user(int fd, std::uint32_t dir, const void* src, void* dst, std::uint64_t len,
                    std::uint64_t doff = 0) {
  edu_dma_user u{};
  u.direction = dir;
  u.src = uptr(src);
  u.dst = uptr(dst);
  u.length = len;
  u.device_offset = doff;
  u.done = 0xdeadbeefdeadbeefULL;
  const Ret r = R(::ioctl(fd, EDU_IOC_DMA_USER, &u));
  return {r, u.done};
}

UserResult to_device(int fd, const void* src, std::uint64_t len, std::uint64_t doff) {
  return dma_user(fd, EDU_DMA_TO_DEVICE, src, nullptr, len, doff);
}
UserResult from_device(int fd, void* dst, std::uint64_t len, std::uint64_t doff) {
  return dma_user(fd, EDU_DMA_FROM_DEVICE, nullptr, dst, len, doff);
}
UserResult loopback(int fd, const void* src, void* dst, std::uint64_t len) {
  return dma_user(fd, EDU_DMA_LOOPBACK, src, dst, len, 0);
}

class DmaUser : public EduTest {};

// dma_user() presets done to 0xdeadbeefdeadbeef.
constexpr const char* kDoneOnError =
    "`done` must be written on error too (docs/uapi.md: \"done = bytes that reached their "
    "destination (also on error)\"); 0xdeadbeefdeadbeef = left unwritten";

TEST_F(DmaUser, ToAndFromDeviceWithUnalignedBuffers) {
  const std::size_t ps = page_size();
  Mapping src = anon_map(3 * ps);
  Mapping dst = anon_map(3 * ps);
  ASSERT_TRUE(src.valid() && dst.valid());
  struct Case {
    std::size_t soff, doff_user;
    std::uint32_t dev_off, len;
  };
  const auto cases = std::to_array<Case>({
      {1, 3, 0, kWindow},              // odd addresses, whole window
      {ps - 5, ps - 1000, 100, 3000},  // both cross a page boundary
      {7, 2 * ps - 3, 4000, 95},       // to the end of the window
      {ps - 1, ps + 1, 4094, 1},       // last usable byte
      {2 * ps - 2048, 5, 1, 4094},
  });
  std::uint64_t seed = 2000;
  for (const auto& c : cases) {
    fill_pattern({src.data() + c.soff, c.len}, seed++);
    std::memset(dst.data(), 0, dst.size());
    const auto w = to_device(fd(), src.data() + c.soff, c.len, c.dev_off);
    ASSERT_OK(w.ret) << "TO_DEVICE device offset " << c.dev_off;
    EXPECT_EQ(w.done, c.len);
    const auto r = from_device(fd(), dst.data() + c.doff_user, c.len, c.dev_off);
    ASSERT_OK(r.ret) << "FROM_DEVICE device offset " << c.dev_off;
    EXPECT_EQ(r.done, c.len);
    EXPECT_EQ(crc32({dst.data() + c.doff_user, c.len}), crc32({src.data() + c.soff, c.len}))
        << "device offset " << c.dev_off << " length " << c.len;
    EXPECT_EQ(dst.data()[c.doff_user - 1], 0) << "wrote before the destination";
    EXPECT_EQ(dst.data()[c.doff_user + c.len], 0) << "wrote past the destination";
  }
}

TEST_F(DmaUser, AgreesWithReadAndWrite) {
  const auto data = pattern(2222, 2100);
  const auto w = to_device(fd(), data.data(), data.size(), 1111);
  ASSERT_OK(w.ret);
  std::vector<std::uint8_t> back(2222, 0);
  ASSERT_RET(2222, ::pread(fd(), back.data(), 2222, 1111));
  EXPECT_EQ(first_mismatch(data, back), -1);
  const auto data2 = pattern(999, 2101);
  ASSERT_RET(999, ::pwrite(fd(), data2.data(), 999, 5));
  std::vector<std::uint8_t> back2(999, 0);
  const auto r = from_device(fd(), back2.data(), 999, 5);
  ASSERT_OK(r.ret);
  EXPECT_EQ(first_mismatch(data2, back2), -1);
}

TEST_F(DmaUser, ShortCountsAtTheWindowEnd) {
  Mapping buf = anon_map(2 * page_size());
  ASSERT_TRUE(buf.valid());
  fill_pattern(buf.span(), 2200);
  auto w = to_device(fd(), buf.data(), 500, 4000);
  ASSERT_OK(w.ret);
  EXPECT_EQ(w.done, 95U) << "TO_DEVICE stops at the window end";
  std::vector<std::uint8_t> back(500, 0xee);
  auto r = from_device(fd(), back.data(), 10, 4094);
  ASSERT_OK(r.ret);
  EXPECT_EQ(r.done, 1U);
  EXPECT_EQ(back[0], buf.data()[94]);
  EXPECT_EQ(back[1], 0xee) << "wrote more than done";

  // Huge lengths: only what fits in the window is pinned and moved.
  w = to_device(fd(), buf.data(), 1ULL << 40, 0);
  ASSERT_OK(w.ret) << "TO_DEVICE with a huge length";
  EXPECT_EQ(w.done, kWindow);
  Mapping dst = anon_map(2 * page_size());
  ASSERT_TRUE(dst.valid());
  r = from_device(fd(), dst.data(), 1ULL << 40, 0);
  ASSERT_OK(r.ret) << "FROM_DEVICE with a huge length";
  EXPECT_EQ(r.done, kWindow);
  EXPECT_EQ(crc32({dst.data(), kWindow}), crc32({buf.data(), kWindow}));
  EXPECT_EQ(dst.data()[kWindow], 0);
}

TEST_F(DmaUser, LoopbackStreamsAnyLength) {
  const std::size_t ps = page_size();
  Mapping src = anon_map(4 * ps + 8192);
  Mapping dst = anon_map(4 * ps + 8192);
  ASSERT_TRUE(src.valid() && dst.valid());
  std::uint64_t seed = 2300;
  for (std::uint64_t len : {std::uint64_t{1}, std::uint64_t{100}, std::uint64_t{kWindow},
                            std::uint64_t{kWindow + 1}, std::uint64_t{3 * kWindow + 123}}) {
    std::uint8_t* s = src.data() + 5;
    std::uint8_t* d = dst.data() + ps - 77;
    fill_pattern({s, len}, seed++);
    std::memset(dst.data(), 0, dst.size());
    const auto r = loopback(fd(), s, d, len);
    ASSERT_OK(r.ret) << "LOOPBACK length " << len;
    EXPECT_EQ(r.done, len);
    EXPECT_EQ(crc32({d, len}), crc32({s, len}))
        << "length " << len << ", first diff at " << first_mismatch({s, len}, {d, len});
    EXPECT_EQ(d[-1], 0);
    EXPECT_EQ(d[len], 0);
  }
}

TEST_F(DmaUser, LoopbackInPlace) {
  // Source and destination are the same memory: every chunk goes to the
  // device and comes back to where it was read from.
  std::vector<std::uint8_t> buf = pattern(5000 + 3, 2350);
  const std::uint32_t want = crc32({buf.data() + 3, 5000});
  const auto r = loopback(fd(), buf.data() + 3, buf.data() + 3, 5000);
  ASSERT_OK(r.ret);
  EXPECT_EQ(r.done, 5000U);
  EXPECT_EQ(crc32({buf.data() + 3, 5000}), want);
}

TEST_F(DmaUser, LoopbackPartialOverlapIsRejected) {
  // A partial overlap has no single meaning when the stream goes through
  // the device in chunks (and gave different bytes with and without
  // SWIOTLB): EINVAL before anything moves, in either direction.
  std::vector<std::uint8_t> buf = pattern(20000, 2351);
  const std::vector<std::uint8_t> before = buf;
  const auto stats_before = stats(fd());
  for (std::size_t shift :
       {std::size_t{1}, std::size_t{100}, std::size_t{4095}, std::size_t{9999}}) {
    auto r = loopback(fd(), buf.data(), buf.data() + shift, 10000);
    EXPECT_ERRNO(EINVAL, r.ret) << "dst = src + " << shift;
    r = loopback(fd(), buf.data() + shift, buf.data(), 10000);
    EXPECT_ERRNO(EINVAL, r.ret) << "src = dst + " << shift;
  }
  EXPECT_EQ(buf, before) << "a rejected loopback wrote memory";
  EXPECT_EQ(stats(fd()).dma_ops, stats_before.dma_ops) << "a rejected loopback started a DMA";
  // Adjacent ranges do not overlap.
  const auto r = loopback(fd(), buf.data(), buf.data() + 10000, 10000);
  ASSERT_OK(r.ret);
  EXPECT_EQ(first_mismatch({buf.data(), 10000}, {buf.data() + 10000, 10000}), -1);
}

// Two threads DMA from the device into neighbouring 16-byte pieces of one
// cache line, on one device and on two: no mapping may share a line with
// another live one (dma-debug: "cacheline tracking EEXIST, overlapping
// mappings aren't supported", a WARNING), and neither thread's bytes, nor
// the CPU's writes to the rest of the line, may be lost.
TEST_F(DmaUser, NeighbouringPiecesOfOneCacheLineFromTwoThreads) {
  const auto nodes = edu_nodes();
  ASSERT_FALSE(nodes.empty());
  const auto data = pattern(64, 2352);
  for (const auto& n : nodes) {
    Fd f = open_node(n);
    ASSERT_TRUE(f.valid());
    ASSERT_RET(64, ::pwrite(f.get(), data.data(), 64, 0));
  }
  for (const bool two_devices : {false, true}) {
    SCOPED_TRACE(two_devices ? "two devices" : "one device");
    alignas(64) std::array<std::uint8_t, 128> line{};
    std::atomic<int> failures{0};
    auto worker = [&](std::size_t node, std::size_t at, std::uint64_t doff) {
      Fd f = open_node(nodes.at(node));
      if (!f.valid()) {
        failures++;
        return;
      }
      for (int i = 0; i < 30; ++i) {
        const auto r = from_device(f.get(), line.data() + at, 16, doff);
        if (r.ret.rc != 0 || r.done != 16) failures++;
      }
    };
    const std::size_t second = two_devices && nodes.size() > 1 ? 1 : 0;
    std::thread a(worker, 0, 0, 0);
    std::thread b(worker, second, 32, 16);
    // The CPU keeps writing the bytes between the two pieces meanwhile.
    for (int i = 0; i < 2000; ++i)
      line[20] = static_cast<std::uint8_t>(i);
    line[20] = 0xa5;
    a.join();
    b.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(first_mismatch({data.data(), 16}, {line.data(), 16}), -1);
    EXPECT_EQ(first_mismatch({data.data() + 16, 16}, {line.data() + 32, 16}), -1);
    EXPECT_EQ(line[20], 0xa5) << "a CPU write next to a DMA destination was lost";
  }
  expect_dma_works(fd());
}

// The destination's pages alias one physical page (a memfd mapped at three
// consecutive addresses): one call maps pieces of the same page that must
// never share a cache line either. Later bytes of the stream win, as with
// memcpy() into the same aliasing.
TEST_F(DmaUser, DestinationPagesAliasingOnePhysicalPage) {
  const std::size_t ps = page_size();
  const int mfd = ::memfd_create("edu-alias", 0);
  ASSERT_GE(mfd, 0);
  ASSERT_EQ(::ftruncate(mfd, static_cast<off_t>(ps)), 0);
  Mapping area = anon_map(3 * ps);
  ASSERT_TRUE(area.valid());
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_NE(
        ::mmap(area.data() + i * ps, ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, mfd, 0),
        MAP_FAILED);
  }
  ::close(mfd);
  area.data()[0] = 7;
  ASSERT_EQ(area.data()[ps], 7) << "the memfd is not aliased";

  // FROM_DEVICE: a window crossing from the first alias into the second.
  const auto data = pattern(kWindow, 2353);
  ASSERT_RET(kWindow, ::pwrite(fd(), data.data(), kWindow, 0));
  auto r = from_device(fd(), area.data() + 10, kWindow, 0);
  ASSERT_OK(r.ret);
  EXPECT_EQ(r.done, kWindow);
  std::vector<std::uint8_t> want(ps, 0);
  want[0] = 7;
  for (std::size_t i = 0; i < kWindow; ++i)
    want[(10 + i) % ps] = data[i];
  EXPECT_EQ(first_mismatch(want, {area.data(), ps}), -1);

  // LOOPBACK: three pages' worth from an ordinary buffer, so the middle
  // chunks are mapped, not bounced.
  const std::size_t len = 3 * ps - 200;
  const auto src = pattern(len, 2354);
  r = loopback(fd(), src.data(), area.data() + 100, len);
  ASSERT_OK(r.ret);
  EXPECT_EQ(r.done, len);
  for (std::size_t i = 0; i < len; ++i)
    want[(100 + i) % ps] = src[i];
  EXPECT_EQ(first_mismatch(want, {area.data(), ps}), -1);

  // LOOPBACK whose second window starts 63 bytes into an alias and wraps
  // into the next one: both pieces start in cache line 0 of the one
  // physical page (the overlap dma-debug tracks by a piece's first line).
  const std::size_t len2 = 2 * kWindow + 64;
  const auto src2 = pattern(len2, 2355);
  r = loopback(fd(), src2.data(), area.data() + 64, len2);
  ASSERT_OK(r.ret);
  EXPECT_EQ(r.done, len2);
  for (std::size_t i = 0; i < len2; ++i)
    want[(64 + i) % ps] = src2[i];
  EXPECT_EQ(first_mismatch(want, {area.data(), ps}), -1);
  expect_dma_works(fd());
}

TEST_F(DmaUser, InvalidArguments) {
  std::vector<std::uint8_t> a(64, 1);
  std::vector<std::uint8_t> b(64, 0);
  const auto before = stats(fd());
  EXPECT_ERRNO(EINVAL, to_device(fd(), a.data(), 0, 0).ret) << "length 0";
  EXPECT_ERRNO(EINVAL, from_device(fd(), b.data(), 0, 0).ret) << "length 0";
  EXPECT_ERRNO(EINVAL, loopback(fd(), a.data(), b.data(), 0).ret) << "length 0";
  for (std::uint32_t dir : {0U, 4U, 0x80000001U, 0xffffffffU}) {
    EXPECT_ERRNO(EINVAL, dma_user(fd(), dir, a.data(), b.data(), 64).ret) << "direction " << dir;
  }
  for (std::uint64_t off :
       {std::uint64_t{kWindow}, std::uint64_t{4096}, std::uint64_t{1} << 40, ~std::uint64_t{0}}) {
    EXPECT_ERRNO(EINVAL, to_device(fd(), a.data(), 64, off).ret) << "device offset " << off;
    EXPECT_ERRNO(EINVAL, from_device(fd(), b.data(), 64, off).ret) << "device offset " << off;
  }
  EXPECT_ERRNO(EINVAL, dma_user(fd(), EDU_DMA_LOOPBACK, a.data(), b.data(), 64, 1).ret)
      << "LOOPBACK with a device offset";
  EXPECT_ERRNO(EINVAL, dma_user(fd(), EDU_DMA_TO_DEVICE, a.data(), b.data(), 64).ret)
      << "TO_DEVICE with dst set";
  EXPECT_ERRNO(EINVAL, dma_user(fd(), EDU_DMA_FROM_DEVICE, a.data(), b.data(), 64).ret)
      << "FROM_DEVICE with src set";
  for (std::uint32_t flags : {1U, 2U, 3U, EDU_OP_ASYNC, 1U << 31}) {
    edu_dma_user u{};
    u.direction = EDU_DMA_TO_DEVICE;
    u.src = uptr(a.data());
    u.length = 64;
    u.flags = flags;
    EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_DMA_USER, &u)) << "flags " << hex(flags);
  }
  for (int i = 0; i < 2; ++i) {
    edu_dma_user u{};
    u.direction = EDU_DMA_TO_DEVICE;
    u.src = uptr(a.data());
    u.length = 64;
    u.reserved[i] = 1;
    EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_DMA_USER, &u)) << "reserved[" << i << "]";
  }
  // A request in read-only memory: its own error, not the failed write-back's.
  Mapping ro = anon_map(page_size());
  ASSERT_TRUE(ro.valid());
  edu_dma_user bad{};
  bad.direction = EDU_DMA_TO_DEVICE;
  bad.src = uptr(a.data());
  std::memcpy(ro.data(), &bad, sizeof(bad));  // length 0
  ASSERT_EQ(::mprotect(ro.data(), page_size(), PROT_READ), 0);
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), EDU_IOC_DMA_USER, ro.data()))
      << "an invalid request in read-only memory";
  EXPECT_EQ(stats(fd()).dma_ops, before.dma_ops) << "a rejected request started a DMA";
}

TEST_F(DmaUser, BadUserMemoryFaults) {
  Mapping ro = anon_map(page_size(), PROT_READ);
  Mapping good = anon_map(page_size());
  ASSERT_TRUE(ro.valid() && good.valid());
  // NOLINTNEXTLINE(*-reinterpret-cast,performance-no-int-to-ptr): a kernel address, on purpose
  auto* kernel = reinterpret_cast<std::uint8_t*>(kKernelAddress);
  const auto before = stats(fd());
  for (const std::uint8_t* bad :
       {static_cast<std::uint8_t*>(nullptr), unmapped_address(), inaccessible_address(), kernel}) {
    const auto w = to_device(fd(), bad, 64, 0);
    EXPECT_ERRNO(EFAULT, w.ret) << "TO_DEVICE from " << static_cast<const void*>(bad);
    EXPECT_EQ(w.done, 0U) << kDoneOnError;
    const auto l = loopback(fd(), bad, good.data(), 64);
    EXPECT_ERRNO(EFAULT, l.ret) << "LOOPBACK from " << static_cast<const void*>(bad);
    EXPECT_EQ(l.done, 0U) << kDoneOnError;
  }
  for (std::uint8_t* bad : {static_cast<std::uint8_t*>(nullptr), unmapped_address(),
                            inaccessible_address(), kernel, ro.data()}) {
    const auto r = from_device(fd(), bad, 64, 0);
    EXPECT_ERRNO(EFAULT, r.ret) << "FROM_DEVICE to " << static_cast<void*>(bad);
    EXPECT_EQ(r.done, 0U) << kDoneOnError;
    const auto l = loopback(fd(), good.data(), bad, 64);
    EXPECT_ERRNO(EFAULT, l.ret) << "LOOPBACK to " << static_cast<void*>(bad);
    EXPECT_EQ(l.done, 0U) << kDoneOnError;
  }
  EXPECT_EQ(ro.data()[0], 0) << "read-only memory was written";
  EXPECT_EQ(stats(fd()).dma_bytes, before.dma_bytes) << "data moved for a faulting request";
  expect_dma_works(fd());
}

TEST_F(DmaUser, PartlyUnmappedBufferReportsDone) {
  // Two readable pages, then a hole: LOOPBACK of three windows' worth.
  const std::size_t ps = page_size();
  Mapping src = anon_map(3 * ps);
  ASSERT_TRUE(src.valid());
  ASSERT_EQ(::munmap(src.data() + 2 * ps, ps), 0);
  Mapping dst = anon_map(4 * ps);
  ASSERT_TRUE(dst.valid());
  fill_pattern({src.data(), 2 * ps}, 2400);
  const std::uint64_t len = std::uint64_t{3} * kWindow;
  const auto r = loopback(fd(), src.data(), dst.data(), len);
  EXPECT_ERRNO(EFAULT, r.ret) << "source partly unmapped";
  EXPECT_LE(r.done, 2 * ps) << "done counts more than the readable part";
  if (r.done <= 2 * ps) {
    EXPECT_EQ(first_mismatch({src.data(), r.done}, {dst.data(), r.done}), -1)
        << "the first done bytes must have reached the destination";
  }
  // A huge length over valid memory: as far as it is mapped, then -EFAULT.
  // The destination lies 4 GiB below the source, so the two 1 GiB ranges
  // do not overlap (a partial overlap is -EINVAL).
  Mapping s2 = anon_map(2 * ps);
  ASSERT_TRUE(s2.valid());
  void* far = ::mmap(s2.data() - (std::uintptr_t{4} << 30), 2 * ps, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  ASSERT_NE(far, MAP_FAILED) << "no room 4 GiB below " << static_cast<void*>(s2.data());
  Mapping d2(far, 2 * ps);
  fill_pattern(s2.span(), 2401);
  const auto h = loopback(fd(), s2.data(), d2.data(), 1ULL << 30);
  EXPECT_ERRNO(EFAULT, h.ret) << "LOOPBACK of 1 GiB over 8 KiB of memory";
  EXPECT_LE(h.done, 2 * ps) << kDoneOnError;
  if (h.done <= 2 * ps) {
    EXPECT_EQ(first_mismatch({s2.data(), h.done}, {d2.data(), h.done}), -1);
  }
  expect_dma_works(fd());
}

TEST_F(DmaUser, LoopbackInterruptedBySignalReportsDone) {
  const std::uint64_t len = 400 * 1024ULL;  // ~100 chunks, 20 s uninterrupted
  Mapping src = anon_map(len);
  Mapping dst = anon_map(len);
  ASSERT_TRUE(src.valid() && dst.valid());
  fill_pattern(src.span(), 2500);
  SignalCatcher sig(SIGALRM);
  ThreadTimer timer(SIGALRM, 500ms);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = loopback(fd(), src.data(), dst.data(), len);
  const auto took = std::chrono::steady_clock::now() - t0;
  timer.cancel();
  EXPECT_GE(sig.count(), 1);
  EXPECT_ERRNO(EINTR, r.ret);
  EXPECT_LT(took, 3s) << "the signal was not acted on between chunks";
  EXPECT_GT(r.done, 0U) << "500 ms are worth a few chunks: done must report them";
  EXPECT_LT(r.done, len);
  if (r.done < len) {
    EXPECT_EQ(first_mismatch({src.data(), r.done}, {dst.data(), r.done}), -1)
        << "done = " << r.done << " bytes must have reached the destination";
  }
  expect_dma_works(fd());
}

TEST_F(DmaUser, SignalWhileWaitingForTheEngine) {
  EngineHammer hammer(node_, 2, 2048, 1000);
  ASSERT_TRUE(hammer.wait_started()) << hammer.failure();
  SignalCatcher sig(SIGALRM);
  std::vector<std::uint8_t> a = pattern(64, 2600);
  std::vector<std::uint8_t> b(64, 0);
  int eintr = 0;
  for (int i = 0; i < 20 && eintr == 0; ++i) {
    std::this_thread::sleep_for(30ms);  // let the hammers queue for the engine
    ThreadTimer timer(SIGALRM, 20ms, 20ms);
    const auto r = loopback(fd(), a.data(), b.data(), 64);
    timer.cancel();
    if (r.ret.rc < 0) {
      EXPECT_EQ(r.ret.err, EINTR) << errno_name(r.ret.err);
      EXPECT_EQ(r.done, 0U) << "nothing moved while waiting for the engine";
      eintr += static_cast<int>(r.ret.err == EINTR);
    } else {
      EXPECT_EQ(r.done, 64U);
      EXPECT_EQ(first_mismatch(a, b), -1);
    }
  }
  EXPECT_GT(eintr, 0) << "a signal never interrupted DMA_USER waiting for the engine";
  hammer.stop();
  EXPECT_EQ(hammer.failure(), "");
}

// Physical address of the page behind p (root: /proc/self/pagemap).
std::optional<std::uint64_t> phys_addr(const void* p) {
  Fd pm(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  if (!pm) return std::nullopt;
  const std::uint64_t vpn = uptr(p) / page_size();
  std::uint64_t e = 0;
  if (::pread(pm.get(), &e, sizeof e, static_cast<off_t>(vpn * sizeof e)) != sizeof e) {
    return std::nullopt;
  }
  if ((e & (1ULL << 63)) == 0) return std::nullopt;  // not present
  const std::uint64_t pfn = e & ((1ULL << 55) - 1);
  if (pfn == 0) return std::nullopt;  // hidden
  return pfn * page_size() + uptr(p) % page_size();
}

// With more RAM than the device can address (--mem 2G and the default
// 28-bit mask), user pages above the mask must be bounced, never clamped.
std::uint64_t meminfo_kb(const char* key) {
  const std::string m = read_file("/proc/meminfo").value_or("");
  const auto at = m.find(key);
  if (at == std::string::npos) return 0;
  return std::strtoull(m.c_str() + at + std::strlen(key), nullptr, 10);
}

TEST_F(DmaUser, PagesAboveTheDmaMaskAreBounced) {
  const std::size_t ps = page_size();
  const std::uint64_t limit = id_.dma_mask_bits >= 64 ? ~0ULL : (1ULL << id_.dma_mask_bits);
  if (meminfo_kb("MemTotal:") * 1024 <= limit) {
    GTEST_SKIP() << "guest RAM is below the " << id_.dma_mask_bits << "-bit DMA mask";
  }
  // The page allocator hands out low memory first: allocate 16 MiB chunks
  // until one holds two consecutive pages above the mask (leaving 128 MiB).
  const std::size_t chunk = 16U << 20;
  std::vector<Mapping> chunks;
  std::uint8_t* high = nullptr;  // two consecutive pages above the mask
  while (high == nullptr && meminfo_kb("MemAvailable:") * 1024 > (128U << 20) + chunk) {
    chunks.push_back(anon_map(chunk));
    Mapping& c = chunks.back();
    ASSERT_TRUE(c.valid());
    for (std::size_t off = 0; off < chunk; off += ps)
      c.data()[off] = 1;  // fault in
    for (std::size_t off = 0; off + 2 * ps <= chunk && high == nullptr; off += ps) {
      const auto pa = phys_addr(c.data() + off);
      const auto pa2 = phys_addr(c.data() + off + ps);
      if (pa && pa2 && *pa >= limit && *pa2 >= limit) high = c.data() + off;
    }
  }
  if (high == nullptr) {
    GTEST_SKIP() << "found no user page above the " << id_.dma_mask_bits << "-bit DMA mask in "
                 << chunks.size() * 16 << " MiB (pagemap hidden?)";
  }
  std::cout << "[ INFO     ] user pages at physical " << hex(*phys_addr(high)) << " after "
            << chunks.size() * 16 << " MiB" << std::endl;
  std::uint8_t* hsrc = high + ps - 1000;  // 2500 bytes across the page boundary
  fill_pattern({hsrc, 2500}, 2700);
  const auto w = to_device(fd(), hsrc, 2500, 10);
  ASSERT_OK(w.ret);
  std::vector<std::uint8_t> back(2500, 0);
  ASSERT_RET(2500, ::pread(fd(), back.data(), 2500, 10));
  EXPECT_EQ(first_mismatch({hsrc, 2500}, back), -1) << "high source pages not bounced correctly";

  const auto data = pattern(3000, 2701);
  ASSERT_RET(3000, ::pwrite(fd(), data.data(), 3000, 1000));
  std::uint8_t* hdst = high + ps - 1500;
  std::memset(high, 0, 2 * ps);
  const auto r = from_device(fd(), hdst, 3000, 1000);
  ASSERT_OK(r.ret);
  EXPECT_EQ(first_mismatch(data, {hdst, 3000}), -1) << "high destination pages not bounced";

  // LOOPBACK out of and into high pages.
  fill_pattern({high, 2 * ps}, 2702);
  std::vector<std::uint8_t> out(5000, 0);
  auto l = loopback(fd(), high + 100, out.data(), 5000);
  ASSERT_OK(l.ret);
  EXPECT_EQ(first_mismatch({high + 100, 5000}, out), -1);
  std::memset(high, 0, 2 * ps);
  l = loopback(fd(), out.data(), high + 200, 5000);
  ASSERT_OK(l.ret);
  EXPECT_EQ(first_mismatch(out, {high + 200, 5000}), -1);
}

}  // namespace
}  // namespace edutest
