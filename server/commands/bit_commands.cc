// Bitmap commands and LCS with Redis 7 semantics on the connection's current store. The reads
// (GETBIT, BITCOUNT, BITPOS, LCS) compute their replies here from the value one Read returns
// (server/commands/bit_logic.h, lcs.h); SETBIT is one atomic operation (op::SetBit).
//
// Redis 7.0 looks the key up before it checks BITCOUNT's and BITPOS's range arguments: a
// missing key answers 0 (BITPOS: its empty-bitmap answer) whatever follows. So their arguments
// are parsed up front into a latched error that only an existing value reports.

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/errors.h"
#include "drivers/store.h"
#include "server/command_table.h"
#include "server/commands/arguments.h"
#include "server/commands/bit_logic.h"
#include "server/commands/lcs.h"
#include "server/commands/store_ops.h"
#include "server/server.h"

namespace arvel::server {

namespace {

using drivers::Entry;
using drivers::Space;

int64_t MaxStringLength(CommandContext& ctx) {
  return ctx.server().config().server.proto_max_bulk_len;
}

// Redis's bit offset: a non-negative integer whose byte lies within proto-max-bulk-len.
std::optional<uint64_t> ParseBitOffset(CommandContext& ctx, std::string_view text) {
  std::optional<int64_t> offset = ParseInt64(text);
  if (!offset || *offset < 0 || (*offset >> 3) >= MaxStringLength(ctx)) return std::nullopt;
  return static_cast<uint64_t>(*offset);
}

// The range arguments of BITCOUNT/BITPOS, or the error an existing key gets for them.
struct RangeArguments {
  std::optional<BitSpan> span;
  std::string error;
};

void ParseUnit(std::string_view text, RangeArguments& out) {
  if (EqualsIgnoreCase(text, "BIT")) {
    out.span->unit = BitUnit::kBit;
  } else if (!EqualsIgnoreCase(text, "BYTE")) {
    out.error = errors::kSyntax;
  }
}

void ParseBound(std::string_view text, int64_t& bound, RangeArguments& out) {
  std::optional<int64_t> value = ParseInt64(text);
  if (!value) {
    out.error = errors::kNotInteger;
  } else {
    bound = *value;
  }
}

// BITCOUNT key [start end [BYTE | BIT]]: checked in Redis's order (start, end, unit).
RangeArguments ParseCountRange(std::span<const std::string_view> args) {
  RangeArguments out;
  if (args.size() == 2) return out;
  if (args.size() != 4 && args.size() != 5) return {std::nullopt, std::string(errors::kSyntax)};
  out.span.emplace();
  int64_t end = 0;
  ParseBound(args[2], out.span->start, out);
  if (out.error.empty()) ParseBound(args[3], end, out);
  out.span->end = end;
  if (out.error.empty() && args.size() == 5) ParseUnit(args[4], out);
  return out;
}

// BITPOS key bit [start [end [BYTE | BIT]]]: checked in Redis's order (start, unit, end).
RangeArguments ParsePosRange(std::span<const std::string_view> args) {
  RangeArguments out;
  if (args.size() == 3) return out;
  if (args.size() > 6) return {std::nullopt, std::string(errors::kSyntax)};
  out.span.emplace();
  ParseBound(args[3], out.span->start, out);
  if (out.error.empty() && args.size() == 6) ParseUnit(args[5], out);
  if (out.error.empty() && args.size() >= 5) {
    int64_t end = 0;
    ParseBound(args[4], end, out);
    out.span->end = end;
  }
  return out;
}

// ---- Handlers

void GetBitCommand(CommandContext& ctx) {
  std::optional<uint64_t> offset = ParseBitOffset(ctx, ctx.arg(2));
  if (!offset) return ctx.reply().Error(errors::kBitOffset);
  ReadAndReply(
      ctx, Space::kData, ctx.arg(1),
      [offset = *offset](protocol::ReplyWriter& writer, std::span<const Entry* const> entries) {
        writer.Integer(entries[0] ? GetBit(entries[0]->value, offset) : 0);
      });
}

void SetBitCommand(CommandContext& ctx) {
  std::optional<uint64_t> offset = ParseBitOffset(ctx, ctx.arg(2));
  if (!offset) return ctx.reply().Error(errors::kBitOffset);
  std::optional<int64_t> bit = ParseInt64(ctx.arg(3));
  if (!bit || (*bit != 0 && *bit != 1)) return ctx.reply().Error(errors::kBitValue);
  ExecuteAndReply(ctx, drivers::op::SetBit{std::string(ctx.arg(1)), *offset, *bit == 1},
                  ReplyInteger);
}

void BitCountCommand(CommandContext& ctx) {
  ReadAndReply(ctx, Space::kData, ctx.arg(1),
               [range = ParseCountRange(ctx.args())](protocol::ReplyWriter& writer,
                                                     std::span<const Entry* const> entries) {
                 if (!entries[0]) return writer.Integer(0);
                 if (!range.error.empty()) return writer.Error(range.error);
                 writer.Integer(BitCount(entries[0]->value, range.span));
               });
}

void BitPosCommand(CommandContext& ctx) {
  std::optional<int64_t> bit = ParseInt64(ctx.arg(2));
  if (!bit) return ctx.reply().Error(errors::kNotInteger);
  if (*bit != 0 && *bit != 1) return ctx.reply().Error(errors::kBitArgument);
  ReadAndReply(ctx, Space::kData, ctx.arg(1),
               [bit = static_cast<int>(*bit), range = ParsePosRange(ctx.args())](
                   protocol::ReplyWriter& writer, std::span<const Entry* const> entries) {
                 // A missing key is an endless run of zeros.
                 if (!entries[0]) return writer.Integer(bit ? -1 : 0);
                 if (!range.error.empty()) return writer.Error(range.error);
                 writer.Integer(BitPos(entries[0]->value, bit, range.span));
               });
}

// ---- LCS

struct LcsOptions {
  bool len = false;
  bool idx = false;
  bool with_match_len = false;
  int64_t min_match_len = 0;
  int64_t max_table_bytes = 0;
};

void WriteMatches(protocol::ReplyWriter& writer, const LcsResult& lcs, bool with_match_len) {
  writer.MapHeader(2);
  writer.Bulk("matches");
  writer.ArrayHeader(lcs.matches.size());
  for (const LcsMatch& match : lcs.matches) {
    writer.ArrayHeader(with_match_len ? 3 : 2);
    writer.ArrayHeader(2);
    writer.Integer(match.a_first);
    writer.Integer(match.a_last);
    writer.ArrayHeader(2);
    writer.Integer(match.b_first);
    writer.Integer(match.b_last);
    if (with_match_len) writer.Integer(match.length());
  }
  writer.Bulk("len");
  writer.Integer(lcs.length);
}

void ReplyLcs(protocol::ReplyWriter& writer, std::string_view a, std::string_view b,
              const LcsOptions& options) {
  constexpr uint64_t kMaxSize = std::numeric_limits<uint32_t>::max() - 1;
  if (a.size() >= kMaxSize || b.size() >= kMaxSize) return writer.Error(errors::kLcsTooLong);
  if (LcsTableBytes(a.size(), b.size()) > static_cast<uint64_t>(options.max_table_bytes)) {
    return writer.Error(errors::kLcsTooMuchMemory);
  }
  LcsResult lcs = LongestCommonSubsequence(a, b, options.idx ? options.min_match_len : 0);
  if (options.idx) return WriteMatches(writer, lcs, options.with_match_len);
  if (options.len) return writer.Integer(lcs.length);
  writer.Bulk(lcs.sequence);
}

void LcsCommand(CommandContext& ctx) {
  LcsOptions options;
  ArgumentParser args(ctx.args(), 3);
  while (args.ok() && args.HasNext()) {
    if (args.Flag("LEN")) {
      options.len = true;
    } else if (args.Flag("IDX")) {
      options.idx = true;
    } else if (args.Flag("WITHMATCHLEN")) {
      options.with_match_len = true;
    } else if (args.remaining() >= 2 && args.Flag("MINMATCHLEN")) {
      options.min_match_len = args.Integer();
    } else {
      args.Fail(errors::kSyntax);
    }
  }
  if (options.len && options.idx) args.Fail(errors::kLcsLenAndIdx);
  if (!args.Finish(ctx)) return;
  options.max_table_bytes = MaxStringLength(ctx);
  ReadAndReply(ctx, Space::kData, ctx.args().subspan(1, 2),
               [options](protocol::ReplyWriter& writer, std::span<const Entry* const> entries) {
                 std::string_view a = entries[0] ? std::string_view(entries[0]->value) : "";
                 std::string_view b = entries[1] ? std::string_view(entries[1]->value) : "";
                 ReplyLcs(writer, a, b, options);
               });
}

}  // namespace

void RegisterBitCommands(CommandTable& table) {
  table.Register({"getbit", 3, kReadOnly | kFast, 1, 1, 1, GetBitCommand, "bitmap",
                  "Returns a bit value by offset.", "key offset"});
  table.Register({"setbit", 4, kWrite, 1, 1, 1, SetBitCommand, "bitmap",
                  "Sets or clears the bit at an offset, growing the value as needed.",
                  "key offset value"});
  table.Register({"bitcount", -2, kReadOnly, 1, 1, 1, BitCountCommand, "bitmap",
                  "Counts the number of set bits (population counting) in a string.",
                  "key [start end [BYTE | BIT]]"});
  table.Register({"bitpos", -3, kReadOnly, 1, 1, 1, BitPosCommand, "bitmap",
                  "Finds the first set (1) or clear (0) bit in a string.",
                  "key bit [start [end [BYTE | BIT]]]"});
  table.Register({"lcs", -3, kReadOnly, 1, 2, 1, LcsCommand, "string",
                  "Finds the longest common substring.",
                  "key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]"});
}

}  // namespace arvel::server
