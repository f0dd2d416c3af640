#include "kmsg.hpp"

#include <array>
#include <charconv>
#include <cstdio>

namespace edulab {

namespace {

bool parse_u64(std::string_view s, std::uint64_t& out) {
  const auto* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc{} && p == end;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      const int hi = hex_digit(s[i + 2]);
      const int lo = hex_digit(s[i + 3]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

void KmsgDecoder::feed(std::string_view bytes) {
  partial_.append(bytes);
  std::size_t start = 0;
  for (std::size_t nl = partial_.find('\n'); nl != std::string::npos;
       nl = partial_.find('\n', start)) {
    decode_line(std::string_view(partial_).substr(start, nl - start));
    start = nl + 1;
  }
  partial_.erase(0, start);
}

void KmsgDecoder::decode_line(std::string_view line) {
  if (line.empty()) return;
  // " KEY=value" dictionary lines follow a record; elsewhere (the plain-text
  // fallback) an indented line is text, e.g. a kmemleak backtrace.
  if (line.front() == ' ' && after_record_) return;
  after_record_ = false;
  const auto semi = line.find(';');
  if (semi == std::string_view::npos) {
    // Not a record: something the guest wrote about the stream itself.
    text_.append(line);
    text_.push_back('\n');
    return;
  }
  // PRIO,SEQ,USEC,FLAGS[,more fields]
  std::string_view fields = line.substr(0, semi);
  std::array<std::string_view, 3> parts{};
  for (auto& part : parts) {
    const auto comma = fields.find(',');
    part = fields.substr(0, comma);
    fields = comma == std::string_view::npos ? std::string_view{} : fields.substr(comma + 1);
  }
  std::uint64_t seq = 0;
  std::uint64_t usec = 0;
  if (!parse_u64(parts[1], seq) || !parse_u64(parts[2], usec)) {
    text_.append(line);
    text_.push_back('\n');
    return;
  }
  if (have_seq_ && seq < next_seq_) {  // seen already (the guest reopened /dev/kmsg)
    after_record_ = true;              // its dictionary lines follow
    return;
  }
  if (have_seq_ && seq > next_seq_) lost_ += seq - next_seq_;
  have_seq_ = true;
  next_seq_ = seq + 1;
  ++records_;
  after_record_ = true;

  std::array<char, 32> stamp{};
  std::snprintf(stamp.data(), stamp.size(), "[%5llu.%06llu] ",
                static_cast<unsigned long long>(usec / 1000000),
                static_cast<unsigned long long>(usec % 1000000));
  const std::string body = unescape(line.substr(semi + 1));
  std::size_t from = 0;
  for (;;) {
    const auto nl = body.find('\n', from);
    text_.append(stamp.data());
    text_.append(body, from, nl == std::string::npos ? std::string::npos : nl - from);
    text_.push_back('\n');
    if (nl == std::string::npos || nl + 1 == body.size()) break;
    from = nl + 1;
  }
}

}  // namespace edulab
