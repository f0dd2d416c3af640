/// @file edu/error.hpp
/// @brief Error reporting of libedu: one scheme for every layer.
///
/// Every failing libedu call throws edu::Error, a std::system_error. Its code()
/// is either an errno value in std::system_category() (what the kernel said,
/// e.g. ETIMEDOUT) or an edu::errc in edu::category() (conditions detected in
/// user space, e.g. "no device"). The message always names the operation, the
/// reason and, where one is known, a hint about what to do:
///
///     open /dev/edu0: No such file or directory — is the driver loaded? try `modprobe edu`
///
/// A few functions also have non-throwing overloads taking a std::error_code&.
#pragma once

#include <memory>
#include <string>
#include <system_error>
#include <type_traits>

namespace edu {

/// Conditions detected by libedu itself (no errno equivalent). Values are
/// stable; they are used as exit-code classes and in JSON output.
enum class errc {
  no_device = 1,        ///< no edu device is present (driver not loaded?)
  device_not_visible,   ///< the device exists but EDU_VISIBLE_DEVICES hides it
  bad_visible_devices,  ///< EDU_VISIBLE_DEVICES is not a list of indices
  out_of_window,        ///< a device-buffer range exceeds the DMA window
  size_mismatch,        ///< source and destination spans differ in size
  bad_sysfs,            ///< a required sysfs attribute is missing or malformed
  short_transfer,       ///< the kernel made no progress where progress was required
  bad_argument,         ///< an argument was rejected before reaching the kernel
};

/// The error category of edu::errc ("edu").
[[nodiscard]] const std::error_category& category() noexcept;

/// Makes a std::error_code in edu::category(); enables `ec == edu::errc::no_device`.
[[nodiscard]] std::error_code make_error_code(errc e) noexcept;

/// Where an error happened; selects the hint for an errno value (EPERM means
/// something else when opening a node than when accessing a register).
enum class Context {
  open,             ///< opening /dev/eduN
  ioctl,            ///< a synchronous ioctl (identify, factorial, DMA, ...)
  io,               ///< read/write/pread/pwrite on the device
  mmap,             ///< mapping the staging buffer
  register_access,  ///< EDU_IOC_REG_READ / EDU_IOC_REG_WRITE
  async,            ///< starting or completing an asynchronous operation
  discovery,        ///< reading sysfs
};

/// The hint ("what to do") for an error in a context; empty if none is known.
[[nodiscard]] std::string hint_for(std::error_code ec, Context ctx);

/// The exception thrown by every libedu function.
///
/// what() is "<operation>: <reason> — <hint>" (the " — <hint>" part only when
/// a hint is known). The pieces are available separately for callers that
/// format errors themselves (eductl prints "eductl: <what>: <why> — <hint>").
class Error : public std::system_error {
 public:
  /// @param ec        errno (std::system_category()) or edu::errc code
  /// @param operation what was attempted, e.g. "open /dev/edu0"
  /// @param hint      what to do about it; may be empty
  Error(std::error_code ec, std::string operation, std::string hint);

  /// The full message: "<operation>: <reason>[ — <hint>]".
  [[nodiscard]] const char* what() const noexcept override;
  /// What was attempted, e.g. "factorial on /dev/edu0".
  [[nodiscard]] const std::string& operation() const noexcept;
  /// Why it failed: code().message().
  [[nodiscard]] const std::string& reason() const noexcept;
  /// What to do about it; empty if no hint is known.
  [[nodiscard]] const std::string& hint() const noexcept;

 private:
  struct Details;
  std::shared_ptr<const Details> details_;  // shared: copying an exception must not throw
};

/// Builds an edu::Error whose hint is hint_for(ec, ctx).
[[nodiscard]] Error make_error(std::error_code ec, std::string operation, Context ctx);

/// Builds an edu::Error from an errno value (std::system_category()).
[[nodiscard]] Error make_errno_error(int errno_value, std::string operation, Context ctx);

/// The symbolic errno name ("ENOENT") of an errno value; "E<number>" if unknown.
[[nodiscard]] std::string errno_name(int errno_value);

}  // namespace edu

template <>
struct std::is_error_code_enum<edu::errc> : std::true_type {};
