#pragma once
// Node and KeyTable: the hash table under the array store.
//
// Design. Every key lives in one heap-allocated Node that carries the key bytes right after the
// struct (one allocation per key besides the value's own buffer), its Entry, the links of the
// LRU list and its slot in the expiry heap. Every structure that refers to a key is intrusive,
// so nodes never move, `const Entry*` handed to callers stays valid until the key is removed,
// and removing a key from the LRU list or the heap needs no extra lookup.
//
// KeyTable chains nodes in a power-of-two array of buckets indexed by the low bits of the key's
// hash (stored in the node, so resizing never rehashes key bytes). It grows at load factor 1 and
// shrinks when sparse, incrementally: during a resize two arrays exist, and each operation
// moves one bucket from the old array to the new one (Tick moves many), so no single command
// pays for moving millions of keys.
//
// Scan uses the reverse-binary cursor (the idea behind Redis's dictScan): the cursor counts
// bucket indexes with the bit order reversed, so when the array doubles, bucket i splits into i
// and i + size, which sit next to each other in reversed order and both come after every
// bucket already visited; when it halves, the pair merges into a bucket not yet visited. Hence a
// full iteration returns every key present throughout at least once, whatever resizes happen
// between calls (a key may be returned twice after a shrink). While both arrays exist, a step
// visits the small array's bucket and every bucket of the large one that it expands to.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

#include "drivers/store.h"

namespace arvel::drivers {

struct Node {
  static constexpr uint32_t kNotInHeap = UINT32_MAX;
  // Flags used by the array store while an Update holds a node.
  static constexpr uint8_t kPinned = 1;   // must not be evicted
  static constexpr uint8_t kCounted = 2;  // its size is already in the memory estimate

  Node* chain_next = nullptr;  // next node in the same bucket
  Node* lru_prev = nullptr;    // towards the most recently used end
  Node* lru_next = nullptr;    // towards the least recently used end
  uint64_t hash = 0;
  Entry entry;
  uint32_t heap_index = kNotInHeap;
  uint32_t key_size = 0;
  Space space = Space::kData;
  uint8_t flags = 0;
  // Unix seconds of the last access (OBJECT IDLETIME); fits in the struct's padding.
  uint32_t access_s = 0;

  // The key bytes are stored right after the struct, in the same allocation.
  std::string_view key() const { return {reinterpret_cast<const char*>(this + 1), key_size}; }
};

// Allocates a node holding a copy of `key` (and nothing else yet). Free with DestroyNode.
Node* CreateNode(Space space, std::string_view key, uint64_t hash);
void DestroyNode(Node* node);

// The hash every table uses for keys (seeded per process, so bucket order is unpredictable).
uint64_t HashKey(std::string_view key);

// A small, fast pseudo-random generator (SplitMix64); enough for picking random buckets.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next();

 private:
  uint64_t state_;
};

// An intrusive chained hash table of nodes. It does not own the nodes: the caller allocates
// them, inserts them, removes them and destroys them. Not thread-safe (loop thread only).
class KeyTable {
 public:
  static constexpr size_t kMinBuckets = 4;

  KeyTable() = default;
  KeyTable(const KeyTable&) = delete;
  KeyTable& operator=(const KeyTable&) = delete;

  size_t size() const { return tables_[0].used + tables_[1].used; }
  bool rehashing() const { return tables_[1].count != 0; }
  // Bytes held by the bucket arrays (both, during a resize).
  size_t bucket_bytes() const;

  // Cache hints for a lookup coming soon: the bucket slot of `hash`, then (once that slot is
  // loaded) the first node of its chain. Read-only.
  void PrefetchBucket(uint64_t hash) const;
  void PrefetchChain(uint64_t hash) const;

  // The node holding `key` (whose hash is `hash`), or nullptr. Advances a resize by one bucket.
  Node* Find(std::string_view key, uint64_t hash);
  // REQUIRES: no node with the same key is in the table; node->hash == HashKey(key).
  void Insert(Node* node);
  // REQUIRES: `node` is in this table. Never allocates (safe while evicting under a limit);
  // frees the bucket arrays when the table becomes empty.
  void Remove(Node* node);

  // Upper bound of the bucket-array bytes that inserting `inserts` new keys may allocate.
  size_t InsertGrowthBytes(size_t inserts) const;
  // Bytes a shrink would allocate now, 0 if the table is not sparse enough to shrink.
  size_t ShrinkBytes() const;
  // Starts shrinking the bucket array if the table is sparse. Returns whether it did.
  bool MaybeShrink();
  // Moves up to `buckets` non-empty buckets of a resize in progress. Returns whether a resize is
  // still in progress afterwards.
  bool Rehash(size_t buckets);

