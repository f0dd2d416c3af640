// Asynchronous operations in a poll(2) loop: several factorials in flight at
// once (each AsyncOp has its own open file), plus an asynchronous DMA read.
#include <array>
#include <cstdio>
#include <vector>

#include <poll.h>

#include <edu/edu.hpp>

int main() {
  try {
    const edu::Device& dev = edu::default_device();
    if (!dev.identity().caps.has(edu::Cap::async)) {
      std::fprintf(stderr,
                   "edu-example-async: the driver does not offer asynchronous operations\n");
      return 1;
    }

    std::vector<edu::AsyncOp> ops;
    for (std::uint32_t n = 1; n <= 4; ++n)
      ops.push_back(edu::factorial_async(dev, n));
    std::array<std::byte, 64> buf{};
    ops.push_back(edu::copy_from_device_async(dev, 0, buf));

    // A user's own event loop: wait on all descriptors, collect what is ready.
    std::size_t pending = ops.size();
    while (pending > 0) {
      std::vector<pollfd> fds;
      fds.reserve(ops.size());
      for (const auto& op : ops)
        fds.push_back({op.fd(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) return 1;
      for (std::size_t i = 0; i < ops.size(); ++i) {
        if (fds[i].revents == 0 || !ops[i].valid()) continue;
        if (!ops[i].ready()) continue;
        const std::uint64_t result = ops[i].get();  // throws if the operation failed
        if (ops[i].kind() == edu::AsyncOp::Kind::factorial)
          std::printf("op %zu: factorial = %llu\n", i, static_cast<unsigned long long>(result));
        else
          std::printf("op %zu: read %llu bytes from the device buffer\n", i,
                      static_cast<unsigned long long>(result));
        ops[i] = edu::AsyncOp{};  // done: release its file
        --pending;
      }
      std::erase_if(ops, [](const edu::AsyncOp& op) { return !op.valid(); });
    }
    return 0;
  } catch (const edu::Error& e) {
    std::fprintf(stderr, "edu-example-async: %s\n", e.what());
    return 1;
  }
}
