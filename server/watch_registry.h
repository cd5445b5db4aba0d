#pragma once
// WATCH support: which clients watch which keys of which store. When a write through this
// daemon changes a watched key (or flushes its store), every client watching it is marked dirty
// and its EXEC fails. Also the fan-out point for other write listeners (REMEMBER waiters).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "drivers/store.h"

namespace arvel::server {

class WatchRegistry : public drivers::KeyObserver {
 public:
  // `mark_dirty(client_id)` is called for each client whose watched key was written.
  explicit WatchRegistry(std::function<void(uint64_t)> mark_dirty)
      : mark_dirty_(std::move(mark_dirty)) {}

  void Watch(uint64_t client, drivers::Store* store, std::string_view key);
  // Forgets every key `client` watches.
  void UnwatchAll(uint64_t client);
  // Forgets every key of `store`, which is about to be destroyed (a dropped FAKE store): a later
  // store at the same address must not inherit its watchers.
  void ForgetStore(const drivers::Store* store);
  size_t watched_keys() const { return watchers_.size(); }
  // The keys of `store` some client watches.
  std::vector<std::string> WatchedKeys(const drivers::Store* store) const;
  // Until EndFlush, a flush of `store` dirties only the watchers of `existing`: the watched keys
  // that held a value when the flush began. As in Redis, FLUSHDB/FLUSHALL do not touch a
  // watched key that did not exist.
  void BeginFlush(const drivers::Store* store, std::vector<std::string> existing);
  void EndFlush(const drivers::Store* store) { flushing_.erase(store); }

  // Other observers of writes (called after WATCH bookkeeping).
  void AddListener(drivers::KeyObserver* listener) { listeners_.push_back(listener); }

  void OnKeyWritten(drivers::Store& store, drivers::Space space, std::string_view key,
                    bool all) override;
  // Passed on to the listeners only: it names no key, so no WATCH fails for it.
  void OnRemoteChange(drivers::Store& store) override {
    for (drivers::KeyObserver* listener : listeners_) listener->OnRemoteChange(store);
  }

 private:
  using WatchedKey = std::pair<drivers::Store*, std::string>;
  void MarkStore(drivers::Store* store);

  std::function<void(uint64_t)> mark_dirty_;
  absl::flat_hash_map<WatchedKey, absl::flat_hash_set<uint64_t>> watchers_;
  absl::flat_hash_map<uint64_t, std::vector<WatchedKey>> by_client_;
  std::vector<drivers::KeyObserver*> listeners_;
  absl::flat_hash_map<const drivers::Store*, absl::flat_hash_set<std::string>> flushing_;
};

}  // namespace arvel::server
