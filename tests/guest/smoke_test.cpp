// In-guest smoke test: every edu PCI device is bound to the driver, has its
// /dev/eduN node, and answers the identification ioctl with the device's ID
// register. Raw syscalls on purpose: this is the boot-level ABI check.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/edu.h>

#include <gtest/gtest.h>

namespace fs = std::filesystem;

namespace {

std::string read_line(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  return s;
}

std::vector<fs::path> edu_pci_devices() {
  std::vector<fs::path> out;
  for (const auto& d : fs::directory_iterator("/sys/bus/pci/devices")) {
    if (read_line(d.path() / "vendor") == "0x1234" && read_line(d.path() / "device") == "0x11e8") {
      out.push_back(d.path());
    }
  }
  return out;
}

// The number of edu devices the runner gave the guest (--edu N).
long expected_devices() {
  const char* env = std::getenv("EDU_EXPECTED_DEVICES");
  return env != nullptr ? std::strtol(env, nullptr, 10) : -1;
}

}  // namespace

TEST(Smoke, ExpectedNumberOfEduDevicesPresent) {
  const long want = expected_devices();
  if (want < 0) GTEST_SKIP() << "EDU_EXPECTED_DEVICES not set";
  EXPECT_EQ(static_cast<long>(edu_pci_devices().size()), want);
}

TEST(Smoke, EveryEduDeviceIsBoundToTheEduDriver) {
  for (const auto& dev : edu_pci_devices()) {
    const fs::path drv = dev / "driver";
    ASSERT_TRUE(fs::is_symlink(drv)) << dev << " has no driver (module not auto-loaded?)";
    EXPECT_EQ(fs::read_symlink(drv).filename(), "edu") << dev;
  }
}

TEST(Smoke, EveryBoundDeviceHasANodeThatIdentifies) {
  int seen = 0;
  for (const auto& dev : edu_pci_devices()) {
    ASSERT_TRUE(fs::is_directory(dev / "edu")) << dev << ": no edu class device";
    for (const auto& cls : fs::directory_iterator(dev / "edu")) {
      const fs::path node = fs::path("/dev") / cls.path().filename();
      ASSERT_TRUE(fs::is_character_file(node)) << node << " missing (mdev/devtmpfs?)";
      const int fd = ::open(node.c_str(), O_RDWR | O_CLOEXEC);
      ASSERT_GE(fd, 0) << node << ": " << std::generic_category().message(errno);
      edu_identify id{};
      ASSERT_EQ(::ioctl(fd, EDU_IOC_IDENTIFY, &id), 0) << std::generic_category().message(errno);
      EXPECT_EQ(id.id_register & 0xffffU, 0xedU) << std::hex << id.id_register;
      EXPECT_EQ(id.major, id.id_register >> 24);
      EXPECT_EQ(id.minor, (id.id_register >> 16) & 0xffU);
      EXPECT_EQ("edu" + std::to_string(id.index), cls.path().filename().string());
      ::close(fd);
      ++seen;
    }
  }
  EXPECT_EQ(static_cast<long>(seen), static_cast<long>(edu_pci_devices().size()));
}

TEST(Smoke, IrqModeIsReportedInSysfs) {
  for (const auto& dev : edu_pci_devices()) {
    for (const auto& cls : fs::directory_iterator(dev / "edu")) {
      const std::string mode = read_line(cls.path() / "irq_mode");
      EXPECT_TRUE(mode == "msi" || mode == "intx") << mode;
      const char* want = std::getenv("EDU_EXPECTED_IRQ_MODE");
      if (want != nullptr) {
        EXPECT_EQ(mode, want);
      }
    }
  }
}
