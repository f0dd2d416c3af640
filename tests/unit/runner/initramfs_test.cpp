#include "initramfs.hpp"

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>

using namespace edulab;
namespace fs = std::filesystem;

namespace {

// A minimal staged image: what `make stage` leaves, with a one-file rootfs.
class InitramfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("initramfs-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "rootfs");
    std::ofstream(dir_ / "kernel") << "not really a kernel";
    std::ofstream(dir_ / "kernel.release") << "6.1.0-test\n";
    std::ofstream(dir_ / "rootfs" / "init") << "#!/bin/sh\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

std::string error_of(const Stage& stage, const RunOptions& o) {
  try {
    (void)make_initramfs(stage, o);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_F(InitramfsTest, HoldsRootfsCommandAndAddedFiles) {
  const Stage stage = load_stage(dir_);
  EXPECT_EQ(stage.release, "6.1.0-test");
  RunOptions o;
  o.command = {"echo", "a b"};
  o.added.push_back({(dir_ / "kernel.release").string(), "/tmp/release"});
  const CpioArchive cpio = make_initramfs(stage, o).cpio;
  for (const char* p : {"/init", "/dev/console", "/lab/results", "/lab/cmd.sh", "/tmp/release"})
    EXPECT_TRUE(cpio.contains(p)) << p;
}

TEST_F(InitramfsTest, AddBinaryBringsItsLibraries) {
  RunOptions o;
  o.added_binaries = {"/bin/ls"};
  const CpioArchive cpio = make_initramfs(load_stage(dir_), o).cpio;
  EXPECT_TRUE(cpio.contains("/usr/local/bin/ls"));
  EXPECT_TRUE(cpio.contains("/lib/x86_64-linux-gnu/libc.so.6"));
}

TEST_F(InitramfsTest, AddBinaryForTheOtherArchitectureIsRefused) {
  RunOptions o;
  o.arch = Arch::aarch64;
  o.added_binaries = {"/bin/ls"};
  EXPECT_EQ(error_of(load_stage(dir_), o),
            "--add-binary /bin/ls: built for x86_64, the guest is aarch64");

  // The arm64 cross toolchain's libc is an aarch64 ELF (make test installs it).
  const fs::path arm64_elf = "/usr/aarch64-linux-gnu/lib/libc.so.6";
  if (!fs::exists(arm64_elf)) GTEST_SKIP() << arm64_elf << " missing (no arm64 cross toolchain)";
  o.arch = Arch::x86_64;
  o.added_binaries = {arm64_elf.string()};
  EXPECT_EQ(error_of(load_stage(dir_), o),
            "--add-binary " + arm64_elf.string() + ": built for aarch64, the guest is x86_64");
}

TEST_F(InitramfsTest, MissingStagePartsNameTheFixCommand) {
  fs::remove(dir_ / "rootfs" / "init");
  try {
    (void)load_stage(dir_);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("make stage"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)load_stage(dir_ / "nowhere"), std::runtime_error);
}
