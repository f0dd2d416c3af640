#include "lib_test_util.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spawn.h>

namespace edulibtest {

std::vector<std::byte> pattern(std::size_t n, std::uint32_t seed) {
  std::vector<std::byte> v(n);
  std::uint32_t x = 0x9E3779B9U ^ (seed * 0x85EBCA6BU + 1);
  for (auto& b : v) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::byte>(x >> 24);
  }
  return v;
}

std::uint32_t crc32(std::span<const std::byte> data) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1U) != 0 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFU;
  for (std::byte b : data)
    c = table[(c ^ static_cast<std::uint32_t>(b)) & 0xFFU] ^ (c >> 8);
  return c ^ 0xFFFFFFFFU;
}

// NOLINTBEGIN(concurrency-mt-unsafe): ScopedEnv is test set-up, before any thread starts
ScopedEnv::ScopedEnv(std::string name, const std::optional<std::string>& value)
    : name_(std::move(name)) {
  if (const char* old = std::getenv(name_.c_str())) old_ = old;
  if (value)
    ::setenv(name_.c_str(), value->c_str(), 1);
  else
    ::unsetenv(name_.c_str());
}

ScopedEnv::~ScopedEnv() {
  if (old_)
    ::setenv(name_.c_str(), old_->c_str(), 1);
  else
    ::unsetenv(name_.c_str());
}
// NOLINTEND(concurrency-mt-unsafe)

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "edu-lib-tests-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw std::system_error(errno, std::system_category(), "mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_file(const fs::path& p, std::span<const std::byte> data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): ostream::write takes char*
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!out.flush()) throw std::runtime_error("write " + p.string() + " failed");
}

std::vector<std::byte> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("open " + p.string() + " failed");
  std::ostringstream s;
  s << in.rdbuf();
  const std::string t = s.str();
  std::vector<std::byte> v(t.size());
  std::memcpy(v.data(), t.data(), t.size());
  return v;
}

namespace {

/// A pipe; both ends closed on destruction.
struct Pipe {
  std::array<int, 2> fd = {-1, -1};
  Pipe() {
    if (::pipe2(fd.data(), O_CLOEXEC) != 0)
      throw std::system_error(errno, std::system_category(), "pipe");
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() {
    close_end(0);
    close_end(1);
  }
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

/// posix_spawn file actions, destroyed on scope exit.
struct Actions {
  posix_spawn_file_actions_t a{};
  Actions() { ::posix_spawn_file_actions_init(&a); }
  Actions(const Actions&) = delete;
  Actions& operator=(const Actions&) = delete;
  ~Actions() { ::posix_spawn_file_actions_destroy(&a); }
};

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::map<std::string, std::optional<std::string>>& env,
                          const std::string& input) {
  ProcessResult r;
  // The child's environment: ours with the overrides applied.
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : env) {
    if (v)
      vars[k] = *v;
    else
      vars.erase(k);
  }
  std::vector<std::string> envs;
  envs.reserve(vars.size());
  for (const auto& [k, v] : vars)
    envs.emplace_back(k).append("=").append(v);
  std::vector<char*> cenv;
  cenv.reserve(envs.size());
  for (auto& s : envs)
    cenv.push_back(s.data());
  cenv.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  cargv.reserve(args.size());
  for (auto& s : args)
    cargv.push_back(s.data());
  cargv.push_back(nullptr);

  Pipe in;
  Pipe out;
  Pipe err;
  Actions fa;
  ::posix_spawn_file_actions_adddup2(&fa.a, in.fd[0], STDIN_FILENO);
  ::posix_spawn_file_actions_adddup2(&fa.a, out.fd[1], STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(&fa.a, err.fd[1], STDERR_FILENO);
  pid_t pid = 0;
  if (::posix_spawnp(&pid, cargv[0], &fa.a, nullptr, cargv.data(), cenv.data()) != 0) return r;
  in.close_end(0);
  out.close_end(1);
  err.close_end(1);

  // Feed stdin and drain stdout/stderr together (no deadlock on big outputs).
  std::size_t fed = 0;
  if (input.empty()) in.close_end(1);
  std::array<char, 65536> buf{};
  while (out.fd[0] >= 0 || err.fd[0] >= 0) {
    std::array<pollfd, 3> p = {
        {{out.fd[0], POLLIN, 0}, {err.fd[0], POLLIN, 0}, {in.fd[1], POLLOUT, 0}}};
    if (::poll(p.data(), p.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (p[i].revents == 0) continue;
      Pipe& pp = i == 0 ? out : err;
      const ssize_t n = ::read(pp.fd[0], buf.data(), buf.size());
      if (n > 0)
        (i == 0 ? r.out : r.err).append(buf.data(), static_cast<std::size_t>(n));
      else if (n == 0 || errno != EINTR)
        pp.close_end(0);
    }
    if (p[2].revents != 0) {
      const ssize_t n = ::write(in.fd[1], input.data() + fed, input.size() - fed);
      if (n > 0) fed += static_cast<std::size_t>(n);
      if (n < 0 && errno != EINTR) fed = input.size();
      if (fed == input.size()) in.close_end(1);
    }
  }
  in.close_end(1);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

std::string eductl() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path next = self.parent_path() / "eductl";
    if (fs::exists(next, ec)) return next.string();
  }
  return "eductl";
}

namespace {

std::string read_trimmed(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

}  // namespace

std::vector<SysfsDevice> sysfs_devices() {
  std::vector<SysfsDevice> v;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/class/edu", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("edu", 0) != 0) continue;
    SysfsDevice d;
    d.index = static_cast<unsigned>(std::stoul(name.substr(3)));
    d.pci_address = fs::read_symlink(e.path() / "device", ec).filename().string();
    d.irq_mode = read_trimmed(e.path() / "irq_mode");
    d.dma_window = static_cast<std::uint32_t>(std::stoul(read_trimmed(e.path() / "dma_window")));
    v.push_back(d);
  }
  std::sort(v.begin(), v.end(),
            [](const SysfsDevice& a, const SysfsDevice& b) { return a.index < b.index; });
  return v;
}

std::optional<unsigned> expected_device_count() {
  const char* e = std::getenv("EDU_EXPECTED_DEVICES");
  if (e == nullptr || *e == '\0') return std::nullopt;
  return static_cast<unsigned>(std::strtoul(e, nullptr, 10));
}

}  // namespace edulibtest
