#pragma once
// One client connection: a small state machine
//   read → parse → dispatch → (reply | park until the reply is finished) → write
// Input accumulates in `in_`; the parser hands out argument views into it, so a request is never
// copied unless it is queued for MULTI. Replies accumulate in `out_` and go out in one write per
// read batch. A client whose unsent replies exceed client_output_limit is dropped (as Redis
// does); a parked client stops being read once 1 MB of requests waits behind it.

#include <uv.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
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

  // Closes the connection after what is already in `out_` is written (QUIT, protocol errors).
  void CloseAfterReply();
  // Closes at once, dropping unwritten output (CLIENT KILL, output limit, shutdown).
  void Close();
  bool closing() const { return closing_ || close_after_reply_; }

  ClientState& state() { return state_; }
  const ClientState& state() const { return state_; }
  Server& server() { return server_; }
  protocol::ReplyWriter writer() { return protocol::ReplyWriter(&out_, state_.resp); }

  // Runs one command (already looked up and arity-checked) with the connection's writer.
  // Used by dispatch and by EXEC for queued commands.
  void Execute(const CommandSpec& spec, std::span<const std::string_view> args);

  // Suspension (see PendingReply): Suspend parks the connection and returns a ticket; Resume
  // with that ticket ends the suspension. IsSuspendedOn tells whether the ticket is current.
  uint64_t Suspend();
  bool IsSuspendedOn(uint64_t ticket) const { return suspended_ && ticket == ticket_; }
  void Resume(uint64_t ticket);
  bool parked() const { return suspended_; }

  // EXEC support: runs the queued commands one after another, each possibly suspending. On a
  // store that completes later, holds the store's gate meanwhile (Server::EnterGate).
  void RunTransaction();
  // The gate this connection waited for is open: go on with its input.
  void GateOpened();

  bool in_transaction() const { return exec_next_ >= 0; }

  size_t input_buffer_size() const { return in_len_ - in_pos_; }
  size_t output_buffer_size() const { return out_.size() + writing_bytes_; }
  int64_t idle_ms(int64_t now_ms) const { return now_ms - state_.last_interaction_ms; }

 private:
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnWritten(uv_write_t* req, int status);
  static void OnClosed(uv_handle_t* handle);

  void ProcessInput();
  void Dispatch(std::span<const std::string_view> args);
  bool CheckAccess(const CommandSpec& spec, std::span<const std::string_view> args);
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
  bool running_ = false;     // inside a handler (a completion that arrives now is synchronous)
  bool suspended_ = false;
  bool gate_waiting_ = false;                  // waits for another client's EXEC to end
  const drivers::Store* gate_held_ = nullptr;  // the store whose gate our EXEC holds
  uint64_t ticket_ = 0;
  // EXEC in progress: index of the next queued command to run, -1 when none.
  int64_t exec_next_ = -1;
  std::vector<QueuedCommand> exec_queue_;
};

}  // namespace arvel::server
