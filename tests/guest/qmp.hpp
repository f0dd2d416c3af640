// A QMP client for the guest side of the runner's QMP bridge: the runner
// exposes QEMU's monitor on a virtio-serial port named "lab.qmp", with
// qmp_capabilities already negotiated. One JSON command per line out;
// newline-terminated replies and events back, in any interleaving.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "edu_test_util.hpp"

namespace edutest {

using json = nlohmann::json;

class Qmp {
 public:
  // /dev/vportNpM whose /sys/class/virtio-ports/vportNpM/name is name.
  static std::optional<fs::path> find_port(const std::string& name = "lab.qmp");

  explicit Qmp(const fs::path& port);
  [[nodiscard]] bool ok() const { return fd_.valid(); }

  // Runs a command; returns the whole reply ({"return": ...} or
  // {"error": ...}), or nullopt when none came within timeout.
  std::optional<json> execute(const std::string& command, const json& arguments = json::object(),
                              std::chrono::milliseconds timeout = 20s);

  // Waits for an event (also one that arrived while waiting for a reply).
  std::optional<json> wait_event(const std::string& name,
                                 const std::function<bool(const json&)>& match,
                                 std::chrono::milliseconds timeout);

  // Every line received that was not JSON, for diagnostics.
  [[nodiscard]] const std::string& garbage() const { return garbage_; }

 private:
  std::optional<json> read_message(std::chrono::steady_clock::time_point deadline);
  bool write_line(const std::string& line);

  Fd fd_;
  std::string buf_;
  std::deque<json> events_;
  std::string garbage_;
  std::uint64_t next_id_ = 1;
};

// The PCI address ("0000:BB:SS.F") QEMU gives the device with this qdev id,
// from a query-pci reply.
std::optional<std::string> pci_address_of(const json& query_pci_reply, const std::string& qdev_id);

}  // namespace edutest
