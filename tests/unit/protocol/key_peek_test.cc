// PeekKeys: the keys of the complete pipelined requests at the start of a buffer.

#include "protocol/key_peek.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace arvel::protocol {
namespace {

std::vector<std::string> Peek(std::string_view buf, size_t max = 16) {
  std::vector<std::string_view> keys(max);
  const size_t n = PeekKeys(buf, keys);
  return {keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(n)};
}

constexpr std::string_view kGetA = "*2\r\n$3\r\nGET\r\n$1\r\na\r\n";
constexpr std::string_view kSetBc = "*3\r\n$3\r\nSET\r\n$2\r\nbc\r\n$5\r\nvalue\r\n";

TEST(PeekKeysTest, SecondArgumentOfEachCompleteRequest) {
  EXPECT_EQ(Peek(std::string(kGetA) + std::string(kSetBc)), (std::vector<std::string>{"a", "bc"}));
  // A request of one argument has no key and is skipped; the look goes on past it.
  EXPECT_EQ(Peek("*1\r\n$4\r\nPING\r\n" + std::string(kGetA)), (std::vector<std::string>{"a"}));
  // Binary-safe: the length decides, not the bytes.
  EXPECT_EQ(Peek("*2\r\n$3\r\nGET\r\n$4\r\na\r\nb\r\n"), (std::vector<std::string>{"a\r\nb"}));
}

TEST(PeekKeysTest, StopsAtAnIncompleteOrUnusualRequest) {
  const std::string two = std::string(kGetA) + std::string(kSetBc);
  for (size_t cut = 0; cut < kSetBc.size(); ++cut) {
    EXPECT_EQ(Peek(two.substr(0, kGetA.size() + cut)), (std::vector<std::string>{"a"})) << cut;
  }
  EXPECT_TRUE(Peek("GET a\r\n" + std::string(kGetA)).empty());  // inline
  EXPECT_TRUE(Peek("*x\r\n").empty());
  EXPECT_TRUE(Peek("*2\r\n$99999999999\r\nGET\r\n").empty());
  EXPECT_TRUE(Peek("*2\r\n:3\r\n").empty());
  EXPECT_TRUE(Peek("").empty());
}

TEST(PeekKeysTest, FillsAtMostTheRoomGiven) {
  std::string many;
  for (int i = 0; i < 40; ++i) many += kGetA;
  EXPECT_EQ(Peek(many, 16).size(), 16u);
  EXPECT_EQ(Peek(many, 64).size(), 40u);
}

}  // namespace
}  // namespace arvel::protocol
