// Runtime API: devices, copies of any size, asynchronous operations.
#include "edu/runtime.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include <poll.h>
#include <sys/file.h>

#include "edu/error.hpp"

namespace edu {

using Clock = std::chrono::steady_clock;

// ------------------------------------------------------------------ Device

/// Open files (with their staging mappings) of finished asynchronous
/// operations, kept for the next one. Shared with the AsyncOps, which may
/// outlive their Device.
class FilePool {
 public:
  struct Entry {
    drv::Device file;
    drv::StagingMapping staging;  // empty until a DMA operation mapped it
  };

  std::optional<Entry> take() {
    std::lock_guard lock(mutex_);
    if (idle_.empty()) return std::nullopt;
    Entry e = std::move(idle_.back());
    idle_.pop_back();
    return e;
  }

  /// Keeps @p e unless the pool is full (then it is closed).
  void give(Entry e) noexcept {
    std::lock_guard lock(mutex_);
    if (idle_.size() < kAsyncFilePoolSize) idle_.push_back(std::move(e));  // reserved: no throw
  }

  std::size_t size() {
    std::lock_guard lock(mutex_);
    return idle_.size();
  }

  FilePool() { idle_.reserve(kAsyncFilePoolSize); }

 private:
  std::mutex mutex_;
  std::vector<Entry> idle_;
};

struct Device::Impl {
  DeviceInfo info;
  drv::Device file;
  drv::Identity id;
  std::mutex staging_mutex;     // guards staging and the staging-path sequences
  drv::StagingMapping staging;  // mapped on first use
  // copy_through()'s use of the device buffer as scratch, between threads:
  // flock(2) excludes per open file description, and the threads share one.
  // Lock order: staging_mutex, then loopback_mutex, then the flock.
  std::mutex loopback_mutex;
  std::shared_ptr<FilePool> pool = std::make_shared<FilePool>();

  /// The staging buffer, mapped on first use. Caller holds staging_mutex.
  std::span<std::byte> staging_bytes() {
    if (staging.empty()) staging = file.map_staging(id.staging_size);
    return staging.bytes();
  }
};

/// Grants the free functions of this file access to Device internals.
struct DeviceAccess {
  static Device::Impl& impl(const Device& d) { return *d.impl_; }
};

Device::Device(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Device::Device(Device&&) noexcept = default;
Device& Device::operator=(Device&&) noexcept = default;
Device::~Device() = default;

Device Device::open(const DeviceInfo& info) {
  auto impl = std::make_unique<Impl>();
  impl->info = info;
  impl->file = drv::Device::open(info.dev_path);
  impl->id = impl->file.identify();
  return Device(std::move(impl));
}

const DeviceInfo& Device::info() const noexcept {
  return impl_->info;
}
const drv::Identity& Device::identity() const noexcept {
  return impl_->id;
}
unsigned Device::index() const noexcept {
  return impl_->info.index;
}
std::uint32_t Device::dma_window() const noexcept {
  return impl_->id.dma_window;
}
const drv::Device& Device::driver() const noexcept {
  return impl_->file;
}
Counters Device::counters() const {
  return impl_->file.stats();
}

std::uint32_t Device::factorial(std::uint32_t n, WaitMode wait,
                                std::chrono::milliseconds timeout) const {
  return impl_->file.factorial(n, wait, timeout);
}

bool Device::alive(std::uint32_t value) const {
  return impl_->file.liveness(value) == ~value;
}

drv::Device Device::open_file(drv::OpenOptions options) const {
  return drv::Device::open(impl_->info.dev_path, options);
}

std::size_t Device::pooled_files() const {
  return impl_->pool->size();
}

// ----------------------------------------------------------------- Runtime

struct Runtime::Impl {
  DiscoveryOptions options;
  mutable std::mutex mutex;  // guards everything below
  Discovery discovery;
  std::vector<std::unique_ptr<Device>> opened;  // by ordinal; null until first use
  // Devices that refresh() found removed: kept so that references handed out
  // by device() stay valid (their operations fail with ENODEV).
  std::vector<std::unique_ptr<Device>> retired;
};

Runtime::Runtime(DiscoveryOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->discovery = discover(impl_->options);
  impl_->opened.resize(impl_->discovery.visible.size());
}

Runtime::Runtime() : Runtime(DiscoveryOptions::from_environment()) {}
Runtime::~Runtime() = default;

std::size_t Runtime::device_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->discovery.visible.size();
}
std::vector<DeviceInfo> Runtime::devices() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->discovery.visible;
}
std::size_t Runtime::present_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->discovery.present;
}
const DiscoveryOptions& Runtime::options() const noexcept {
  return impl_->options;
}

