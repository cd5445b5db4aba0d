#pragma once
// Reply writer for RESP2 and RESP3. It appends encoded replies to a caller-owned std::string.
// RESP3-only types degrade the way Redis degrades them for RESP2 clients: a map becomes a flat
// array of 2N items, a set an array, null a null bulk ($-1) or null array (*-1), a boolean an
// integer, a double a bulk string, a verbatim string a bulk string.

#include <cstdint>
#include <string>
#include <string_view>

namespace arvel::protocol {

enum class RespVersion : uint8_t { kResp2 = 2, kResp3 = 3 };

class ReplyWriter {
 public:
  ReplyWriter(std::string* out, RespVersion version) : out_(out), version_(version) {}

  RespVersion version() const { return version_; }
  std::string* buffer() const { return out_; }

  void Ok();                             // +OK
  void Simple(std::string_view s);       // +s   (\r\n inside are replaced by spaces)
  void Error(std::string_view message);  // -message  (\r\n inside are replaced by spaces)
  void Integer(int64_t v);               // :v
  void Bulk(std::string_view s);         // $len\r\ns
  void Null();                           // RESP3 _ ; RESP2 $-1
  void NullArray();                      // RESP3 _ ; RESP2 *-1
  void ArrayHeader(size_t n);            // *n
  void MapHeader(size_t pairs);          // RESP3 %n ; RESP2 *2n
  void SetHeader(size_t n);              // RESP3 ~n ; RESP2 *n
  void Bool(bool b);                     // RESP3 #t/#f ; RESP2 :1/:0
  void Double(double d);                 // RESP3 ,d ; RESP2 bulk, formatted as Redis does
  // RESP3 =len\r\nfmt:s ; RESP2 bulk s. `format` must be three bytes ("txt", "mkd"), else "txt".
  void Verbatim(std::string_view s, std::string_view format = "txt");
  void BulkArray(const std::string_view* items, size_t n);  // convenience: *n of bulks

 private:
  void Append(std::string_view s) { out_->append(s); }
  void AppendLength(char type, int64_t n);

  std::string* out_;
  RespVersion version_;
};

// Formats a double like Redis's INCRBYFLOAT / RESP3 doubles: shortest round-trip form, "inf",
// "-inf", "nan", integers without ".0" exponent noise (e.g. 10.5, 3, 1.0e+20 -> "1e+20").
// Layout as Redis 7.2: integral values up to 2^62 as integers, plain decimals near 1 ("0.0001",
// "1234.5"), scientific with an unpadded exponent otherwise ("1e-7", "1.5e+300").
std::string FormatDouble(double d);

}  // namespace arvel::protocol
