// labdma operations on user memory: SUBMIT (synchronous and asynchronous),
// MUL2/MUL4, COMPLETE, poll/epoll -- every operation on every channel,
// sizes and alignments, every bad argument (docs/labdma/uapi.md).
#include <algorithm>
#include <array>
#include <cstring>
#include <thread>

#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>

#include "labdma_test_util.hpp"

namespace {

using namespace edutest;
using namespace labdmatest;

std::vector<std::uint8_t> mul_ref(std::span<const std::uint8_t> src, std::uint32_t factor) {
  std::vector<std::uint8_t> out(src.size());
  for (std::size_t i = 0; i + 4 <= src.size(); i += 4) {
    std::uint32_t x = 0;
    std::memcpy(&x, &src[i], 4);
    x *= factor;
    std::memcpy(&out[i], &x, 4);
  }
  return out;
}

std::vector<std::uint8_t> fill_ref(std::size_t len, std::uint32_t pattern) {
  std::vector<std::uint8_t> out(len);
  for (std::size_t i = 0; i < len; ++i)
    out[i] = static_cast<std::uint8_t>(pattern >> (8 * (i % 4)));
  return out;
}

class Submit : public FullDeviceTest {
 protected:
  // Every operation at @len bytes, @off bytes into page-aligned buffers.
  void every_op(std::uint32_t channel, std::size_t len, std::size_t off, std::uint64_t seed) {
    SCOPED_TRACE("channel " + std::to_string(channel) + ", " + std::to_string(len) + " bytes at +" +
                 std::to_string(off));
    Mapping sm = anon_map(len + off + 64);
    Mapping dm = anon_map(len + off + 64);
    auto* s = static_cast<std::uint8_t*>(sm.data()) + off;
    auto* d = static_cast<std::uint8_t*>(dm.data()) + off;
    fill_pattern({s, len}, seed);
    const std::span<const std::uint8_t> src{s, len};
    const std::span<const std::uint8_t> dst{d, len};

    auto c = op(LABDMA_OP_COPY, s, d, len, channel);
    ASSERT_OK(submit(fd(), c));
    EXPECT_EQ(c.done, len);
    EXPECT_EQ(first_mismatch(src, dst), -1);
    EXPECT_EQ(d[len], 0) << "a byte past the end was written";

    auto f = op(LABDMA_OP_FILL, nullptr, d, len, channel);
    f.pattern = 0xa1b2c3d4;
    ASSERT_OK(submit(fd(), f));
    EXPECT_EQ(first_mismatch(fill_ref(len, f.pattern), dst), -1);

    auto crc = op(LABDMA_OP_CRC32C, s, nullptr, len, channel);
    ASSERT_OK(submit(fd(), crc));
    EXPECT_EQ(crc.result, crc32c(src));
    EXPECT_EQ(crc.done, len);

    if (len % 4 == 0 && off % 4 == 0) {
      for (const std::uint32_t k : {2U, 4U}) {
        auto m = op(k == 2 ? LABDMA_OP_MUL2 : LABDMA_OP_MUL4, s, d, len, channel);
        ASSERT_OK(submit(fd(), m));
        EXPECT_EQ(first_mismatch(mul_ref(src, k), dst), -1) << "MUL" << k;
      }
    }
    auto nop = op(LABDMA_OP_NOP, nullptr, nullptr, 0, channel);
    ASSERT_OK(submit(fd(), nop));
    EXPECT_EQ(nop.done, 0U);
  }
};

TEST_F(Submit, EveryOperationOnEveryChannel) {
  for (std::uint32_t c = 0; c < node_.info.channels; ++c)
    every_op(c, 64 << 10, 0, c + 1);
  every_op(LABDMA_CHANNEL_ANY, 4096, 0, 99);
}

// Sizes around pages and descriptors (MAX_XFER 1 MiB), odd offsets, and
// more than one 4 MiB batch.
TEST_F(Submit, SizesAndAlignments) {
  std::uint64_t seed = 7;
  for (const std::size_t len : {1UL, 3UL, 4UL, 63UL, 4095UL, 4096UL, 4097UL, 12288UL + 5,
                                (1UL << 20) - 4, (1UL << 20) + 13, (3UL << 20) + 4}) {
    for (const std::size_t off : {0UL, 1UL, 4UL, 4093UL})
      every_op(LABDMA_CHANNEL_ANY, len, off, ++seed);
  }
  every_op(0, (9UL << 20) + 8, 0, 1234);
}

TEST_F(Submit, MultiplyInPlaceAndTheMulIoctls) {
  const std::size_t len = 2UL << 20;
  Mapping m = anon_map(len);
  auto* p = static_cast<std::uint8_t*>(m.data());
  fill_pattern({p, len}, 5);
  const std::vector<std::uint8_t> orig(p, p + len);
  labdma_mul mul = mul_args(uptr(p), uptr(p), len);
  ASSERT_OK(::ioctl(fd(), LABDMA_IOC_MUL2, &mul));
  EXPECT_EQ(mul.done, len);
  EXPECT_EQ(first_mismatch(mul_ref(orig, 2), {p, len}), -1);
  const std::vector<std::uint8_t> twice(p, p + len);
  std::vector<std::uint8_t> out(len);
  mul = mul_args(uptr(p), uptr(out.data()), len);
  ASSERT_OK(::ioctl(fd(), LABDMA_IOC_MUL4, &mul));
  EXPECT_EQ(first_mismatch(mul_ref(twice, 4), out), -1);

  mul = mul_args(uptr(p + 2), uptr(out.data()), 64);
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), LABDMA_IOC_MUL2, &mul)) << "misaligned source";
  mul = mul_args(uptr(p), uptr(out.data()), 6);
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), LABDMA_IOC_MUL4, &mul)) << "not a multiple of 4";
  mul = mul_args(uptr(p), uptr(p + 4), 64);
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), LABDMA_IOC_MUL2, &mul)) << "partial overlap";
  mul = mul_args(uptr(p), uptr(out.data()), 64);
  mul.reserved[0] = 1;
  EXPECT_ERRNO(EINVAL, ::ioctl(fd(), LABDMA_IOC_MUL2, &mul));
}

