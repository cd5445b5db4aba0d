// RequestParser behaviour: request shapes, Redis's error texts, limits, and invariance under
// every way the bytes can be split across reads.

#include "protocol/resp_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "protocol/resp_writer.h"

namespace arvel::protocol {
namespace {

using namespace std::string_literals;  // "...\0..."s keeps embedded NULs
using Requests = std::vector<std::vector<std::string>>;

std::vector<std::string> Strings(const std::vector<std::string_view>& views) {
  return {views.begin(), views.end()};
}

// What a connection saw after feeding all of its input.
struct Outcome {
  Requests requests;
  ParseStatus last = ParseStatus::kIncomplete;
  std::string error;
  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  os << "{last=" << static_cast<int>(o.last) << " error='" << o.error << "' requests=";
  for (const auto& r : o.requests) {
    os << "[";
    for (const auto& a : r) os << "'" << a << "' ";
    os << "]";
  }
  return os << "}";
}

// Feeds `input` the way a connection does: a read ends at each cut, the parser runs until it
// needs more, consumed bytes are dropped. Every Parse gets a fresh copy that is scribbled over
// afterwards, so a parser that remembered pointers instead of offsets would see garbage.
Outcome Feed(std::string_view input, std::vector<size_t> cuts, ParserLimits limits = {}) {
  RequestParser parser(limits);
  Outcome out;
  std::string pending;
  size_t prev = 0;
  cuts.push_back(input.size());
  for (size_t cut : cuts) {
    pending.append(input.substr(prev, cut - prev));
    prev = cut;
    while (true) {
      auto copy = std::make_unique<std::string>(pending);
      out.last = parser.Parse(*copy);
      if (out.last == ParseStatus::kError) {
        out.error = parser.error();
        return out;
      }
      if (out.last == ParseStatus::kIncomplete) break;
      EXPECT_GT(parser.consumed(), 0u);
      out.requests.push_back(Strings(parser.args()));
      std::fill(copy->begin(), copy->end(), '#');
      pending.erase(0, std::max<size_t>(parser.consumed(), 1));
    }
  }
  return out;
}

Outcome FeedWhole(std::string_view input, ParserLimits limits = {}) {
  return Feed(input, {}, limits);
}

Outcome FeedByteByByte(std::string_view input, ParserLimits limits = {}) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
  return Feed(input, cuts, limits);
}

std::string Multibulk(const std::vector<std::string>& args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  std::string out;
  ReplyWriter(&out, RespVersion::kResp2).BulkArray(views.data(), views.size());
  return out;
}

// ---------------------------------------------------------------------------------------------
// Split invariance: each input must give the same requests however the reads were cut.

struct SplitCase {
  std::string name;
  std::string input;
  Outcome expected;
};

std::ostream& operator<<(std::ostream& os, const SplitCase& c) { return os << c.name; }

class SplitTest : public ::testing::TestWithParam<SplitCase> {};

TEST_P(SplitTest, WholeBuffer) { EXPECT_EQ(FeedWhole(GetParam().input), GetParam().expected); }

TEST_P(SplitTest, EverySingleSplitPoint) {
  const SplitCase& c = GetParam();
  for (size_t cut = 0; cut <= c.input.size(); ++cut) {
    ASSERT_EQ(Feed(c.input, {cut}), c.expected) << "split at " << cut;
  }
}

TEST_P(SplitTest, ByteByByte) { EXPECT_EQ(FeedByteByByte(GetParam().input), GetParam().expected); }

TEST_P(SplitTest, RandomMultiSplits) {
  const SplitCase& c = GetParam();
  std::mt19937 rng(1234);
  for (int round = 0; round < 200; ++round) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < c.input.size(); ++i) {
      if (rng() % 4 == 0) cuts.push_back(i);
    }
    ASSERT_EQ(Feed(c.input, cuts), c.expected) << "round " << round;
  }
}

