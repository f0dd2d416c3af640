// labdma lifecycle: module unload/reload, unbind and hot-unplug with files
// open and operations in flight, function resets, AER recovery and
// suspend/resume, each while threads move data that is checked byte for
// byte (docs/labdma/uapi.md, "Errors and recovery").
#include <algorithm>
#include <iostream>
#include <mutex>
#include <thread>

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "labdma_test_util.hpp"

namespace {

using namespace edutest;
using namespace labdmatest;

// Every labdma and labdma-lite function has its /dev/labdmaN.
bool all_bound() {
  return std::ranges::all_of(
      fs::directory_iterator("/sys/bus/pci/devices"), [](const fs::directory_entry& d) {
        const std::string id =
            read_trimmed(d.path() / "vendor") + ":" + read_trimmed(d.path() / "device");
        return (id != "0x1af4:0x10f0" && id != "0x1af4:0x10f1") || fs::exists(d.path() / "labdma");
      });
}

// Threads copying and checking on every channel of a device until stopped;
// what failed, and how.
class Load {
 public:
  // @avoid: a channel the threads leave alone (e.g. one made to hang)
  Load(const Node& n, int threads, std::initializer_list<int> allowed = {},
       std::uint32_t avoid = LABDMA_CHANNEL_ANY)
      : allowed_(allowed), avoid_(avoid) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, n, t] { run(n, t); });
    }
  }
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;
  ~Load() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  [[nodiscard]] int ops() const { return ops_; }
  [[nodiscard]] int failures() const { return failures_; }
  [[nodiscard]] std::string first_failure() {
    std::lock_guard lock(mu_);
    return first_;
  }

 private:
  void run(const Node& n, int t) {
    Fd f = open_labdma(n);
    if (!f.valid()) return fail("open: " + errno_name(errno));
    for (std::uint64_t i = 0; !stop_; ++i) {
      const std::size_t len = 4096 + 4093 * ((i + static_cast<std::uint64_t>(t)) % 64);
      const auto src = pattern(len, 7000 * static_cast<std::uint64_t>(t) + i);
      std::vector<std::uint8_t> dst(len, 0);
      std::uint32_t ch = static_cast<std::uint32_t>(t) % n.info.channels;
      if (ch == avoid_) ch = (ch + 1) % n.info.channels;
      auto s = op(LABDMA_OP_COPY, src.data(), dst.data(), len, ch);
      const Ret r = submit(f.get(), s);
      if (r.rc != 0) {
        if (std::find(allowed_.begin(), allowed_.end(), r.err) == allowed_.end()) {
          fail("COPY: " + errno_name(r.err));
        }
        continue;
      }
      if (dst != src) fail("COPY of " + std::to_string(len) + " bytes: data differs");
      ++ops_;
    }
  }
  void fail(const std::string& what) {
    ++failures_;
    std::lock_guard lock(mu_);
    if (first_.empty()) first_ = what;
  }

  std::vector<int> allowed_;
  std::uint32_t avoid_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ops_{0};
  std::atomic<int> failures_{0};
  std::mutex mu_;
  std::string first_;
  std::vector<std::thread> threads_;
};

bool progresses(const Load& l, std::chrono::milliseconds within) {
  const int before = l.ops();
  return wait_until([&] { return l.ops() > before; }, within);
}

Node first_full() {
  const auto n = first_of(LABDMA_VARIANT_FULL);
  if (!n) ADD_FAILURE() << "no labdma (1af4:10f0) bound to labdma.ko";
  return n.value_or(Node{});
}

TEST(ModuleLifecycle, UnloadRefusedWhileAFileIsOpenThenReloadLoop) {
  if (!fs::exists("/sys/module/labdma/refcnt")) GTEST_SKIP() << "labdma is built in";
  {
    const Node n = first_full();
    Fd f = open_labdma(n);
    ASSERT_TRUE(f.valid());
    EXPECT_ERRNO(EWOULDBLOCK, ::syscall(SYS_delete_module, "labdma", O_NONBLOCK));
  }
  const std::size_t count = nodes().size();
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_OK(::syscall(SYS_delete_module, "labdma", O_NONBLOCK));
    EXPECT_FALSE(fs::exists("/sys/class/labdma"));
    std::string out;
    ASSERT_EQ(run_program({"modprobe", "labdma"}, &out), 0) << out;
    ASSERT_TRUE(wait_until(all_bound, 10s)) << "not every labdma bound again";
    ASSERT_EQ(nodes().size(), count);
  }
  for (const auto& n : nodes()) {
    Fd f = open_labdma(n);
    expect_copy_works(f.get());
  }
}