TEST_F(Submit, BadArgumentsAreRefused) {
  std::vector<std::uint8_t> a(8192, 1);
  std::vector<std::uint8_t> b(8192, 0);
  auto s = op(LABDMA_OP_COPY, a.data(), b.data(), 0);
  EXPECT_ERRNO(EINVAL, submit(fd(), s)) << "length 0";
  s = op(LABDMA_OP_NOP, nullptr, nullptr, 4);
  EXPECT_ERRNO(EINVAL, submit(fd(), s)) << "NOP with a length";
  s = op(LABDMA_OP_COUNT, a.data(), b.data(), 4);
  EXPECT_ERRNO(EOPNOTSUPP, submit(fd(), s));
  s = op(0xffff, a.data(), b.data(), 4);
  EXPECT_ERRNO(EOPNOTSUPP, submit(fd(), s));
  s = op(LABDMA_OP_COPY, a.data(), a.data() + 100, 200);
  EXPECT_ERRNO(EINVAL, submit(fd(), s)) << "partial overlap";
  s = op(LABDMA_OP_COPY, a.data(), a.data(), 200);
  EXPECT_OK(submit(fd(), s)) << "the same range";
  s = op(LABDMA_OP_FILL, a.data(), b.data(), 64);
  EXPECT_ERRNO(EINVAL, submit(fd(), s)) << "FILL reads nothing";
  s = op(LABDMA_OP_CRC32C, a.data(), b.data(), 64);
  EXPECT_ERRNO(EINVAL, submit(fd(), s)) << "CRC32C writes nothing";
  s = op(LABDMA_OP_COPY, a.data(), b.data(), 64);
  s.pattern = 1;
  EXPECT_ERRNO(EINVAL, submit(fd(), s)) << "a pattern for COPY";
  s = op(LABDMA_OP_COPY, a.data(), b.data(), 64, node_.info.channels);
  EXPECT_ERRNO(EINVAL, submit(fd(), s)) << "no such channel";
  s = op(LABDMA_OP_COPY, a.data(), b.data(), 64);
  s.timeout_ms = 60001;
  EXPECT_ERRNO(EINVAL, submit(fd(), s));
  s = op(LABDMA_OP_COPY, a.data(), b.data(), 64);
  s.flags = 1U << 7;
  EXPECT_ERRNO(EINVAL, submit(fd(), s)) << "unknown flag";
  s = op(LABDMA_OP_COPY, a.data(), b.data(), 64);
  s.reserved[1] = 1;
  EXPECT_ERRNO(EINVAL, submit(fd(), s));
  s = op(LABDMA_OP_COPY, a.data(), b.data(), 64);
  s.__pad = 1;
  EXPECT_ERRNO(EINVAL, submit(fd(), s));
  // nothing was written by any of them
  EXPECT_EQ(std::count(b.begin(), b.end(), 0), static_cast<long>(b.size()));
}

