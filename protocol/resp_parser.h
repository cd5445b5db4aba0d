#pragma once
// Incremental RESP request parser. It turns the bytes a client sent into requests (argument
// vectors), whatever way the bytes were split across reads.
//
// Requests are RESP multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) or inline (`GET k\r\n`, as typed
// in telnet; quoting rules as Redis's sdssplitargs). The parser keeps no copy of multibulk data:
// arguments are string_views into the caller's buffer, valid until the caller changes it (inline
// arguments with escapes point into parser-owned storage, valid until the next Parse). Between
// calls it remembers how far into the current (incomplete) request it got, so a 1M-argument
// request arriving in small pieces is parsed in linear time; the caller must keep the unconsumed
// bytes (from the last `consumed` on) at the start of the next buffer it passes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace arvel::protocol {

// Bounds on what a client may send (SPEC §3). Exceeding one is a protocol error.
struct ParserLimits {
  int64_t max_bulk_len = 512LL * 1024 * 1024;  // proto_max_bulk_len
  int64_t max_multibulk = 1024 * 1024;         // arguments in one request
  size_t max_inline_len = 64 * 1024;           // one inline line, without "\r\n"
};

enum class ParseStatus {
  kOk,          // one request complete: see args() and consumed()
  kIncomplete,  // need more bytes; consumed() == 0, progress is remembered internally
  kError,       // protocol violation: see error(); the connection must be closed
};

class RequestParser {
 public:
  explicit RequestParser(ParserLimits limits = {}) : limits_(limits) {}

  // Parses at most one request from the start of `buf`. On kOk, args() holds the request (possibly
  // empty for a blank inline line, which the caller should skip) and consumed() the number of
  // bytes it took. On kIncomplete, call again with the same bytes plus more appended. On kError,
  // error() holds a text such as "Protocol error: invalid bulk length" (without "-ERR "), and
  // every later call returns kError again until Reset().
  ParseStatus Parse(std::string_view buf);

  const std::vector<std::string_view>& args() const { return args_; }
  size_t consumed() const { return consumed_; }
  const std::string& error() const { return error_; }

  // Bytes the parser still needs before it can make progress (a hint for read buffer sizing:
  // a large bulk argument in flight). 0 when unknown.
  size_t bytes_wanted() const { return wanted_; }

  // Forget any partial request (e.g. when the buffer is discarded).
  void Reset();

 private:
  ParseStatus ParseMultibulk(std::string_view buf);
  ParseStatus ParseCountHeader(std::string_view buf);
  ParseStatus ParseBulk(std::string_view buf);
  ParseStatus ParseBulkHeader(std::string_view buf);
  ParseStatus FinishMultibulk(std::string_view buf);
  ParseStatus ParseInline(std::string_view buf);
  ParseStatus FindHeaderEnd(std::string_view buf, size_t start, std::string_view too_long_error,
                            size_t* end);
  ParseStatus Fail(std::string message);
  void ResetProgress();

  ParserLimits limits_;
  std::vector<std::string_view> args_;
  std::string error_;  // non-empty once Parse failed; sticky until Reset()
  size_t consumed_ = 0;
  size_t wanted_ = 0;
  // Progress within an incomplete multibulk request, as offsets into the buffer.
  int64_t expected_args_ = -1;  // -1: header not yet parsed
  int64_t bulk_len_ = -1;       // length of the bulk in flight; -1: its header not parsed
  size_t pos_ = 0;              // next unparsed byte
  size_t line_scan_ = 0;        // the current line has no terminator before this offset
  std::vector<std::pair<size_t, size_t>> spans_;  // (offset, length) of arguments parsed so far
  // Unescaped inline arguments, back to back. Reserved to the line length up front (unescaping
  // never grows a line), so it never reallocates under the views in args_.
  std::string inline_storage_;
};

}  // namespace arvel::protocol
