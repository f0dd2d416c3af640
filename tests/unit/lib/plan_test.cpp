// Transfer planning: path threshold, chunking, multi-device split.
#include "edu/plan.hpp"

#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using edu::Chunk;
using edu::CopyPath;

TEST(ChoosePath, ThresholdIsInclusiveForStaging) {
  EXPECT_EQ(edu::choose_path(0), CopyPath::staging);
  EXPECT_EQ(edu::choose_path(1), CopyPath::staging);
  EXPECT_EQ(edu::choose_path(edu::kPinnedThreshold), CopyPath::staging);
  EXPECT_EQ(edu::choose_path(edu::kPinnedThreshold + 1), CopyPath::pinned);
  EXPECT_EQ(edu::choose_path(100, CopyPath::automatic, 50), CopyPath::pinned);
  EXPECT_EQ(edu::choose_path(10'000'000, CopyPath::staging), CopyPath::staging);
  EXPECT_EQ(edu::choose_path(1, CopyPath::pinned), CopyPath::pinned);
  EXPECT_EQ(edu::choose_path(1, CopyPath::read_write), CopyPath::read_write);
  EXPECT_STREQ(edu::to_string(CopyPath::read_write), "read_write");
}

TEST(PlanChunks, SplitsIntoFullChunks) {
  EXPECT_TRUE(edu::plan_chunks(0, 4095).empty());
  EXPECT_THAT(edu::plan_chunks(10, 4095), ::testing::ElementsAre(Chunk{0, 10}));
  EXPECT_THAT(edu::plan_chunks(4095, 4095), ::testing::ElementsAre(Chunk{0, 4095}));
  EXPECT_THAT(edu::plan_chunks(8191, 4095),
              ::testing::ElementsAre(Chunk{0, 4095}, Chunk{4095, 4095}, Chunk{8190, 1}));
  EXPECT_EQ(edu::plan_chunks(5, 0).size(), 5U);  // chunk 0 treated as 1
}

TEST(DmaTransfers, CeilDivision) {
  EXPECT_EQ(edu::dma_transfers(0, 4095), 0U);
  EXPECT_EQ(edu::dma_transfers(1, 4095), 1U);
  EXPECT_EQ(edu::dma_transfers(4095, 4095), 1U);
  EXPECT_EQ(edu::dma_transfers(4096, 4095), 2U);
  EXPECT_EQ(edu::dma_transfers(10, 0), 0U);
  EXPECT_EQ(edu::loopback_time(4096, 4095), std::chrono::milliseconds(400));
}

TEST(SplitForDevices, EmptyAndDegenerate) {
  EXPECT_TRUE(edu::split_for_devices(100, 4095, 0).empty());
  const auto one = edu::split_for_devices(100, 4095, 1);
  EXPECT_THAT(one, ::testing::ElementsAre(Chunk{0, 100}));
  const auto none = edu::split_for_devices(0, 4095, 3);
  ASSERT_EQ(none.size(), 3U);
  for (const auto& c : none)
    EXPECT_EQ(c.length, 0U);
}

TEST(SplitForDevices, FewerWindowsThanDevicesLeavesTrailingSlicesEmpty) {
  const auto s = edu::split_for_devices(5000, 4095, 4);
  EXPECT_THAT(
      s, ::testing::ElementsAre(Chunk{0, 4095}, Chunk{4095, 905}, Chunk{5000, 0}, Chunk{5000, 0}));
}

// Property check over many sizes: contiguous, complete, window-aligned
// boundaries, and the busiest device does the minimum ceil(W/d) transfers.
TEST(SplitForDevices, PropertiesHold) {
  for (std::uint64_t window : {1ULL, 7ULL, 4095ULL}) {
    for (std::size_t devices = 1; devices <= 5; ++devices) {
      for (std::uint64_t total :
           {0ULL, 1ULL, 6ULL, 7ULL, 8ULL, 4094ULL, 4095ULL, 4096ULL, 3 * 4095ULL + 1, 1000000ULL}) {
        const auto s = edu::split_for_devices(total, window, devices);
        ASSERT_EQ(s.size(), devices);
        std::uint64_t pos = 0;
        std::uint64_t worst = 0;
        for (const auto& slice : s) {
          EXPECT_EQ(slice.offset, pos);
          if (slice.offset + slice.length < total) {
            EXPECT_EQ(slice.length % window, 0U);
          }
          worst = std::max(worst, edu::dma_transfers(slice.length, window));
          pos += slice.length;
        }
        EXPECT_EQ(pos, total);
        const std::uint64_t windows = edu::dma_transfers(total, window);
        EXPECT_EQ(worst, (windows + devices - 1) / devices)
            << "total " << total << " window " << window << " devices " << devices;
      }
    }
  }
}

}  // namespace
