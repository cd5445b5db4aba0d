#pragma once
// Per-connection state that commands read and change: protocol version, authentication, the
// current store, MULTI queue, WATCHed keys, the name given by CLIENT SETNAME. Commands that
// change it carry kConnectionState (server/command.h), so they never overlap pending replies.
// (What a client waits on — LOCK BLOCK, REMEMBER — belongs to its reply slot instead:
// PendingReply::MarkWaiting.)

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "protocol/resp_writer.h"

namespace arvel::drivers {
class Store;
}

namespace arvel::server {

struct CommandSpec;

// One command queued between MULTI and EXEC, with its own copy of the arguments.
struct QueuedCommand {
  const CommandSpec* spec;
  std::vector<std::string> args;
};

struct ClientState {
  uint64_t id = 0;
  std::string address;        // "ip:port" of the peer
  std::string local_address;  // "ip:port" we accepted on
  std::string name;           // CLIENT SETNAME
  std::string lib_name;       // CLIENT SETINFO LIB-NAME
  std::string lib_version;    // CLIENT SETINFO LIB-VER
  protocol::RespVersion resp = protocol::RespVersion::kResp2;
  bool authenticated = false;
  bool no_evict = false;  // CLIENT NO-EVICT (accepted; the daemon never evicts clients)
  bool no_touch = false;  // CLIENT NO-TOUCH: its reads are not accesses (drivers::NoTouchScope)
  bool monitor = false;   // MONITOR: every command of every client is pushed to it
  // CLIENT REPLY: OFF drops every reply; SKIP drops its own and the next command's.
  bool reply_off = false;
  bool reply_skip = false;       // the running command's reply is dropped
  bool reply_skip_next = false;  // the next command's too
  int64_t created_ms = 0;
  int64_t last_interaction_ms = 0;
  std::string last_command;

  drivers::Store* store = nullptr;  // current store (never null once connected)
  // FAKE: the private store, and the store to return to on FAKE OFF.
  std::unique_ptr<drivers::Store> fake;
  drivers::Store* store_before_fake = nullptr;

  // MULTI/EXEC
  bool in_multi = false;
  bool multi_error = false;  // a command failed to queue: EXEC answers EXECABORT
  std::vector<QueuedCommand> queue;
  // WATCH: set by the WatchRegistry when a watched key is written.
  bool watch_dirty = false;
  bool watching = false;
};

}  // namespace arvel::server
