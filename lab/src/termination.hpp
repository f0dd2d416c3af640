// The signals that end a run (SIGINT, SIGTERM, SIGHUP), turned into an event
// the session loop polls instead of an asynchronous handler: they are blocked
// from the start of main() and read from a signalfd, so a signal that arrives
// while the initramfs is being written is seen as soon as the loop runs, and
// every path out of the runner removes its work directory before the signal
// is re-raised.
#pragma once

#include <csignal>
#include <optional>

namespace edulab {

class TerminationSignals {
 public:
  TerminationSignals();
  TerminationSignals(const TerminationSignals&) = delete;
  TerminationSignals& operator=(const TerminationSignals&) = delete;
  ~TerminationSignals();

  // Readable when one of the signals is pending.
  [[nodiscard]] int fd() const { return fd_; }
  // The pending signal, if any (consumes it).
  [[nodiscard]] std::optional<int> take() const;

  // In a forked child before exec: the signal mask survives exec, QEMU must
  // not start with SIGINT/SIGTERM blocked.
  static void unblock_in_child();
  // Restores the default disposition and delivers sig to ourselves, so the
  // caller's shell sees "killed by SIGINT" (status 130), as it would without
  // the runner in between.
  [[noreturn]] static void reraise(int sig);

 private:
  int fd_ = -1;
  sigset_t old_mask_{};
};

}  // namespace edulab
