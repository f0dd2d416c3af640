// Lifecycle: module unload/reload, unload refused while a file or mapping
// exists, driver unbind with files open (orphaned files), suspend/resume
// during use (docs/uapi.md, "Files").
#include <array>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/edu.h>

#include "edu_test_util.hpp"
#include "orphan.hpp"
#include "qmp.hpp"

namespace edutest {
namespace {

Ret delete_module(const char* name) {
  return R(::syscall(SYS_delete_module, name, O_NONBLOCK));
}

bool module_loaded() {
  return fs::exists("/sys/module/edu/refcnt");
}

// Every edu PCI function bound, with its class device and /dev node.
bool all_bound() {
  const auto fns = edu_pci_functions();
  if (fns.empty()) return false;
  for (const auto& f : fns) {
    std::error_code ec;
    if (fs::read_symlink(f / "driver", ec).filename() != "edu") return false;
    bool node = false;
    for (const auto& c : fs::directory_iterator(f / "edu", ec)) {
      node = fs::is_character_file(fs::path("/dev") / c.path().filename());
    }
    if (!node) return false;
  }
  return true;
}

// Reloads the module if a failed test left it unloaded.
struct ModuleGuard {
  ModuleGuard() = default;
  ModuleGuard(const ModuleGuard&) = delete;
  ModuleGuard& operator=(const ModuleGuard&) = delete;
  ~ModuleGuard() {
    if (!module_loaded()) run_program({"modprobe", "edu"});
    wait_until(all_bound, 10s);
  }
};

class ModuleLifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/sys/module/edu")) GTEST_SKIP() << "edu module not loaded";
    if (!module_loaded()) GTEST_SKIP() << "edu is built into the kernel";
    ASSERT_TRUE(wait_until(all_bound, 10s)) << "not every edu device is bound";
  }
  ModuleGuard guard_;
};

TEST_F(ModuleLifecycle, UnloadRefusedWhileAFileIsOpen) {
  Fd f = open_node(first_node());
  ASSERT_TRUE(f.valid());
  EXPECT_ERRNO_ANY((std::vector<int>{EBUSY, EAGAIN}), delete_module("edu"));
  ASSERT_TRUE(module_loaded()) << "the module went away under an open file";
  edu_identify id{};
  EXPECT_OK(::ioctl(f.get(), EDU_IOC_IDENTIFY, &id)) << "the open file must still work";
  std::string out;
  EXPECT_NE(run_program({"rmmod", "edu"}, &out), 0) << "rmmod succeeded with a file open: " << out;
  EXPECT_TRUE(module_loaded());
}

TEST_F(ModuleLifecycle, UnloadRefusedWhileTheStagingBufferIsMapped) {
  Mapping m;
  {
    Fd f = open_node(first_node());
    ASSERT_TRUE(f.valid());
    void* p = ::mmap(nullptr, page_size(), PROT_READ | PROT_WRITE, MAP_SHARED, f.get(), 0);
    ASSERT_NE(p, MAP_FAILED) << errno_name(errno);
    m = Mapping(p, page_size());
  }  // closed; the mapping keeps the file (and the module) alive
  m.data()[0] = 1;
  EXPECT_ERRNO_ANY((std::vector<int>{EBUSY, EAGAIN}), delete_module("edu"));
  ASSERT_TRUE(module_loaded());
  EXPECT_EQ(m.data()[0], 1);
}