// Unbind with a file open, a synchronous operation waiting and
// asynchronous ones in flight on a channel that hangs: remove does not wait
// for their timeouts, every one ends with ENODEV, the file stays valid
// (ENODEV, EPOLLHUP) until closed, and a rebind gives a working device.
TEST(Unbind, OperationsInFlightEndWithEnodevThenRebindWorks) {
  const Node n = first_full();
  const auto port = Qmp::find_port();
  if (!port) GTEST_SKIP() << "no lab.qmp port";
  Qmp qmp(*port);
  const auto id = qdev_id(qmp, n);
  ASSERT_TRUE(id);
  const std::string bdf = n.pci.filename().string();
  const fs::path drv = fs::canonical(n.pci / "driver");

  Fd f = open_labdma(n);
  ASSERT_TRUE(f.valid());
  ASSERT_EQ(arm_fault(qmp, *id, "fault-hang", "0"), "");
  const auto src = pattern(1 << 20, 1);
  std::vector<std::vector<std::uint8_t>> dst(4, std::vector<std::uint8_t>(src.size()));
  for (std::size_t i = 0; i < dst.size(); ++i) {
    auto s = op(LABDMA_OP_COPY, src.data(), dst[i].data(), src.size(), 0);
    s.flags = LABDMA_SUBMIT_ASYNC;
    s.timeout_ms = 60000;
    s.user_data = i;
    ASSERT_OK(submit(f.get(), s));
  }
  Ret sync_result{};
  std::thread waiter([&] {
    std::vector<std::uint8_t> d(src.size());
    auto s = op(LABDMA_OP_COPY, src.data(), d.data(), src.size(), 0);
    s.timeout_ms = 60000;
    sync_result = submit(f.get(), s);
  });
  std::this_thread::sleep_for(200ms);
  const auto t0 = Clock::now();
  ASSERT_OK(write_file(drv / "unbind", bdf));
  EXPECT_LT(ms_since(t0), 5000) << "unbind waited for the operations' timeouts";
  waiter.join();
  EXPECT_EQ(sync_result.rc, -1);
  EXPECT_EQ(sync_result.err, ENODEV) << errno_name(sync_result.err);

  std::vector<labdma_completion> got(8);
  auto c = complete_args(uptr(got.data()), 8);
  ASSERT_OK(::ioctl(f.get(), LABDMA_IOC_COMPLETE, &c));
  EXPECT_EQ(c.count, 4U);
  for (std::uint32_t k = 0; k < c.count; ++k)
    EXPECT_EQ(got[k].status, -ENODEV);
  pollfd p{};
  p.fd = f.get();
  p.events = POLLIN | POLLOUT;
  ASSERT_EQ(::poll(&p, 1, 0), 1);
  EXPECT_NE(p.revents & POLLHUP, 0);
  auto s = op(LABDMA_OP_COPY, src.data(), dst[0].data(), 64);
  EXPECT_ERRNO(ENODEV, submit(f.get(), s));
  labdma_doint d{};
  EXPECT_ERRNO(ENODEV, ::ioctl(f.get(), LABDMA_IOC_DOINT, &d));
  labdma_info info{};
  EXPECT_OK(::ioctl(f.get(), LABDMA_IOC_IDENTIFY, &info)) << "identity stays readable";
  f.reset();

  ASSERT_OK(write_file(drv / "bind", bdf));
  ASSERT_TRUE(wait_until(all_bound, 10s));
  const auto again = first_full();
  Fd g = open_labdma(again);
  for (std::uint32_t ch = 0; ch < again.info.channels; ++ch)
    expect_copy_works(g.get(), ch);
}

// Function reset (sysfs "reset") while threads copy: the reset waits for
// what is in flight, operations arriving meanwhile wait for it, nothing
// fails and every byte arrives.
TEST(Reset, FunctionResetsDuringIoLoseNothing) {
  const Node n = first_full();
  const fs::path reset = n.pci / "reset";
  if (!fs::exists(reset)) GTEST_SKIP() << "no reset method";
  Fd f = open_labdma(n);
  const auto before = stats_of(f.get());
  Load load(n, 4);
  ASSERT_TRUE(progresses(load, 10s));
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(write_file(reset, "1")) << "reset " << i;
    EXPECT_EQ(read_trimmed(n.cls / "state"), "ok");
    EXPECT_TRUE(progresses(load, 10s)) << "no progress after reset " << i;
  }
  load.stop();
  EXPECT_EQ(load.failures(), 0) << load.first_failure();
  EXPECT_GT(load.ops(), 10);
  const auto after = stats_of(f.get());
  EXPECT_EQ(after.errors, before.errors);
  EXPECT_EQ(after.timeouts, before.timeouts);
}

