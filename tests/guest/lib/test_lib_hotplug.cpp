// A device hot-unplugged (QMP device_del over the runner's lab.qmp port)
// while libedu streams data through it: the copy fails with an edu::Error
// carrying the kernel's errno and a "device removed" hint, later calls on the
// orphaned device and eductl say "no such device"; then the device is added
// back (device_add) so the VM is left as found; a Runtime that lives through
// both sees them with refresh(). Linked last: runs last.
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "edu/edu.hpp"
#include "lib_test_util.hpp"
#include "qmp.hpp"

namespace edulibtest {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
using edutest::json;

std::string text(const std::optional<json>& r) {
  return r ? r->dump() : "(no reply)";
}

/// A hotplug driver manages the slot that holds @p bdf (else device_del is
/// ignored by the guest): /sys/bus/pci/slots/*/address = domain:bus:slot.
bool slot_is_managed(const std::string& bdf) {
  const std::string addr = bdf.substr(0, bdf.rfind('.'));
  std::error_code ec;
  for (const auto& s : fs::directory_iterator("/sys/bus/pci/slots", ec)) {
    std::ifstream in(s.path() / "address");
    std::string a;
    std::getline(in, a);
    if (a == addr) return true;
  }
  return false;
}

std::optional<SysfsDevice> bound_edu(const std::string& bdf) {
  for (const auto& d : sysfs_devices())
    if (d.pci_address == bdf) return d;
  return std::nullopt;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return pred();
}

TEST(LibHotplug, UnplugDuringCopyThroughThenPlugBack) {
  const auto port = edutest::Qmp::find_port();
  if (!port) GTEST_SKIP() << "no virtio-serial port named lab.qmp (runner without QMP bridge)";
  edutest::Qmp qmp(*port);
  ASSERT_TRUE(qmp.ok()) << *port;
  const auto pci = qmp.execute("query-pci");
  ASSERT_TRUE(pci && pci->contains("return")) << "query-pci: " << text(pci);
  // The last device, so the others keep their indices; edu0 in a 1-device lab.
  std::string qid;
  std::string bus;
  std::optional<std::string> bdf;
  for (int i = 7; i >= 0 && !bdf; --i) {
    qid = "edu" + std::to_string(i);
    bus = "labrp" + std::to_string(i);
    bdf = edutest::pci_address_of(*pci, qid);
  }
  ASSERT_TRUE(bdf) << "no edu0..edu7 in query-pci";
  const auto node = bound_edu(*bdf);
  ASSERT_TRUE(node) << qid << " at " << *bdf << " is not bound to the edu driver";
  if (!slot_is_managed(*bdf))
    GTEST_SKIP() << "no hotplug driver manages the slot of " << *bdf
                 << ": this kernel cannot act on device_del";

  json add_args = {{"driver", "edu"}, {"id", qid}, {"bus", bus}};
  const auto mask =
      qmp.execute("qom-get", {{"path", "/machine/peripheral/" + qid}, {"property", "dma_mask"}});
  if (mask && mask->contains("return")) add_args["dma_mask"] = (*mask)["return"];
  bool deleted = false;
  // NOLINTNEXTLINE(cppcoreguidelines-special-member-functions): an aggregate, never copied
  struct Replug {  // leaves the VM as found even when an assertion fails
    edutest::Qmp& qmp;
    const json& args;
    const bool& deleted;
    ~Replug() {
      if (!deleted) return;
      const auto q = qmp.execute("query-pci");
      if (q && !edutest::pci_address_of(*q, args["id"].get<std::string>()))
        (void)qmp.execute("device_add", args);
    }
  } replug{qmp, add_args, deleted};
  // A long-lived runtime over all devices, which must notice both changes.
  edu::Runtime watcher{edu::DiscoveryOptions{}};
  const edu::Device& watched = watcher.device_by_index(node->index);
  const std::size_t visible_before = watcher.device_count();

  {
    edu::Runtime rt(edu::DiscoveryOptions{.visible_devices = std::to_string(node->index)});
    const edu::Device& dev = rt.device(0);
    // 100 windows on the pinned path: at least 20 s, far longer than the
    // unplug takes (pciehp waits 5 s for the attention button).
    const auto src = pattern(100 * std::size_t{dev.dma_window()}, 70);
    std::vector<std::byte> dst(src.size());
    std::atomic<std::uint64_t> progress{0};
    auto copy = std::async(std::launch::async, [&]() -> std::optional<edu::Error> {
      edu::CopyOptions o;
      o.path = edu::CopyPath::pinned;
      o.progress = [&](std::uint64_t done, std::uint64_t) { progress = done; };
      try {
        (void)edu::copy_through(dev, src, dst, o);
        return std::nullopt;
      } catch (const edu::Error& e) {
        return e;
      }
    });
    ASSERT_TRUE(wait_until([&] { return progress > 0; }, 10s)) << "the copy made no progress";
    std::cout << "[ INFO     ] device_del " << qid << " (" << *bdf << ", /dev/edu" << node->index
              << ") after " << progress << " bytes" << std::endl;
    const auto del = qmp.execute("device_del", {{"id", qid}});
    ASSERT_TRUE(del && del->contains("return")) << "device_del: " << text(del);
    deleted = true;  // NOLINT(clang-analyzer-deadcode.DeadStores): ~Replug reads it

    ASSERT_EQ(copy.wait_for(60s), std::future_status::ready) << "copy_through still running 60 s "
                                                                "after device_del";
    const std::optional<edu::Error> err = copy.get();
    ASSERT_TRUE(err.has_value()) << "copy_through succeeded although the device was removed";
    std::cout << "[ INFO     ] copy_through failed: " << err->what() << std::endl;
    EXPECT_THAT(err->code().value(), AnyOf(ENODEV, EINTR, EIO)) << err->what();
    EXPECT_EQ(err->code().category(), std::system_category()) << err->what();
    if (err->code() == std::errc::no_such_device) {
      EXPECT_THAT(err->hint(), HasSubstr("removed")) << err->what();
    }
    EXPECT_THAT(err->what(), HasSubstr("/dev/edu" + std::to_string(node->index)));
    EXPECT_LT(progress.load(), src.size());

    // The open file is orphaned: ENODEV, with the hint.
    EXPECT_TRUE(
        wait_until([&] { return !fs::exists(fs::path("/sys/bus/pci/devices") / *bdf); }, 30s))
        << *bdf << " still present 30 s after device_del";
    try {
      (void)dev.factorial(5);
      ADD_FAILURE() << "factorial on a removed device succeeded";
    } catch (const edu::Error& e) {
      EXPECT_EQ(e.code(), std::errc::no_such_device) << e.what();
      EXPECT_THAT(e.hint(), HasSubstr("reopen"));
    }
  }
  // The long-lived runtime sees it go; its reference stays valid (ENODEV).
  {
    const auto changes = watcher.refresh();
    ASSERT_EQ(changes.size(), 1U);
    EXPECT_EQ(changes[0].kind, edu::DeviceChange::Kind::removed);
    EXPECT_EQ(changes[0].info.index, node->index);
    EXPECT_EQ(watcher.device_count(), visible_before - 1);
    EXPECT_THROW((void)watched.factorial(3), edu::Error);
  }
  // A fresh runtime no longer finds it; eductl says "no such device" (3).
  {
    edu::Runtime rt{edu::DiscoveryOptions{}};
    EXPECT_THROW((void)rt.device_by_index(node->index), edu::Error);
    const ProcessResult r = run_process({eductl(), "--device", std::to_string(node->index), "info"},
                                        {{"EDU_VISIBLE_DEVICES", std::nullopt}});
    EXPECT_EQ(r.status, 3) << r.err;
  }

  // QEMU frees the id only once the guest powered the slot off (arm64
  // pciehp: after the driver's remove): wait for DEVICE_DELETED.
  const auto ev = qmp.wait_event(
      "DEVICE_DELETED", [&](const json& d) { return d.value("device", std::string{}) == qid; },
      30s);
  EXPECT_TRUE(ev) << "no DEVICE_DELETED event for " << qid << " within 30 s";
  std::cout << "[ INFO     ] device_add " << add_args.dump() << std::endl;
  std::optional<json> add;
  ASSERT_TRUE(wait_until(
      [&] {
        add = qmp.execute("device_add", add_args);
        return add && add->contains("return");
      },
      10s))
      << "device_add: " << text(add);
  deleted = false;  // NOLINT(clang-analyzer-deadcode.DeadStores): ~Replug reads it
  std::optional<SysfsDevice> again;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto q = qmp.execute("query-pci", json::object(), 5s);
        const auto b = q ? edutest::pci_address_of(*q, qid) : std::nullopt;
        again = b ? bound_edu(*b) : std::nullopt;
        return again && fs::is_character_file("/dev/edu" + std::to_string(again->index));
      },
      30s))
      << "the re-added device did not get a bound /dev/eduN within 30 s";
  // The long-lived runtime sees it come back, as a new device.
  const auto changes = watcher.refresh();
  ASSERT_EQ(changes.size(), 1U);
  EXPECT_EQ(changes[0].kind, edu::DeviceChange::Kind::added);
  EXPECT_EQ(changes[0].info.index, again->index);
  EXPECT_EQ(watcher.device_count(), visible_before);
  EXPECT_NE(&watcher.device_by_index(again->index), &watched);
  EXPECT_EQ(watcher.device_by_index(again->index).factorial(6), 720U);

  edu::Runtime rt(edu::DiscoveryOptions{.visible_devices = std::to_string(again->index)});
  const edu::Device& dev = rt.device(0);
  EXPECT_EQ(dev.factorial(10), 3628800U);
  const auto src = pattern(5000, 71);
  std::vector<std::byte> dst(src.size());
  (void)edu::copy_through(dev, src, dst);
  EXPECT_TRUE(dst == src);
}

}  // namespace
}  // namespace edulibtest
