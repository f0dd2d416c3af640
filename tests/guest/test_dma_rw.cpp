// read/write/pread/pwrite and llseek on /dev/eduN: data moves by DMA to and
// from the device buffer; the file offset is the offset in the 4095-byte
// window (docs/uapi.md, "read / write").
#include <array>
#include <climits>
#include <cstring>
#include <functional>
#include <thread>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/edu.h>

#include "edu_test_util.hpp"

namespace edutest {
namespace {

class DmaRw : public EduTest {};
class DmaSeek : public EduTest {};

off_t pos(int fd) {
  return ::lseek(fd, 0, SEEK_CUR);
}

TEST_F(DmaRw, RoundTripAtManyOffsetsAndLengths) {
  struct Case {
    std::uint32_t off, len;
  };
  const auto cases = std::to_array<Case>({{0, 1},
                                          {0, 4095},
                                          {1, 4094},
                                          {4094, 1},
                                          {100, 1000},
                                          {2047, 2},
                                          {2000, 2095},
                                          {4000, 95},
                                          {3, 4092},
                                          {1234, 567},
                                          {4088, 7},
                                          {511, 1025}});
  std::uint64_t seed = 100;
  for (const auto& c : cases) {
    const auto data = pattern(c.len, seed++);
    std::vector<std::uint8_t> back(c.len, 0);
    ASSERT_RET(c.len, ::pwrite(fd(), data.data(), c.len, c.off)) << "off " << c.off;
    ASSERT_RET(c.len, ::pread(fd(), back.data(), c.len, c.off)) << "off " << c.off;
    EXPECT_EQ(crc32(back), crc32(data))
        << "off " << c.off << " len " << c.len << ", first diff at " << first_mismatch(data, back);
  }
  EXPECT_EQ(pos(fd()), 0) << "pread/pwrite must not move the file position";
}

TEST_F(DmaRw, DataPersistsAcrossFilesAndAroundWrites) {
  // Write the whole window, then overwrite a middle part through another
  // open file: the rest must be untouched.
  const auto all = pattern(kWindow, 7);
  ASSERT_RET(kWindow, ::pwrite(fd(), all.data(), kWindow, 0));
  Fd other = open_node(node_);
  ASSERT_TRUE(other.valid());
  const auto mid = pattern(300, 8);
  ASSERT_RET(300, ::pwrite(other.get(), mid.data(), 300, 1500));
  std::vector<std::uint8_t> back(kWindow, 0);
  ASSERT_RET(kWindow, ::pread(fd(), back.data(), kWindow, 0));
  auto want = all;
  std::copy(mid.begin(), mid.end(), want.begin() + 1500);
  EXPECT_EQ(first_mismatch(want, back), -1);
  EXPECT_EQ(crc32(back), crc32(want));
}

TEST_F(DmaRw, UserBuffersCrossingPageBoundaries) {
  const std::size_t ps = page_size();
  Mapping src = anon_map(3 * ps);
  Mapping dst = anon_map(3 * ps);
  ASSERT_TRUE(src.valid() && dst.valid());
  struct Case {
    std::size_t user_off;
    std::uint32_t dev_off, len;
  };
  const auto cases = std::to_array<Case>({
      {ps - 7, 0, 2000},            // crosses one page boundary
      {ps - 1, 17, 2},              // one byte on each side
      {2 * ps - 4000, 0, kWindow},  // unaligned, whole window
      {ps + 13, 2900, 1195},        // up to the end of the window
  });
  std::uint64_t seed = 200;
  for (const auto& c : cases) {
    fill_pattern({src.data() + c.user_off, c.len}, seed++);
    std::memset(dst.data(), 0, dst.size());
    ASSERT_RET(c.len, ::pwrite(fd(), src.data() + c.user_off, c.len, c.dev_off));
    const std::size_t dst_off = 2 * ps - c.len / 2 - 3;  // straddles the second boundary
    ASSERT_RET(c.len, ::pread(fd(), dst.data() + dst_off, c.len, c.dev_off));
    EXPECT_EQ(crc32({dst.data() + dst_off, c.len}), crc32({src.data() + c.user_off, c.len}))
        << "user offset " << c.user_off << " device offset " << c.dev_off << " len " << c.len;
    EXPECT_EQ(dst.data()[dst_off - 1], 0) << "read wrote before the buffer";
    EXPECT_EQ(dst.data()[dst_off + c.len], 0) << "read wrote past the buffer";
  }
}

TEST_F(DmaRw, ShortCountsAtTheWindowEnd) {
  const auto data = pattern(100, 300);
  ASSERT_RET(5, ::pwrite(fd(), data.data(), 100, 4090)) << "clamped to the window";
  std::vector<std::uint8_t> back(100, 0xee);
  ASSERT_RET(5, ::pread(fd(), back.data(), 100, 4090));
  EXPECT_EQ(first_mismatch({data.data(), 5}, {back.data(), 5}), -1);
  EXPECT_EQ(back[5], 0xee) << "short read wrote past its count";

  ASSERT_RET(1, ::pwrite(fd(), data.data(), 2, 4094));
  ASSERT_RET(1, ::pread(fd(), back.data(), 2, 4094));
  EXPECT_EQ(back[0], data[0]);

  EXPECT_RET(0, ::pread(fd(), back.data(), 100, 4095)) << "end of file";
  EXPECT_RET(0, ::pread(fd(), back.data(), 1, 4096));
  EXPECT_RET(0, ::pread(fd(), back.data(), 100, 1LL << 40));
  EXPECT_ERRNO(ENOSPC, ::pwrite(fd(), data.data(), 100, 4095));
  EXPECT_ERRNO(ENOSPC, ::pwrite(fd(), data.data(), 1, 4096));
  EXPECT_ERRNO(ENOSPC, ::pwrite(fd(), data.data(), 1, 1LL << 40));
}

TEST_F(DmaRw, Sizes) {
  Mapping buf = anon_map(4 * page_size());
  ASSERT_TRUE(buf.valid());
  fill_pattern(buf.span(), 400);
  for (std::uint32_t len : {1U, 4094U, 4095U}) {
    EXPECT_RET(len, ::pwrite(fd(), buf.data(), len, 0)) << "len " << len;
  }
  // Longer than the window, and huge (the buffer only needs to hold what
  // is transferred): clamped to the window.
  for (std::size_t len : {std::size_t{4096}, std::size_t{8192}, std::size_t{1} << 30}) {
    EXPECT_RET(kWindow, ::pwrite(fd(), buf.data(), len, 0)) << "len " << len;
  }
  std::vector<std::uint8_t> back(kWindow, 0);
  ASSERT_RET(kWindow, ::pread(fd(), back.data(), kWindow, 0));
  EXPECT_EQ(crc32(back), crc32({buf.data(), kWindow}));

  Mapping rbuf = anon_map(4 * page_size());
  ASSERT_TRUE(rbuf.valid());
  for (std::size_t len : {std::size_t{4096}, std::size_t{1} << 30}) {
    std::memset(rbuf.data(), 0, rbuf.size());
    EXPECT_RET(kWindow, ::pread(fd(), rbuf.data(), len, 0)) << "len " << len;
    EXPECT_EQ(crc32({rbuf.data(), kWindow}), crc32({buf.data(), kWindow}));
    EXPECT_EQ(rbuf.data()[kWindow], 0) << "read past the window";
  }
}

TEST_F(DmaRw, ZeroCountNeverTouchesTheDevice) {
  const auto before = stats(fd());
  std::uint8_t b = 0;
  for (off_t off : {off_t{0}, off_t{100}, off_t{4094}, off_t{4095}, off_t{1} << 40}) {
    EXPECT_RET(0, ::pread(fd(), &b, 0, off)) << "offset " << off;
    EXPECT_RET(0, ::pwrite(fd(), &b, 0, off)) << "offset " << off;
  }
  EXPECT_RET(0, ::pread(fd(), null_buffer(), 0, 0)) << "no buffer needed for nothing";
  EXPECT_RET(0, ::pwrite(fd(), null_buffer(), 0, 0));
  EXPECT_RET(0, ::read(fd(), &b, 0));
  EXPECT_RET(0, ::write(fd(), &b, 0));
  const auto after = stats(fd());
  EXPECT_EQ(after.dma_ops, before.dma_ops) << "a zero-length request started a DMA";
}

TEST_F(DmaRw, NegativeOffsetsAreInvalid) {
  std::array<std::uint8_t, 16> b{};
  for (off_t off : {off_t{-1}, off_t{-4096}, off_t{LLONG_MIN}}) {
    EXPECT_ERRNO(EINVAL, ::pread(fd(), b.data(), b.size(), off)) << "offset " << off;
    EXPECT_ERRNO(EINVAL, ::pwrite(fd(), b.data(), b.size(), off)) << "offset " << off;
  }
}

TEST_F(DmaRw, BadUserPointersFaultAndTransferNothing) {
  const auto known = pattern(256, 500);
  ASSERT_RET(256, ::pwrite(fd(), known.data(), 256, 0));
  const auto before = stats(fd());

  Mapping ro = anon_map(page_size(), PROT_READ);
  ASSERT_TRUE(ro.valid());
  // Readable for its first 100 bytes only: the rest is a hole.
  Mapping half = anon_map(2 * page_size());
  ASSERT_TRUE(half.valid());
  ASSERT_EQ(::munmap(half.data() + page_size(), page_size()), 0);
  std::uint8_t* straddle = half.data() + page_size() - 100;
  std::memset(straddle, 0x77, 100);

  EXPECT_ERRNO(EFAULT, ::pwrite(fd(), null_buffer(), 256, 0));
  EXPECT_ERRNO(EFAULT, ::pwrite(fd(), unmapped_address(), 256, 0));
  // NOLINTNEXTLINE(*-reinterpret-cast,performance-no-int-to-ptr): a kernel address, on purpose
  EXPECT_ERRNO(EFAULT, ::pwrite(fd(), reinterpret_cast<void*>(kKernelAddress), 256, 0));
  EXPECT_ERRNO(EFAULT, ::pwrite(fd(), straddle, 256, 0)) << "source partly unmapped";

  EXPECT_EQ(stats(fd()).dma_ops, before.dma_ops) << "a faulting write started a DMA";
  std::vector<std::uint8_t> back(256, 0);
  ASSERT_RET(256, ::pread(fd(), back.data(), 256, 0));
  EXPECT_EQ(first_mismatch(known, back), -1) << "a faulting write changed the device buffer";

  EXPECT_ERRNO(EFAULT, ::pread(fd(), null_buffer(), 256, 0));
  EXPECT_ERRNO(EFAULT, ::pread(fd(), unmapped_address(), 256, 0));
  // NOLINTNEXTLINE(*-reinterpret-cast,performance-no-int-to-ptr): a kernel address, on purpose
  EXPECT_ERRNO(EFAULT, ::pread(fd(), reinterpret_cast<void*>(kKernelAddress), 256, 0));
  EXPECT_ERRNO(EFAULT, ::pread(fd(), ro.data(), 256, 0)) << "read-only destination";
  EXPECT_EQ(ro.data()[0], 0) << "read-only destination was written";
  EXPECT_ERRNO(EFAULT, ::pread(fd(), straddle, 256, 0)) << "destination partly unmapped";

  expect_dma_works(fd());
}

TEST_F(DmaRw, ReadAndWriteAdvanceTheFilePosition) {
  const auto a = pattern(10, 600);
  const auto b = pattern(20, 601);
  ASSERT_EQ(::lseek(fd(), 0, SEEK_SET), 0);
  ASSERT_RET(10, ::write(fd(), a.data(), 10));
  EXPECT_EQ(pos(fd()), 10);
  ASSERT_RET(20, ::write(fd(), b.data(), 20));
  EXPECT_EQ(pos(fd()), 30);
  ASSERT_EQ(::lseek(fd(), 0, SEEK_SET), 0);
  std::vector<std::uint8_t> back(30, 0);
  ASSERT_RET(30, ::read(fd(), back.data(), 30));
  EXPECT_EQ(pos(fd()), 30);
  EXPECT_EQ(first_mismatch(a, {back.data(), 10}), -1);
  EXPECT_EQ(first_mismatch(b, {back.data() + 10, 20}), -1);

  ASSERT_EQ(::lseek(fd(), 4090, SEEK_SET), 4090);
  EXPECT_RET(5, ::write(fd(), b.data(), 20)) << "short write at the window end";
  EXPECT_EQ(pos(fd()), 4095);
  EXPECT_ERRNO(ENOSPC, ::write(fd(), b.data(), 20));
  EXPECT_EQ(pos(fd()), 4095);
  EXPECT_RET(0, ::read(fd(), back.data(), 20)) << "end of file";
  EXPECT_EQ(pos(fd()), 4095);
  ASSERT_EQ(::lseek(fd(), 4085, SEEK_SET), 4085);
  EXPECT_RET(10, ::read(fd(), back.data(), 30)) << "short read at the window end";
  EXPECT_EQ(pos(fd()), 4095);
}

TEST_F(DmaRw, NonblockingFileWorksWhenTheEngineIsFree) {
  Fd nb = open_node(node_, O_RDWR | O_NONBLOCK);
  ASSERT_TRUE(nb.valid());
  const auto data = pattern(64, 700);
  std::vector<std::uint8_t> back(64, 0);
  EXPECT_RET(64, ::pwrite(nb.get(), data.data(), 64, 64));
  EXPECT_RET(64, ::pread(nb.get(), back.data(), 64, 64));
  EXPECT_EQ(first_mismatch(data, back), -1);
}

// Engine kept busy by other files: O_NONBLOCK refuses, a blocking caller
// waits and can be interrupted. Each attempt races with the engine being
// free between two transfers for a moment, so the test retries and only
// requires that each refusal/interruption happens and that every attempt
// ends in one of the two documented outcomes.
TEST_F(DmaRw, BusyEngineNonblockAndSignals) {
  EngineHammer hammer(node_, 2, 2048, 1000);
  ASSERT_TRUE(hammer.wait_started()) << hammer.failure();

  // Before each attempt, sleep so the hammers queue up for the engine
  // (right after our own transfer we could take it again before they run).
  Fd nb = open_node(node_, O_RDWR | O_NONBLOCK);
  ASSERT_TRUE(nb.valid());
  const auto data = pattern(64, 800);
  std::vector<std::uint8_t> back(64);
  auto attempts = [&](int expected_err, const char* what, const std::function<Ret()>& call) {
    int hits = 0;
    for (int i = 0; i < 20 && hits == 0; ++i) {
      std::this_thread::sleep_for(30ms);
      const Ret r = call();
      if (r.rc < 0) {
        EXPECT_EQ(r.err, expected_err) << what << ": " << errno_name(r.err);
        hits += static_cast<int>(r.err == expected_err);
      } else {
        EXPECT_EQ(r.rc, 64) << what << ": one transfer is all or nothing";
      }
    }
    EXPECT_GT(hits, 0) << what << " never failed with " << errno_name(expected_err)
                       << " while the engine was busy";
  };
  attempts(EAGAIN, "O_NONBLOCK pwrite", [&] { return R(::pwrite(nb.get(), data.data(), 64, 0)); });
  attempts(EAGAIN, "O_NONBLOCK pread", [&] { return R(::pread(nb.get(), back.data(), 64, 0)); });

  SignalCatcher sig(SIGALRM);
  attempts(EINTR, "pwrite waiting for the engine", [&] {
    ThreadTimer timer(SIGALRM, 20ms, 20ms);
    return R(::pwrite(fd(), data.data(), 64, 0));
  });
  attempts(EINTR, "pread waiting for the engine", [&] {
    ThreadTimer timer(SIGALRM, 20ms, 20ms);
    return R(::pread(fd(), back.data(), 64, 0));
  });
  attempts(EINTR, "write waiting for the engine", [&] {
    ThreadTimer timer(SIGALRM, 20ms, 20ms);
    ::lseek(fd(), 0, SEEK_SET);
    return R(::write(fd(), data.data(), 64));
  });
  attempts(EINTR, "read waiting for the engine", [&] {
    ThreadTimer timer(SIGALRM, 20ms, 20ms);
    ::lseek(fd(), 0, SEEK_SET);
    return R(::read(fd(), back.data(), 64));
  });
  // Slice 0 ends up holding our data (each successful pwrite wrote it).
  ASSERT_RET(64, ::pwrite(fd(), data.data(), 64, 0));
  ASSERT_RET(64, ::pread(fd(), back.data(), 64, 0));
  EXPECT_EQ(first_mismatch(data, back), -1);

  hammer.stop();
  EXPECT_EQ(hammer.failure(), "") << "the other files' data must be intact";
  expect_dma_works(fd());
}

// --------------------------------------------------------------------------
// llseek

TEST_F(DmaSeek, SeekSet) {
  for (off_t off : {off_t{0}, off_t{1}, off_t{2048}, off_t{4094}, off_t{4095}}) {
    EXPECT_RET(off, ::lseek(fd(), off, SEEK_SET));
    EXPECT_EQ(pos(fd()), off);
  }
  ASSERT_EQ(::lseek(fd(), 100, SEEK_SET), 100);
  for (off_t off : {off_t{-1}, off_t{4096}, off_t{1} << 40, off_t{LLONG_MAX}, off_t{LLONG_MIN}}) {
    EXPECT_ERRNO(EINVAL, ::lseek(fd(), off, SEEK_SET)) << "offset " << off;
    EXPECT_EQ(pos(fd()), 100) << "a failed seek moved the position";
  }
}

TEST_F(DmaSeek, SeekCur) {
  ASSERT_EQ(::lseek(fd(), 100, SEEK_SET), 100);
  EXPECT_RET(110, ::lseek(fd(), 10, SEEK_CUR));
  EXPECT_RET(110, ::lseek(fd(), 0, SEEK_CUR));
  EXPECT_RET(0, ::lseek(fd(), -110, SEEK_CUR));
  EXPECT_ERRNO(EINVAL, ::lseek(fd(), -1, SEEK_CUR));
  EXPECT_EQ(pos(fd()), 0);
  EXPECT_RET(4095, ::lseek(fd(), 4095, SEEK_CUR));
  EXPECT_ERRNO(EINVAL, ::lseek(fd(), 1, SEEK_CUR));
  EXPECT_ERRNO(EINVAL, ::lseek(fd(), LLONG_MAX, SEEK_CUR)) << "overflow";
  EXPECT_ERRNO(EINVAL, ::lseek(fd(), LLONG_MIN, SEEK_CUR));
  EXPECT_EQ(pos(fd()), 4095);
}

TEST_F(DmaSeek, SeekEndIsRelativeToTheWindow) {
  EXPECT_RET(4095, ::lseek(fd(), 0, SEEK_END));
  EXPECT_RET(4094, ::lseek(fd(), -1, SEEK_END));
  EXPECT_RET(0, ::lseek(fd(), -4095, SEEK_END));
  EXPECT_ERRNO(EINVAL, ::lseek(fd(), 1, SEEK_END));
  EXPECT_ERRNO(EINVAL, ::lseek(fd(), -4096, SEEK_END));
  EXPECT_ERRNO(EINVAL, ::lseek(fd(), LLONG_MAX, SEEK_END)) << "overflow";
  EXPECT_ERRNO(EINVAL, ::lseek(fd(), LLONG_MIN, SEEK_END));
  EXPECT_EQ(pos(fd()), 0);
}

TEST_F(DmaSeek, UnknownWhenceIsInvalid) {
  EXPECT_ERRNO(EINVAL, ::lseek(fd(), 0, 99));
}

TEST_F(DmaSeek, SeekThenReadAndWrite) {
  const auto data = pattern(50, 1000);
  ASSERT_EQ(::lseek(fd(), -50, SEEK_END), 4045);
  ASSERT_RET(50, ::write(fd(), data.data(), 50));
  EXPECT_EQ(pos(fd()), 4095);
  std::vector<std::uint8_t> back(100, 0);
  ASSERT_EQ(::lseek(fd(), -50, SEEK_CUR), 4045);
  ASSERT_RET(50, ::read(fd(), back.data(), 100));
  EXPECT_EQ(first_mismatch(data, {back.data(), 50}), -1);
}

}  // namespace
}  // namespace edutest
