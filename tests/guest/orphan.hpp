// The "orphaned file" scenario shared by the unbind and hot-unplug tests:
// files are open, a mapping exists and operations are in flight when the
// PCI device goes away (docs/uapi.md, "Files").
#pragma once

#include <cstdint>
#include <future>
#include <memory>
#include <string>

#include "edu_test_util.hpp"

namespace edutest {

class OrphanScenario {
 public:
  // Opens files on n, maps its staging buffer and starts the in-flight
  // operations: a long DMA_USER loopback, a blocking COMPLETE waiting for
  // a slow asynchronous factorial, a poll() waiting for readability. Both
  // must still run when the removal comes: size them for its latency.
  OrphanScenario(const EduNode& n, std::uint32_t slow_input, std::uint64_t loopback_len);
  ~OrphanScenario();
  OrphanScenario(const OrphanScenario&) = delete;
  OrphanScenario& operator=(const OrphanScenario&) = delete;

  // After removal (seen complete at removed): the in-flight calls must
  // return with an error within timeout. The asynchronous factorial may
  // have finished on its own before the removal on a fast host; then the
  // COMPLETE wake-up is reported as not exercised instead.
  void expect_waiters_woken(std::chrono::milliseconds timeout,
                            std::chrono::steady_clock::time_point removed);
  void expect_orphaned();
  // close succeeds.
  void close_all();

 private:
  struct Shared;
  std::shared_ptr<Shared> s_;
};

// Every operation on fd fails with -ENODEV; poll reports POLLERR|POLLHUP.
void expect_all_enodev(int fd);

}  // namespace edutest
