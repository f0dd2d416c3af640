#include "edu-bench/bench.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <latch>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include <sys/utsname.h>
#include <unistd.h>

#include <fmt/format.h>

#include "edu-bench/buffers.hpp"
#include "edu-bench/raw_mmio.hpp"
#include "edu-bench/stats.hpp"
#include "edu/edu.hpp"

#ifndef EDU_BENCH_VERSION
#define EDU_BENCH_VERSION "unknown"
#endif

namespace edubench {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::int64_t ns_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
}

template <typename F>
std::int64_t time_ns(F&& f) {
  const auto t0 = Clock::now();
  std::forward<F>(f)();
  return ns_since(t0);
}

std::vector<double> as_double(const std::vector<std::int64_t>& v) {
  return {v.begin(), v.end()};
}

std::uint32_t expected_factorial(std::uint32_t n) {
  std::uint32_t r = 1;
  for (std::uint32_t i = 2; i <= n; ++i)
    r *= i;
  return r;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf.data();
}

std::string first_line(const char* path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

// The accelerator QEMU runs the guest with, as the lab runner tells the guest
// (lab.accel= on the kernel command line); "unknown" outside the lab.
std::string accelerator() {
  std::istringstream cmdline(first_line("/proc/cmdline"));
  for (std::string word; cmdline >> word;) {
    if (word.starts_with("lab.accel=")) return word.substr(10);
  }
  return "unknown";
}

json host_json() {
  utsname u{};
  if (uname(&u) != 0) return json::object();
  // The clock every sample is taken with (a TSC read, or on QEMU with
  // unsynchronised vCPU TSCs an emulated HPET read costing about a microsecond).
  return json{{"sysname", u.sysname},
              {"nodename", u.nodename},
              {"release", u.release},
              {"machine", u.machine},
              {"hardware_threads", std::thread::hardware_concurrency()},
              {"accelerator", accelerator()},
              {"clocksource",
               first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource")}};
}

/// Errors and skips collected while running.
struct Log {
  json skipped = json::array();
  json errors = json::array();

  void skip(const std::string& section, const std::string& reason) {
    skipped.push_back({{"section", section}, {"reason", reason}});
  }
  void error(const std::string& section, const std::exception& e) {
    json j{{"section", section}, {"message", e.what()}};
    if (const auto* se = dynamic_cast<const std::system_error*>(&e)) {
      j["category"] = se->code().category().name();
      j["value"] = se->code().value();
    }
    errors.push_back(j);
  }
};

/// Runs @p body, recording an exception under @p section instead of propagating.
template <typename F>
void guarded(Log& log, const std::string& section, F&& body) {
  try {
    std::forward<F>(body)();
  } catch (const std::exception& e) {
    log.error(section, e);
  }
}

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  std::uint32_t x = 0x9E3779B9U * (seed + 1);
  for (auto& b : v) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::byte>(x & 0xFF);
  }
  return v;
}

// ------------------------------------------------------------- sections

json dma_section(const BenchOptions& o, const edu::Device& dev, Log& log) {
  json out = json::array();
  const edu::drv::Device& drv = dev.driver();
  const std::uint32_t window = dev.dma_window();
  auto buf = pattern(window, 1);
  std::vector<std::byte> back(window);
  const json driver_buffer{{"kind", "driver_coherent"}};

  auto series = [&](const std::string& path, const std::string& dir, std::uint64_t payload,
                    std::uint64_t engine, const json& buffer, const std::function<void()>& op) {
    guarded(log, "dma/" + path + "/" + dir, [&] {
      op();  // warm-up: maps, pins and faults in everything once
      std::vector<std::int64_t> samples;
      samples.reserve(o.dma_samples);
      const edu::Counters before = drv.stats();
      for (std::size_t i = 0; i < o.dma_samples; ++i)
        samples.push_back(time_ns(op));
      const edu::Counters after = drv.stats();
      json j = throughput_json(path, dir, payload, engine, window, samples, o.max_raw_samples);
      // What the device really did (the driver counts every transfer): a
      // pinned buffer that is not DMA-contiguous costs extra transfers.
      const auto n = static_cast<double>(o.dma_samples);
      j["device_dma_ops_per_op"] = static_cast<double>(after.dma_ops - before.dma_ops) / n;
      j["device_dma_bytes_per_op"] = static_cast<double>(after.dma_bytes - before.dma_bytes) / n;
      j["buffer"] = buffer;
      out.push_back(j);
    });
  };

  // pwrite/pread: the driver's bounce buffer.
  series("read_write", "to_device", window, window, driver_buffer, [&] {
    if (drv.pwrite(buf, 0) != window) throw std::runtime_error("short pwrite");
  });
  series("read_write", "from_device", window, window, driver_buffer, [&] {
    if (drv.pread(back, 0) != window) throw std::runtime_error("short pread");
  });

  // mmap'd staging buffer + EDU_IOC_DMA_STAGING (CPU copy included).
  guarded(log, "dma/staging", [&] {
    edu::drv::Device file = dev.open_file();
    edu::drv::StagingMapping map = file.map_staging();
    series("staging", "to_device", window, window, driver_buffer, [&] {
      std::memcpy(map.data(), buf.data(), window);
      file.dma_staging(edu::Direction::to_device, 0, 0, window);
    });
    series("staging", "from_device", window, window, driver_buffer, [&] {
      file.dma_staging(edu::Direction::from_device, 0, 0, window);
      std::memcpy(back.data(), map.data(), window);
    });
  });

  // Pinned user pages: EDU_IOC_DMA_USER, once on buffers that transparent
  // huge pages make physically contiguous ("pinned": one device transfer per
  // window), once on ordinary heap buffers ("pinned_heap": windows that
  // straddle non-adjacent pages cost two transfers).
  const std::uint64_t payload = std::uint64_t{window} * o.loopback_windows;
  auto pinned_series = [&](const std::string& path, std::span<std::byte> to,
                           std::span<std::byte> from, std::span<std::byte> src,
                           std::span<std::byte> dst, const json& buffer) {
    std::memcpy(to.data(), buf.data(), window);
    const auto p = pattern(static_cast<std::size_t>(payload), 2);
    std::memcpy(src.data(), p.data(), p.size());
    series(path, "to_device", window, window, buffer, [&] {
      if (drv.dma_to_device(to, 0) != window) throw std::runtime_error("short pinned DMA");
    });
    series(path, "from_device", window, window, buffer, [&] {
      if (drv.dma_from_device(from, 0) != window) throw std::runtime_error("short pinned DMA");
    });
    series(path, "loopback", payload, 2 * payload, buffer, [&] {
      if (drv.dma_loopback(src, dst) != src.size()) throw std::runtime_error("short loopback");
    });
    if (!out.empty() && out.back().value("direction", "") == "loopback" &&
        out.back().value("path", "") == path)
      out.back()["verified"] = std::equal(src.begin(), src.end(), dst.begin(), dst.end());
  };
  guarded(log, "dma/pinned", [&] {
    // One huge page (or more for long loopbacks): window buffers at 0 and
    // 64 KiB, loopback source and destination after them, page-aligned.
    constexpr std::size_t kSlot = std::size_t{64} << 10;
    const auto lb = static_cast<std::size_t>((payload + kSlot - 1) / kSlot * kSlot);
    const HugeBuffer hb = HugeBuffer::allocate(2 * kSlot + 2 * lb);
    const json desc = hb.describe(2 * kSlot + 2 * lb);
    pinned_series("pinned", hb.slice(0, window), hb.slice(kSlot, window),
                  hb.slice(2 * kSlot, payload), hb.slice(2 * kSlot + lb, payload), desc);
  });
  guarded(log, "dma/pinned_heap", [&] {
    std::vector<std::byte> to(window);
    std::vector<std::byte> from(window);
    std::vector<std::byte> src(payload);
    std::vector<std::byte> dst(payload);
    const auto contiguous = [](const std::vector<std::byte>& v) {
      const auto c = physically_contiguous(v.data(), v.size());
      return c ? json(*c) : json(nullptr);
    };
    const json desc{{"kind", "heap"},
                    {"physically_contiguous",
                     {{"to_device", contiguous(to)},
                      {"from_device", contiguous(from)},
                      {"loopback_src", contiguous(src)},
                      {"loopback_dst", contiguous(dst)}}}};
    pinned_series("pinned_heap", to, from, src, dst, desc);
  });
  return out;
}

json scaling_section(const BenchOptions& o, edu::Runtime& rt, Log& log) {
  json out{{"entries", json::array()}};
  const std::size_t n = std::min<std::size_t>(o.max_devices, rt.device_count());
  if (n < 2)
    log.skip("scaling", fmt::format("only {} device(s) visible: measured 1 device only", n));
  double base_rate = 0;
  for (std::size_t k = 1; k <= n; ++k) {
    guarded(log, fmt::format("scaling/{}", k), [&] {
      struct Worker {
        edu::drv::Device file;
        HugeBuffer memory;  // one huge page per device: contiguous windows
        std::span<std::byte> src, dst;
      };
      std::vector<Worker> workers;
      std::uint64_t window = 0;
      for (std::size_t i = 0; i < k; ++i) {
        const edu::Device& d = rt.device(i);
        window = window == 0 ? d.dma_window() : std::min<std::uint64_t>(window, d.dma_window());
        workers.push_back({d.open_file(), {}, {}, {}});
      }
      const std::uint64_t payload = window * o.loopback_windows;
      const auto len = static_cast<std::size_t>(payload);
      const std::size_t half =
          (len + kHugePageSize / 2 - 1) / (kHugePageSize / 2) * (kHugePageSize / 2);
      json buffers = json::array();
      for (std::size_t i = 0; i < k; ++i) {
        Worker& w = workers[i];
        w.memory = HugeBuffer::allocate(2 * half);
        w.src = w.memory.slice(0, len);
        w.dst = w.memory.slice(half, len);
        const auto p = pattern(len, static_cast<unsigned>(i));
        std::memcpy(w.src.data(), p.data(), len);
        buffers.push_back(w.memory.describe(half + len));
      }
      auto round = [&] {
        std::vector<std::exception_ptr> errs(k);
        {
          std::vector<std::jthread> threads;
          for (std::size_t i = 0; i < k; ++i)
            threads.emplace_back([&, i] {
              try {
                (void)workers[i].file.dma_loopback(workers[i].src, workers[i].dst);
              } catch (...) {
                errs[i] = std::current_exception();
              }
            });
        }
        for (auto& e : errs)
          if (e) std::rethrow_exception(e);
      };
      std::vector<std::int64_t> samples;
      for (std::size_t s = 0; s < o.dma_samples; ++s)
        samples.push_back(time_ns(round));
      const Summary sum = summarize(as_double(samples));
      const double secs = sum.p50 / 1e9;
      const double engine_rate = static_cast<double>(2 * payload * k) / secs;
      const double payload_rate = static_cast<double>(payload * k) / secs;
      const double limit = device_limit_bytes_per_second(static_cast<std::uint32_t>(window)) *
                           static_cast<double>(k);
      if (k == 1) base_rate = payload_rate;
      bool verified = true;
      for (const auto& w : workers)
        verified = verified && std::equal(w.src.begin(), w.src.end(), w.dst.begin(), w.dst.end());
      json devices = json::array();
      for (std::size_t i = 0; i < k; ++i)
        devices.push_back(rt.device(i).index());
      out["entries"].push_back(
          {{"devices", k},
           {"device_indices", devices},
           {"payload_bytes_per_device", payload},
           {"engine_bytes_per_device", 2 * payload},
           {"samples_ns", cap_samples(samples, o.max_raw_samples)},
           {"samples_total", samples.size()},
           {"summary_ns", to_json(sum)},
           {"payload_bytes_per_second", number_or_null(payload_rate)},
           {"engine_bytes_per_second", number_or_null(engine_rate)},
           {"limit_bytes_per_second", limit},
           {"ratio_to_limit", number_or_null(engine_rate / limit)},
           {"speedup_vs_1_device", base_rate > 0 ? payload_rate / base_rate : 0.0},
           {"verified", verified},
           {"buffers", buffers}});
    });
  }
  return out;
}

json latency_section(const BenchOptions& o, const edu::Device* dev, Log& log) {
  json series = json::array();
  const std::uint32_t n = o.factorial_n;
  const std::uint32_t want = expected_factorial(n);

  // Every series is measured in o.latency_rounds interleaved rounds (raw,
  // irq, poll, ..., raw, irq, poll, ...), so that slow drifts of the host
  // (QEMU's threads share its cores with everything else) hit every mode
  // alike instead of whichever series ran at the time.
  struct Series {
    std::string op;
    std::string mode;
    std::function<std::uint32_t()> f;
    std::uint32_t expect = 0;
    std::vector<std::int64_t> samples;
    std::size_t wrong = 0;
    bool failed = false;
  };
  std::vector<Series> list;
  auto add = [&](std::string op, std::string mode, std::function<std::uint32_t()> f,
                 std::uint32_t expect) {
    list.push_back({std::move(op), std::move(mode), std::move(f), expect, {}, 0, false});
    list.back().samples.reserve(o.latency_samples);
  };

  std::optional<RawMmio> raw;
  if (o.raw_device) {
    guarded(log, "latency/raw_mmio", [&] {
      raw.emplace(RawMmio::open(*o.raw_device));
      add(
          "factorial", "raw_mmio_spin", [&] { return raw->factorial(n); }, want);
      constexpr std::uint32_t v = 0x13579BDFU;
      add(
          "liveness", "raw_mmio", [&] { return raw->liveness(v); }, ~v);
    });
  } else {
    log.skip("latency/raw_mmio",
             "no --raw-device BDF given (an edu device not bound to the driver)");
  }
  std::optional<edu::drv::Device> async_file;
  if (dev != nullptr) {
    const edu::drv::Device& drv = dev->driver();
    for (edu::WaitMode m : {edu::WaitMode::irq, edu::WaitMode::poll, edu::WaitMode::hybrid,
                            edu::WaitMode::driver_default})
      add(
          "factorial", std::string(edu::to_string(m)), [&drv, m, n] { return drv.factorial(n, m); },
          want);
    guarded(log, "latency/factorial/async", [&] {
      async_file.emplace(dev->open_file());
      add(
          "factorial", "async_poll",
          [&] {
            async_file->start_factorial(n);
            (void)async_file->poll(std::chrono::milliseconds{-1});
            const edu::drv::Completion c = async_file->complete();
            if (!c.ok()) throw edu::make_error(c.error(), "async factorial", edu::Context::async);
            return static_cast<std::uint32_t>(c.result);
          },
          want);
    });
    // Liveness is a register write + read in the ioctl: no wait mode applies.
    constexpr std::uint32_t v = 0x2468ACE0U;
    add(
        "liveness", "none", [&drv] { return drv.liveness(v); }, ~v);
  }

  const std::size_t rounds =
      std::clamp<std::size_t>(o.latency_rounds, 1, std::max<std::size_t>(o.latency_samples, 1));
  for (std::size_t r = 0; r < rounds; ++r) {
    const std::size_t count = o.latency_samples * (r + 1) / rounds - o.latency_samples * r / rounds;
    for (Series& s : list) {
      if (s.failed) continue;
      try {
        const std::size_t warm = r == 0 ? o.warmup : std::min<std::size_t>(o.warmup, 3);
        for (std::size_t i = 0; i < warm; ++i)
          (void)s.f();
        for (std::size_t i = 0; i < count; ++i) {
          std::uint32_t got = 0;
          s.samples.push_back(time_ns([&] { got = s.f(); }));
          if (got != s.expect) ++s.wrong;
        }
      } catch (const std::exception& e) {
        log.error("latency/" + s.op + "/" + s.mode, e);
        s.failed = true;
      }
    }
  }
  for (const Series& s : list) {
    if (s.failed) continue;
    json j = latency_json(s.op, s.mode, s.samples, o.max_raw_samples);
    j["wrong_results"] = s.wrong;
    j["rounds"] = rounds;
    if (s.op == "factorial") j["n"] = n;
    series.push_back(j);
  }

  // Driver vs raw MMIO ratios (p50 and p99), per operation and wait mode.
  json ratios = json::array();
  for (const auto& base : series) {
    const std::string mode = base.value("wait_mode", "");
    if (mode.rfind("raw_mmio", 0) != 0) continue;
    for (const auto& s : series) {
      if (s.value("operation", "") != base.value("operation", "") ||
          s.value("wait_mode", "").rfind("raw_mmio", 0) == 0)
        continue;
      auto num = [](const json& v) {
        return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN();
      };
      const double rp50 = num(base["summary_ns"]["p50"]);
      const double rp99 = num(base["summary_ns"]["p99"]);
      ratios.push_back({{"operation", s["operation"]},
                        {"wait_mode", s["wait_mode"]},
                        {"baseline", mode},
                        {"p50_ratio", number_or_null(num(s["summary_ns"]["p50"]) / rp50)},
                        {"p99_ratio", number_or_null(num(s["summary_ns"]["p99"]) / rp99)}});
    }
  }
  return json{{"series", series}, {"vs_raw_mmio", ratios}};
}

json contention_section(const BenchOptions& o, const edu::Device& dev, Log& log) {
  json entries = json::array();
  const std::uint32_t n = o.factorial_n;
  for (unsigned threads : o.thread_counts) {
    guarded(log, fmt::format("contention/{}", threads), [&] {
      std::vector<edu::drv::Device> files;
      for (unsigned t = 0; t < threads; ++t)
        files.push_back(dev.open_file());
      std::vector<std::vector<std::int64_t>> lat(threads);
      std::vector<std::exception_ptr> errs(threads);
      std::latch start(static_cast<std::ptrdiff_t>(threads) + 1);
      const auto duration = o.contention_duration;
      Clock::time_point t0;
      {
        std::vector<std::jthread> pool;
        for (unsigned t = 0; t < threads; ++t)
          pool.emplace_back([&, t] {
            start.arrive_and_wait();
            const auto deadline = Clock::now() + duration;
            try {
              while (Clock::now() < deadline)
                lat[t].push_back(time_ns([&] { (void)files[t].factorial(n); }));
            } catch (...) {
              errs[t] = std::current_exception();
            }
          });
        t0 = Clock::now();
        start.arrive_and_wait();
      }
      const std::int64_t wall = ns_since(t0);
      for (auto& e : errs)
        if (e) std::rethrow_exception(e);
      std::vector<std::int64_t> all;
      json per_thread = json::array();
      for (const auto& v : lat) {
        per_thread.push_back(v.size());
        all.insert(all.end(), v.begin(), v.end());
      }
      json j = latency_json("factorial", "default", all, o.max_raw_samples);
      j["threads"] = threads;
      j["wall_ns"] = wall;
      j["operations"] = all.size();
      j["ops_per_second"] = static_cast<double>(all.size()) / (static_cast<double>(wall) / 1e9);
      j["ops_per_thread"] = per_thread;
      entries.push_back(j);
    });
  }
  if (!entries.empty()) {
    const double base = entries.front()["ops_per_second"].get<double>();
    for (auto& e : entries)
      e["throughput_vs_first"] = base > 0 ? e["ops_per_second"].get<double>() / base : 0.0;
  }
  return json{{"device", dev.index()}, {"n", n}, {"entries", entries}};
}

json device_entry(const edu::Device& d) {
  const auto& id = d.identity();
  return json{{"index", d.index()},
              {"path", d.driver().path()},
              {"pci_address", d.info().pci_address},
              {"id_register", id.id_register},
              {"irq_mode", std::string(edu::to_string(id.irq_mode))},
              {"dma_mask_bits", id.dma_mask_bits},
              {"dma_window", id.dma_window},
              {"staging_size", id.staging_size},
              {"caps", id.caps.names()},
              {"limit_bytes_per_second", device_limit_bytes_per_second(id.dma_window)}};
}

}  // namespace

