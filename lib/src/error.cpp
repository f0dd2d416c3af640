#include "edu/error.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace edu {
namespace {

class EduCategory final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "edu"; }

  [[nodiscard]] std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::no_device:
        return "no edu device found";
      case errc::device_not_visible:
        return "device hidden by EDU_VISIBLE_DEVICES";
      case errc::bad_visible_devices:
        return "malformed EDU_VISIBLE_DEVICES";
      case errc::out_of_window:
        return "range exceeds the device DMA window";
      case errc::size_mismatch:
        return "source and destination sizes differ";
      case errc::bad_sysfs:
        return "missing or malformed sysfs attribute";
      case errc::short_transfer:
        return "the kernel transferred no data";
      case errc::bad_argument:
        return "invalid argument";
    }
    return "unknown edu error " + std::to_string(value);
  }

  [[nodiscard]] std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<errc>(value)) {
      case errc::no_device:
      case errc::device_not_visible:
        return std::errc::no_such_device;
      case errc::bad_visible_devices:
      case errc::out_of_window:
      case errc::size_mismatch:
      case errc::bad_argument:
        return std::errc::invalid_argument;
      case errc::bad_sysfs:
      case errc::short_transfer:
        return std::errc::io_error;
    }
    return {value, *this};
  }
};

std::string errno_hint(int err, Context ctx) {
  switch (err) {
    case ENOENT:
    case ENXIO:
      if (ctx == Context::open)
        return "is the driver loaded? try `modprobe edu`; `eductl list` shows the devices";
      if (ctx == Context::discovery) return "is the driver loaded? try `modprobe edu`";
      return {};
    case ENODEV:
      return "the PCI device was removed or the driver unbound — reopen the device "
             "(see `eductl list`)";
    case EACCES:
      return "no access to the device node — run as root or add a udev rule for /dev/edu*";
    case EPERM:
      if (ctx == Context::register_access)
        return "register access needs CAP_SYS_ADMIN (run as root); DMA and interrupt "
               "registers are owned by the driver and always refused";
      if (ctx == Context::open)
        return "no access to the device node — run as root or add a udev rule for /dev/edu*";
      return "operation not permitted — run as root";
    case ETIMEDOUT:
      return "the device did not finish in time — pass a longer timeout (at most 60000 ms) "
             "or check `dmesg`";
    case EBUSY:
      if (ctx == Context::async)
        return "this file already has an asynchronous operation in flight — complete it first";
      return "the device is busy — retry";
    case EAGAIN:
      return "the unit is busy and the file is non-blocking — retry or open it blocking";
    case ENOTTY:
      return "not an edu device, or the driver does not know this request — do the edu module "
             "and libedu versions match?";
    case EINVAL:
      if (ctx == Context::register_access)
        return "readable registers: 0x00 0x04 0x08 0x20 0x24 (width 4); writable: 0x04";
      if (ctx == Context::mmap) return "map at offset 0, MAP_SHARED, at most staging_size bytes";
      return "the driver rejected the arguments — check offsets and lengths against the DMA "
             "window (`eductl info`) and docs/uapi.md";
    case ENOSPC:
      return "the offset is at or past the end of the device DMA window (`eductl info`)";
    case EFAULT:
      return "a buffer address is invalid, or the destination is read-only";
    case ENODATA:
      return "no asynchronous operation was started on this file";
    case EINTR:
      return "interrupted by a signal — retry";
    case ENOMEM:
      return "the kernel could not allocate or pin the memory — use smaller transfers";
    case EIO:
      return "the device reported an I/O error — check `dmesg`";
    case EMFILE:
    case ENFILE:
      return "too many open files — close some or raise `ulimit -n`";
    case EBADF:
      return "no open file: the handle is empty (default-constructed or moved from)";
    default:
      return {};
  }
}