  // Visits the nodes of the bucket(s) `cursor` designates and returns the next cursor, 0 when
  // the iteration is complete. `visit(const Node*)` must not modify the table.
  template <typename Visit>
  uint64_t Scan(uint64_t cursor, Visit&& visit) const;

  // A random node for which `accept(const Node*)` holds, or nullptr if there is none. Tries a
  // bounded number of random buckets, then walks the table from a random bucket.
  template <typename Accept>
  Node* RandomNode(SplitMix64& rng, Accept&& accept) const;

  // Calls `fn(Node*)` for every node; `fn` may destroy the node (but not touch the table).
  template <typename Fn>
  void ForEachNode(Fn&& fn);
  // Forgets every node (without destroying them) and frees the bucket arrays.
  void Clear();

 private:
  struct Buckets {
    std::unique_ptr<Node*[]> slots;
    size_t count = 0;  // number of buckets, a power of two (or 0 before the first insert)
    size_t mask = 0;   // count - 1
    size_t used = 0;   // nodes chained in this array
  };

  static Buckets Allocate(size_t count);
  static uint64_t NextCursor(uint64_t cursor, uint64_t mask);
  template <typename Visit>
  static void VisitChain(const Node* head, Visit& visit);

  // The slot (head pointer) of the bucket that holds, or would hold, a node with this hash,
  // and the array it belongs to.
  Node** SlotFor(uint64_t hash, Buckets** table);
  Node* BucketAt(size_t index) const;  // index over both arrays: [0, c0 + c1)
  void StartResize(size_t count);
  void FinishResizeIfDrained();

  // tables_[0] is the live array; during a resize it is being drained into tables_[1]; its
  // buckets below rehash_index_ are already empty.
  Buckets tables_[2];
  size_t rehash_index_ = 0;
};

template <typename Visit>
void KeyTable::VisitChain(const Node* head, Visit& visit) {
  for (const Node* node = head; node != nullptr; node = node->chain_next) visit(node);
}

template <typename Visit>
uint64_t KeyTable::Scan(uint64_t cursor, Visit&& visit) const {
  if (size() == 0) return 0;
  if (!rehashing()) {
    VisitChain(tables_[0].slots[cursor & tables_[0].mask], visit);
    return NextCursor(cursor, tables_[0].mask);
  }
  const Buckets* small = &tables_[0];
  const Buckets* large = &tables_[1];
  if (small->count > large->count) std::swap(small, large);
  VisitChain(small->slots[cursor & small->mask], visit);
  // The large array's buckets that expand the small one's: same low bits, every value of the
  // extra high bits. Counting those in reversed order ends with the carry in the small mask's
  // bits, i.e. exactly at the small array's next cursor.
  do {
    VisitChain(large->slots[cursor & large->mask], visit);
    cursor = NextCursor(cursor, large->mask);
  } while ((cursor & (small->mask ^ large->mask)) != 0);
  return cursor;
}

template <typename Accept>
Node* KeyTable::RandomNode(SplitMix64& rng, Accept&& accept) const {
  if (size() == 0) return nullptr;
  // Buckets below rehash_index_ of the old array are empty: skip them.
  const size_t first = rehashing() ? rehash_index_ : 0;
  const size_t total = tables_[0].count + tables_[1].count;
  constexpr int kTries = 64;
  for (int i = 0; i < kTries; ++i) {
    Node* head = BucketAt(first + rng.Next() % (total - first));
    size_t length = 0;
    for (Node* node = head; node != nullptr; node = node->chain_next) ++length;
    if (length == 0) continue;
    Node* node = head;
    for (size_t skip = rng.Next() % length; skip > 0; --skip) node = node->chain_next;
    if (accept(static_cast<const Node*>(node))) return node;
  }
  // Sparse or mostly rejected: walk every bucket once, from a random start.
  const size_t start = rng.Next() % total;
  for (size_t step = 0; step < total; ++step) {
    for (Node* node = BucketAt((start + step) % total); node != nullptr; node = node->chain_next) {
      if (accept(static_cast<const Node*>(node))) return node;
    }
  }
  return nullptr;
}

template <typename Fn>
void KeyTable::ForEachNode(Fn&& fn) {
  for (Buckets& table : tables_) {
    for (size_t i = 0; i < table.count; ++i) {
      Node* node = table.slots[i];
      while (node != nullptr) {
        Node* next = node->chain_next;
        fn(node);
        node = next;
      }
    }
  }
}

}  // namespace arvel::drivers
