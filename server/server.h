#pragma once
// The daemon: one libuv loop that accepts connections, runs commands against the stores, and
// does periodic housekeeping (store Tick, idle timeouts). Everything here runs on the loop
// thread.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "config/config.h"
#include "drivers/store.h"
#include "drivers/tag_reclaimer.h"
#include "server/command_log.h"
#include "server/client_pause.h"
#include "server/command_stats.h"
#include "server/heap_trimmer.h"
#include "server/watch_registry.h"

namespace arvel::server {

class Connection;
struct ClientState;
struct CommandSpec;
class FillLeases;
class LockWaiters;
class SessionLocks;
namespace scripting {
class ScriptEngine;
}

struct ServerStats {
  int64_t start_ms = 0;
  uint64_t connections_received = 0;
  uint64_t connections_rejected = 0;
  uint64_t commands_processed = 0;
  uint64_t net_input_bytes = 0;
  uint64_t net_output_bytes = 0;
  uint64_t protocol_errors = 0;
};

class Server {
 public:
  explicit Server(config::Config config);
  ~Server();

  // Binds and listens. On failure returns an error naming the address (exit code 1).
  Status Listen();
  // Runs the loop until Shutdown() completes. Returns the process exit code.
  int Run();
  // Stops accepting, lets replies in flight finish, closes the stores, then stops the loop.
  void Shutdown();
  // Shutdown() from any thread (tests running the server on a thread of their own).
  void RequestShutdown() { uv_async_send(&shutdown_async_); }

  uv_loop_t* loop() { return loop_; }
  const config::Config& config() const { return config_; }
  // CONFIG SET's run-time limits (busy_reply_threshold, slowlog_*); nothing else may change.
  config::ServerConfig& mutable_server_config() { return config_.server; }
  int port() const { return bound_port_; }  // the port actually bound (useful with port 0)

  // Stores
  drivers::Store* FindStore(std::string_view name) const;
  drivers::Store* default_store() const { return default_store_; }
  const std::vector<std::unique_ptr<drivers::Store>>& stores() const { return stores_; }
  // The reclaimer of flushed tagged items of one of stores(); nullptr for any other (FAKE).
  drivers::TagReclaimer* tag_reclaimer(const drivers::Store& store) const;
  // Subscribes a private store (FAKE) to write notifications; call before use.
  void AdoptStore(drivers::Store& store) { store.set_observer(&watches_); }
  // Destroys a private store after every registry has forgotten it.
  void RetireStore(std::unique_ptr<drivers::Store> store);
  // Adds a store built outside the configuration, e.g. a deliberately slow or failing one in
  // tests. Opened, ticked, reclaimed and closed like the configured stores; STORE NAME selects it.
  // Call before Run().
  void AddStoreForTesting(std::unique_ptr<drivers::Store> store);

  // Clients
  Connection* FindClient(uint64_t id) const;
  const absl::flat_hash_map<uint64_t, Connection*>& clients() const { return clients_; }
  void RemoveClient(Connection* conn);
  size_t blocked_clients() const;

  // EXEC isolation on stores that complete later (file, database): while one client runs its
  // transaction on `store`, other clients of that store wait before their next command.
  // EnterGate returns false (and queues `client` to be resumed) when another client holds it.
  bool EnterGate(const drivers::Store* store, uint64_t client);
  void LeaveGate(const drivers::Store* store, uint64_t client);
  bool gated(const drivers::Store* store, uint64_t client) const {
    if (gates_.empty()) return false;
    auto it = gates_.find(store);
    return it != gates_.end() && it->second.owner != client;
  }

  // Runs the client's stalled input (Connection::ContinueInput) on the next loop turn, from a
  // fresh stack: for a reply slot that stopped holding later commands back from inside a waiter
  // registry or a store callback, which those commands could re-enter.
  void ScheduleInput(uint64_t client_id);
  // Writes the client's pending replies (Connection::FlushScheduled) on the next loop turn,
  // before it polls: the replies of every store completion of this turn leave together.
  void ScheduleFlush(uint64_t client_id);