TEST_F(Submit, BadPointersAreEfault) {
  std::vector<std::uint8_t> a(8192, 1);
  std::vector<std::uint8_t> b(8192, 0);
  const Mapping ro = anon_map(8192, PROT_READ);
  // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast,performance-no-int-to-ptr)
  auto* const kernel = reinterpret_cast<std::uint8_t*>(kKernelAddress);
  // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast,performance-no-int-to-ptr)
  const std::array<std::pair<const void*, void*>, 8> cases{{
      {null_buffer(), b.data()},
      {a.data(), null_buffer()},
      {unmapped_address(), b.data()},
      {a.data(), unmapped_address()},
      {inaccessible_address(), b.data()},
      {kernel, b.data()},
      {a.data(), kernel},
      {a.data(), ro.data()},
  }};
  for (const auto& [src, dst] : cases) {
    SCOPED_TRACE(hex(uptr(src)) + " -> " + hex(uptr(dst)));
    auto s = op(LABDMA_OP_COPY, src, dst, 4096);
    EXPECT_ERRNO(EFAULT, submit(fd(), s));
  }
  // the end of a range wrapping around, and a range running into a hole
  auto s = op(LABDMA_OP_COPY, a.data(), reinterpret_cast<void*>(~0xfffULL), 8192);  // NOLINT
  EXPECT_ERRNO(EFAULT, submit(fd(), s));
  // 8 KiB of memory, then a hole: nothing may be written
  Mapping edge = anon_map(4 * page_size());
  ASSERT_OK(::munmap(edge.data() + 2 * page_size(), 2 * page_size()));
  std::memset(edge.data(), 0x11, 2 * page_size());
  s = op(LABDMA_OP_FILL, nullptr, edge.data(), 1ULL << 40);
  EXPECT_ERRNO(EFAULT, submit(fd(), s)) << "1 TiB";
  s = op(LABDMA_OP_FILL, nullptr, edge.data() + page_size(), 2 * page_size());
  EXPECT_ERRNO(EFAULT, submit(fd(), s)) << "into the hole";
  EXPECT_EQ(std::count(edge.data(), edge.data() + 2 * page_size(), 0x11),
            static_cast<long>(2 * page_size()));
  s = op(LABDMA_OP_COPY, a.data(), b.data(), 1ULL << 40);
  EXPECT_ERRNO(EINVAL, submit(fd(), s)) << "1 TiB ranges overlap";
  // read-only memory is a fine source
  s = op(LABDMA_OP_COPY, ro.data(), b.data(), 8192);
  EXPECT_OK(submit(fd(), s));
  expect_copy_works(fd());
}

TEST(SubmitLite, OnlyTheLiteOperations) {
  const auto n = first_of(LABDMA_VARIANT_LITE);
  if (!n) GTEST_SKIP() << "no labdma-lite in this scenario";
  Fd f = open_labdma(*n);
  ASSERT_TRUE(f.valid());
  std::vector<std::uint8_t> a = pattern(200000, 3);
  std::vector<std::uint8_t> b(200000, 0);
  auto s = op(LABDMA_OP_COPY, a.data(), b.data(), a.size());
  ASSERT_OK(submit(f.get(), s));
  EXPECT_EQ(first_mismatch(a, b), -1) << "200 KB over 64 KiB descriptors";
  s = op(LABDMA_OP_FILL, nullptr, b.data() + 1, 99999);
  s.pattern = 0x01020304;
  ASSERT_OK(submit(f.get(), s));
  EXPECT_EQ(first_mismatch(fill_ref(99999, 0x01020304), {b.data() + 1, 99999}), -1);
  for (const std::uint32_t o : {LABDMA_OP_MUL2, LABDMA_OP_MUL4, LABDMA_OP_CRC32C}) {
    s = op(o, a.data(), o == LABDMA_OP_CRC32C ? nullptr : b.data(), 64);
    EXPECT_ERRNO(EOPNOTSUPP, submit(f.get(), s)) << "op " << o;
  }
  labdma_mul m = mul_args(uptr(a.data()), uptr(b.data()), 64);
  EXPECT_ERRNO(EOPNOTSUPP, ::ioctl(f.get(), LABDMA_IOC_MUL2, &m));
}

// Many threads on one file, each on its own buffers, every byte checked.
TEST_F(Submit, ThreadsShareTheChannels) {
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  threads.reserve(6);
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::size_t len = 1000 + 7919 * static_cast<std::size_t>(t * 20 + i);
        const auto src = pattern(len, 100 * t + i);
        std::vector<std::uint8_t> dst(len, 0);
        auto s = op(LABDMA_OP_COPY, src.data(), dst.data(), len);
        if (submit(fd(), s).rc != 0 || dst != src) ++bad;
        auto c = op(LABDMA_OP_CRC32C, src.data(), nullptr, len);
        if (submit(fd(), c).rc != 0 || c.result != crc32c(src)) ++bad;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(bad.load(), 0);
}

