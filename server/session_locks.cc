#include "server/session_locks.h"

#include <algorithm>
#include <utility>

#include "drivers/lock_logic.h"
#include "server/server.h"

namespace arvel::server {

SessionLocks::SessionLocks(Server& server) : server_(server) {
  server.AddCloseListener([this](uint64_t client_id) { ClientGone(client_id); });
}

void SessionLocks::Add(uint64_t client_id, drivers::Store& store, std::string key,
                       std::string token, HoldKind kind) {
  StoreKey lock{&store, std::move(key)};
  std::vector<uint64_t>& clients = holders_[lock];
  if (std::find(clients.begin(), clients.end(), client_id) == clients.end()) {
    clients.push_back(client_id);
  }
  held_by_[client_id].push_back({std::move(lock), std::move(token), kind});
}

void SessionLocks::Forget(const drivers::Store& store, std::string_view key,
                          std::string_view token) {
  if (holders_.empty()) return;
  auto it = holders_.find(StoreKeyView{&store, key});
  if (it == holders_.end()) return;
  std::vector<uint64_t>& clients = it->second;
  for (auto client = clients.begin(); client != clients.end();) {
    std::vector<Held>& held = held_by_[*client];
    std::erase_if(held, [&](const Held& h) {
      return h.lock.store == &store && h.lock.key == key && (token.empty() || h.token == token);
    });
    const bool still_holds = std::any_of(held.begin(), held.end(), [&](const Held& h) {
      return h.lock.store == &store && h.lock.key == key;
    });
    if (held.empty()) held_by_.erase(*client);
    client = still_holds ? client + 1 : clients.erase(client);
  }
  if (clients.empty()) holders_.erase(it);
}

void SessionLocks::ClientGone(uint64_t client_id) {
  auto it = held_by_.find(client_id);
  if (it == held_by_.end()) return;
  const std::vector<Held> held = std::move(it->second);
  held_by_.erase(it);
  for (const Held& h : held) {
    auto holders = holders_.find(h.lock);
    if (holders != holders_.end()) {
      std::erase(holders->second, client_id);
      if (holders->second.empty()) holders_.erase(holders);
    }
    // A dropped FAKE store is gone with everything it held.
    if (!StoreReachable(server_, h.lock.store)) continue;
    GiveBack(*h.lock.store, h.kind, h.lock.key, h.token);
  }
}

}  // namespace arvel::server
