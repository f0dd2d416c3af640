#include "session.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kmsg.hpp"

namespace edulab {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::map<std::string, std::string> parse_result_stream(const std::string& stream) {
  std::map<std::string, std::string> files;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    const std::size_t nl = stream.find('\n', pos);
    if (nl == std::string::npos) break;
    const std::string header = stream.substr(pos, nl - pos);
    if (!header.starts_with("FILE ")) break;
    const std::size_t sp = header.rfind(' ');
    if (sp <= 5) break;
    const std::string name = header.substr(5, sp - 5);
    std::size_t size = 0;
    try {
      size = std::stoul(header.substr(sp + 1));
    } catch (const std::exception&) {
      break;
    }
    if (stream.size() - (nl + 1) < size) break;  // truncated: the guest died mid-way
    files[name] = stream.substr(nl + 1, size);
    pos = nl + 1 + size;
  }
  return files;
}

namespace {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

Fd listen_unix(const std::string& path) {
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) throw_errno("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    throw std::runtime_error("socket path too long: " + path);
  std::copy_n(path.c_str(), path.size() + 1, std::begin(addr.sun_path));
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): bind(2) takes the sockaddr base
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    throw_errno("bind " + path);
  }
  if (::listen(fd.get(), 1) != 0) throw_errno("listen " + path);
  return fd;
}

enum class Channel { console, ctl, out, err, kmsg, results, qmp_monitor, qmp_guest, qemu };

struct Stream {
  Channel channel;
  Fd listener;
  Fd conn;
  std::string data;
  bool eof = false;
};

void write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        // A non-blocking peer (QMP bridge) is full: wait a little, then give up.
        pollfd pfd{fd, POLLOUT, 0};
        if (::poll(&pfd, 1, 1000) > 0) continue;
      }
      return;  // the reader went away; keep running the guest regardless
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

