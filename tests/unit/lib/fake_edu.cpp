#include "fake_edu.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <map>
#include <stdexcept>
#include <utility>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/edu.h>

namespace edutest {
namespace {

using Key = std::pair<dev_t, ino_t>;

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

std::map<Key, std::shared_ptr<FakeEduState>>& registry() {
  static std::map<Key, std::shared_ptr<FakeEduState>> r;
  return r;
}

std::shared_ptr<FakeEduState> lookup(int fd) {
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return nullptr;
  std::lock_guard lock(registry_mutex());
  auto it = registry().find({st.st_dev, st.st_ino});
  return it == registry().end() ? nullptr : it->second;
}

ssize_t real_pread(int fd, void* buf, size_t n, off_t off) {
  return static_cast<ssize_t>(::syscall(SYS_pread64, fd, buf, n, off));
}

ssize_t real_pwrite(int fd, const void* buf, size_t n, off_t off) {
  return static_cast<ssize_t>(::syscall(SYS_pwrite64, fd, buf, n, off));
}

std::uint32_t factorial(std::uint32_t n) {
  std::uint32_t r = 1;
  for (std::uint32_t i = 2; i <= n; ++i)
    r *= i;
  return r;
}

int fail(int err) {
  errno = err;
  return -1;
}

/// Moves @p len bytes between memory and the device buffer, window-sized
/// transfers at most, counting each.
void transfer(FakeEduState& s, std::uint64_t len) {
  while (len > 0) {
    const std::uint64_t n = std::min<std::uint64_t>(len, s.window);
    s.transfers.push_back(n);
    ++s.counters.dma_ops;
    s.counters.dma_bytes += n;
    len -= n;
  }
}

bool take_injected_failure(FakeEduState& s, int& err) {
  if (s.fail_next_errno != 0) {
    err = std::exchange(s.fail_next_errno, 0);
    return true;
  }
  if (s.fail_after_calls == 0) {
    s.fail_after_calls = -1;
    err = s.fail_errno;
    return true;
  }
  if (s.fail_after_calls > 0) --s.fail_after_calls;
  return false;
}

int emulate(int fd, FakeEduState& s, unsigned long request, void* arg) {
  std::lock_guard lock(s.mutex);
  int injected = 0;
  if (take_injected_failure(s, injected)) {
    ++s.counters.errors;
    return fail(injected);
  }
  switch (request) {
    case EDU_IOC_IDENTIFY: {
      auto* id = static_cast<edu_identify*>(arg);
      std::memset(id, 0, sizeof *id);
      id->id_register = 0x010000ed;
      id->major = 1;
      id->minor = 0;
      id->index = s.index;
      id->irq_mode = EDU_IRQ_MODE_MSI;
      id->dma_mask_bits = 28;
      id->dma_window = s.window;
      id->staging_size = s.staging_size;
      id->caps = EDU_CAP_FACTORIAL_IRQ | EDU_CAP_DMA | EDU_CAP_ASYNC;
      return 0;
    }
    case EDU_IOC_LIVENESS: {
      auto* l = static_cast<edu_liveness*>(arg);
      if (l->reserved != 0) return fail(EINVAL);
      l->inverted = ~l->value;
      return 0;
    }
    case EDU_IOC_FACTORIAL: {
      auto* f = static_cast<edu_factorial*>(arg);
      if ((f->flags & ~EDU_OP_FLAGS_VALID) != 0 || f->reserved != 0 || f->timeout_ms > 60000)
        return fail(EINVAL);
      if ((f->flags & EDU_OP_ASYNC) != 0) {
        if ((f->flags & EDU_WAIT_MASK) != 0) return fail(EINVAL);
        // Operations finish at once here, so none is ever in flight (EBUSY):
        // a new one replaces the uncollected completion, as in the driver.
        s.pending[fd] = FakeEduState::Pending{
            EDU_COMPLETION_FACTORIAL, std::exchange(s.async_status, 0), factorial(f->input)};
        ++s.counters.factorial_ops;
        return 0;
      }
      s.wait_flags.push_back(f->flags);
      f->result = factorial(f->input);
      ++s.counters.factorial_ops;
      return 0;
    }
    case EDU_IOC_RAISE_IRQ: {
      auto* r = static_cast<edu_raise_irq*>(arg);
      if (r->status == 0 || (r->status & (EDU_IRQ_FACTORIAL | EDU_IRQ_DMA)) != 0)
        return fail(EINVAL);
      r->irq_count = ++s.counters.irqs;
      return 0;
    }
    case EDU_IOC_DMA_STAGING: {
      const auto* d = static_cast<const edu_dma_staging*>(arg);
      ++s.staging_ioctls;
      if ((d->flags & ~EDU_OP_FLAGS_VALID) != 0 || d->reserved[0] != 0 || d->reserved[1] != 0)
        return fail(EINVAL);
      if (d->length == 0 || d->length > s.window || d->staging_offset >= s.staging_size ||
          d->length > s.staging_size - d->staging_offset || d->device_offset >= s.window ||
          d->length > s.window - d->device_offset)
        return fail(EINVAL);
      auto* dev = s.buffer.data() + d->device_offset;
      const auto len = static_cast<size_t>(d->length);
      const auto soff = static_cast<off_t>(d->staging_offset);
      if (d->direction == EDU_DMA_TO_DEVICE) {
        if (real_pread(fd, dev, len, soff) != static_cast<ssize_t>(len)) return fail(EIO);
      } else if (d->direction == EDU_DMA_FROM_DEVICE) {
        if (real_pwrite(fd, dev, len, soff) != static_cast<ssize_t>(len)) return fail(EIO);
      } else {
        return fail(EINVAL);
      }
      transfer(s, d->length);
      if ((d->flags & EDU_OP_ASYNC) != 0) {
        s.pending[fd] =
            FakeEduState::Pending{EDU_COMPLETION_DMA, std::exchange(s.async_status, 0), d->length};
      } else {
        s.wait_flags.push_back(d->flags);
      }
      return 0;
    }
    case EDU_IOC_DMA_USER: {
      auto* u = static_cast<edu_dma_user*>(arg);
      if (u->flags != 0 || u->length == 0 || u->reserved[0] != 0 || u->reserved[1] != 0)
        return fail(EINVAL);
      s.user_calls.push_back(u->length);
      u->done = 0;
      // The UAPI carries user pointers as __u64; the fake turns them back, as the kernel does.
      // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast,performance-no-int-to-ptr)
      const auto* src = reinterpret_cast<const std::byte*>(static_cast<std::uintptr_t>(u->src));
      auto* dst = reinterpret_cast<std::byte*>(static_cast<std::uintptr_t>(u->dst));
      // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast,performance-no-int-to-ptr)
      switch (u->direction) {
        case EDU_DMA_TO_DEVICE: {
          if (u->dst != 0 || u->src == 0 || u->device_offset >= s.window) return fail(EINVAL);
          const auto n = std::min<std::uint64_t>(u->length, s.window - u->device_offset);
          std::memcpy(s.buffer.data() + u->device_offset, src, static_cast<size_t>(n));
          transfer(s, n);
          u->done = n;
          return 0;
        }
        case EDU_DMA_FROM_DEVICE: {
          if (u->src != 0 || u->dst == 0 || u->device_offset >= s.window) return fail(EINVAL);
          const auto n = std::min<std::uint64_t>(u->length, s.window - u->device_offset);
          std::memcpy(dst, s.buffer.data() + u->device_offset, static_cast<size_t>(n));
          transfer(s, n);
          u->done = n;
          return 0;
        }
        case EDU_DMA_LOOPBACK: {
          if (u->src == 0 || u->dst == 0 || u->device_offset != 0) return fail(EINVAL);
          for (std::uint64_t pos = 0; pos < u->length;) {
            const auto n = std::min<std::uint64_t>(u->length - pos, s.window);
            std::memcpy(s.buffer.data(), src + pos, static_cast<size_t>(n));
            transfer(s, n);
            std::memcpy(dst + pos, s.buffer.data(), static_cast<size_t>(n));
            transfer(s, n);
            pos += n;
            u->done = pos;
          }
          return 0;
        }
        default:
          return fail(EINVAL);
      }
    }
    case EDU_IOC_COMPLETE: {
      auto* c = static_cast<edu_completion*>(arg);
      const auto it = s.pending.find(fd);
      if (it == s.pending.end()) return fail(ENODATA);
      std::memset(c, 0, sizeof *c);
      c->op = it->second.op;
      c->status = it->second.status;
      c->result = it->second.result;
      s.pending.erase(it);
      return 0;
    }
    case EDU_IOC_STATS: {
      auto* st = static_cast<edu_stats*>(arg);
      std::memset(st, 0, sizeof *st);
      st->irqs = s.counters.irqs;
      st->factorial_ops = s.counters.factorial_ops;
      st->dma_ops = s.counters.dma_ops;
      st->dma_bytes = s.counters.dma_bytes;
      st->errors = s.counters.errors;
      st->timeouts = s.counters.timeouts;
      return 0;
    }
    case EDU_IOC_REG_READ:
    case EDU_IOC_REG_WRITE:
      return fail(EPERM);  // the tests do not run with CAP_SYS_ADMIN
    default:
      return fail(ENOTTY);
  }
}

}  // namespace

FakeEdu::FakeEdu(const std::filesystem::path& node, std::uint32_t index)
    : state_(std::make_shared<FakeEduState>()) {
  state_->index = index;
  const int fd = ::open(node.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + node.string());
  struct stat st {};
  const bool ok = ::ftruncate(fd, state_->staging_size) == 0 && ::fstat(fd, &st) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot size " + node.string());
  std::lock_guard lock(registry_mutex());
  registry()[{st.st_dev, st.st_ino}] = state_;
}

FakeEdu::~FakeEdu() {
  std::lock_guard lock(registry_mutex());
  for (auto it = registry().begin(); it != registry().end(); ++it) {
    if (it->second == state_) {
      registry().erase(it);
      break;
    }
  }
}

}  // namespace edutest

