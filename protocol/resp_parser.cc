// Design note. The parser never copies multibulk data and never trusts a claimed length: a
// count or bulk length only decides how many bytes to wait for, and memory grows with the bytes
// that actually arrived (the argument table starts at min(count, 1024) entries, as in Redis).
// Progress is kept as offsets from the start of the request, because the caller may move its
// buffer between calls. Header lines are found with a remembered scan position, so even a
// request that trickles in one byte at a time is parsed in linear time.
//
// Error texts and limits follow Redis's networking.c, with two deliberate tightenings: a header
// line must end in "\r\n" (Redis skips whatever byte follows the '\r'), and bulk data must be
// followed by "\r\n" (Redis skips any two bytes). Both stop a confused or hostile client from
// desynchronising the stream.

#include "protocol/resp_parser.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace arvel::protocol {

namespace {

// Redis's PROTO_INLINE_MAX_SIZE: how long a "*N" or "$N" line may grow without its '\r'.
constexpr size_t kMaxHeaderLine = 64 * 1024;
// Like Redis, size the argument table by the claimed count only up to this many entries.
constexpr int64_t kMaxArgsReserve = 1024;
// A finished request's tables are kept for the next one unless they grew past this.
constexpr size_t kMaxRetainedArgs = 4096;

constexpr std::string_view kInvalidMultibulkLength = "Protocol error: invalid multibulk length";
constexpr std::string_view kInvalidBulkLength = "Protocol error: invalid bulk length";
constexpr std::string_view kTooBigMbulkCount = "Protocol error: too big mbulk count string";
constexpr std::string_view kTooBigBulkCount = "Protocol error: too big bulk count string";
constexpr std::string_view kTooBigInline = "Protocol error: too big inline request";
constexpr std::string_view kUnbalancedQuotes = "Protocol error: unbalanced quotes in request";
constexpr std::string_view kExpectedCrlf = "Protocol error: expected CRLF after bulk data";

// Accepts exactly what Redis's string2ll accepts: an optional '-', then digits with no leading
// zero ("0" itself aside), no '+', no spaces, no overflow.
bool ParseStrictInt64(std::string_view s, int64_t* out) {
  if (s == "0") {
    *out = 0;
    return true;
  }
  size_t first_digit = (!s.empty() && s[0] == '-') ? 1 : 0;
  if (s.size() <= first_digit || s[first_digit] < '1' || s[first_digit] > '9') return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// The whitespace of C's isspace() in the "C" locale, without its locale lookup or its undefined
// behaviour on negative chars.
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// sdssplitargs ends an unquoted token on fewer characters than it skips between tokens.
bool EndsToken(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool IsQuote(char c) { return c == '"' || c == '\''; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char UnescapeChar(char c) {
  switch (c) {
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'b':
      return '\b';
    case 'a':
      return '\a';
    default:
      return c;  // \\ and \" included
  }
}

// Splits one inline line into arguments with the rules of Redis's sdssplitargs. A token is an
// unquoted run, optionally ending in one quoted section that must be followed by whitespace or
// the end of the line ("foo"bar is an error, foo"bar baz" is one argument). Unquoted tokens are
// views into the line; tokens with quotes are unescaped into `storage`, whose capacity the
// caller reserved so that appending never moves earlier tokens.
class InlineSplitter {
 public:
  InlineSplitter(std::string_view line, std::string* storage) : line_(line), storage_(storage) {}

  // Appends every argument to `args`. False on unbalanced quotes.
  bool Split(std::vector<std::string_view>* args) {
    while (true) {
      while (i_ < line_.size() && IsSpace(line_[i_])) ++i_;
      if (i_ == line_.size()) return true;
      std::string_view token;
      if (!NextToken(&token)) return false;
      args->push_back(token);
    }
  }

 private:
  bool NextToken(std::string_view* token) {
    size_t start = i_;
    while (i_ < line_.size() && !EndsToken(line_[i_]) && !IsQuote(line_[i_])) ++i_;
    if (i_ == line_.size() || !IsQuote(line_[i_])) {
      *token = line_.substr(start, i_ - start);
      return true;
    }
    size_t out_start = storage_->size();
    storage_->append(line_.substr(start, i_ - start));
    bool ok = line_[i_] == '"' ? AppendDoubleQuoted() : AppendSingleQuoted();
    *token = std::string_view(storage_->data() + out_start, storage_->size() - out_start);
    return ok;
  }

  // Consumes `"...."` starting at the opening quote.
  bool AppendDoubleQuoted() {
    for (++i_; i_ < line_.size(); ++i_) {
      char c = line_[i_];
      if (c == '"') return CloseQuote();
      if (c == '\\' && i_ + 1 < line_.size()) {
        AppendEscape();
      } else {
        storage_->push_back(c);
      }
    }
    return false;
  }

  // Handles the escape at i_, leaving i_ on its last character.
  void AppendEscape() {
    if (line_[i_ + 1] == 'x' && i_ + 3 < line_.size()) {
      int high = HexValue(line_[i_ + 2]);
      int low = HexValue(line_[i_ + 3]);
      if (high >= 0 && low >= 0) {
        storage_->push_back(static_cast<char>(high * 16 + low));
        i_ += 3;
        return;
      }
    }
    ++i_;
    storage_->push_back(UnescapeChar(line_[i_]));
  }

  // Consumes `'....'` starting at the opening quote; only \' is an escape inside.
  bool AppendSingleQuoted() {
    for (++i_; i_ < line_.size(); ++i_) {
      char c = line_[i_];
      if (c == '\\' && i_ + 1 < line_.size() && line_[i_ + 1] == '\'') {
        storage_->push_back('\'');
        ++i_;
      } else if (c == '\'') {
        return CloseQuote();
      } else {
        storage_->push_back(c);
      }
    }
    return false;
  }

  // i_ is on a closing quote.
  bool CloseQuote() {
    ++i_;
    return i_ == line_.size() || IsSpace(line_[i_]);
  }

  std::string_view line_;
  std::string* storage_;
  size_t i_ = 0;
};

template <typename T>
void ClearAndTrim(std::vector<T>* v) {
  if (v->capacity() > kMaxRetainedArgs) {
    std::vector<T>().swap(*v);
  } else {
    v->clear();
  }
}

}  // namespace

ParseStatus RequestParser::Parse(std::string_view buf) {
  consumed_ = 0;
  wanted_ = 0;
  ClearAndTrim(&args_);
  inline_storage_.clear();
  if (!error_.empty()) return ParseStatus::kError;
  // A caller that shrank the buffer broke the contract; start over rather than read past it.
  if (pos_ > buf.size() || line_scan_ > buf.size()) ResetProgress();
  if (buf.empty()) return ParseStatus::kIncomplete;
  return buf[0] == '*' ? ParseMultibulk(buf) : ParseInline(buf);
}

void RequestParser::Reset() {
  ResetProgress();
  args_.clear();
  inline_storage_.clear();
  error_.clear();
  consumed_ = 0;
  wanted_ = 0;
}

void RequestParser::ResetProgress() {
  expected_args_ = -1;
  bulk_len_ = -1;
  pos_ = 0;
  line_scan_ = 0;
  ClearAndTrim(&spans_);
}

ParseStatus RequestParser::Fail(std::string message) {
  error_ = std::move(message);
  args_.clear();
  ResetProgress();
  return ParseStatus::kError;
}

ParseStatus RequestParser::FindHeaderEnd(std::string_view buf, size_t start,
                                         std::string_view too_long_error, size_t* end) {
  size_t from = std::max(start, line_scan_);
  size_t limit = std::min(buf.size(), start + kMaxHeaderLine + 1);
  const void* cr = from < limit ? std::memchr(buf.data() + from, '\r', limit - from) : nullptr;
  if (cr == nullptr) {
    line_scan_ = limit;
    if (buf.size() - start > kMaxHeaderLine) return Fail(std::string(too_long_error));
    return ParseStatus::kIncomplete;
  }
  *end = static_cast<size_t>(static_cast<const char*>(cr) - buf.data());
  line_scan_ = *end;
  // The byte after '\r' decides whether the line is well formed; wait until it is here.
  if (*end + 1 >= buf.size()) return ParseStatus::kIncomplete;
  line_scan_ = 0;
  return ParseStatus::kOk;
}

ParseStatus RequestParser::ParseMultibulk(std::string_view buf) {
  if (expected_args_ < 0) {
    ParseStatus status = ParseCountHeader(buf);
    if (status != ParseStatus::kOk) return status;
  }
  while (static_cast<int64_t>(spans_.size()) < expected_args_) {
    ParseStatus status = ParseBulk(buf);
    if (status != ParseStatus::kOk) return status;
  }
  return FinishMultibulk(buf);
}

ParseStatus RequestParser::ParseCountHeader(std::string_view buf) {
  size_t end = 0;
  ParseStatus status = FindHeaderEnd(buf, 0, kTooBigMbulkCount, &end);
  if (status != ParseStatus::kOk) return status;
  int64_t count = 0;
  if (buf[end + 1] != '\n' || !ParseStrictInt64(buf.substr(1, end - 1), &count) ||
      count > limits_.max_multibulk) {
    return Fail(std::string(kInvalidMultibulkLength));
  }
  // "*0" and "*-1" are empty requests, which the caller skips (as Redis does).
  expected_args_ = std::max<int64_t>(count, 0);
  pos_ = end + 2;
  spans_.clear();
  spans_.reserve(static_cast<size_t>(std::min(expected_args_, kMaxArgsReserve)));
  return ParseStatus::kOk;
}

ParseStatus RequestParser::ParseBulk(std::string_view buf) {
  if (bulk_len_ < 0) {
    ParseStatus status = ParseBulkHeader(buf);
    if (status != ParseStatus::kOk) return status;
  }
  size_t len = static_cast<size_t>(bulk_len_);
  size_t available = buf.size() - pos_;
  if (available < len + 2) {
    wanted_ = len + 2 - available;
    return ParseStatus::kIncomplete;
  }
  if (buf[pos_ + len] != '\r' || buf[pos_ + len + 1] != '\n') {
    return Fail(std::string(kExpectedCrlf));
  }
  spans_.emplace_back(pos_, len);
  pos_ += len + 2;
  bulk_len_ = -1;
  return ParseStatus::kOk;
}

ParseStatus RequestParser::ParseBulkHeader(std::string_view buf) {
  size_t end = 0;
  ParseStatus status = FindHeaderEnd(buf, pos_, kTooBigBulkCount, &end);
  if (status != ParseStatus::kOk) return status;
  if (buf[pos_] != '$') {
    return Fail("Protocol error: expected '$', got '" + std::string(1, buf[pos_]) + "'");
  }
  int64_t len = 0;
  if (buf[end + 1] != '\n' || !ParseStrictInt64(buf.substr(pos_ + 1, end - pos_ - 1), &len) ||
      len < 0 || len > limits_.max_bulk_len) {
    return Fail(std::string(kInvalidBulkLength));
  }
  bulk_len_ = len;
  pos_ = end + 2;
  return ParseStatus::kOk;
}

ParseStatus RequestParser::FinishMultibulk(std::string_view buf) {
  args_.reserve(spans_.size());
  for (const auto& [offset, length] : spans_) args_.emplace_back(buf.data() + offset, length);
  consumed_ = pos_;
  ResetProgress();
  return ParseStatus::kOk;
}

ParseStatus RequestParser::ParseInline(std::string_view buf) {
  size_t max_len = limits_.max_inline_len;
  // Search no further than the longest allowed line plus "\r\n" (written so as not to overflow).
  size_t window = buf.size() <= max_len ? buf.size() : std::min(buf.size(), max_len + 2);
  size_t from = std::min(line_scan_, window);
  const void* nl = std::memchr(buf.data() + from, '\n', window - from);
  if (nl == nullptr) {
    line_scan_ = window;
    size_t line_so_far = buf.size() - (buf.back() == '\r' ? 1 : 0);
    if (window < buf.size() || line_so_far > max_len) return Fail(std::string(kTooBigInline));
    return ParseStatus::kIncomplete;
  }
  size_t newline = static_cast<size_t>(static_cast<const char*>(nl) - buf.data());
  size_t line_end = (newline > 0 && buf[newline - 1] == '\r') ? newline - 1 : newline;
  if (line_end > max_len) return Fail(std::string(kTooBigInline));
  std::string_view line = buf.substr(0, line_end);
  inline_storage_.reserve(line.size());
  if (!InlineSplitter(line, &inline_storage_).Split(&args_)) {
    return Fail(std::string(kUnbalancedQuotes));
  }
  consumed_ = newline + 1;
  line_scan_ = 0;
  return ParseStatus::kOk;
}

}  // namespace arvel::protocol
