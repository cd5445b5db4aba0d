#include "server/connection.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "common/errors.h"
#include "drivers/store.h"
#include "protocol/key_peek.h"
#include "server/command_table.h"
#include "server/scripting/script_engine.h"
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
// A stalled client (its next command waits for earlier reply slots, a store gate or its own
// EXEC) stops being read once this much unprocessed input is buffered.
constexpr size_t kMaxIdleInput = 1024 * 1024;
// At most this many reply slots of one client are pending at once; its next command waits.
constexpr size_t kMaxPendingSlots = 1024;
// Pipelined requests whose keys are prefetched at a time (PrefetchKeys).
constexpr size_t kPrefetchKeys = 16;

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
  // Not an interaction yet: the idle clock restarts only when a whole command has arrived, so
  // a client trickling a partial command is timed out like a silent one.
  self->ProcessInput();
}

void Connection::ProcessInput(bool flush_now) {
  in_process_ = true;
  stalled_ = false;
  DrainSlots();
  size_t prefetched = 0;  // requests ahead whose keys the store was asked to prefetch
  while (!closing()) {
    if (exec_next_ >= 0 || in_script_ || gate_waiting_ || pending_slots_ >= kMaxPendingSlots) {
      stalled_ = true;
      break;
    }
    std::string_view pending(in_.data() + in_pos_, in_len_ - in_pos_);
    if (pending.empty()) break;
    if (prefetched == 0) prefetched = PrefetchKeys(pending);
    --prefetched;
    protocol::ParseStatus status = parser_.Parse(pending);
    if (status == protocol::ParseStatus::kIncomplete) break;
    if (status == protocol::ParseStatus::kError) {
      ProtocolError(parser_.error());
      break;
    }
    state_.last_interaction_ms = drivers::NowMs();  // a complete command (see OnRead)
    if (server_.gated(state_.store, state_.id)) {
      // Another client's EXEC is running on our store: leave the request in the buffer (it is
      // parsed again when the gate opens) and wait.
      gate_waiting_ = server_.EnterGate(state_.store, state_.id) == false;
      if (gate_waiting_) {
        stalled_ = true;
        break;
      }
    }
    const auto& args = parser_.args();
    const CommandSpec* spec = args.empty() ? nullptr : CommandTable::Default().Find(args[0]);
    if (spec != nullptr && (!MayStart(*spec) || Postponed(*spec, args))) {
      // It must wait for earlier slots or for a pause to end: leave it in the buffer, parsed
      // again once one completes.
      stalled_ = true;
      break;
    }
    in_pos_ += parser_.consumed();
    if (!args.empty()) Dispatch(spec, args);
    DrainSlots();
    if (out_.size() >= kFlushBytes) Flush();
  }
  in_process_ = false;
  if (closing_) return;
  CompactInput();
  if (flush_now || pending_slots_ == 0) {
    Flush();  // nothing more to wait for: the client may send its next pipeline now
  } else {
    ScheduleFlush();
  }
  UpdateReading();
}

void Connection::ScheduleFlush() {
  if (flush_scheduled_ || closing_) return;
  flush_scheduled_ = true;
  server_.ScheduleFlush(state_.id);
}

void Connection::FlushScheduled() {
  flush_scheduled_ = false;
  if (!running_ && !in_process_) Flush();
}

bool Connection::MayStart(const CommandSpec& spec) const {
  if (pending_slots_ == 0) return true;
  if (spec.flags & (kConnectionState | kAdmin)) return false;
  const bool touches_store = spec.flags & (kWrite | kReadOnly);
  const bool read_only = spec.flags & kReadOnly;
  const bool ordered = state_.store->capabilities().keeps_order;
  for (const ReplySlot& slot : slots_) {
    if (!slot.pending) continue;
    if (slot.barrier) return false;
    if (slot.waiting || !touches_store || !slot.touches_store) continue;
    if (slot.store != state_.store) continue;
    if (read_only && slot.read_only) continue;
    // Its one call is made: a store that keeps order applies whatever we do after it.
    if (ordered && slot.one_call) continue;
    return false;
  }
  return true;
}

