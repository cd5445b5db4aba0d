#include "server/watch_registry.h"

namespace arvel::server {

void WatchRegistry::Watch(uint64_t client, drivers::Store* store, std::string_view key) {
  WatchedKey watched{store, std::string(key)};
  auto& clients = watchers_[watched];
  if (clients.insert(client).second) by_client_[client].push_back(std::move(watched));
}

void WatchRegistry::UnwatchAll(uint64_t client) {
  auto it = by_client_.find(client);
  if (it == by_client_.end()) return;
  for (const WatchedKey& watched : it->second) {
    auto w = watchers_.find(watched);
    if (w == watchers_.end()) continue;
    w->second.erase(client);
    if (w->second.empty()) watchers_.erase(w);
  }
  by_client_.erase(it);
}

void WatchRegistry::ForgetStore(const drivers::Store* store) {
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    if (it->first.first != store) {
      ++it;
      continue;
    }
    for (uint64_t client : it->second) {
      auto& keys = by_client_[client];
      std::erase_if(keys, [store](const WatchedKey& k) { return k.first == store; });
    }
    watchers_.erase(it++);
  }
}

std::vector<std::string> WatchRegistry::WatchedKeys(const drivers::Store* store) const {
  std::vector<std::string> keys;
  for (const auto& [watched, clients] : watchers_) {
    if (watched.first == store) keys.push_back(watched.second);
  }
  return keys;
}

void WatchRegistry::BeginFlush(const drivers::Store* store, std::vector<std::string> existing) {
  auto& keys = flushing_[store];
  keys.clear();
  for (std::string& key : existing) keys.insert(std::move(key));
}

void WatchRegistry::OnKeyWritten(drivers::Store& store, drivers::Space space, std::string_view key,
                                 bool all) {
  if (all) {
    MarkStore(&store);
  } else if (space == drivers::Space::kData && !watchers_.empty()) {
    // Heterogeneous lookup would need a custom hash; watched writes are rare enough to copy.
    auto it = watchers_.find(WatchedKey{&store, std::string(key)});
    if (it != watchers_.end()) {
      for (uint64_t client : it->second) mark_dirty_(client);
    }
  }
  for (drivers::KeyObserver* listener : listeners_) listener->OnKeyWritten(store, space, key, all);
}

void WatchRegistry::MarkStore(drivers::Store* store) {
  auto flushing = flushing_.find(store);
  for (const auto& [watched, clients] : watchers_) {
    if (watched.first != store) continue;
    if (flushing != flushing_.end() && !flushing->second.contains(watched.second)) continue;
    for (uint64_t client : clients) mark_dirty_(client);
  }
}

}  // namespace arvel::server
