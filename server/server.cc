#include "server/server.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "common/errors.h"
#include "common/signals.h"
#include "drivers/store_factory.h"
#include "server/command.h"
#include "server/connection.h"
#include "server/fill_leases.h"
#include "server/lock_waiters.h"
#include "server/session_locks.h"
#include "server/scripting/script_engine.h"

namespace arvel::server {

namespace {
constexpr uint64_t kCronIntervalMs = 100;
// How long SHUTDOWN waits for parked clients (LOCK BLOCK, REMEMBER, slow stores) to finish.
constexpr int64_t kShutdownGraceMs = 3000;
constexpr int kBacklog = 511;

// An IP address on the loopback interface (IPv4-mapped IPv6 included).
bool IsLoopbackIp(std::string_view ip) {
  if (ip.rfind("::ffff:", 0) == 0) ip.remove_prefix(7);
  return ip.rfind("127.", 0) == 0 || ip == "::1";
}

bool IsLoopback(const std::string& bind) { return bind == "localhost" || IsLoopbackIp(bind); }

// A peer "ip:port" (IPv6 without brackets) on the loopback interface.
bool IsLoopbackPeer(std::string_view address) {
  return IsLoopbackIp(address.substr(0, address.rfind(':')));
}
}  // namespace

Server::Server(config::Config config)
    : config_(std::move(config)), loop_(new uv_loop_t), watches_([this](uint64_t id) {
        if (Connection* conn = FindClient(id)) conn->state().watch_dirty = true;
      }) {
  uv_loop_init(loop_);
  // Signals are watched from the start, so a supervisor's SIGTERM right after the "listening"
  // line is a clean shutdown, not a kill. Only this thread receives them: every thread the
  // daemon starts blocks them (common/signals.h).
  PrepareThreadForSignals();
  for (uv_signal_t* sig : {&sigterm_, &sigint_}) {
    uv_signal_init(loop_, sig);
    sig->data = this;
  }
  uv_signal_start(&sigterm_, OnSignal, SIGTERM);
  uv_signal_start(&sigint_, OnSignal, SIGINT);
  uv_timer_init(loop_, &cron_);
  cron_.data = this;
  uv_async_init(loop_, &shutdown_async_,
                [](uv_async_t* async) { static_cast<Server*>(async->data)->Shutdown(); });
  shutdown_async_.data = this;
  uv_idle_init(loop_, &input_idle_);
  input_idle_.data = this;
  stats_.start_ms = drivers::NowMs();
  OpenStores();
  lock_waiters_ = std::make_unique<LockWaiters>(*this);
  fill_leases_ = std::make_unique<FillLeases>(*this);
  session_locks_ = std::make_unique<SessionLocks>(*this);
  scripts_ = std::make_unique<scripting::ScriptEngine>(*this);
  pause_ = std::make_unique<ClientPause>(
      loop_,
      [this](bool paused) {
        for (const auto& store : stores_) store->PauseExpiry(paused);
      },
      [this](uint64_t id) { ScheduleInput(id); });
}

Server::~Server() {
  if (!stores_closing_) {
    // Run() never happened or never finished (e.g. the port was in use): close the stores — their
    // worker threads must stop before the drivers are destroyed — and every handle, then let the
    // loop run until they are gone.
    shutting_down_ = true;
    CloseListener();
    FinishShutdown();
    uv_run(loop_, UV_RUN_DEFAULT);
  }
  for (auto& [id, conn] : clients_) delete conn;
  session_locks_.reset();
  fill_leases_.reset();  // their timers belong to the loop
  lock_waiters_.reset();
  uv_loop_close(loop_);
  delete loop_;
}

void Server::OpenStores() {
  for (const config::StoreConfig& store_config : config_.stores) {
    std::unique_ptr<drivers::Store> store = drivers::MakeStore(store_config, loop_);
    store->set_observer(&watches_);
    store->Open([name = store_config.name](const Status& status) {
      if (!status.ok()) spdlog::error("store '{}' could not be opened: {}", name, status.message());
    });
    stores_.push_back(std::move(store));
  }
  default_store_ = FindStore(config_.default_store);
  for (const auto& store : stores_) {
    tag_reclaimers_.push_back(std::make_unique<drivers::TagReclaimer>(*store));
  }
}

drivers::TagReclaimer* Server::tag_reclaimer(const drivers::Store& store) const {
  for (size_t i = 0; i < stores_.size(); ++i) {
    if (stores_[i].get() == &store) return tag_reclaimers_[i].get();
  }
  return nullptr;
}

drivers::Store* Server::FindStore(std::string_view name) const {
  for (const auto& store : stores_) {
    if (store->name() == name) return store.get();
  }
  return nullptr;
}

void Server::AddStoreForTesting(std::unique_ptr<drivers::Store> store) {
  store->set_observer(&watches_);
  store->Open([name = store->name()](const Status& status) {
    if (!status.ok()) spdlog::error("store '{}' could not be opened: {}", name, status.message());
  });
  tag_reclaimers_.push_back(std::make_unique<drivers::TagReclaimer>(*store));
  stores_.push_back(std::move(store));
}

void Server::RetireStore(std::unique_ptr<drivers::Store> store) {
  if (store) watches_.ForgetStore(store.get());
}

Status Server::Listen() {
  const std::string& bind = config_.server.bind;
  sockaddr_storage addr{};
  int rc =
      bind.find(':') != std::string::npos
          ? uv_ip6_addr(bind.c_str(), config_.server.port, reinterpret_cast<sockaddr_in6*>(&addr))
          : uv_ip4_addr(bind.c_str(), config_.server.port, reinterpret_cast<sockaddr_in*>(&addr));
  std::string where = bind + ":" + std::to_string(config_.server.port);
  if (rc != 0) return Status::Error("invalid bind address '" + bind + "': " + uv_strerror(rc));
  uv_tcp_init(loop_, &listener_);
  listener_.data = this;
  listener_open_ = true;
  rc = uv_tcp_bind(&listener_, reinterpret_cast<sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), kBacklog, OnConnection);
  if (rc != 0) return Status::Error("cannot listen on " + where + ": " + uv_strerror(rc));

