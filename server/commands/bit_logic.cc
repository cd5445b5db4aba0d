#include "server/commands/bit_logic.h"

#include <algorithm>
#include <bit>

namespace arvel::server {

namespace {

// An inclusive range of bit offsets; empty when first > last.
struct BitRange {
  int64_t first = 0;
  int64_t last = -1;
};

// Redis's range rules (bitops.c): negative ends count from the end, both are clamped to the
// value, then the range is turned into bits.
BitRange Resolve(int64_t size, const BitSpan& span) {
  const bool bits = span.unit == BitUnit::kBit;
  const int64_t total = bits ? size * 8 : size;
  int64_t start = span.start;
  int64_t end = span.end.value_or(total - 1);
  if (start < 0) start += total;
  if (end < 0) end += total;
  start = std::max<int64_t>(start, 0);
  end = std::min(std::max<int64_t>(end, 0), total - 1);
  if (start > end) return {};
  if (bits) return {start, end};
  return {start * 8, end * 8 + 7};
}

int BitAt(std::string_view value, int64_t offset) {
  const auto byte = static_cast<unsigned char>(value[static_cast<size_t>(offset >> 3)]);
  return (byte >> (7 - (offset & 7))) & 1;
}

// True when the whole byte holding `offset` starts there and lies inside `range`.
bool WholeByte(int64_t offset, const BitRange& range) {
  return (offset & 7) == 0 && offset + 7 <= range.last;
}

unsigned char ByteAt(std::string_view value, int64_t offset) {
  return static_cast<unsigned char>(value[static_cast<size_t>(offset >> 3)]);
}

int64_t CountRange(std::string_view value, const BitRange& range) {
  int64_t count = 0;
  for (int64_t i = range.first; i <= range.last;) {
    if (WholeByte(i, range)) {
      count += std::popcount(ByteAt(value, i));
      i += 8;
    } else {
      count += BitAt(value, i++);
    }
  }
  return count;
}

int64_t FindBit(std::string_view value, int bit, const BitRange& range) {
  const unsigned char none = bit ? 0x00 : 0xff;  // a byte without the bit looked for
  for (int64_t i = range.first; i <= range.last;) {
    if (WholeByte(i, range) && ByteAt(value, i) == none) {
      i += 8;
    } else if (BitAt(value, i) == bit) {
      return i;
    } else {
      ++i;
    }
  }
  return -1;
}

}  // namespace

int GetBit(std::string_view value, uint64_t offset) {
  if ((offset >> 3) >= value.size()) return 0;
  return BitAt(value, static_cast<int64_t>(offset));
}

int64_t BitCount(std::string_view value, const std::optional<BitSpan>& span) {
  const auto size = static_cast<int64_t>(value.size());
  if (!span) return CountRange(value, {0, size * 8 - 1});
  // Only BITCOUNT has this shortcut: BITPOS clamps such a range to the first unit instead.
  if (span->start < 0 && *span->end < 0 && span->start > *span->end) return 0;
  return CountRange(value, Resolve(size, *span));
}

int64_t BitPos(std::string_view value, int bit, const std::optional<BitSpan>& span) {
  const BitRange range = Resolve(static_cast<int64_t>(value.size()), span.value_or(BitSpan{}));
  if (range.first > range.last) return -1;
  const int64_t found = FindBit(value, bit, range);
  if (found >= 0 || bit == 1) return found;
  const bool end_given = span && span->end;
  return end_given ? -1 : range.last + 1;
}

}  // namespace arvel::server