// waitpid(2) that an interrupted wait does not turn into "exited 0".
void reap(pid_t pid, int& wstatus) {
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

SessionResult run_session(Scenario& scenario, const fs::path& workdir, const SessionLimits& limits,
                          TerminationSignals& signals, bool verbose) {
  SessionResult result;
  Evidence& ev = result.evidence;
  std::vector<Stream> streams;
  auto add_listener = [&](Channel ch, const std::string& name) {
    std::string path = (workdir / name).string();
    streams.push_back(Stream{ch, listen_unix(path), Fd{}, {}, false});
    return path;
  };
  if (!scenario.interactive)
    scenario.sockets.console = add_listener(Channel::console, "console.sock");
  scenario.sockets.console_log = (workdir / "console.log").string();
  scenario.sockets.ctl = add_listener(Channel::ctl, "ctl.sock");
  scenario.sockets.out = add_listener(Channel::out, "out.sock");
  scenario.sockets.err = add_listener(Channel::err, "err.sock");
  scenario.sockets.kmsg = add_listener(Channel::kmsg, "kmsg.sock");
  scenario.sockets.results = add_listener(Channel::results, "results.sock");
  scenario.sockets.qmp_monitor = add_listener(Channel::qmp_monitor, "qmp-monitor.sock");
  scenario.sockets.qmp_guest = add_listener(Channel::qmp_guest, "qmp-guest.sock");

  const auto argv_strings = qemu_command(scenario);
  if (verbose) {
    std::string line = "run_qemu: +";
    for (const auto& a : argv_strings)
      line += " " + shell_quote(a);
    std::cerr << line << std::endl;
  }

  std::array<int, 2> qpipe{};
  if (::pipe2(qpipe.data(), O_CLOEXEC) != 0) throw_errno("pipe");
  Fd qemu_read(qpipe[0]);
  // Read like the sockets, until EAGAIN: a blocking read end would hang the
  // loop as soon as QEMU printed anything (a warning) and then said nothing.
  if (::fcntl(qemu_read.get(), F_SETFL, O_NONBLOCK) != 0) throw_errno("fcntl");
  Fd qemu_write(qpipe[1]);
  // A signal that came while the image was being written: do not start.
  if (auto sig = signals.take()) {
    result.interrupted_by = *sig;
    return result;
  }

  std::vector<char*> argv;
  argv.reserve(argv_strings.size() + 1);
  for (const auto& a : argv_strings) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): execvp(3) takes char* but never writes
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);

  const pid_t runner = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    // QEMU never outlives the runner, however the runner ends (SIGKILL, the
    // OOM killer, a cancelled CI job): the kernel kills it when we go.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != runner) ::_exit(127);  // we went before prctl took effect
    TerminationSignals::unblock_in_child();
    if (!scenario.interactive) {
      const int devnull = ::open("/dev/null", O_RDONLY);
      ::dup2(devnull, STDIN_FILENO);
      ::dup2(qpipe[1], STDOUT_FILENO);
      // Ours, so a terminal's Ctrl-C reaches the runner, which stops QEMU.
      ::setpgid(0, 0);
    }
    ::dup2(qpipe[1], STDERR_FILENO);
    ::execvp(argv[0], argv.data());
    // NOLINTNEXTLINE(concurrency-mt-unsafe): strerror(3) is safe here, the runner has one thread
    std::fprintf(stderr, "run_qemu: cannot start %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  qemu_write.reset();
  streams.push_back(Stream{Channel::qemu, Fd{}, std::move(qemu_read), {}, false});
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) throw_errno("pidfd_open");

  const auto start = Clock::now();
  auto deadline_of = [&](unsigned s) {
    return s == 0 ? std::optional<Clock::time_point>{} : start + std::chrono::seconds(s);
  };
  const auto run_deadline = deadline_of(limits.timeout_s);
  const auto boot_deadline = deadline_of(limits.boot_timeout_s);
  std::optional<Clock::time_point> poweroff_deadline;
  std::string ctl_line;

  // QMP bridge: the runner negotiates capabilities, then relays JSON lines
  // between QEMU's monitor and the guest's lab.qmp port.
  bool qmp_ready = false;
  std::string qmp_from_monitor;
  std::string qmp_from_guest;
  auto stream_of = [&](Channel ch) -> Stream* {
    for (auto& st : streams) {
      if (st.channel == ch) return &st;
    }
    return nullptr;
  };
  auto send_to = [&](Channel ch, const std::string& text) {
    Stream* st = stream_of(ch);
    if (st != nullptr && st->conn.valid()) write_all(st->conn.get(), text.data(), text.size());
  };
  auto flush_guest_qmp = [&]() {
    for (auto nl = qmp_from_guest.find('\n'); qmp_ready && nl != std::string::npos;
         nl = qmp_from_guest.find('\n')) {
      send_to(Channel::qmp_monitor, qmp_from_guest.substr(0, nl + 1));
      qmp_from_guest.erase(0, nl + 1);
    }
  };

  KmsgDecoder kmsg;
  auto ev_console_size = [&]() {
    const Stream* c = stream_of(Channel::console);
    return c != nullptr ? c->data.size() : std::string::npos;
  };
  auto handle_data = [&](Stream& s, const char* buf, std::size_t n) {
    s.data.append(buf, n);
    switch (s.channel) {
      case Channel::out:
        write_all(STDOUT_FILENO, buf, n);
        break;
      case Channel::err:
        write_all(STDERR_FILENO, buf, n);
        break;
      case Channel::console:
        if (verbose) write_all(STDERR_FILENO, buf, n);
        break;
      case Channel::kmsg:
        kmsg.feed(std::string_view(buf, n));
        s.data.clear();
        break;
      case Channel::qemu:
        if (scenario.interactive || verbose) write_all(STDERR_FILENO, buf, n);
        break;
      case Channel::qmp_monitor:
        qmp_from_monitor.append(buf, n);
        for (auto nl = qmp_from_monitor.find('\n'); nl != std::string::npos;
             nl = qmp_from_monitor.find('\n')) {
          const std::string line = qmp_from_monitor.substr(0, nl + 1);
          qmp_from_monitor.erase(0, nl + 1);
          if (qmp_ready) {
            send_to(Channel::qmp_guest, line);
          } else if (line.find("\"QMP\"") != std::string::npos) {
            send_to(Channel::qmp_monitor, "{\"execute\": \"qmp_capabilities\"}\n");
          } else if (line.find("\"return\"") != std::string::npos) {
            qmp_ready = true;
            flush_guest_qmp();
          }
        }
        s.data.clear();
        break;
      case Channel::qmp_guest:
        qmp_from_guest.append(buf, n);
        flush_guest_qmp();
        s.data.clear();
        break;
      case Channel::ctl:
        ctl_line.append(buf, n);
        for (auto nl = ctl_line.find('\n'); nl != std::string::npos; nl = ctl_line.find('\n')) {
          const std::string line = ctl_line.substr(0, nl);
          ctl_line.erase(0, nl + 1);
          if (line.starts_with("READY")) {
            ev.ready = true;
            ev.boot_seconds = std::chrono::duration<double>(Clock::now() - start).count();
          } else if (line.starts_with("EXIT ")) {
            try {
              ev.guest_status = std::stoi(line.substr(5));
            } catch (const std::exception&) {
            }
            poweroff_deadline = Clock::now() + std::chrono::seconds(limits.poweroff_timeout_s);
          }
        }
        break;
      default:
        break;
    }
  };

  auto read_stream = [&](Stream& s) {
    std::array<char, 65536> buf{};
    for (;;) {
      const ssize_t n = ::read(s.conn.get(), buf.data(), buf.size());
      if (n > 0) {
        handle_data(s, buf.data(), static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || errno != EAGAIN) {  // end of stream, or the peer is gone
        s.eof = true;
        s.conn.reset();
      }
      return;
    }
  };

  bool qemu_gone = false;
  int wstatus = 0;
  auto stop_qemu = [&]() {
    ::kill(pid, SIGKILL);
    reap(pid, wstatus);
    qemu_gone = true;
  };

  // A limit was hit. If the guest's log streamer is connected, first ask it
  // for a dump of blocked and all tasks (sysrq w, t) and give that a few
  // seconds to arrive, so the report shows where the guest hung; what the
  // log held before the request is what the verdict is judged on.
  std::optional<Clock::time_point> dump_deadline;
  auto hit_limit = [&](bool& flag) {
    flag = true;  // whatever happens next, this run hit its limit
    // The streamer forwards requests while it runs: it has sent records and
    // the guest has not reported its end (after which lab-kmsg is gone).
    Stream* k = stream_of(Channel::kmsg);
    const bool streamer = k != nullptr && k->conn.valid() && kmsg.records() > 0 &&
                          !ev.guest_status && limits.dump_wait_s > 0;
    if (!streamer) {
      stop_qemu();
      return;
    }
    // What is already on its way belongs before the cut.
    for (Channel ch : {Channel::kmsg, Channel::console}) {
      if (Stream* st = stream_of(ch); st != nullptr && st->conn.valid()) read_stream(*st);
    }
    ev.console_judged = ev_console_size();
    ev.kmsg_judged = kmsg.text().size();
    ev.task_dump_requested = true;
    send_to(Channel::kmsg, "sysrq w\nsysrq t\n");
    dump_deadline = Clock::now() + std::chrono::seconds(limits.dump_wait_s);
  };

  while (!qemu_gone) {
    std::vector<pollfd> fds;
    std::vector<std::pair<Stream*, bool>> owners;  // stream, is-listener
    for (auto& s : streams) {
      if (s.conn.valid()) {
        fds.push_back({s.conn.get(), POLLIN, 0});
        owners.emplace_back(&s, false);
      } else if (s.listener.valid()) {
        fds.push_back({s.listener.get(), POLLIN, 0});
        owners.emplace_back(&s, true);
      }
    }
    fds.push_back({pidfd.get(), POLLIN, 0});
    fds.push_back({signals.fd(), POLLIN, 0});

    auto now = Clock::now();
    std::optional<Clock::time_point> next;
    auto consider = [&](const std::optional<Clock::time_point>& t) {
      if (t && (!next || *t < *next)) next = t;
    };
    if (dump_deadline) {
      consider(dump_deadline);
    } else {
      consider(run_deadline);
      if (!ev.ready) consider(boot_deadline);
      consider(poweroff_deadline);
    }
    int timeout_ms = -1;
    if (next) {
      timeout_ms = static_cast<int>(std::max<long>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(*next - now).count()));
    }
    const int rc = ::poll(fds.data(), fds.size(), timeout_ms);
    if (rc < 0 && errno != EINTR) throw_errno("poll");

    now = Clock::now();
    if (dump_deadline) {
      if (now >= *dump_deadline) {
        stop_qemu();
        break;
      }
    } else if (run_deadline && now >= *run_deadline) {
      hit_limit(ev.timed_out);
      if (qemu_gone) break;
    } else if (!ev.ready && boot_deadline && now >= *boot_deadline) {
      hit_limit(ev.boot_timed_out);
      if (qemu_gone) break;
    } else if (poweroff_deadline && now >= *poweroff_deadline) {
      hit_limit(ev.poweroff_timed_out);
      if (qemu_gone) break;
    }
    if (rc <= 0) continue;

    for (std::size_t i = 0; i < owners.size(); ++i) {
      if (fds[i].revents == 0) continue;
      auto [s, is_listener] = owners[i];
      if (is_listener) {
        s->conn = Fd(::accept4(s->listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (s->conn.valid()) s->listener.reset();
      } else {
        read_stream(*s);
      }
    }
    if (fds[fds.size() - 1].revents != 0) {
      if (auto sig = signals.take()) {
        std::cerr << "run_qemu: interrupted by signal " << *sig << ", stopping QEMU" << std::endl;
        result.interrupted_by = *sig;
        stop_qemu();
        break;
      }
    }
    if (fds[fds.size() - 2].revents != 0) {
      reap(pid, wstatus);
      qemu_gone = true;
    }
  }

  // QEMU is gone: drain what the sockets and the pipe still hold. Its end of
  // each is closed, so EOF comes at once; the deadline is for the odd case
  // where something else still holds one open.
  const auto drain_deadline = Clock::now() + std::chrono::seconds(2);
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<Stream*> owners;
    for (auto& s : streams) {
      if (s.conn.valid()) {
        fds.push_back({s.conn.get(), POLLIN, 0});
        owners.push_back(&s);
      }
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(drain_deadline - Clock::now());
    if (fds.empty() || left.count() <= 0) break;
    if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0) read_stream(*owners[i]);
    }
  }

  for (auto& s : streams) {
    switch (s.channel) {
      case Channel::console:
        ev.console = std::move(s.data);
        break;
      case Channel::qemu:
        ev.qemu_output = std::move(s.data);
        break;
      case Channel::results:
        result.result_files = parse_result_stream(s.data);
        break;
      default:
        break;
    }
  }
  ev.kmsg = kmsg.text();
  ev.kmsg_records = kmsg.records();
  ev.kmsg_lost = kmsg.lost();
  if (scenario.interactive) {
    std::ifstream log(scenario.sockets.console_log, std::ios::binary);
    ev.console.assign(std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>());
  }
  ev.qemu.exited = WIFEXITED(wstatus);
  ev.qemu.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 0;
  ev.qemu.signal = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
  return result;
}

}  // namespace edulab
