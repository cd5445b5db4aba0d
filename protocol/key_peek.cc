#include "protocol/key_peek.h"

#include <cstdint>

namespace arvel::protocol {

namespace {

// Reads "<marker><digits>\r\n" at `pos`; the number, or -1 (and `pos` unchanged).
int64_t ReadHeader(std::string_view buf, size_t& pos, char marker) {
  size_t i = pos;
  if (i >= buf.size() || buf[i] != marker) return -1;
  int64_t n = 0;
  size_t digits = 0;
  for (++i; i < buf.size() && buf[i] >= '0' && buf[i] <= '9' && digits < 10; ++i, ++digits) {
    n = n * 10 + (buf[i] - '0');
  }
  if (digits == 0 || i + 1 >= buf.size() || buf[i] != '\r' || buf[i + 1] != '\n') return -1;
  pos = i + 2;
  return n;
}

}  // namespace

size_t PeekKeys(std::string_view buf, std::span<std::string_view> keys) {
  size_t found = 0;
  size_t pos = 0;
  while (found < keys.size()) {
    const int64_t argc = ReadHeader(buf, pos, '*');
    if (argc < 0) break;
    std::string_view key;
    for (int64_t i = 0; i < argc; ++i) {
      const int64_t len = ReadHeader(buf, pos, '$');
      if (len < 0 || buf.size() - pos < static_cast<size_t>(len) + 2) return found;
      if (i == 1) key = buf.substr(pos, static_cast<size_t>(len));
      pos += static_cast<size_t>(len) + 2;
    }
    if (argc >= 2) keys[found++] = key;
  }
  return found;
}

}  // namespace arvel::protocol
