// sysfs discovery and the runtime's device selection against a fake sysfs tree.
#include "edu/discovery.hpp"

#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "edu/error.hpp"
#include "edu/runtime.hpp"
#include "fake_sysfs.hpp"

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

edu::DiscoveryOptions options_for(const edutest::FakeSysfs& fs,
                                  std::optional<std::string> filter = std::nullopt) {
  edu::DiscoveryOptions o;
  o.sysfs_root = fs.sys();
  o.dev_root = fs.dev();
  o.visible_devices = std::move(filter);
  return o;
}

std::vector<unsigned> indices(const std::vector<edu::DeviceInfo>& v) {
  std::vector<unsigned> out;
  out.reserve(v.size());
  for (const auto& i : v)
    out.push_back(i.index);
  return out;
}

TEST(VisibleDevices, Parses) {
  EXPECT_THAT(edu::parse_visible_devices("0"), ElementsAre(0U));
  EXPECT_THAT(edu::parse_visible_devices("2,0"), ElementsAre(2U, 0U));
  EXPECT_THAT(edu::parse_visible_devices(" 1 , 3 "), ElementsAre(1U, 3U));
  EXPECT_THAT(edu::parse_visible_devices("1,1,2"), ElementsAre(1U, 2U));
  EXPECT_TRUE(edu::parse_visible_devices("").empty());
  EXPECT_TRUE(edu::parse_visible_devices("  ").empty());
}

TEST(VisibleDevices, RejectsMalformed) {
  for (const char* bad : {"a", "0,,1", "-1", "1,", ",1", "0x1", "1 2", "99999999999"}) {
    try {
      (void)edu::parse_visible_devices(bad);
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const edu::Error& e) {
      EXPECT_EQ(e.code(), edu::errc::bad_visible_devices) << bad;
      EXPECT_THAT(e.hint(), HasSubstr("comma-separated")) << bad;
    }
  }
}

TEST(SysfsNumber, Parses) {
  EXPECT_EQ(edu::parse_sysfs_number("4095\n"), 4095U);
  EXPECT_EQ(edu::parse_sysfs_number("0x010000ed\n"), 0x010000edU);
  EXPECT_EQ(edu::parse_sysfs_number("0X1F"), 0x1FU);
  EXPECT_EQ(edu::parse_sysfs_number(" 7 "), 7U);
  EXPECT_EQ(edu::parse_sysfs_number(""), std::nullopt);
  EXPECT_EQ(edu::parse_sysfs_number("0x"), std::nullopt);
  EXPECT_EQ(edu::parse_sysfs_number("12abc"), std::nullopt);
  EXPECT_EQ(edu::parse_sysfs_number("-1"), std::nullopt);
}

TEST(Discovery, NoClassDirectoryMeansNoDevices) {
  edutest::FakeSysfs fs;  // class/edu does not exist: driver not loaded
  EXPECT_TRUE(edu::list_devices(options_for(fs)).empty());
  const auto d = edu::discover(options_for(fs));
  EXPECT_TRUE(d.visible.empty());
  EXPECT_EQ(d.present, 0U);
}

TEST(Discovery, ReadsAttributesAndSortsByIndex) {
  edutest::FakeSysfs fs;
  fs.add_device(2, "0000:00:06.0");
  fs.add_device(0, "0000:00:04.0");
  fs.add_device(10, "0000:00:10.0");
  std::filesystem::create_directories(fs.class_dir() / "not-an-edu");  // ignored
  const auto all = edu::list_devices(options_for(fs));
  ASSERT_THAT(indices(all), ElementsAre(0U, 2U, 10U));
  const edu::DeviceInfo& d = all[1];
  EXPECT_EQ(d.name, "edu2");
  EXPECT_EQ(d.sysfs_path, fs.class_dir() / "edu2");
  EXPECT_EQ(d.dev_path, fs.dev() / "edu2");
  EXPECT_EQ(d.id_register, 0x010000edU);
  EXPECT_EQ(d.version, "1.0");
  EXPECT_EQ(d.irq_mode, edu::IrqMode::msi);
  EXPECT_EQ(d.dma_mask_bits, 28U);
  EXPECT_EQ(d.dma_window, 4095U);
  EXPECT_EQ(d.pci_address, "0000:00:06.0");
  EXPECT_EQ(d.counters.irqs, 12U);
  EXPECT_EQ(d.counters.dma_bytes, 16380U);
}

TEST(Discovery, OptionalAttributesMayBeMissing) {
  edutest::FakeSysfs fs;
  const auto dir = fs.add_device(0);
  std::filesystem::remove(dir / "version");
  std::filesystem::remove(dir / "irqs");
  std::filesystem::remove(dir / "device");
  const auto info = edu::read_device_info(dir, fs.dev());
  EXPECT_EQ(info.version, "");
  EXPECT_EQ(info.counters.irqs, 0U);
  EXPECT_EQ(info.pci_address, "");
}

TEST(Discovery, RequiredAttributeMissingOrMalformedIsBadSysfs) {
  edutest::FakeSysfs fs;
  const auto dir = fs.add_device(0);
  edutest::FakeSysfs::write(dir / "dma_window", "lots\n");
  try {
    (void)edu::list_devices(options_for(fs));
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), edu::errc::bad_sysfs);
    EXPECT_THAT(e.operation(), HasSubstr("dma_window"));
    EXPECT_THAT(e.hint(), HasSubstr("lots"));
  }
  std::filesystem::remove(dir / "id_register");
  EXPECT_THROW((void)edu::list_devices(options_for(fs)), edu::Error);
}