TEST_F(ModuleLifecycle, UnloadReloadLoop) {
  const std::size_t devices = edu_pci_functions().size();
  const std::string irq_mode = read_trimmed(first_node().cls / "irq_mode");
  // EDU_RELOAD_ROUNDS: fewer rounds where each is slow (the debug kernel).
  const char* rounds_env = std::getenv("EDU_RELOAD_ROUNDS");
  const int rounds = rounds_env != nullptr ? std::atoi(rounds_env) : 10;
  ASSERT_GT(rounds, 0) << "EDU_RELOAD_ROUNDS=" << rounds_env;
  for (int i = 0; i < rounds; ++i) {
    SCOPED_TRACE("iteration " + std::to_string(i));
    ASSERT_OK(delete_module("edu")) << "rmmod with no file open";
    EXPECT_FALSE(fs::exists("/sys/module/edu"));
    EXPECT_TRUE(edu_nodes().empty()) << "class devices left after unload";
    for (const auto& f : edu_pci_functions()) {
      EXPECT_FALSE(fs::exists(f / "driver")) << f << " still bound";
    }
    std::string out;
    ASSERT_EQ(run_program({"modprobe", "edu"}, &out), 0) << "modprobe edu: " << out;
    ASSERT_TRUE(wait_until(all_bound, 10s)) << "devices not bound again after modprobe";
    const auto nodes = edu_nodes();
    ASSERT_EQ(nodes.size(), devices);
    for (const auto& n : nodes) {
      Fd f = open_node(n);
      ASSERT_TRUE(f.valid());
      const auto id = identify(f.get());
      EXPECT_EQ(id.id_register, kIdRegister);
      edu_liveness lv{};
      lv.value = static_cast<std::uint32_t>(i) * 0x01010101U;
      EXPECT_OK(::ioctl(f.get(), EDU_IOC_LIVENESS, &lv));
      EXPECT_EQ(lv.inverted, ~lv.value);
      EXPECT_EQ(read_trimmed(n.cls / "irq_mode"), irq_mode) << "module options lost on reload";
    }
  }
  // Fully functional afterwards, on every device.
  for (const auto& n : edu_nodes()) {
    Fd f = open_node(n);
    ASSERT_TRUE(f.valid());
    expect_factorial_works(f.get());
    expect_dma_works(f.get());
    std::array<std::uint8_t, 300> src{};
    std::array<std::uint8_t, 300> dst{};
    fill_pattern(src, 77);
    edu_dma_user u{};
    u.direction = EDU_DMA_LOOPBACK;
    u.src = uptr(src.data());
    u.dst = uptr(dst.data());
    u.length = src.size();
    EXPECT_OK(::ioctl(f.get(), EDU_IOC_DMA_USER, &u));
    EXPECT_EQ(src, dst);
  }
}

// --------------------------------------------------------------------------
// Driver unbind with files open: the same orphaning as hot-unplug, without
// needing QMP.

TEST(Unbind, OpenFilesAreOrphanedThenRebindWorks) {
  const auto nodes = edu_nodes();
  ASSERT_FALSE(nodes.empty());
  const EduNode& n = nodes.back();
  const std::string bdf = n.pci.filename().string();
  ASSERT_FALSE(bdf.empty());
  const fs::path drv = "/sys/bus/pci/drivers/edu";
  // NOLINTNEXTLINE(cppcoreguidelines-special-member-functions): an aggregate, never copied
  struct Rebind {
    std::string bdf;
    ~Rebind() {
      if (!fs::exists(fs::path("/sys/bus/pci/devices") / bdf / "driver")) {
        write_file("/sys/bus/pci/drivers/edu/bind", bdf);
      }
    }
  } rebind{bdf};

  OrphanScenario sc(n, kSlowFactorial, std::uint64_t{400} * 1024);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_OK(write_file(drv / "unbind", bdf)) << "unbind " << bdf;
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 5s) << "unbind waited for the open files";
  EXPECT_FALSE(fs::exists(fs::path("/sys/bus/pci/devices") / bdf / "driver"));
  sc.expect_waiters_woken(10s, std::chrono::steady_clock::now());
  sc.expect_orphaned();
  sc.close_all();

  ASSERT_OK(write_file(drv / "bind", bdf)) << "bind " << bdf;
  ASSERT_TRUE(wait_until(all_bound, 10s));
  for (const auto& c : fs::directory_iterator(fs::path("/sys/bus/pci/devices") / bdf / "edu")) {
    EduNode again;
    again.name = c.path().filename().string();
    again.dev = fs::path("/dev") / again.name;
    Fd f = open_node(again);
    ASSERT_TRUE(f.valid());
    expect_factorial_works(f.get());
    expect_dma_works(f.get());
  }
}

