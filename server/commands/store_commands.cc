// Stores and testing (SPEC §4): STORE SELECT FAKE ASSERT.
//
// A connection works on one store at a time (ClientState::store). FAKE swaps in a private
// FakeStore owned by the connection — Laravel's Cache::fake() — and FAKE OFF (or STORE name,
// or RESET) drops it. ASSERT reads through the current store like any client would, and on a
// fake also consults its write history to say *why* a key is missing.

#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "common/errors.h"
#include "drivers/fake_store.h"
#include "drivers/store.h"
#include "server/client_state.h"
#include "server/command_table.h"
#include "server/commands/arguments.h"
#include "server/commands/store_ops.h"
#include "server/fill_leases.h"
#include "server/server.h"

namespace arvel::server {

namespace {

// Longest piece of a key or value an assertion message quotes.
constexpr size_t kMaxQuoted = 64;

// 'text' with quotes, backslashes and non-printable bytes escaped (error replies are one line
// of text), and long values clipped with their size.
std::string Quoted(std::string_view text) {
  std::string out = "'";
  for (unsigned char c : text.substr(0, kMaxQuoted)) {
    if (c == '\'' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += "'";
  if (text.size() > kMaxQuoted) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

// Ends FAKE mode, if on: back to the store FAKE replaced, the fake is dropped.
void DropFake(CommandContext& ctx, drivers::Store* next) {
  ClientState& client = ctx.client();
  client.store = next;
  client.store_before_fake = nullptr;
  ctx.server().RetireStore(std::move(client.fake));
}

// ---- STORE, SELECT -------------------------------------------------------------------------

void ListStores(CommandContext& ctx) {
  const auto& stores = ctx.server().stores();
  auto& w = ctx.reply();
  w.ArrayHeader(stores.size());
  for (const auto& store : stores) w.Bulk(store->name());
}

// STORE → the current store's name; STORE LIST → every configured store; STORE name → switch.
void StoreCommand(CommandContext& ctx) {
  if (ctx.argc() == 1) return ctx.reply().Bulk(ctx.store().name());
  if (ctx.argc() > 2) return ctx.reply().Error(errors::kSyntax);
  if (EqualsIgnoreCase(ctx.arg(1), "LIST")) return ListStores(ctx);
  drivers::Store* store = ctx.server().FindStore(ctx.arg(1));
  if (store == nullptr) return ctx.reply().Error(errors::NoSuchStore(ctx.arg(1)));
  ClientState& client = ctx.client();
  if (client.fake) {
    DropFake(ctx, store);
  } else {
    client.store = store;
  }
  ctx.reply().Ok();
}

// Clients send SELECT 0 on connect; there is one database per store.
void Select(CommandContext& ctx) {
  std::optional<int64_t> index = ParseInt64(ctx.arg(1));
  if (!index) return ctx.reply().Error(errors::kNotInteger);
  if (*index != 0) return ctx.reply().Error(errors::kDbIndex);
  ctx.reply().Ok();
}

// ---- FAKE ----------------------------------------------------------------------------------

// FAKE TRAVEL seconds: the fake's clock moves forward; REMEMBER leases held on the fake that
// have run out by it end now, as their timers would have (nobody else can wait on a fake).
void Travel(CommandContext& ctx) {
  ClientState& client = ctx.client();
  if (!client.fake) return ctx.reply().Error(errors::kTravelWithoutFake);
  const std::optional<int64_t> seconds = ParseInt64(ctx.arg(2));
  if (!seconds || *seconds < 0 || *seconds > std::numeric_limits<int64_t>::max() / 1000) {
    return ctx.reply().Error(errors::kBadTravel);
  }
  auto& fake = static_cast<drivers::FakeStore&>(*client.fake);
  fake.Travel(*seconds * 1000);
  ctx.server().fill_leases().Travelled(fake);
  ctx.reply().Ok();
}

// FAKE: a fresh, empty fake (a second FAKE starts over). FAKE OFF: back to the previous store.
void Fake(CommandContext& ctx) {
  ClientState& client = ctx.client();
  if (ctx.argc() == 3 && EqualsIgnoreCase(ctx.arg(1), "TRAVEL")) return Travel(ctx);
  if (ctx.argc() > 2 || (ctx.argc() == 2 && !EqualsIgnoreCase(ctx.arg(1), "OFF"))) {
    return ctx.reply().Error(errors::kSyntax);
  }
  if (ctx.argc() == 2) {
    if (client.fake) {
      DropFake(ctx,
               client.store_before_fake ? client.store_before_fake : ctx.server().default_store());
    }
    return ctx.reply().Ok();
  }
  auto fake = std::make_unique<drivers::FakeStore>();
  ctx.server().AdoptStore(*fake);
  if (!client.fake) client.store_before_fake = client.store;
  client.store = fake.get();
  ctx.server().RetireStore(std::move(client.fake));  // a second FAKE starts over
  client.fake = std::move(fake);
  ctx.reply().Ok();
}

// ---- ASSERT --------------------------------------------------------------------------------

// Why `key` is missing, from the fake's history when the store is a fake.
std::string MissingReason(const drivers::FakeStore* fake, std::string_view key) {
  std::string text = "key " + Quoted(key) + " is missing";
  if (fake == nullptr) return text;
  const std::string* last = fake->LastWrite(key);
  if (last == nullptr) return text + " (it was never written)";
  return text + " (it was written, last as " + Quoted(*last) +
         ", but has since been forgotten or has expired)";
}

// The assertion's verdict on what the store holds: empty when it holds.
std::string Verdict(bool expect_stored, const std::optional<std::string>& expected,
                    const std::string& key, const drivers::Entry* entry,
                    const drivers::FakeStore* fake) {
  if (!expect_stored) {
    if (entry == nullptr) return "";
    return "key " + Quoted(key) + " holds " + Quoted(entry->value) + ", expected it to be missing";
  }
  if (entry == nullptr) return MissingReason(fake, key);
  if (expected && entry->value != *expected) {
    return "key " + Quoted(key) + " holds " + Quoted(entry->value) + ", expected " +
           Quoted(*expected);
  }
  return "";
}

// ASSERT STORED key [value] | ASSERT MISSING key
void Assert(CommandContext& ctx) {
  bool stored = EqualsIgnoreCase(ctx.arg(1), "STORED");
  bool missing = EqualsIgnoreCase(ctx.arg(1), "MISSING");
  if ((!stored && !missing) || ctx.argc() > (stored ? 4u : 3u)) {
    return ctx.reply().Error(errors::kSyntax);
  }
  std::string key(ctx.arg(2));
  std::optional<std::string> expected;
  if (ctx.argc() == 4) expected = std::string(ctx.arg(3));
  // The current store is the fake exactly when FAKE is on; it outlives this command, which
  // keeps the connection parked until the reply is written.
  const drivers::FakeStore* fake =
      ctx.client().fake && ctx.client().store == ctx.client().fake.get()
          ? static_cast<const drivers::FakeStore*>(ctx.client().fake.get())
          : nullptr;
  ReadAndReply(ctx, drivers::Space::kData, key,
               [stored, key, expected = std::move(expected), fake](
                   protocol::ReplyWriter& w, std::span<const drivers::Entry* const> entries) {
                 std::string failure = Verdict(stored, expected, key, entries[0], fake);
                 if (failure.empty()) {
                   w.Ok();
                 } else {
                   w.Error(errors::AssertionFailed(failure));
                 }
               });
}

}  // namespace

void RegisterStoreCommands(CommandTable& table) {
  table.Register({"store", -1, kConnectionState | kFast, 0, 0, 0, StoreCommand, "cache",
                  "Returns the connection's store, switches it, or lists the stores.",
                  "[name | LIST]"});
  table.Register({"select", 2, kConnectionState | kFast, 0, 0, 0, Select, "connection",
                  "Accepts database 0, the only one (use STORE to change stores).", "index"});
  table.Register({"fake", -1, kConnectionState | kFast, 0, 0, 0, Fake, "cache",
                  "Gives the connection a private, empty store that records writes (OFF ends it; "
                  "TRAVEL moves its clock forward).",
                  "[OFF|TRAVEL seconds]"});
  table.Register({"assert", -3, kReadOnly | kFast, 2, 2, 1, Assert, "cache",
                  "Replies OK if a key holds a value (or is missing), else an error saying why.",
                  "STORED key [value] | MISSING key"});
}

}  // namespace arvel::server