namespace {

[[noreturn]] void throw_no_device(const Discovery& d, const DiscoveryOptions& o,
                                  std::string operation) {
  if (d.present > 0 && d.filter)
    throw Error(make_error_code(errc::device_not_visible), std::move(operation),
                std::string(kVisibleDevicesEnv) + "=\"" + *d.filter + "\" hides all " +
                    std::to_string(d.present) + " present device(s); unset it or fix it");
  throw Error(make_error_code(errc::no_device), std::move(operation),
              "is the driver loaded? try `modprobe edu` (looked in " +
                  (o.sysfs_root / "class" / "edu").string() + ")");
}

/// True if the driver hung up @p dev's file (its PCI device was removed).
bool hung_up(const Device& dev) noexcept {
  pollfd p{};
  p.fd = dev.driver().fd();
  p.events = POLLIN;
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
}

}  // namespace

const Device& Runtime::device(std::size_t ordinal) {
  std::lock_guard lock(impl_->mutex);
  const auto& visible = impl_->discovery.visible;
  if (visible.empty()) throw_no_device(impl_->discovery, impl_->options, "find an edu device");
  if (ordinal >= visible.size())
    throw Error(make_error_code(errc::no_device), "device ordinal " + std::to_string(ordinal),
                "only " + std::to_string(visible.size()) + " device(s) visible: ordinals 0.." +
                    std::to_string(visible.size() - 1) + " (see `eductl list`)");
  auto& slot = impl_->opened[ordinal];
  if (!slot) slot = std::make_unique<Device>(Device::open(visible[ordinal]));
  return *slot;
}

const Device& Runtime::device_by_index(unsigned index) {
  std::optional<std::size_t> ordinal;
  std::optional<std::string> filter;
  {
    std::lock_guard lock(impl_->mutex);
    const auto& visible = impl_->discovery.visible;
    for (std::size_t i = 0; i < visible.size() && !ordinal; ++i)
      if (visible[i].index == index) ordinal = i;
    filter = impl_->discovery.filter;
  }
  if (ordinal) return device(*ordinal);
  const std::string op = "find /dev/edu" + std::to_string(index);
  const auto all = list_devices(impl_->options);
  const bool present = std::any_of(all.begin(), all.end(),
                                   [index](const DeviceInfo& i) { return i.index == index; });
  if (present)
    throw Error(make_error_code(errc::device_not_visible), op,
                std::string(kVisibleDevicesEnv) + "=\"" + filter.value_or("") +
                    "\" hides it; unset it or add " + std::to_string(index));
  if (all.empty()) {
    std::lock_guard lock(impl_->mutex);
    throw_no_device(impl_->discovery, impl_->options, op);
  }
  std::string have;
  for (const auto& i : all)
    have += (have.empty() ? "" : ", ") + std::to_string(i.index);
  throw Error(make_error_code(errc::no_device), op,
              "present device indices: " + have + " (see `eductl list`)");
}

