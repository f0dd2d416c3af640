// lab-exec: runs a program with every signal at its default disposition and
// none blocked.
//
// lab-session (PID 1) starts the interactive shell in the background, so that
// it can take poweroff's signal while the shell runs; a shell without job
// control starts background jobs with SIGINT and SIGQUIT ignored, and an
// ignored signal stays ignored across exec: Ctrl-C would stop nothing in the
// lab shell. `setsid lab-exec cttyhack sh -l &` gives the shell a clean slate.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include <unistd.h>

#include <pthread.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: lab-exec PROGRAM [ARGS...]\n");
    return 2;
  }
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) std::signal(sig, SIG_DFL);  // NOLINT: a plain reset
  }
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
  execvp(argv[1], argv + 1);  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic): argv
  // NOLINTNEXTLINE(concurrency-mt-unsafe): one thread
  std::fprintf(stderr, "lab-exec: %s: %s\n", argv[1], std::strerror(errno));
  return 127;
}
