#include "elf_deps.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

using namespace edulab;
namespace fs = std::filesystem;

TEST(ElfDeps, DynamicHostProgramNeedsLoaderAndLibc) {
  const auto info = read_elf_info("/bin/ls");
  EXPECT_EQ(info.machine, ElfMachine::x86_64);
  EXPECT_FALSE(info.interpreter.empty());
  const auto deps = runtime_dependencies("/bin/ls");
  ASSERT_FALSE(deps.empty());
  EXPECT_EQ(deps.front().guest, info.interpreter);
  EXPECT_TRUE(std::any_of(deps.begin(), deps.end(),
                          [](const Dependency& d) { return d.guest.ends_with("/libc.so.6"); }));
  for (const auto& d : deps)
    EXPECT_TRUE(fs::exists(d.host)) << d.host;
}

TEST(ElfDeps, TransitiveLibrariesAreFound) {
  // cmake -> libstdc++ -> libm: libm is only reachable through libstdc++.
  const auto deps = runtime_dependencies("/usr/bin/cmake");
  EXPECT_TRUE(std::any_of(deps.begin(), deps.end(),
                          [](const Dependency& d) { return d.guest.ends_with("/libm.so.6"); }));
}

TEST(ElfDeps, StaticProgramNeedsNothing) {
  const auto info = read_elf_info("/bin/busybox");
  EXPECT_TRUE(info.interpreter.empty());
  EXPECT_TRUE(info.needed.empty());
  EXPECT_TRUE(runtime_dependencies("/bin/busybox").empty());
}

TEST(ElfDeps, NonElfIsRejectedClearly) {
  const fs::path p = fs::temp_directory_path() / "not-elf.sh";
  std::ofstream(p) << "#!/bin/sh\necho hi\n";
  try {
    read_elf_info(p);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not an ELF file"), std::string::npos);
  }
  std::ofstream(p, std::ios::binary) << "\x7f"
                                        "ELF";  // truncated
  EXPECT_THROW(read_elf_info(p), std::runtime_error);
  fs::remove(p);
}
