// libedu runtime API (edu::) against the real driver: discovery vs sysfs,
// EDU_VISIBLE_DEVICES, copies of 1 byte to a few hundred KB on every path
// (CRC and memcmp verified), copy_through_all, asynchronous operations, and
// the error paths (no device, invalid sizes and offsets).
#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <numeric>

#include <poll.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "edu/edu.hpp"
#include "lib_test_util.hpp"

namespace edulibtest {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

edu::DiscoveryOptions only(const std::string& filter) {
  edu::DiscoveryOptions o;
  o.visible_devices = filter;
  return o;
}

/// A runtime over all devices, whatever the environment says.
edu::Runtime all_devices() {
  return edu::Runtime(edu::DiscoveryOptions{});
}

// ------------------------------------------------------------- discovery

TEST(LibRuntime, DiscoveryMatchesSysfs) {
  const auto sys = sysfs_devices();
  ASSERT_FALSE(sys.empty());
  if (const auto want = expected_device_count()) {
    EXPECT_EQ(sys.size(), *want);
  }
  const auto found = edu::list_devices();
  ASSERT_EQ(found.size(), sys.size());
  for (std::size_t i = 0; i < sys.size(); ++i) {
    SCOPED_TRACE(found[i].name);
    EXPECT_EQ(found[i].index, sys[i].index);
    EXPECT_EQ(found[i].name, "edu" + std::to_string(sys[i].index));
    EXPECT_EQ(found[i].dev_path, "/dev/edu" + std::to_string(sys[i].index));
    EXPECT_TRUE(std::filesystem::is_character_file(found[i].dev_path));
    EXPECT_EQ(found[i].pci_address, sys[i].pci_address);
    EXPECT_EQ(edu::to_string(found[i].irq_mode), sys[i].irq_mode);
    EXPECT_EQ(found[i].dma_window, sys[i].dma_window);
    EXPECT_EQ(found[i].id_register, edu::kQemuIdRegister);
    EXPECT_EQ(found[i].version, "1.0");
  }
  edu::Runtime rt = all_devices();
  EXPECT_EQ(rt.device_count(), sys.size());
  EXPECT_EQ(rt.present_count(), sys.size());
  for (std::size_t i = 0; i < rt.device_count(); ++i) {
    const edu::Device& d = rt.device(i);
    EXPECT_EQ(d.index(), sys[i].index);
    EXPECT_EQ(d.identity().index, sys[i].index);
    EXPECT_TRUE(d.alive());
  }
}

TEST(LibRuntime, VisibleDevicesSelectAndOrder) {
  const auto sys = sysfs_devices();
  ASSERT_FALSE(sys.empty());
  const unsigned first = sys.front().index;
  const unsigned last = sys.back().index;
  {
    // Reversed order, a duplicate and an absent index.
    const std::string filter =
        std::to_string(last) + "," + std::to_string(first) + "," + std::to_string(last) + ",999";
    edu::Runtime rt(only(filter));
    ASSERT_EQ(rt.device_count(), sys.size() > 1 ? 2U : 1U);
    EXPECT_EQ(rt.device(0).index(), last);
    EXPECT_EQ(rt.device(0).identity().index, last);
    if (sys.size() > 1) {
      EXPECT_EQ(rt.device(1).index(), first);
    }
    EXPECT_EQ(rt.present_count(), sys.size());
  }
  // Through the environment, as applications use it.
  {
    ScopedEnv env("EDU_VISIBLE_DEVICES", std::to_string(last));
    edu::Runtime rt;
    ASSERT_EQ(rt.device_count(), 1U);
    EXPECT_EQ(rt.device(0).index(), last);
    EXPECT_EQ(rt.device_by_index(last).index(), last);
    if (sys.size() > 1) {
      try {
        (void)rt.device_by_index(first);
        ADD_FAILURE() << "a hidden device was returned";
      } catch (const edu::Error& e) {
        EXPECT_EQ(e.code(), edu::errc::device_not_visible) << e.what();
        EXPECT_THAT(e.hint(), HasSubstr("EDU_VISIBLE_DEVICES=\"" + std::to_string(last) + "\""));
      }
    }
  }
  {
    ScopedEnv env("EDU_VISIBLE_DEVICES", "0,,1");
    try {
      edu::Runtime rt;
      ADD_FAILURE() << "a malformed EDU_VISIBLE_DEVICES was accepted";
    } catch (const edu::Error& e) {
      EXPECT_EQ(e.code(), edu::errc::bad_visible_devices) << e.what();
      EXPECT_EQ(e.code(), std::errc::invalid_argument);
    }
  }
}

TEST(LibRuntime, NoVisibleDeviceThrowsWithHint) {
  ScopedEnv env("EDU_VISIBLE_DEVICES", "");
  edu::Runtime rt;
  EXPECT_EQ(rt.device_count(), 0U);
  EXPECT_GT(rt.present_count(), 0U);
  try {
    (void)rt.device(0);
    ADD_FAILURE() << "device(0) with no visible device";
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), edu::errc::device_not_visible) << e.what();
    EXPECT_EQ(e.code(), std::errc::no_such_device);
    EXPECT_THAT(e.what(), HasSubstr("EDU_VISIBLE_DEVICES=\"\" hides all"));
  }
  std::vector<std::byte> a(10);
  std::vector<std::byte> b(10);
  EXPECT_THROW((void)edu::copy_through_all(rt, a, b), edu::Error);
}

