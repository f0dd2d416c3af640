#include "qtest_client.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spawn.h>

namespace labtest {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

std::string hex(std::uint64_t v) {
  std::ostringstream o;
  o << "0x" << std::hex << v;
  return o.str();
}

// A reply is "OK" or "OK <value>"; anything else is a protocol failure.
std::uint64_t reply_value(const std::string& reply, const std::string& cmd) {
  if (reply.rfind("OK ", 0) != 0)
    throw std::runtime_error("qtest: '" + cmd + "' answered '" + reply + "'");
  return std::stoull(reply.substr(3), nullptr, 0);
}

constexpr auto kReplyTimeout = std::chrono::seconds(30);

}  // namespace

namespace {

// A listening unix socket QEMU connects to (qtest and QMP are clients).
edu::drv::UniqueFd listen_at(const std::string& path) {
  edu::drv::UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener) throw_errno("socket");
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path))
    throw std::runtime_error("qtest: socket path too long: " + path);
  std::memcpy(&sa.sun_path[0], path.c_str(), path.size() + 1);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): bind(2) takes the sockaddr base
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
    throw_errno("bind " + path);
  if (::listen(listener.get(), 1) != 0) throw_errno("listen");
  return listener;
}

}  // namespace

Qtest::Qtest(const fs::path& qemu, const std::vector<std::string>& args) {
  std::string tmpl = "/tmp/labdma-qtest.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw_errno("mkdtemp");
  dir_ = tmpl;
  const std::string qtest_path = (dir_ / "qtest.sock").string();
  const std::string qmp_path = (dir_ / "qmp.sock").string();
  edu::drv::UniqueFd qtest_listener = listen_at(qtest_path);
  edu::drv::UniqueFd qmp_listener = listen_at(qmp_path);

  std::vector<std::string> argv{qemu.string(),
                                "-accel",
                                "qtest",
                                "-qtest",
                                "unix:" + qtest_path,
                                "-qmp",
                                "unix:" + qmp_path,
                                "-display",
                                "none",
                                "-nodefaults",
                                "-m",
                                "64M",
                                "-d",
                                "guest_errors"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (std::string& a : argv)
    cargv.push_back(a.data());
  cargv.push_back(nullptr);

  // QEMU's stderr goes to a file the tests can show on failure.
  posix_spawn_file_actions_t fa{};
  posix_spawn_file_actions_init(&fa);
  const std::string err_path = (dir_ / "stderr").string();
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  const int rc = ::posix_spawn(&pid_, cargv[0], &fa, nullptr, cargv.data(), ::environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    pid_ = -1;
    throw std::system_error(rc, std::generic_category(), "spawn " + qemu.string());
  }

  // QEMU connects both sockets before it creates the machine, in an order
  // of its own.
  const auto deadline = std::chrono::steady_clock::now() + kReplyTimeout;
  while (!qtest_.fd || !qmp_.fd) {
    std::array<pollfd, 2> p{{{qtest_listener.get(), POLLIN, 0}, {qmp_listener.get(), POLLIN, 0}}};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const int n =
        ::poll(p.data(), p.size(), static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw std::runtime_error("qtest: QEMU did not connect within 30 s; its stderr:\n" +
                               qemu_stderr());
    }
    if ((p[0].revents & POLLIN) != 0 && !qtest_.fd) {
      qtest_.fd =
          edu::drv::UniqueFd(::accept4(qtest_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!qtest_.fd) throw_errno("accept");
    }
    if ((p[1].revents & POLLIN) != 0 && !qmp_.fd) {
      qmp_.fd = edu::drv::UniqueFd(::accept4(qmp_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!qmp_.fd) throw_errno("accept");
    }
  }
  // One round trip waits for the main loop, or for QEMU's exit when a
  // device refused to realize.
  clock_step(1);
  (void)read_line(qmp_);  // the greeting
  qmp("qmp_capabilities");
}

Qtest::~Qtest() {
  qtest_.fd.reset();
  qmp_.fd.reset();
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string Qtest::qemu_stderr() const {
  std::ifstream in(dir_ / "stderr");
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

std::string Qtest::read_line(Channel& ch) const {
  const auto deadline = std::chrono::steady_clock::now() + kReplyTimeout;
  for (;;) {
    const auto nl = ch.buf.find('\n');
    if (nl != std::string::npos) {
      std::string line = ch.buf.substr(0, nl);
      ch.buf.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{ch.fd.get(), POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw std::runtime_error("qtest: no reply from QEMU; its stderr:\n" + qemu_stderr());
    std::array<char, 4096> chunk{};
    const ssize_t got = ::read(ch.fd.get(), chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw std::runtime_error("qtest: QEMU went away; its stderr:\n" + qemu_stderr());
    ch.buf.append(chunk.data(), static_cast<std::size_t>(got));
  }
}

// "IRQ raise N" / "IRQ lower N" arrive between replies.
void Qtest::note_async(const std::string& line) {
  std::istringstream in(line);
  std::string irq;
  std::string what;
  unsigned n = 0;
  in >> irq >> what >> n;
  if (levels_.size() <= n) levels_.resize(n + 1, false);
  const bool up = what == "raise";
  if (up) raised_.push_back(n);
  levels_[n] = up;
}

void Qtest::send(Channel& ch, const std::string& line) {
  const std::string out = line + "\n";
  std::size_t off = 0;
  while (off < out.size()) {
    const ssize_t n = ::write(ch.fd.get(), out.data() + off, out.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("qtest write");
    off += static_cast<std::size_t>(n);
  }
}

std::string Qtest::command(const std::string& line) {
  send(qtest_, line);
  for (;;) {
    std::string reply = read_line(qtest_);
    if (reply.rfind("IRQ ", 0) == 0) {
      note_async(reply);
      continue;
    }
    if (reply.rfind("OK", 0) != 0) {
      std::string msg = "qtest: '";
      msg += line;
      msg += "' answered '";
      msg += reply;
      msg += "'";
      throw std::runtime_error(msg);
    }
    return reply;
  }
}

void Qtest::outl(std::uint16_t port, std::uint32_t v) {
  command("outl " + hex(port) + " " + hex(v));
}
void Qtest::outw(std::uint16_t port, std::uint16_t v) {
  command("outw " + hex(port) + " " + hex(v));
}
std::uint16_t Qtest::inw(std::uint16_t port) {
  const std::string c = "inw " + hex(port);
  return static_cast<std::uint16_t>(reply_value(command(c), c));
}
std::uint32_t Qtest::inl(std::uint16_t port) {
  const std::string c = "inl " + hex(port);
  return static_cast<std::uint32_t>(reply_value(command(c), c));
}
void Qtest::writel(std::uint64_t a, std::uint32_t v) {
  command("writel " + hex(a) + " " + hex(v));
}
std::uint32_t Qtest::readl(std::uint64_t a) {
  const std::string c = "readl " + hex(a);
  return static_cast<std::uint32_t>(reply_value(command(c), c));
}
void Qtest::writew(std::uint64_t a, std::uint16_t v) {
  command("writew " + hex(a) + " " + hex(v));
}
std::uint16_t Qtest::readw(std::uint64_t a) {
  const std::string c = "readw " + hex(a);
  return static_cast<std::uint16_t>(reply_value(command(c), c));
}
void Qtest::writeb(std::uint64_t a, std::uint8_t v) {
  command("writeb " + hex(a) + " " + hex(v));
}
std::uint8_t Qtest::readb(std::uint64_t a) {
  const std::string c = "readb " + hex(a);
  return static_cast<std::uint8_t>(reply_value(command(c), c));
}
void Qtest::writeq(std::uint64_t a, std::uint64_t v) {
  command("writeq " + hex(a) + " " + hex(v));
}
std::uint64_t Qtest::readq(std::uint64_t a) {
  const std::string c = "readq " + hex(a);
  return reply_value(command(c), c);
}

// "write ADDR SIZE 0xHEX" / "read ADDR SIZE" -> "OK 0xHEX", in pieces so a
// line stays reasonable.
constexpr std::size_t kMemPiece = std::size_t{64} * 1024;

void Qtest::memwrite(std::uint64_t a, std::span<const std::uint8_t> data) {
  static constexpr std::array<char, 16> kDigits{'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  for (std::size_t off = 0; off < data.size(); off += kMemPiece) {
    const auto piece = data.subspan(off, std::min(kMemPiece, data.size() - off));
    std::string line = "write " + hex(a + off) + " " + hex(piece.size()) + " 0x";
    line.reserve(line.size() + 2 * piece.size());
    for (const std::uint8_t b : piece) {
      line.push_back(kDigits.at(b >> 4U));
      line.push_back(kDigits.at(b & 0xfU));
    }
    command(line);
  }
}

std::vector<std::uint8_t> Qtest::memread(std::uint64_t a, std::size_t len) {
  std::vector<std::uint8_t> out;
  out.reserve(len);
  for (std::size_t off = 0; off < len; off += kMemPiece) {
    const std::size_t n = std::min(kMemPiece, len - off);
    const std::string c = "read " + hex(a + off) + " " + hex(n);
    const std::string reply = command(c);
    if (reply.size() != 5 + 2 * n || reply.compare(0, 5, "OK 0x") != 0)
      throw std::runtime_error("qtest: '" + c + "' answered '" + reply.substr(0, 80) + "'");
    for (std::size_t i = 0; i < n; ++i)
      out.push_back(static_cast<std::uint8_t>(std::stoul(reply.substr(5 + 2 * i, 2), nullptr, 16)));
  }
  return out;
}

void Qtest::memset(std::uint64_t a, std::size_t len, std::uint8_t value) {
  command("memset " + hex(a) + " " + hex(len) + " " + hex(value));
}

nlohmann::json Qtest::qmp(const std::string& cmd, const nlohmann::json& args) {
  nlohmann::json req{{"execute", cmd}};
  if (!args.is_null()) req["arguments"] = args;
  send(qmp_, req.dump());
  for (;;) {
    const nlohmann::json reply = nlohmann::json::parse(read_line(qmp_));
    if (reply.contains("event")) continue;
    if (reply.contains("return")) return reply["return"];
    if (reply.contains("error"))
      throw QmpError(reply["error"].value("desc", std::string("unknown QMP error")));
    throw std::runtime_error("qmp: '" + cmd + "' answered " + reply.dump());
  }
}

void Qtest::qom_set(const std::string& path, const std::string& property,
                    const nlohmann::json& value) {
  qmp("qom-set", {{"path", path}, {"property", property}, {"value", value}});
}

nlohmann::json Qtest::qom_get(const std::string& path, const std::string& property) {
  return qmp("qom-get", {{"path", path}, {"property", property}});
}

void Qtest::clock_step(std::int64_t ns) {
  command(ns > 0 ? "clock_step " + std::to_string(ns) : std::string("clock_step"));
}
void Qtest::irq_intercept_in(const std::string& qom_path) {
  command("irq_intercept_in " + qom_path);
}
bool Qtest::irq(unsigned n) {
  (void)command("readl 0x0");  // a round trip collects pending IRQ lines
  return n < levels_.size() && levels_[n];
}
std::vector<unsigned> Qtest::take_raised() {
  (void)command("readl 0x0");
  std::vector<unsigned> r;
  r.swap(raised_);
  return r;
}

std::uint32_t PciConfig::read32(unsigned reg) {
  qt_.outl(0xcf8, 0x80000000U | bdf_ | (reg & 0xfcU));
  return qt_.inl(0xcfc);
}
void PciConfig::write32(unsigned reg, std::uint32_t v) {
  qt_.outl(0xcf8, 0x80000000U | bdf_ | (reg & 0xfcU));
  qt_.outl(0xcfc, v);
}
std::uint16_t PciConfig::read16(unsigned reg) {
  qt_.outl(0xcf8, 0x80000000U | bdf_ | (reg & 0xfcU));
  return qt_.inw(static_cast<std::uint16_t>(0xcfc + (reg & 2U)));
}
// A 16-bit write touches only its own register (status bits are write-1-to-clear).
void PciConfig::write16(unsigned reg, std::uint16_t v) {
  qt_.outl(0xcf8, 0x80000000U | bdf_ | (reg & 0xfcU));
  qt_.outw(static_cast<std::uint16_t>(0xcfc + (reg & 2U)), v);
}
std::uint8_t PciConfig::read8(unsigned reg) {
  return static_cast<std::uint8_t>(read32(reg) >> ((reg & 3U) * 8));
}
unsigned PciConfig::find_capability(std::uint8_t id) {
  unsigned off = read8(0x34) & 0xfcU;
  for (int guard = 0; off != 0 && guard < 48; ++guard) {
    if (read8(off) == id) return off;
    off = read8(off + 1) & 0xfcU;
  }
  return 0;
}

}  // namespace labtest
