#pragma once
// ArrayStore: the in-process `array` driver (SPEC §6), the default store and the hot path
// behind GET/SET. Synchronous: every completion runs before the method returns. Loop thread
// only; no locks.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "drivers/expiry_heap.h"
#include "drivers/key_table.h"
#include "drivers/lru_list.h"
#include "drivers/store.h"

namespace arvel::drivers {

struct ArrayStoreOptions {
  // Bytes the data may occupy (see used_memory()); 0 = unlimited. Beyond it, least recently
  // used kData/kTagged keys are evicted; a write that still does not fit fails with OOM.
  size_t max_memory = 0;
  // The Unix-ms clock expiry is judged by; empty means NowMs. Tests inject a fake clock.
  std::function<int64_t()> clock;
};

class ArrayStore : public Store {
 public:
  explicit ArrayStore(std::string name, ArrayStoreOptions options = {});
  ~ArrayStore() override;

  // Entries handed to `done` stay valid until the store is next modified (any call but Read of
  // keys without expiry, Count and used_memory may modify it).
  bool completes_inline() const override { return true; }
  void Read(Space space, std::span<const std::string_view> keys, ReadFn done) override;
  // Completes with errors::kOom, having written nothing, if the writes cannot fit in max_memory
  // even after evicting every unpinned kData/kTagged key.
  void Update(Space space, std::span<const std::string_view> keys, UpdateFn fn,
              DoneFn done) override;
  void Scan(uint64_t cursor, size_t count, ScanFn done) override;
  // Scan over any space (kData included).
  void ScanSpace(Space space, uint64_t cursor, size_t count, ScanFn done) override;
  void Count(CountFn done) override;
  void RandomKey(KeyFn done) override;
  // Idle time to the Tick (100 ms); bytes: the node, key, value and the key's bucket pointer.
  void Inspect(std::string_view key, InspectFn done) override;
  // Prefetches the keys' buckets, then their first nodes (KeyTable::Prefetch*), so their
  // cache misses overlap.
  void Prefetch(std::span<const std::string_view> keys) override;
  static constexpr size_t kMaxPrefetch = 16;
  void Flush(DoneFn done) override;
  // Reclaims due keys (at most kMaxExpiredPerTick, about 10 ms: Redis allows its slow expiry
  // cycle 25 ms), advances resizes, shrinks;
  // advances the access clock.
  void Tick(int64_t now_ms) override;
  int64_t now_ms() const override { return clock_(); }

  // Nodes, keys, value buffers (by capacity, with an estimate of malloc's overhead), bucket
  // arrays and the expiry heap. 0 for an empty store that was flushed or never written.
  size_t used_memory() const override;
  size_t max_memory() const override { return max_memory_; }
  int64_t approximate_keys() const override;
  std::optional<ExpiryStats> expiry_stats() const override;
  void PauseExpiry(bool paused) override { expiry_paused_ = paused; }

  static constexpr size_t kMaxExpiredPerTick = 65536;

 protected:
  // Called for each key an Update changed, right after the change and before KeyWritten.
  // `entry` is the key's new state, nullptr if the key is gone.
  virtual void OnKeyChanged(Space space, std::string_view key, KeyUpdate::Action action,
                            const Entry* entry) {}

 private:
  // What Update knows about each of its keys between the read and the write.
  struct KeyState {
    uint64_t hash = 0;
    Node* node = nullptr;  // as read; valid until the writes start
    bool changed = false;
  };
  class LazyClock;

  KeyTable& table(Space space) { return tables_[static_cast<size_t>(space)]; }
  const KeyTable& table(Space space) const { return tables_[static_cast<size_t>(space)]; }
  bool InLru(const Node* node) const {
    return lru_enabled_ && (node->space == Space::kData || node->space == Space::kTagged);
  }

  // Whether the node has not expired (reads the clock only if it has an expiry).
  static bool IsLive(const Node* node, LazyClock& now);
  // The node for `key` if present and not expired; an expired one is reclaimed on the way
  // (unless expiry is paused and `reclaim` is false: a write must reclaim it before replacing).
  Node* FindLive(Space space, std::string_view key, uint64_t hash, LazyClock& now,
                 bool reclaim = true);
  // An access: the node's access time, its place in the LRU list. Not inside a NoTouchScope.
  void Touch(Node* node) {
    if (NoTouchScope::active()) return;
    node->access_s = access_clock_s_;
    if (InLru(node)) lru_.MoveToFront(node);
  }

  // Evicts until the decided writes fit, or fails with OOM (evicting nothing) if they cannot.
  // Unpins the nodes. `pinned_bytes`: bytes of the pinned nodes that are in the LRU list.
  // REQUIRES: max_memory_ != 0.
  Status MakeRoom(Space space, std::span<const KeyUpdate> updates, std::span<KeyState> states,
                  size_t pinned_bytes, int64_t now);
  // Frees one key: a due one if any, else the least recently used unpinned one.
  bool EvictOne(int64_t now);
  // Applies one decision; returns whether the key changed. `reuse_node`: states.node is
  // still valid (no earlier decision of the same call could have removed it).
  bool Apply(Space space, KeyUpdate& update, const KeyState& state, bool reuse_node, int64_t now);

  Node* InsertNode(Space space, std::string_view key, uint64_t hash, std::string value,
                   int64_t expire_at_ms);
  void SetValue(Node* node, std::string value);
  void SetExpiry(Node* node, int64_t expire_at_ms);
  // Adds (sign 1) or removes (-1) a kData node's expiry to / from the INFO keyspace counts.
  void CountExpiry(const Node* node, int sign);
  // Add / remove the node's bytes to / from the accounting.
  void Charge(const Node* node);
  void Discharge(const Node* node);
  // Unlinks the node from every structure and frees it.
  void RemoveNode(Node* node);
  // Removes an expired node; its key is reported to the observer by NotifyExpired.
  void ReclaimExpired(Node* node);
  // Tells the observer (WATCH, waiters) of the keys expired since the last call. Called where
  // the store is consistent and no entry handed out is still in use: observers may call back.
  void NotifyExpired();
  // Starts shrinking `space`'s table if sparse and if the new array fits in max_memory.
  void MaybeShrink(Space space);
  void DestroyAll();

  const size_t max_memory_;
  const bool lru_enabled_;  // the recency list is kept only when there is a limit to enforce
  const std::function<int64_t()> clock_;
  KeyTable tables_[kSpaceCount];
  LruList lru_;  // kData and kTagged nodes only: the other spaces are never evicted
  ExpiryHeap heap_;
  size_t item_bytes_ = 0;  // nodes and value buffers, malloc overhead included
  size_t lru_bytes_ = 0;   // the part of item_bytes_ in the LRU list (what eviction can free)
  SplitMix64 rng_;
  uint32_t access_clock_s_;    // Unix seconds, as of the last Tick: what Touch stamps
  bool expiry_paused_ = false;
  // kData keys with an expiry, and the sum of their expiries counted from expiry_base_ms_.
  int64_t data_expires_ = 0;
  int64_t data_expiry_sum_ms_ = 0;
  const int64_t expiry_base_ms_;
  std::vector<std::pair<Space, std::string>> expired_;  // reclaimed, not yet notified
};

}  // namespace arvel::drivers
