// ReplyWriter: the exact bytes Redis sends for each reply type, in RESP2 and RESP3.

#include "protocol/resp_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace arvel::protocol {
namespace {

using namespace std::string_literals;

std::string Write(RespVersion version, const std::function<void(ReplyWriter&)>& fill) {
  std::string out;
  ReplyWriter writer(&out, version);
  fill(writer);
  return out;
}

std::string Resp2(const std::function<void(ReplyWriter&)>& fill) {
  return Write(RespVersion::kResp2, fill);
}
std::string Resp3(const std::function<void(ReplyWriter&)>& fill) {
  return Write(RespVersion::kResp3, fill);
}

// Types encoded identically in both versions.
TEST(ReplyWriterTest, SharedTypesAreTheSameInBothVersions) {
  for (RespVersion v : {RespVersion::kResp2, RespVersion::kResp3}) {
    SCOPED_TRACE(static_cast<int>(v));
    EXPECT_EQ(Write(v, [](auto& w) { w.Ok(); }), "+OK\r\n");
    EXPECT_EQ(Write(v, [](auto& w) { w.Simple("PONG"); }), "+PONG\r\n");
    EXPECT_EQ(Write(v, [](auto& w) { w.Error("ERR syntax error"); }), "-ERR syntax error\r\n");
    EXPECT_EQ(Write(v, [](auto& w) { w.Integer(0); }), ":0\r\n");
    EXPECT_EQ(Write(v, [](auto& w) { w.Integer(-42); }), ":-42\r\n");
    EXPECT_EQ(Write(v, [](auto& w) { w.Bulk("foo"); }), "$3\r\nfoo\r\n");
    EXPECT_EQ(Write(v, [](auto& w) { w.Bulk(""); }), "$0\r\n\r\n");
    EXPECT_EQ(Write(v, [](auto& w) { w.ArrayHeader(0); }), "*0\r\n");
    EXPECT_EQ(Write(v, [](auto& w) { w.ArrayHeader(12); }), "*12\r\n");
  }
}

TEST(ReplyWriterTest, IntegerExtremes) {
  EXPECT_EQ(Resp2([](auto& w) { w.Integer(INT64_MAX); }), ":9223372036854775807\r\n");
  EXPECT_EQ(Resp2([](auto& w) { w.Integer(INT64_MIN); }), ":-9223372036854775808\r\n");
}

TEST(ReplyWriterTest, BulkIsBinarySafe) {
  std::string value = "a\r\nb\0c"s;
  EXPECT_EQ(Resp2([&](auto& w) { w.Bulk(value); }), "$6\r\na\r\nb\0c\r\n"s);
}

TEST(ReplyWriterTest, ErrorAndSimpleReplaceLineBreaksBySpaces) {
  EXPECT_EQ(Resp2([](auto& w) { w.Error("ERR bad\r\nthing\n"); }), "-ERR bad  thing \r\n");
  EXPECT_EQ(Resp3([](auto& w) { w.Simple("a\rb"); }), "+a b\r\n");
  EXPECT_EQ(Resp2([](auto& w) { w.Error("ERR plain"); }), "-ERR plain\r\n");
}

TEST(ReplyWriterTest, WritesAppendToWhatIsAlreadyInTheBuffer) {
  std::string out = "+earlier\r\n";
  ReplyWriter writer(&out, RespVersion::kResp2);
  writer.Error("ERR x\ny");
  writer.Integer(7);
  EXPECT_EQ(out, "+earlier\r\n-ERR x y\r\n:7\r\n");
  EXPECT_EQ(writer.buffer(), &out);
  EXPECT_EQ(writer.version(), RespVersion::kResp2);
}

TEST(ReplyWriterTest, NullsDegradeToNullBulkAndNullArrayInResp2) {
  EXPECT_EQ(Resp2([](auto& w) { w.Null(); }), "$-1\r\n");
  EXPECT_EQ(Resp2([](auto& w) { w.NullArray(); }), "*-1\r\n");
  EXPECT_EQ(Resp3([](auto& w) { w.Null(); }), "_\r\n");
  EXPECT_EQ(Resp3([](auto& w) { w.NullArray(); }), "_\r\n");
}

TEST(ReplyWriterTest, MapIsFlatArrayOfTwiceTheItemsInResp2) {
  EXPECT_EQ(Resp3([](auto& w) { w.MapHeader(3); }), "%3\r\n");
  EXPECT_EQ(Resp2([](auto& w) { w.MapHeader(3); }), "*6\r\n");
  EXPECT_EQ(Resp3([](auto& w) { w.MapHeader(0); }), "%0\r\n");
  EXPECT_EQ(Resp2([](auto& w) { w.MapHeader(0); }), "*0\r\n");
}

TEST(ReplyWriterTest, SetIsArrayInResp2) {
  EXPECT_EQ(Resp3([](auto& w) { w.SetHeader(2); }), "~2\r\n");
  EXPECT_EQ(Resp2([](auto& w) { w.SetHeader(2); }), "*2\r\n");
}

TEST(ReplyWriterTest, BoolIsIntegerInResp2) {
  EXPECT_EQ(Resp3([](auto& w) { w.Bool(true); }), "#t\r\n");
  EXPECT_EQ(Resp3([](auto& w) { w.Bool(false); }), "#f\r\n");
  EXPECT_EQ(Resp2([](auto& w) { w.Bool(true); }), ":1\r\n");
  EXPECT_EQ(Resp2([](auto& w) { w.Bool(false); }), ":0\r\n");
}

TEST(ReplyWriterTest, DoubleIsBulkStringInResp2) {
  EXPECT_EQ(Resp3([](auto& w) { w.Double(1.5); }), ",1.5\r\n");
  EXPECT_EQ(Resp3([](auto& w) { w.Double(3.0); }), ",3\r\n");
  EXPECT_EQ(Resp3([](auto& w) { w.Double(INFINITY); }), ",inf\r\n");
  EXPECT_EQ(Resp3([](auto& w) { w.Double(-INFINITY); }), ",-inf\r\n");
  EXPECT_EQ(Resp3([](auto& w) { w.Double(NAN); }), ",nan\r\n");
  EXPECT_EQ(Resp2([](auto& w) { w.Double(1.5); }), "$3\r\n1.5\r\n");
  EXPECT_EQ(Resp2([](auto& w) { w.Double(-INFINITY); }), "$4\r\n-inf\r\n");
  EXPECT_EQ(Resp2([](auto& w) { w.Double(0.1); }), "$3\r\n0.1\r\n");
}

TEST(ReplyWriterTest, VerbatimCarriesItsFormatInResp3AndIsBulkInResp2) {
  EXPECT_EQ(Resp3([](auto& w) { w.Verbatim("hello"); }), "=9\r\ntxt:hello\r\n");
  EXPECT_EQ(Resp3([](auto& w) { w.Verbatim("# x", "mkd"); }), "=7\r\nmkd:# x\r\n");
  EXPECT_EQ(Resp3([](auto& w) { w.Verbatim("", "txt"); }), "=4\r\ntxt:\r\n");
  EXPECT_EQ(Resp3([](auto& w) { w.Verbatim("x", "toolong"); }), "=5\r\ntxt:x\r\n");
  EXPECT_EQ(Resp2([](auto& w) { w.Verbatim("hello", "mkd"); }), "$5\r\nhello\r\n");
}

TEST(ReplyWriterTest, BulkArrayWritesHeaderAndEveryItem) {
  std::vector<std::string_view> items = {"GET", "", "k\r\n"};
  EXPECT_EQ(Resp2([&](auto& w) { w.BulkArray(items.data(), items.size()); }),
            "*3\r\n$3\r\nGET\r\n$0\r\n\r\n$3\r\nk\r\n\r\n");
  EXPECT_EQ(Resp3([&](auto& w) { w.BulkArray(nullptr, 0); }), "*0\r\n");
}

// ---------------------------------------------------------------------------------------------
// FormatDouble: shortest digits, laid out as Redis 7.2 does.

struct DoubleCase {
  double value;
  std::string text;
};

class FormatDoubleTest : public ::testing::TestWithParam<DoubleCase> {};

TEST_P(FormatDoubleTest, MatchesRedis) {
  EXPECT_EQ(FormatDouble(GetParam().value), GetParam().text);
}

INSTANTIATE_TEST_SUITE_P(
    Values, FormatDoubleTest,
    ::testing::Values(
        DoubleCase{1.5, "1.5"}, DoubleCase{10.5, "10.5"}, DoubleCase{3.0, "3"},
        DoubleCase{-3.0, "-3"}, DoubleCase{100.0, "100"}, DoubleCase{0.1, "0.1"},
        DoubleCase{0.3, "0.3"}, DoubleCase{-0.25, "-0.25"},
        DoubleCase{1.0 / 3, "0.3333333333333333"}, DoubleCase{0.1 + 0.2, "0.30000000000000004"},
        DoubleCase{1e20, "1e+20"}, DoubleCase{1e21, "1e+21"}, DoubleCase{-1e20, "-1e+20"},
        DoubleCase{1e18, "1000000000000000000"},
        DoubleCase{4611686018427387904.0, "4611686018427387904"},  // 2^62: still integral
        DoubleCase{9223372036854775808.0, "9223372036854776000"},  // 2^63: digits + zeros
        DoubleCase{1.2345678901234568e20, "123456789012345680000"},
        // Past 2^62, plain digits while the exponent is below digits + 7, as fpconv does.
        DoubleCase{1.234567890123e19, "12345678901230000000"},
        DoubleCase{1.23456789012e19, "1.23456789012e+19"}, DoubleCase{1.5e300, "1.5e+300"},
        DoubleCase{-2.5e-300, "-2.5e-300"}, DoubleCase{0.0001, "0.0001"},
        DoubleCase{1.5e-5, "0.000015"}, DoubleCase{1e-6, "0.000001"}, DoubleCase{1e-7, "1e-7"},
        DoubleCase{1.25e-6, "1.25e-6"}, DoubleCase{1234.5678901, "1234.5678901"},
        DoubleCase{5e-324, "5e-324"},
        DoubleCase{std::numeric_limits<double>::max(), "1.7976931348623157e+308"},
        DoubleCase{0.0, "0"}, DoubleCase{-0.0, "-0"}, DoubleCase{INFINITY, "inf"},
        DoubleCase{-INFINITY, "-inf"}, DoubleCase{NAN, "nan"}, DoubleCase{-NAN, "nan"}),
    [](const auto& info) { return "case" + std::to_string(info.index); });

}  // namespace
}  // namespace arvel::protocol