// ---- interposed system calls (see fake_edu.hpp)

extern "C" int ioctl(int fd, unsigned long request, ...) noexcept {
  // ioctl(2)'s C prototype is variadic, so the interposer is too.
  // NOLINTBEGIN(cppcoreguidelines-pro-bounds-array-to-pointer-decay): va_list is an array type
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  // NOLINTEND(cppcoreguidelines-pro-bounds-array-to-pointer-decay)
  if (auto s = edutest::lookup(fd)) return edutest::emulate(fd, *s, request, arg);
  return static_cast<int>(::syscall(SYS_ioctl, fd, request, arg));
}

extern "C" ssize_t pread(int fd, void* buf, size_t n, off_t off) {
  auto s = edutest::lookup(fd);
  if (!s) return edutest::real_pread(fd, buf, n, off);
  std::lock_guard lock(s->mutex);
  ++s->rw_calls;
  if (off < 0) return edutest::fail(EINVAL);
  if (n == 0) return 0;
  if (static_cast<std::uint64_t>(off) >= s->window) return 0;
  const auto len = std::min<std::uint64_t>(n, s->window - static_cast<std::uint64_t>(off));
  std::memcpy(buf, s->buffer.data() + off, static_cast<size_t>(len));
  edutest::transfer(*s, len);
  return static_cast<ssize_t>(len);
}

extern "C" ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  auto s = edutest::lookup(fd);
  if (!s) return edutest::real_pwrite(fd, buf, n, off);
  std::lock_guard lock(s->mutex);
  ++s->rw_calls;
  if (off < 0) return edutest::fail(EINVAL);
  if (n == 0) return 0;
  if (static_cast<std::uint64_t>(off) >= s->window) return edutest::fail(ENOSPC);
  const auto len = std::min<std::uint64_t>(n, s->window - static_cast<std::uint64_t>(off));
  std::memcpy(s->buffer.data() + off, buf, static_cast<size_t>(len));
  edutest::transfer(*s, len);
  return static_cast<ssize_t>(len);
}

extern "C" int close(int fd) {
  // The driver drops a file's unfinished operation when the file is released.
  if (auto s = edutest::lookup(fd)) {
    std::lock_guard lock(s->mutex);
    s->pending.erase(fd);
    ++s->closes;
  }
  return static_cast<int>(::syscall(SYS_close, fd));
}
