#include "qmp.hpp"

#include <array>
#include <cstdio>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace edutest {

std::optional<fs::path> Qmp::find_port(const std::string& name) {
  std::error_code ec;
  for (const auto& p : fs::directory_iterator("/sys/class/virtio-ports", ec)) {
    if (read_trimmed(p.path() / "name") == name) {
      return fs::path("/dev") / p.path().filename();
    }
  }
  return std::nullopt;
}

Qmp::Qmp(const fs::path& port) : fd_(::open(port.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC)) {}

bool Qmp::write_line(const std::string& line) {
  std::size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = ::write(fd_.get(), line.data() + off, line.size() - off);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    pollfd p{fd_.get(), POLLOUT, 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
  }
  return true;
}

std::optional<json> Qmp::read_message(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    for (auto nl = buf_.find('\n'); nl != std::string::npos; nl = buf_.find('\n')) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
        line.pop_back();
      if (line.empty()) continue;
      try {
        return json::parse(line);
      } catch (const std::exception&) {
        garbage_ += line + "\n";
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_.get(), POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (r <= 0) continue;
    std::array<char, 4096> tmp{};
    const ssize_t n = ::read(fd_.get(), tmp.data(), tmp.size());
    if (n > 0) {
      buf_.append(tmp.data(), static_cast<std::size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      // Host side not connected (POLLHUP): retry until the deadline.
      ::usleep(50000);
    }
  }
}

std::optional<json> Qmp::execute(const std::string& command, const json& arguments,
                                 std::chrono::milliseconds timeout) {
  if (!ok()) return std::nullopt;
  const std::string id = "edu-abi-" + std::to_string(next_id_++);
  json cmd = {{"execute", command}, {"id", id}};
  if (!arguments.empty()) cmd["arguments"] = arguments;
  if (!write_line(cmd.dump() + "\n")) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (auto msg = read_message(deadline)) {
    if (msg->contains("event")) {
      events_.push_back(*msg);
      continue;
    }
    if (msg->value("id", std::string{}) == id) return msg;
    // A reply to somebody else (e.g. the runner's qmp_capabilities): ignore.
  }
  return std::nullopt;
}

std::optional<json> Qmp::wait_event(const std::string& name,
                                    const std::function<bool(const json&)>& match,
                                    std::chrono::milliseconds timeout) {
  auto matches = [&](const json& e) {
    return e.value("event", std::string{}) == name &&
           (!match || match(e.value("data", json::object())));
  };
  for (auto it = events_.begin(); it != events_.end(); ++it) {
    if (matches(*it)) {
      json e = *it;
      events_.erase(it);
      return e;
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (auto msg = read_message(deadline)) {
    if (!msg->contains("event")) continue;
    if (matches(*msg)) return msg;
    events_.push_back(*msg);
  }
  return std::nullopt;
}

namespace {

// NOLINTNEXTLINE(misc-no-recursion): walks the PCI bridge tree, as deep as QEMU's topology
bool find_in_bus(const json& bus, const std::string& qdev_id, std::string* out) {
  for (const auto& d : bus.value("devices", json::array())) {
    if (d.value("qdev_id", std::string{}) == qdev_id) {
      std::array<char, 32> buf{};
      std::snprintf(buf.data(), buf.size(), "0000:%02x:%02x.%x", d.value("bus", 0),
                    d.value("slot", 0), d.value("function", 0));
      *out = buf.data();
      return true;
    }
    if (d.contains("pci_bridge") && d["pci_bridge"].contains("devices")) {
      if (find_in_bus(d["pci_bridge"], qdev_id, out)) return true;
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> pci_address_of(const json& reply, const std::string& qdev_id) {
  if (!reply.contains("return")) return std::nullopt;
  std::string out;
  for (const auto& bus : reply["return"]) {
    if (find_in_bus(bus, qdev_id, &out)) return out;
  }
  return std::nullopt;
}

}  // namespace edutest
