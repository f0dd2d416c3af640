// An in-process emulation of the edu driver for host unit tests.
//
// The test binary defines ioctl(), pread(), pwrite() and close() itself; for files
// registered here (regular files standing in for /dev/eduN) they emulate the
// driver as docs/uapi.md describes it, for every other descriptor they are
// the real system calls. libedu is linked statically into the test binary, so
// its calls resolve to these definitions. mmap of the staging buffer and
// poll() work natively on the regular file (the file content is the staging
// buffer; a regular file is always readable, so asynchronous operations look
// finished at once).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "edu/types.hpp"

namespace edutest {

/// State of one emulated device.
struct FakeEduState {
  std::uint32_t index = 0;
  std::uint32_t window = 4095;
  std::uint32_t staging_size = 16384;
  std::vector<std::byte> buffer = std::vector<std::byte>(4096);  ///< device DMA buffer
  edu::Counters counters;
  std::vector<std::uint64_t> transfers;   ///< length of every device DMA transfer
  std::vector<std::uint64_t> user_calls;  ///< length of every EDU_IOC_DMA_USER call
  std::vector<std::uint32_t> wait_flags;  ///< flags of every synchronous DMA_STAGING / FACTORIAL
  int staging_ioctls = 0;                 ///< EDU_IOC_DMA_STAGING calls
  int rw_calls = 0;                       ///< pread/pwrite calls
  int fail_next_errno = 0;                ///< next ioctl fails with this errno (once)
  int fail_after_calls = -1;              ///< DMA ioctls to allow before failing with fail_errno
  int fail_errno = 0;
  int async_status = 0;  ///< status of the next asynchronous completion
  struct Pending {
    std::uint32_t op;
    std::int32_t status;
    std::uint64_t result;
  };
  /// Finished async op of each open file (by descriptor), as the driver
  /// keeps one per file; dropped when the descriptor is closed.
  std::map<int, Pending> pending;
  int closes = 0;  ///< descriptors of this device closed
  std::mutex mutex;
};

/// Registers @p node (a regular file, grown to the staging size) as an
/// emulated device; unregistered on destruction.
class FakeEdu {
 public:
  FakeEdu(const std::filesystem::path& node, std::uint32_t index);
  FakeEdu(const FakeEdu&) = delete;
  FakeEdu& operator=(const FakeEdu&) = delete;
  ~FakeEdu();

  /// The emulated device (lock state().mutex when threads may be running).
  [[nodiscard]] FakeEduState& state() noexcept { return *state_; }

 private:
  std::shared_ptr<FakeEduState> state_;
};

}  // namespace edutest
