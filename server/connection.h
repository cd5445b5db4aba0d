#pragma once
// One client connection: a small state machine
//   read → parse → dispatch → ordered reply slots → write
// Input accumulates in `in_`; the parser hands out argument views into it, so a request is never
// copied unless it is queued for MULTI. Replies go straight into `out_` while nothing is pending,
// and out in one write per read batch.
//
// Reply slots (Envoy redis_proxy's ProxyFilter::onResponse; STYLE.md pattern 6). A command that
// suspends (CommandContext::Suspend) gets a pending slot at the tail of `slots_`, named by a
// ticket; the connection goes on dispatching the pipelined commands behind it, and their replies
// — inline ones too — land in slots behind it. PendingReply::Finish writes into its own slot and
// completes it; complete slots are moved into `out_` from the head only, so replies leave in
// request order however the completions arrive. Which later commands may start while slots are
// pending is decided from the command flags (command.h); a command that may not start stays
// unparsed in `in_` until an earlier slot completes ("stalled"). A slot that waits for another
// client (LOCK BLOCK, REMEMBER: PendingReply::MarkWaiting) holds back only barriers.
//
// Ordering across worker threads: a BlockingStore (file, database) runs calls on several worker
// threads that take them in submission order but run them concurrently, so two calls of one
// store may complete — and take effect — in either order; the redis driver with a pool of
// several connections has the same effect. We therefore do not rely on a store's submission
// order: on one store, only reads overlap reads; a write starts after every earlier pending call
// of the connection on that store is complete, and nothing starts while an earlier write is
// pending (not even on other keys, so no other client sees a connection's writes out of order).
// Overlapped reads may observe other clients' writes in either order (each read is still
// linearizable: the requests were all in flight together). The exception is a store that keeps
// order (StoreCapabilities::keeps_order: redis over one pipelined connection): a pending slot
// whose command made its one and only call (CommandContext::SuspendForOneCall: GET, SET, PUT,
// INCR…) holds nothing back on it, since the store applies every later call after that one —
// as Redis itself runs a pipeline. Commands that chain calls (TAGS, REMEMBER…) still do.
//
// Replies that store completions finish are written once per loop turn (Server::ScheduleFlush),
// so 16 pipelined GETs answered one by one still leave in one write — or at once when no slot
// is pending any more, so the client can send its next pipeline without waiting for the turn.
//
// EXEC runs its queued commands one after another inside one slot, dispatching nothing else until
// it ends; its store gate (Server::EnterGate) works as before.
//
// Limits: unsent bytes — `out_`, the write in flight and the bytes held in slots — above
// client_output_limit drop the client (as Redis does). At most kMaxPendingSlots slots are pending
// at once; beyond that, or while stalled, the client is not read once 1 MB of input waits. On
// close, slots' cancel hooks run (waiters leave their queues) and every PendingReply of the
// connection turns dead: Finish does nothing.

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/resp_parser.h"
#include "protocol/resp_writer.h"
#include "server/client_state.h"

namespace arvel::drivers {
class Store;
}

namespace arvel::server {

class Server;
struct CommandSpec;

class Connection {
 public:
  Connection(Server& server, uint64_t id);
  ~Connection();

  // Takes the accepted socket (initialised on the server's loop) and starts reading.
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }
  void Start();

  // Closes the connection once every pending slot is complete and every reply written (QUIT,
  // protocol errors); no further command runs.
  void CloseAfterReply();
  // Closes at once, dropping unwritten output (CLIENT KILL, output limit, shutdown).
  void Close();
  bool closing() const { return closing_ || close_after_reply_; }

  ClientState& state() { return state_; }
  const ClientState& state() const { return state_; }
  Server& server() { return server_; }
  // Writer for a reply given now: it goes out behind every reply still pending.
  protocol::ReplyWriter writer() { return protocol::ReplyWriter(InlineTarget(), state_.resp); }

  // Runs one command (already looked up and arity-checked) with the connection's writer.
  // Used by dispatch and by EXEC for queued commands.
  void Execute(const CommandSpec& spec, std::span<const std::string_view> args);