std::vector<DeviceChange> Runtime::refresh() {
  Discovery now = discover(impl_->options);  // sysfs reads outside the lock
  std::lock_guard lock(impl_->mutex);
  auto& old = impl_->discovery.visible;
  // A device is the same one if its index and PCI address match and, when it
  // was opened, the driver did not hang its file up (unplugged and re-added).
  auto same = [](const DeviceInfo& a, const DeviceInfo& b) {
    return a.index == b.index && a.pci_address == b.pci_address;
  };
  std::vector<bool> kept(old.size(), false);             // by old ordinal
  std::vector<bool> carried(now.visible.size(), false);  // by new ordinal
  std::vector<std::unique_ptr<Device>> opened(now.visible.size());
  for (std::size_t i = 0; i < old.size(); ++i) {
    auto& dev = impl_->opened[i];
    if (dev && hung_up(*dev)) continue;
    for (std::size_t j = 0; j < now.visible.size(); ++j) {
      if (carried[j] || !same(old[i], now.visible[j])) continue;
      kept[i] = true;
      carried[j] = true;
      opened[j] = std::move(dev);
      break;
    }
  }
  std::vector<DeviceChange> changes;
  for (std::size_t i = 0; i < old.size(); ++i) {
    if (kept[i]) continue;
    changes.push_back({DeviceChange::Kind::removed, old[i]});
    if (impl_->opened[i]) impl_->retired.push_back(std::move(impl_->opened[i]));
  }
  for (std::size_t j = 0; j < now.visible.size(); ++j)
    if (!carried[j]) changes.push_back({DeviceChange::Kind::added, now.visible[j]});
  impl_->discovery = std::move(now);
  impl_->opened = std::move(opened);
  return changes;
}

Runtime& runtime() {
  static Runtime instance;
  return instance;
}

const Device& default_device() {
  return runtime().device(0);
}

// ------------------------------------------------------------------ Copies

namespace {

/// Exclusive flock(2) on the device node, so cooperating processes do not
/// clobber the device buffer between the two halves of a loopback. Best
/// effort: copies proceed unlocked if the lock cannot be taken.
class NodeLock {
 public:
  explicit NodeLock(int fd) noexcept {
    int r = 0;
    do {
      r = ::flock(fd, LOCK_EX);
    } while (r < 0 && errno == EINTR);
    fd_ = r == 0 ? fd : -1;
  }
  NodeLock(const NodeLock&) = delete;
  NodeLock& operator=(const NodeLock&) = delete;
  ~NodeLock() {
    if (fd_ >= 0) ::flock(fd_, LOCK_UN);
  }

 private:
  int fd_ = -1;
};

/// "copy <n> bytes <preposition> /dev/eduN": built only when an error is
/// thrown, never on the success path.
std::string describe(std::size_t bytes, const char* preposition, const Device& dev) {
  return "copy " + std::to_string(bytes) + " bytes " + preposition + " " + dev.driver().path();
}

template <typename Operation>
void check_range(const Device& dev, std::uint64_t offset, std::uint64_t length,
                 const Operation& op) {
  const std::uint64_t window = dev.dma_window();
  if (offset > window || length > window - offset)
    throw Error(make_error_code(errc::out_of_window), op(),
                "bytes [" + std::to_string(offset) + ", " + std::to_string(offset + length) +
                    ") do not fit the DMA window of " + std::to_string(window) +
                    " bytes; device ranges must lie within [0, " + std::to_string(window) + ")");
}

void report(const CopyOptions& o, std::uint64_t done, std::uint64_t total) {
  if (o.progress) o.progress(done, total);
}

[[noreturn]] void no_progress(const std::string& op) {
  throw Error(make_error_code(errc::short_transfer), op, "check `dmesg` for driver errors");
}

/// One direction between host memory and the device buffer.
template <Direction Dir, typename Span>
CopyResult copy_one_way(const Device& dev, std::uint64_t offset, Span host, const CopyOptions& o) {
  const auto op = [&] {
    return describe(host.size(), Dir == Direction::to_device ? "to" : "from", dev) + " at offset " +
           std::to_string(offset);
  };
  check_range(dev, offset, host.size(), op);
  CopyResult r;
  r.path = choose_path(host.size(), o.path, o.pinned_threshold);
  const auto t0 = Clock::now();
  auto& impl = DeviceAccess::impl(dev);
  const std::uint64_t total = host.size();
  const std::uint64_t window = impl.id.dma_window;
  switch (r.path) {
    case CopyPath::automatic:  // resolved by choose_path
    case CopyPath::staging: {
      if (total == 0) break;
      std::lock_guard lock(impl.staging_mutex);
      const auto st = impl.staging_bytes();
      const std::uint64_t chunk = std::min<std::uint64_t>(window, st.size());
      for (std::uint64_t at = 0; at < total; at += chunk) {  // plan_chunks(), without a vector
        const Chunk c{at, std::min(chunk, total - at)};
        const auto len = static_cast<std::size_t>(c.length);
        if constexpr (Dir == Direction::to_device) {
          std::memcpy(st.data(), host.data() + c.offset, len);
          impl.file.dma_staging(Dir, 0, offset + c.offset, c.length, o.wait);
        } else {
          impl.file.dma_staging(Dir, 0, offset + c.offset, c.length, o.wait);
          std::memcpy(host.data() + c.offset, st.data(), len);
        }
        ++r.dma_transfers;
        r.bytes += c.length;
        report(o, r.bytes, total);
      }
      break;
    }
    case CopyPath::pinned:
    case CopyPath::read_write: {
      // Both paths take any length and return how much moved (short at the
      // window end); only the system call differs.
      const bool pinned = r.path == CopyPath::pinned;
      while (r.bytes < total) {
        const auto rest = host.subspan(r.bytes);
        const std::uint64_t at = offset + r.bytes;
        std::size_t n = 0;
        if constexpr (Dir == Direction::to_device)
          n = pinned ? impl.file.dma_to_device(rest, at) : impl.file.pwrite(rest, at);
        else
          n = pinned ? impl.file.dma_from_device(rest, at) : impl.file.pread(rest, at);
        if (n == 0) no_progress(op());
        r.dma_transfers += dma_transfers(n, window);
        r.bytes += n;
        report(o, r.bytes, total);
      }
      break;
    }
  }
  r.elapsed = Clock::now() - t0;
  return r;
}

}  // namespace