double device_limit_bytes_per_second(std::uint32_t dma_window) noexcept {
  return static_cast<double>(dma_window) /
         std::chrono::duration<double>(edu::kDmaTransferTime).count();
}

std::vector<std::int64_t> cap_samples(const std::vector<std::int64_t>& samples, std::size_t max) {
  if (samples.size() <= max) return samples;
  std::vector<std::int64_t> out;
  if (max == 0) return out;
  out.reserve(max);
  const double stride = static_cast<double>(samples.size()) / static_cast<double>(max);
  for (std::size_t i = 0; i < max; ++i)
    out.push_back(samples[static_cast<std::size_t>(static_cast<double>(i) * stride)]);
  return out;
}

json throughput_json(const std::string& path, const std::string& direction,
                     std::uint64_t payload_bytes, std::uint64_t engine_bytes,
                     std::uint32_t dma_window, const std::vector<std::int64_t>& samples_ns,
                     std::size_t max_raw) {
  const Summary s = summarize(as_double(samples_ns));
  const double secs = s.p50 / 1e9;
  const double payload_rate = static_cast<double>(payload_bytes) / secs;
  const double engine_rate = static_cast<double>(engine_bytes) / secs;
  const double limit = device_limit_bytes_per_second(dma_window);
  return json{{"path", path},
              {"direction", direction},
              {"payload_bytes_per_op", payload_bytes},
              {"engine_bytes_per_op", engine_bytes},
              {"dma_transfers_per_op", edu::dma_transfers(engine_bytes, dma_window)},
              {"samples_ns", cap_samples(samples_ns, max_raw)},
              {"samples_total", samples_ns.size()},
              {"summary_ns", to_json(s)},
              {"payload_bytes_per_second", number_or_null(payload_rate)},
              {"engine_bytes_per_second", number_or_null(engine_rate)},
              {"limit_bytes_per_second", limit},
              {"ratio_to_limit", number_or_null(engine_rate / limit)}};
}

