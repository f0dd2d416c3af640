// Exit statuses of the VM runner; documented in `run_qemu.sh --help` and README.
#pragma once

namespace edulab {

inline constexpr int kExitMissingResult = 120;
inline constexpr int kExitBootFailure = 121;
inline constexpr int kExitGuestOops = 122;
inline constexpr int kExitQemuCrash = 123;
inline constexpr int kExitTimeout = 124;
inline constexpr int kExitRunnerError = 125;

}  // namespace edulab
