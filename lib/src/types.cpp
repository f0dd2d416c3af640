#include "edu/types.hpp"

#include <string>

#include "edu/plan.hpp"
#include "util.hpp"

namespace edu {

std::vector<std::string> Caps::names() const {
  std::vector<std::string> out;
  for (unsigned bit = 0; bit < 32; ++bit) {
    const std::uint32_t mask = 1U << bit;
    if ((bits & mask) == 0) continue;
    switch (static_cast<Cap>(mask)) {
      case Cap::factorial_irq:
        out.emplace_back("factorial_irq");
        break;
      case Cap::dma:
        out.emplace_back("dma");
        break;
      case Cap::async:
        out.emplace_back("async");
        break;
      default:
        out.push_back("bit" + std::to_string(bit));
    }
  }
  return out;
}

std::string_view to_string(WaitMode mode) noexcept {
  switch (mode) {
    case WaitMode::driver_default:
      return "default";
    case WaitMode::irq:
      return "irq";
    case WaitMode::poll:
      return "poll";
    case WaitMode::hybrid:
      return "hybrid";
  }
  return "unknown";
}

std::string_view to_string(IrqMode mode) noexcept {
  switch (mode) {
    case IrqMode::intx:
      return "intx";
    case IrqMode::msi:
      return "msi";
    case IrqMode::unknown:
      break;
  }
  return "unknown";
}

std::string_view to_string(Direction dir) noexcept {
  switch (dir) {
    case Direction::to_device:
      return "to_device";
    case Direction::from_device:
      return "from_device";
    case Direction::loopback:
      return "loopback";
  }
  return "unknown";
}

std::optional<WaitMode> parse_wait_mode(std::string_view text) noexcept {
  if (text == "default") return WaitMode::driver_default;
  if (text == "irq") return WaitMode::irq;
  if (text == "poll") return WaitMode::poll;
  if (text == "hybrid") return WaitMode::hybrid;
  return std::nullopt;
}

IrqMode parse_irq_mode(std::string_view text) noexcept {
  text = detail::trim(text);
  if (text == "msi") return IrqMode::msi;
  if (text == "intx") return IrqMode::intx;
  return IrqMode::unknown;
}

const char* to_string(CopyPath path) noexcept {
  switch (path) {
    case CopyPath::automatic:
      return "automatic";
    case CopyPath::staging:
      return "staging";
    case CopyPath::pinned:
      return "pinned";
    case CopyPath::read_write:
      return "read_write";
  }
  return "unknown";
}

}  // namespace edu