// Suspend/resume (pm_test=devices) under load.
TEST(Suspend, SuspendCyclesUnderLoadLoseNothing) {
  if (!fs::exists("/sys/power/pm_test")) GTEST_SKIP() << "no /sys/power/pm_test";
  if (read_trimmed("/sys/power/pm_test").find("devices") == std::string::npos) {
    GTEST_SKIP() << "pm_test has no 'devices' level";
  }
  const std::string states = read_trimmed("/sys/power/state");
  const std::string state = states.find("mem") != std::string::npos      ? "mem"
                            : states.find("freeze") != std::string::npos ? "freeze"
                                                                         : "";
  if (state.empty()) GTEST_SKIP() << "no suspend state: '" << states << "'";
  const Node n = first_full();
  std::vector<std::unique_ptr<Load>> loads;
  for (const auto& m : nodes())
    loads.push_back(std::make_unique<Load>(m, 2));
  for (auto& l : loads)
    ASSERT_TRUE(progresses(*l, 10s));
  for (int cycle = 0; cycle < 3; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    ASSERT_OK(write_file("/sys/power/pm_test", "devices"));
    EXPECT_OK(write_file("/sys/power/state", state));
    ASSERT_OK(write_file("/sys/power/pm_test", "none"));
    for (auto& l : loads)
      EXPECT_TRUE(progresses(*l, 10s));
  }
  for (auto& l : loads) {
    l->stop();
    EXPECT_EQ(l->failures(), 0) << l->first_failure();
  }
}

// Hot-unplug (device_del) with a file open and operations in flight, then
// the device plugged back in.
TEST(Hotplug, UnplugWithOperationsInFlightThenPlugBack) {
  const auto port = Qmp::find_port();
  if (!port) GTEST_SKIP() << "no lab.qmp port";
  Qmp qmp(*port);
  const Node n = first_full();
  const std::string bdf = n.pci.filename().string();
  const std::string addr = bdf.substr(0, bdf.rfind('.'));
  std::error_code ec;
  const bool managed = std::ranges::any_of(
      fs::directory_iterator("/sys/bus/pci/slots", ec),
      [&](const fs::directory_entry& s) { return read_trimmed(s.path() / "address") == addr; });
  if (!managed) GTEST_SKIP() << "no hotplug driver manages the slot of " << bdf;
  const auto id = qdev_id(qmp, n);
  const auto rport = root_port_of(qmp, n);
  ASSERT_TRUE(id && rport);

  // the same device again afterwards: its properties as QEMU has them
  json add_args = {{"driver", "labdma"}, {"id", *id}, {"bus", *rport}};
  for (const char* prop : {"channels", "dma-mask", "sriov-vfs", "desc-latency-ns",
                           "channel-bw-mbps", "link-bw-mbps"}) {
    const auto v =
        qmp.execute("qom-get", {{"path", "/machine/peripheral/" + *id}, {"property", prop}});
    if (v && v->contains("return")) add_args[prop] = (*v)["return"];
  }

  Fd f = open_labdma(n);
  ASSERT_TRUE(f.valid());
  // the last channel hangs with an operation on it; the load uses the others
  const std::uint32_t hung = n.info.channels - 1;
  ASSERT_GE(n.info.channels, 2U);
  ASSERT_EQ(arm_fault(qmp, *id, "fault-hang", std::to_string(hung)), "");
  const auto src = pattern(1 << 20, 2);
  std::vector<std::uint8_t> dst(src.size());
  auto s = op(LABDMA_OP_COPY, src.data(), dst.data(), src.size(), hung);
  s.flags = LABDMA_SUBMIT_ASYNC;
  s.timeout_ms = 60000;
  ASSERT_OK(submit(f.get(), s));
  {
    Load load(n, 2, {ENODEV}, hung);
    ASSERT_TRUE(progresses(load, 10s));
    const auto del = qmp.execute("device_del", {{"id", *id}});
    ASSERT_TRUE(del && del->contains("return"));
    EXPECT_TRUE(qmp.wait_event(
        "DEVICE_DELETED", [&](const json& d) { return d.value("device", std::string{}) == *id; },
        30s));
    EXPECT_TRUE(wait_until([&] { return !fs::exists(n.pci); }, 30s));
    load.stop();
    EXPECT_EQ(load.failures(), 0) << load.first_failure();
  }
  labdma_completion e{};
  auto c = complete_args(uptr(&e), 1);
  ASSERT_OK(::ioctl(f.get(), LABDMA_IOC_COMPLETE, &c));
  EXPECT_EQ(e.status, -ENODEV);
  f.reset();

  const auto add = qmp.execute("device_add", add_args);
  ASSERT_TRUE(add && add->contains("return")) << (add ? add->dump() : "no reply");
  ASSERT_TRUE(
      wait_until([&] { return first_of(LABDMA_VARIANT_FULL).has_value() && all_bound(); }, 30s));
  for (const auto& m : nodes()) {
    Fd g = open_labdma(m);
    expect_copy_works(g.get());
  }
}

