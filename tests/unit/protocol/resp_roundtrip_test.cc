// Compose → decode round trips for every reply type in RESP2 and RESP3. The decoder below is a
// strict, independent reading of the RESP spec (lengths, CRLFs, types), so a writer that emits a
// wrong length or a stray byte fails here even where no exact-bytes test covers the case.

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "protocol/resp_writer.h"

namespace arvel::protocol {
namespace {

using namespace std::string_literals;

// Decodes one RESP2/RESP3 value into a canonical description such as
// "map{bulk(1)a=>int(1)}", or nullopt if the bytes are malformed.
class StrictDecoder {
 public:
  explicit StrictDecoder(std::string_view in) : in_(in) {}

  // The description of the whole input, which must be exactly one value.
  std::optional<std::string> DecodeAll() {
    std::optional<std::string> v = Value();
    if (!v || pos_ != in_.size()) return std::nullopt;
    return v;
  }

 private:
  std::optional<std::string_view> Line() {
    size_t end = in_.find("\r\n", pos_);
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view line = in_.substr(pos_, end - pos_);
    if (line.find_first_of("\r\n") != std::string_view::npos) return std::nullopt;
    pos_ = end + 2;
    return line;
  }

  static std::optional<int64_t> Int(std::string_view s) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
  }

  std::optional<std::string> Blob(int64_t len) {
    if (len < 0 || in_.size() - pos_ < static_cast<size_t>(len) + 2) return std::nullopt;
    std::string_view data = in_.substr(pos_, static_cast<size_t>(len));
    if (in_.substr(pos_ + len, 2) != "\r\n") return std::nullopt;
    pos_ += static_cast<size_t>(len) + 2;
    return std::string(data);
  }

  std::optional<std::string> Aggregate(std::string_view name, int64_t n, int per_item) {
    std::string out = std::string(name) + (per_item == 2 ? "{" : "[");
    for (int64_t i = 0; i < n; ++i) {
      for (int part = 0; part < per_item; ++part) {
        std::optional<std::string> item = Value();
        if (!item) return std::nullopt;
        out += *item + (part + 1 < per_item ? "=>" : (i + 1 < n ? "," : ""));
      }
    }
    return out + (per_item == 2 ? "}" : "]");
  }

  std::optional<std::string> Value() {
    if (pos_ >= in_.size()) return std::nullopt;
    char type = in_[pos_++];
    std::optional<std::string_view> line = Line();
    if (!line) return std::nullopt;
    switch (type) {
      case '+':
        return "simple(" + std::string(*line) + ")";
      case '-':
        return "error(" + std::string(*line) + ")";
      case '_':
        return line->empty() ? std::optional<std::string>("null") : std::nullopt;
      case '#':
        return (*line == "t" || *line == "f") ? "bool(" + std::string(*line) + ")"
                                              : std::optional<std::string>();
      case ',':
        return Double(*line);
      case ':':
        return Int(*line) ? "int(" + std::string(*line) + ")" : std::optional<std::string>();
      default:
        return Sized(type, *line);
    }
  }

  static std::optional<std::string> Double(std::string_view text) {
    if (text == "inf" || text == "-inf" || text == "nan")
      return "double(" + std::string(text) + ")";
    std::string copy(text);
    char* end = nullptr;
    std::strtod(copy.c_str(), &end);
    if (copy.empty() || end != copy.c_str() + copy.size()) return std::nullopt;
    return "double(" + copy + ")";
  }

  std::optional<std::string> Sized(char type, std::string_view header) {
    std::optional<int64_t> n = Int(header);
    if (!n) return std::nullopt;
    if (*n == -1 && (type == '$' || type == '*')) return "null";
    if (*n < 0) return std::nullopt;
    if (type == '*') return Aggregate("array", *n, 1);
    if (type == '~') return Aggregate("set", *n, 1);
    if (type == '%') return Aggregate("map", *n, 2);
    std::optional<std::string> blob = Blob(*n);
    if (!blob) return std::nullopt;
    if (type == '$') return "bulk(" + *blob + ")";
    if (type == '=' && blob->size() >= 4 && (*blob)[3] == ':') return "verbatim(" + *blob + ")";
    return std::nullopt;
  }