Outcome Ok(Requests requests) { return {std::move(requests), ParseStatus::kIncomplete, ""}; }
Outcome Err(Requests requests, std::string error) {
  return {std::move(requests), ParseStatus::kError, std::move(error)};
}

INSTANTIATE_TEST_SUITE_P(
    Requests, SplitTest,
    ::testing::Values(
        SplitCase{"get", "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n", Ok({{"GET", "key"}})},
        SplitCase{"pipelined_batch",
                  "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
                  "PING\r\n*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n",
                  Ok({{"SET", "k", "hello"}, {"GET", "k"}, {"PING"}, {"PING"}, {"ECHO", "hi"}})},
        SplitCase{"inline_with_quotes", "SET \"a b\" 'c\\'d' \"\\x41\\n\"\r\nGET   \"a b\"\n",
                  Ok({{"SET", "a b", "c'd", "A\n"}, {"GET", "a b"}})},
        SplitCase{"binary_bulk_with_crlf_inside", "*2\r\n$4\r\na\r\nb\r\n$4\r\n\0\xff\n\r\r\n"s,
                  Ok({{"a\r\nb", "\0\xff\n\r"s}})},
        SplitCase{"bulk_that_looks_like_headers", "*2\r\n$4\r\n*1\r\n\r\n$4\r\n$3\r\n\r\n",
                  Ok({{"*1\r\n", "$3\r\n"}})},
        SplitCase{"empty_bulk", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n", Ok({{"SET", "k", ""}})},
        SplitCase{"empty_requests", "*0\r\n*-1\r\n\r\n\n  \t\r\nPING\r\n",
                  Ok({{}, {}, {}, {}, {}, {"PING"}})},
        SplitCase{"trailing_partial_request", "PING\r\n*2\r\n$3\r\nGET\r\n$5\r\nab",
                  Ok({{"PING"}})},
        SplitCase{"error_after_good_request", "PING\r\n*1\r\nX3\r\nfoo\r\n",
                  Err({{"PING"}}, "Protocol error: expected '$', got 'X'")},
        SplitCase{"missing_crlf_after_bulk", "*1\r\n$3\r\nfooXY*1\r\n$4\r\nPING\r\n",
                  Err({}, "Protocol error: expected CRLF after bulk data")},
        SplitCase{"unbalanced_inline", "GET a\r\nSET \"a b\r\nPING\r\n",
                  Err({{"GET", "a"}}, "Protocol error: unbalanced quotes in request")}),
    [](const auto& info) { return info.param.name; });

// Random client traffic composed by the writer (as a client library would), every request
// type mixed, cut at random points.
TEST(ParserRoundTrip, RandomPipelinesSurviveRandomSplits) {
  std::mt19937 rng(42);
  for (int round = 0; round < 300; ++round) {
    std::string input;
    Requests expected;
    int n = 1 + static_cast<int>(rng() % 6);
    for (int r = 0; r < n; ++r) {
      std::vector<std::string> args(rng() % 5);
      for (auto& a : args) {
        a.resize(rng() % 40);
        for (auto& ch : a) ch = static_cast<char>(rng() % 256);
      }
      input += Multibulk(args);
      expected.push_back(args);
    }
    std::vector<size_t> cuts;
    for (size_t i = 1; i < input.size(); ++i) {
      if (rng() % 7 == 0) cuts.push_back(i);
    }
    ASSERT_EQ(Feed(input, cuts), Ok(expected)) << "round " << round;
  }
}

// ---------------------------------------------------------------------------------------------
// Error texts: the same text whether the bytes come at once or one by one.

struct ErrorCase {
  std::string input;
  std::string error;
};

class ErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ErrorTest, WholeAndByteByByte) {
  Outcome expected = Err({}, GetParam().error);
  EXPECT_EQ(FeedWhole(GetParam().input), expected);
  EXPECT_EQ(FeedByteByByte(GetParam().input), expected);
}