// SR-IOV: VFs enabled through sysfs bind to labdma.ko, each a one-channel
// labdma with its own MSI-X; disabling them with a file open orphans it.
TEST(Sriov, VirtualFunctionsBindMoveDataAndGo) {
  const Node pf = first_full();
  const fs::path numvfs = pf.pci / "sriov_numvfs";
  if (!fs::exists(numvfs)) GTEST_SKIP() << "no SR-IOV (QEMU: -device labdma,sriov-vfs=N)";
  const int total = std::stoi(read_trimmed(pf.pci / "sriov_totalvfs"));
  ASSERT_GE(total, 2);
  auto vfs = [] {
    std::vector<Node> out;
    for (const auto& n : nodes()) {
      if (n.info.variant == LABDMA_VARIANT_VF) out.push_back(n);
    }
    return out;
  };
  ASSERT_TRUE(vfs().empty());
  ASSERT_OK(write_file(numvfs, "2"));
  ASSERT_TRUE(wait_until([&] { return vfs().size() == 2; }, 10s)) << vfs().size() << " VF(s)";
  Fd held;
  for (const auto& vf : vfs()) {
    SCOPED_TRACE(vf.name);
    EXPECT_EQ(vf.info.device, 0x10f2);
    EXPECT_EQ(vf.info.channels, 1U);
    EXPECT_EQ(vf.info.ops_mask, 0x3fU);
    EXPECT_EQ(vf.info.irq_mode, static_cast<std::uint32_t>(LABDMA_IRQ_MODE_MSIX));
    EXPECT_EQ(read_trimmed(vf.cls / "variant"), "labdma VF");
    Fd f = open_labdma(vf);
    ASSERT_TRUE(f.valid());
    expect_copy_works(f.get(), 0, 1 << 20);
    const auto src = pattern(100000, 5);
    auto c = op(LABDMA_OP_CRC32C, src.data(), nullptr, src.size());
    ASSERT_OK(submit(f.get(), c));
    EXPECT_EQ(c.result, crc32c(src));
    labdma_doint d{};
    EXPECT_OK(::ioctl(f.get(), LABDMA_IOC_DOINT, &d));
    held = std::move(f);
  }
  ASSERT_OK(write_file(numvfs, "0"));
  EXPECT_TRUE(vfs().empty());
  auto s = op(LABDMA_OP_NOP, nullptr, nullptr, 0);
  EXPECT_ERRNO(ENODEV, submit(held.get(), s)) << "a VF file after the VFs went";
  held.reset();
  Fd f = open_labdma(pf);
  expect_copy_works(f.get());
}