size_t Connection::PrefetchKeys(std::string_view pending) {
  std::string_view keys[kPrefetchKeys];
  const size_t n = protocol::PeekKeys(pending, keys);
  // One request alone gains nothing: its lookup is next anyway.
  if (n >= 2) state_.store->Prefetch(std::span<const std::string_view>(keys, n));
  return std::max<size_t>(n, 1);
}

bool Connection::Postponed(const CommandSpec& spec, std::span<const std::string_view> args) {
  ClientPause& pause = server_.pause();
  const bool postpones =
      pause.active() && CommandTable::ArityOk(spec, args.size()) &&  // errors answer at once
      (state_.authenticated || (spec.flags & kNoAuth)) &&
      !(state_.in_multi && !(spec.flags & kNoMulti)) &&  // queued: its EXEC is judged
      pause.Postpones(MayWrite(spec, args));
  if (postpones && !postponed_) pause.Postpone(state_.id);
  postponed_ = postpones;
  return postpones;
}

bool Connection::MayWrite(const CommandSpec& spec, std::span<const std::string_view> args) const {
  if (spec.name == "eval" || spec.name == "evalsha") {
    return server_.scripts().MayWrite(args[1], spec.name == "evalsha");
  }
  if (spec.name == "exec") {
    return std::any_of(state_.queue.begin(), state_.queue.end(), [&](const QueuedCommand& q) {
      std::vector<std::string_view> views(q.args.begin(), q.args.end());
      return MayWrite(*q.spec, views);
    });
  }
  return spec.flags & kWrite;
}

// CLIENT REPLY OFF/SKIP: whatever the command answers — QUEUED, a refusal, its reply, EXEC's
// queue — is dropped.
void Connection::Dispatch(const CommandSpec* spec, std::span<const std::string_view> args) {
  state_.reply_skip = std::exchange(state_.reply_skip_next, false);
  std::string* target = InlineTarget();
  const size_t before = target->size();
  const uint64_t ticket_before = ticket_;
  Run(spec, args);
  if (state_.reply_off || state_.reply_skip) {
    Silence(*target, before, ticket_before);
    if (exec_next_ >= 0) exec_silent_ = true;  // EXEC goes on later: its queue too
  }
  state_.reply_skip = false;
}

void Connection::Run(const CommandSpec* spec, std::span<const std::string_view> args) {
  if (spec == nullptr) {
    return Reject(nullptr, errors::UnknownCommand(args[0], args.data() + 1, args.size() - 1));
  }
  if (!CommandTable::ArityOk(*spec, args.size())) {
    return Reject(spec, errors::WrongArity(spec->name));
  }
  if (!state_.authenticated && !(spec->flags & kNoAuth)) return Reject(spec, errors::kNoAuth);
  if (!(spec->flags & kAllowBusy) && server_.scripts().BusyFor(state_.id)) {
    return Reject(spec, errors::kBusyScript);
  }
  if (state_.in_multi && !(spec->flags & kNoMulti)) {
    Queue(*spec, args);
    return;
  }
  Execute(*spec, args);
}

// A command refused before it runs: its error, counted (INFO errorstats, commandstats'
// rejected_calls), and inside MULTI the transaction is aborted.
void Connection::Reject(const CommandSpec* spec, std::string_view error) {
  state_.multi_error = state_.in_multi;
  server_.command_stats().Rejected(spec != nullptr ? spec->name : "", error);
  writer().Error(error);
}

// Other daemons write a shared store between our commands, and nothing here can stop them: a
// transaction there keeps its meaning only with a single command that touches keys.
bool Connection::MayQueue(const CommandSpec& spec) const {
  auto touches_store = [](const CommandSpec& s) { return (s.flags & (kWrite | kReadOnly)) != 0; };
  if (!touches_store(spec) || !state_.store->capabilities().others_may_write()) return true;
  return std::none_of(state_.queue.begin(), state_.queue.end(),
                      [&](const QueuedCommand& queued) { return touches_store(*queued.spec); });
}

void Connection::Queue(const CommandSpec& spec, std::span<const std::string_view> args) {
  if (!MayQueue(spec)) return Reject(&spec, errors::SharedStoreTransaction(state_.store->name()));
  QueuedCommand queued{&spec, {}};
  queued.args.reserve(args.size());
  for (std::string_view arg : args) queued.args.emplace_back(arg);
  state_.queue.push_back(std::move(queued));
  writer().Simple("QUEUED");
}