CopyResult copy_to_device(const Device& dev, std::uint64_t offset, std::span<const std::byte> src,
                          const CopyOptions& options) {
  return copy_one_way<Direction::to_device>(dev, offset, src, options);
}

CopyResult copy_from_device(const Device& dev, std::uint64_t offset, std::span<std::byte> dst,
                            const CopyOptions& options) {
  return copy_one_way<Direction::from_device>(dev, offset, dst, options);
}

CopyResult copy_through(const Device& dev, std::span<const std::byte> src, std::span<std::byte> dst,
                        const CopyOptions& o) {
  const auto op = [&] { return describe(src.size(), "through", dev); };
  if (src.size() != dst.size())
    throw Error(make_error_code(errc::size_mismatch), op(),
                "source has " + std::to_string(src.size()) + " bytes, destination " +
                    std::to_string(dst.size()));
  CopyResult r;
  r.path = choose_path(src.size(), o.path, o.pinned_threshold);
  const auto t0 = Clock::now();
  auto& impl = DeviceAccess::impl(dev);
  const std::uint64_t total = src.size();
  const std::uint64_t window = impl.id.dma_window;
  if (window == 0)
    throw Error(make_error_code(errc::out_of_window), op(), "the DMA window is empty");
  switch (r.path) {
    case CopyPath::automatic:
    case CopyPath::staging: {
      if (total == 0) break;
      std::lock_guard lock(impl.staging_mutex);
      const auto st = impl.staging_bytes();
      const std::uint64_t chunk = std::min<std::uint64_t>(window, st.size());
      for (std::uint64_t at = 0; at < total; at += chunk) {  // plan_chunks(), without a vector
        const Chunk c{at, std::min(chunk, total - at)};
        const auto len = static_cast<std::size_t>(c.length);
        std::memcpy(st.data(), src.data() + c.offset, len);
        {
          const std::lock_guard scratch(impl.loopback_mutex);
          const NodeLock node(impl.file.fd());
          impl.file.dma_staging(Direction::to_device, 0, 0, c.length, o.wait);
          impl.file.dma_staging(Direction::from_device, 0, 0, c.length, o.wait);
        }
        std::memcpy(dst.data() + c.offset, st.data(), len);
        r.dma_transfers += 2;
        r.bytes += c.length;
        report(o, r.bytes, total);
      }
      break;
    }
    case CopyPath::pinned: {
      const std::uint64_t per_call =
          o.progress ? kProgressWindowsPerCall * window
                     : std::max<std::uint64_t>(window, kMaxPinnedBytesPerCall / window * window);
      while (r.bytes < total) {
        const auto len = static_cast<std::size_t>(std::min(per_call, total - r.bytes));
        const auto pos = static_cast<std::size_t>(r.bytes);
        // The kernel does a call's pairs under its claim, but the call still
        // overwrites the scratch range between another thread's pair.
        std::size_t n = 0;
        {
          const std::lock_guard scratch(impl.loopback_mutex);
          const NodeLock node(impl.file.fd());
          n = impl.file.dma_loopback(src.subspan(pos, len), dst.subspan(pos, len));
        }
        if (n == 0) no_progress(op());
        r.dma_transfers += 2 * dma_transfers(n, window);
        r.bytes += n;
        report(o, r.bytes, total);
      }
      break;
    }
    case CopyPath::read_write:
      for (std::uint64_t at = 0; at < total; at += window) {
        const Chunk c{at, std::min(window, total - at)};
        const auto pos = static_cast<std::size_t>(c.offset);
        const auto len = static_cast<std::size_t>(c.length);
        const std::lock_guard scratch(impl.loopback_mutex);
        const NodeLock node(impl.file.fd());
        for (std::size_t done = 0; done < len;) {
          const std::size_t n = impl.file.pwrite(src.subspan(pos + done, len - done), done);
          if (n == 0) no_progress(op());
          done += n;
          ++r.dma_transfers;
        }
        for (std::size_t done = 0; done < len;) {
          const std::size_t n = impl.file.pread(dst.subspan(pos + done, len - done), done);
          if (n == 0) no_progress(op());
          done += n;
          ++r.dma_transfers;
        }
        r.bytes += c.length;
        report(o, r.bytes, total);
      }
      break;
  }
  r.elapsed = Clock::now() - t0;
  return r;
}

