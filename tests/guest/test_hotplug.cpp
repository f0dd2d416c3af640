// Hot-unplug with files open and operations in flight, through QEMU's
// monitor (device_del / device_add over the runner's lab.qmp port), then
// hot-plug of a fresh device on the same root port.
#include <algorithm>
#include <iostream>

#include <sys/ioctl.h>

#include <linux/edu.h>

#include "edu_test_util.hpp"
#include "orphan.hpp"
#include "qmp.hpp"

namespace edutest {
namespace {

std::string reply_text(const std::optional<json>& r) {
  return r ? r->dump() : "(no reply)";
}

// The edu class device of a PCI function, once it is bound.
std::optional<EduNode> node_of(const std::string& bdf) {
  for (const auto& n : edu_nodes()) {
    if (n.pci.filename() == bdf) return n;
  }
  return std::nullopt;
}

// A hotplug driver (acpiphp on q35, pciehp on arm64 virt) registered the
// slot that holds bdf: /sys/bus/pci/slots/*/address = domain:bus:slot.
bool slot_is_managed(const std::string& bdf) {
  const std::string addr = bdf.substr(0, bdf.rfind('.'));
  std::error_code ec;
  return std::ranges::any_of(
      fs::directory_iterator("/sys/bus/pci/slots", ec),
      [&](const fs::directory_entry& s) { return read_trimmed(s.path() / "address") == addr; });
}

TEST(Hotplug, UnplugWithFilesOpenThenPlugBack) {
  const auto port = Qmp::find_port();
  if (!port) {
    GTEST_SKIP() << "no virtio-serial port named lab.qmp: this runner does not expose QEMU's "
                    "monitor to the guest";
  }
  Qmp qmp(*port);
  ASSERT_TRUE(qmp.ok()) << *port << ": " << errno_name(errno);

  const auto pci = qmp.execute("query-pci");
  ASSERT_TRUE(pci && pci->contains("return")) << "query-pci: " << reply_text(pci);
  // edu1 by default; a single-device lab only has edu0.
  std::string qid = "edu1";
  std::string port_id = "labrp1";
  auto bdf = pci_address_of(*pci, qid);
  if (!bdf) {
    qid = "edu0";
    port_id = "labrp0";
    bdf = pci_address_of(*pci, qid);
  }
  ASSERT_TRUE(bdf) << "no edu0/edu1 in query-pci";
  const auto node = node_of(*bdf);
  ASSERT_TRUE(node) << qid << " at " << *bdf << " has no bound edu node";
  if (!slot_is_managed(*bdf)) {
    // q35 (QEMU >= 6.1) offers ACPI hotplug only (_OSC denies native PCIe
    // hotplug): a kernel without CONFIG_HOTPLUG_PCI_ACPI ignores device_del.
    GTEST_SKIP() << "no hotplug driver manages the slot of " << *bdf
                 << " (no /sys/bus/pci/slots/*/address for it): this kernel cannot act on "
                    "device_del (x86 q35 needs CONFIG_HOTPLUG_PCI_ACPI)";
  }
  std::cout << "[ INFO     ] unplugging " << qid << " = " << *bdf << " = " << node->dev
            << std::endl;

  // device_add needs the same properties (arm64: dma_mask).
  json add_args = {{"driver", "edu"}, {"id", qid}, {"bus", port_id}};
  const auto mask =
      qmp.execute("qom-get", {{"path", "/machine/peripheral/" + qid}, {"property", "dma_mask"}});
  if (mask && mask->contains("return")) add_args["dma_mask"] = (*mask)["return"];

  bool deleted = false;
  // NOLINTNEXTLINE(cppcoreguidelines-special-member-functions): an aggregate, never copied
  struct Replug {
    Qmp& qmp;
    const json& args;
    const bool& deleted;
    ~Replug() {
      if (deleted) {
        const auto q = qmp.execute("query-pci");
        if (q && !pci_address_of(*q, args["id"].get<std::string>())) {
          qmp.execute("device_add", args);
        }
      }
    }
  } replug{qmp, add_args, deleted};

  {
    // The guest removes the device a few seconds after device_del (pciehp
    // waits 5 s for the attention button): the loopback (1 MiB, ~50 s) and
    // the factorial (n = 2^32 - 1, seconds) outlast that.
    OrphanScenario sc(*node, 0xffffffffU, 1U << 20);
    std::cout << "[ INFO     ] device_del " << qid << std::endl;
    const auto del = qmp.execute("device_del", {{"id", qid}});
    ASSERT_TRUE(del && del->contains("return")) << "device_del: " << reply_text(del);
    deleted = true;  // NOLINT(clang-analyzer-deadcode.DeadStores): ~Replug reads it
    const auto t0 = std::chrono::steady_clock::now();
    const auto ev = qmp.wait_event(
        "DEVICE_DELETED", [&](const json& d) { return d.value("device", std::string{}) == qid; },
        30s);
    EXPECT_TRUE(ev) << "no DEVICE_DELETED event for " << qid << " within 30 s";
    const bool gone =
        wait_until([&] { return !fs::exists(fs::path("/sys/bus/pci/devices") / *bdf); }, 30s);
    EXPECT_TRUE(gone) << *bdf
                      << " still present 30 s after device_del (remove blocked by open files?)";
    if (!gone) return;  // nothing below can hold; Replug re-adds it if needed
    {
      std::cout << "[ INFO     ] device gone after "
                << std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - t0)
                       .count()
                << " ms" << std::endl;
    }
    sc.expect_waiters_woken(30s, std::chrono::steady_clock::now());
    std::cout << "[ INFO     ] checking the orphaned files" << std::endl;
    sc.expect_orphaned();
    std::cout << "[ INFO     ] closing the orphaned files" << std::endl;
    sc.close_all();
  }
  std::cout << "[ INFO     ] device_add " << add_args.dump() << std::endl;

  const auto add = qmp.execute("device_add", add_args);
  ASSERT_TRUE(add && add->contains("return")) << "device_add: " << reply_text(add);
  deleted = false;  // NOLINT(clang-analyzer-deadcode.DeadStores): ~Replug reads it
  std::optional<std::string> new_bdf;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto q = qmp.execute("query-pci", json::object(), 5s);
        if (q) new_bdf = pci_address_of(*q, qid);
        return new_bdf && node_of(*new_bdf) && fs::is_character_file(node_of(*new_bdf)->dev);
      },
      30s))
      << "the re-added device did not get a bound edu node within 30 s";
  const auto again = node_of(*new_bdf);
  Fd f = open_node(*again);
  ASSERT_TRUE(f.valid());
  const auto id = identify(f.get());
  EXPECT_EQ(id.id_register, kIdRegister);
  expect_factorial_works(f.get());
  expect_dma_works(f.get(), 0, 2000);
}

}  // namespace
}  // namespace edutest
