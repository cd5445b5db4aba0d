// Connection commands: PING ECHO QUIT RESET HELLO AUTH CLIENT.

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <optional>
#include <string>

#include "common/errors.h"
#include "drivers/store.h"
#include "server/command_table.h"
#include "server/commands/arguments.h"
#include "server/connection.h"
#include "server/server.h"

namespace arvel::server {

namespace {

// Compares in time independent of where the inputs differ (and of their lengths, by comparing
// digests), so the password cannot be found byte by byte.
bool PasswordMatches(std::string_view given, const std::string& expected) {
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
  return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

// Checks `user`/`password` against the configured password; replies with the error if wrong.
bool Authenticate(CommandContext& ctx, std::string_view user, std::string_view password) {
  const std::string& expected = ctx.server().config().server.password;
  if (expected.empty()) {
    ctx.reply().Error(errors::kAuthNoPassword);
    return false;
  }
  if (user != "default" || !PasswordMatches(password, expected)) {
    ctx.reply().Error(errors::kWrongPass);
    return false;
  }
  ctx.client().authenticated = true;
  return true;
}

void Ping(CommandContext& ctx) {
  if (ctx.argc() > 2) return ctx.reply().Error(errors::WrongArity("ping"));
  if (ctx.argc() == 2) return ctx.reply().Bulk(ctx.arg(1));
  ctx.reply().Simple("PONG");
}

void Echo(CommandContext& ctx) { ctx.reply().Bulk(ctx.arg(1)); }

void Quit(CommandContext& ctx) {
  ctx.reply().Ok();
  ctx.conn().CloseAfterReply();
}

void Auth(CommandContext& ctx) {
  if (ctx.argc() > 3) return ctx.reply().Error(errors::kSyntax);
  std::string_view user = ctx.argc() == 3 ? ctx.arg(1) : "default";
  if (Authenticate(ctx, user, ctx.arg(ctx.argc() - 1))) ctx.reply().Ok();
}

bool ValidClientName(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c <= '~'; });
}

void WriteHelloMap(CommandContext& ctx) {
  auto& w = ctx.reply();
  w.MapHeader(7);
  w.Bulk("server");
  w.Bulk("redis");
  w.Bulk("version");
  w.Bulk("7.0.0");
  w.Bulk("proto");
  w.Integer(static_cast<int64_t>(ctx.client().resp));
  w.Bulk("id");
  w.Integer(static_cast<int64_t>(ctx.client().id));
  w.Bulk("mode");
  w.Bulk("standalone");
  w.Bulk("role");
  w.Bulk("master");
  w.Bulk("modules");
  w.ArrayHeader(0);
}

void Hello(CommandContext& ctx) {
  protocol::RespVersion version = ctx.client().resp;
  size_t next = 1;
  if (ctx.argc() >= 2) {
    std::optional<int64_t> requested = ParseInt64(ctx.arg(next++));
    if (!requested) {
      return ctx.reply().Error("ERR Protocol version is not an integer or out of range");
    }
    if (*requested != 2 && *requested != 3) return ctx.reply().Error(errors::kNoProto);
    version = static_cast<protocol::RespVersion>(*requested);
  }
  std::string_view user, password, name;
  bool auth = false, set_name = false;
  // Options as Redis reads them: AUTH needs two values, SETNAME one; anything else (an option
  // short of its values included) is a syntax error naming the option as sent.
  for (size_t i = next; i < ctx.argc(); ++i) {
    std::string_view option = ctx.arg(i);
    const size_t more = ctx.argc() - 1 - i;
    if (EqualsIgnoreCase(option, "AUTH") && more >= 2) {
      user = ctx.arg(i + 1);
      password = ctx.arg(i + 2);
      auth = true;
      i += 2;
    } else if (EqualsIgnoreCase(option, "SETNAME") && more >= 1) {
      name = ctx.arg(i + 1);
      set_name = true;
      i += 1;
    } else {
      return ctx.reply().Error("ERR Syntax error in HELLO option '" + std::string(option) + "'");
    }
  }
  if (auth && !Authenticate(ctx, user, password)) return;
  if (!ctx.client().authenticated) {
    return ctx.reply().Error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
        "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the "
        "RESP protocol version at the same time");
  }
  if (set_name) {
    if (!ValidClientName(name)) return ctx.reply().Error(errors::kBadClientName);
    ctx.client().name = std::string(name);
  }
  ctx.client().resp = version;
  ctx.reply() = ctx.conn().writer();  // the reply itself is in the new protocol
  WriteHelloMap(ctx);
}

void Reset(CommandContext& ctx) {
  ClientState& client = ctx.client();
  client.in_multi = false;
  client.multi_error = false;
  client.queue.clear();
  client.watch_dirty = false;
  client.watching = false;
  ctx.server().watches().UnwatchAll(client.id);
  client.resp = protocol::RespVersion::kResp2;
  client.name.clear();
  client.no_evict = false;
  client.monitor = false;
  ctx.server().RemoveMonitor(client.id);
  ctx.server().RetireStore(std::move(client.fake));
  client.store_before_fake = nullptr;
  client.store = ctx.server().default_store();
  client.authenticated = ctx.server().config().server.password.empty();
  ctx.reply() = ctx.conn().writer();
  ctx.reply().Simple("RESET");
}

}  // namespace

// CLIENT lives in client_command.cc.
void ClientCommand(CommandContext& ctx);

void RegisterConnectionCommands(CommandTable& table) {
  table.Register({"ping", -1, kFast, 0, 0, 0, Ping, "connection",
                  "Returns the server's liveliness response.", "[message]"});
  table.Register(
      {"echo", 2, kFast, 0, 0, 0, Echo, "connection", "Returns the given string.", "message"});
  table.Register({"quit", 1, kNoAuth | kNoMulti | kConnectionState | kAllowBusy | kFast, 0, 0,
                  0, Quit, "connection", "Closes the connection.", ""});
  // AUTH inside MULTI is queued and runs with EXEC, as in Redis.
  table.Register({"auth", -2, kNoAuth | kConnectionState | kAllowBusy | kFast, 0, 0, 0, Auth,
                  "connection", "Authenticates the connection.", "[username] password"});
  table.Register({"hello", -1, kNoAuth | kNoMulti | kConnectionState | kAllowBusy | kFast, 0, 0,
                  0, Hello,
                  "connection", "Handshakes with the server.",
                  "[protover [AUTH username password] [SETNAME clientname]]"});
  table.Register({"reset", 1, kNoMulti | kConnectionState | kAllowBusy | kFast, 0, 0, 0, Reset,
                  "connection", "Resets the connection.", ""});
  table.Register({"client", -2, kConnectionState, 0, 0, 0, ClientCommand, "connection",
                  "A container for client connection commands.",
                  "ID | GETNAME | SETNAME connection-name | SETINFO attr value | INFO | "
                  "LIST [TYPE type] [ID client-id [client-id ...]] | "
                  "KILL [ip:port] [ID client-id] [TYPE type] [USER username] [ADDR ip:port] "
                  "[LADDR ip:port] [SKIPME yes/no] | NO-EVICT <ON|OFF> | NO-TOUCH <ON|OFF> | "
                  "REPLY <ON|OFF|SKIP> | PAUSE timeout [WRITE|ALL] | UNPAUSE | HELP"});
}

}  // namespace arvel::server
