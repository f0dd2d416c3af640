// Guest memory sizing for payloads (--add, --add-binary) and the initramfs size.
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "cpio.hpp"
#include "qemu_command.hpp"

using namespace edulab;

namespace {
constexpr std::uint64_t kMiB = 1024ULL * 1024;
}

TEST(Memory, ParsesQemuSizes) {
  EXPECT_EQ(memory_mib("256M"), 256U);
  EXPECT_EQ(memory_mib("256"), 256U);
  EXPECT_EQ(memory_mib("2G"), 2048U);
  EXPECT_EQ(memory_mib("1t"), 1024U * 1024U);
  EXPECT_EQ(memory_mib("524288k"), 512U);
  EXPECT_EQ(memory_mib("1.5G"), 1536U);
  EXPECT_THROW((void)memory_mib("lots"), std::invalid_argument);
  EXPECT_THROW((void)memory_mib("2GB"), std::invalid_argument);
}

TEST(Memory, NoPayloadKeepsTheDefault) {
  RunOptions o;
  EXPECT_EQ(plan_memory(o, 0), "256M");
  o.kernel = KernelFlavour::debug;
  EXPECT_EQ(plan_memory(o, 0), "512M");
}

TEST(Memory, APayloadGrowsTheDefaultByTwiceItsSize) {
  RunOptions o;
  // fio with its libraries: ~80 MiB, unpacked next to its archive.
  EXPECT_EQ(plan_memory(o, 80 * kMiB), "448M");
  o.arch = Arch::aarch64;
  EXPECT_EQ(plan_memory(o, 1), "576M");
}

TEST(Memory, AnExplicitSizeIsKeptWhenItFits) {
  RunOptions o;
  o.memory = "1G";
  EXPECT_EQ(plan_memory(o, 80 * kMiB), "1G");
  o.memory = "128M";  // no payload: the user's choice, unchecked
  EXPECT_EQ(plan_memory(o, 0), "128M");
}

TEST(Memory, AnExplicitSizeTooSmallForThePayloadNamesTheFix) {
  RunOptions o;
  o.memory = "256M";
  try {
    (void)plan_memory(o, 80 * kMiB);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("--mem 256M is too small"), std::string::npos) << what;
    EXPECT_NE(what.find("--mem 448M or more"), std::string::npos) << what;
  }
}

TEST(Memory, APayloadTooBigForAnyInitramfsIsRefused) {
  RunOptions o;
  try {
    (void)plan_memory(o, 9000 * kMiB);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("too big"), std::string::npos) << e.what();
  }
}

TEST(Memory, ArchiveSizeIsWhatWriteProduces) {
  CpioArchive a;
  a.add_file("/bin/x", std::string(1001, 'x'), 0755);
  a.add_symlink("/lib/y", "x");
  a.add_char_device("/dev/console", 5, 1);
  std::ostringstream out;
  a.write(out);
  EXPECT_EQ(a.bytes(), out.str().size());
}