// Asynchronous operations keep starting while the driver is unbound: one
// that got past the claim as remove began must be finished off at once,
// not after its own timeout (60 s here), or unbind waits that long.
TEST(Unbind, AsyncOperationsStartingDuringRemoveDoNotStallIt) {
  const fs::path drv = "/sys/bus/pci/drivers/edu";
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const auto nodes = edu_nodes();
    ASSERT_FALSE(nodes.empty());
    const EduNode& n = nodes.back();
    const std::string bdf = n.pci.filename().string();
    std::atomic<bool> stop{false};
    std::atomic<int> started{0};
    std::vector<std::thread> submitters;
    submitters.reserve(2);
    for (int t = 0; t < 2; ++t) {
      submitters.emplace_back([&] {
        Fd f = open_node(n);
        if (!f.valid()) return;
        while (!stop.load()) {
          edu_factorial req{};
          req.input = 12;
          req.flags = EDU_OP_ASYNC;
          req.timeout_ms = 60000;
          if (::ioctl(f.get(), EDU_IOC_FACTORIAL, &req) != 0) {
            if (errno == EBUSY) continue;
            return;  // ENODEV, EIO: the device is going
          }
          started++;
          edu_completion c{};
          if (::ioctl(f.get(), EDU_IOC_COMPLETE, &c) != 0 && errno != EINTR) return;
        }
      });
    }
    ASSERT_TRUE(wait_until([&] { return started.load() > 20; }, 10s));
    const auto t0 = std::chrono::steady_clock::now();
    const Ret unbound = write_file(drv / "unbind", bdf);
    const auto took = std::chrono::steady_clock::now() - t0;
    stop = true;
    for (auto& th : submitters)
      th.join();
    ASSERT_OK(unbound) << "unbind " << bdf;
    EXPECT_LT(took, 5s) << "unbind waited for an asynchronous operation's timeout";
    ASSERT_OK(write_file(drv / "bind", bdf)) << "bind " << bdf;
    ASSERT_TRUE(wait_until(all_bound, 10s));
  }
}

// --------------------------------------------------------------------------
// Function reset (sysfs "reset": the PCI core's pci_reset_function()) while
// the device is in use: the driver gates I/O around it as around suspend,
// so an operation in flight finishes first, the ones that arrive meanwhile
// wait, and nothing fails or loses data.

TEST(Reset, FunctionResetDuringIoLosesNothing) {
  const auto nodes = edu_nodes();
  ASSERT_FALSE(nodes.empty());
  const EduNode& n = nodes.front();
  const fs::path reset = n.pci / "reset";
  if (!fs::exists(reset)) GTEST_SKIP() << reset << ": no reset method for this function";

  // An asynchronous factorial (seconds of device time) across a reset:
  // the reset waits for it, its result arrives intact.
  Fd f = open_node(n);
  ASSERT_TRUE(f.valid());
  edu_factorial req{};
  req.input = kSlowFactorial;
  req.flags = EDU_OP_ASYNC;
  req.timeout_ms = 20000;
  ASSERT_OK(::ioctl(f.get(), EDU_IOC_FACTORIAL, &req));
  ASSERT_OK(write_file(reset, "1")) << "reset with an asynchronous factorial in flight";
  edu_completion c{};
  ASSERT_OK(::ioctl(f.get(), EDU_IOC_COMPLETE, &c));
  EXPECT_EQ(c.status, 0) << "the factorial in flight was lost to the reset";
  EXPECT_EQ(c.result, factorial_mod32(kSlowFactorial));

  // Threads doing factorials and DMA round trips through three resets.
  std::atomic<bool> stop{false};
  std::atomic<int> ops{0};
  std::atomic<int> failures{0};
  std::mutex mu;
  std::string first_failure;
  auto fail = [&](const std::string& what) {
    failures++;
    std::lock_guard lock(mu);
    if (first_failure.empty()) first_failure = what;
  };
  std::thread fact([&] {
    Fd g = open_node(n);
    for (std::uint32_t i = 1; !stop.load(); ++i) {
      edu_factorial r{};
      r.input = 5 + i % 20;
      if (::ioctl(g.get(), EDU_IOC_FACTORIAL, &r) != 0) {
        fail("factorial: " + errno_name(errno));
      } else if (r.result != factorial_mod32(r.input)) {
        fail("factorial(" + std::to_string(r.input) + ") = " + std::to_string(r.result));
      }
      ops++;
    }
  });
  std::thread dma([&] {
    Fd g = open_node(n);
    for (std::uint32_t i = 1; !stop.load(); ++i) {
      const auto data = pattern(512, 4000 + i);
      std::vector<std::uint8_t> back(512, 0);
      if (::pwrite(g.get(), data.data(), data.size(), 1024) != 512 ||
          ::pread(g.get(), back.data(), back.size(), 1024) != 512) {
        fail("DMA: " + errno_name(errno));
      } else if (back != data) {
        fail("DMA round trip " + std::to_string(i) + " corrupted");
      }
      ops++;
    }
  });
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(300ms);
    EXPECT_OK(write_file(reset, "1")) << "reset " << i << " during I/O";
  }
  std::this_thread::sleep_for(300ms);
  stop = true;
  fact.join();
  dma.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_GT(ops.load(), 10);
  expect_factorial_works(f.get());
  expect_dma_works(f.get());
}