TEST(LibRuntime, NonexistentDeviceThrowsWithHint) {
  edu::Runtime rt = all_devices();
  try {
    (void)rt.device_by_index(999);
    ADD_FAILURE() << "device_by_index(999)";
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), edu::errc::no_device) << e.what();
    EXPECT_THAT(e.what(), HasSubstr("find /dev/edu999"));
    EXPECT_THAT(e.hint(), HasSubstr("present device indices: "));
  }
  try {
    (void)rt.device(rt.device_count());
    ADD_FAILURE() << "ordinal past the end";
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), edu::errc::no_device) << e.what();
    EXPECT_THAT(e.hint(), HasSubstr("device(s) visible"));
  }
  // No driver at all (an empty sysfs tree): the modprobe hint.
  TempDir empty;
  edu::DiscoveryOptions o;
  o.sysfs_root = empty.path();
  edu::Runtime none(o);
  try {
    (void)none.device(0);
    ADD_FAILURE() << "a device without sysfs";
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), edu::errc::no_device) << e.what();
    EXPECT_THAT(e.hint(), HasSubstr("modprobe edu"));
  }
  // Opening a missing node directly.
  try {
    (void)edu::drv::Device::open(999);
    ADD_FAILURE() << "opened /dev/edu999";
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory) << e.what();
    EXPECT_THAT(e.hint(), HasSubstr("modprobe edu"));
  }
}

// ------------------------------------------------------------------ copies

struct CopyCase {
  std::size_t size;
  edu::CopyPath path;
};

void expect_copy_through(const edu::Device& dev, const CopyCase& c, std::uint32_t seed) {
  SCOPED_TRACE(::testing::Message() << c.size << " bytes, path " << edu::to_string(c.path));
  const auto src = pattern(c.size, seed);
  std::vector<std::byte> dst(c.size, std::byte{0xEE});
  edu::CopyOptions o;
  o.path = c.path;
  std::uint64_t last_progress = 0;
  o.progress = [&](std::uint64_t done, std::uint64_t total) {
    EXPECT_EQ(total, c.size);
    EXPECT_GE(done, last_progress);
    last_progress = done;
  };
  const edu::CopyResult r = edu::copy_through(dev, src, dst, o);
  EXPECT_EQ(r.bytes, c.size);
  EXPECT_EQ(last_progress, c.size);
  const std::uint64_t windows = edu::dma_transfers(c.size, dev.dma_window());
  EXPECT_EQ(r.path, edu::choose_path(c.size, c.path));
  EXPECT_GE(r.dma_transfers, 2 * windows);
  EXPECT_EQ(crc32(dst), crc32(src));
  EXPECT_EQ(std::memcmp(dst.data(), src.data(), c.size), 0);
}

TEST(LibRuntime, CopyThroughSizesAutomaticPath) {
  edu::Runtime rt = all_devices();
  const edu::Device& dev = rt.device(0);
  std::uint32_t seed = 10;
  // Staging up to 16 KiB, pinned above (kPinnedThreshold).
  for (std::size_t size : {1UL, 4094UL, 4095UL, 4096UL, 16384UL, 16385UL, 40000UL})
    expect_copy_through(dev, {size, edu::CopyPath::automatic}, seed++);
}