  // Reply slots (see PendingReply). Suspend gives the running command a pending slot and
  // returns its ticket; SlotWriter writes into that slot; Resume completes it (and lets stalled
  // input and EXEC go on). IsPending tells whether the ticket names a pending slot of a
  // connection that is not closing.
  // `one_call`: see CommandContext::SuspendForOneCall.
  uint64_t Suspend(bool one_call = false);
  bool IsPending(uint64_t ticket) const { return !closing_ && FindPending(ticket) != nullptr; }
  protocol::ReplyWriter SlotWriter(uint64_t ticket);
  void Resume(uint64_t ticket);
  // PendingReply::MarkWaiting.
  void MarkWaiting(uint64_t ticket, std::function<void()> on_cancel);
  // Some reply slot is pending (CLIENT LIST flag b, INFO blocked_clients, exempt from the idle
  // timeout and from being closed at shutdown before its replies are out).
  bool parked() const { return pending_slots_ > 0; }
  // Its next command waits for CLIENT PAUSE to end (also counted in blocked_clients).
  bool postponed() const { return postponed_; }
  // Runs commands stalled behind slots, if any may start now (Server::ScheduleInput).
  void ContinueInput();
  // Writes what store completions of this loop turn left in `out_` (Server::ScheduleFlush).
  void FlushScheduled();

  // EXEC support: runs the queued commands one after another, each possibly suspending. On a
  // store that completes later, holds the store's gate meanwhile (Server::EnterGate).
  void RunTransaction();
  // The gate this connection waited for is open: go on with its input.
  void GateOpened();

  // Inside EXEC or a script: commands that would wait for another client (LOCK BLOCK,
  // REMEMBER, FUNNEL BLOCK) answer at once instead.
  // Appends bytes the client did not ask for (MONITOR lines) behind its replies so far.
  void Push(std::string_view bytes);

  bool in_transaction() const { return exec_next_ >= 0 || in_script_; }

  // Scripts (server/scripting): between BeginScript and EndScript the connection runs no
  // command of its own input; ExecuteCaptured runs one command for the script and hands its
  // reply back instead of sending it. It returns false if the command did not complete at once
  // (its late reply is then dropped).
  void BeginScript() { in_script_ = true; }
  void EndScript();
  bool ExecuteCaptured(const CommandSpec& spec, std::span<const std::string_view> args,
                       protocol::RespVersion resp, std::string& reply);

  size_t input_buffer_size() const { return in_len_ - in_pos_; }
  // Unsent reply bytes: in `out_`, in the write in flight, and held in reply slots.
  size_t output_buffer_size() const {
    size_t held = slots_.empty() ? 0 : slots_.back().bytes.size() - slots_.back().counted;
    return out_.size() + writing_bytes_ + settled_bytes_ + held;
  }
  int64_t idle_ms(int64_t now_ms) const { return now_ms - state_.last_interaction_ms; }

 private:
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnWritten(uv_write_t* req, int status);
  static void OnClosed(uv_handle_t* handle);

  // One reply, or replies written inline behind a pending one. A pending slot (ticket of its
  // Suspend) fills only through SlotWriter; only the tail slot grows through InlineTarget.
  struct ReplySlot {
    uint64_t ticket = 0;  // the Suspend that made it; inline-only slots repeat the last ticket
    bool pending = false;
    bool waiting = false;  // MarkWaiting: waits for another client
    bool barrier = false;  // kConnectionState/kAdmin command
    bool read_only = false;
    bool touches_store = false;
    bool one_call = false;  // the command's whole store work is the one call it has made
    const drivers::Store* store = nullptr;  // the store the command ran on (compared only)
    protocol::RespVersion resp = protocol::RespVersion::kResp2;
    std::string bytes;
    size_t counted = 0;  // bytes.size() already in settled_bytes_
    std::function<void()> cancel;
    // A suspended command whose reply, once complete, is checked for an error: its
    // commandstats name (CommandTable::StatsName), empty for none.
    std::string_view stats_name;
    bool silent = false;  // CLIENT REPLY OFF/SKIP: its reply is dropped
  };

