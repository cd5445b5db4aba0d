#include "server/commands/glob.h"

#include <cstddef>

namespace arvel::server {

namespace {

// Matches one byte against the bracket class starting just after '[' at pattern[pos]. Sets
// `pos` to just after the closing ']' (or to the end of an unclosed class).
bool MatchClass(std::string_view pattern, size_t& pos, unsigned char c) {
  bool negate = pos < pattern.size() && pattern[pos] == '^';
  if (negate) ++pos;
  bool match = false;
  while (pos < pattern.size() && pattern[pos] != ']') {
    if (pattern[pos] == '\\' && pos + 1 < pattern.size()) {
      match |= static_cast<unsigned char>(pattern[pos + 1]) == c;
      pos += 2;
    } else if (pos + 2 < pattern.size() && pattern[pos + 1] == '-') {
      unsigned char lo = static_cast<unsigned char>(pattern[pos]);
      unsigned char hi = static_cast<unsigned char>(pattern[pos + 2]);
      if (lo > hi) std::swap(lo, hi);
      match |= c >= lo && c <= hi;
      pos += 3;
    } else {
      match |= static_cast<unsigned char>(pattern[pos]) == c;
      ++pos;
    }
  }
  if (pos < pattern.size()) ++pos;  // the closing ']'
  return match != negate;
}

// Matches one byte against the single-byte token at pattern[pos] ('?', a class, an escape or a
// literal) and advances `pos` past the token.
bool MatchToken(std::string_view pattern, size_t& pos, unsigned char c) {
  char token = pattern[pos++];
  if (token == '?') return true;
  if (token == '[') return MatchClass(pattern, pos, c);
  if (token == '\\' && pos < pattern.size()) token = pattern[pos++];
  return static_cast<unsigned char>(token) == c;
}

// Redis's matcher recurses once per run of '*' that is not at the end of the pattern, and
// gives up (no match) past a nesting of 1000. Patterns with more such runs never match there.
constexpr size_t kMaxStarRuns = 1000;

// Runs of '*' in `pattern`, outside brackets and escapes, not counting one that ends it.
size_t InnerStarRuns(std::string_view pattern) {
  size_t runs = 0;
  size_t p = 0;
  while (p < pattern.size()) {
    char c = pattern[p];
    if (c == '*') {
      while (p < pattern.size() && pattern[p] == '*') ++p;
      if (p < pattern.size()) ++runs;
    } else if (c == '[') {
      ++p;
      while (p < pattern.size() && pattern[p] != ']') p += pattern[p] == '\\' ? 2 : 1;
      ++p;
    } else {
      p += c == '\\' ? 2 : 1;
    }
  }
  return runs;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) {
  if (pattern.size() > 2 * kMaxStarRuns && InnerStarRuns(pattern) > kMaxStarRuns) return false;
  // Every token but '*' consumes exactly one byte, so remembering only the latest '*' is
  // enough: on a mismatch, let that star swallow one more byte and retry from just after it.
  size_t p = 0;
  size_t t = 0;
  size_t star_p = std::string_view::npos;  // pattern position just after the latest '*'
  size_t star_t = 0;                       // text position that star's retry resumes at
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      while (p < pattern.size() && pattern[p] == '*') ++p;
      star_p = p;
      star_t = t;
      continue;
    }
    size_t next = p;
    if (p < pattern.size() && MatchToken(pattern, next, static_cast<unsigned char>(text[t]))) {
      p = next;
      ++t;
      continue;
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace arvel::server