  sockaddr_storage bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  bound_port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (!IsLoopback(bind) && config_.server.password.empty()) {
    if (config_.server.protected_mode) {
      spdlog::warn(
          "protected mode: bound to {} without a password, so clients from other hosts "
          "are refused (-DENIED); set [server] password (CACHE_PASSWORD), or protected_mode = "
          "false (CACHE_PROTECTED_MODE=false) if the network around the daemon is trusted",
          bind);
    } else {
      spdlog::warn(
          "bound to non-loopback address {} without a password and with protected mode "
          "off: anyone who can reach it can read and write the cache",
          bind);
    }
  }
  spdlog::info("arvel-cached {} listening on {}:{} (default store '{}')", ARVEL_VERSION, bind,
               bound_port_, config_.default_store);
  return Status::Ok();
}

int Server::Run() {
  uv_timer_start(&cron_, OnCron, kCronIntervalMs, kCronIntervalMs);
  uv_run(loop_, UV_RUN_DEFAULT);
  spdlog::info("arvel-cached stopped");
  return exit_code_;
}

void Server::OnConnection(uv_stream_t* listener, int status) {
  auto* self = static_cast<Server*>(listener->data);
  if (status < 0) {
    spdlog::warn("accept failed: {}", uv_strerror(status));
    return;
  }
  self->Accept();
}

void Server::Accept() {
  auto* conn = new Connection(*this, next_client_id_++);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), conn->stream()) != 0) {
    conn->Close();
    return;
  }
  stats_.connections_received++;
  clients_.emplace(conn->state().id, conn);
  conn->Start();
  if (config_.server.protected_mode && config_.server.password.empty() &&
      !IsLoopbackPeer(conn->state().address)) {
    stats_.connections_rejected++;
    conn->writer().Error(errors::kProtectedMode);
    conn->CloseAfterReply();
    return;
  }
  if (clients_.size() > static_cast<size_t>(config_.server.max_clients)) {
    stats_.connections_rejected++;
    conn->writer().Error(errors::kMaxClients);
    conn->CloseAfterReply();
  }
}

bool Server::EnterGate(const drivers::Store* store, uint64_t client) {
  auto [it, fresh] = gates_.try_emplace(store);
  if (fresh) it->second.owner = client;
  if (it->second.owner == client) return true;
  it->second.waiters.push_back(client);
  return false;
}

void Server::LeaveGate(const drivers::Store* store, uint64_t client) {
  auto it = gates_.find(store);
  if (it == gates_.end() || it->second.owner != client) return;
  std::vector<uint64_t> waiters = std::move(it->second.waiters);
  gates_.erase(it);
  for (uint64_t id : waiters) {
    if (Connection* conn = FindClient(id)) conn->GateOpened();
  }
}

namespace {
int64_t UnixMicros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}
}  // namespace

void Server::FeedMonitors(const ClientState& client, std::span<const std::string_view> args,
                          bool from_script) {
  if (monitors_.empty()) return;
  const std::string line =
      "+" + MonitorLine(UnixMicros(), from_script ? "lua" : client.address, args) + "\r\n";
  for (uint64_t id : monitors_) {
    if (Connection* conn = FindClient(id)) conn->Push(line);
  }
}

void Server::ScheduleInput(uint64_t client_id) {
  if (input_idle_closed_) return;
  if (scheduled_input_.empty() && scheduled_flush_.empty()) {
    uv_idle_start(&input_idle_, OnScheduledInput);
  }
  scheduled_input_.push_back(client_id);
}