json latency_json(const std::string& operation, const std::string& wait_mode,
                  const std::vector<std::int64_t>& samples_ns, std::size_t max_raw) {
  return json{{"operation", operation},
              {"wait_mode", wait_mode},
              {"samples_ns", cap_samples(samples_ns, max_raw)},
              {"samples_total", samples_ns.size()},
              {"summary_ns", to_json(summarize(as_double(samples_ns)))}};
}

json definitions() {
  return json{
      {"time_unit", "ns; wall time from std::chrono::steady_clock around the system call(s)"},
      {"summary",
       "count, min, max, mean, stddev (n-1), p50/p90/p99 (linear interpolation between closest "
       "ranks, numpy default), iqr = p75 - p25, cv = stddev / mean; null when undefined"},
      {"samples_ns",
       "raw samples, evenly subsampled to options.max_raw_samples if more; "
       "samples_total is the full count the summary uses"},
      {"limit_bytes_per_second",
       "device limit per direction: dma_window bytes per 100 ms (one DMA transfer, any size, "
       "takes 100 ms of virtual time)"},
      {"engine_bytes",
       "bytes moved by the device DMA engine; a loopback moves each payload byte "
       "twice (to and from the device), sequentially on one engine"},
      {"dma_transfers_per_op",
       "the minimum number of device transfers: ceil(engine_bytes / "
       "dma_window)"},
      {"device_dma_ops_per_op",
       "transfers the driver actually issued per operation (EDU_IOC_STATS dma_ops delta / "
       "samples; assumes nobody else uses the device meanwhile). Above dma_transfers_per_op "
       "when a pinned user buffer is not DMA-contiguous (no IOMMU): chunks split at page "
       "boundaries"},
      {"ratio_to_limit",
       "engine_bytes_per_second / limit_bytes_per_second, throughputs from the "
       "median (p50) duration; 1.0 = the device never idles"},
      {"dma.path",
       "read_write = pwrite/pread via the driver's bounce buffer; staging = memcpy into "
       "the mmap'd staging buffer + EDU_IOC_DMA_STAGING; pinned = EDU_IOC_DMA_USER on "
       "pinned user pages of a 2 MiB-aligned MADV_HUGEPAGE buffer (physically contiguous "
       "when transparent huge pages are enabled: one transfer per window); pinned_heap = the "
       "same on ordinary heap buffers (4 KiB pages: a window straddling non-adjacent pages "
       "costs two transfers without an IOMMU)"},
      {"dma.buffer",
       "host memory the device DMAs to/from: driver_coherent (bounce/staging buffer of the "
       "driver), thp (see memory.thp_enabled; physically_contiguous from /proc/self/pagemap, "
       "null when PFNs are not readable), heap"},
      {"memory.thp_enabled", "/sys/kernel/mm/transparent_hugepage/enabled during the run"},
      {"scaling",
       "k threads, each a pinned loopback of loopback_windows windows on its own device "
       "(buffers in transparent huge pages), started together; a sample is the wall time until "
       "all finished"},
      {"latency.wait_mode",
       "irq/poll/hybrid/default = EDU_WAIT_* of a synchronous EDU_IOC_FACTORIAL; async_poll = "
       "EDU_OP_ASYNC + poll(2) + EDU_IOC_COMPLETE; none = liveness ioctl (no wait); raw_mmio_spin "
       "/ raw_mmio = user-space MMIO on an unbound device (sysfs resource0, O_SYNC), spinning on "
       "the status register"},
      {"vs_raw_mmio", "driver percentile / raw MMIO percentile of the same operation"},
      {"latency.rounds",
       "the series are measured interleaved, in options.latency_rounds rounds of "
       "latency_samples / rounds operations each (warm-up before every round), so that "
       "host-load drift affects every series alike"},
      {"contention",
       "N threads, each with its own open file of one device, synchronous "
       "factorials (default wait mode) for contention_ms; ops_per_second over the "
       "measured wall time"}};
}