void Connection::Execute(const CommandSpec& spec, std::span<const std::string_view> args) {
  const bool was_running = std::exchange(running_, true);
  const CommandSpec* was_spec = std::exchange(running_spec_, &spec);
  server_.stats().commands_processed++;
  state_.last_command.assign(spec.name);
  // Administrative commands are not shown, as in Redis (a monitor's own MONITOR neither).
  const bool shown = !(spec.flags & kAdmin);
  if (shown && (spec.flags & kMonitorFirst)) server_.FeedMonitors(state_, args, capture_ != nullptr);
  const auto start = std::chrono::steady_clock::now();
  std::string* target = InlineTarget();  // where an inline reply goes
  const size_t before = target->size();
  const uint64_t ticket_before = ticket_;
  CommandContext ctx(*this, spec, args);
  {
    // CLIENT NO-TOUCH: nothing but TOUCH counts as an access.
    drivers::NoTouchScope no_touch((spec.flags & kNoTouch) ||
                                   (state_.no_touch && spec.name != "touch"));
    spec.handler(ctx);
  }
  const int64_t usec = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  running_ = was_running;
  running_spec_ = was_spec;
  // A silenced EXEC that goes on after its handler returned (Dispatch silenced the rest).
  if (exec_silent_ && capture_ == nullptr) Silence(*target, before, ticket_before);
  const std::string_view stats_name = CommandTable::Default().StatsName(spec, args);
  server_.command_stats().Ran(stats_name, usec);
  if (ticket_ == ticket_before) {
    CountIfError(stats_name, std::string_view(*target).substr(before));
  } else if (ReplySlot* slot = SlotOf(ticket_)) {
    // Suspended: judged now if it already completed, else when it does (Resume).
    if (slot->pending) {
      slot->stats_name = stats_name;
    } else {
      CountIfError(stats_name, slot->bytes);
    }
  }
  const config::ServerConfig& config = server_.config().server;
  server_.slowlog().Record(config.slowlog_log_slower_than, config.slowlog_max_len, usec, args,
                           state_);
  if (shown && !(spec.flags & kMonitorFirst)) {
    server_.FeedMonitors(state_, args, capture_ != nullptr);
  }
  OverOutputLimit();
}

void Connection::CountIfError(std::string_view stats_name, std::string_view reply) {
  if (reply.starts_with('-')) server_.command_stats().Failed(stats_name, reply);
}

// Drops what the running command replied: its inline bytes past `before`, and the slots it
// suspended (their replies are dropped when they complete).
void Connection::Silence(std::string& target, size_t before, uint64_t ticket_before) {
  if (target.size() > before) target.resize(before);
  for (ReplySlot& slot : slots_) {
    if (&slot.bytes == &target && slot.counted > before) {  // settled bytes were dropped
      settled_bytes_ -= slot.counted - before;
      slot.counted = before;
    }
    if (slot.ticket <= ticket_before || &slot.bytes == &target) continue;
    slot.silent = true;
    settled_bytes_ -= slot.counted;
    slot.counted = 0;
    slot.bytes.clear();
  }
}

Connection::ReplySlot* Connection::SlotOf(uint64_t ticket) {
  auto it = std::lower_bound(slots_.begin(), slots_.end(), ticket,
                             [](const ReplySlot& slot, uint64_t t) { return slot.ticket < t; });
  return it == slots_.end() || it->ticket != ticket ? nullptr : &*it;
}

void Connection::Push(std::string_view bytes) {
  if (closing_) return;
  InlineTarget()->append(bytes);
  if (running_ || in_process_) return;  // written with the rest of this batch
  DrainSlots();
  ScheduleFlush();
}

