// labdma-model-bench: the device model's own speed, with no guest in the way
// (QEMU under -accel qtest, the benchmark is the driver). It measures, in one
// run on one machine:
//  - the host's memcpy bandwidth over the same buffer sizes (the physical
//    limit: a DMA copy reads and writes every byte as memcpy does);
//  - the model's COPY rate for 1 MiB descriptors with no bandwidth limit,
//    and its ratio to that memcpy (datasheet 10: "as fast as the host
//    copies"; target >= 0.4);
//  - the time per descriptor for 64-byte COPY descriptors (the model's
//    fixed cost: fetch, checks, write-back, bottom-half scheduling);
//  - CRC32C throughput.
// Wall-clock times include the qtest round trips that poll HEAD; each
// figure is the best of --repeat runs. Writes one JSON document.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "qtest_client.hpp"

namespace {

using labtest::PciConfig;
using labtest::Qtest;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kBar0 = 0xe0000000;
constexpr unsigned kSlot = 4;
constexpr std::uint64_t kRing = 0x100000;  // 4096 entries x 32 bytes = 128 KiB
constexpr std::uint64_t kSrc = 0x1000000;  // 16 MiB
constexpr std::uint64_t kDst = 0x9000000;  // 144 MiB
constexpr std::uint32_t kCopy = 1, kCrc32c = 5;

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

class ModelBench {
 public:
  ModelBench(const std::string& qemu, std::uint64_t span)
      : qt_(qemu, {"-machine", "q35", "-m", "512M", "-device",
                   "labdma,id=ld,addr=" + std::to_string(kSlot)}) {
    PciConfig cfg(qt_, 0, kSlot, 0);
    cfg.write32(0x10, static_cast<std::uint32_t>(kBar0));
    cfg.write32(0x14, 0);
    cfg.write16(0x04, 0x0006);
    qt_.writel(kBar0 + 0x010, 1);  // ENABLE
    qt_.writel(kBar0 + 0x1000 + 0x00, static_cast<std::uint32_t>(kRing));
    qt_.writel(kBar0 + 0x1000 + 0x08, 4096);
    qt_.writel(kBar0 + 0x1000 + 0x14, 1);  // RUN
    qt_.memset(kSrc, span, 0x5a);
  }

  // Runs @count descriptors of @op, each @len bytes, walking @span bytes of
  // source and destination; returns the wall-clock seconds they took.
  double run(std::uint32_t op, std::uint32_t len, std::uint32_t count, std::uint64_t span) {
    std::vector<std::uint8_t> raw;
    raw.reserve(std::size_t{32} * count);
    const std::uint64_t stride = std::max<std::uint64_t>(len, 64);
    for (std::uint32_t i = 0; i < count; ++i) {
      const std::uint64_t off = (i * stride) % span;
      const std::uint64_t src = kSrc + off;
      const std::uint64_t dst = op == kCrc32c ? 0 : kDst + off;
      auto le = [&raw](std::uint64_t v, unsigned bytes) {
        for (unsigned b = 0; b < bytes; ++b)
          raw.push_back(static_cast<std::uint8_t>(v >> (8 * b)));
      };
      le(src, 8);
      le(dst, 8);
      le(len, 4);
      le(op, 2);
      le(0, 2);
      le(0, 8);
    }
    // The ring restarts at 0 for every run: a channel reset clears HEAD/TAIL.
    qt_.writel(kBar0 + 0x1000 + 0x14, 1U << 2);
    qt_.writel(kBar0 + 0x1000 + 0x14, 1);
    qt_.memwrite(kRing, raw);
    const auto t0 = Clock::now();
    qt_.writel(kBar0 + 0x1000 + 0x0c, count);  // TAIL: go
    while (qt_.readl(kBar0 + 0x1000 + 0x10) != count) {
      const std::uint32_t st = qt_.readl(kBar0 + 0x1000 + 0x18);
      if ((st & 3U) == 2) throw std::runtime_error("labdma halted: status " + std::to_string(st));
    }
    return seconds(Clock::now() - t0);
  }

