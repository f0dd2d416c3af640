#include "eductl/app.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <set>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "edu/error.hpp"
#include "edu/runtime.hpp"
#include "eductl/output.hpp"

namespace eductl {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

/// An error of eductl itself (not of the library), with its exit class.
class CommandError : public edu::Error {
 public:
  CommandError(edu::errc code, std::string what, std::string hint)
      : edu::Error(edu::make_error_code(code), std::move(what), std::move(hint)) {}
};

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::system_category(), what);
}

/// An input or output file; "-" is the given standard descriptor (not owned).
class File {
 public:
  File(const std::string& name, bool output, int std_fd) : name_(name) {
    if (name == "-") {
      fd_ = std_fd;
      name_ = output ? "stdout" : "stdin";
      return;
    }
    const int flags = output ? (O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC);
    fd_ = ::open(name.c_str(), flags, 0644);
    if (fd_ < 0) throw_errno("open " + name);
    owned_ = true;
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() {
    if (owned_) ::close(fd_);
  }

  /// Size of a regular file; nullopt for pipes and terminals.
  [[nodiscard]] std::optional<std::uint64_t> size() const {
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode))
      return static_cast<std::uint64_t>(st.st_size);
    return std::nullopt;
  }

  /// Reads until @p buf is full or end of file; returns bytes read.
  std::size_t read_full(std::span<std::byte> buf) {
    std::size_t done = 0;
    while (done < buf.size()) {
      const ssize_t n = ::read(fd_, buf.data() + done, buf.size() - done);
      if (n == 0) break;
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno("read " + name_);
      }
      done += static_cast<std::size_t>(n);
    }
    return done;
  }

  void write_all(std::span<const std::byte> buf) {
    std::size_t done = 0;
    while (done < buf.size()) {
      const ssize_t n = ::write(fd_, buf.data() + done, buf.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno("write " + name_);
      }
      done += static_cast<std::size_t>(n);
    }
  }

  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  int fd_ = -1;
  bool owned_ = false;
};

const edu::Device& select_device(edu::Runtime& rt, const Command& cmd) {
  return cmd.device ? rt.device_by_index(*cmd.device) : rt.device(0);
}

void emit(const Environment& env, const json& j) {
  *env.out << j.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
}