bool Connection::ExecuteCaptured(const CommandSpec& spec, std::span<const std::string_view> args,
                                 protocol::RespVersion resp, std::string& reply) {
  // Slots the command adds (if it suspends) sit behind the script's own: none is sent before
  // the script ends, and we take them back here.
  const size_t mark = slots_.size();
  const std::string last_command = state_.last_command;
  const protocol::RespVersion client_resp = std::exchange(state_.resp, resp);
  reply.clear();
  capture_ = &reply;
  Execute(spec, args);
  capture_ = nullptr;
  state_.resp = client_resp;
  state_.last_command = last_command;
  bool complete = true;
  for (size_t i = mark; i < slots_.size(); ++i) {
    ReplySlot& slot = slots_[i];
    if (slot.pending) {
      complete = false;
      --pending_slots_;
      if (slot.cancel) slot.cancel();
    }
    reply.append(slot.bytes);
  }
  while (slots_.size() > mark) {
    settled_bytes_ -= slots_.back().counted;
    slots_.pop_back();
  }
  return complete && !reply.empty();
}

void Connection::EndScript() {
  in_script_ = false;
  if (stalled_ && !running_ && !in_process_) server_.ScheduleInput(state_.id);
}

bool Connection::OverOutputLimit() {
  if (closing_) return true;
  if (output_buffer_size() <= static_cast<size_t>(server_.config().server.client_output_limit)) {
    return false;
  }
  spdlog::warn("client {} ({}) dropped: output buffer over client_output_limit", state_.id,
               state_.address);
  Close();
  return true;
}

// ---- Reply slots ---------------------------------------------------------------------------

std::string* Connection::InlineTarget() {
  if (capture_ != nullptr) return capture_;
  if (slots_.empty()) return &out_;
  if (slots_.back().pending) PushSlot(false);
  return &slots_.back().bytes;
}

Connection::ReplySlot& Connection::PushSlot(bool pending) {
  if (!slots_.empty()) {
    // The old tail stops growing inline: its bytes are settled from now on.
    ReplySlot& tail = slots_.back();
    settled_bytes_ += tail.bytes.size() - tail.counted;
    tail.counted = tail.bytes.size();
  }
  ReplySlot& slot = slots_.emplace_back();
  slot.ticket = ticket_;
  slot.pending = pending;
  slot.resp = state_.resp;
  return slot;
}

uint64_t Connection::Suspend(bool one_call) {
  ++ticket_;
  ReplySlot& slot = PushSlot(true);
  // Outside any handler nothing should suspend; if something does, it holds back everything.
  const uint32_t flags = running_spec_ != nullptr ? running_spec_->flags : kConnectionState;
  slot.barrier = flags & (kConnectionState | kAdmin);
  slot.read_only = flags & kReadOnly;
  slot.touches_store = flags & (kWrite | kReadOnly);
  slot.one_call = one_call;
  slot.store = state_.store;
  ++pending_slots_;
  return ticket_;
}

const Connection::ReplySlot* Connection::FindPending(uint64_t ticket) const {
  // Tickets never decrease along the queue, and a pending slot is the first with its ticket.
  auto it = std::lower_bound(slots_.begin(), slots_.end(), ticket,
                             [](const ReplySlot& slot, uint64_t t) { return slot.ticket < t; });
  if (it == slots_.end() || it->ticket != ticket || !it->pending) return nullptr;
  return &*it;
}

protocol::ReplyWriter Connection::SlotWriter(uint64_t ticket) {
  ReplySlot* slot = FindPending(ticket);
  // Callers check IsPending first; a stray writer writes nowhere that is ever sent.
  if (slot == nullptr) {
    discarded_.clear();
    return protocol::ReplyWriter(&discarded_, state_.resp);
  }
  return protocol::ReplyWriter(&slot->bytes, slot->resp);
}

void Connection::MarkWaiting(uint64_t ticket, std::function<void()> on_cancel) {
  ReplySlot* slot = closing_ ? nullptr : FindPending(ticket);
  if (slot == nullptr) return;
  slot->waiting = true;
  slot->cancel = std::move(on_cancel);
  // Commands stalled behind this slot may start now. Not from here: we are inside the waiter
  // registry (or a store callback), which the next command may re-enter.
  if (stalled_ && !running_ && !in_process_) server_.ScheduleInput(state_.id);
}