  WatchRegistry& watches() { return watches_; }
  // Called with the id of every client that goes away (lease hand-over, session locks).
  void AddCloseListener(std::function<void(uint64_t client_id)> listener) {
    close_listeners_.push_back(std::move(listener));
  }
  ServerStats& stats() { return stats_; }
  // INFO commandstats/errorstats/latencystats, SLOWLOG, MONITOR (server/command_stats.h,
  // server/command_log.h).
  CommandStats& command_stats() { return command_stats_; }
  Slowlog& slowlog() { return slowlog_; }
  void AddMonitor(uint64_t client_id) { monitors_.push_back(client_id); }
  void RemoveMonitor(uint64_t client_id) { std::erase(monitors_, client_id); }
  size_t monitor_count() const { return monitors_.size(); }
  // Shows a command to the MONITOR clients (`from_script`: a script called it).
  void FeedMonitors(const ClientState& client, std::span<const std::string_view> args,
                    bool from_script);
  // Clients parked in LOCK BLOCK and in REMEMBER (server/lock_waiters.h, server/fill_leases.h).
  LockWaiters& lock_waiters() { return *lock_waiters_; }
  FillLeases& fill_leases() { return *fill_leases_; }
  const LockWaiters& lock_waiters() const { return *lock_waiters_; }
  const FillLeases& fill_leases() const { return *fill_leases_; }
  // Locks taken with SESSION, released when their client goes away (server/session_locks.h).
  SessionLocks& session_locks() { return *session_locks_; }
  // EVAL and SCRIPT (server/scripting/script_engine.h).
  scripting::ScriptEngine& scripts() { return *scripts_; }
  const scripting::ScriptEngine& scripts() const { return *scripts_; }
  // CLIENT PAUSE / UNPAUSE (server/client_pause.h).
  ClientPause& pause() { return *pause_; }
  bool shutting_down() const { return shutting_down_; }

 private:
  void OpenStores();
  static void OnConnection(uv_stream_t* listener, int status);
  void Accept();
  static void OnCron(uv_timer_t* timer);
  void Cron();
  static void OnSignal(uv_signal_t* handle, int signum);
  static void OnScheduledInput(uv_idle_t* idle);
  void FinishShutdown();
  void CloseListener();

  config::Config config_;
  uv_loop_t* loop_;
  uv_tcp_t listener_{};
  uv_timer_t cron_{};
  uv_signal_t sigterm_{}, sigint_{};
  uv_async_t shutdown_async_{};
  uv_idle_t input_idle_{};                 // runs ScheduleInput's clients, then stops
  std::vector<uint64_t> scheduled_input_;  // client ids for input_idle_
  std::vector<uint64_t> scheduled_flush_;  // client ids for input_idle_, after the inputs
  bool input_idle_closed_ = false;
  int bound_port_ = 0;
  bool shutting_down_ = false;
  bool stores_closing_ = false;
  bool listener_open_ = false;
  int64_t shutdown_started_ms_ = 0;
  int exit_code_ = 0;

  std::vector<std::unique_ptr<drivers::Store>> stores_;
  drivers::Store* default_store_ = nullptr;
  std::vector<std::unique_ptr<drivers::TagReclaimer>> tag_reclaimers_;  // stores_[i]'s is [i]
  absl::flat_hash_map<uint64_t, Connection*> clients_;
  uint64_t next_client_id_ = 1;
  WatchRegistry watches_;
  struct Gate {
    uint64_t owner = 0;
    std::vector<uint64_t> waiters;  // in arrival order
  };
  absl::flat_hash_map<const drivers::Store*, Gate> gates_;
  std::vector<std::function<void(uint64_t)>> close_listeners_;
  std::unique_ptr<LockWaiters> lock_waiters_;
  std::unique_ptr<FillLeases> fill_leases_;
  std::unique_ptr<SessionLocks> session_locks_;
  std::unique_ptr<scripting::ScriptEngine> scripts_;
  std::unique_ptr<ClientPause> pause_;
  HeapTrimmer heap_trimmer_;
  uint64_t cron_ticks_ = 0;
  ServerStats stats_;
  CommandStats command_stats_;
  Slowlog slowlog_;
  std::vector<uint64_t> monitors_;  // MONITOR clients, in the order they asked
};

}  // namespace arvel::server
