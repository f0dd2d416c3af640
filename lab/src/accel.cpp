#include "accel.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qemu_command.hpp"
#include "termination.hpp"

namespace edulab {

namespace fs = std::filesystem;

namespace {

constexpr const char* kProbeMarker = "LAB-KVM-PROBE-OK";

std::string host_machine() {
  utsname u{};
  ::uname(&u);
  return {static_cast<const char*>(u.machine)};
}

std::string host_release() {
  utsname u{};
  ::uname(&u);
  return {static_cast<const char*>(u.release)};
}

fs::path find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const fs::path p = fs::path(dir.empty() ? "." : dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return fs::canonical(p);
  }
  return {};
}

// What the answer depends on: the host kernel (KVM), the QEMU binary (by
// path, size and modification time) and the guest kernel (by content: each
// `make stage` copies it anew).
std::string probe_key(const fs::path& qemu, const fs::path& kernel) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  auto mix = [&h](const char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      h ^= static_cast<unsigned char>(p[i]);  // NOLINT: byte walk
      h *= 1099511628211ULL;
    }
  };
  struct stat st {};
  ::stat(qemu.c_str(), &st);
  const std::string text = host_release() + "|" + qemu.string() + "|" + std::to_string(st.st_size) +
                           "|" + std::to_string(st.st_mtim.tv_sec) + "." +
                           std::to_string(st.st_mtim.tv_nsec) + "|";
  mix(text.data(), text.size());
  std::ifstream in(kernel, std::ios::binary);
  std::array<char, 65536> buf{};
  while (in.read(buf.data(), buf.size()) || in.gcount() > 0)
    mix(buf.data(), static_cast<std::size_t>(in.gcount()));
  std::array<char, 17> hex{};
  std::snprintf(hex.data(), hex.size(), "%016llx", static_cast<unsigned long long>(h));
  return hex.data();
}

// Boots busybox under KVM and waits for it to print the marker.
// Removes a directory tree when it goes out of scope.
class ScopedDir {
 public:
  explicit ScopedDir(fs::path dir) : dir_(std::move(dir)) {}
  ScopedDir(const ScopedDir&) = delete;
  ScopedDir& operator=(const ScopedDir&) = delete;
  ScopedDir(ScopedDir&&) = delete;
  ScopedDir& operator=(ScopedDir&&) = delete;
  ~ScopedDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

 private:
  fs::path dir_;
};

enum class Probe { kvm_works, kvm_fails, undecided };

