// A guest run recorded with `run_qemu.sh --log`: console, then the kernel log,
// then QEMU's output, between the runner's separator lines.
#pragma once

#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

struct RecordedRun {
  std::string console, kmsg, qemu;
};

// `name` is relative to tests/unit/data. Reads logs written before the kernel
// log was streamed ("dmesg dumped after the command") and after.
inline RecordedRun load_recorded_run(const std::string& name) {
  std::ifstream in(std::string(EDULAB_TEST_DATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string m1 = "\n----- kernel log (streamed by the guest from /dev/kmsg) -----\n";
  if (all.find(m1) == std::string::npos) {
    m1 = "\n----- dmesg (dumped by the guest after the command) -----\n";
  }
  const std::string m2 = "\n----- QEMU output -----\n";
  const auto a = all.find(m1);
  const auto b = all.find(m2);
  EXPECT_NE(a, std::string::npos) << name;
  EXPECT_NE(b, std::string::npos) << name;
  if (a == std::string::npos || b == std::string::npos) return {};
  return {all.substr(0, a), all.substr(a + m1.size(), b - a - m1.size()),
          all.substr(b + m2.size())};
}
