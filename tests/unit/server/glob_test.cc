#include "server/commands/glob.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>

namespace arvel::server {
namespace {

using namespace std::string_view_literals;

struct GlobCase {
  std::string_view pattern;
  std::string_view text;
  bool match;
};

// Expectations checked against Redis 7.0's KEYS.
constexpr GlobCase kCases[] = {
    // Literals and the empty cases.
    {"", "", true},
    {"", "a", false},
    {"a", "", false},
    {"abc", "abc", true},
    {"abc", "abcd", false},
    {"abcd", "abc", false},
    {"abc", "ABC", false},  // case-sensitive
    // '*'
    {"*", "", true},
    {"*", "anything", true},
    {"**", "x", true},
    {"a*", "a", true},
    {"a*", "abc", true},
    {"a*", "ba", false},
    {"*c", "abc", true},
    {"*c", "abcd", false},
    {"a*c", "ac", true},
    {"a*c", "abbbc", true},
    {"a*c", "abbbcd", false},
    {"a*b*c", "aXbYc", true},
    {"a*b*c", "aXcYb", false},
    {"*ab*", "xxaxabyy", true},
    {"h*llo", "heeeello", true},
    {"user:*:name", "user:42:name", true},
    {"user:*:name", "user:42:names", false},
    // '?'
    {"?", "", false},
    {"?", "a", true},
    {"?", "ab", false},
    {"h?llo", "hello", true},
    {"h?llo", "hllo", false},
    {"*?", "a", true},
    {"?*?", "a", false},
    // Classes, ranges, negation.
    {"h[ae]llo", "hello", true},
    {"h[ae]llo", "hallo", true},
    {"h[ae]llo", "hillo", false},
    {"h[^e]llo", "hallo", true},
    {"h[^e]llo", "hello", false},
    {"h[a-b]llo", "hbllo", true},
    {"h[a-b]llo", "hcllo", false},
    {"h[b-a]llo", "hallo", true},  // a reversed range is swapped
    {"[a-c-e]", "-", true},        // "a-c", then '-' and 'e' as literals
    {"[a-c-e]", "e", true},
    {"[a-c-e]", "d", false},
    {"[]", "]", false},  // an empty class matches nothing...
    {"[]]", "]", false},
    {"[^]", "x", true},   // ...and its negation anything
    {"[abc", "b", true},  // an unclosed class runs to the end of the pattern
    {"[abc", "d", false},
    {"[a-]", "-", false},  // "a-]" is a range a..] (swapped to ]..a)
    {"[a-]", "_", true},
    {"[\\]]", "]", true},  // an escaped ']' inside a class
    {"[\\-]", "-", true},
    {"[x\\", "\\", true},  // a trailing backslash in an unclosed class is a literal
    // Escapes.
    {"\\*", "*", true},
    {"\\*", "a", false},
    {"\\?", "?", true},
    {"\\?", "a", false},
    {"\\[a]", "[a]", true},
    {"a\\", "a\\", true},  // a lone trailing backslash matches a backslash
    {"\\a", "a", true},
};

TEST(GlobTest, MatchesLikeRedis) {
  for (const GlobCase& c : kCases) {
    EXPECT_EQ(GlobMatch(c.pattern, c.text), c.match)
        << "pattern '" << c.pattern << "' text '" << c.text << "'";
  }
}

TEST(GlobTest, BinarySafe) {
  EXPECT_TRUE(GlobMatch("a\0b"sv, "a\0b"sv));
  EXPECT_FALSE(GlobMatch("a\0b"sv, "a\0c"sv));
  EXPECT_TRUE(GlobMatch("a?b"sv, "a\0b"sv));
  EXPECT_TRUE(GlobMatch("*\r\n"sv, "line\r\n"sv));
  EXPECT_TRUE(GlobMatch("[\x01-\x03]"sv, "\x02"sv));
  EXPECT_TRUE(GlobMatch("[\x80-\xff]"sv, "\xc3"sv));
  EXPECT_FALSE(GlobMatch("[\x80-\xff]"sv, "a"sv));
}

TEST(GlobTest, PathologicalPatternIsFast) {
  // A backtracking matcher takes exponential time on this; ours is quadratic at worst.
  std::string pattern;
  for (int i = 0; i < 30; ++i) pattern += "*a";
  pattern += "*b";
  std::string text(5000, 'a');
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(GlobMatch(pattern, text));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(GlobTest, MoreThanAThousandInnerStarRunsMatchNothingAsInRedis) {
  // Redis 7.0's keyspace.tcl: KEYS with "*?" x 50000 against a 50000-byte key answers nothing.
  std::string text(50000, 'a');
  std::string pattern;
  for (int i = 0; i < 50000; ++i) pattern += "*?";
  EXPECT_FALSE(GlobMatch(pattern, text));

  std::string at_limit, over_limit;
  for (int i = 0; i < 1000; ++i) at_limit += "*a";
  over_limit = at_limit + "*a";
  EXPECT_TRUE(GlobMatch(at_limit, std::string(1000, 'a')));
  EXPECT_FALSE(GlobMatch(over_limit, std::string(1001, 'a')));
  // A run that ends the pattern does not count, nor do escaped or bracketed stars.
  EXPECT_TRUE(GlobMatch(at_limit + "*", std::string(1005, 'a')));
  std::string literal_stars;
  for (int i = 0; i < 1500; ++i) literal_stars += "\\*[*]";
  EXPECT_TRUE(GlobMatch(literal_stars, std::string(3000, '*')));
}

}  // namespace
}  // namespace arvel::server
