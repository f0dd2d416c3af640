// What the runtime contract suite (runtime_contract_test.cpp) runs against.
// The host unit tests provide an in-process emulation of the driver
// (tests/unit/lib/fake_edu.hpp); the guest tests provide edu.ko itself. The
// same tests in both places keep the emulation honest: a behaviour it gets
// wrong fails on the host, one the driver gets wrong fails in the guest.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "edu/edu.hpp"

namespace educontract {

/// Devices for one test: at least two, with a 4095-byte DMA window and a
/// 16 KiB staging buffer (what QEMU's edu and edu.ko give).
class Target {
 public:
  Target() = default;
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;
  Target(Target&&) = delete;
  Target& operator=(Target&&) = delete;
  virtual ~Target() = default;

  /// A runtime over every device of the target.
  [[nodiscard]] virtual edu::Runtime& runtime() = 0;
  /// "fake" or "edu.ko", for messages.
  [[nodiscard]] virtual std::string name() const = 0;
  /// How long a stress test may run here (the emulation is ~100x faster).
  [[nodiscard]] virtual std::chrono::milliseconds stress_budget() const = 0;
};

/// Defined once per test binary.
[[nodiscard]] std::unique_ptr<Target> make_target();

}  // namespace educontract
