// TerminationSignals: the runner survives a reader that went away.
#include "termination.hpp"

#include <array>
#include <cerrno>
#include <csignal>

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace edulab {
namespace {

// Regression: vm.runner.guest-oops once ended with exit 141 and no verdict,
// the runner killed by SIGPIPE writing to a QEMU socket as the guest died.
TEST(TerminationSignals, AWriteToAGoneReaderIsEpipeNotDeath) {
  std::array<int, 2> fds{};
  ASSERT_EQ(::pipe(fds.data()), 0);
  ::close(fds[0]);
  {
    TerminationSignals signals;
    const char byte = 'x';
    errno = 0;
    EXPECT_EQ(::write(fds[1], &byte, 1), -1);  // without the fix: killed here
    EXPECT_EQ(errno, EPIPE);
  }
  struct sigaction now {};
  ASSERT_EQ(::sigaction(SIGPIPE, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, SIG_DFL)  // NOLINT(cppcoreguidelines-pro-type-union-access)
      << "the previous disposition is restored";
  ::close(fds[1]);
}

TEST(TerminationSignals, ChildrenStartWithTheDefaultSigpipe) {
  TerminationSignals signals;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    TerminationSignals::unblock_in_child();
    struct sigaction now {};
    ::sigaction(SIGPIPE, nullptr, &now);
    ::_exit(now.sa_handler == SIG_DFL ? 0 : 1);  // NOLINT(cppcoreguidelines-pro-type-union-access)
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "a child (QEMU) inherited an ignored SIGPIPE";
}

}  // namespace
}  // namespace edulab