MultiCopyResult copy_through_all(Runtime& rt, std::span<const std::byte> src,
                                 std::span<std::byte> dst, const CopyOptions& options) {
  if (src.size() != dst.size())
    throw Error(make_error_code(errc::size_mismatch),
                "copy " + std::to_string(src.size()) + " bytes through all devices",
                "source has " + std::to_string(src.size()) + " bytes, destination " +
                    std::to_string(dst.size()));
  const auto t0 = Clock::now();
  const std::size_t count = rt.device_count();
  if (count == 0) (void)rt.device(0);  // throws the "no device" error with its hint

  // Open every device first, so open errors surface here, then split on the
  // smallest window so no device needs more transfers than planned.
  std::vector<const Device*> devs;
  std::uint64_t window = 0;
  for (std::size_t i = 0; i < count; ++i) {
    devs.push_back(&rt.device(i));
    const std::uint64_t w = devs.back()->dma_window();
    window = window == 0 ? w : std::min(window, w);
  }
  const std::vector<Chunk> slices = split_for_devices(src.size(), window, count);

  MultiCopyResult result;
  std::vector<std::size_t> active;
  for (std::size_t i = 0; i < slices.size(); ++i)
    if (slices[i].length > 0) active.push_back(i);
  result.slices.resize(active.size());
  std::vector<std::exception_ptr> errors(active.size());

  std::mutex progress_mutex;
  std::vector<std::uint64_t> done(active.size(), 0);
  const std::uint64_t total = src.size();
  {
    std::vector<std::jthread> workers;
    workers.reserve(active.size());
    for (std::size_t k = 0; k < active.size(); ++k) {
      workers.emplace_back([&, k] {
        const std::size_t i = active[k];
        const Chunk slice = slices[i];
        SliceResult& out = result.slices[k];
        out.device_index = devs[i]->index();
        out.slice = slice;
        CopyOptions mine = options;
        if (options.progress) {
          mine.progress = [&, k](std::uint64_t d, std::uint64_t /*slice_total*/) {
            std::lock_guard lock(progress_mutex);
            done[k] = d;
            std::uint64_t sum = 0;
            for (std::uint64_t v : done)
              sum += v;
            options.progress(sum, total);
          };
        }
        try {
          const auto pos = static_cast<std::size_t>(slice.offset);
          const auto len = static_cast<std::size_t>(slice.length);
          out.copy = copy_through(*devs[i], src.subspan(pos, len), dst.subspan(pos, len), mine);
        } catch (...) {
          errors[k] = std::current_exception();
        }
      });
    }
  }  // jthreads join here
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  result.elapsed = Clock::now() - t0;
  return result;
}

