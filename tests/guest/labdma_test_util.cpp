#include "labdma_test_util.hpp"

#include <algorithm>
#include <cstring>

#include <sys/ioctl.h>

namespace labdmatest {

using edutest::R;
using edutest::uptr;

void FullDeviceTest::SetUp() {
  const auto n = first_of(LABDMA_VARIANT_FULL);
  ASSERT_TRUE(n.has_value()) << "no labdma (1af4:10f0) bound to labdma.ko";
  node_ = *n;
  fd_ = open_labdma(node_);
  ASSERT_TRUE(fd_.valid()) << node_.dev << ": " << edutest::errno_name(errno);
}

std::vector<Node> nodes() {
  std::vector<Node> out;
  const fs::path cls_dir = "/sys/class/labdma";
  if (!fs::exists(cls_dir)) return out;
  for (const auto& e : fs::directory_iterator(cls_dir)) {
    Node n;
    n.name = e.path().filename().string();
    n.dev = fs::path("/dev") / n.name;
    n.cls = e.path();
    n.pci = fs::canonical(e.path() / "device");
    Fd fd(::open(n.dev.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd.valid()) continue;
    n.info = info_of(fd.get());
    out.push_back(n);
  }
  std::sort(out.begin(), out.end(),
            [](const Node& a, const Node& b) { return a.info.index < b.info.index; });
  return out;
}

std::optional<Node> first_of(std::uint32_t variant) {
  for (const auto& n : nodes()) {
    if (n.info.variant == variant) return n;
  }
  return std::nullopt;
}

Fd open_labdma(const Node& n, int flags) {
  return Fd(::open(n.dev.c_str(), flags | O_CLOEXEC));
}

labdma_info info_of(int fd) {
  labdma_info info{};
  if (::ioctl(fd, LABDMA_IOC_IDENTIFY, &info) != 0) {
    ADD_FAILURE() << "LABDMA_IOC_IDENTIFY: " << edutest::errno_name(errno);
  }
  return info;
}

labdma_stats stats_of(int fd) {
  labdma_stats st{};
  if (::ioctl(fd, LABDMA_IOC_STATS, &st) != 0) {
    ADD_FAILURE() << "LABDMA_IOC_STATS: " << edutest::errno_name(errno);
  }
  return st;
}

std::uint32_t crc32c(std::span<const std::uint8_t> data) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c >> 1) ^ (0x82f63b78U & (0U - (c & 1U)));
      t.at(i) = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xffffffff;
  for (const std::uint8_t b : data)
    crc = (crc >> 8) ^ table.at((crc ^ b) & 0xff);
  return ~crc;
}

labdma_reg reg(std::uint32_t offset, std::uint32_t value) {
  labdma_reg r{};
  r.offset = offset;
  r.value = value;
  return r;
}

labdma_doint doint(std::uint32_t bits, std::uint32_t timeout_ms) {
  labdma_doint d{};
  d.bits = bits;
  d.timeout_ms = timeout_ms;
  return d;
}

labdma_reset reset_args(std::uint32_t scope, std::uint32_t channel) {
  labdma_reset r{};
  r.scope = scope;
  r.channel = channel;
  return r;
}

labdma_mul mul_args(std::uint64_t src, std::uint64_t dst, std::uint64_t len) {
  labdma_mul m{};
  m.src = src;
  m.dst = dst;
  m.len = len;
  return m;
}

labdma_complete complete_args(std::uint64_t entries, std::uint32_t max, std::uint32_t min,
                              std::uint32_t flags) {
  labdma_complete c{};
  c.entries = entries;
  c.max = max;
  c.min = min;
  c.flags = flags;
  return c;
}

Ret submit(int fd, labdma_submit& s) {
  return R(::ioctl(fd, LABDMA_IOC_SUBMIT, &s));
}

labdma_submit op(std::uint32_t code, const void* src, void* dst, std::uint64_t len,
                 std::uint32_t channel) {
  labdma_submit s{};
  s.op = code;
  s.src = uptr(src);
  s.dst = uptr(dst);
  s.len = len;
  s.channel = channel;
  return s;
}

void expect_copy_works(int fd, std::uint32_t channel, std::size_t len) {
  static std::uint64_t seed = 1000;
  const auto src = edutest::pattern(len, ++seed);
  std::vector<std::uint8_t> dst(len, 0);
  auto s = op(LABDMA_OP_COPY, src.data(), dst.data(), len, channel);
  EXPECT_OK(submit(fd, s));
  EXPECT_EQ(s.done, len);
  EXPECT_EQ(edutest::first_mismatch(src, dst), -1);
}

std::optional<std::string> qdev_id(edutest::Qmp& qmp, const Node& n) {
  const auto pci = qmp.execute("query-pci");
  if (!pci) return std::nullopt;
  const std::string bdf = n.pci.filename().string();
  for (const char* kind : {"labdma", "labdmalite"}) {
    for (int i = 0; i < 16; ++i) {
      const std::string id = kind + std::to_string(i);
      if (edutest::pci_address_of(*pci, id) == bdf) return id;
    }
  }
  return std::nullopt;
}

std::optional<std::string> root_port_of(edutest::Qmp& qmp, const Node& n) {
  const auto pci = qmp.execute("query-pci");
  if (!pci || !pci->contains("return")) return std::nullopt;
  const int bus = std::stoi(n.pci.filename().string().substr(5, 2), nullptr, 16);
  for (const auto& b : (*pci)["return"]) {
    for (const auto& d : b.value("devices", edutest::json::array())) {
      if (d.contains("pci_bridge") && d["pci_bridge"]["bus"].value("secondary", -1) == bus) {
        return d.value("qdev_id", std::string{});
      }
    }
  }
  return std::nullopt;
}

std::string arm_fault(edutest::Qmp& qmp, const std::string& id, const std::string& prop,
                      const std::string& value) {
  const auto r = qmp.execute(
      "qom-set", {{"path", "/machine/peripheral/" + id}, {"property", prop}, {"value", value}});
  if (!r) return "no reply from QEMU";
  if (r->contains("error")) return (*r)["error"].value("desc", r->dump());
  return "";
}

std::optional<std::uint64_t> faults_injected(edutest::Qmp& qmp, const std::string& id) {
  const auto r = qmp.execute(
      "qom-get", {{"path", "/machine/peripheral/" + id}, {"property", "faults-injected"}});
  if (!r || !r->contains("return")) return std::nullopt;
  return (*r)["return"].get<std::uint64_t>();
}

}  // namespace labdmatest