// --------------------------------------------------------------------------
// AER: QEMU injects an uncorrectable error at the edu's root port
// (pcie_aer_inject_error over the lab.qmp port); the kernel's AER driver
// walks the devices below it. Without error handlers it logs "can't recover
// (no error_detected callback)" and "device recovery failed".

TEST(Aer, UncorrectableErrorsAreRecovered) {
#if defined(__aarch64__)
  GTEST_SKIP() << "arm64 virt: an injected error never reaches the guest's AER driver";
#endif
  const auto port = Qmp::find_port();
  if (!port) GTEST_SKIP() << "no lab.qmp port: this runner does not expose QEMU's monitor";
  const auto nodes = edu_nodes();
  ASSERT_FALSE(nodes.empty());
  const EduNode& n = nodes.front();
  // The root port above the device.
  const fs::path rp = fs::canonical(n.pci).parent_path();
  if (!fs::exists(rp / "aer_rootport_total_err_nonfatal")) {
    GTEST_SKIP() << rp << ": the kernel's AER driver does not handle this root port";
  }
  Qmp qmp(*port);
  ASSERT_TRUE(qmp.ok()) << *port << ": " << errno_name(errno);
  // QEMU's id of that root port: the bridge whose secondary bus is ours.
  const int bus = std::stoi(n.pci.filename().string().substr(5, 2), nullptr, 16);
  const auto pci = qmp.execute("query-pci");
  ASSERT_TRUE(pci.has_value() && pci->contains("return")) << (pci ? pci->dump() : "no reply");
  std::string qemu_port;
  for (const auto& b : (*pci)["return"]) {
    for (const auto& d : b.value("devices", json::array())) {
      if (d.contains("pci_bridge") && d["pci_bridge"]["bus"].value("secondary", -1) == bus) {
        qemu_port = d.value("qdev_id", "");
      }
    }
  }
  ASSERT_FALSE(qemu_port.empty()) << "no bridge leads to bus " << bus;

  Fd f = open_node(n);
  ASSERT_TRUE(f.valid());
  // POISON_TLP is non-fatal by default (no reset), DLP fatal (link reset).
  for (const char* error : {"POISON_TLP", "DLP"}) {
    SCOPED_TRACE(error);
    KmsgTail log;
    ASSERT_TRUE(log.valid()) << "/dev/kmsg: " << errno_name(errno);
    const auto reply =
        qmp.execute("human-monitor-command",
                    {{"command-line", "pcie_aer_inject_error " + qemu_port + " " + error}});
    ASSERT_TRUE(reply.has_value() && reply->contains("return")) << (reply ? reply->dump() : "");
    ASSERT_NE(reply->dump().find("OK id"), std::string::npos) << reply->dump();
    EXPECT_TRUE(log.wait_for("AER: device recovery", 20s)) << log.seen();
    EXPECT_EQ(log.seen().find("recovery failed"), std::string::npos) << log.seen();
    EXPECT_NE(log.seen().find("recovered from a PCI error"), std::string::npos) << log.seen();
    expect_factorial_works(f.get());
    expect_dma_works(f.get());
  }
}

