#pragma once
// Commands: one CommandSpec line per command (name, arity, flags, keys, handler, docs), and the
// CommandContext a handler runs with. Existence, arity, authentication and MULTI queueing are
// checked centrally before a handler runs (server/connection.cc), so handlers only parse their
// own options.
//
// A handler either replies before it returns (ctx.reply()), or calls ctx.Suspend() and finishes
// the returned PendingReply later, on the loop thread — typically from a store completion.
// A suspended command owns a reply slot of its connection (server/connection.h): the connection
// keeps running the client's later pipelined commands meanwhile, as far as the flags below allow,
// and holds their replies back until every earlier slot is complete, so replies keep request
// order. Whether a command may start while earlier slots are pending:
//   - kConnectionState and kAdmin commands: only once every earlier slot is complete (a barrier;
//     a pending one also holds back every later command);
//   - kReadOnly commands: past pending kReadOnly slots of the same store, and past slots on
//     other stores;
//   - any other command is treated as a write of the current store: past slots on other stores
//     only. A command with neither kWrite nor kReadOnly must not touch a store (PING, ECHO,
//     COMMAND) and starts past anything but a barrier;
//   - a slot that waits for another client (PendingReply::MarkWaiting: LOCK BLOCK, REMEMBER
//     behind a fill lease) holds back only barriers;
//   - on a store that keeps order (redis with one connection), a slot whose command has made
//     its one store call (CommandContext::SuspendForOneCall) holds back only barriers too.
// So a later command never sees a state older than an earlier command's effect on its store,
// while pipelined reads of a slow store overlap.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "protocol/resp_writer.h"

namespace arvel::drivers {
class Store;
}

namespace arvel::server {

class Connection;
class Server;
struct ClientState;
class CommandContext;

enum CommandFlag : uint32_t {
  kWrite = 1u << 0,     // may modify the store
  kReadOnly = 1u << 1,  // never modifies the store
  kFast = 1u << 2,      // O(1) or O(log N)
  kNoAuth = 1u << 3,    // allowed before AUTH (AUTH, HELLO, QUIT, RESET)
  kNoMulti = 1u << 4,   // runs at once even inside MULTI (MULTI, EXEC, DISCARD, WATCH, QUIT, RESET)
  kAdmin = 1u << 5,     // administrative (SHUTDOWN, CLIENT KILL, CONFIG, FLUSHALL)
  kBlocking = 1u << 7,  // may park the client waiting for another client (LOCK BLOCK, REMEMBER)
  // Reads or changes the connection's own state (MULTI/EXEC/DISCARD/WATCH/UNWATCH, STORE, SELECT,
  // AUTH, HELLO, RESET, FAKE, CLIENT, QUIT): runs only once every earlier reply of the connection
  // is complete, and later commands wait for it (a barrier in the pipeline). kAdmin implies it.
  kConnectionState = 1u << 8,
  // Still served while a script runs past busy_reply_threshold (others get -BUSY): SCRIPT,
  // SHUTDOWN, AUTH, HELLO, QUIT, RESET, MULTI, DISCARD, WATCH, UNWATCH, as Redis allows.
  kAllowBusy = 1u << 9,
  // Shown to MONITOR before it runs, so the commands it runs follow it (EVAL…); every other
  // command is shown once it ran.
  kMonitorFirst = 1u << 10,
  // Its keys are counted by its third argument (EVAL script numkeys key…): COMMAND INFO says
  // movablekeys, COMMAND GETKEYS reads the count.
  kNumKeys = 1u << 11,
  // Reads keys without it counting as an access (OBJECT IDLETIME, LRU): Redis's NOTOUCH lookups
  // (TTL, TYPE, EXISTS, OBJECT, MEMORY…).
  kNoTouch = 1u << 12,
};

using Handler = void (*)(CommandContext&);

struct CommandSpec {
  std::string_view name;  // lower case
  int arity;              // including the name; negative: at least -arity arguments
  uint32_t flags;
  int first_key;  // position of the first key argument, 0 if none
  int last_key;   // position of the last key, negative counts from the end
  int key_step;
  Handler handler;
  std::string_view group;    // Redis's group (string, generic, connection, server,
                             // transactions) or "cache" for the Arvel commands
  std::string_view summary;  // one line for COMMAND DOCS and redis-cli hints
  std::string_view syntax;   // the arguments after the name, as in "key value [ttl]"
};

// A reply that will be written later, into its own reply slot of the connection. Cheap to copy
// (store callbacks are std::functions); only the first Finish counts, and finishing after the
// connection closed (or was killed) does nothing: the reply names its client and slot by id and
// ticket, never by pointer.
class PendingReply {
 public:
  PendingReply() = default;
  PendingReply(Server* server, uint64_t client_id, uint64_t ticket)
      : server_(server), client_id_(client_id), ticket_(ticket) {}

  // Writes the reply with `write(protocol::ReplyWriter&)` (in the protocol version the command
  // ran under) and completes the slot: it goes out once every earlier reply has.
  template <typename WriteFn>
  void Finish(WriteFn&& write) {
    Connection* conn = Claim();
    if (conn == nullptr) return;
    protocol::ReplyWriter writer = WriterFor(conn);
    write(writer);
    Release(conn);
  }
  // True while the connection still waits for this reply.
  bool alive() const;
  uint64_t client_id() const { return client_id_; }
  // The command now waits for another client (LOCK BLOCK queued behind a holder, REMEMBER
  // behind a fill lease): later commands of the connection stop waiting for this slot (only
  // kConnectionState ones still do), and `on_cancel` runs on the loop thread if the client goes
  // away first. Cleared when the reply is finished. Does nothing once the reply is not alive.
  void MarkWaiting(std::function<void()> on_cancel);

 private:
  Connection* Claim();
  protocol::ReplyWriter WriterFor(Connection* conn) const;
  void Release(Connection* conn);

  Server* server_ = nullptr;
  uint64_t client_id_ = 0;
  uint64_t ticket_ = 0;
};

class CommandContext {
 public:
  CommandContext(Connection& conn, const CommandSpec& spec, std::span<const std::string_view> args);

  const CommandSpec& spec() const { return spec_; }
  // args()[0] is the command name as the client sent it.
  std::span<const std::string_view> args() const { return args_; }
  size_t argc() const { return args_.size(); }
  std::string_view arg(size_t i) const { return args_[i]; }

  Connection& conn() { return conn_; }
  ClientState& client();
  Server& server();
  drivers::Store& store();  // the connection's current store

  // Writer for a reply given before the handler returns.
  protocol::ReplyWriter& reply() { return writer_; }
  // Gives this command a reply slot; the reply is written when the PendingReply is finished.
  // Call at most once per command, and write nothing with reply() afterwards.
  PendingReply Suspend();
  // Suspend for a command whose whole store work is one call, made right after this and before
  // the handler returns (ReadAndReply, ExecuteAndReply). On a store that keeps order
  // (StoreCapabilities::keeps_order) the connection's later commands then start at once, even
  // writes: the store applies their calls after this one.
  PendingReply SuspendForOneCall();

  // Writes a Status as a reply: +OK when ok, else the error.
  void ReplyStatus(const Status& status);

 private:
  Connection& conn_;
  const CommandSpec& spec_;
  std::span<const std::string_view> args_;
  protocol::ReplyWriter writer_;
};

}  // namespace arvel::server
