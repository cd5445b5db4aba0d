// Screening cache.toml before toml11 sees it. toml11 3.7 recurses once per nested array or
// inline table and walks dotted keys recursively (deep input overflows the stack), rescans the
// current line for every value (long lines take quadratic time), and rewinds into the wrong
// buffer when a string holds invalid UTF-8 (an out-of-bounds read). None of that can happen
// with a file a person wrote, so such input is refused up front with its line number.

#include "config/input_limits.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace arvel::config {
namespace {

// Deep enough for any sensible file, shallow enough that toml11's recursion stays far from the
// stack limit even under AddressSanitizer.
constexpr int kMaxNesting = 64;
// Dotted keys ("a.b.c = 1") nest tables too; a key cannot span lines, so a per-line count of the
// dots outside strings and comments bounds that depth.
constexpr int kMaxDotsPerLine = 64;
// toml11 rescans the current line for every value it reads, so time grows with the square of a
// line's length; lines of a real cache.toml are well under 100 bytes.
constexpr size_t kMaxLineBytes = 4096;

// The 1-based number of the first line longer than kMaxLineBytes, or 0.
uint32_t FirstLongLine(std::string_view text) {
  uint32_t line = 1;
  for (size_t start = 0; start < text.size(); ++line) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (end - start > kMaxLineBytes) return line;
    start = end + 1;
  }
  return 0;
}

// Finds the first line nesting deeper than the limits, following TOML's lexical rules for
// strings and comments so that brackets inside them do not count. Returns 0 if there is none.
class NestingScanner {
 public:
  explicit NestingScanner(std::string_view text) : text_(text) {}

  uint32_t FirstTooDeepLine() {
    while (pos_ < text_.size()) {
      if (!Step()) return line_;
    }
    return 0;
  }

 private:
  enum class State { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };

  // Consumes one character (or a whole delimiter); false when a limit is exceeded.
  bool Step() {
    char c = text_[pos_];
    if (c == '\n') {
      NewLine();
      return true;
    }
    switch (state_) {
      case State::kCode:
        return StepCode(c);
      case State::kComment:
        break;
      case State::kBasic:
        if (c == '\\') SkipEscaped();
        if (c == '"') state_ = State::kCode;
        break;
      case State::kLiteral:
        if (c == '\'') state_ = State::kCode;
        break;
      case State::kMultiBasic:
        if (c == '\\') SkipEscaped();
        if (AtTriple('"')) return CloseMultiLine('"');
        break;
      case State::kMultiLiteral:
        if (AtTriple('\'')) return CloseMultiLine('\'');
        break;
    }
    ++pos_;
    return true;
  }

  bool StepCode(char c) {
    if (c == '#') {
      state_ = State::kComment;
    } else if (c == '"' || c == '\'') {
      return OpenString(c);
    } else if (c == '[' || c == '{') {
      if (++depth_ > kMaxNesting) return false;
    } else if (c == ']' || c == '}') {
      depth_ = std::max(0, depth_ - 1);
    } else if (c == '.') {
      if (++dots_ > kMaxDotsPerLine) return false;
    }
    ++pos_;
    return true;
  }

  bool OpenString(char quote) {
    bool multi = AtTriple(quote);
    if (quote == '"') state_ = multi ? State::kMultiBasic : State::kBasic;
    if (quote == '\'') state_ = multi ? State::kMultiLiteral : State::kLiteral;
    pos_ += multi ? 3 : 1;
    return true;
  }

  // A multi-line string ends at the last quote of the run (TOML allows up to two quotes
  // right before the closing delimiter). Ending late is the safe side: no brackets hide there.
  bool CloseMultiLine(char quote) {
    while (pos_ < text_.size() && text_[pos_] == quote) ++pos_;
    state_ = State::kCode;
    return true;
  }

  // Skips the character after a backslash, so \" does not end the string; a newline there is
  // still counted as a line.
  void SkipEscaped() {
    if (pos_ + 1 < text_.size() && text_[pos_ + 1] != '\n') ++pos_;
  }

  bool AtTriple(char quote) const {
    return pos_ + 2 < text_.size() && text_[pos_] == quote && text_[pos_ + 1] == quote &&
           text_[pos_ + 2] == quote;
  }

  void NewLine() {
    ++line_;
    dots_ = 0;
    ++pos_;
    // Single-line strings and comments end at the newline (an unterminated string is a
    // syntax error toml11 reports; nothing after it is parsed).
    if (state_ == State::kComment || state_ == State::kBasic || state_ == State::kLiteral) {
      state_ = State::kCode;
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  uint32_t line_ = 1;
  int depth_ = 0;
  int dots_ = 0;
  State state_ = State::kCode;
};

// Length of the well-formed UTF-8 sequence at the start of `text` (Unicode table 3-7: no overlong
// forms, no surrogates, nothing past U+10FFFF), or 0 if it is not one.
size_t Utf8SequenceLength(std::string_view text) {
  auto byte = [&text](size_t i) { return static_cast<unsigned char>(text[i]); };
  auto continuation = [&](size_t i, unsigned char low = 0x80, unsigned char high = 0xBF) {
    return i < text.size() && byte(i) >= low && byte(i) <= high;
  };
  unsigned char lead = byte(0);
  if (lead <= 0x7F) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    unsigned char low = lead == 0xE0 ? 0xA0 : 0x80;
    unsigned char high = lead == 0xED ? 0x9F : 0xBF;
    return continuation(1, low, high) && continuation(2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    unsigned char low = lead == 0xF0 ? 0x90 : 0x80;
    unsigned char high = lead == 0xF4 ? 0x8F : 0xBF;
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

// TOML files must be UTF-8, and toml11 3.7's own handling of bad UTF-8 inside strings reads out
// of bounds (it rewinds a copy of the string with an iterator into the whole file), so invalid
// bytes are refused here first. Returns the 1-based line of the first bad byte, or 0.
uint32_t FirstInvalidUtf8Line(std::string_view text) {
  uint32_t line = 1;
  for (size_t pos = 0; pos < text.size();) {
    size_t length = Utf8SequenceLength(text.substr(pos));
    if (length == 0) return line;
    if (text[pos] == '\n') ++line;
    pos += length;
  }
  return 0;
}

}  // namespace

Status CheckInputLimits(std::string_view text, std::string_view file_name) {
  std::string name(file_name);
  auto at = [&name](uint32_t line, const std::string& problem) {
    return Status::Error(name + ":" + std::to_string(line) + ": " + problem);
  };
  if (text.size() > kMaxConfigBytes) {
    return Status::Error(name + ": larger than " + std::to_string(kMaxConfigBytes) + " bytes");
  }
  if (uint32_t line = FirstInvalidUtf8Line(text)) return at(line, "not valid UTF-8");
  if (uint32_t line = FirstLongLine(text)) {
    return at(line, "line longer than " + std::to_string(kMaxLineBytes) + " bytes");
  }
  if (uint32_t line = NestingScanner(text).FirstTooDeepLine()) {
    return at(line, "nested more than " + std::to_string(kMaxNesting) + " levels deep");
  }
  return Status::Ok();
}

}  // namespace arvel::config