TEST(LibRuntime, CopyThroughEveryExplicitPath) {
  edu::Runtime rt = all_devices();
  const edu::Device& dev = rt.device(0);
  std::uint32_t seed = 20;
  for (edu::CopyPath p : {edu::CopyPath::staging, edu::CopyPath::pinned, edu::CopyPath::read_write})
    for (std::size_t size : {1UL, 4096UL, 8191UL})
      expect_copy_through(dev, {size, p}, seed++);
  // Larger than the staging buffer on the staging path.
  expect_copy_through(dev, {dev.identity().staging_size + 4000UL, edu::CopyPath::staging}, seed++);
}

TEST(LibRuntime, CopyToAndFromDeviceOnEveryPath) {
  edu::Runtime rt = all_devices();
  const edu::Device& dev = rt.device(0);
  const std::uint32_t w = dev.dma_window();
  std::uint32_t seed = 30;
  for (edu::CopyPath p : {edu::CopyPath::automatic, edu::CopyPath::staging, edu::CopyPath::pinned,
                          edu::CopyPath::read_write}) {
    SCOPED_TRACE(edu::to_string(p));
    for (const auto& [offset, size] :
         std::array<std::pair<std::uint64_t, std::size_t>, 3>{{{0, w}, {1000, 1}, {w - 7, 7}}}) {
      const auto data = pattern(size, seed++);
      edu::CopyOptions o;
      o.path = p;
      EXPECT_EQ(edu::copy_to_device(dev, offset, data, o).bytes, size);
      std::vector<std::byte> back(size);
      EXPECT_EQ(edu::copy_from_device(dev, offset, back, o).bytes, size);
      EXPECT_TRUE(back == data) << "offset " << offset << " size " << size;
    }
  }
}

TEST(LibRuntime, CopyThroughAllDevicesFewHundredKB) {
  edu::Runtime rt = all_devices();
  // 200 KB = 49 windows: each device moves ceil(49 / devices) of them, on the
  // staging path (two transfers per window, whatever the page layout).
  const std::size_t size = 200 * 1000 + 123;
  const auto src = pattern(size, 40);
  std::vector<std::byte> dst(size);
  edu::CopyOptions o;
  o.path = edu::CopyPath::staging;
  std::uint64_t reported = 0;
  o.progress = [&](std::uint64_t done, std::uint64_t total) {
    EXPECT_EQ(total, size);
    reported = std::max(reported, done);
  };
  const edu::MultiCopyResult r = edu::copy_through_all(rt, src, dst, o);
  EXPECT_EQ(reported, size);
  EXPECT_EQ(crc32(dst), crc32(src));
  EXPECT_EQ(std::memcmp(dst.data(), src.data(), size), 0);
  ASSERT_EQ(r.slices.size(), std::min<std::size_t>(rt.device_count(), 49));
  std::uint64_t covered = 0;
  std::vector<unsigned> used;
  for (const auto& s : r.slices) {
    EXPECT_EQ(s.slice.offset, covered);
    EXPECT_EQ(s.copy.bytes, s.slice.length);
    EXPECT_EQ(s.copy.path, edu::CopyPath::staging);
    covered += s.slice.length;
    used.push_back(s.device_index);
  }
  EXPECT_EQ(covered, size);
  std::sort(used.begin(), used.end());
  EXPECT_EQ(std::adjacent_find(used.begin(), used.end()), used.end()) << "a device used twice";
}

TEST(LibRuntime, CopyThroughAllPinnedSmall) {
  edu::Runtime rt = all_devices();
  const std::size_t size = 4095 * rt.device_count() + 1;
  const auto src = pattern(size, 41);
  std::vector<std::byte> dst(size);
  edu::CopyOptions o;
  o.path = edu::CopyPath::pinned;
  const edu::MultiCopyResult r = edu::copy_through_all(rt, src, dst, o);
  EXPECT_TRUE(dst == src);
  EXPECT_FALSE(r.slices.empty());
}

// --------------------------------------------------------- invalid input

