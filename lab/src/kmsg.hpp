// Decodes the kernel log the guest streams from /dev/kmsg (lab-kmsg forwards
// each record verbatim, from early boot on) into plain log lines.
//
// A record is "PRIO,SEQ,USEC,FLAGS[,...];TEXT\n", followed by zero or more
// " KEY=VALUE\n" dictionary lines; TEXT escapes unprintable bytes (newlines
// of multi-line messages among them) as \xNN. Records may arrive in pieces,
// and again after the guest reopened /dev/kmsg: sequence numbers drop the
// repeats and count the records the ring buffer overwrote before they were
// read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edulab {

class KmsgDecoder {
 public:
  // Feeds raw bytes from the stream; complete records are decoded at once.
  void feed(std::string_view bytes);
  // Everything decoded so far: "[    1.234567] text" lines, each ending in '\n'.
  [[nodiscard]] const std::string& text() const { return text_; }
  [[nodiscard]] std::uint64_t records() const { return records_; }
  [[nodiscard]] std::uint64_t lost() const { return lost_; }

 private:
  void decode_line(std::string_view line);

  std::string partial_;
  std::string text_;
  std::uint64_t records_ = 0;
  std::uint64_t lost_ = 0;
  std::uint64_t next_seq_ = 0;
  bool have_seq_ = false;
  bool after_record_ = false;  // the last line was a record: dictionary lines may follow
};

}  // namespace edulab