std::int64_t nanos(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

int cmd_list(const Command& cmd, const Environment& env) {
  const edu::Discovery d = edu::discover(env.discovery);
  if (cmd.json) {
    json j = envelope(cmd.verb);
    j["devices"] = json::array();
    for (const auto& info : d.visible)
      j["devices"].push_back(device_json(info));
    j["present"] = d.present;
    j["visible_filter"] = d.filter ? json(*d.filter) : json(nullptr);
    emit(env, j);
  } else {
    *env.out << list_text(d.visible, d.present, d.filter);
  }
  return 0;
}

int cmd_info(const Command& cmd, const Environment& env, const edu::Device& dev) {
  if (cmd.json) {
    json j = envelope(cmd.verb);
    j["device"] = device_json(dev.info());
    j["identity"] = identity_json(dev.identity());
    emit(env, j);
  } else {
    *env.out << info_text(dev.info(), dev.identity());
  }
  return 0;
}

int cmd_stats(const Command& cmd, const Environment& env, const edu::Device& dev) {
  const edu::Counters c = dev.counters();
  if (cmd.json) {
    json j = envelope(cmd.verb);
    j["device"] = dev.index();
    j["counters"] = counters_json(c);
    emit(env, j);
  } else {
    *env.out << counters_text(c);
  }
  return 0;
}

int cmd_fact(const Command& cmd, const Environment& env, const edu::Device& dev) {
  const std::chrono::milliseconds timeout{cmd.timeout_ms};
  const auto t0 = Clock::now();
  std::uint64_t result = 0;
  if (cmd.async) {
    edu::AsyncOp op = edu::factorial_async(dev, cmd.n, timeout);
    result = op.get();  // poll(2)-driven: waits until the file is readable
  } else {
    result = dev.factorial(cmd.n, cmd.wait, timeout);
  }
  const auto elapsed = Clock::now() - t0;
  if (cmd.json) {
    json j = envelope(cmd.verb);
    j["device"] = dev.index();
    j["input"] = cmd.n;
    j["result"] = result;
    j["wait_mode"] = cmd.async ? "async" : std::string(edu::to_string(cmd.wait));
    j["async"] = cmd.async;
    j["elapsed_ns"] = nanos(elapsed);
    emit(env, j);
  } else {
    *env.out << cmd.n << "! mod 2^32 = " << result << '\n';
  }
  return 0;
}

int cmd_live(const Command& cmd, const Environment& env, const edu::Device& dev) {
  const std::uint32_t inverted = dev.driver().liveness(cmd.value);
  const bool ok = inverted == static_cast<std::uint32_t>(~cmd.value);
  if (cmd.json) {
    json j = envelope(cmd.verb);
    j["device"] = dev.index();
    j["value"] = cmd.value;
    j["inverted"] = inverted;
    j["expected"] = static_cast<std::uint32_t>(~cmd.value);
    j["ok"] = ok;
    emit(env, j);
  } else if (ok) {
    *env.out << "alive: wrote " << hex32(cmd.value) << ", read " << hex32(inverted) << '\n';
  }
  if (!ok) {
    *env.err << "eductl: liveness check on " << dev.driver().path() << ": wrote "
             << hex32(cmd.value) << ", read " << hex32(inverted) << ", expected "
             << hex32(~cmd.value) << " — the device is not answering correctly; check `dmesg`\n";
    return static_cast<int>(Exit::failed);
  }
  return 0;
}

int cmd_irq(const Command& cmd, const Environment& env, const edu::Device& dev) {
  const std::uint64_t count = dev.driver().raise_irq(cmd.irq_status);
  if (cmd.json) {
    json j = envelope(cmd.verb);
    j["device"] = dev.index();
    j["status"] = cmd.irq_status;
    j["irq_count"] = count;
    emit(env, j);
  } else {
    *env.out << "interrupt " << hex32(cmd.irq_status) << " handled; device interrupt count "
             << count << '\n';
  }
  return 0;
}

edu::CopyOptions copy_options(const Command& cmd) {
  edu::CopyOptions o;
  o.path = cmd.path;
  return o;
}

json transfer_json(const Command& cmd, const edu::Device& dev, const edu::CopyResult& r) {
  json j = envelope(cmd.verb);
  j["device"] = dev.index();
  j["offset"] = cmd.offset;
  j["length"] = r.bytes;
  j["path"] = edu::to_string(r.path);
  j["dma_transfers"] = r.dma_transfers;
  j["elapsed_ns"] = r.elapsed.count();
  return j;
}

int cmd_write(const Command& cmd, const Environment& env, const edu::Device& dev) {
  const std::uint64_t window = dev.dma_window();
  if (cmd.offset >= window)
    throw CommandError(edu::errc::out_of_window, "write at offset " + std::to_string(cmd.offset),
                       "the DMA window of " + dev.driver().path() + " is " +
                           std::to_string(window) + " bytes; offsets must be below it");
  const std::uint64_t room = window - cmd.offset;
  File in(cmd.input, false, env.stdin_fd);
  // Read one byte more than fits, to tell "fits exactly" from "too long".
  std::vector<std::byte> data(static_cast<std::size_t>(cmd.length.value_or(room) + 1));
  const std::size_t got = in.read_full(data);
  if (cmd.length) {
    if (*cmd.length > room)
      throw CommandError(
          edu::errc::out_of_window,
          "write " + std::to_string(*cmd.length) + " bytes at offset " + std::to_string(cmd.offset),
          "only " + std::to_string(room) + " bytes of the " + std::to_string(window) +
              "-byte DMA window are left there");
    if (got < *cmd.length)
      throw CommandError(edu::errc::bad_argument, "write " + std::to_string(*cmd.length) + " bytes",
                         in.name() + " has only " + std::to_string(got) + " bytes");
    data.resize(static_cast<std::size_t>(*cmd.length));
  } else {
    if (got > room)
      throw CommandError(edu::errc::out_of_window, "write " + in.name(),
                         "it is longer than the " + std::to_string(room) +
                             " bytes left in the DMA window at offset " +
                             std::to_string(cmd.offset) + "; pass --length or use `copy`");
    data.resize(got);
  }
  if (data.empty())
    throw CommandError(edu::errc::bad_argument, "write " + in.name(), "the input is empty");
  const edu::CopyResult r = edu::copy_to_device(dev, cmd.offset, data, copy_options(cmd));
  if (cmd.json) {
    json j = transfer_json(cmd, dev, r);
    j["input"] = cmd.input;
    emit(env, j);
  } else {
    *env.err << "wrote " << r.bytes << " bytes at offset " << cmd.offset << " ("
             << edu::to_string(r.path) << " path)\n";
  }
  return 0;
}

int cmd_read(const Command& cmd, const Environment& env, const edu::Device& dev) {
  const std::uint64_t window = dev.dma_window();
  if (cmd.offset >= window)
    throw CommandError(edu::errc::out_of_window, "read at offset " + std::to_string(cmd.offset),
                       "the DMA window of " + dev.driver().path() + " is " +
                           std::to_string(window) + " bytes; offsets must be below it");
  const std::uint64_t length = cmd.length.value_or(window - cmd.offset);
  std::vector<std::byte> data(static_cast<std::size_t>(length));
  const edu::CopyResult r = edu::copy_from_device(dev, cmd.offset, data, copy_options(cmd));
  const bool to_stdout = cmd.output == "-";
  if (!(cmd.json && to_stdout)) {
    File out(cmd.output, true, env.stdout_fd);
    out.write_all(data);
  }
  if (cmd.json) {
    json j = transfer_json(cmd, dev, r);
    j["output"] = to_stdout ? json(nullptr) : json(cmd.output);
    if (to_stdout) j["data_hex"] = to_hex(data);
    emit(env, j);
  }
  return 0;
}

int cmd_copy(const Command& cmd, const Environment& env, edu::Runtime& rt) {
  File in(cmd.input, false, env.stdin_fd);
  File out(cmd.output, true, env.stdout_fd);
  std::vector<const edu::Device*> devices;
  if (cmd.all_devices) {
    for (std::size_t i = 0; i < rt.device_count(); ++i)
      devices.push_back(&rt.device(i));
    if (devices.empty()) (void)rt.device(0);  // throws "no device" with its hint
  } else {
    devices.push_back(&select_device(rt, cmd));
  }

  const std::optional<std::uint64_t> total = in.size();
  const bool draw = cmd.progress == Progress::always ||
                    (cmd.progress == Progress::automatic && env.stderr_is_tty);
  const auto t0 = Clock::now();
  auto last_draw = t0 - std::chrono::seconds(1);
  std::uint64_t copied = 0;
  auto draw_progress = [&](std::uint64_t done, bool force) {
    const auto now = Clock::now();
    if (!force && now - last_draw < std::chrono::milliseconds(200)) return;
    last_draw = now;
    *env.err << format_progress(done, total, now - t0) << std::flush;
  };

  edu::CopyOptions opts = copy_options(cmd);
  if (draw)
    opts.progress = [&](std::uint64_t done, std::uint64_t) { draw_progress(copied + done, false); };

  std::vector<std::byte> src(static_cast<std::size_t>(cmd.block_size));
  std::vector<std::byte> dst(src.size());
  std::set<std::string> paths;
  std::uint64_t transfers = 0;
  for (;;) {
    const std::size_t n = in.read_full(src);
    if (n == 0) break;
    const std::span<const std::byte> s(src.data(), n);
    const std::span<std::byte> d(dst.data(), n);
    if (cmd.all_devices) {
      const edu::MultiCopyResult r = edu::copy_through_all(rt, s, d, opts);
      for (const auto& slice : r.slices) {
        paths.insert(edu::to_string(slice.copy.path));
        transfers += slice.copy.dma_transfers;
      }
    } else {
      const edu::CopyResult r = edu::copy_through(*devices.front(), s, d, opts);
      paths.insert(edu::to_string(r.path));
      transfers += r.dma_transfers;
    }
    out.write_all(d);
    copied += n;
    if (draw) draw_progress(copied, true);
    if (n < src.size()) break;  // end of input
  }
  const auto elapsed = Clock::now() - t0;
  if (draw) *env.err << '\n';
  const double secs = std::chrono::duration<double>(elapsed).count();
  const double rate = secs > 0 ? static_cast<double>(copied) / secs : 0.0;
  if (cmd.json) {
    json j = envelope(cmd.verb);
    j["devices"] = json::array();
    for (const auto* dev : devices)
      j["devices"].push_back(dev->index());
    j["input"] = cmd.input;
    j["output"] = cmd.output;
    j["bytes"] = copied;
    j["requested_path"] = edu::to_string(cmd.path);
    j["paths_used"] = std::vector<std::string>(paths.begin(), paths.end());
    j["dma_transfers"] = transfers;
    j["elapsed_ns"] = nanos(elapsed);
    j["bytes_per_second"] = rate;
    emit(env, j);
  } else if (cmd.output != "-" || !draw) {
    *env.err << fmt::format("copied {} bytes in {:.2f} s ({}/s)\n", copied, secs,
                            format_bytes(rate));
  }
  return 0;
}

int cmd_reg(const Command& cmd, const Environment& env, const edu::Device& dev) {
  std::uint64_t value = cmd.reg_value;
  if (cmd.verb == Verb::reg_read)
    value = dev.driver().reg_read(cmd.reg_offset, cmd.reg_width);
  else
    dev.driver().reg_write(cmd.reg_offset, cmd.reg_value, cmd.reg_width);
  if (cmd.json) {
    json j = envelope(cmd.verb);
    j["device"] = dev.index();
    j["offset"] = cmd.reg_offset;
    j["width"] = cmd.reg_width;
    j["value"] = value;
    emit(env, j);
  } else if (cmd.verb == Verb::reg_read) {
    *env.out << fmt::format("{:#06x}: {:#0{}x}\n", cmd.reg_offset, value, 2 + 2 * cmd.reg_width);
  }
  return 0;
}

}  // namespace