// --------------------------------------------------------------------------
// Asynchronous operations: queue depth, completions, poll, close.

Ret complete(int fd, labdma_complete& c) {
  return R(::ioctl(fd, LABDMA_IOC_COMPLETE, &c));
}

TEST_F(Submit, AsyncUpToTheQueueDepthThenEbusy) {
  const std::uint32_t depth = node_.info.queue_depth;
  const std::size_t len = 16384;
  std::vector<std::vector<std::uint8_t>> src;
  std::vector<std::vector<std::uint8_t>> dst;
  for (std::uint32_t i = 0; i <= depth; ++i) {
    src.push_back(pattern(len, 300 + i));
    dst.emplace_back(len, 0);
  }
  for (std::uint32_t i = 0; i < depth; ++i) {
    auto s = op(LABDMA_OP_COPY, src[i].data(), dst[i].data(), len);
    s.flags = LABDMA_SUBMIT_ASYNC;
    s.user_data = 1000 + i;
    ASSERT_OK(submit(fd(), s)) << i;
  }
  auto over = op(LABDMA_OP_COPY, src[depth].data(), dst[depth].data(), len);
  over.flags = LABDMA_SUBMIT_ASYNC;
  EXPECT_ERRNO(EBUSY, submit(fd(), over));

  std::vector<labdma_completion> got(depth + 4);
  std::vector<bool> seen(depth, false);
  std::uint32_t total = 0;
  while (total < depth) {
    labdma_complete c = complete_args(uptr(got.data()), static_cast<std::uint32_t>(got.size()), 1,
                                      LABDMA_COMPLETE_WAIT);
    ASSERT_OK(complete(fd(), c));
    ASSERT_GE(c.count, 1U);
    for (std::uint32_t k = 0; k < c.count; ++k) {
      const auto& e = got[k];
      EXPECT_EQ(e.status, 0);
      EXPECT_EQ(e.done, len);
      EXPECT_EQ(e.hw_error, 0);
      ASSERT_GE(e.user_data, 1000U);
      ASSERT_LT(e.user_data, 1000U + depth);
      EXPECT_FALSE(seen[e.user_data - 1000]) << "completed twice";
      seen[e.user_data - 1000] = true;
    }
    total += c.count;
  }
  for (std::uint32_t i = 0; i < depth; ++i)
    EXPECT_EQ(dst[i], src[i]) << i;
  labdma_complete none = complete_args(uptr(got.data()), 4, 0, 0);
  EXPECT_ERRNO(ENODATA, complete(fd(), none));
  EXPECT_OK(submit(fd(), over)) << "room again";
  labdma_complete one = complete_args(uptr(got.data()), 1, 1, LABDMA_COMPLETE_WAIT);
  ASSERT_OK(complete(fd(), one));
  EXPECT_EQ(one.count, 1U);
  EXPECT_EQ(dst[depth], src[depth]);
}

TEST_F(Submit, AsyncCrcAndFillReportResults) {
  const auto src = pattern(3 << 20, 77);
  auto s = op(LABDMA_OP_CRC32C, src.data(), nullptr, src.size());
  s.flags = LABDMA_SUBMIT_ASYNC;
  s.user_data = 42;
  ASSERT_OK(submit(fd(), s));
  labdma_completion e{};
  labdma_complete c = complete_args(uptr(&e), 1, 1, LABDMA_COMPLETE_WAIT);
  ASSERT_OK(complete(fd(), c));
  EXPECT_EQ(e.user_data, 42U);
  EXPECT_EQ(e.status, 0);
  EXPECT_EQ(e.result, crc32c(src));
  auto big = op(LABDMA_OP_COPY, src.data(), nullptr, (4 << 20) + 1);
  big.flags = LABDMA_SUBMIT_ASYNC;
  std::vector<std::uint8_t> d((4 << 20) + 1);
  big.dst = uptr(d.data());
  EXPECT_ERRNO(EINVAL, submit(fd(), big)) << "above max_async";
  auto nop = op(LABDMA_OP_NOP, nullptr, nullptr, 0);
  nop.flags = LABDMA_SUBMIT_ASYNC;
  EXPECT_ERRNO(EINVAL, submit(fd(), nop));
}