void Server::ScheduleFlush(uint64_t client_id) {
  if (input_idle_closed_) {
    if (Connection* conn = FindClient(client_id)) conn->FlushScheduled();
    return;
  }
  if (scheduled_input_.empty() && scheduled_flush_.empty()) {
    uv_idle_start(&input_idle_, OnScheduledInput);
  }
  scheduled_flush_.push_back(client_id);
}

// An idle handle, not a check handle: while one is active the loop polls without blocking, so
// what is scheduled during the turn (a store completion, or a write that a prepare handle makes
// and fails) runs before the loop can sleep.
void Server::OnScheduledInput(uv_idle_t* idle) {
  auto* self = static_cast<Server*>(idle->data);
  uv_idle_stop(idle);
  std::vector<uint64_t> ids = std::move(self->scheduled_input_);
  self->scheduled_input_.clear();
  for (uint64_t id : ids) {
    if (Connection* conn = self->FindClient(id)) conn->ContinueInput();
  }
  ids = std::move(self->scheduled_flush_);
  self->scheduled_flush_.clear();
  for (uint64_t id : ids) {
    if (Connection* conn = self->FindClient(id)) conn->FlushScheduled();
  }
  if (!self->scheduled_input_.empty() || !self->scheduled_flush_.empty()) {
    uv_idle_start(idle, OnScheduledInput);  // scheduled while we ran: next turn
  }
}

Connection* Server::FindClient(uint64_t id) const {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : it->second;
}

void Server::RemoveClient(Connection* conn) {
  uint64_t id = conn->state().id;
  clients_.erase(id);
  RemoveMonitor(id);
  for (const auto& listener : close_listeners_) listener(id);
}

size_t Server::blocked_clients() const {
  size_t n = 0;
  for (const auto& [id, conn] : clients_) n += conn->parked() || conn->postponed() ? 1 : 0;
  return n;
}

void Server::OnCron(uv_timer_t* timer) { static_cast<Server*>(timer->data)->Cron(); }

void Server::Cron() {
  int64_t now = drivers::NowMs();
  for (const auto& store : stores_) store->Tick(now);
  for (const auto& reclaimer : tag_reclaimers_) reclaimer->Tick(now);
  for (auto& [id, conn] : clients_) {
    if (conn->state().fake) conn->state().fake->Tick(now);
  }
  if (shutting_down_) {
    std::vector<Connection*> done;
    for (auto& [id, conn] : clients_) {
      if (!conn->parked() && !conn->closing()) done.push_back(conn);
    }
    for (Connection* conn : done) conn->CloseAfterReply();
    if (clients_.empty() || now - shutdown_started_ms_ > kShutdownGraceMs) FinishShutdown();
    return;
  }
  // Once a second: memory a burst freed goes back to the system (server/heap_trimmer.h).
  if (++cron_ticks_ % 10 == 0) heap_trimmer_.Tick();
  int64_t timeout_ms = config_.server.timeout * 1000;
  if (timeout_ms <= 0) return;
  std::vector<Connection*> idle;
  for (auto& [id, conn] : clients_) {
    if (!conn->parked() && conn->idle_ms(now) > timeout_ms) idle.push_back(conn);
  }
  for (Connection* conn : idle) conn->Close();
}

void Server::OnSignal(uv_signal_t* handle, int signum) {
  spdlog::info("received {}, shutting down", signum == SIGTERM ? "SIGTERM" : "SIGINT");
  static_cast<Server*>(handle->data)->Shutdown();
}

void Server::Shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_started_ms_ = drivers::NowMs();
  CloseListener();
  scripts_->Close();  // a long script stops, so its client gets its reply
  pause_->Close();    // postponed commands get their replies (or the close) too
  std::vector<Connection*> open;
  for (auto& [id, conn] : clients_) open.push_back(conn);
  for (Connection* conn : open) {
    if (!conn->parked()) conn->CloseAfterReply();  // parked ones close once their reply is out
  }
  if (clients_.empty()) FinishShutdown();
}

void Server::CloseListener() {
  if (!listener_open_) return;
  listener_open_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
}

void Server::FinishShutdown() {
  if (stores_closing_) return;
  stores_closing_ = true;
  scripts_->Close();
  pause_->Close();
  std::vector<Connection*> open;
  for (auto& [id, conn] : clients_) open.push_back(conn);
  for (Connection* conn : open) conn->Close();
  auto remaining = std::make_shared<size_t>(stores_.size());
  auto all_closed = [this, remaining](const Status& status) {
    if (!status.ok()) spdlog::error("closing a store: {}", status.message());
    if (--*remaining > 0) return;
    uv_close(reinterpret_cast<uv_handle_t*>(&cron_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&shutdown_async_), nullptr);
    input_idle_closed_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&input_idle_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
  };
  if (stores_.empty()) {
    *remaining = 1;
    all_closed(Status::Ok());
    return;
  }
  for (const auto& store : stores_) store->Close(all_closed);
}

}  // namespace arvel::server