  // Runs what the input holds; then writes the replies at once (`flush_now`, or no reply is
  // pending any more), or — when a store completion resumed us and more are due — once every
  // completion of this loop turn has landed, so a pipeline whose replies complete one by one
  // still leaves in one write.
  void ProcessInput(bool flush_now = true);
  void ScheduleFlush();
  bool Stalled() const;
  bool MayStart(const CommandSpec& spec) const;
  // Asks the store to prefetch the keys of the next pipelined requests in `pending` (up to
  // kPrefetchKeys); returns how many requests that covers (at least 1).
  size_t PrefetchKeys(std::string_view pending);
  // CLIENT PAUSE holds this command back (registers the client to be resumed).
  bool Postponed(const CommandSpec& spec, std::span<const std::string_view> args);
  // Whether the command may write, as CLIENT PAUSE WRITE judges it.
  bool MayWrite(const CommandSpec& spec, std::span<const std::string_view> args) const;
  std::string* InlineTarget();
  ReplySlot& PushSlot(bool pending);
  const ReplySlot* FindPending(uint64_t ticket) const;
  ReplySlot* FindPending(uint64_t ticket) {
    return const_cast<ReplySlot*>(std::as_const(*this).FindPending(ticket));
  }
  void DrainSlots();
  bool OverOutputLimit();
  void Dispatch(const CommandSpec* spec, std::span<const std::string_view> args);
  // Dispatch without CLIENT REPLY's silencing: checks, MULTI queueing, Execute.
  void Run(const CommandSpec* spec, std::span<const std::string_view> args);
  void Reject(const CommandSpec* spec, std::string_view error);
  ReplySlot* SlotOf(uint64_t ticket);  // the slot a Suspend made, pending or not
  void Silence(std::string& target, size_t before, uint64_t ticket_before);
  // commandstats' failed_calls: a reply that is an error.
  void CountIfError(std::string_view stats_name, std::string_view reply);
  bool MayQueue(const CommandSpec& spec) const;
  void Queue(const CommandSpec& spec, std::span<const std::string_view> args);
  void ContinueTransaction();
  void CompactInput();
  void Flush();
  void ProtocolError(const std::string& message);
  void UpdateReading();

  Server& server_;
  uv_tcp_t tcp_{};
  uv_write_t write_req_{};
  ClientState state_;
  protocol::RequestParser parser_;

  std::string in_;       // raw storage; bytes [in_pos_, in_len_) are unprocessed input
  size_t in_len_ = 0;    // bytes of in_ holding data
  size_t in_pos_ = 0;    // first unconsumed byte of in_
  std::string out_;      // replies not yet handed to the socket
  std::string writing_;  // bytes of the write in flight
  size_t writing_bytes_ = 0;
  bool write_in_flight_ = false;

  bool reading_ = false;
  bool closing_ = false;
  bool close_after_reply_ = false;
  bool in_process_ = false;  // inside ProcessInput (resumes must not recurse into it)
  bool flush_scheduled_ = false;  // Server::ScheduleFlush has our id
  // Inside a handler: a completion that arrives now is synchronous, and slots are not drained
  // (the handler's writer may point into the tail slot).
  bool running_ = false;
  bool stalled_ = false;  // ProcessInput stopped before the input ran out (see Stalled)
  bool postponed_ = false;  // see postponed()
  bool gate_waiting_ = false;                  // waits for another client's EXEC to end
  const drivers::Store* gate_held_ = nullptr;  // the store whose gate our EXEC holds

  // Reply slots in request order. Elements are only added at the back and removed at the front,
  // so references to them stay valid (the handler's writer may hold one).
  std::deque<ReplySlot> slots_;
  size_t pending_slots_ = 0;
  size_t settled_bytes_ = 0;                   // sum of slots' `counted`
  const CommandSpec* running_spec_ = nullptr;  // the command whose handler runs now
  uint64_t ticket_ = 0;                        // of the last Suspend
  std::string discarded_;                      // target of a writer for a slot that is gone
  bool in_script_ = false;
  bool exec_silent_ = false;  // the running EXEC's replies are dropped (CLIENT REPLY)
  std::string* capture_ = nullptr;  // where inline replies go while a script's command runs
  // EXEC in progress: index of the next queued command to run, -1 when none.
  int64_t exec_next_ = -1;
  std::vector<QueuedCommand> exec_queue_;
};

}  // namespace arvel::server