void Connection::Resume(uint64_t ticket) {
  if (closing_) return;
  ReplySlot* slot = FindPending(ticket);
  if (slot == nullptr) return;
  slot->pending = false;
  slot->waiting = false;
  slot->cancel = nullptr;
  --pending_slots_;
  if (!slot->stats_name.empty()) CountIfError(slot->stats_name, slot->bytes);
  if (slot->silent) slot->bytes.clear();
  if (slot != &slots_.back()) {
    settled_bytes_ += slot->bytes.size() - slot->counted;
    slot->counted = slot->bytes.size();
  }
  if (running_) return;  // completed inside a handler: its caller goes on and drains
  state_.last_interaction_ms = drivers::NowMs();
  if (exec_next_ >= 0 && ticket == ticket_) ContinueTransaction();
  if (OverOutputLimit()) return;
  if (in_process_) return;  // the input loop drains and goes on
  ProcessInput(false);      // drains, runs what was stalled behind the slot, flushes later
}

void Connection::DrainSlots() {
  if (running_) return;  // a handler's writer may point into the tail slot
  while (!slots_.empty() && !slots_.front().pending) {
    ReplySlot& head = slots_.front();
    settled_bytes_ -= head.counted;
    if (out_.empty()) {
      out_.swap(head.bytes);
    } else {
      out_.append(head.bytes);
    }
    slots_.pop_front();
  }
}

void Connection::ContinueInput() {
  if (!closing() && !running_ && !in_process_) ProcessInput();
}

// ---- EXEC ----------------------------------------------------------------------------------

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
    if (IsPending(ticket)) return;  // Resume() runs the transaction
  }
  ContinueTransaction();
}

void Connection::GateOpened() {
  gate_waiting_ = false;
  ContinueInput();
}

void Connection::ContinueTransaction() {
  bool was_running = running_;
  running_ = true;
  while (exec_next_ >= 0 && static_cast<size_t>(exec_next_) < exec_queue_.size() && !closing_) {
    QueuedCommand& queued = exec_queue_[exec_next_++];
    std::vector<std::string_view> views(queued.args.begin(), queued.args.end());
    const uint64_t before = ticket_;
    Execute(*queued.spec, views);
    if (ticket_ != before && IsPending(ticket_)) {
      running_ = was_running;
      return;  // Resume() continues with the next command
    }
  }
  exec_next_ = -1;
  exec_queue_.clear();
  exec_silent_ = false;
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
    if (out_.empty() && !write_in_flight_ && close_after_reply_ && slots_.empty()) Close();
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
    if (close_after_reply_ && slots_.empty()) Close();
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
  self->ContinueInput();
}

void Connection::UpdateReading() {
  if (closing_) return;
  bool want = !(stalled_ && input_buffer_size() > kMaxIdleInput);
  if (want && !reading_) {
    uv_read_start(stream(), OnAlloc, OnRead);
  } else if (!want && reading_) {
    uv_read_stop(stream());
  }
  reading_ = want;
}

void Connection::ProtocolError(const std::string& message) {
  server_.stats().protocol_errors++;
  const std::string error = "ERR " + message;
  server_.command_stats().Error(error);
  spdlog::debug("client {} ({}): {}", state_.id, state_.address, message);
  writer().Error(error);
  CloseAfterReply();
}

void Connection::CloseAfterReply() {
  close_after_reply_ = true;
  if (!running_ && !in_process_) Flush();
}

void Connection::Close() {
  if (closing_) return;
  closing_ = true;
  // Waiters leave their queues. The slots themselves stay until the connection is deleted (a
  // handler running now may still write into the tail one); every PendingReply is dead already.
  std::vector<std::function<void()>> cancels;
  for (ReplySlot& slot : slots_) {
    if (slot.cancel) cancels.push_back(std::exchange(slot.cancel, nullptr));
  }
  for (auto& cancel : cancels) cancel();
  server_.watches().UnwatchAll(state_.id);
  if (gate_held_ != nullptr) server_.LeaveGate(std::exchange(gate_held_, nullptr), state_.id);
  server_.RemoveClient(this);
  server_.RetireStore(std::move(state_.fake));
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), OnClosed);
}

void Connection::OnClosed(uv_handle_t* handle) { delete static_cast<Connection*>(handle->data); }

}  // namespace arvel::server
