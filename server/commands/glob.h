#pragma once
// Glob-style pattern matching for KEYS and SCAN MATCH, with the semantics of Redis's
// stringmatchlen (case-sensitive):
//   *        any run of bytes, including none
//   ?        exactly one byte
//   [abc]    one byte of the set; [^abc] one byte not in it; [a-z] a range (either order);
//            inside brackets \ escapes the next byte; an unclosed [ runs to the pattern's end
//   \x       the byte x literally (a lone trailing \ matches a backslash)
// Keys and patterns are binary strings: NUL and any other byte match themselves. Ranges compare
// bytes as unsigned (Redis compares C chars, so its ranges across 0x7f-0x80 depend on the
// platform's char signedness; ASCII ranges behave the same).
// As in Redis, a pattern with more than 1000 runs of '*' before its end matches nothing (Redis's
// recursion limit; Redis 7.0's "pattern matching very long nested loops" test).

#include <string_view>

namespace arvel::server {

// True when `text` matches `pattern` as a whole. Time O(|pattern| * |text|) at worst: unlike a
// naive recursive matcher, a pattern such as "*a*a*a*a*b" cannot make it take exponential time.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace arvel::server