Probe probe_kvm(const fs::path& qemu, const Stage& stage, unsigned timeout_s, int stop_fd,
                std::string& why) {
  std::string tmpl = (fs::temp_directory_path() / "edulab-kvm-probe.XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    why = "cannot create a probe directory";
    return Probe::undecided;
  }
  const fs::path dir = tmpl;
  const ScopedDir cleanup(dir);
  {
    CpioArchive cpio;
    cpio.add_host_path(stage.rootfs / "bin" / "busybox", "/bin/busybox");
    cpio.add_directory("/dev");
    cpio.add_char_device("/dev/console", 5, 1, 0600);
    cpio.add_file("/init",
                  std::string("#!/bin/busybox sh\n/bin/busybox echo ") + kProbeMarker +
                      "\n/bin/busybox poweroff -f\n",
                  0755);
    std::ofstream out(dir / "probe.cpio", std::ios::binary);
    cpio.write(out);
  }
  const std::vector<std::string> args{qemu.string(),
                                      "-accel",
                                      "kvm",
                                      "-M",
                                      "q35",
                                      "-m",
                                      "256M",
                                      "-nodefaults",
                                      "-display",
                                      "none",
                                      "-no-reboot",
                                      "-serial",
                                      "stdio",
                                      "-monitor",
                                      "none",
                                      "-kernel",
                                      stage.kernel.string(),
                                      "-initrd",
                                      (dir / "probe.cpio").string(),
                                      "-append",
                                      "console=ttyS0 panic=-1 quiet"};
  std::vector<char*> argv;
  for (const auto& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));  // NOLINT: execv(3) never writes
  }
  argv.push_back(nullptr);
  std::array<int, 2> p{};
  if (::pipe2(p.data(), O_CLOEXEC) != 0) {
    why = "pipe failed";
    return Probe::undecided;
  }
  const pid_t runner = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    why = "fork failed";
    return Probe::undecided;
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != runner) ::_exit(127);
    // Out of the terminal's process group: a Ctrl-C is the runner's to
    // handle (it abandons the probe), not a probe failure to cache.
    ::setpgid(0, 0);
    TerminationSignals::unblock_in_child();
    const int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(p[1], STDOUT_FILENO);
    ::dup2(p[1], STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(p[1]);
  std::string output;
  Probe result = Probe::kvm_fails;  // unless it boots, or we are told to stop
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    std::array<pollfd, 2> pfd{{{p[0], POLLIN, 0}, {stop_fd, POLLIN, 0}}};
    const int rc = ::poll(pfd.data(), pfd.size(), static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) break;
    if (pfd[1].revents != 0) {  // a termination signal: the caller handles it
      result = Probe::undecided;
      why = "interrupted";
      break;
    }
    std::array<char, 4096> buf{};
    const ssize_t n = ::read(p[0], buf.data(), buf.size());
    if (n <= 0) break;  // QEMU exited
    output.append(buf.data(), static_cast<std::size_t>(n));
    if (output.find(kProbeMarker) != std::string::npos) {
      result = Probe::kvm_works;
      break;
    }
  }
  ::close(p[0]);
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (result == Probe::kvm_fails) {
    const auto last_nl = output.find_last_not_of("\r\n");
    std::string tail = last_nl == std::string::npos ? "" : output.substr(0, last_nl + 1);
    tail = tail.substr(tail.find_last_of('\n') + 1);
    why = "a probe guest did not boot under KVM in " + std::to_string(timeout_s) + " s" +
          (tail.empty() ? "" : " (last output: \"" + tail + "\")");
  }
  return result;
}

}  // namespace

fs::path default_accel_cache() {
  if (const char* c = std::getenv("EDULAB_CACHE"); c != nullptr && *c != '\0') {
    return fs::path(c) / "accel";
  }
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr ? home : "/tmp") / ".cache" / "edulab" / "accel";
}

AccelChoice choose_accel(const RunOptions& o, const Stage& stage, const fs::path& cache_dir,
                         int stop_fd, unsigned probe_timeout_s) {
  if (o.accel == Accel::tcg) return {"tcg", ""};
  if (o.accel == Accel::kvm) return {"kvm", ""};
  // auto
  // KVM runs the host's architecture only, and the probe guest is an x86
  // q35 machine (an arm64 host's `virt` probe is not written yet).
  if (o.arch != Arch::x86_64 || host_machine() != to_string(o.arch)) return {"tcg", ""};
  const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return {"tcg", ""};
  ::close(fd);
  const fs::path qemu = find_in_path(qemu_binary(o.arch));
  if (qemu.empty()) return {"tcg", ""};  // the run itself reports the missing QEMU

  const fs::path entry = cache_dir / probe_key(qemu, stage.kernel);
  std::string answer;
  bool probed = false;
  if (std::ifstream in(entry); in && std::getline(in, answer) && !answer.empty()) {
    // cached
  } else {
    probed = true;
    std::string why;
    const Probe p = probe_kvm(qemu, stage, probe_timeout_s, stop_fd, why);
    if (p == Probe::undecided) return {"tcg", ""};  // not cached: ask again next time
    answer = p == Probe::kvm_works ? "kvm" : "tcg " + why;
    // Written whole, then renamed: parallel runners never read half of it.
    std::error_code ec;
    fs::create_directories(cache_dir, ec);
    const fs::path tmp = entry.string() + ".tmp" + std::to_string(::getpid());
    std::ofstream(tmp) << answer << "\n";
    fs::rename(tmp, entry, ec);
  }
  if (answer == "kvm") return {"kvm", ""};
  // Said when the probe decides; later runs use the cached answer quietly
  // (the verdict JSON and the guest's lab.accel= still name it).
  if (!probed) return {"tcg", ""};
  return {"tcg", "run_qemu: /dev/kvm is here but KVM does not run guests on this host: " +
                     answer.substr(answer.find(' ') + 1) + "; using TCG (cached in " +
                     entry.string() + ")"};
}

}  // namespace edulab
