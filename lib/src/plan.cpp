#include "edu/plan.hpp"

#include <algorithm>

namespace edu {

CopyPath choose_path(std::size_t length, CopyPath requested, std::size_t threshold) noexcept {
  if (requested != CopyPath::automatic) return requested;
  return length <= threshold ? CopyPath::staging : CopyPath::pinned;
}

std::vector<Chunk> plan_chunks(std::uint64_t total, std::uint64_t chunk) {
  std::vector<Chunk> out;
  if (total == 0) return out;
  chunk = std::max<std::uint64_t>(chunk, 1);
  out.reserve(static_cast<std::size_t>((total + chunk - 1) / chunk));
  for (std::uint64_t off = 0; off < total; off += chunk)
    out.push_back({off, std::min(chunk, total - off)});
  return out;
}

std::vector<Chunk> split_for_devices(std::uint64_t total, std::uint64_t window,
                                     std::size_t devices) {
  std::vector<Chunk> out;
  if (devices == 0) return out;
  window = std::max<std::uint64_t>(window, 1);
  // Give each device floor(W/d) windows and the first W%d devices one more:
  // the busiest device then does ceil(W/d) transfers, the minimum possible.
  const std::uint64_t windows = dma_transfers(total, window);
  const std::uint64_t base = windows / devices;
  const std::uint64_t extra = windows % devices;
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < devices; ++i) {
    const std::uint64_t n = base + (i < extra ? 1 : 0);
    const std::uint64_t length = std::min(n * window, total - offset);
    out.push_back({offset, length});
    offset += length;
  }
  return out;
}

}  // namespace edu