 private:
  Qtest qt_;
};

// memcpy over the same sizes: @len-byte pieces walking @span bytes.
double host_memcpy(std::uint32_t len, std::uint32_t count, std::uint64_t span) {
  std::vector<std::uint8_t> src(span, 0x5a);
  std::vector<std::uint8_t> dst(span, 0);
  const auto t0 = Clock::now();
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint64_t off = (std::uint64_t{i} * len) % span;
    std::memcpy(dst.data() + off, src.data() + off, len);
  }
  const double t = seconds(Clock::now() - t0);
  // keep the copies observable
  if (dst[span / 2] != 0x5a) throw std::runtime_error("memcpy went wrong");
  return t;
}

int run(int argc, char** argv) {
  CLI::App app{"labdma-model-bench: the labdma device model's raw speed under qtest"};
  const char* env_qemu = std::getenv("LABDMA_QEMU");
  std::string qemu = env_qemu != nullptr ? env_qemu : "";
  std::string out;
  unsigned repeat = 5;
  std::uint64_t span_mib = 64;
  app.add_option("--qemu", qemu, "the lab's qemu-system-x86_64 (default: $LABDMA_QEMU)");
  app.add_option("--json", out, "write the results here");
  app.add_option("--repeat", repeat, "runs per figure (the best counts)")->check(CLI::Range(1, 50));
  app.add_option("--span", span_mib, "MiB of source and destination walked")
      ->check(CLI::Range(1, 96));
  CLI11_PARSE(app, argc, argv);
  if (qemu.empty()) {
    std::cerr << "labdma-model-bench: no QEMU (--qemu or LABDMA_QEMU)\n";
    return 2;
  }
  try {
    const std::uint64_t span = span_mib << 20;
    constexpr std::uint32_t kBig = 1U << 20;
    const auto big_count = static_cast<std::uint32_t>(span / kBig) * 2;  // each byte twice
    constexpr std::uint32_t kSmall = 64;
    constexpr std::uint32_t kSmallCount = 4095;

    ModelBench bench(qemu, span);
    double copy = 1e9;
    double crc = 1e9;
    double small = 1e9;
    double memcpy_big = 1e9;
    for (unsigned r = 0; r < repeat; ++r) {
      memcpy_big = std::min(memcpy_big, host_memcpy(kBig, big_count, span));
      copy = std::min(copy, bench.run(kCopy, kBig, big_count, span));
      crc = std::min(crc, bench.run(kCrc32c, kBig, big_count, span));
      small = std::min(small, bench.run(kCopy, kSmall, kSmallCount, span));
    }
    const double bytes = double{kBig} * big_count;
    const double memcpy_gbps = bytes / memcpy_big / 1e9;
    const double copy_gbps = bytes / copy / 1e9;
    const double ratio = copy_gbps / memcpy_gbps;
    const nlohmann::json j{
        {"benchmark", "labdma-model"},
        {"repeat", repeat},
        {"span_bytes", span},
        {"host_memcpy", {{"piece_bytes", kBig}, {"bytes", bytes}, {"gbps", memcpy_gbps}}},
        {"copy",
         {{"desc_bytes", kBig},
          {"descs", big_count},
          {"gbps", copy_gbps},
          {"ratio_to_memcpy", ratio},
          {"target_ratio", 0.4},
          {"target_met", ratio >= 0.4}}},
        {"crc32c", {{"desc_bytes", kBig}, {"descs", big_count}, {"gbps", bytes / crc / 1e9}}},
        {"small_copy",
         {{"desc_bytes", kSmall},
          {"descs", kSmallCount},
          {"ns_per_desc", small / kSmallCount * 1e9},
          {"descs_per_s", kSmallCount / small}}},
    };
    std::cout << "labdma model (qtest, best of " << repeat << "):\n"
              << "  host memcpy            " << memcpy_gbps << " GB/s\n"
              << "  COPY, 1 MiB desc       " << copy_gbps << " GB/s = " << ratio
              << " x memcpy (target >= 0.4: " << (ratio >= 0.4 ? "met" : "NOT met") << ")\n"
              << "  CRC32C, 1 MiB desc     " << bytes / crc / 1e9 << " GB/s\n"
              << "  COPY, 64-byte desc     " << small / kSmallCount * 1e9 << " ns per descriptor\n";
    if (!out.empty()) std::ofstream(out) << j.dump(2) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "labdma-model-bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (...) {
    return 1;
  }
}
