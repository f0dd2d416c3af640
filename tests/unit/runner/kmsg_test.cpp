#include "kmsg.hpp"

#include <gtest/gtest.h>

using edulab::KmsgDecoder;

TEST(Kmsg, DecodesRecordsIntoTimestampedLines) {
  KmsgDecoder d;
  d.feed("6,0,0,-;Linux version 6.1.0\n4,1,1234567,-;edu 0000:01:00.0: hello\n");
  EXPECT_EQ(d.text(),
            "[    0.000000] Linux version 6.1.0\n[    1.234567] edu 0000:01:00.0: hello\n");
  EXPECT_EQ(d.records(), 2U);
  EXPECT_EQ(d.lost(), 0U);
}

TEST(Kmsg, DropsDictionaryLinesAndUnescapes) {
  KmsgDecoder d;
  d.feed("6,5,10,-;pci 0000:00:01.0: a\\x5cb\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:01.0\n");
  EXPECT_EQ(d.text(), "[    0.000010] pci 0000:00:01.0: a\\b\n");
}

TEST(Kmsg, DictionaryLinesOfARepeatedRecordAreDropped) {
  KmsgDecoder d;
  d.feed("6,1,1,-;a\n SUBSYSTEM=pci\n6,1,1,-;a\n SUBSYSTEM=pci\n");
  EXPECT_EQ(d.text(), "[    0.000001] a\n");
}

TEST(Kmsg, SplitsMultiLineRecords) {
  KmsgDecoder d;
  d.feed("4,7,2000000,-;first\\x0asecond\n");
  EXPECT_EQ(d.text(), "[    2.000000] first\n[    2.000000] second\n");
}

TEST(Kmsg, RecordsMayArriveInPieces) {
  KmsgDecoder d;
  const std::string stream = "6,0,1,-;abc\n6,1,2,-;def\n";
  for (char c : stream)
    d.feed(std::string_view(&c, 1));
  EXPECT_EQ(d.text(), "[    0.000001] abc\n[    0.000002] def\n");
}

TEST(Kmsg, RepeatsAreDroppedAndGapsCounted) {
  KmsgDecoder d;
  d.feed("6,10,1,-;a\n6,11,2,-;b\n");
  d.feed("6,10,1,-;a\n6,11,2,-;b\n6,12,3,-;c\n");  // reopened: from the start again
  d.feed("6,20,4,-;d\n");                          // 13..19 overwritten before read
  EXPECT_EQ(d.records(), 4U);
  EXPECT_EQ(d.lost(), 7U);
  EXPECT_EQ(d.text(), "[    0.000001] a\n[    0.000002] b\n[    0.000003] c\n[    0.000004] d\n");
}

TEST(Kmsg, PlainTextIsKeptAsIs) {
  // The fallback: a guest without lab-kmsg dumps dmesg's text on the port.
  KmsgDecoder d;
  d.feed(
      "[    1.000000] plain dmesg line\nunreferenced object 0xffff8880 (size 64):\n"
      "  backtrace:\n    kmalloc_trace+0x2a/0x60\n");
  EXPECT_EQ(d.text(),
            "[    1.000000] plain dmesg line\nunreferenced object 0xffff8880 (size 64):\n"
            "  backtrace:\n    kmalloc_trace+0x2a/0x60\n");
}