constexpr const char* kBadMbulk = "Protocol error: invalid multibulk length";
constexpr const char* kBadBulk = "Protocol error: invalid bulk length";
constexpr const char* kNoCrlf = "Protocol error: expected CRLF after bulk data";
constexpr const char* kUnbalanced = "Protocol error: unbalanced quotes in request";

INSTANTIATE_TEST_SUITE_P(
    RedisTexts, ErrorTest,
    ::testing::Values(
        ErrorCase{"*abc\r\n", kBadMbulk}, ErrorCase{"*\r\n", kBadMbulk},
        ErrorCase{"*+1\r\n", kBadMbulk}, ErrorCase{"*01\r\n", kBadMbulk},
        ErrorCase{"*-0\r\n", kBadMbulk}, ErrorCase{"*1 \r\n", kBadMbulk},
        ErrorCase{"* 1\r\n", kBadMbulk}, ErrorCase{"*1\rX$1\r\na\r\n", kBadMbulk},
        ErrorCase{"*99999999999999999999\r\n", kBadMbulk}, ErrorCase{"*1048577\r\n", kBadMbulk},
        ErrorCase{"*1\r\nX3\r\nfoo\r\n", "Protocol error: expected '$', got 'X'"},
        ErrorCase{"*2\r\n$1\r\na\r\n:1\r\n", "Protocol error: expected '$', got ':'"},
        ErrorCase{"*1\r\n\r\n", "Protocol error: expected '$', got '\r'"},
        ErrorCase{"*1\r\n$-1\r\n", kBadBulk}, ErrorCase{"*1\r\n$abc\r\n", kBadBulk},
        ErrorCase{"*1\r\n$\r\n", kBadBulk}, ErrorCase{"*1\r\n$03\r\nfoo\r\n", kBadBulk},
        ErrorCase{"*1\r\n$3\rXfoo\r\n", kBadBulk}, ErrorCase{"*1\r\n$536870913\r\n", kBadBulk},
        ErrorCase{"*1\r\n$3\r\nfooXY", kNoCrlf}, ErrorCase{"*1\r\n$3\r\nfoo\rX", kNoCrlf},
        ErrorCase{"*1\r\n$3\r\nfoo\n\r", kNoCrlf}, ErrorCase{"*1\r\n$0\r\nab", kNoCrlf},
        ErrorCase{"SET \"a b\r\n", kUnbalanced}, ErrorCase{"SET 'a\r\n", kUnbalanced},
        ErrorCase{"SET \"a\"b\r\n", kUnbalanced}, ErrorCase{"SET 'a'b\r\n", kUnbalanced},
        ErrorCase{"SET \"a\\\"\r\n", kUnbalanced}, ErrorCase{"SET \"a\\\r\n", kUnbalanced},
        ErrorCase{"SET \"\"x\n", kUnbalanced}),
    [](const auto& info) { return "case" + std::to_string(info.index); });

// ---------------------------------------------------------------------------------------------
// Header-line and inline length limits, at their exact boundaries.

constexpr size_t k64K = 64 * 1024;

TEST(ParserLimitsTest, MultibulkCountLineLongerThan64KiBWithoutCrIsTooBig) {
  std::string almost = "*" + std::string(k64K - 1, '1');  // 64 KiB in all: Redis still waits
  EXPECT_EQ(FeedWhole(almost).last, ParseStatus::kIncomplete);
  EXPECT_EQ(FeedWhole(almost + "1"), Err({}, "Protocol error: too big mbulk count string"));
  EXPECT_EQ(Feed(almost + "1", {1, 1000, k64K}),
            Err({}, "Protocol error: too big mbulk count string"));
}

