// sysfs attributes, the debugfs register dump, trace events and module
// parameters (docs/uapi.md, "Module parameters", "sysfs", "debugfs,
// tracepoints").
#include <algorithm>
#include <array>
#include <cctype>

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/edu.h>

#include "edu_test_util.hpp"

namespace edutest {
namespace {

class Sysfs : public EduTest {
 protected:
  std::uint64_t attr(const char* name) {
    const std::string s = read_trimmed(node_.cls / name);
    const auto v = parse_u64(s);
    EXPECT_TRUE(v.has_value()) << node_.cls / name << " = '" << s << "' is not a number";
    return v.value_or(~0ULL);
  }
};
class Debugfs : public EduTest {};
class Tracing : public EduTest {};
class ModuleParams : public EduTest {};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

constexpr std::array<const char*, 6> kCounters = {"irqs",      "factorial_ops", "dma_ops",
                                                  "dma_bytes", "errors",        "timeouts"};

TEST_F(Sysfs, AttributesExistAndParse) {
  for (const auto& n : edu_nodes()) {
    SCOPED_TRACE(n.name);
    Fd f = open_node(n, O_RDONLY);
    ASSERT_TRUE(f.valid());
    const auto id = identify(f.get());
    const std::string idr = lower(read_trimmed(n.cls / "id_register"));
    EXPECT_TRUE(idr == "0x010000ed" || idr == "010000ed" || idr == std::to_string(kIdRegister))
        << "id_register = '" << idr << "'";
    const std::string version = read_trimmed(n.cls / "version");
    EXPECT_FALSE(version.empty()) << "version";
    EXPECT_NE(version.find(std::to_string(id.major)), std::string::npos)
        << "version '" << version << "' does not mention major " << id.major;
    const std::string mode = read_trimmed(n.cls / "irq_mode");
    EXPECT_EQ(mode, id.irq_mode == EDU_IRQ_MODE_MSI ? "msi" : "intx");
    EXPECT_EQ(parse_u64(read_trimmed(n.cls / "dma_mask_bits")), id.dma_mask_bits);
    EXPECT_EQ(parse_u64(read_trimmed(n.cls / "dma_window")), kWindow);
    for (const char* c : kCounters) {
      const std::string s = read_trimmed(n.cls / c);
      EXPECT_TRUE(parse_u64(s).has_value()) << c << " = '" << s << "'";
    }
    // device -> the PCI function
    std::error_code ec;
    const fs::path pci = fs::canonical(n.cls / "device", ec);
    ASSERT_FALSE(ec) << "device link: " << ec.message();
    EXPECT_EQ(read_trimmed(pci / "vendor"), "0x1234");
    EXPECT_EQ(read_trimmed(pci / "device"), "0x11e8");
    EXPECT_EQ(read_trimmed(n.cls / "dev").empty(), false) << "no dev attribute (no char device?)";
  }
}

TEST_F(Sysfs, AttributesAreReadOnly) {
  for (const char* a : {"id_register", "version", "irq_mode", "dma_mask_bits", "dma_window", "irqs",
                        "factorial_ops", "dma_ops", "dma_bytes", "errors", "timeouts"}) {
    struct stat st {};
    ASSERT_EQ(::stat((node_.cls / a).c_str(), &st), 0) << a << ": " << errno_name(errno);
    EXPECT_EQ(st.st_mode & 0222, 0U) << a << " is writable";
    EXPECT_NE(st.st_mode & 0444, 0U) << a << " is not readable";
  }
}

TEST_F(Sysfs, CountersMatchStatsAndMove) {
  const auto st = stats(fd());
  EXPECT_EQ(attr("factorial_ops"), st.factorial_ops);
  EXPECT_EQ(attr("dma_ops"), st.dma_ops);
  EXPECT_EQ(attr("dma_bytes"), st.dma_bytes);
  EXPECT_EQ(attr("errors"), st.errors);
  EXPECT_EQ(attr("timeouts"), st.timeouts);
  EXPECT_GE(attr("irqs"), st.irqs);

  const std::uint64_t f0 = attr("factorial_ops");
  const std::uint64_t d0 = attr("dma_ops");
  const std::uint64_t b0 = attr("dma_bytes");
  const std::uint64_t i0 = attr("irqs");
  const std::uint64_t t0 = attr("timeouts");
  ASSERT_OK(do_factorial(fd(), 3, EDU_WAIT_IRQ, 0));
  const auto data = pattern(100, 4000);
  ASSERT_RET(100, ::pwrite(fd(), data.data(), 100, 0));
  edu_raise_irq r{};
  r.status = 0x2;
  ASSERT_OK(::ioctl(fd(), EDU_IOC_RAISE_IRQ, &r));
  EXPECT_EQ(attr("factorial_ops"), f0 + 1);
  EXPECT_EQ(attr("dma_ops"), d0 + 1);
  EXPECT_EQ(attr("dma_bytes"), b0 + 100);
  EXPECT_GE(attr("irqs"), i0 + 2);

  ASSERT_ERRNO(ETIMEDOUT, do_factorial(fd(), kSlowFactorial, EDU_WAIT_IRQ, 5));
  EXPECT_EQ(attr("timeouts"), t0 + 1);
  expect_factorial_works(fd());
}

TEST_F(Debugfs, RegisterDumpIsReadable) {
  const fs::path root = "/sys/kernel/debug/edu";
  if (read_file("/proc/mounts").value_or("").find(" /sys/kernel/debug debugfs ") ==
      std::string::npos) {
    GTEST_SKIP() << "debugfs not mounted at /sys/kernel/debug";
  }
  const fs::path regs = root / node_.name / "registers";
  const auto text = read_file(regs);
  ASSERT_TRUE(text.has_value()) << regs << ": " << errno_name(errno);
  EXPECT_FALSE(text->empty());
  EXPECT_NE(lower(*text).find("010000ed"), std::string::npos)
      << "the dump does not show the identification register:\n"
      << *text;
  // Reading it does not disturb DMA.
  expect_dma_works(fd());
  EXPECT_TRUE(read_file(regs).has_value());
}

// Enables the edu trace events for its lifetime.
class TraceSession {
 public:
  TraceSession(const TraceSession&) = delete;
  TraceSession& operator=(const TraceSession&) = delete;
  explicit TraceSession(fs::path root) : root_(std::move(root)) {
    ok_ = write_file(root_ / "events/edu/enable", "1").rc >= 0;
    write_file(root_ / "tracing_on", "1");
    Fd t(::open((root_ / "trace").c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));  // clear
  }
  ~TraceSession() { write_file(root_ / "events/edu/enable", "0"); }
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] std::string text() const { return read_file(root_ / "trace").value_or(""); }

