#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "config/config.h"

namespace arvel::config {
namespace {

struct SizeCase {
  std::string text;
  uint64_t bytes;
};

class ParseByteSizeValidTest : public ::testing::TestWithParam<SizeCase> {};

TEST_P(ParseByteSizeValidTest, Parses) {
  Result<uint64_t> size = ParseByteSize(GetParam().text);
  ASSERT_TRUE(size.ok()) << size.status().message();
  EXPECT_EQ(*size, GetParam().bytes);
}

INSTANTIATE_TEST_SUITE_P(Units, ParseByteSizeValidTest,
                         ::testing::Values(SizeCase{"0", 0}, SizeCase{"512", 512},
                                           SizeCase{"1b", 1}, SizeCase{"1k", 1000},
                                           SizeCase{"1kb", 1024}, SizeCase{"64kb", 65536},
                                           SizeCase{"1m", 1000000}, SizeCase{"1mb", 1048576},
                                           SizeCase{"256mb", 268435456}, SizeCase{"1g", 1000000000},
                                           SizeCase{"1gb", 1073741824}, SizeCase{"1GB", 1073741824},
                                           SizeCase{"256Mb", 268435456}, SizeCase{"64KB", 65536},
                                           SizeCase{"7B", 7},
                                           SizeCase{"18446744073709551615", UINT64_MAX},
                                           SizeCase{"17179869183gb", 17179869183ULL << 30}));

class ParseByteSizeInvalidTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ParseByteSizeInvalidTest, Fails) {
  Result<uint64_t> size = ParseByteSize(GetParam());
  EXPECT_FALSE(size.ok()) << GetParam() << " parsed as " << (size.ok() ? *size : 0);
}

INSTANTIATE_TEST_SUITE_P(Junk, ParseByteSizeInvalidTest,
                         ::testing::Values("", "mb", "-1", "+1", "1.5mb", "1 mb", " 1", "1 ", "1tb",
                                           "1kbb", "1bk", "0x10", "1e3", "1_000",
                                           std::string("1\0", 2),
                                           "18446744073709551616",  // 2^64
                                           "17179869184gb",         // 2^34 * 2^30 = 2^64
                                           "18446744073709552k",    // just past 2^64
                                           "99999999999999999999999999999mb"));

TEST(ParseByteSizeTest, ErrorsQuoteTheInput) {
  EXPECT_EQ(ParseByteSize("lots").status().message(), "invalid byte size \"lots\"");
  EXPECT_EQ(ParseByteSize("99999999999gb").status().message(),
            "byte size \"99999999999gb\" is too large");
}

}  // namespace
}  // namespace arvel::config