TEST(ParserLimitsTest, BulkCountLineLongerThan64KiBWithoutCrIsTooBig) {
  std::string prefix = "*1\r\n";
  std::string almost = prefix + "$" + std::string(k64K - 1, '1');
  EXPECT_EQ(FeedWhole(almost).last, ParseStatus::kIncomplete);
  EXPECT_EQ(FeedWhole(almost + "1"), Err({}, "Protocol error: too big bulk count string"));
  EXPECT_EQ(Feed(almost + "1", {3, 5, 70, k64K}),
            Err({}, "Protocol error: too big bulk count string"));
}

TEST(ParserLimitsTest, LongHeaderLineThatEndsIsJustInvalid) {
  std::string line = "*" + std::string(1000, '1') + "\r\n";
  EXPECT_EQ(FeedWhole(line), Err({}, kBadMbulk));
}

TEST(ParserLimitsTest, InlineLineAtTheLimitIsAcceptedOneMoreIsTooBig) {
  std::string at_limit(k64K, 'a');
  EXPECT_EQ(FeedWhole(at_limit).last, ParseStatus::kIncomplete);
  EXPECT_EQ(FeedWhole(at_limit + "\r").last, ParseStatus::kIncomplete);
  EXPECT_EQ(FeedWhole(at_limit + "\r\n"), Ok({{at_limit}}));
  EXPECT_EQ(FeedWhole(at_limit + "\n"), Ok({{at_limit}}));
  const std::string too_big = "Protocol error: too big inline request";
  EXPECT_EQ(FeedWhole(at_limit + "a"), Err({}, too_big));
  EXPECT_EQ(FeedWhole(at_limit + "\rx"), Err({}, too_big));
  // A too-long line is refused even when its newline arrived in the same read.
  EXPECT_EQ(FeedWhole(at_limit + "a\r\n"), Err({}, too_big));
  EXPECT_EQ(FeedWhole(at_limit + "a\n"), Err({}, too_big));
  EXPECT_EQ(Feed(at_limit + "a\r\n", {100, k64K}), Err({}, too_big));
}

TEST(ParserLimitsTest, ConfiguredLimitsAreEnforcedAtTheirBoundaries) {
  ParserLimits limits{.max_bulk_len = 5, .max_multibulk = 2, .max_inline_len = 8};
  EXPECT_EQ(FeedWhole("*2\r\n$5\r\nabcde\r\n$0\r\n\r\n", limits), Ok({{"abcde", ""}}));
  EXPECT_EQ(FeedWhole("*1\r\n$6\r\n", limits), Err({}, kBadBulk));
  EXPECT_EQ(FeedWhole("*3\r\n", limits), Err({}, kBadMbulk));
  EXPECT_EQ(FeedWhole("12345678\r\n", limits), Ok({{"12345678"}}));
  EXPECT_EQ(FeedWhole("123456789\r\n", limits), Err({}, "Protocol error: too big inline request"));
  EXPECT_EQ(FeedByteByByte("123456789\r\n", limits),
            Err({}, "Protocol error: too big inline request"));
}

TEST(ParserLimitsTest, DefaultLimitsMatchTheSpec) {
  ParserLimits limits;
  EXPECT_EQ(limits.max_bulk_len, 512LL * 1024 * 1024);
  EXPECT_EQ(limits.max_multibulk, 1024 * 1024);
  EXPECT_EQ(limits.max_inline_len, k64K);
  EXPECT_EQ(FeedWhole("*1048576\r\n").last, ParseStatus::kIncomplete);
  EXPECT_EQ(FeedWhole("*1\r\n$536870912\r\n").last, ParseStatus::kIncomplete);
}

// ---------------------------------------------------------------------------------------------
// Inline splitting as Redis's sdssplitargs.

struct InlineCase {
  std::string line;
  std::vector<std::string> args;
};

class InlineSplitTest : public ::testing::TestWithParam<InlineCase> {};

TEST_P(InlineSplitTest, SplitsLikeRedis) {
  EXPECT_EQ(FeedWhole(GetParam().line + "\r\n"), Ok({GetParam().args}));
}

