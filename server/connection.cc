#include "server/connection.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/errors.h"
#include "drivers/store.h"
#include "server/command_table.h"
#include "server/server.h"

namespace arvel::server {

namespace {
constexpr size_t kReadChunk = 16 * 1024;
// A big bulk argument is read in chunks of at most this much, so a client claiming 512 MB does not
// make us allocate it before the bytes arrive.
constexpr size_t kMaxReadChunk = 16 * 1024 * 1024;
// Replies are handed to the socket once this much has accumulated within one read batch.
constexpr size_t kFlushBytes = 64 * 1024;
// An output buffer that grew past this for one burst is given back once it drains.
constexpr size_t kShrinkOutputBytes = 1024 * 1024;
// A parked client stops being read once this much unprocessed input is buffered.
constexpr size_t kMaxIdleInput = 1024 * 1024;

std::string PeerName(uv_tcp_t* tcp, bool local) {
  sockaddr_storage addr{};
  int len = sizeof(addr);
  int rc = local ? uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&addr), &len)
                 : uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&addr), &len);
  if (rc != 0) return "?:0";
  char ip[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (addr.ss_family == AF_INET6) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
    uv_ip6_name(a6, ip, sizeof(ip));
    port = ntohs(a6->sin6_port);
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
    uv_ip4_name(a4, ip, sizeof(ip));
    port = ntohs(a4->sin_port);
  }
  return std::string(ip) + ":" + std::to_string(port);
}

protocol::ParserLimits LimitsFrom(const config::ServerConfig& config) {
  protocol::ParserLimits limits;
  limits.max_bulk_len = config.proto_max_bulk_len;
  limits.max_multibulk = config.proto_max_multibulk_len;
  limits.max_inline_len = static_cast<size_t>(config.proto_inline_max_size);
  return limits;
}
}  // namespace

Connection::Connection(Server& server, uint64_t id)
    : server_(server), parser_(LimitsFrom(server.config().server)) {
  uv_tcp_init(server.loop(), &tcp_);
  tcp_.data = this;
  state_.id = id;
  state_.created_ms = drivers::NowMs();
  state_.last_interaction_ms = state_.created_ms;
  state_.store = server.default_store();
  state_.authenticated = server.config().server.password.empty();
}

Connection::~Connection() = default;

void Connection::Start() {
  state_.address = PeerName(&tcp_, false);
  state_.local_address = PeerName(&tcp_, true);
  uv_tcp_nodelay(&tcp_, 1);
  UpdateReading();
}

void Connection::OnAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(handle->data);
  size_t want = std::clamp(self->parser_.bytes_wanted(), kReadChunk, kMaxReadChunk);
  std::string& in = self->in_;
  if (in.size() - self->in_len_ < want) {
    in.resize(std::max(self->in_len_ + want, in.size() * 2));
  }
  *buf = uv_buf_init(in.data() + self->in_len_, static_cast<unsigned>(in.size() - self->in_len_));
}

void Connection::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
  auto* self = static_cast<Connection*>(stream->data);
  if (nread < 0) {
    if (nread != UV_EOF)
      spdlog::debug("client {} read error: {}", self->state_.id, uv_strerror(nread));
    self->Close();
    return;
  }
  if (nread == 0) return;
  self->in_len_ += static_cast<size_t>(nread);
  self->server_.stats().net_input_bytes += static_cast<uint64_t>(nread);
  self->state_.last_interaction_ms = drivers::NowMs();
  self->ProcessInput();
}

void Connection::ProcessInput() {
  in_process_ = true;
  while (!suspended_ && !gate_waiting_ && !closing()) {
    std::string_view pending(in_.data() + in_pos_, in_len_ - in_pos_);
    if (pending.empty()) break;
    protocol::ParseStatus status = parser_.Parse(pending);
    if (status == protocol::ParseStatus::kIncomplete) break;
    if (status == protocol::ParseStatus::kError) {
      ProtocolError(parser_.error());
      break;
    }
    if (server_.gated(state_.store, state_.id)) {
      // Another client's EXEC is running on our store: leave the request in the buffer (it is
      // parsed again when the gate opens) and wait.
      gate_waiting_ = server_.EnterGate(state_.store, state_.id) == false;
      if (gate_waiting_) break;
    }
    in_pos_ += parser_.consumed();
    const auto& args = parser_.args();
    if (!args.empty()) Dispatch(args);
    if (out_.size() >= kFlushBytes) Flush();
  }
  in_process_ = false;
  if (closing_) return;
  CompactInput();
  Flush();
  UpdateReading();
}