int run(const Command& cmd, const Environment& env) {
  try {
    if (cmd.verb == Verb::list) return cmd_list(cmd, env);
    edu::Runtime rt(env.discovery);
    if (cmd.verb == Verb::copy) return cmd_copy(cmd, env, rt);
    const edu::Device& dev = select_device(rt, cmd);
    switch (cmd.verb) {
      case Verb::info:
        return cmd_info(cmd, env, dev);
      case Verb::stats:
        return cmd_stats(cmd, env, dev);
      case Verb::fact:
        return cmd_fact(cmd, env, dev);
      case Verb::live:
        return cmd_live(cmd, env, dev);
      case Verb::irq:
        return cmd_irq(cmd, env, dev);
      case Verb::write:
        return cmd_write(cmd, env, dev);
      case Verb::read:
        return cmd_read(cmd, env, dev);
      case Verb::reg_read:
      case Verb::reg_write:
        return cmd_reg(cmd, env, dev);
      case Verb::list:
      case Verb::copy:
        break;
    }
    return 0;
  } catch (const std::exception& e) {
    const ErrorReport r = classify(e);
    *env.err << error_line(r) << '\n' << std::flush;
    if (cmd.json) emit(env, error_json(r, cmd.verb));
    return r.exit_code;
  }
}

int main_entry(int argc, char** argv) {
  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  const ParseResult parsed = parse_command_line(args, std::cout, std::cerr);
  if (!parsed.command) return parsed.exit_code;
  Environment env;
  env.discovery = edu::DiscoveryOptions::from_environment();
  env.out = &std::cout;
  env.err = &std::cerr;
  env.stderr_is_tty = ::isatty(STDERR_FILENO) == 1;
  std::ios::sync_with_stdio(true);
  return run(*parsed.command, env);
}

}  // namespace eductl