INSTANTIATE_TEST_SUITE_P(
    Sdssplitargs, InlineSplitTest,
    ::testing::Values(InlineCase{"  a   b\t c  ", {"a", "b", "c"}},
                      InlineCase{"a\vb", {"a\vb"}},  // \v separates tokens but does not end one
                      InlineCase{"\"\\n\\r\\t\\b\\a\\\\\\\"\\q\"", {"\n\r\t\b\a\\\"q"}},
                      InlineCase{"\"\\x41\\x4a\\x4A\\x00\"", {"AJJ\0"s}},
                      InlineCase{"\"\\xZZ\" \"\\x4\"", {"xZZ", "x4"}},
                      InlineCase{"foo\"bar baz\"", {"foobar baz"}},
                      InlineCase{"'a\\'b' 'c\\nd' 'e\"f'", {"a'b", "c\\nd", "e\"f"}},
                      InlineCase{"\"\" ''", {"", ""}},
                      InlineCase{"\"a\"\t\"b\"\v'c'", {"a", "b", "c"}},
                      InlineCase{"set k \"\"", {"set", "k", ""}},
                      InlineCase{"a\0b c"s, {"a\0b"s, "c"}}, InlineCase{"GET k\r", {"GET", "k"}}),
    [](const auto& info) { return "case" + std::to_string(info.index); });

// ---------------------------------------------------------------------------------------------
// The calling contract: consumed(), bytes_wanted(), zero copy, errors, Reset().

TEST(ParserTest, ParsesManyRequestsFromOneBufferUsingConsumed) {
  std::string buf;
  for (int i = 0; i < 100; ++i) {
    buf += i % 2 ? Multibulk({"GET", "key" + std::to_string(i)})
                 : "INCR key" + std::to_string(i) + "\r\n";
  }
  RequestParser parser;
  size_t offset = 0;
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(parser.Parse(std::string_view(buf).substr(offset)), ParseStatus::kOk);
    std::vector<std::string> want = {i % 2 ? "GET" : "INCR", "key" + std::to_string(i)};
    EXPECT_EQ(Strings(parser.args()), want);
    offset += parser.consumed();
  }
  EXPECT_EQ(offset, buf.size());
  EXPECT_EQ(parser.Parse(std::string_view(buf).substr(offset)), ParseStatus::kIncomplete);
}

TEST(ParserTest, ConsumedIsZeroWhileIncomplete) {
  RequestParser parser;
  std::string buf = "*2\r\n$3\r\nGET\r\n$1\r\n";
  EXPECT_EQ(parser.Parse(buf), ParseStatus::kIncomplete);
  EXPECT_EQ(parser.consumed(), 0u);
  EXPECT_TRUE(parser.args().empty());
  buf += "k\r\nrest";
  EXPECT_EQ(parser.Parse(buf), ParseStatus::kOk);
  EXPECT_EQ(parser.consumed(), buf.size() - 4);
}

TEST(ParserTest, BytesWantedTellsHowMuchOfABulkIsMissing) {
  RequestParser parser;
  std::string buf = "*2\r\n$3\r\nSET\r\n$100";
  EXPECT_EQ(parser.Parse(buf), ParseStatus::kIncomplete);
  EXPECT_EQ(parser.bytes_wanted(), 0u);  // header not complete: unknown
  buf += "\r\n" + std::string(10, 'x');
  EXPECT_EQ(parser.Parse(buf), ParseStatus::kIncomplete);
  EXPECT_EQ(parser.bytes_wanted(), 92u);  // 90 bytes of data and "\r\n"
  buf += std::string(90, 'x') + "\r";
  EXPECT_EQ(parser.Parse(buf), ParseStatus::kIncomplete);
  EXPECT_EQ(parser.bytes_wanted(), 1u);
  buf += "\n";
  EXPECT_EQ(parser.Parse(buf), ParseStatus::kOk);
  EXPECT_EQ(parser.bytes_wanted(), 0u);
  EXPECT_EQ(parser.args()[1].size(), 100u);
}

