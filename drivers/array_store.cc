// Design. One KeyTable per Space (so Scan, Count and RandomKey over kData never wade through
// tags, locks or counters), all holding intrusive Nodes (drivers/key_table.h). Each node is also
// linked into
//   - the LRU list, if it is in kData or kTagged and a max_memory is set (Read and Update move
//     it to the front; eviction takes from the back), and
//   - the expiry heap, if it has an expiry (Tick pops due keys from the top, so keys nobody
//     reads again are still freed, at a bounded cost per Tick).
// Expiry is also checked lazily: an expired node is invisible to every operation and reclaimed
// as soon as a lookup meets it.
//
// Update = read phase (look up each key, touch and pin it), the caller's fn, a memory check
// (estimate the bytes the decisions add, evict unpinned LRU keys until they fit, or fail with
// OOM having written nothing), then the writes in order. The memory estimate is an upper bound:
// duplicated keys and resizes are counted pessimistically, so used_memory() never ends above
// max_memory because of a write.
//
// Memory accounting is kept in item_bytes_ (node + key, value capacity, malloc rounding) and
// computed from the bucket arrays and the heap on demand; it returns to 0 when the store is
// emptied by Flush, and to a few hundred bytes when emptied key by key.

#include "drivers/array_store.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "common/errors.h"

namespace arvel::drivers {

namespace {

// What glibc malloc hands out for a request of `n` bytes: 8 bytes of header, 16-byte rounding,
// 32 bytes minimum.
constexpr size_t MallocSize(size_t n) { return std::max<size_t>(32, (n + 8 + 15) & ~size_t{15}); }

size_t ValueBytes(const std::string& value) {
  static const size_t kInlineCapacity = std::string().capacity();
  return value.capacity() > kInlineCapacity ? MallocSize(value.capacity() + 1) : 0;
}

size_t NodeBytes(size_t key_size, const std::string& value) {
  return MallocSize(sizeof(Node) + key_size) + ValueBytes(value);
}

size_t NodeBytes(const Node* node) { return NodeBytes(node->key_size, node->entry.value); }

// A value built with a generous reserve would be charged (and hold) far more than its size.
void TrimSlack(std::string& value) {
  if (value.capacity() > value.size() + value.size() / 4 + 64) value.shrink_to_fit();
}

bool IsPast(int64_t expire_at_ms, int64_t now) { return expire_at_ms != 0 && expire_at_ms <= now; }

bool CountsHits(Space space) { return space == Space::kData || space == Space::kTagged; }

// Per-call scratch space that stays on the stack for the common single-key call.
template <typename T>
class Scratch {
 public:
  explicit Scratch(size_t size) : size_(size) {
    if (size > 1) many_.resize(size);
  }
  T& operator[](size_t i) { return size_ > 1 ? many_[i] : one_; }
  std::span<T> span() { return size_ > 1 ? std::span<T>(many_) : std::span<T>(&one_, size_); }

 private:
  size_t size_;
  T one_{};
  std::vector<T> many_;
};

using SteadyClock = std::chrono::steady_clock;
constexpr auto kTickBudget = std::chrono::milliseconds(10);
constexpr size_t kRehashBucketsPerStep = 128;

}  // namespace

// Reads the clock at most once per call, and only if some key has an expiry: one `now` per
// call also means a key cannot be live for one lookup and expired for the next.
class ArrayStore::LazyClock {
 public:
  explicit LazyClock(const std::function<int64_t()>& clock) : clock_(clock) {}
  int64_t now() {
    if (!known_) {
      now_ = clock_();
      known_ = true;
    }
    return now_;
  }

