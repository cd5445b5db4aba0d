#pragma once
// Redis 7's bitmap arithmetic over a string value, for GETBIT, SETBIT, BITCOUNT and BITPOS: pure
// functions of the value and the parsed arguments, so that every driver answers alike. Bit 0 is
// the most significant bit of the first byte, as in Redis.

#include <cstdint>
#include <optional>
#include <string_view>

namespace arvel::server {

enum class BitUnit : uint8_t { kByte, kBit };

// The range arguments of BITCOUNT (start end [unit]) and BITPOS (start [end [unit]]), as given:
// negative indexes count from the end of the value, in `unit`s.
struct BitSpan {
  int64_t start = 0;
  std::optional<int64_t> end;
  BitUnit unit = BitUnit::kByte;
};

// The bit at `offset` (0 past the end of the value).
int GetBit(std::string_view value, uint64_t offset);

// BITCOUNT of an existing value: the set bits in `span` (all of them without one).
// REQUIRES: span->end when span.
int64_t BitCount(std::string_view value, const std::optional<BitSpan>& span);

// BITPOS of an existing value: the first bit equal to `bit` in `span` (the whole value without
// one), or -1. Looking for 0 where every bit is 1 finds the first bit past the value — unless
// the span gives an end (Redis's rule: the value is padded with zeros only to the right of an
// open range).
int64_t BitPos(std::string_view value, int bit, const std::optional<BitSpan>& span);

}  // namespace arvel::server
