// CLIENT ID | SETNAME | GETNAME | SETINFO | INFO | LIST | KILL | NO-EVICT | HELP, with the
// reply shapes of Redis 7 (CLIENT LIST lines carry the same fields, plus store=NAME).

#include <string>
#include <vector>

#include "common/errors.h"
#include "drivers/store.h"
#include "server/command_table.h"
#include "server/commands/arguments.h"
#include "server/connection.h"
#include "server/server.h"

namespace arvel::server {

namespace {

std::string ClientLine(const Connection& conn, int64_t now_ms) {
  const ClientState& c = conn.state();
  std::string flags = c.in_multi ? "x" : (conn.parked() ? "b" : "N");
  return "id=" + std::to_string(c.id) + " addr=" + c.address + " laddr=" + c.local_address +
         " fd=-1 name=" + c.name + " age=" + std::to_string((now_ms - c.created_ms) / 1000) +
         " idle=" + std::to_string((now_ms - c.last_interaction_ms) / 1000) + " flags=" + flags +
         " db=0 sub=0 psub=0 ssub=0 multi=" +
         std::to_string(c.in_multi ? static_cast<int64_t>(c.queue.size()) : -1) +
         " qbuf=" + std::to_string(conn.input_buffer_size()) +
         " obl=0 oll=0 omem=" + std::to_string(conn.output_buffer_size()) +
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
    if (conn) out += ClientLine(*conn, now);
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
  bool Matches(const ClientState& c, uint64_t me) const {
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

void Kill(CommandContext& ctx, ArgumentParser& args) {
  KillFilter filter;
  if (args.remaining() == 1) {  // old form: CLIENT KILL ip:port
    filter.addr = std::string(args.Next());
    filter.skip_me = false;
    return KillMatching(ctx, filter, true);
  }
  while (args.HasNext() && args.ok()) {
    if (args.Flag("ID")) {
      filter.id = static_cast<uint64_t>(args.Integer());
    } else if (args.Flag("ADDR")) {
      filter.addr = std::string(args.Next());
    } else if (args.Flag("LADDR")) {
      filter.laddr = std::string(args.Next());
    } else if (args.Flag("SKIPME")) {
      std::string_view v = args.Next();
      if (EqualsIgnoreCase(v, "yes") || EqualsIgnoreCase(v, "no")) {
        filter.skip_me = EqualsIgnoreCase(v, "yes");
      } else {
        args.Fail(errors::kSyntax);
      }
    } else if (args.Flag("TYPE") || args.Flag("USER")) {
      args.Next();  // every client is a normal client of the default user
    } else {
      args.Fail(errors::kSyntax);
    }
  }
  if (!args.Finish(ctx)) return;
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

void NoEvict(CommandContext& ctx, ArgumentParser& args) {
  std::string_view mode = args.Next();
  if (!args.Finish(ctx)) return;
  if (!EqualsIgnoreCase(mode, "on") && !EqualsIgnoreCase(mode, "off")) {
    return ctx.reply().Error(errors::kSyntax);
  }
  ctx.client().no_evict = EqualsIgnoreCase(mode, "on");
  ctx.reply().Ok();
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
  };
  ctx.reply().ArrayHeader(std::size(kLines));
  for (std::string_view line : kLines) ctx.reply().Simple(line);
}

}  // namespace

void ClientCommand(CommandContext& ctx) {
  std::string_view sub = ctx.arg(1);
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
    ctx.reply().Verbatim(ClientLine(ctx.conn(), drivers::NowMs()));
  } else if (EqualsIgnoreCase(sub, "list")) {
    List(ctx, args);
  } else if (EqualsIgnoreCase(sub, "kill") && ctx.argc() >= 3) {
    Kill(ctx, args);
  } else if (EqualsIgnoreCase(sub, "no-evict")) {
    NoEvict(ctx, args);
  } else if (EqualsIgnoreCase(sub, "help") && ctx.argc() == 2) {
    Help(ctx);
  } else {
    ctx.reply().Error(errors::UnknownSubcommand(sub, "client"));
  }
}

}  // namespace arvel::server