 private:
  fs::path root_;
  bool ok_ = false;
};

TEST_F(Tracing, EventsAppearInTheTraceBuffer) {
  fs::path root;
  for (const char* p : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    if (fs::exists(fs::path(p) / "trace")) {
      root = p;
      break;
    }
  }
  if (root.empty()) GTEST_SKIP() << "tracefs not mounted (or no CONFIG_FTRACE)";
  for (const char* ev : {"edu_irq", "edu_dma_submit", "edu_dma_complete", "edu_factorial"}) {
    EXPECT_TRUE(fs::is_directory(root / "events/edu" / ev))
        << "trace event edu:" << ev << " missing";
  }
  TraceSession session(root);
  ASSERT_TRUE(session.ok()) << "cannot enable events/edu";
  const auto data = pattern(64, 4100);
  ASSERT_RET(64, ::pwrite(fd(), data.data(), 64, 0));
  ASSERT_OK(do_factorial(fd(), 4, EDU_WAIT_IRQ, 0));
  edu_raise_irq r{};
  r.status = 0x4;
  ASSERT_OK(::ioctl(fd(), EDU_IOC_RAISE_IRQ, &r));
  const std::string t = session.text();
  for (const char* ev : {"edu_dma_submit", "edu_dma_complete", "edu_factorial", "edu_irq"}) {
    EXPECT_NE(t.find(std::string(ev) + ":"), std::string::npos) << "no " << ev << " line in:\n"
                                                                << t;
  }
}

TEST_F(ModuleParams, ExistAndAgreeWithTheDevice) {
  const fs::path p = "/sys/module/edu/parameters";
  ASSERT_TRUE(fs::is_directory(p)) << p;
  auto num = [&](const char* name) {
    const std::string s = read_trimmed(p / name);
    const auto v = parse_u64(s);
    EXPECT_TRUE(v.has_value()) << name << " = '" << s << "'";
    return v.value_or(~0ULL);
  };
  EXPECT_EQ(num("dma_bits"), id_.dma_mask_bits);
  EXPECT_EQ(num("staging_size"), id_.staging_size);
  const std::uint64_t wait_mode = num("wait_mode");
  EXPECT_GE(wait_mode, 1U);
  EXPECT_LE(wait_mode, 3U);
  EXPECT_LE(num("hybrid_spin_us"), 1000000U);
  const std::uint64_t timeout = num("timeout_ms");
  EXPECT_GE(timeout, 1U);
  EXPECT_LE(timeout, kMaxTimeoutMs);
  const std::string intx = read_trimmed(p / "force_intx");
  ASSERT_TRUE(intx == "Y" || intx == "N" || intx == "1" || intx == "0") << intx;
  if (intx == "Y" || intx == "1") {
    EXPECT_EQ(id_.irq_mode, static_cast<std::uint32_t>(EDU_IRQ_MODE_INTX))
        << "force_intx set but the device uses MSI";
  }
}

}  // namespace
}  // namespace edutest
