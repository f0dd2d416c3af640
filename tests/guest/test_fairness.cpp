// The per-unit claim (docs/uapi.md, "Concurrency") is not FIFO, but it must
// not starve anyone: a caller that issues transfers back to back releases
// and re-claims the DMA engine without sleeping in between, which must not
// lock out a caller that is already waiting.
#include <algorithm>
#include <cstring>

#include <unistd.h>

#include "edu_test_util.hpp"

namespace edutest {
namespace {

class Fairness : public EduTest {};

TEST_F(Fairness, BackToBackTransfersDoNotStarveAWaiter) {
  constexpr std::uint32_t kLen = 64;
  constexpr std::uint32_t kProbeOffset = 2048;
  EngineHammer hammer(node_, 1, 0, kLen);
  ASSERT_TRUE(hammer.wait_started()) << hammer.failure();

  // Every transfer costs the device 100 ms: a fair claim lets the probe in
  // after a few of them. The timer turns starvation into EINTR, not a hang.
  SignalCatcher sig(SIGALRM);
  ThreadTimer timer(SIGALRM, 10s, 1s);
  const auto data = pattern(kLen, 42);
  std::vector<std::uint8_t> back(kLen);
  long worst_ms = 0;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = Clock::now();
    ASSERT_RET(kLen, ::pwrite(fd(), data.data(), kLen, kProbeOffset))
        << "probe " << i << " waited " << ms_since(t0) << " ms for the engine";
    ASSERT_RET(kLen, ::pread(fd(), back.data(), kLen, kProbeOffset));
    worst_ms = std::max(worst_ms, ms_since(t0));
    EXPECT_EQ(first_mismatch(data, back), -1);
  }
  timer.cancel();
  hammer.stop();
  EXPECT_EQ(hammer.failure(), "");
  EXPECT_GT(hammer.transfers(), 5) << "the hammer kept the engine busy meanwhile";
  // Two transfers of the probe plus a few of the hammer's: ~0.5 s when fair.
  EXPECT_LT(worst_ms, 3000) << "a waiter was starved by back-to-back transfers";
}

}  // namespace
}  // namespace edutest
