// CLIENT ID | SETNAME | GETNAME | SETINFO | INFO | LIST | KILL | NO-EVICT | HELP, with the
// reply shapes of Redis 7 (CLIENT LIST lines carry the same fields, plus store=NAME).

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/errors.h"
#include "drivers/store.h"
#include "server/command_table.h"
#include "server/commands/subcommands.h"
#include "server/commands/arguments.h"
#include "server/connection.h"
#include "server/info.h"
#include "server/server.h"

namespace arvel::server {

namespace {

// Bytes `args` take as a RESP multibulk request: what Redis's query buffer holds for it.
size_t RequestBytes(std::span<const std::string_view> args) {
  size_t bytes = 1 + std::to_string(args.size()).size() + 2;
  for (std::string_view arg : args) {
    bytes += 1 + std::to_string(arg.size()).size() + 2 + arg.size() + 2;
  }
  return bytes;
}

size_t ArgumentBytes(std::span<const std::string_view> args) {
  size_t bytes = 0;
  for (std::string_view arg : args) bytes += arg.size();
  return bytes;
}

// A line of CLIENT LIST / CLIENT INFO, with Redis 7's fields in Redis 7's order (then
// lib-name/lib-ver as Redis 7.2 adds them, and store=NAME). `self` is the running command when
// `conn` is its own connection: Redis's query buffer still holds that command (qbuf) and its
// arguments (argv-mem) while it runs.
std::string ClientLine(const Connection& conn, int64_t now_ms, const CommandContext* self) {
  const ClientState& c = conn.state();
  // Redis's letters, in its order: O monitor, x in MULTI, b blocked, T no-touch; N for none.
  std::string flags;
  if (c.monitor) flags += 'O';
  if (c.in_multi) flags += 'x';
  if (conn.parked() || conn.postponed()) flags += 'b';
  if (c.no_touch) flags += 'T';
  if (flags.empty()) flags = "N";
  size_t qbuf = conn.input_buffer_size();
  size_t argv_mem = 0;
  if (self != nullptr) {
    qbuf += RequestBytes(self->args());
    argv_mem = ArgumentBytes(self->args());
  }
  size_t multi_mem = 0;
  for (const QueuedCommand& queued : c.queue) {
    for (const std::string& arg : queued.args) multi_mem += arg.size();
  }
  const size_t out = conn.output_buffer_size();
  const size_t total = ClientOverheadBytes() + qbuf + argv_mem + multi_mem + out;
  return "id=" + std::to_string(c.id) + " addr=" + c.address + " laddr=" + c.local_address +
         " fd=-1 name=" + c.name + " age=" + std::to_string((now_ms - c.created_ms) / 1000) +
         " idle=" + std::to_string((now_ms - c.last_interaction_ms) / 1000) + " flags=" + flags +
         " db=0 sub=0 psub=0 ssub=0 multi=" +
         std::to_string(c.in_multi ? static_cast<int64_t>(c.queue.size()) : -1) +
         " qbuf=" + std::to_string(qbuf) + " qbuf-free=0 argv-mem=" + std::to_string(argv_mem) +
         " multi-mem=" + std::to_string(multi_mem) + " rbs=" + std::to_string(out) +
         " rbp=" + std::to_string(out) + " obl=0 oll=0 omem=" + std::to_string(out) +
         " tot-mem=" + std::to_string(total) +
         " events=r cmd=" + (c.last_command.empty() ? "NULL" : c.last_command) +
         " user=default redir=-1 resp=" + std::to_string(static_cast<int>(c.resp)) +
         " lib-name=" + c.lib_name + " lib-ver=" + c.lib_version +
         " store=" + (c.store ? c.store->name() : "") + "\n";
}

void List(CommandContext& ctx, ArgumentParser& args) {
  std::vector<uint64_t> ids;
  if (args.Flag("TYPE")) {
    std::string_view type = args.Next();
    if (args.ok() && !EqualsIgnoreCase(type, "normal")) {
      return ctx.reply().Bulk("");  // no replica/pubsub/master clients exist here
    }
  } else if (args.Flag("ID")) {
    while (args.HasNext()) ids.push_back(static_cast<uint64_t>(args.Integer()));
  }
  if (!args.Finish(ctx)) return;
  int64_t now = drivers::NowMs();
  std::string out;
  auto add = [&](const Connection* conn) {
    if (conn) out += ClientLine(*conn, now, conn == &ctx.conn() ? &ctx : nullptr);
  };
  if (ids.empty()) {
    for (const auto& [id, conn] : ctx.server().clients()) add(conn);
  } else {
    for (uint64_t id : ids) add(ctx.server().FindClient(id));
  }
  ctx.reply().Verbatim(out);
}

// The filters of CLIENT KILL's new form; unset ones match everything.
struct KillFilter {
  std::optional<uint64_t> id;
  std::string addr, laddr;
  bool skip_me = true;
  bool normal = true;  // TYPE normal (or none): every client here is a normal one
  bool Matches(const ClientState& c, uint64_t me) const {
    if (!normal) return false;  // no master, replica or pub/sub clients exist
    if (skip_me && c.id == me) return false;
    if (id && c.id != *id) return false;
    if (!addr.empty() && c.address != addr) return false;
    if (!laddr.empty() && c.local_address != laddr) return false;
    return true;
  }
};

void KillMatching(CommandContext& ctx, const KillFilter& filter, bool old_form) {
  std::vector<Connection*> victims;
  for (const auto& [id, conn] : ctx.server().clients()) {
    if (filter.Matches(conn->state(), ctx.client().id)) victims.push_back(conn);
  }
  for (Connection* conn : victims) {
    if (conn == &ctx.conn()) {
      conn->CloseAfterReply();
    } else {
      conn->Close();
    }
  }
  if (!old_form) return ctx.reply().Integer(static_cast<int64_t>(victims.size()));
  if (victims.empty()) return ctx.reply().Error(errors::kNoSuchClient);
  ctx.reply().Ok();
}

// CLIENT KILL ip:port | CLIENT KILL <option value> ..., with Redis 7's checks and error texts.
void Kill(CommandContext& ctx) {
  KillFilter filter;
  if (ctx.argc() == 3) {  // old form: CLIENT KILL ip:port
    filter.addr = std::string(ctx.arg(2));
    filter.skip_me = false;
    return KillMatching(ctx, filter, true);
  }
  for (size_t i = 2; i < ctx.argc(); i += 2) {
    std::string_view option = ctx.arg(i);
    if (i + 1 >= ctx.argc()) return ctx.reply().Error(errors::kSyntax);
    std::string_view value = ctx.arg(i + 1);
    if (EqualsIgnoreCase(option, "id")) {
      std::optional<int64_t> id = ParseInt64(value);
      if (!id || *id < 1) return ctx.reply().Error("ERR client-id should be greater than 0");
      filter.id = static_cast<uint64_t>(*id);
    } else if (EqualsIgnoreCase(option, "type")) {
      if (EqualsIgnoreCase(value, "normal")) {
        filter.normal = true;
      } else if (EqualsIgnoreCase(value, "master") || EqualsIgnoreCase(value, "replica") ||
                 EqualsIgnoreCase(value, "slave") || EqualsIgnoreCase(value, "pubsub")) {
        filter.normal = false;
      } else {
        return ctx.reply().Error("ERR Unknown client type '" + std::string(value) + "'");
      }
    } else if (EqualsIgnoreCase(option, "addr")) {
      filter.addr = std::string(value);
    } else if (EqualsIgnoreCase(option, "laddr")) {
      filter.laddr = std::string(value);
    } else if (EqualsIgnoreCase(option, "user")) {
      // One user exists: "default" (user names are case-sensitive, as in Redis).
      if (value != "default") {
        return ctx.reply().Error("ERR No such user '" + std::string(value) + "'");
      }
    } else if (EqualsIgnoreCase(option, "skipme")) {
      if (EqualsIgnoreCase(value, "yes")) {
        filter.skip_me = true;
      } else if (EqualsIgnoreCase(value, "no")) {
        filter.skip_me = false;
      } else {
        return ctx.reply().Error(errors::kSyntax);
      }
    } else {
      return ctx.reply().Error(errors::kSyntax);
    }
  }
  KillMatching(ctx, filter, false);
}

void SetName(CommandContext& ctx, ArgumentParser& args) {
  std::string_view name = args.Next();
  if (!args.Finish(ctx)) return;
  for (char c : name) {
    if (c <= ' ' || c > '~') return ctx.reply().Error(errors::kBadClientName);
  }
  ctx.client().name = std::string(name);
  ctx.reply().Ok();
}

void SetInfo(CommandContext& ctx, ArgumentParser& args) {
  std::string_view attr = args.Next();
  std::string_view value = args.Next();
  if (!args.Finish(ctx)) return;
  if (EqualsIgnoreCase(attr, "lib-name")) {
    ctx.client().lib_name = std::string(value);
  } else if (EqualsIgnoreCase(attr, "lib-ver")) {
    ctx.client().lib_version = std::string(value);
  } else {
    return ctx.reply().Error("ERR Unrecognized option '" + std::string(attr) + "'");
  }
  ctx.reply().Ok();
}

// CLIENT NO-EVICT / NO-TOUCH ON|OFF: sets `flag`.
void OnOff(CommandContext& ctx, ArgumentParser& args, bool& flag) {
  std::string_view mode = args.Next();
  if (!args.Finish(ctx)) return;
  if (!EqualsIgnoreCase(mode, "on") && !EqualsIgnoreCase(mode, "off")) {
    return ctx.reply().Error(errors::kSyntax);
  }
  flag = EqualsIgnoreCase(mode, "on");
  ctx.reply().Ok();
}

// CLIENT PAUSE timeout [WRITE|ALL] (server/client_pause.h).
void Pause(CommandContext& ctx, ArgumentParser& args) {
  const std::optional<int64_t> timeout = ParseInt64(args.Next());
  if (!timeout) return ctx.reply().Error("ERR timeout is not an integer or out of range");
  if (*timeout < 0) return ctx.reply().Error("ERR timeout is negative");
  ClientPause::Mode mode = ClientPause::Mode::kAll;
  if (args.HasNext()) {
    std::string_view which = args.Next();
    if (EqualsIgnoreCase(which, "write")) {
      mode = ClientPause::Mode::kWrite;
    } else if (!EqualsIgnoreCase(which, "all")) {
      return ctx.reply().Error("ERR CLIENT PAUSE mode must be WRITE or ALL");
    }
  }
  if (!args.Finish(ctx)) return;
  ctx.server().pause().Pause(mode, *timeout);
  ctx.reply().Ok();
}

// CLIENT REPLY ON|OFF|SKIP: OFF and SKIP are not answered (the connection drops the replies,
// Connection::Execute); ON answers +OK.
void Reply(CommandContext& ctx, ArgumentParser& args) {
  std::string_view mode = args.Next();
  if (!args.Finish(ctx)) return;
  ClientState& client = ctx.client();
  if (EqualsIgnoreCase(mode, "on")) {
    client.reply_off = client.reply_skip = client.reply_skip_next = false;
    return ctx.reply().Ok();
  }
  if (EqualsIgnoreCase(mode, "off")) {
    client.reply_off = true;
  } else if (EqualsIgnoreCase(mode, "skip")) {
    client.reply_skip = client.reply_skip_next = true;  // this reply and the next command's
  } else {
    ctx.reply().Error(errors::kSyntax);
  }
}

void Help(CommandContext& ctx) {
  static constexpr std::string_view kLines[] = {
      "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "ID",
      "    Return the ID of the current connection.",
      "GETNAME",
      "    Return the name of the current connection.",
      "SETNAME <name>",
      "    Assign the name <name> to the current connection.",
      "SETINFO <LIB-NAME|LIB-VER> <value>",
      "    Set client library name or version.",
      "INFO",
      "    Return information about the current client connection.",
      "LIST [TYPE normal] [ID <id> ...]",
      "    Return information about client connections.",
      "KILL <ip:port> | KILL <option> <value> [...]",
      "    Kill connections. Options: ID, ADDR, LADDR, SKIPME yes|no.",
      "NO-EVICT (ON|OFF)",
      "    Accepted for compatibility; clients are never evicted.",
      "NO-TOUCH (ON|OFF)",
      "    Will not touch LRU/LFU stats when this mode is on.",
      "PAUSE <timeout> [WRITE|ALL]",
      "    Suspend all, or just write, clients for <timeout> milliseconds.",
      "UNPAUSE",
      "    Stop the current client pause, resuming traffic.",
      "REPLY (ON|OFF|SKIP)",
      "    Control the replies sent to the current connection.",
  };
  ReplyHelp(ctx, kLines);
}

}  // namespace

void ClientCommand(CommandContext& ctx) {
  std::string_view sub = ctx.arg(1);
  // Redis names the last command of a client by its full name ("client|list").
  ctx.client().last_command = CommandTable::Default().StatsName(ctx.spec(), ctx.args());
  ArgumentParser args(ctx.args(), 2);
  if (EqualsIgnoreCase(sub, "id") && ctx.argc() == 2) {
    ctx.reply().Integer(static_cast<int64_t>(ctx.client().id));
  } else if (EqualsIgnoreCase(sub, "getname") && ctx.argc() == 2) {
    if (ctx.client().name.empty()) return ctx.reply().Null();
    ctx.reply().Bulk(ctx.client().name);
  } else if (EqualsIgnoreCase(sub, "setname")) {
    SetName(ctx, args);
  } else if (EqualsIgnoreCase(sub, "setinfo")) {
    SetInfo(ctx, args);
  } else if (EqualsIgnoreCase(sub, "info") && ctx.argc() == 2) {
    ctx.reply().Verbatim(ClientLine(ctx.conn(), drivers::NowMs(), &ctx));
  } else if (EqualsIgnoreCase(sub, "list")) {
    List(ctx, args);
  } else if (EqualsIgnoreCase(sub, "kill")) {
    if (ctx.argc() < 3) return ctx.reply().Error(errors::WrongArity("client|kill"));
    Kill(ctx);
  } else if (EqualsIgnoreCase(sub, "no-evict")) {
    OnOff(ctx, args, ctx.client().no_evict);
  } else if (EqualsIgnoreCase(sub, "no-touch")) {
    OnOff(ctx, args, ctx.client().no_touch);
  } else if (EqualsIgnoreCase(sub, "pause")) {
    if (ctx.argc() < 3) return ctx.reply().Error(errors::WrongArity("client|pause"));
    Pause(ctx, args);
  } else if (EqualsIgnoreCase(sub, "unpause")) {
    if (ctx.argc() != 2) return ctx.reply().Error(errors::WrongArity("client|unpause"));
    ctx.server().pause().Unpause();
    ctx.reply().Ok();
  } else if (EqualsIgnoreCase(sub, "reply")) {
    Reply(ctx, args);
  } else if (EqualsIgnoreCase(sub, "help") && ctx.argc() == 2) {
    Help(ctx);
  } else {
    ctx.reply().Error(errors::UnknownSubcommand(sub, "client"));
  }
}

}  // namespace arvel::server
