// What a request may cost the parser: memory must follow the bytes that arrived, not the
// lengths a client claims, and time must stay linear however finely a request is split.
//
// This file replaces the global operator new to count allocated bytes. The replacement is
// process-wide but only counts; every other test in the binary is unaffected.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>

#include "protocol/resp_parser.h"

namespace {
std::atomic<size_t> g_allocated_bytes{0};
}  // namespace

void* operator new(size_t size) {
  g_allocated_bytes.fetch_add(size, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace arvel::protocol {
namespace {

// Bytes allocated while `fn` runs.
template <typename Fn>
size_t AllocatedDuring(Fn fn) {
  size_t before = g_allocated_bytes.load();
  fn();
  return g_allocated_bytes.load() - before;
}

constexpr size_t kSmall = 64 * 1024;

TEST(ParserResourcesTest, AllocationCounterWorks) {
  // Guards the guard: if the replacement were not linked in, the tests below would pass vacuously.
  size_t n = AllocatedDuring([] { std::string s(100000, 'x'); });
  EXPECT_GE(n, 100000u);
}

TEST(ParserResourcesTest, HugeClaimedArgumentCountAllocatesLittle) {
  RequestParser parser;  // default limit: 1M arguments
  size_t bytes = AllocatedDuring(
      [&] { EXPECT_EQ(parser.Parse("*1048576\r\n$3\r\nSET\r\n"), ParseStatus::kIncomplete); });
  EXPECT_LT(bytes, kSmall);
}

TEST(ParserResourcesTest, BillionArgumentsClaimedUnderARaisedLimitAllocatesLittle) {
  RequestParser parser(ParserLimits{.max_multibulk = INT64_MAX});
  auto start = std::chrono::steady_clock::now();
  size_t bytes = AllocatedDuring([&] {
    EXPECT_EQ(parser.Parse("*1000000000\r\n"), ParseStatus::kIncomplete);
    EXPECT_EQ(parser.Parse("*1000000000\r\n$1\r\na\r\n"), ParseStatus::kIncomplete);
  });
  EXPECT_LT(bytes, kSmall);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(ParserResourcesTest, HugeClaimedBulkLengthAllocatesLittleAndSaysHowMuchIsMissing) {
  RequestParser parser;  // default limit: 512 MiB
  std::string buf = "*2\r\n$3\r\nSET\r\n$536870912\r\n";
  size_t bytes = AllocatedDuring([&] { EXPECT_EQ(parser.Parse(buf), ParseStatus::kIncomplete); });
  EXPECT_LT(bytes, kSmall);
  EXPECT_EQ(parser.bytes_wanted(), 536870914u);
  buf += "abc";
  EXPECT_EQ(parser.Parse(buf), ParseStatus::kIncomplete);
  EXPECT_EQ(parser.bytes_wanted(), 536870911u);
}

TEST(ParserResourcesTest, MaximumBulkLengthUnderARaisedLimitAllocatesLittle) {
  RequestParser parser(ParserLimits{.max_bulk_len = INT64_MAX});
  size_t bytes = AllocatedDuring(
      [&] { EXPECT_EQ(parser.Parse("*1\r\n$9223372036854775807\r\n"), ParseStatus::kIncomplete); });
  EXPECT_LT(bytes, kSmall);
  EXPECT_EQ(parser.bytes_wanted(), 9223372036854775809u);
}

// A full-size request (the 1M-argument limit) delivered 64 bytes at a time: about 115k Parse
// calls. Re-parsing from the start on each call would be ~10^11 steps; linear is milliseconds.
TEST(ParserResourcesTest, MillionArgumentRequestInTinyPiecesParsesInLinearTime) {
  constexpr int64_t kArgs = 1024 * 1024;
  constexpr auto kDeadline = std::chrono::seconds(20);
  std::string input = "*" + std::to_string(kArgs) + "\r\n";
  for (int64_t i = 0; i < kArgs; ++i) input += "$1\r\n" + std::string(1, 'a' + i % 26) + "\r\n";

  RequestParser parser;
  std::string received;
  received.reserve(input.size());
  auto start = std::chrono::steady_clock::now();
  ParseStatus status = ParseStatus::kIncomplete;
  for (size_t off = 0; off < input.size(); off += 64) {
    received.append(input, off, 64);
    status = parser.Parse(received);
    if (status != ParseStatus::kIncomplete) break;
    // A quadratic parser would take hours; give up (and fail below) well before that.
    if (std::chrono::steady_clock::now() - start > kDeadline) break;
  }
  auto elapsed = std::chrono::steady_clock::now() - start;

  ASSERT_EQ(status, ParseStatus::kOk);
  EXPECT_EQ(parser.consumed(), input.size());
  ASSERT_EQ(parser.args().size(), static_cast<size_t>(kArgs));
  EXPECT_EQ(parser.args()[0], "a");
  EXPECT_EQ(parser.args()[kArgs - 1], std::string(1, 'a' + (kArgs - 1) % 26));
  EXPECT_LT(elapsed, kDeadline);
}

// The scan for a line terminator resumes where the previous call stopped; whatever offset it
// remembers must neither skip the terminator nor miss the point where a line became too long.
TEST(ParserResourcesTest, LongLinesTricklingInByteByByteEndWhereTheyShould) {
  std::string inline_line = std::string(64 * 1024 - 2, 'x') + "\r\n";
  std::string header = "*1\r\n$" + std::string(64 * 1024, '1');
  for (const std::string& input : {inline_line, header}) {
    RequestParser parser;
    ParseStatus status = ParseStatus::kIncomplete;
    size_t n = 0;
    while (status == ParseStatus::kIncomplete && n < input.size()) {
      status = parser.Parse(std::string_view(input).substr(0, ++n));
    }
    EXPECT_EQ(n, input.size());
    if (input == header) {
      EXPECT_EQ(parser.error(), "Protocol error: too big bulk count string");
    } else {
      ASSERT_EQ(status, ParseStatus::kOk);
      EXPECT_EQ(parser.args().at(0).size(), 64u * 1024 - 2);
    }
  }
}

}  // namespace
}  // namespace arvel::protocol
