// Which accelerator a run uses. KVM only where it really works: on some hosts
// /dev/kvm opens and QEMU accepts -accel kvm, yet a guest never gets past the
// firmware (a nested host; see PLATFORM_NOTES). `auto` therefore boots a tiny
// probe guest under KVM once per host kernel, QEMU binary and guest kernel,
// caches the answer, and falls back to TCG with a one-line notice.
#pragma once

#include <filesystem>
#include <string>

#include "initramfs.hpp"
#include "options.hpp"

namespace edulab {

struct AccelChoice {
  std::string accel;   // "tcg" or "kvm": what QEMU gets with -accel
  std::string notice;  // one line for stderr, or empty
};

// The probe's answer is cached in cache_dir (one file per key). The probe is
// abandoned, uncached, when stop_fd becomes readable (the runner's
// termination signalfd: the caller then handles the signal).
AccelChoice choose_accel(const RunOptions& o, const Stage& stage,
                         const std::filesystem::path& cache_dir, int stop_fd,
                         unsigned probe_timeout_s = 30);

// The default cache directory: $EDULAB_CACHE/accel, else ~/.cache/edulab/accel.
std::filesystem::path default_accel_cache();

}  // namespace edulab