bool PointsInto(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

TEST(ParserTest, MultibulkArgumentsAreViewsIntoTheCallersBuffer) {
  RequestParser parser;
  std::string buf = Multibulk({"SET", "key", std::string(1000, 'v')});
  ASSERT_EQ(parser.Parse(buf), ParseStatus::kOk);
  for (std::string_view arg : parser.args()) EXPECT_TRUE(PointsInto(arg, buf));
}

TEST(ParserTest, PlainInlineArgumentsAreViewsQuotedOnesAreUnescapedCopies) {
  RequestParser parser;
  std::string buf = "SET key \"a\\x41\"\r\n";
  ASSERT_EQ(parser.Parse(buf), ParseStatus::kOk);
  EXPECT_TRUE(PointsInto(parser.args()[0], buf));
  EXPECT_TRUE(PointsInto(parser.args()[1], buf));
  EXPECT_FALSE(PointsInto(parser.args()[2], buf));
  EXPECT_EQ(parser.args()[2], "aA");
}

TEST(ParserTest, ManyQuotedInlineArgumentsStayValidTogether) {
  // Storage growth must not move earlier unescaped arguments.
  std::string line;
  std::vector<std::string> want;
  for (int i = 0; i < 200; ++i) {
    line += "\"arg\\t" + std::to_string(i) + "\" ";
    want.push_back("arg\t" + std::to_string(i));
  }
  EXPECT_EQ(FeedWhole(line + "\n"), Ok({want}));
}

TEST(ParserTest, ErrorIsStickyUntilReset) {
  RequestParser parser;
  ASSERT_EQ(parser.Parse("*x\r\n"), ParseStatus::kError);
  EXPECT_EQ(parser.error(), kBadMbulk);
  EXPECT_EQ(parser.Parse("PING\r\n"), ParseStatus::kError);
  EXPECT_TRUE(parser.args().empty());
  parser.Reset();
  EXPECT_TRUE(parser.error().empty());
  ASSERT_EQ(parser.Parse("PING\r\n"), ParseStatus::kOk);
  EXPECT_EQ(Strings(parser.args()), std::vector<std::string>{"PING"});
}

TEST(ParserTest, ResetForgetsAPartialRequest) {
  RequestParser parser;
  ASSERT_EQ(parser.Parse("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n"), ParseStatus::kIncomplete);
  parser.Reset();
  ASSERT_EQ(parser.Parse("*1\r\n$4\r\nPING\r\n"), ParseStatus::kOk);
  EXPECT_EQ(Strings(parser.args()), std::vector<std::string>{"PING"});
}

TEST(ParserTest, ABufferShorterThanRememberedProgressIsReparsedNotOverread) {
  RequestParser parser;
  ASSERT_EQ(parser.Parse("*2\r\n$3\r\nGET\r\n$3\r\nk"), ParseStatus::kIncomplete);
  // Contract violation (the caller dropped bytes): the parser starts over within bounds.
  EXPECT_EQ(parser.Parse("*1\r\n"), ParseStatus::kIncomplete);
  ASSERT_EQ(parser.Parse("*1\r\n$1\r\nx\r\n"), ParseStatus::kOk);
  EXPECT_EQ(Strings(parser.args()), std::vector<std::string>{"x"});
}

TEST(ParserTest, LargeBulkArrivingInPiecesIsReturnedIntact) {
  std::string value(1 << 20, '\0');
  for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>(i * 7 + (i >> 9));
  std::string input = Multibulk({"SET", "big", value});
  std::vector<size_t> cuts;
  for (size_t i = 1; i < input.size(); i += 4093) cuts.push_back(i);
  EXPECT_EQ(Feed(input, cuts), Ok({{"SET", "big", value}}));
}

}  // namespace
}  // namespace arvel::protocol