std::string edu_hint(errc e) {
  switch (e) {
    case errc::no_device:
      return "is the driver loaded? try `modprobe edu`";
    case errc::device_not_visible:
      return "EDU_VISIBLE_DEVICES hides it; unset it or add the index";
    case errc::bad_visible_devices:
      return "EDU_VISIBLE_DEVICES must be comma-separated device indices, e.g. `0,2`";
    case errc::out_of_window:
      return "device-buffer ranges must lie within [0, dma_window) — see `eductl info`";
    case errc::size_mismatch:
      return "pass source and destination buffers of the same size";
    case errc::bad_sysfs:
      return "the driver's sysfs attributes look different than expected — do the edu "
             "module and libedu versions match?";
    case errc::short_transfer:
      return "check `dmesg` for driver errors";
    case errc::bad_argument:
      return {};
  }
  return {};
}

}  // namespace

const std::error_category& category() noexcept {
  static const EduCategory instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

std::string hint_for(std::error_code ec, Context ctx) {
  if (ec.category() == category()) return edu_hint(static_cast<errc>(ec.value()));
  if (ec.category() == std::system_category() || ec.category() == std::generic_category())
    return errno_hint(ec.value(), ctx);
  return {};
}

struct Error::Details {
  std::string operation;
  std::string reason;
  std::string hint;
  std::string full;
};

Error::Error(std::error_code ec, std::string operation, std::string hint) : std::system_error(ec) {
  auto details = std::make_shared<Details>();
  details->operation = std::move(operation);
  details->reason = ec.message();
  details->hint = std::move(hint);
  details->full =
      details->operation.empty() ? details->reason : details->operation + ": " + details->reason;
  if (!details->hint.empty()) details->full += " — " + details->hint;
  details_ = std::move(details);
}

const char* Error::what() const noexcept {
  return details_->full.c_str();
}
const std::string& Error::operation() const noexcept {
  return details_->operation;
}
const std::string& Error::reason() const noexcept {
  return details_->reason;
}
const std::string& Error::hint() const noexcept {
  return details_->hint;
}

Error make_error(std::error_code ec, std::string operation, Context ctx) {
  return {ec, std::move(operation), hint_for(ec, ctx)};
}

Error make_errno_error(int errno_value, std::string operation, Context ctx) {
  return make_error(std::error_code(errno_value, std::system_category()), std::move(operation),
                    ctx);
}

std::string errno_name(int errno_value) {
  // strerrorname_np() is glibc >= 2.32; keep a table so the name is stable everywhere.
  switch (errno_value) {
// NOLINTNEXTLINE(cppcoreguidelines-macro-usage): stringizes the errno constant's name
#define EDU_ERRNO_CASE(e) \
  case e:                 \
    return #e;
    EDU_ERRNO_CASE(EPERM)
    EDU_ERRNO_CASE(ENOENT)
    EDU_ERRNO_CASE(EINTR)
    EDU_ERRNO_CASE(EIO)
    EDU_ERRNO_CASE(ENXIO)
    EDU_ERRNO_CASE(EBADF)
    EDU_ERRNO_CASE(EAGAIN)
    EDU_ERRNO_CASE(ENOMEM)
    EDU_ERRNO_CASE(EACCES)
    EDU_ERRNO_CASE(EFAULT)
    EDU_ERRNO_CASE(EBUSY)
    EDU_ERRNO_CASE(EEXIST)
    EDU_ERRNO_CASE(ENODEV)
    EDU_ERRNO_CASE(ENOTDIR)
    EDU_ERRNO_CASE(EISDIR)
    EDU_ERRNO_CASE(EINVAL)
    EDU_ERRNO_CASE(ENFILE)
    EDU_ERRNO_CASE(EMFILE)
    EDU_ERRNO_CASE(ENOTTY)
    EDU_ERRNO_CASE(EFBIG)
    EDU_ERRNO_CASE(ENOSPC)
    EDU_ERRNO_CASE(ESPIPE)
    EDU_ERRNO_CASE(EROFS)
    EDU_ERRNO_CASE(EPIPE)
    EDU_ERRNO_CASE(ERANGE)
    EDU_ERRNO_CASE(ENODATA)
    EDU_ERRNO_CASE(ETIMEDOUT)
    EDU_ERRNO_CASE(EOVERFLOW)
    EDU_ERRNO_CASE(EOPNOTSUPP)
#undef EDU_ERRNO_CASE
    default:
      return "E" + std::to_string(errno_value);
  }
}

}  // namespace edu