  std::string_view in_;
  size_t pos_ = 0;
};

std::optional<std::string> Compose(RespVersion v, const std::function<void(ReplyWriter&)>& fill) {
  std::string out;
  ReplyWriter writer(&out, v);
  fill(writer);
  return StrictDecoder(out).DecodeAll();
}

struct TypeCase {
  std::string name;
  std::function<void(ReplyWriter&)> fill;
  std::string resp2;
  std::string resp3;
};

class EveryTypeTest : public ::testing::TestWithParam<TypeCase> {};

TEST_P(EveryTypeTest, Resp2) {
  EXPECT_EQ(Compose(RespVersion::kResp2, GetParam().fill), GetParam().resp2);
}

TEST_P(EveryTypeTest, Resp3) {
  EXPECT_EQ(Compose(RespVersion::kResp3, GetParam().fill), GetParam().resp3);
}

INSTANTIATE_TEST_SUITE_P(
    Replies, EveryTypeTest,
    ::testing::Values(
        TypeCase{"ok", [](auto& w) { w.Ok(); }, "simple(OK)", "simple(OK)"},
        TypeCase{"simple", [](auto& w) { w.Simple("PONG"); }, "simple(PONG)", "simple(PONG)"},
        TypeCase{"error", [](auto& w) { w.Error("ERR no\r\n"); }, "error(ERR no  )",
                 "error(ERR no  )"},
        TypeCase{"integer", [](auto& w) { w.Integer(-7); }, "int(-7)", "int(-7)"},
        TypeCase{"bulk", [](auto& w) { w.Bulk("a\r\n\0b"s); }, "bulk(a\r\n\0b)"s,
                 "bulk(a\r\n\0b)"s},
        TypeCase{"empty_bulk", [](auto& w) { w.Bulk(""); }, "bulk()", "bulk()"},
        TypeCase{"null", [](auto& w) { w.Null(); }, "null", "null"},
        TypeCase{"null_array", [](auto& w) { w.NullArray(); }, "null", "null"},
        TypeCase{"bool", [](auto& w) { w.Bool(true); }, "int(1)", "bool(t)"},
        TypeCase{"double", [](auto& w) { w.Double(-2.5); }, "bulk(-2.5)", "double(-2.5)"},
        TypeCase{"double_inf", [](auto& w) { w.Double(INFINITY); }, "bulk(inf)", "double(inf)"},
        TypeCase{"verbatim", [](auto& w) { w.Verbatim("x\r\ny"); }, "bulk(x\r\ny)",
                 "verbatim(txt:x\r\ny)"},
        TypeCase{"array",
                 [](auto& w) {
                   w.ArrayHeader(3);
                   w.Integer(1);
                   w.Null();
                   w.Bulk("b");
                 },
                 "array[int(1),null,bulk(b)]", "array[int(1),null,bulk(b)]"},
        TypeCase{"empty_array", [](auto& w) { w.ArrayHeader(0); }, "array[]", "array[]"},
        TypeCase{"set",
                 [](auto& w) {
                   w.SetHeader(2);
                   w.Bulk("a");
                   w.Bulk("b");
                 },
                 "array[bulk(a),bulk(b)]", "set[bulk(a),bulk(b)]"},
        TypeCase{"map",
                 [](auto& w) {
                   w.MapHeader(2);
                   w.Bulk("k");
                   w.Bool(false);
                   w.Bulk("d");
                   w.Double(0.5);
                 },
                 "array[bulk(k),int(0),bulk(d),bulk(0.5)]",
                 "map{bulk(k)=>bool(f),bulk(d)=>double(0.5)}"},
        TypeCase{"nested_hello_like",
                 [](auto& w) {
                   w.MapHeader(2);
                   w.Bulk("proto");
                   w.Integer(3);
                   w.Bulk("modules");
                   std::string_view items[] = {"x", "y"};
                   w.BulkArray(items, 2);
                 },
                 "array[bulk(proto),int(3),bulk(modules),array[bulk(x),bulk(y)]]",
                 "map{bulk(proto)=>int(3),bulk(modules)=>array[bulk(x),bulk(y)]}"}),
    [](const auto& info) { return info.param.name; });

TEST(RoundTripTest, DecoderRejectsMalformedReplies) {
  // Guards the guard: these would let a broken writer pass.
  EXPECT_FALSE(StrictDecoder("$3\r\nab\r\n").DecodeAll());
  EXPECT_FALSE(StrictDecoder("$1\r\nab\r\n").DecodeAll());
  EXPECT_FALSE(StrictDecoder("*2\r\n:1\r\n").DecodeAll());
  EXPECT_FALSE(StrictDecoder(":1\r\n:2\r\n").DecodeAll());
  EXPECT_FALSE(StrictDecoder("=3\r\ntxt\r\n").DecodeAll());
  EXPECT_FALSE(StrictDecoder("+a\rb\r\n").DecodeAll());
}

TEST(RoundTripTest, RandomIntegersAndBulksInBothVersions) {
  std::mt19937_64 rng(7);
  for (RespVersion v : {RespVersion::kResp2, RespVersion::kResp3}) {
    for (int i = 0; i < 2000; ++i) {
      int64_t n = static_cast<int64_t>(rng()) >> (rng() % 64);
      EXPECT_EQ(Compose(v, [&](auto& w) { w.Integer(n); }), "int(" + std::to_string(n) + ")");
      std::string s(rng() % 300, '\0');
      for (char& c : s) c = static_cast<char>(rng());
      EXPECT_EQ(Compose(v, [&](auto& w) { w.Bulk(s); }), "bulk(" + s + ")");
    }
  }
}

// The significant digits of a decimal text, without sign, point, exponent or padding zeros.
std::string SignificantDigits(std::string_view text) {
  std::string digits;
  for (char c : text.substr(0, text.find('e'))) {
    if (c >= '0' && c <= '9') digits += c;
  }
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return "0";
  digits.erase(0, first);
  digits.erase(digits.find_last_not_of('0') + 1);
  return digits;
}

std::string ShortestDigits(double d) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  return SignificantDigits(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
}

TEST(RoundTripTest, FormatDoubleIsShortestAndRoundTripsForRandomDoubles) {
  std::mt19937_64 rng(99);
  for (int i = 0; i < 200000; ++i) {
    uint64_t bits = rng();
    double d = 0;
    std::memcpy(&d, &bits, sizeof d);
    if (i % 2)
      d = std::ldexp(static_cast<double>(rng() % 2000000) - 1e6, -static_cast<int>(rng() % 40));
    if (!std::isfinite(d)) continue;
    std::string text = FormatDouble(d);
    double back = std::strtod(text.c_str(), nullptr);
    ASSERT_EQ(std::memcmp(&back, &d, sizeof d), 0) << text;
    if (std::fabs(d) <= 0x1p62 && d == std::trunc(d) && d != 0) {
      // Integral values are printed exactly, as Redis does, even past 2^53.
      ASSERT_EQ(text, std::to_string(static_cast<int64_t>(d)));
    } else {
      ASSERT_EQ(SignificantDigits(text), ShortestDigits(d)) << text;
    }
    ASSERT_LE(text.size(), 25u) << text;  // sign, 17 digits, 7 padding zeros
  }
}

}  // namespace
}  // namespace arvel::protocol