void Connection::Dispatch(std::span<const std::string_view> args) {
  const CommandSpec* spec = CommandTable::Default().Find(args[0]);
  if (spec == nullptr) {
    state_.multi_error = state_.in_multi;
    writer().Error(errors::UnknownCommand(args[0], args.data() + 1, args.size() - 1));
    return;
  }
  if (!CommandTable::ArityOk(*spec, args.size())) {
    state_.multi_error = state_.in_multi;
    writer().Error(errors::WrongArity(spec->name));
    return;
  }
  if (!CheckAccess(*spec, args)) return;
  if (state_.in_multi && !(spec->flags & kNoMulti)) {
    Queue(*spec, args);
    return;
  }
  Execute(*spec, args);
}

bool Connection::CheckAccess(const CommandSpec& spec, std::span<const std::string_view> args) {
  if (state_.authenticated || (spec.flags & kNoAuth)) return true;
  state_.multi_error = state_.in_multi;
  writer().Error(errors::kNoAuth);
  return false;
}

void Connection::Queue(const CommandSpec& spec, std::span<const std::string_view> args) {
  QueuedCommand queued{&spec, {}};
  queued.args.reserve(args.size());
  for (std::string_view arg : args) queued.args.emplace_back(arg);
  state_.queue.push_back(std::move(queued));
  writer().Simple("QUEUED");
}

void Connection::Execute(const CommandSpec& spec, std::span<const std::string_view> args) {
  bool was_running = running_;
  running_ = true;
  server_.stats().commands_processed++;
  state_.last_command.assign(spec.name);
  CommandContext ctx(*this, spec, args);
  spec.handler(ctx);
  running_ = was_running;
  if (output_buffer_size() > static_cast<size_t>(server_.config().server.client_output_limit)) {
    spdlog::warn("client {} ({}) dropped: output buffer over client_output_limit", state_.id,
                 state_.address);
    Close();
  }
}

uint64_t Connection::Suspend() {
  suspended_ = true;
  return ++ticket_;
}

void Connection::Resume(uint64_t ticket) {
  if (!IsSuspendedOn(ticket)) return;
  suspended_ = false;
  state_.cancel_wait = nullptr;
  if (running_ || closing_) return;  // completed inside the handler: its caller goes on
  state_.last_interaction_ms = drivers::NowMs();
  if (exec_next_ >= 0) ContinueTransaction();
  if (suspended_) {
    Flush();
  } else if (!in_process_) {
    ProcessInput();
  }
}

void Connection::RunTransaction() {
  exec_queue_ = std::move(state_.queue);
  state_.queue.clear();
  exec_next_ = 0;
  drivers::Store* store = state_.store;
  if (!store->completes_inline() && server_.EnterGate(store, state_.id)) {
    gate_held_ = store;
    // Commands other clients started before the gate closed may still be running: begin once the
    // store is idle.
    uint64_t ticket = Suspend();
    store->WhenIdle([server = &server_, id = state_.id, ticket] {
      if (Connection* conn = server->FindClient(id)) conn->Resume(ticket);
    });
    if (suspended_) return;  // Resume() runs the transaction
  }
  ContinueTransaction();
}

void Connection::GateOpened() {
  gate_waiting_ = false;
  if (!closing() && !suspended_ && !in_process_) ProcessInput();
}

