#include "edu/types.hpp"

#include <gtest/gtest.h>

namespace {

TEST(Types, WaitModeRoundTrip) {
  for (auto m : {edu::WaitMode::driver_default, edu::WaitMode::irq, edu::WaitMode::poll,
                 edu::WaitMode::hybrid})
    EXPECT_EQ(edu::parse_wait_mode(edu::to_string(m)), m);
  EXPECT_EQ(edu::parse_wait_mode("IRQ"), std::nullopt);
  EXPECT_EQ(edu::parse_wait_mode(""), std::nullopt);
}

TEST(Types, IrqModeParsingToleratesNewline) {
  EXPECT_EQ(edu::parse_irq_mode("msi\n"), edu::IrqMode::msi);
  EXPECT_EQ(edu::parse_irq_mode(" intx "), edu::IrqMode::intx);
  EXPECT_EQ(edu::parse_irq_mode("msix"), edu::IrqMode::unknown);
  EXPECT_EQ(edu::to_string(edu::IrqMode::unknown), "unknown");
}

TEST(Types, CapsNames) {
  edu::Caps c{0x7};
  EXPECT_TRUE(c.has(edu::Cap::dma));
  EXPECT_EQ(c.names(), (std::vector<std::string>{"factorial_irq", "dma", "async"}));
  edu::Caps odd{0x2 | 0x80};
  EXPECT_FALSE(odd.has(edu::Cap::async));
  EXPECT_EQ(odd.names(), (std::vector<std::string>{"dma", "bit7"}));
}

TEST(Types, Constants) {
  EXPECT_EQ(edu::kQemuIdRegister, 0x010000edU);
  EXPECT_EQ(edu::kDmaTransferTime, std::chrono::milliseconds(100));
  EXPECT_EQ(edu::kReservedIrqBits, 0x101U);
  EXPECT_EQ(edu::to_string(edu::Direction::loopback), "loopback");
}

}  // namespace
