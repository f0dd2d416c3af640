#include "cpio.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>

#include <sys/stat.h>

#include <gtest/gtest.h>

using namespace edulab;
namespace fs = std::filesystem;

TEST(Cpio, NormalizesGuestPaths) {
  EXPECT_EQ(CpioArchive::normalize("a/b/../c/./d/"), "/a/c/d");
  EXPECT_EQ(CpioArchive::normalize("/../.."), "/");
  EXPECT_EQ(CpioArchive::normalize("//x//y"), "/x/y");
}

TEST(Cpio, CreatesParentsAndReplacesFiles) {
  CpioArchive a;
  a.add_file("/usr/local/bin/tool", std::string("v1"), 0755);
  a.add_file("/usr/local/bin/tool", std::string("v2"), 0755);
  EXPECT_TRUE(a.contains("/usr"));
  EXPECT_TRUE(a.contains("/usr/local/bin"));
  EXPECT_EQ(a.size(), 4U);
  EXPECT_THROW(a.add_file("/usr/local/bin/tool/x", std::string("no")), std::invalid_argument);
  EXPECT_THROW(a.add_file("/usr", std::string("no")), std::invalid_argument);
}

// The archive must be readable by a real cpio implementation, byte for byte.
TEST(Cpio, RoundTripsThroughCpioTool) {
  if (std::system("command -v cpio >/dev/null") != 0) GTEST_SKIP() << "cpio not installed";
  CpioArchive a;
  std::string odd(1001, 'x');
  odd[3] = '\0';
  const auto odd_bytes = std::as_bytes(std::span(odd));
  a.add_file("/dir/odd", std::vector<std::byte>(odd_bytes.begin(), odd_bytes.end()), 0640);
  a.add_file("/dir/sub/empty", std::string{});
  a.add_symlink("/dir/link", "odd");
  a.add_char_device("/dev/console", 5, 1);
  const fs::path tmp = fs::temp_directory_path() / ("cpio-test-" + std::to_string(::getpid()));
  fs::create_directories(tmp / "out");
  {
    std::ofstream out(tmp / "a.cpio", std::ios::binary);
    a.write(out);
  }
  const std::string cmd =
      "cd " + (tmp / "out").string() + " && cpio -id --quiet < ../a.cpio 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(tmp / "out/dir/odd", std::ios::binary);
  const std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(back, odd);
  EXPECT_EQ(fs::status(tmp / "out/dir/odd").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_TRUE(fs::exists(tmp / "out/dir/sub/empty"));
  EXPECT_EQ(fs::read_symlink(tmp / "out/dir/link"), "odd");
  // Listing shows the device node with the right numbers (extraction needs root).
  const std::string list =
      "cpio -itv --quiet < " + (tmp / "a.cpio").string() + " | grep -q '^crw.*5, *1 .*dev/console'";
  EXPECT_EQ(std::system(list.c_str()), 0);
  fs::remove_all(tmp);
}

TEST(Cpio, AddsHostTrees) {
  const fs::path tmp = fs::temp_directory_path() / ("cpio-tree-" + std::to_string(::getpid()));
  fs::create_directories(tmp / "a/b");
  std::ofstream(tmp / "a/b/f") << "hi";
  fs::create_symlink("b/f", tmp / "a/l");
  CpioArchive c;
  c.add_host_path(tmp / "a", "/opt/a");
  EXPECT_TRUE(c.contains("/opt/a/b/f"));
  EXPECT_TRUE(c.contains("/opt/a/l"));
  EXPECT_THROW(c.add_host_path(tmp / "missing", "/x"), std::system_error);
  fs::remove_all(tmp);
}
