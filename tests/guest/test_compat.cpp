// compat_ioctl: the ioctls from a 32-bit process. The checks live in
// compat32_probe.c (built with gcc -m32 -static for x86_64 guests); this
// test runs it against every device and requires exit status 0.
#include <array>
#include <climits>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "edu_test_util.hpp"

namespace edutest {
namespace {

fs::path probe_path() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path p = self.parent_path() / "edu-compat32-probe";
    if (fs::exists(p)) return p;
  }
  for (const char* p : {"/usr/bin/edu-compat32-probe", "/usr/local/bin/edu-compat32-probe"}) {
    if (fs::exists(p)) return p;
  }
  return {};
}

struct ExecResult {
  int exec_errno = 0;  // execve failed with this
  int status = -1;     // exit status, or 128 + signal
  std::string output;
};

ExecResult exec_capture(const fs::path& prog, const std::string& arg) {
  ExecResult res;
  std::array<int, 2> out{};
  std::array<int, 2> err{};
  if (::pipe2(out.data(), O_CLOEXEC) != 0 || ::pipe2(err.data(), O_CLOEXEC) != 0) {
    res.exec_errno = errno;
    return res;
  }
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    const std::string p = prog.string();
    // NOLINTBEGIN(cppcoreguidelines-pro-type-const-cast): execv(2) never writes argv
    std::array<char*, 3> argv = {const_cast<char*>(p.c_str()), const_cast<char*>(arg.c_str()),
                                 nullptr};
    // NOLINTEND(cppcoreguidelines-pro-type-const-cast)
    ::execv(argv[0], argv.data());
    const int e = errno;
    [[maybe_unused]] const ssize_t w = ::write(err[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  std::array<char, 4096> buf{};
  ssize_t n = 0;
  while ((n = ::read(out[0], buf.data(), buf.size())) > 0)
    res.output.append(buf.data(), static_cast<size_t>(n));
  int e = 0;
  if (::read(err[0], &e, sizeof e) == sizeof e) res.exec_errno = e;
  ::close(out[0]);
  ::close(err[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  res.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return res;
}

TEST(Compat32, ProbePassesOnEveryDevice) {
  const fs::path probe = probe_path();
  if (probe.empty()) {
    GTEST_SKIP() << "edu-compat32-probe not installed (built for x86_64 guests only)";
  }
  const auto nodes = edu_nodes();
  ASSERT_FALSE(nodes.empty()) << "no edu device";
  for (const auto& n : nodes) {
    const ExecResult r = exec_capture(probe, n.dev.string());
    if (r.exec_errno == ENOEXEC) {
      GTEST_SKIP() << "kernel cannot run 32-bit programs (no IA32 emulation)";
    }
    ASSERT_EQ(r.exec_errno, 0) << "exec " << probe << ": " << errno_name(r.exec_errno);
    EXPECT_EQ(r.status, 0) << n.name << ":\n" << r.output;
  }
}

}  // namespace
}  // namespace edutest
