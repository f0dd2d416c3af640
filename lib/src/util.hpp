// Internal helpers of libedu (not installed).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edu::detail {

/// @p text without leading and trailing ASCII whitespace.
[[nodiscard]] constexpr std::string_view trim(std::string_view text) noexcept {
  constexpr std::string_view ws = " \t\r\n\v\f";
  const auto first = text.find_first_not_of(ws);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(ws);
  return text.substr(first, last - first + 1);
}

/// "0x" followed by lower-case hex digits, at least @p digits of them.
[[nodiscard]] inline std::string hex(std::uint64_t value, int digits = 1) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), kDigits[value & 0xF]);
    value >>= 4;
  } while (value != 0);
  while (static_cast<int>(out.size()) < digits)
    out.insert(out.begin(), '0');
  return "0x" + out;
}

}  // namespace edu::detail