MultiCopyResult copy_through_all(std::span<const std::byte> src, std::span<std::byte> dst,
                                 const CopyOptions& options) {
  return copy_through_all(runtime(), src, dst, options);
}

// ----------------------------------------------------------------- AsyncOp

struct AsyncOp::State {
  Kind kind = Kind::factorial;
  std::uint64_t argument = 0;  // n for factorial, the length for copies
  std::shared_ptr<FilePool> pool;
  FilePool::Entry entry;     // the open file and its staging mapping
  std::span<std::byte> dst;  // from_device: where the data goes
  std::optional<drv::Completion> completion;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  State(State&&) = delete;
  State& operator=(State&&) = delete;
  /// A finished operation's file goes back to the pool; an unfinished one is
  /// closed (the kernel waits for it).
  ~State() {
    if (completion && pool) pool->give(std::move(entry));
  }

  [[nodiscard]] const drv::Device& file() const noexcept { return entry.file; }

  /// What the operation does, for messages (built only on failure).
  [[nodiscard]] std::string operation() const {
    const std::string& path = entry.file.path();
    switch (kind) {
      case Kind::factorial:
        return "factorial(" + std::to_string(argument) + ") on " + path;
      case Kind::to_device:
        return "asynchronous copy " + std::to_string(argument) + " bytes to " + path;
      case Kind::from_device:
        return "asynchronous copy " + std::to_string(argument) + " bytes from " + path;
    }
    return path;
  }

  void finish(const drv::Completion& c) {
    completion = c;
    if (c.ok() && kind == Kind::from_device && !dst.empty())
      std::memcpy(dst.data(), entry.staging.data(), dst.size());
  }
};

/// Grants the factory functions access to AsyncOp internals.
struct AsyncAccess {
  static AsyncOp make(std::unique_ptr<AsyncOp::State> state) {
    AsyncOp op;
    op.state_ = std::move(state);
    return op;
  }
  static AsyncOp::State* state(AsyncOp& op) noexcept { return op.state_.get(); }

  static AsyncOp::State& require(const std::unique_ptr<AsyncOp::State>& s) {
    if (!s)
      throw Error(make_error_code(errc::bad_argument), "use an AsyncOp",
                  "this handle is empty (default-constructed or moved from)");
    return *s;
  }

  /// A file for a new operation: a pooled one, or a fresh one. DMA
  /// operations get the file's staging buffer mapped.
  static std::unique_ptr<AsyncOp::State> new_state(const Device& dev, AsyncOp::Kind kind,
                                                   std::uint64_t argument) {
    const auto& impl = DeviceAccess::impl(dev);
    auto s = std::make_unique<AsyncOp::State>();
    s->kind = kind;
    s->argument = argument;
    s->pool = impl.pool;
    if (auto e = impl.pool->take())
      s->entry = std::move(*e);
    else
      s->entry.file = dev.open_file();
    if (kind != AsyncOp::Kind::factorial && s->entry.staging.empty())
      s->entry.staging = s->entry.file.map_staging(impl.id.staging_size);
    return s;
  }
};

AsyncOp::AsyncOp() noexcept = default;
AsyncOp::AsyncOp(AsyncOp&&) noexcept = default;
AsyncOp& AsyncOp::operator=(AsyncOp&&) noexcept = default;
AsyncOp::~AsyncOp() = default;

bool AsyncOp::valid() const noexcept {
  return static_cast<bool>(state_);
}
AsyncOp::Kind AsyncOp::kind() const noexcept {
  return state_ ? state_->kind : Kind::factorial;
}
int AsyncOp::fd() const noexcept {
  return state_ ? state_->file().fd() : -1;
}

bool AsyncOp::ready() {
  auto& s = AsyncAccess::require(state_);
  if (s.completion) return true;
  if (auto c = s.file().try_complete()) {
    s.finish(*c);
    return true;
  }
  return false;
}