TEST_F(Submit, CompleteChecksItsArguments) {
  labdma_completion e{};
  labdma_complete c = complete_args(uptr(&e), 0, 0, 0);
  EXPECT_ERRNO(EINVAL, complete(fd(), c));
  c = complete_args(uptr(&e), 1025, 0, 0);
  EXPECT_ERRNO(EINVAL, complete(fd(), c));
  c = complete_args(uptr(&e), 2, 3, LABDMA_COMPLETE_WAIT);
  EXPECT_ERRNO(EINVAL, complete(fd(), c));
  c = complete_args(uptr(&e), 2, 1, 0);
  EXPECT_ERRNO(EINVAL, complete(fd(), c)) << "min without WAIT";
  c = complete_args(uptr(&e), 1, 0, 2);
  EXPECT_ERRNO(EINVAL, complete(fd(), c));
  c = complete_args(uptr(&e), 1, 0, 0);
  c.reserved[0] = 1;
  EXPECT_ERRNO(EINVAL, complete(fd(), c));

  // a completion that cannot be copied out stays queued
  std::vector<std::uint8_t> a = pattern(4096, 1);
  std::vector<std::uint8_t> b(4096);
  auto s = op(LABDMA_OP_COPY, a.data(), b.data(), a.size());
  s.flags = LABDMA_SUBMIT_ASYNC;
  s.user_data = 9;
  ASSERT_OK(submit(fd(), s));
  pollfd p{};
  p.fd = fd();
  p.events = POLLIN;
  ASSERT_EQ(::poll(&p, 1, 10000), 1);
  c = complete_args(uptr(unmapped_address()), 1, 0, 0);
  EXPECT_ERRNO(EFAULT, complete(fd(), c));
  c = complete_args(uptr(&e), 1, 0, 0);
  ASSERT_OK(complete(fd(), c));
  EXPECT_EQ(c.count, 1U);
  EXPECT_EQ(e.user_data, 9U);
}

TEST_F(Submit, EpollReportsCompletionsAndRoom) {
  Fd ep(::epoll_create1(EPOLL_CLOEXEC));
  ASSERT_TRUE(ep.valid());
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
  ASSERT_OK(::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd(), &ev));
  std::array<epoll_event, 4> out{};
  ASSERT_EQ(::epoll_wait(ep.get(), out.data(), out.size(), 1000), 1);
  EXPECT_EQ(out[0].events & (EPOLLIN | EPOLLOUT), static_cast<unsigned>(EPOLLOUT));

  const auto src = pattern(1 << 20, 8);
  std::vector<std::uint8_t> dst(src.size());
  auto s = op(LABDMA_OP_COPY, src.data(), dst.data(), src.size());
  s.flags = LABDMA_SUBMIT_ASYNC;
  ASSERT_OK(submit(fd(), s));
  bool in = false;
  const auto t0 = Clock::now();
  while (!in && ms_since(t0) < 10000) {
    const int n = ::epoll_wait(ep.get(), out.data(), out.size(), 1000);
    if (n == 1 && (out[0].events & EPOLLIN) != 0) in = true;
  }
  EXPECT_TRUE(in);
  labdma_completion e{};
  labdma_complete c = complete_args(uptr(&e), 1, 0, 0);
  ASSERT_OK(complete(fd(), c));
  EXPECT_EQ(dst, src);
}

// Closing a file with operations in flight ends them; nothing is left
// pinned and the device goes on.
TEST_F(Submit, CloseWithOperationsInFlight) {
  const auto src = pattern(4 << 20, 9);
  std::vector<std::vector<std::uint8_t>> dst(8, std::vector<std::uint8_t>(src.size()));
  for (int round = 0; round < 5; ++round) {
    Fd f = open_labdma(node_);
    ASSERT_TRUE(f.valid());
    for (auto& d : dst) {
      auto s = op(LABDMA_OP_COPY, src.data(), d.data(), src.size());
      s.flags = LABDMA_SUBMIT_ASYNC;
      ASSERT_OK(submit(f.get(), s));
    }
    f.reset();
  }
  expect_copy_works(fd());
  // fold the per-CPU counter deltas first
  ASSERT_OK(write_file("/proc/sys/vm/stat_refresh", "1"));
  const auto vm = read_file("/proc/vmstat").value_or("");
  auto counter = [&](const std::string& k) {
    const auto at = vm.find(k + " ");
    return at == std::string::npos ? -1L : std::stol(vm.substr(at + k.size() + 1));
  };
  EXPECT_EQ(counter("nr_foll_pin_acquired"), counter("nr_foll_pin_released"));
}

}  // namespace
