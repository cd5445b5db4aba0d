// Bitmap arithmetic and LCS; every expectation was checked against redis-server 7.0.

#include "server/commands/bit_logic.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "server/commands/lcs.h"

namespace arvel::server {
namespace {

using namespace std::string_literals;

constexpr std::string_view kFoobar = "foobar";
const std::string kOnes = "\xff\xff\xff";
const std::string kMixed = "\x00\xff\xf0"s;

std::optional<BitSpan> Bytes(int64_t start, std::optional<int64_t> end = std::nullopt) {
  return BitSpan{start, end, BitUnit::kByte};
}
std::optional<BitSpan> Bits(int64_t start, int64_t end) {
  return BitSpan{start, end, BitUnit::kBit};
}

TEST(BitLogicTest, GetBitCountsFromTheHighBitAndIsZeroPastTheEnd) {
  EXPECT_EQ(GetBit(kFoobar, 0), 0);
  EXPECT_EQ(GetBit(kFoobar, 1), 1);
  EXPECT_EQ(GetBit(kFoobar, 47), 0);
  EXPECT_EQ(GetBit(kFoobar, 48), 0);
  EXPECT_EQ(GetBit(kFoobar, 4294967295u), 0);
  EXPECT_EQ(GetBit("", 0), 0);
}

TEST(BitLogicTest, BitCountInBytes) {
  EXPECT_EQ(BitCount(kFoobar, std::nullopt), 26);
  EXPECT_EQ(BitCount(kFoobar, Bytes(0, 0)), 4);
  EXPECT_EQ(BitCount(kFoobar, Bytes(1, 1)), 6);
  EXPECT_EQ(BitCount(kFoobar, Bytes(0, -1)), 26);
  EXPECT_EQ(BitCount(kFoobar, Bytes(100, 200)), 0);
  EXPECT_EQ(BitCount(kFoobar, Bytes(-100, 100)), 26);
  EXPECT_EQ(BitCount("", std::nullopt), 0);
  EXPECT_EQ(BitCount("", Bytes(0, -1)), 0);
}

TEST(BitLogicTest, BitCountWithNegativeRangeBackwardsIsZero) {
  EXPECT_EQ(BitCount(kFoobar, Bytes(-1, -2)), 0);
  // Clamped, the same range would be the first byte: only BITCOUNT short-cuts it.
  EXPECT_EQ(BitCount(kOnes, Bytes(-100, -200)), 0);
}

TEST(BitLogicTest, BitCountInBits) {
  EXPECT_EQ(BitCount(kFoobar, Bits(5, 30)), 17);
  EXPECT_EQ(BitCount(kFoobar, Bits(-5, -3)), 1);
  EXPECT_EQ(BitCount(kFoobar, Bits(-100, 100)), 26);
  EXPECT_EQ(BitCount(kFoobar, Bits(0, -1)), 26);
  EXPECT_EQ(BitCount(kMixed, Bits(0, -1)), 12);
  EXPECT_EQ(BitCount(kMixed, Bits(9, 20)), 11);
}

TEST(BitLogicTest, BitPosWholeValue) {
  EXPECT_EQ(BitPos(kMixed, 1, std::nullopt), 8);
  EXPECT_EQ(BitPos(kMixed, 0, std::nullopt), 0);
  EXPECT_EQ(BitPos(std::string(3, '\0'), 1, std::nullopt), -1);
  // An empty value has no bit at all, unlike a missing key (the handler's business).
  EXPECT_EQ(BitPos("", 0, std::nullopt), -1);
  EXPECT_EQ(BitPos("", 1, std::nullopt), -1);
}

TEST(BitLogicTest, BitPosForZeroOnAllOnesFindsThePaddingUnlessTheEndIsGiven) {
  EXPECT_EQ(BitPos(kOnes, 0, std::nullopt), 24);
  EXPECT_EQ(BitPos(kOnes, 0, Bytes(0)), 24);
  EXPECT_EQ(BitPos(kOnes, 0, Bytes(0, -1)), -1);
  EXPECT_EQ(BitPos(kOnes, 0, Bits(0, 23)), -1);
}

TEST(BitLogicTest, BitPosInBytes) {
  EXPECT_EQ(BitPos(kMixed, 0, Bytes(1)), 20);
  EXPECT_EQ(BitPos(kMixed, 1, Bytes(2, 2)), 16);
  EXPECT_EQ(BitPos(kMixed, 0, Bytes(2, 2)), 20);
  EXPECT_EQ(BitPos(kMixed, 0, Bytes(1, -1)), 20);
  EXPECT_EQ(BitPos(kMixed, 1, Bytes(-1)), 16);
  EXPECT_EQ(BitPos(kMixed, 1, Bytes(100)), -1);
  EXPECT_EQ(BitPos(kFoobar, 0, Bytes(2)), 16);
  EXPECT_EQ(BitPos(kOnes, 0, Bytes(2, 0)), -1);
}

TEST(BitLogicTest, BitPosNegativeRangeIsClampedToTheStart) {
  EXPECT_EQ(BitPos(kOnes, 0, Bytes(-100, -200)), -1);
  EXPECT_EQ(BitPos(kOnes, 1, Bytes(-100, -200)), 0);
}

TEST(BitLogicTest, BitPosInBits) {
  EXPECT_EQ(BitPos(kFoobar, 1, Bits(7, 15)), 9);
  EXPECT_EQ(BitPos(kFoobar, 0, Bits(0, 5)), 0);
  EXPECT_EQ(BitPos(kFoobar, 1, Bits(0, -1)), 1);
  EXPECT_EQ(BitPos(kFoobar, 0, Bits(-3, -1)), 45);
  EXPECT_EQ(BitPos(kMixed, 0, Bits(12, 15)), -1);
  EXPECT_EQ(BitPos(kMixed, 0, Bits(8, 15)), -1);
  EXPECT_EQ(BitPos(kMixed, 1, Bits(3, 7)), -1);
  EXPECT_EQ(BitPos(kMixed, 0, Bits(20, 23)), 20);
  EXPECT_EQ(BitPos(kMixed, 0, Bits(20, 25)), 20);
  EXPECT_EQ(BitPos(kMixed, 0, Bits(9, 11)), -1);
  EXPECT_EQ(BitPos(kMixed, 1, Bits(-12, -1)), 12);
}

TEST(LcsTest, SequenceLengthAndMatchesInRedisOrder) {
  LcsResult lcs = LongestCommonSubsequence("ohmytext", "mynewtext", 0);
  EXPECT_EQ(lcs.sequence, "mytext");
  EXPECT_EQ(lcs.length, 6u);
  ASSERT_EQ(lcs.matches.size(), 2u);
  EXPECT_EQ(lcs.matches[0].a_first, 4u);
  EXPECT_EQ(lcs.matches[0].a_last, 7u);
  EXPECT_EQ(lcs.matches[0].b_first, 5u);
  EXPECT_EQ(lcs.matches[0].b_last, 8u);
  EXPECT_EQ(lcs.matches[0].length(), 4u);
  EXPECT_EQ(lcs.matches[1].a_first, 2u);
  EXPECT_EQ(lcs.matches[1].a_last, 3u);
  EXPECT_EQ(lcs.matches[1].b_first, 0u);
  EXPECT_EQ(lcs.matches[1].b_last, 1u);
  EXPECT_EQ(lcs.matches[1].length(), 2u);
}

TEST(LcsTest, MinMatchLenDropsShortRunsButNotTheLength) {
  LcsResult lcs = LongestCommonSubsequence("ohmytext", "mynewtext", 4);
  EXPECT_EQ(lcs.length, 6u);
  ASSERT_EQ(lcs.matches.size(), 1u);
  EXPECT_EQ(lcs.matches[0].a_first, 4u);
  EXPECT_EQ(LongestCommonSubsequence("ohmytext", "mynewtext", -5).matches.size(), 2u);
}

TEST(LcsTest, EmptyAndDisjointStrings) {
  for (auto [a, b] : {std::pair{"", ""}, std::pair{"abc", ""}, std::pair{"abc", "xyz"}}) {
    LcsResult lcs = LongestCommonSubsequence(a, b, 0);
    EXPECT_EQ(lcs.sequence, "");
    EXPECT_EQ(lcs.length, 0u);
    EXPECT_TRUE(lcs.matches.empty());
  }
}

TEST(LcsTest, IdenticalStringsAreOneRun) {
  LcsResult lcs = LongestCommonSubsequence("hello", "hello", 0);
  EXPECT_EQ(lcs.sequence, "hello");
  ASSERT_EQ(lcs.matches.size(), 1u);
  EXPECT_EQ(lcs.matches[0].a_first, 0u);
  EXPECT_EQ(lcs.matches[0].a_last, 4u);
  EXPECT_EQ(lcs.matches[0].b_last, 4u);
}

TEST(LcsTest, TableBytes) {
  EXPECT_EQ(LcsTableBytes(0, 0), 4u);
  EXPECT_EQ(LcsTableBytes(8, 9), 9u * 10u * 4u);
}

}  // namespace
}  // namespace arvel::server
