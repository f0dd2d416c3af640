// edu-bench's huge-page buffers (host: no device needed).
#include "edu-bench/buffers.hpp"

#include <cstdint>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

namespace {

using edubench::HugeBuffer;
using edubench::kHugePageSize;

TEST(HugeBuffer, AlignedRoundedAndSliced) {
  const HugeBuffer b = HugeBuffer::allocate(1);
  ASSERT_EQ(b.bytes().size(), kHugePageSize);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): alignment is an address property
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.bytes().data()) % kHugePageSize, 0U);
  EXPECT_EQ(b.slice(100, 50).data(), b.bytes().data() + 100);
  EXPECT_EQ(b.slice(100, 50).size(), 50U);
  EXPECT_EQ(b.slice(kHugePageSize - 10, 50).size(), 10U);  // clamped
  EXPECT_TRUE(b.slice(kHugePageSize, 1).empty());
  EXPECT_EQ(HugeBuffer::allocate(kHugePageSize + 1).bytes().size(), 2 * kHugePageSize);
  b.bytes()[kHugePageSize - 1] = std::byte{7};  // writable to the end
}

TEST(HugeBuffer, MoveTransfersOwnership) {
  HugeBuffer a = HugeBuffer::allocate(4096);
  std::byte* p = a.bytes().data();
  HugeBuffer b = std::move(a);
  EXPECT_EQ(b.bytes().data(), p);
  EXPECT_TRUE(a.bytes().empty());  // NOLINT(*use-after-move,*.Move): documented state
  a = std::move(b);
  EXPECT_EQ(a.bytes().data(), p);
}

TEST(HugeBuffer, DescribeReportsWhatItGot) {
  const HugeBuffer b = HugeBuffer::allocate(8192);
  const auto j = b.describe(8192);
  EXPECT_EQ(j["kind"], "thp");
  EXPECT_EQ(j["bytes"], kHugePageSize);
  EXPECT_EQ(j["aligned_2mib"], true);
  EXPECT_TRUE(j["madvise_ok"].is_boolean());
  // Unknown (null) without the privilege to read PFNs, else a boolean.
  EXPECT_TRUE(j["physically_contiguous"].is_null() || j["physically_contiguous"].is_boolean());
  EXPECT_TRUE(j["anon_huge_bytes"].is_null() || j["anon_huge_bytes"].is_number());
}

TEST(HugeBuffer, ContiguityOfOnePageIsTrivial) {
  std::vector<std::byte> v(16);
  v[0] = std::byte{1};
  const auto c = edubench::physically_contiguous(v.data(), v.size());
  if (c) {
    EXPECT_TRUE(*c);  // one page: contiguous whenever PFNs are readable
  }
  EXPECT_EQ(edubench::physically_contiguous(v.data(), 0), true);
}

}  // namespace
