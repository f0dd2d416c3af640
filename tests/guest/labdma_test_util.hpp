// Helpers of the labdma driver's in-guest suites (include/uapi/linux/labdma.h,
// docs/labdma/uapi.md): the device nodes, the ioctls as raw system calls,
// reference results, and the device model's fault injection over QMP.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <linux/labdma.h>

#include <gtest/gtest.h>

#include "edu_test_util.hpp"
#include "qmp.hpp"

namespace labdmatest {

using edutest::Fd;
using edutest::Ret;
namespace fs = std::filesystem;

// docs/labdma/datasheet.md
inline constexpr std::uint32_t kId = 0x4c444d41;
inline constexpr std::uint32_t kVersion = 0x00010000;
inline constexpr std::uint32_t kRegId = 0x000, kRegCap = 0x008, kRegCtrl = 0x010,
                               kRegScratch = 0x018, kRegIntStatus = 0x020, kRegIntMaskSet = 0x028,
                               kRegIntTest = 0x030;
inline constexpr std::uint32_t kChStatus = 0x18, kChVector = 0x40;
inline constexpr std::uint32_t chan_reg(unsigned c, std::uint32_t r) {
  return 0x1000 + 0x100 * c + r;
}

struct Node {
  std::string name;  // labdmaN
  fs::path dev;      // /dev/labdmaN
  fs::path cls;      // /sys/class/labdma/labdmaN
  fs::path pci;      // /sys/bus/pci/devices/<bdf> (resolved)
  labdma_info info{};
};

// Every bound labdma function, ordered by index, identified.
std::vector<Node> nodes();
// The first node of a variant (LABDMA_VARIANT_*), if there is one.
std::optional<Node> first_of(std::uint32_t variant);
Fd open_labdma(const Node& n, int flags = O_RDWR);

labdma_info info_of(int fd);
labdma_stats stats_of(int fd);

// CRC32C (Castagnoli, reflected, init and final xor 0xffffffff).
std::uint32_t crc32c(std::span<const std::uint8_t> data);

// Argument structures, zero but for what is given.
labdma_reg reg(std::uint32_t offset, std::uint32_t value = 0);
labdma_doint doint(std::uint32_t bits, std::uint32_t timeout_ms = 0);
labdma_reset reset_args(std::uint32_t scope, std::uint32_t channel = 0);
labdma_mul mul_args(std::uint64_t src, std::uint64_t dst, std::uint64_t len);
labdma_complete complete_args(std::uint64_t entries, std::uint32_t max, std::uint32_t min = 0,
                              std::uint32_t flags = 0);

// A synchronous SUBMIT; @s is filled by the driver.
Ret submit(int fd, labdma_submit& s);
labdma_submit op(std::uint32_t code, const void* src, void* dst, std::uint64_t len,
                 std::uint32_t channel = LABDMA_CHANNEL_ANY);
// COPY of a fresh pattern on @channel, verified: "the channel still works".
void expect_copy_works(int fd, std::uint32_t channel = LABDMA_CHANNEL_ANY, std::size_t len = 8192);

// QEMU's id of the device model behind @n (runner: labdmaK, labdmaliteK).
std::optional<std::string> qdev_id(edutest::Qmp& qmp, const Node& n);
// QEMU's id of the root port above @n (pcie_aer_inject_error, device_add).
std::optional<std::string> root_port_of(edutest::Qmp& qmp, const Node& n);
// Arms a fault (datasheet 9) with qom-set; "" when it was accepted, else the
// error QEMU gave.
std::string arm_fault(edutest::Qmp& qmp, const std::string& id, const std::string& prop,
                      const std::string& value);
// The device model's faults-injected counter.
std::optional<std::uint64_t> faults_injected(edutest::Qmp& qmp, const std::string& id);

// Fixture: the first labdma (full variant), open read-write, identified.
class FullDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override;
  [[nodiscard]] int fd() const { return fd_.get(); }

  Node node_;
  Fd fd_;
};

}  // namespace labdmatest
