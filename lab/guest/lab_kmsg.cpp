// lab-kmsg: streams the guest kernel log to the runner from early boot on.
//
// Started by /etc/init.d/S05kmsg before the drivers load. Forwards every
// /dev/kmsg record verbatim to the lab.kmsg virtio-serial port, so a splat is
// on the host even if the guest hangs right after it (the console is the
// fallback before this starts). The port is two-way: the runner writes
// "sysrq <key>" lines to it (e.g. a task dump before it kills a guest that
// timed out), which go to /proc/sysrq-trigger. Exits after forwarding the
// record "lab-kmsg: end of log", which lab-session writes at the end of a run.
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kEndMarker = ";lab-kmsg: end of log\n";

std::string find_port(const std::string& name) {
  for (int i = 0; i < 100; ++i) {  // virtio_console probes asynchronously
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/sys/class/virtio-ports", ec)) {
      std::ifstream f(e.path() / "name");
      std::string n;
      if (std::getline(f, n) && n == name) {
        std::string dev = "/dev/" + e.path().filename().string();
        if (fs::exists(dev)) return dev;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return {};
}

bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 1000);
        continue;
      }
      return false;
    }
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void run_commands(std::string& pending) {
  for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
    const std::string line = pending.substr(0, nl);
    pending.erase(0, nl + 1);
    if (line.size() == 7 && line.starts_with("sysrq ")) {
      const int fd = ::open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        write_all(fd, std::string_view(line).substr(6, 1));
        ::close(fd);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "lab.kmsg";  // NOLINT: argv is argv
  const std::string dev = find_port(name);
  if (dev.empty()) {
    std::fprintf(stderr, "lab-kmsg: no virtio port named %s\n", name.c_str());
    return 1;
  }
  const int port = ::open(dev.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK);
  const int kmsg = ::open("/dev/kmsg", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (port < 0 || kmsg < 0) {
    const char* what = port < 0 ? dev.c_str() : "/dev/kmsg";
    std::fprintf(stderr, "lab-kmsg: cannot open %s: %s\n", what,
                 std::strerror(errno));  // NOLINT(concurrency-mt-unsafe): one thread
    return 1;
  }
  std::array<char, 8192> rec{};  // a record is at most 8 KiB (CONSOLE_EXT_LOG_MAX)
  std::string commands;
  bool port_readable = true;
  for (;;) {
    std::array<pollfd, 2> fds{{{kmsg, POLLIN, 0}, {port_readable ? port : -1, POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), port_readable ? -1 : 200) < 0 && errno != EINTR) return 1;
    for (;;) {
      const ssize_t n = ::read(kmsg, rec.data(), rec.size());
      if (n < 0 && errno == EPIPE) continue;  // overwritten before we read it: skip ahead
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      const std::string_view r(rec.data(), static_cast<std::size_t>(n));
      if (!write_all(port, r)) return 1;
      if (r.ends_with(kEndMarker)) return 0;
    }
    if ((fds[1].revents & POLLIN) != 0) {
      std::array<char, 256> buf{};
      const ssize_t n = ::read(port, buf.data(), buf.size());
      if (n > 0) {
        commands.append(buf.data(), static_cast<std::size_t>(n));
        run_commands(commands);
      }
    }
    // No host on the other end (yet): poll the log alone for a while.
    port_readable = (fds[1].revents & POLLHUP) == 0;
  }
}
