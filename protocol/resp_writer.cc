#include "protocol/resp_writer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace arvel::protocol {

namespace {

constexpr std::string_view kCrlf = "\r\n";
// Longest FormatDouble output is 25 bytes: a sign, 17 digits and up to 7 padding zeros.
constexpr size_t kDoubleChars = 32;
// Redis prints a double that holds an integer of at most this magnitude as that integer
// (util.c double2ll); beyond it, 1e20 stays "1e+20" rather than 21 digits.
constexpr double kPrintAsIntegerBound = 4611686018427387904.0;  // 2^62

size_t CopyTo(char* out, std::string_view s) {
  std::memcpy(out, s.data(), s.size());
  return s.size();
}

// Significant digits and decimal exponent of the shortest representation that round-trips:
// |d| = 0.<digits> * 10^(exponent + 1), i.e. exponent is that of the first digit.
struct ShortestDecimal {
  char digits[20];
  int count = 0;
  int exponent = 0;
};

ShortestDecimal Decompose(double magnitude) {
  char sci[kDoubleChars];
  auto result = std::to_chars(sci, sci + sizeof(sci), magnitude, std::chars_format::scientific);
  ShortestDecimal dec;
  const char* p = sci;
  for (; *p != 'e'; ++p) {
    if (*p != '.') dec.digits[dec.count++] = *p;
  }
  std::from_chars(p + (p[1] == '+' ? 2 : 1), result.ptr, dec.exponent);
  return dec;
}

// Lays out the digits the way Redis 7.2's fpconv does (so replies match byte for byte): plain
// digits while the number is not far from 1, scientific with an unpadded exponent otherwise.
size_t LayOut(const ShortestDecimal& dec, char* out) {
  int last_exponent = dec.exponent - dec.count + 1;  // exponent of the last digit
  int abs_exponent = std::abs(dec.exponent);
  char* p = out;
  if (last_exponent >= 0 && abs_exponent < dec.count + 7) {
    p += CopyTo(p, {dec.digits, static_cast<size_t>(dec.count)});
    p = std::fill_n(p, last_exponent, '0');
  } else if (last_exponent < 0 && (last_exponent > -7 || abs_exponent < 4)) {
    int int_digits = dec.exponent + 1;
    if (int_digits <= 0) {
      p += CopyTo(p, "0.");
      p = std::fill_n(p, -int_digits, '0');
      p += CopyTo(p, {dec.digits, static_cast<size_t>(dec.count)});
    } else {
      p += CopyTo(p, {dec.digits, static_cast<size_t>(int_digits)});
      *p++ = '.';
      p += CopyTo(p, {dec.digits + int_digits, static_cast<size_t>(dec.count - int_digits)});
    }
  } else {
    *p++ = dec.digits[0];
    if (dec.count > 1) {
      *p++ = '.';
      p += CopyTo(p, {dec.digits + 1, static_cast<size_t>(dec.count - 1)});
    }
    *p++ = 'e';
    *p++ = dec.exponent < 0 ? '-' : '+';
    p = std::to_chars(p, out + kDoubleChars, abs_exponent).ptr;
  }
  return static_cast<size_t>(p - out);
}

// Writes FormatDouble(d) into `out` (at least kDoubleChars bytes) without allocating.
size_t WriteDouble(double d, char* out) {
  if (std::isnan(d)) return CopyTo(out, "nan");  // one spelling, whatever the sign or payload
  if (std::isinf(d)) return CopyTo(out, d < 0 ? "-inf" : "inf");
  if (d == 0) return CopyTo(out, std::signbit(d) ? "-0" : "0");
  if (std::fabs(d) <= kPrintAsIntegerBound && d == std::trunc(d)) {
    return static_cast<size_t>(std::to_chars(out, out + kDoubleChars, static_cast<int64_t>(d)).ptr -
                               out);
  }
  size_t sign = 0;
  if (d < 0) out[sign++] = '-';
  return sign + LayOut(Decompose(std::fabs(d)), out + sign);
}

// A reply line must not contain a line break, or the client would read the rest as a new reply.
void AppendOneLine(std::string* out, std::string_view s) {
  size_t start = out->size();
  out->append(s);
  if (s.find_first_of(kCrlf) == std::string_view::npos) return;
  for (size_t i = start; i < out->size(); ++i) {
    if ((*out)[i] == '\r' || (*out)[i] == '\n') (*out)[i] = ' ';
  }
}

}  // namespace

std::string FormatDouble(double d) {
  char buf[kDoubleChars];
  return std::string(buf, WriteDouble(d, buf));
}

void ReplyWriter::AppendLength(char type, int64_t n) {
  char buf[24];
  buf[0] = type;
  char* end = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out_->append(buf, static_cast<size_t>(end - buf));
}

void ReplyWriter::Ok() { Append("+OK\r\n"); }

void ReplyWriter::Simple(std::string_view s) {
  out_->push_back('+');
  AppendOneLine(out_, s);
  Append(kCrlf);
}

void ReplyWriter::Error(std::string_view message) {
  out_->push_back('-');
  AppendOneLine(out_, message);
  Append(kCrlf);
}

void ReplyWriter::Integer(int64_t v) { AppendLength(':', v); }

void ReplyWriter::Bulk(std::string_view s) {
  AppendLength('$', static_cast<int64_t>(s.size()));
  Append(s);
  Append(kCrlf);
}

void ReplyWriter::Null() { Append(version_ == RespVersion::kResp3 ? "_\r\n" : "$-1\r\n"); }

void ReplyWriter::NullArray() { Append(version_ == RespVersion::kResp3 ? "_\r\n" : "*-1\r\n"); }

void ReplyWriter::ArrayHeader(size_t n) { AppendLength('*', static_cast<int64_t>(n)); }

void ReplyWriter::MapHeader(size_t pairs) {
  if (version_ == RespVersion::kResp3) {
    AppendLength('%', static_cast<int64_t>(pairs));
  } else {
    AppendLength('*', static_cast<int64_t>(pairs * 2));
  }
}

void ReplyWriter::SetHeader(size_t n) {
  AppendLength(version_ == RespVersion::kResp3 ? '~' : '*', static_cast<int64_t>(n));
}

void ReplyWriter::Bool(bool b) {
  if (version_ == RespVersion::kResp3) {
    Append(b ? "#t\r\n" : "#f\r\n");
  } else {
    Append(b ? ":1\r\n" : ":0\r\n");
  }
}

void ReplyWriter::Double(double d) {
  char buf[kDoubleChars];
  std::string_view text(buf, WriteDouble(d, buf));
  if (version_ == RespVersion::kResp2) return Bulk(text);
  out_->push_back(',');
  Append(text);
  Append(kCrlf);
}

void ReplyWriter::Verbatim(std::string_view s, std::string_view format) {
  if (version_ == RespVersion::kResp2) return Bulk(s);
  // The format is exactly three bytes on the wire; anything else would corrupt the reply.
  if (format.size() != 3) format = "txt";
  AppendLength('=', static_cast<int64_t>(s.size() + 4));
  Append(format);
  out_->push_back(':');
  Append(s);
  Append(kCrlf);
}

void ReplyWriter::BulkArray(const std::string_view* items, size_t n) {
  ArrayHeader(n);
  for (size_t i = 0; i < n; ++i) Bulk(items[i]);
}

}  // namespace arvel::protocol
