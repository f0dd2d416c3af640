// A client of QEMU's qtest protocol (docs/devel/qtest.rst in QEMU's source):
// runs the lab's QEMU with -accel qtest -- no guest CPU runs -- and drives
// the machine from the test: port and memory accesses, the virtual clock,
// interrupt lines. For device-model tests without a guest kernel.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include "edu/driver.hpp"

namespace labtest {

// A QMP command QEMU refused: what() is QEMU's own "desc".
class QmpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Qtest {
 public:
  // Starts @qemu with the qtest accelerator, a QMP monitor and @args
  // (machine, devices).
  // Throws std::system_error / std::runtime_error when QEMU does not come up.
  Qtest(const std::filesystem::path& qemu, const std::vector<std::string>& args);
  ~Qtest();
  Qtest(const Qtest&) = delete;
  Qtest& operator=(const Qtest&) = delete;
  Qtest(Qtest&&) = delete;
  Qtest& operator=(Qtest&&) = delete;

  void outl(std::uint16_t port, std::uint32_t v);
  void outw(std::uint16_t port, std::uint16_t v);
  std::uint16_t inw(std::uint16_t port);
  std::uint32_t inl(std::uint16_t port);
  void writel(std::uint64_t addr, std::uint32_t v);
  std::uint32_t readl(std::uint64_t addr);
  void writew(std::uint64_t addr, std::uint16_t v);
  std::uint16_t readw(std::uint64_t addr);
  void writeb(std::uint64_t addr, std::uint8_t v);
  std::uint8_t readb(std::uint64_t addr);
  void writeq(std::uint64_t addr, std::uint64_t v);
  std::uint64_t readq(std::uint64_t addr);
  // Guest memory in bulk.
  void memwrite(std::uint64_t addr, std::span<const std::uint8_t> data);
  std::vector<std::uint8_t> memread(std::uint64_t addr, std::size_t len);
  void memset(std::uint64_t addr, std::size_t len, std::uint8_t value);
  // Advances the virtual clock by @ns (0: to the next timer deadline).
  void clock_step(std::int64_t ns = 0);
  // Intercepts the interrupt lines going into @qom_path (e.g. "ioapic").
  void irq_intercept_in(const std::string& qom_path);
  // Level of intercepted line @n as last reported by QEMU.
  bool irq(unsigned n);
  // Every line raised at least once since the last call (then forgotten).
  std::vector<unsigned> take_raised();

  // Runs QMP command @cmd; returns its "return" value, throws QmpError.
  nlohmann::json qmp(const std::string& cmd, const nlohmann::json& args = nullptr);
  // qom-set on @path's @property.
  void qom_set(const std::string& path, const std::string& property, const nlohmann::json& value);
  nlohmann::json qom_get(const std::string& path, const std::string& property);

  // QEMU's stderr so far (its error messages).
  [[nodiscard]] std::string qemu_stderr() const;

 private:
  std::string command(const std::string& line);
  void note_async(const std::string& line);

  // A line-oriented socket to QEMU (the qtest protocol, QMP).
  struct Channel {
    edu::drv::UniqueFd fd;
    std::string buf;
  };
  std::string read_line(Channel& ch) const;
  static void send(Channel& ch, const std::string& line);

  pid_t pid_ = -1;
  Channel qtest_;
  Channel qmp_;
  std::filesystem::path dir_;
  std::vector<bool> levels_;
  std::vector<unsigned> raised_;
};

// PCI configuration space through the legacy 0xcf8/0xcfc mechanism (q35).
class PciConfig {
 public:
  PciConfig(Qtest& qt, unsigned bus, unsigned dev, unsigned fn)
      : qt_(qt), bdf_(bus << 16 | dev << 11 | fn << 8) {}
  std::uint32_t read32(unsigned reg);
  void write32(unsigned reg, std::uint32_t v);
  std::uint16_t read16(unsigned reg);
  void write16(unsigned reg, std::uint16_t v);
  std::uint8_t read8(unsigned reg);
  // Offset of capability @id in the standard list, 0 if absent.
  unsigned find_capability(std::uint8_t id);

 private:
  Qtest& qt_;
  std::uint32_t bdf_;
};

}  // namespace labtest