void Connection::ContinueTransaction() {
  bool was_running = running_;
  running_ = true;
  while (exec_next_ >= 0 && static_cast<size_t>(exec_next_) < exec_queue_.size() && !closing_) {
    QueuedCommand& queued = exec_queue_[exec_next_++];
    std::vector<std::string_view> views(queued.args.begin(), queued.args.end());
    Execute(*queued.spec, views);
    if (suspended_) {
      running_ = was_running;
      return;  // Resume() continues with the next command
    }
  }
  exec_next_ = -1;
  exec_queue_.clear();
  running_ = was_running;
  if (gate_held_ != nullptr) {
    const drivers::Store* store = std::exchange(gate_held_, nullptr);
    server_.LeaveGate(store, state_.id);
  }
}

void Connection::CompactInput() {
  if (in_pos_ == in_len_) {
    in_pos_ = in_len_ = 0;
    // Give back a buffer that grew for one big request.
    if (in_.size() > 4 * kReadChunk) std::string().swap(in_);
    return;
  }
  if (in_pos_ > 0 && (in_pos_ >= in_.size() / 2 || in_len_ == in_.size())) {
    std::memmove(in_.data(), in_.data() + in_pos_, in_len_ - in_pos_);
    in_len_ -= in_pos_;
    in_pos_ = 0;
  }
}

void Connection::Flush() {
  if (out_.empty() || write_in_flight_ || closing_) {
    if (out_.empty() && !write_in_flight_ && close_after_reply_) Close();
    return;
  }
  uv_buf_t buf = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
  int written = uv_try_write(stream(), &buf, 1);
  if (written < 0 && written != UV_EAGAIN) {
    Close();
    return;
  }
  size_t done = written > 0 ? static_cast<size_t>(written) : 0;
  server_.stats().net_output_bytes += done;
  if (done == out_.size()) {
    out_.clear();
    if (out_.capacity() > kShrinkOutputBytes) std::string().swap(out_);
    if (close_after_reply_) Close();
    return;
  }
  // The socket is full: hand the rest to libuv and keep collecting replies in out_.
  writing_.clear();
  writing_.swap(out_);
  writing_.erase(0, done);
  writing_bytes_ = writing_.size();
  write_in_flight_ = true;
  uv_buf_t rest = uv_buf_init(writing_.data(), static_cast<unsigned>(writing_.size()));
  uv_write(&write_req_, stream(), &rest, 1, OnWritten);
  UpdateReading();
}

void Connection::OnWritten(uv_write_t* req, int status) {
  auto* self = static_cast<Connection*>(req->handle->data);
  self->write_in_flight_ = false;
  self->server_.stats().net_output_bytes += self->writing_bytes_;
  self->writing_bytes_ = 0;
  if (self->closing_) return;
  if (status < 0) {
    self->Close();
    return;
  }
  self->Flush();
  if (!self->closing() && !self->suspended_ && !self->in_process_) self->ProcessInput();
}

void Connection::UpdateReading() {
  if (closing_) return;
  bool want = !((suspended_ || gate_waiting_) && input_buffer_size() > kMaxIdleInput);
  if (want && !reading_) {
    uv_read_start(stream(), OnAlloc, OnRead);
  } else if (!want && reading_) {
    uv_read_stop(stream());
  }
  reading_ = want;
}

void Connection::ProtocolError(const std::string& message) {
  server_.stats().protocol_errors++;
  spdlog::debug("client {} ({}): {}", state_.id, state_.address, message);
  writer().Error("ERR " + message);
  CloseAfterReply();
}

void Connection::CloseAfterReply() {
  close_after_reply_ = true;
  if (!running_ && !in_process_) Flush();
}

void Connection::Close() {
  if (closing_) return;
  closing_ = true;
  if (state_.cancel_wait) {
    auto cancel = std::move(state_.cancel_wait);
    cancel();
  }
  server_.watches().UnwatchAll(state_.id);
  if (gate_held_ != nullptr) server_.LeaveGate(std::exchange(gate_held_, nullptr), state_.id);
  server_.RemoveClient(this);
  server_.RetireStore(std::move(state_.fake));
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), OnClosed);
}

void Connection::OnClosed(uv_handle_t* handle) { delete static_cast<Connection*>(handle->data); }

}  // namespace arvel::server
