// OBJECT and MEMORY: what a key is made of and what memory holds, in Redis 7's reply shapes.
// Values are plain strings in every store, so OBJECT ENCODING names the encoding Redis would
// pick for the same bytes (int, embstr, raw). Access times come from the store (Store::Inspect):
// the array store keeps them per key; a store that does not answers IDLETIME with an error.

#include <malloc.h>

#include <string>

#include "common/errors.h"
#include "drivers/store.h"
#include "server/command_table.h"
#include "server/commands/arguments.h"
#include "server/commands/subcommands.h"
#include "server/info.h"
#include "server/server.h"

namespace arvel::server {

namespace {

// Redis's limit for strings stored in one allocation with their object (OBJ_ENCODING_EMBSTR).
constexpr size_t kEmbstrLimit = 44;
// Integers Redis shares (OBJ_SHARED_INTEGERS): their refcount reads as INT_MAX.
constexpr int64_t kSharedIntegers = 10000;
constexpr int64_t kSharedRefcount = 2147483647;

std::string_view Encoding(std::string_view value) {
  if (value.size() <= 20 && ParseInt64(value)) return "int";
  return value.size() <= kEmbstrLimit ? "embstr" : "raw";
}

// Looks `key` up through Store::Inspect and replies with `reply(writer, entry, facts)`, or a null
// when the key is absent.
template <typename ReplyFn>
void InspectAndReply(CommandContext& ctx, std::string_view key, ReplyFn reply) {
  ctx.store().Inspect(key, [pending = ctx.Suspend(), reply = std::move(reply)](
                               const Status& status, const drivers::Entry* entry,
                               const drivers::KeyFacts& facts) mutable {
    pending.Finish([&](protocol::ReplyWriter& writer) {
      if (!status.ok()) return writer.Error(status.message());
      if (entry == nullptr) return writer.Null();
      reply(writer, *entry, facts);
    });
  });
}

// ---- OBJECT

void ObjectEncoding(CommandContext& ctx) {
  InspectAndReply(ctx, ctx.arg(2), [](protocol::ReplyWriter& writer, const drivers::Entry& entry,
                                      const drivers::KeyFacts&) {
    writer.Bulk(Encoding(entry.value));
  });
}

void ObjectRefcount(CommandContext& ctx) {
  InspectAndReply(ctx, ctx.arg(2), [](protocol::ReplyWriter& writer, const drivers::Entry& entry,
                                      const drivers::KeyFacts&) {
    const std::optional<int64_t> n = entry.value.size() <= 20 ? ParseInt64(entry.value) : std::nullopt;
    writer.Integer(n && *n >= 0 && *n < kSharedIntegers ? kSharedRefcount : 1);
  });
}

void ObjectIdletime(CommandContext& ctx) {
  InspectAndReply(ctx, ctx.arg(2),
                  [store = ctx.store().name()](protocol::ReplyWriter& writer,
                                               const drivers::Entry&, const drivers::KeyFacts& facts) {
                    if (facts.idle_s < 0) return writer.Error(errors::NoAccessTimes(store));
                    writer.Integer(facts.idle_s);
                  });
}

void ObjectFreq(CommandContext& ctx) {
  // Eviction is by recency (maxmemory_policy allkeys-lru), so no frequency is kept: Redis's
  // answer under an LRU policy, once the key is known to exist.
  InspectAndReply(ctx, ctx.arg(2), [](protocol::ReplyWriter& writer, const drivers::Entry&,
                                      const drivers::KeyFacts&) {
    writer.Error(errors::kNoLfuPolicy);
  });
}

void ObjectHelp(CommandContext& ctx) {
  static constexpr std::string_view kLines[] = {
      "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "ENCODING <key>",
      "    Return the kind of internal representation used in order to store the value",
      "    associated with a <key>.",
      "FREQ <key>",
      "    Return the access frequency index of the <key>. The returned integer is",
      "    proportional to the logarithm of the recent access frequency of the key.",
      "IDLETIME <key>",
      "    Return the idle time of the <key>, that is the approximated number of",
      "    seconds elapsed since the last access to the key.",
      "REFCOUNT <key>",
      "    Return the number of references of the value associated with the specified",
      "    <key>.",
      "HELP",
      "    Print this help.",
  };
  ReplyHelp(ctx, kLines);
}

void ObjectCommand(CommandContext& ctx) {
  using Run = void (*)(CommandContext&);
  static constexpr Subcommand<Run> kSubcommands[] = {
      {"encoding", 3, 3, ObjectEncoding}, {"refcount", 3, 3, ObjectRefcount},
      {"idletime", 3, 3, ObjectIdletime}, {"freq", 3, 3, ObjectFreq},
      {"help", 2, 2, ObjectHelp},
  };
  if (const auto* sub = FindSubcommand(ctx, kSubcommands, ctx.arg(1), "object")) sub->run(ctx);
}

// ---- MEMORY

void MemoryUsage(CommandContext& ctx) {
  // SAMPLES matters for aggregate types only; strings are measured whole.
  ArgumentParser args(ctx.args(), 3);
  if (args.Flag("SAMPLES")) {
    const std::optional<int64_t> samples = ParseInt64(args.Next());
    if (!samples || *samples < 0) return ctx.reply().Error(errors::kNotInteger);
  }
  if (!args.Finish(ctx)) return;
  InspectAndReply(ctx, ctx.arg(2), [](protocol::ReplyWriter& writer, const drivers::Entry&,
                                      const drivers::KeyFacts& facts) {
    writer.Integer(static_cast<int64_t>(facts.bytes));
  });
}

double Ratio(uint64_t a, uint64_t b) { return b == 0 ? 0 : static_cast<double>(a) / b; }

// Redis 7's MEMORY STATS fields, but no db.N breakdown (the stores' tables are counted in the
// dataset). The allocator's own figures are not known (glibc malloc): allocated and active read
// as used_memory, resident as the RSS.
void MemoryStats(CommandContext& ctx) {
  const MemoryFigures m = CollectMemory(ctx.server());
  const uint64_t overhead = m.clients + m.lua;
  protocol::ReplyWriter& out = ctx.reply();
  out.MapHeader(27);
  auto field = [&](std::string_view name, uint64_t value) {
    out.Bulk(name);
    out.Integer(static_cast<int64_t>(value));
  };
  auto ratio = [&](std::string_view name, double value) {
    out.Bulk(name);
    out.Double(value);
  };
  field("peak.allocated", m.peak);
  field("total.allocated", m.used);
  field("startup.allocated", 0);
  field("replication.backlog", 0);
  field("clients.slaves", 0);
  field("clients.normal", m.clients);
  field("cluster.links", 0);
  field("aof.buffer", 0);
  field("lua.caches", m.lua);
  field("functions.caches", 0);
  field("overhead.total", overhead);
  field("keys.count", static_cast<uint64_t>(m.keys));
  field("keys.bytes-per-key", m.keys > 0 ? m.stores / static_cast<uint64_t>(m.keys) : 0);
  field("dataset.bytes", m.stores);
  ratio("dataset.percentage", 100 * Ratio(m.stores, m.used));
  ratio("peak.percentage", 100 * Ratio(m.used, m.peak));
  field("allocator.allocated", m.used);
  field("allocator.active", m.used);
  field("allocator.resident", m.rss);
  ratio("allocator-fragmentation.ratio", 1);
  field("allocator-fragmentation.bytes", 0);
  ratio("allocator.rss-ratio", Ratio(m.rss, m.used));
  field("allocator.rss-bytes", m.rss > m.used ? m.rss - m.used : 0);
  ratio("rss-overhead.ratio", 1);
  field("rss-overhead.bytes", 0);
  ratio("fragmentation", Ratio(m.rss, m.used));
  field("fragmentation.bytes", m.rss > m.used ? m.rss - m.used : 0);
}

void MemoryDoctor(CommandContext& ctx) {
  const MemoryFigures m = CollectMemory(ctx.server());
  if (m.used < 5 * 1024 * 1024) {
    return ctx.reply().Verbatim(
        "Hi Sam, this instance is empty or is using very little memory, my issues detector "
        "can't be used in these conditions. Please, leave for your mission on Earth and fill it "
        "with some data. The new Sam and I will be back to our programming as soon as I "
        "finished rebooting.");
  }
  ctx.reply().Verbatim("Hi Sam, I can't find any memory issue in your instance. I can only account "
                       "for what occurs on this base.");
}

void MemoryMallocStats(CommandContext& ctx) {
  ctx.reply().Verbatim("Stats not supported for the current allocator");
}

void MemoryPurge(CommandContext& ctx) {
  // Hands freed heap pages back to the system after a burst (glibc keeps them otherwise).
  malloc_trim(0);
  ctx.reply().Ok();
}

void MemoryHelp(CommandContext& ctx) {
  static constexpr std::string_view kLines[] = {
      "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "DOCTOR",
      "    Return memory problems reports.",
      "MALLOC-STATS",
      "    Return internal statistics report from the memory allocator.",
      "PURGE",
      "    Attempt to purge dirty pages for reclamation by the allocator.",
      "STATS",
      "    Return information about the memory usage of the server.",
      "USAGE <key> [SAMPLES <count>]",
      "    Return memory in bytes used by <key> and its value. Nested values are",
      "    sampled up to <count> times (default: 5, 0 means sample all).",
      "HELP",
      "    Print this help.",
  };
  ReplyHelp(ctx, kLines);
}

void MemoryCommand(CommandContext& ctx) {
  using Run = void (*)(CommandContext&);
  static constexpr Subcommand<Run> kSubcommands[] = {
      {"usage", 3, kAnyArgc, MemoryUsage},   {"stats", 2, 2, MemoryStats},
      {"doctor", 2, 2, MemoryDoctor},        {"malloc-stats", 2, 2, MemoryMallocStats},
      {"purge", 2, 2, MemoryPurge},          {"help", 2, 2, MemoryHelp},
  };
  if (const auto* sub = FindSubcommand(ctx, kSubcommands, ctx.arg(1), "memory")) sub->run(ctx);
}

}  // namespace

void RegisterObjectCommands(CommandTable& table) {
  table.Register({"object", -2, kReadOnly | kNoTouch, 2, 2, 1, ObjectCommand, "generic",
                  "Inspects a key: ENCODING, IDLETIME, FREQ, REFCOUNT.",
                  "ENCODING key | IDLETIME key | FREQ key | REFCOUNT key | HELP"});
  table.Register({"memory", -2, kReadOnly | kNoTouch, 2, 2, 1, MemoryCommand, "server",
                  "Memory of a key (USAGE) and of the server (STATS, DOCTOR, PURGE).",
                  "USAGE key [SAMPLES count] | STATS | DOCTOR | MALLOC-STATS | PURGE | HELP"});
}

}  // namespace arvel::server
