#include "termination.hpp"

#include <cerrno>
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

}  // namespace

TerminationSignals::TerminationSignals() {
  const sigset_t set = termination_set();
  if (const int err = ::pthread_sigmask(SIG_BLOCK, &set, &old_mask_); err != 0) {
    throw std::system_error(err, std::generic_category(), "pthread_sigmask");
  }
  fd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "signalfd");
}

TerminationSignals::~TerminationSignals() {
  ::close(fd_);
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
}

void TerminationSignals::reraise(int sig) {
  ::signal(sig, SIG_DFL);
  const sigset_t set = termination_set();
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(sig);
  std::_Exit(128 + sig);  // not reached: the default action ends us
}

}  // namespace edulab