TEST(Discovery, VisibleDevicesFilterOrdersAndIgnoresAbsent) {
  edutest::FakeSysfs fs;
  for (unsigned i : {0U, 1U, 2U, 3U})
    fs.add_device(i);
  EXPECT_THAT(indices(edu::discover(options_for(fs)).visible), ElementsAre(0U, 1U, 2U, 3U));
  const auto d = edu::discover(options_for(fs, "3,1,7"));
  EXPECT_THAT(indices(d.visible), ElementsAre(3U, 1U));
  EXPECT_EQ(d.present, 4U);
  EXPECT_EQ(d.filter, "3,1,7");
  EXPECT_TRUE(edu::discover(options_for(fs, "")).visible.empty());
  EXPECT_THROW((void)edu::discover(options_for(fs, "x")), edu::Error);
}

// NOLINTBEGIN(concurrency-mt-unsafe): the environment is set while the test has one thread
TEST(Discovery, FromEnvironment) {
  ::setenv("EDU_VISIBLE_DEVICES", "1,0", 1);
  ::setenv("EDU_SYSFS_ROOT", "/tmp/fake-sys", 1);
  ::unsetenv("EDU_DEV_ROOT");
  auto o = edu::DiscoveryOptions::from_environment();
  EXPECT_EQ(o.visible_devices, "1,0");
  EXPECT_EQ(o.sysfs_root, "/tmp/fake-sys");
  EXPECT_EQ(o.dev_root, "/dev");
  ::unsetenv("EDU_VISIBLE_DEVICES");
  ::unsetenv("EDU_SYSFS_ROOT");
  o = edu::DiscoveryOptions::from_environment();
  EXPECT_EQ(o.visible_devices, std::nullopt);
  EXPECT_EQ(o.sysfs_root, "/sys");
}
// NOLINTEND(concurrency-mt-unsafe)

TEST(Runtime, CountsVisibleDevicesWithoutOpeningThem) {
  edutest::FakeSysfs fs;
  for (unsigned i : {0U, 1U, 2U})
    fs.add_device(i);
  edu::Runtime rt(options_for(fs, "2,0"));
  EXPECT_EQ(rt.device_count(), 2U);
  EXPECT_EQ(rt.present_count(), 3U);
  EXPECT_EQ(rt.devices()[0].index, 2U);
}

TEST(Runtime, NoDeviceErrorSaysLoadTheDriver) {
  edutest::FakeSysfs fs;
  edu::Runtime rt(options_for(fs));
  try {
    (void)rt.device();
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), edu::errc::no_device);
    EXPECT_THAT(std::string(e.what()), HasSubstr("modprobe edu"));
  }
}

TEST(Runtime, AllHiddenSaysVisibleDevices) {
  edutest::FakeSysfs fs;
  fs.add_device(0);
  edu::Runtime rt(options_for(fs, ""));
  try {
    (void)rt.device();
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), edu::errc::device_not_visible);
    EXPECT_THAT(e.hint(), HasSubstr("EDU_VISIBLE_DEVICES"));
  }
}

TEST(Runtime, DeviceByIndexDistinguishesHiddenFromAbsent) {
  edutest::FakeSysfs fs;
  fs.add_device(0);
  fs.add_device(1);
  edu::Runtime rt(options_for(fs, "1"));
  try {
    (void)rt.device_by_index(0);
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), edu::errc::device_not_visible);
  }
  try {
    (void)rt.device_by_index(5);
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), edu::errc::no_device);
    EXPECT_THAT(e.hint(), HasSubstr("0, 1"));
  }
  try {
    (void)rt.device(1);  // ordinal out of range
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), edu::errc::no_device);
  }
}

TEST(Runtime, MissingNodeGivesOpenErrorWithHint) {
  edutest::FakeSysfs fs;
  fs.add_device(0);  // in sysfs, but no /dev node (e.g. no udev)
  edu::Runtime rt(options_for(fs));
  try {
    (void)rt.device(0);
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_THAT(e.operation(), HasSubstr("open " + (fs.dev() / "edu0").string()));
    EXPECT_THAT(e.hint(), HasSubstr("is the driver loaded"));
  }
}

TEST(Runtime, NodeThatIsNotAnEduDeviceFailsIdentify) {
  edutest::FakeSysfs fs;
  fs.add_device(0);
  fs.add_node(0);  // a regular file: ioctl gives ENOTTY
  edu::Runtime rt(options_for(fs));
  try {
    (void)rt.device(0);
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code().value(), ENOTTY);
    EXPECT_THAT(e.hint(), HasSubstr("not an edu device"));
  }
}

TEST(Runtime, CopyThroughAllWithoutDevicesThrowsNoDevice) {
  edutest::FakeSysfs fs;
  edu::Runtime rt(options_for(fs));
  std::vector<std::byte> a(10);
  std::vector<std::byte> b(10);
  EXPECT_THROW((void)edu::copy_through_all(rt, a, b), edu::Error);
  std::vector<std::byte> c(5);
  try {
    (void)edu::copy_through_all(rt, a, c);
    FAIL();
  } catch (const edu::Error& e) {
    EXPECT_EQ(e.code(), edu::errc::size_mismatch);
  }
}

}  // namespace