// --------------------------------------------------------------------------
// Suspend/resume (pm_test=devices: the devices really suspend and resume,
// the platform does not sleep) while threads use every device.

class PmTestGuard {
 public:
  PmTestGuard() : delay_path_("/sys/module/suspend/parameters/pm_test_delay") {
    old_delay_ = read_trimmed(delay_path_);
    if (!old_delay_.empty()) write_file(delay_path_, "1");
  }
  PmTestGuard(const PmTestGuard&) = delete;
  PmTestGuard& operator=(const PmTestGuard&) = delete;
  ~PmTestGuard() {
    write_file("/sys/power/pm_test", "none");
    if (!old_delay_.empty()) write_file(delay_path_, old_delay_);
  }

 private:
  fs::path delay_path_;
  std::string old_delay_;
};

struct Worker {
  std::atomic<int> ops{0};
  std::atomic<int> eintr{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::string failure;
  void fail(const std::string& s) {
    std::lock_guard lock(mu);
    if (failure.empty()) failure = s;
    failed = true;
  }
};

// pwrite+pread on a slice, and factorials, on one device until stop.
void rw_worker(const EduNode& n, std::uint32_t off, std::uint32_t len, std::uint64_t seed,
               const std::atomic<bool>& stop, Worker& w) {
  Fd fd(::open(n.dev.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return w.fail("open " + n.dev.string() + ": " + errno_name(errno));
  std::vector<std::uint8_t> back(len);
  for (std::uint64_t i = 0; !stop; ++i) {
    const auto data = pattern(len, seed + i);
    Ret r = R(::pwrite(fd.get(), data.data(), len, off));
    if (r.rc < 0 && r.err == EINTR) {
      w.eintr++;
      continue;
    }
    if (r.rc != static_cast<long>(len)) {
      return w.fail(n.name + " pwrite: " + std::to_string(r.rc) + " " + errno_name(r.err));
    }
    r = R(::pread(fd.get(), back.data(), len, off));
    if (r.rc < 0 && r.err == EINTR) {
      w.eintr++;
      continue;
    }
    if (r.rc != static_cast<long>(len)) {
      return w.fail(n.name + " pread: " + std::to_string(r.rc) + " " + errno_name(r.err));
    }
    if (first_mismatch(data, back) >= 0) return w.fail(n.name + ": data corrupted");
    const auto k = static_cast<std::uint32_t>(i % 21);
    std::uint32_t res = 0;
    r = do_factorial(fd.get(), k, static_cast<std::uint32_t>(1 + i % 3), kMaxTimeoutMs, &res);
    if (r.rc < 0 && r.err == EINTR) {
      w.eintr++;
      continue;
    }
    if (r.rc != 0) return w.fail(n.name + " factorial: " + errno_name(r.err));
    if (res != factorial_mod32(k)) return w.fail(n.name + ": wrong factorial");
    w.ops++;
  }
}

// Asynchronous factorials (slow enough to be in flight at suspend time).
void async_worker(const EduNode& n, const std::atomic<bool>& stop, Worker& w) {
  Fd fd(::open(n.dev.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return w.fail("open " + n.dev.string() + ": " + errno_name(errno));
  for (std::uint32_t i = 0; !stop; ++i) {
    const std::uint32_t input = (i % 2 != 0) ? 0x02000000U + i : 11U;
    Ret r = do_factorial(fd.get(), input, EDU_OP_ASYNC, kMaxTimeoutMs);
    if (r.rc != 0) return w.fail(n.name + " async start: " + errno_name(r.err));
    edu_completion c{};
    for (;;) {
      r = R(::ioctl(fd.get(), EDU_IOC_COMPLETE, &c));
      if (r.rc < 0 && r.err == EINTR) {
        w.eintr++;
        continue;
      }
      break;
    }
    if (r.rc != 0) return w.fail(n.name + " COMPLETE: " + errno_name(r.err));
    if (c.status != 0) return w.fail(n.name + " async status " + std::to_string(c.status));
    if (c.result != factorial_mod32(input)) return w.fail(n.name + ": wrong async result");
    w.ops++;
  }
}

TEST(Suspend, DevicesSurviveSuspendCyclesDuringUse) {
  if (!fs::exists("/sys/power/pm_test")) GTEST_SKIP() << "no /sys/power/pm_test (CONFIG_PM_DEBUG)";
  const std::string levels = read_trimmed("/sys/power/pm_test");
  if (levels.find("devices") == std::string::npos) {
    GTEST_SKIP() << "pm_test has no 'devices' level: " << levels;
  }
  const std::string states = read_trimmed("/sys/power/state");
  std::string state;
  if (states.find("mem") != std::string::npos) {
    state = "mem";
  } else if (states.find("freeze") != std::string::npos) {
    state = "freeze";
  } else {
    GTEST_SKIP() << "no suspend state in /sys/power/state: '" << states << "'";
  }
  const auto nodes = edu_nodes();
  ASSERT_FALSE(nodes.empty());
  PmTestGuard guard;

  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  for (const auto& n : nodes) {
    workers.push_back(std::make_unique<Worker>());
    threads.emplace_back(rw_worker, n, 0U, 1000U, 0x1000ULL * static_cast<unsigned>(n.index),
                         std::cref(stop), std::ref(*workers.back()));
    workers.push_back(std::make_unique<Worker>());
    threads.emplace_back(rw_worker, n, 2000U, 1000U, 0x2000ULL * static_cast<unsigned>(n.index),
                         std::cref(stop), std::ref(*workers.back()));
    workers.push_back(std::make_unique<Worker>());
    threads.emplace_back(async_worker, n, std::cref(stop), std::ref(*workers.back()));
  }
  auto all_progressed = [&](std::vector<int> since) {
    for (std::size_t i = 0; i < workers.size(); ++i) {
      if (workers[i]->ops <= since[i] && !workers[i]->failed) return false;
    }
    return true;
  };
  auto snapshot = [&] {
    std::vector<int> v;
    v.reserve(workers.size());
    for (const auto& w : workers)
      v.push_back(w->ops);
    return v;
  };
  EXPECT_TRUE(wait_until([&] { return all_progressed(std::vector<int>(workers.size(), 0)); }, 20s))
      << "workers did not get going";

  for (int cycle = 0; cycle < 3; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    ASSERT_OK(write_file("/sys/power/pm_test", "devices"));
    const auto before = snapshot();
    const auto t0 = std::chrono::steady_clock::now();
    const Ret r = write_file("/sys/power/state", state);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0);
    std::cout << "[ INFO     ] suspend cycle " << cycle << " (" << state << ", pm_test=devices) "
              << (r.rc < 0 ? errno_name(r.err) : "ok") << " in " << took.count() << " ms"
              << std::endl;
    EXPECT_OK(r) << "echo " << state << " > /sys/power/state";
    // The devices work after resume: every worker makes progress.
    EXPECT_TRUE(wait_until([&] { return all_progressed(before); }, 20s))
        << "a worker made no progress after resume";
  }
  stop = true;
  for (auto& t : threads)
    t.join();
  for (std::size_t i = 0; i < workers.size(); ++i) {
    EXPECT_EQ(workers[i]->failure, "") << "worker " << i;
    std::cout << "[ INFO     ] worker " << i << ": " << workers[i]->ops << " ops, "
              << workers[i]->eintr << " EINTR" << std::endl;
  }
  for (const auto& n : nodes) {
    Fd f = open_node(n);
    ASSERT_TRUE(f.valid());
    expect_factorial_works(f.get());
    expect_dma_works(f.get(), 100, 3000);
  }
}

}  // namespace
}  // namespace edutest