// AER, non-fatal (POISON_TLP) during I/O: error_detected holds new
// operations, resume lets them go; nothing fails.
TEST(Aer, NonFatalErrorDuringIoIsRecovered) {
#if defined(__aarch64__)
  GTEST_SKIP() << "arm64 virt: an injected error never reaches the guest's AER driver";
#endif
  const Node n = first_full();
  const fs::path rp = fs::canonical(n.pci).parent_path();
  if (!fs::exists(rp / "aer_rootport_total_err_nonfatal")) {
    GTEST_SKIP() << rp << ": the kernel's AER driver does not handle this root port";
  }
  const auto port = Qmp::find_port();
  if (!port) GTEST_SKIP() << "no lab.qmp port";
  Qmp qmp(*port);
  const auto rport = root_port_of(qmp, n);
  ASSERT_TRUE(rport) << "no root port above " << n.pci;
  Load load(n, 3);
  ASSERT_TRUE(progresses(load, 10s));
  for (int i = 0; i < 3; ++i) {
    KmsgTail log;
    const auto reply =
        qmp.execute("human-monitor-command",
                    {{"command-line", "pcie_aer_inject_error " + *rport + " POISON_TLP"}});
    ASSERT_TRUE(reply && reply->dump().find("OK id") != std::string::npos)
        << (reply ? reply->dump() : "no reply");
    EXPECT_TRUE(log.wait_for("AER: device recovery", 20s)) << log.seen();
    EXPECT_NE(log.seen().find("recovered from a PCI error"), std::string::npos) << log.seen();
    EXPECT_TRUE(progresses(load, 10s)) << "no progress after error " << i;
  }
  load.stop();
  EXPECT_EQ(load.failures(), 0) << load.first_failure();
  EXPECT_EQ(read_trimmed(n.cls / "state"), "ok");
}

// AER, fatal (DLP) during I/O: the kernel resets the link. Where that reset
// fails (QEMU 7.2's root port never reports the link active again after a
// secondary bus reset below it when the endpoint has a PM capability), the
// driver is told the device is lost (6.1 never says so: the driver gives up
// 15 s after error_detected): operations must end with EIO, nothing may
// hang, and remove + rescan gives a working device. Where it
// succeeds, nothing fails. Runs last: it may leave the device gone.
TEST(Aer, FatalErrorDuringIoEitherRecoversOrFailsCleanly) {
#if defined(__aarch64__)
  GTEST_SKIP() << "arm64 virt: an injected error never reaches the guest's AER driver";
#endif
  const Node n = first_full();
  const fs::path rp = fs::canonical(n.pci).parent_path();
  if (!fs::exists(rp / "aer_rootport_total_err_fatal")) {
    GTEST_SKIP() << rp << ": the kernel's AER driver does not handle this root port";
  }
  const auto port = Qmp::find_port();
  if (!port) GTEST_SKIP() << "no lab.qmp port";
  Qmp qmp(*port);
  const auto rport = root_port_of(qmp, n);
  ASSERT_TRUE(rport);
  const std::string bdf = n.pci.filename().string();
  KmsgTail log;
  {
    Load load(n, 3, {EIO});
    ASSERT_TRUE(progresses(load, 10s));
    const auto reply = qmp.execute("human-monitor-command",
                                   {{"command-line", "pcie_aer_inject_error " + *rport + " DLP"}});
    ASSERT_TRUE(reply && reply->dump().find("OK id") != std::string::npos);
    ASSERT_TRUE(log.wait_for("AER: device recovery", 30s)) << log.seen();
    if (log.seen().find("recovered from a PCI error") == std::string::npos) {
      // 6.1 tells the driver nothing more: it gives up on its own
      EXPECT_TRUE(log.wait_for("the device is lost", 30s)) << log.seen();
    }
    const auto t0 = Clock::now();
    load.stop();
    EXPECT_LT(ms_since(t0), 10000) << "operations hung after the error";
    EXPECT_EQ(load.failures(), 0) << load.first_failure();
  }
  if (log.seen().find("recovered from a PCI error") != std::string::npos) {
    EXPECT_EQ(read_trimmed(n.cls / "state"), "ok");
    Fd f = open_labdma(n);
    expect_copy_works(f.get());
    return;
  }
  std::cout << "[ INFO     ] fatal error recovery failed below the driver; remove + rescan"
            << std::endl;
  EXPECT_NE(log.seen().find("the device is lost"), std::string::npos) << log.seen();
  EXPECT_EQ(read_trimmed(n.cls / "state"), "broken");
  {
    Fd f = open_labdma(n);
    auto s = op(LABDMA_OP_NOP, nullptr, nullptr, 0);
    EXPECT_ERRNO(EIO, submit(f.get(), s));
  }
  ASSERT_OK(write_file(n.pci / "remove", "1"));
  ASSERT_OK(write_file("/sys/bus/pci/rescan", "1"));
  ASSERT_TRUE(wait_until(all_bound, 20s));
  const auto again = first_of(LABDMA_VARIANT_FULL);
  ASSERT_TRUE(again);
  Fd g = open_labdma(*again);
  for (std::uint32_t ch = 0; ch < again->info.channels; ++ch)
    expect_copy_works(g.get(), ch);
}

}  // namespace