TEST(LibRuntime, InvalidSizesAndOffsetsAreClearErrors) {
  edu::Runtime rt = all_devices();
  const edu::Device& dev = rt.device(0);
  const std::uint32_t w = dev.dma_window();
  std::vector<std::byte> buf(200);
  // code: an edu::errc (exact) or a std::errc (the generic condition, so
  // that an errno from the kernel and a check done by libedu both match).
  auto expect_error = [](const auto& f, auto code, const std::string& text) {
    try {
      f();
      ADD_FAILURE() << "no error; expected " << make_error_code(code).message();
    } catch (const edu::Error& e) {
      EXPECT_TRUE(e.code() == code) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(text));
    }
  };
  const auto oow = edu::errc::out_of_window;
  expect_error([&] { (void)edu::copy_to_device(dev, w - 100, buf); }, oow,
               "do not fit the DMA window of 4095 bytes");
  expect_error([&] { (void)edu::copy_from_device(dev, w + 1, std::span(buf).first(1)); }, oow,
               "DMA window");
  std::vector<std::byte> big(w + 1);
  expect_error([&] { (void)edu::copy_to_device(dev, 0, big); }, oow, "[0, 4096)");
  std::vector<std::byte> other(199);
  expect_error([&] { (void)edu::copy_through(dev, buf, other); }, edu::errc::size_mismatch,
               "source has 200 bytes");
  expect_error([&] { (void)edu::copy_through_all(rt, buf, other); }, edu::errc::size_mismatch,
               "destination 199");

  const edu::drv::Device& d = dev.driver();
  const auto einval = std::errc::invalid_argument;
  expect_error([&] { d.dma_staging(edu::Direction::to_device, 0, 0, 0); }, einval,
               "nvalid argument");
  expect_error([&] { d.dma_staging(edu::Direction::to_device, 0, 0, w + 1); }, einval,
               "DMA window");
  expect_error([&] { d.dma_staging(edu::Direction::from_device, 0, w - 1, 2); }, einval, "window");
  expect_error([&] { (void)d.dma_to_device(buf, w); }, einval, "nvalid argument");
  expect_error([&] { (void)d.dma_loopback(buf, other); }, edu::errc::size_mismatch, "200");
  expect_error([&] { (void)d.factorial(5, edu::WaitMode::irq, std::chrono::milliseconds(60001)); },
               edu::errc::bad_argument, "60000");
  expect_error([&] { (void)d.raise_irq(0); }, edu::errc::bad_argument, "");
  expect_error([&] { (void)d.raise_irq(0x100); }, edu::errc::bad_argument, "");
  expect_error([&] { (void)d.map_staging(std::size_t{64} << 20); }, einval, "staging");
  const edu::drv::Device fresh = dev.open_file();
  expect_error([&] { (void)fresh.complete(); }, std::errc::no_message_available,
               "no asynchronous operation was started");
  expect_error([&] { (void)edu::copy_to_device_async(dev, 0, std::span(buf).first(0)); },
               edu::errc::bad_argument, "asynchronous copy moves 1..");
  expect_error([&] { (void)edu::copy_from_device_async(dev, 0, big); }, oow, "DMA window");
}

// ------------------------------------------------------------------- async

TEST(LibRuntime, AsyncOperations) {
  edu::Runtime rt = all_devices();
  const edu::Device& dev = rt.device(0);
  const std::uint32_t w = dev.dma_window();

  edu::AsyncOp f = edu::factorial_async(dev, 10);
  ASSERT_TRUE(f.valid());
  EXPECT_EQ(f.kind(), edu::AsyncOp::Kind::factorial);
  pollfd p{f.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 5000), 1);  // readable when done: usable in an event loop
  EXPECT_TRUE(f.ready());
  EXPECT_EQ(f.get(), 3628800U);

  const auto data = pattern(w, 50);
  std::vector<std::byte> back(w);
  {
    edu::AsyncOp to = edu::copy_to_device_async(dev, 0, data);
    EXPECT_TRUE(to.wait_for(5000ms));
    EXPECT_EQ(to.get(), w);
  }
  edu::AsyncOp from = edu::copy_from_device_async(dev, 0, back);
  from.wait();
  EXPECT_EQ(from.get(), w);
  EXPECT_TRUE(back == data);

  // Many in flight at once, on every device: wait_any, then wait_all.
  std::vector<edu::AsyncOp> ops;
  for (std::size_t i = 0; i < rt.device_count(); ++i)
    for (std::uint32_t n : {5U, 6U, 7U})
      ops.push_back(edu::factorial_async(rt.device(i), n));
  std::vector<edu::AsyncOp*> ptrs;
  ptrs.reserve(ops.size());
  for (auto& op : ops)
    ptrs.push_back(&op);
  const auto first = edu::wait_any(ptrs, 5000ms);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(ops[*first].ready());
  edu::wait_all(ptrs);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    constexpr std::array<std::uint64_t, 3> expect = {120, 720, 5040};
    EXPECT_EQ(ops[i].get(), expect[i % 3]);
  }

  // An empty handle says so.
  edu::AsyncOp empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_THROW(empty.wait(), edu::Error);
}

}  // namespace
}  // namespace edulibtest