bool AsyncOp::wait_for(std::chrono::milliseconds timeout) {
  auto& s = AsyncAccess::require(state_);
  if (s.completion) return true;
  const drv::PollResult p = s.file().poll(timeout);
  if (!p.readable && !p.hangup) return false;
  s.finish(s.file().complete());
  return true;
}

void AsyncOp::wait() {
  auto& s = AsyncAccess::require(state_);
  if (!s.completion) s.finish(s.file().complete());
  if (!s.completion->ok()) throw make_error(s.completion->error(), s.operation(), Context::async);
}

std::uint64_t AsyncOp::get() {
  wait();
  return state_->completion->result;
}

namespace {

template <typename Operation>
std::size_t check_async_dma(const Device& dev, std::uint64_t offset, std::size_t length,
                            const Operation& op) {
  check_range(dev, offset, length, op);
  const std::size_t cap = std::min<std::size_t>(dev.dma_window(), dev.identity().staging_size);
  if (length == 0 || length > cap)
    throw Error(make_error_code(errc::bad_argument), op(),
                "an asynchronous copy moves 1.." + std::to_string(cap) +
                    " bytes (one DMA transfer); use copy_to_device/copy_from_device otherwise");
  return length;
}

}  // namespace

AsyncOp factorial_async(const Device& dev, std::uint32_t n, std::chrono::milliseconds timeout) {
  auto s = AsyncAccess::new_state(dev, AsyncOp::Kind::factorial, n);
  s->file().start_factorial(n, timeout);
  return AsyncAccess::make(std::move(s));
}

AsyncOp copy_to_device_async(const Device& dev, std::uint64_t offset,
                             std::span<const std::byte> src) {
  const std::size_t len = check_async_dma(
      dev, offset, src.size(), [&] { return "asynchronous " + describe(src.size(), "to", dev); });
  auto s = AsyncAccess::new_state(dev, AsyncOp::Kind::to_device, len);
  std::memcpy(s->entry.staging.data(), src.data(), len);
  s->file().start_dma_staging(Direction::to_device, 0, offset, len);
  return AsyncAccess::make(std::move(s));
}

AsyncOp copy_from_device_async(const Device& dev, std::uint64_t offset, std::span<std::byte> dst) {
  const std::size_t len = check_async_dma(
      dev, offset, dst.size(), [&] { return "asynchronous " + describe(dst.size(), "from", dev); });
  auto s = AsyncAccess::new_state(dev, AsyncOp::Kind::from_device, len);
  s->dst = dst;
  s->file().start_dma_staging(Direction::from_device, 0, offset, len);
  return AsyncAccess::make(std::move(s));
}

std::optional<std::size_t> wait_any(std::span<AsyncOp* const> ops,
                                    std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds;
  std::vector<std::size_t> which;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i] == nullptr || !ops[i]->valid()) continue;
    if (AsyncAccess::state(*ops[i])->completion) return i;
    pollfd p{};
    p.fd = ops[i]->fd();
    p.events = POLLIN;
    fds.push_back(p);
    which.push_back(i);
  }
  if (fds.empty()) return std::nullopt;
  const int ms = timeout.count() < 0
                     ? -1
                     : static_cast<int>(std::min<std::int64_t>(timeout.count(), 0x7FFFFFFF));
  for (;;) {
    const int r = ::poll(fds.data(), fds.size(), ms);
    if (r == 0) return std::nullopt;
    if (r > 0) break;
    if (errno != EINTR)
      throw make_errno_error(errno, "poll asynchronous operations", Context::async);
  }
  for (std::size_t k = 0; k < fds.size(); ++k) {
    if (fds[k].revents == 0) continue;
    AsyncOp& op = *ops[which[k]];
    (void)op.wait_for(std::chrono::milliseconds{0});
    return which[k];
  }
  return std::nullopt;
}

void wait_all(std::span<AsyncOp* const> ops) {
  std::exception_ptr first;
  for (AsyncOp* op : ops) {
    if (op == nullptr || !op->valid()) continue;
    try {
      op->wait();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

}  // namespace edu