 private:
  const std::function<int64_t()>& clock_;
  int64_t now_ = 0;
  bool known_ = false;
};

ArrayStore::ArrayStore(std::string name, ArrayStoreOptions options)
    : Store(std::move(name), "array"),
      max_memory_(options.max_memory),
      lru_enabled_(options.max_memory != 0),
      clock_(options.clock ? std::move(options.clock) : std::function<int64_t()>(NowMs)),
      rng_(static_cast<uint64_t>(NowMs()) ^ reinterpret_cast<uintptr_t>(this)),
      // Not clock_(): a subclass's clock may not exist yet (FakeStore).
      access_clock_s_(static_cast<uint32_t>(NowMs() / 1000)),
      expiry_base_ms_(NowMs()) {}

ArrayStore::~ArrayStore() { DestroyAll(); }

void ArrayStore::Read(Space space, std::span<const std::string_view> keys, ReadFn done) {
  Scratch<const Entry*> entries(keys.size());
  LazyClock now(clock_);
  for (size_t i = 0; i < keys.size(); ++i) {
    Node* node = FindLive(space, keys[i], HashKey(keys[i]), now, /*reclaim=*/false);
    if (node != nullptr) Touch(node);
    entries[i] = node != nullptr ? &node->entry : nullptr;
    if (CountsHits(space)) ++(node != nullptr ? stats_.hits : stats_.misses);
  }
  done(Status::Ok(), entries.span());
  NotifyExpired();
}

void ArrayStore::Update(Space space, std::span<const std::string_view> keys, UpdateFn fn,
                        DoneFn done) {
  const size_t n = keys.size();
  Scratch<KeyUpdate> updates(n);
  Scratch<KeyState> states(n);
  LazyClock clock(clock_);
  const int64_t now = clock.now();
  size_t pinned_bytes = 0;  // evictable bytes this call holds on to
  for (size_t i = 0; i < n; ++i) {
    KeyState& state = states[i];
    state.hash = HashKey(keys[i]);
    state.node = FindLive(space, keys[i], state.hash, clock, /*reclaim=*/true);
    updates[i].key = keys[i];
    if (state.node == nullptr) continue;
    updates[i].current = &state.node->entry;
    Touch(state.node);
    if (max_memory_ != 0 && (state.node->flags & Node::kPinned) == 0) {
      state.node->flags |= Node::kPinned;
      if (InLru(state.node)) pinned_bytes += NodeBytes(state.node);
    }
  }
  fn(updates.span(), now);
  // Trim before estimating: a value grown from a copy of the old one (APPEND, SETRANGE) has
  // room for about twice its size, and charging that would stop one string at half the limit.
  for (KeyUpdate& update : updates.span()) {
    if (update.action == KeyUpdate::Action::kPut) TrimSlack(update.value);
  }
  if (max_memory_ != 0) {
    Status room = MakeRoom(space, updates.span(), states.span(), pinned_bytes, now);
    if (!room.ok()) {
      NotifyExpired();
      done(room);
      return;
    }
  }
  const size_t size_before = table(space).size();
  for (size_t i = 0; i < n; ++i) {
    states[i].changed = Apply(space, updates[i], states[i], n == 1, now);
  }
  if (table(space).size() < size_before) MaybeShrink(space);
  // Observers may call back into the store: notify only once every write is in place.
  for (size_t i = 0; i < n; ++i) {
    if (!states[i].changed) continue;
    ++stats_.writes;
    KeyWritten(space, keys[i]);
  }
  NotifyExpired();
  done(Status::Ok());
}

bool ArrayStore::IsLive(const Node* node, LazyClock& now) {
  return node->entry.expire_at_ms == 0 || node->entry.expire_at_ms > now.now();
}

Node* ArrayStore::FindLive(Space space, std::string_view key, uint64_t hash, LazyClock& now,
                           bool reclaim) {
  Node* node = table(space).Find(key, hash);
  if (node == nullptr || IsLive(node, now)) return node;
  if (reclaim || !expiry_paused_) ReclaimExpired(node);
  return nullptr;
}

Status ArrayStore::MakeRoom(Space space, std::span<const KeyUpdate> updates,
                            std::span<KeyState> states, size_t pinned_bytes, int64_t now) {
  int64_t item_growth = 0;
  size_t inserts = 0;
  size_t pushes = 0;
  for (size_t i = 0; i < updates.size(); ++i) {
    const KeyUpdate& update = updates[i];
    Node* node = states[i].node;
    const bool put = update.action == KeyUpdate::Action::kPut;
    const bool replaces = put || update.action == KeyUpdate::Action::kErase;
    // A key named twice is subtracted once (kCounted) but each of its puts is added.
    if (node != nullptr && replaces && (node->flags & Node::kCounted) == 0) {
      item_growth -= static_cast<int64_t>(NodeBytes(node));
      node->flags |= Node::kCounted;
    }
    if (put) {
      item_growth += static_cast<int64_t>(NodeBytes(update.key.size(), update.value));
      if (node == nullptr) ++inserts;
    }
    if ((put || update.action == KeyUpdate::Action::kExpire) && update.expire_at_ms != 0) ++pushes;
  }
  auto growth = [&] {
    return item_growth + static_cast<int64_t>(table(space).InsertGrowthBytes(inserts) +
                                              heap_.PushGrowthBytes(pushes));
  };
  const auto limit = static_cast<int64_t>(max_memory_);
  // Evicting everything evictable would still not make room: fail before evicting anything.
  // (Bucket arrays only grow here, so the table growth is left out of this lower bound.)
  const auto floor = static_cast<int64_t>(used_memory() - (lru_bytes_ - pinned_bytes));
  bool fits = floor + item_growth + static_cast<int64_t>(heap_.PushGrowthBytes(pushes)) <= limit;
  if (fits && growth() > 0) {
    while (static_cast<int64_t>(used_memory()) + growth() > limit) {
      if (!EvictOne(now)) {
        fits = false;
        break;
      }
    }
  }
  for (const KeyState& state : states) {
    if (state.node != nullptr) state.node->flags &= ~(Node::kPinned | Node::kCounted);
  }
  return fits ? Status::Ok() : Status::Error(std::string(errors::kOom));
}

bool ArrayStore::EvictOne(int64_t now) {
  // A due key is free to take (and pinned nodes are never due: they were live at `now`).
  if (!heap_.empty() && heap_.top()->entry.expire_at_ms <= now) {
    ReclaimExpired(heap_.top());
    return true;
  }
  Node* victim = lru_.back();
  // Pinned nodes were just moved to the front: reaching one means nothing else is left.
  if (victim == nullptr || (victim->flags & Node::kPinned) != 0) return false;
  ++stats_.evictions;
  RemoveNode(victim);
  return true;
}

bool ArrayStore::Apply(Space space, KeyUpdate& update, const KeyState& state, bool reuse_node,
                       int64_t now) {
  if (update.action == KeyUpdate::Action::kKeep) return false;
  Node* node = reuse_node ? state.node : table(space).Find(update.key, state.hash);
  const bool gone = update.action == KeyUpdate::Action::kErase || IsPast(update.expire_at_ms, now);
  if (gone) {
    if (node == nullptr) return false;
    RemoveNode(node);
    OnKeyChanged(space, update.key, update.action, nullptr);
    return true;
  }
  if (update.action == KeyUpdate::Action::kExpire) {
    if (node == nullptr) return false;
    SetExpiry(node, update.expire_at_ms);
  } else if (node != nullptr) {
    SetValue(node, std::move(update.value));
    SetExpiry(node, update.expire_at_ms);
    node->access_s = access_clock_s_;  // a new value is an access, even without touching
  } else {
    node = InsertNode(space, update.key, state.hash, std::move(update.value), update.expire_at_ms);
  }
  OnKeyChanged(space, update.key, update.action, &node->entry);
  return true;
}

Node* ArrayStore::InsertNode(Space space, std::string_view key, uint64_t hash, std::string value,
                             int64_t expire_at_ms) {
  Node* node = CreateNode(space, key, hash);
  node->entry.value = std::move(value);
  TrimSlack(node->entry.value);
  node->entry.expire_at_ms = expire_at_ms;
  node->access_s = access_clock_s_;
  if (expire_at_ms != 0) {
    heap_.Push(node);
    CountExpiry(node, 1);
  }
  if (InLru(node)) lru_.PushFront(node);
  table(space).Insert(node);
  Charge(node);
  return node;
}

void ArrayStore::SetValue(Node* node, std::string value) {
  Discharge(node);
  node->entry.value = std::move(value);
  TrimSlack(node->entry.value);
  Charge(node);
}

void ArrayStore::SetExpiry(Node* node, int64_t expire_at_ms) {
  const int64_t old = node->entry.expire_at_ms;
  if (old == expire_at_ms) return;
  if (old != 0) CountExpiry(node, -1);
  node->entry.expire_at_ms = expire_at_ms;
  if (expire_at_ms != 0) CountExpiry(node, 1);
  if (old == 0 && expire_at_ms != 0) {
    heap_.Push(node);
  } else if (old != 0 && expire_at_ms == 0) {
    heap_.Remove(node);
  } else {
    heap_.Fix(node);
  }
}

void ArrayStore::CountExpiry(const Node* node, int sign) {
  if (node->space != Space::kData) return;
  data_expires_ += sign;
  data_expiry_sum_ms_ += sign * (node->entry.expire_at_ms - expiry_base_ms_);
}

void ArrayStore::Charge(const Node* node) {
  const size_t bytes = NodeBytes(node);
  item_bytes_ += bytes;
  if (InLru(node)) lru_bytes_ += bytes;
}

void ArrayStore::Discharge(const Node* node) {
  const size_t bytes = NodeBytes(node);
  item_bytes_ -= bytes;
  if (InLru(node)) lru_bytes_ -= bytes;
}

void ArrayStore::RemoveNode(Node* node) {
  table(node->space).Remove(node);
  if (InLru(node)) lru_.Remove(node);
  if (node->heap_index != Node::kNotInHeap) {
    heap_.Remove(node);
    CountExpiry(node, -1);
  }
  Discharge(node);
  DestroyNode(node);
}

void ArrayStore::ReclaimExpired(Node* node) {
  ++stats_.expired;
  expired_.emplace_back(node->space, node->key());
  RemoveNode(node);
}

void ArrayStore::NotifyExpired() {
  if (expired_.empty()) return;
  // Observers may expire more keys (they may read): take the list first.
  std::vector<std::pair<Space, std::string>> expired = std::move(expired_);
  expired_.clear();
  for (const auto& [space, key] : expired) KeyWritten(space, key);
}

void ArrayStore::MaybeShrink(Space space) {
  const size_t bytes = table(space).ShrinkBytes();
  if (bytes == 0) return;
  // During a shrink both arrays exist; don't let that push used_memory over the limit.
  if (max_memory_ != 0 && used_memory() + bytes > max_memory_) return;
  table(space).MaybeShrink();
}

void ArrayStore::Scan(uint64_t cursor, size_t count, ScanFn done) {
  ScanSpace(Space::kData, cursor, count, std::move(done));
}

void ArrayStore::ScanSpace(Space space, uint64_t cursor, size_t count, ScanFn done) {
  std::vector<std::string> keys;
  const size_t wanted = std::max<size_t>(count, 1);
  // Like Redis, bound the buckets visited so a sparse table cannot make one call walk it all.
  size_t visits = wanted > SIZE_MAX / 10 ? SIZE_MAX : wanted * 10;
  LazyClock now(clock_);
  auto collect = [&](const Node* node) {
    if (IsLive(node, now)) keys.emplace_back(node->key());
  };
  do {
    cursor = table(space).Scan(cursor, collect);
  } while (cursor != 0 && keys.size() < wanted && --visits > 0);
  done(Status::Ok(), cursor, std::move(keys));
}

void ArrayStore::Count(CountFn done) {
  done(Status::Ok(), static_cast<int64_t>(table(Space::kData).size()));
}

void ArrayStore::RandomKey(KeyFn done) {
  LazyClock now(clock_);
  const Node* node = table(Space::kData).RandomNode(rng_, [&](const Node* candidate) {
    return IsLive(candidate, now);
  });
  if (node == nullptr) {
    done(Status::Ok(), std::nullopt);
    return;
  }
  done(Status::Ok(), std::string(node->key()));
}

void ArrayStore::Prefetch(std::span<const std::string_view> keys) {
  const KeyTable& data = table(Space::kData);
  if (data.size() == 0) return;
  uint64_t hashes[kMaxPrefetch];
  const size_t n = std::min(keys.size(), kMaxPrefetch);
  for (size_t i = 0; i < n; ++i) {
    hashes[i] = HashKey(keys[i]);
    data.PrefetchBucket(hashes[i]);
  }
  for (size_t i = 0; i < n; ++i) data.PrefetchChain(hashes[i]);
}

void ArrayStore::Inspect(std::string_view key, InspectFn done) {
  LazyClock now(clock_);
  const Node* node = FindLive(Space::kData, key, HashKey(key), now, /*reclaim=*/false);
  KeyFacts facts;
  if (node != nullptr) {
    facts.idle_s = std::max<int64_t>(0, int64_t{access_clock_s_} - node->access_s);
    facts.bytes = NodeBytes(node) + sizeof(Node*);
  }
  done(Status::Ok(), node != nullptr ? &node->entry : nullptr, facts);
  NotifyExpired();
}

void ArrayStore::Flush(DoneFn done) {
  // O(keys) on the loop thread, like a synchronous FLUSHALL.
  DestroyAll();
  for (KeyTable& t : tables_) t.Clear();
  lru_.Clear();
  heap_.Clear();
  item_bytes_ = 0;
  lru_bytes_ = 0;
  data_expires_ = 0;
  data_expiry_sum_ms_ = 0;
  expired_.clear();  // the flush tells of every key
  AllKeysWritten();
  done(Status::Ok());
}

void ArrayStore::DestroyAll() {
  for (KeyTable& t : tables_) t.ForEachNode([](Node* node) { DestroyNode(node); });
}

void ArrayStore::Tick(int64_t now_ms) {
  access_clock_s_ = static_cast<uint32_t>(now_ms / 1000);
  const auto deadline = SteadyClock::now() + kTickBudget;
  size_t reclaimed = 0;
  while (!expiry_paused_ && reclaimed < kMaxExpiredPerTick && !heap_.empty() &&
         heap_.top()->entry.expire_at_ms <= now_ms) {
    ReclaimExpired(heap_.top());
    // Reading the clock costs about as much as reclaiming a key: look only now and then.
    if (++reclaimed % 64 == 0 && SteadyClock::now() >= deadline) break;
  }
  for (size_t i = 0; i < kSpaceCount; ++i) {
    MaybeShrink(static_cast<Space>(i));
    while (tables_[i].Rehash(kRehashBucketsPerStep) && SteadyClock::now() < deadline) {
    }
  }
  heap_.ShrinkIfSparse();
  NotifyExpired();
}

size_t ArrayStore::used_memory() const {
  size_t bytes = item_bytes_ + heap_.bytes();
  for (const KeyTable& t : tables_) bytes += t.bucket_bytes();
  return bytes;
}

std::optional<ExpiryStats> ArrayStore::expiry_stats() const {
  ExpiryStats stats;
  stats.expires = data_expires_;
  if (data_expires_ > 0) {
    const int64_t remaining = expiry_base_ms_ + data_expiry_sum_ms_ / data_expires_ - clock_();
    stats.avg_ttl_ms = std::max<int64_t>(remaining, 0);
  }
  return stats;
}

int64_t ArrayStore::approximate_keys() const {
  size_t keys = 0;
  for (const KeyTable& t : tables_) keys += t.size();
  return static_cast<int64_t>(keys);
}

}  // namespace arvel::drivers