BenchReport run_bench(const BenchOptions& o, const edu::DiscoveryOptions& discovery) {
  BenchReport report;
  Log log;
  const auto t0 = Clock::now();
  json doc{{"schema", kSchema},
           {"tool", {{"name", "edu-bench"}, {"version", EDU_BENCH_VERSION}}},
           {"started_at", utc_now()},
           {"host", host_json()},
           {"options", to_json(o)},
           {"definitions", definitions()},
           {"memory", {{"page_size", ::sysconf(_SC_PAGESIZE)}, {"thp_enabled", thp_setting()}}},
           {"devices", json::array()},
           {"results", json::object()}};

  std::unique_ptr<edu::Runtime> rt;
  const edu::Device* dev = nullptr;
  try {
    rt = std::make_unique<edu::Runtime>(discovery);
    dev = o.device ? &rt->device_by_index(*o.device) : &rt->device(0);
    for (std::size_t i = 0; i < rt->device_count(); ++i)
      doc["devices"].push_back(device_entry(rt->device(i)));
  } catch (const std::exception& e) {
    log.skip("devices", e.what());  // no device is a skip, not a failure of a section
    dev = nullptr;
  }

  auto wants = [&](Section s) {
    const bool yes = o.sections.contains(s);
    if (yes) std::clog << "edu-bench: " << to_string(s) << "...\n" << std::flush;
    return yes;
  };
  const std::string no_dev = "no usable edu device (see the \"devices\" skip)";
  if (wants(Section::dma)) {
    if (dev != nullptr)
      guarded(log, "dma", [&] { doc["results"]["dma"] = dma_section(o, *dev, log); });
    else
      log.skip("dma", no_dev);
  }
  if (wants(Section::scaling)) {
    if (dev != nullptr)
      guarded(log, "scaling", [&] { doc["results"]["scaling"] = scaling_section(o, *rt, log); });
    else
      log.skip("scaling", no_dev);
  }
  if (wants(Section::latency)) {
    if (dev == nullptr) log.skip("latency/driver", no_dev);
    guarded(log, "latency", [&] { doc["results"]["latency"] = latency_section(o, dev, log); });
  }
  if (wants(Section::contention)) {
    if (dev != nullptr)
      guarded(log, "contention",
              [&] { doc["results"]["contention"] = contention_section(o, *dev, log); });
    else
      log.skip("contention", no_dev);
  }

  doc["duration_s"] = std::chrono::duration<double>(Clock::now() - t0).count();
  doc["skipped"] = log.skipped;
  doc["errors"] = log.errors;
  const bool raw_ran = o.raw_device.has_value() && o.sections.contains(Section::latency);
  if (dev == nullptr && !raw_ran)
    report.exit_code = 3;
  else if (!log.errors.empty())
    report.exit_code = 1;
  report.document = std::move(doc);
  return report;
}

}  // namespace edubench
