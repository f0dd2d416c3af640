#include "termination.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <system_error>

#include <sys/signalfd.h>
#include <unistd.h>

#include <pthread.h>

namespace edulab {

namespace {

sigset_t termination_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

// The disposition of SIGPIPE before the runner ignored it (one runner per
// process: TerminationSignals lives in main()).
struct sigaction& saved_sigpipe() {
  static struct sigaction saved {};
  return saved;
}

}  // namespace

TerminationSignals::TerminationSignals() {
  const sigset_t set = termination_set();
  if (const int err = ::pthread_sigmask(SIG_BLOCK, &set, &old_mask_); err != 0) {
    throw std::system_error(err, std::generic_category(), "pthread_sigmask");
  }
  fd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "signalfd");
  // A peer that goes away (QEMU's sockets as the guest dies, a closed
  // stdout pipe) must cost the writer an EPIPE, which it handles, not the
  // runner's life and with it the verdict (killed by SIGPIPE: exit 141).
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;  // NOLINT(cppcoreguidelines-pro-type-union-access)
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, &saved_sigpipe());
}

TerminationSignals::~TerminationSignals() {
  ::close(fd_);
  ::sigaction(SIGPIPE, &saved_sigpipe(), nullptr);
  ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

std::optional<int> TerminationSignals::take() const {
  signalfd_siginfo info{};
  for (;;) {
    const ssize_t n = ::read(fd_, &info, sizeof(info));
    if (n == static_cast<ssize_t>(sizeof(info))) return static_cast<int>(info.ssi_signo);
    if (n < 0 && errno == EINTR) continue;
    return std::nullopt;
  }
}

void TerminationSignals::unblock_in_child() {
  const sigset_t set = termination_set();
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  // An ignored signal stays ignored across exec: QEMU starts with SIGPIPE's
  // default disposition, as without the runner.
  ::signal(SIGPIPE, SIG_DFL);
}

void TerminationSignals::reraise(int sig) {
  ::signal(sig, SIG_DFL);
  const sigset_t set = termination_set();
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(sig);
  std::_Exit(128 + sig);  // not reached: the default action ends us
}

}  // namespace edulab
