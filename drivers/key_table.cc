#include "drivers/key_table.h"

#include <absl/hash/hash.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace arvel::drivers {

namespace {

uint64_t ReverseBits(uint64_t v) {
  v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
  v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
  v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
  return __builtin_bswap64(v);
}

// A shrunk table starts at load factor <= 1/2, far from both the grow and the shrink threshold.
size_t ShrinkTarget(size_t size) {
  size_t count = KeyTable::kMinBuckets;
  while (count < size * 2) count *= 2;
  return count;
}

// Shrink when fewer than one bucket in kSparseFactor holds a key.
constexpr size_t kSparseFactor = 8;
// A rehash step gives up after this many empty buckets per bucket it was asked to move, so an
// operation never pays for walking a long empty stretch of a drained array.
constexpr size_t kEmptyVisitsPerBucket = 10;

}  // namespace

Node* CreateNode(Space space, std::string_view key, uint64_t hash) {
  void* memory = ::operator new(sizeof(Node) + key.size());
  Node* node = new (memory) Node;
  node->hash = hash;
  node->key_size = static_cast<uint32_t>(key.size());
  node->space = space;
  if (!key.empty()) std::memcpy(reinterpret_cast<char*>(node + 1), key.data(), key.size());
  return node;
}

void DestroyNode(Node* node) {
  node->~Node();
  ::operator delete(static_cast<void*>(node));
}

uint64_t HashKey(std::string_view key) { return absl::Hash<std::string_view>{}(key); }

uint64_t SplitMix64::Next() {
  state_ += 0x9E3779B97F4A7C15ULL;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

size_t KeyTable::bucket_bytes() const {
  return (tables_[0].count + tables_[1].count) * sizeof(Node*);
}

KeyTable::Buckets KeyTable::Allocate(size_t count) {
  Buckets buckets;
  buckets.slots.reset(new Node*[count]());
  buckets.count = count;
  buckets.mask = count - 1;
  return buckets;
}

// Reverse-binary increment: the bits outside `mask` are set so the carry runs through them, and
// the masked bits are incremented from their most significant end.
uint64_t KeyTable::NextCursor(uint64_t cursor, uint64_t mask) {
  cursor |= ~mask;
  cursor = ReverseBits(cursor);
  ++cursor;
  return ReverseBits(cursor);
}

// A node lives in the old array's bucket until that bucket is moved, so every operation looks
// in exactly one chain (inserts during a resize follow the same rule).
Node** KeyTable::SlotFor(uint64_t hash, Buckets** table) {
  Buckets* t = &tables_[0];
  size_t index = hash & t->mask;
  if (rehashing() && index < rehash_index_) {
    t = &tables_[1];
    index = hash & t->mask;
  }
  *table = t;
  return &t->slots[index];
}

Node* KeyTable::BucketAt(size_t index) const {
  if (index < tables_[0].count) return tables_[0].slots[index];
  return tables_[1].slots[index - tables_[0].count];
}

void KeyTable::PrefetchBucket(uint64_t hash) const {
  for (const Buckets& t : tables_) {
    if (t.count != 0) __builtin_prefetch(&t.slots[hash & t.mask]);
  }
}

void KeyTable::PrefetchChain(uint64_t hash) const {
  for (const Buckets& t : tables_) {
    if (t.count != 0) __builtin_prefetch(t.slots[hash & t.mask]);
  }
}

Node* KeyTable::Find(std::string_view key, uint64_t hash) {
  if (size() == 0) return nullptr;
  if (rehashing()) Rehash(1);
  Buckets* table;
  for (Node* node = *SlotFor(hash, &table); node != nullptr; node = node->chain_next) {
    if (node->hash == hash && node->key() == key) return node;
  }
  return nullptr;
}

void KeyTable::Insert(Node* node) {
  if (tables_[0].count == 0) {
    tables_[0] = Allocate(kMinBuckets);
  } else if (rehashing()) {
    Rehash(1);
  } else if (size() >= tables_[0].count) {
    StartResize(tables_[0].count * 2);
  }
  Buckets* table;
  Node** slot = SlotFor(node->hash, &table);
  node->chain_next = *slot;
  *slot = node;
  ++table->used;
}

void KeyTable::Remove(Node* node) {
  Buckets* table;
  Node** link = SlotFor(node->hash, &table);
  while (*link != node) link = &(*link)->chain_next;
  *link = node->chain_next;
  node->chain_next = nullptr;
  --table->used;
  if (size() == 0) {
    Clear();  // an empty table holds no memory (a malloc on the next insert is cheap)
  } else if (rehashing()) {
    Rehash(1);
  }
}

size_t KeyTable::InsertGrowthBytes(size_t inserts) const {
  size_t count = std::max(tables_[0].count, tables_[1].count);
  size_t bytes = 0;
  if (count == 0) {
    count = kMinBuckets;
    bytes += count * sizeof(Node*);
  }
  while (size() + inserts > count) {
    count *= 2;
    bytes += count * sizeof(Node*);
  }
  return bytes;
}

size_t KeyTable::ShrinkBytes() const {
  if (rehashing() || tables_[0].count <= kMinBuckets) return 0;
  if (size() * kSparseFactor >= tables_[0].count) return 0;
  return ShrinkTarget(size()) * sizeof(Node*);
}

bool KeyTable::MaybeShrink() {
  if (ShrinkBytes() == 0) return false;
  StartResize(ShrinkTarget(size()));
  return true;
}

void KeyTable::StartResize(size_t count) {
  tables_[1] = Allocate(count);
  rehash_index_ = 0;
  FinishResizeIfDrained();
}

void KeyTable::FinishResizeIfDrained() {
  if (!rehashing() || tables_[0].used != 0) return;
  tables_[0] = std::move(tables_[1]);
  tables_[1] = Buckets();
  rehash_index_ = 0;
}

bool KeyTable::Rehash(size_t buckets) {
  if (!rehashing()) return false;
  Buckets& from = tables_[0];
  Buckets& to = tables_[1];
  size_t empty_visits = buckets * kEmptyVisitsPerBucket;
  while (buckets > 0 && from.used > 0 && rehash_index_ < from.count) {
    Node* node = from.slots[rehash_index_];
    from.slots[rehash_index_] = nullptr;
    ++rehash_index_;
    if (node == nullptr) {
      if (--empty_visits == 0) break;
      continue;
    }
    --buckets;
    while (node != nullptr) {
      Node* next = node->chain_next;
      Node*& head = to.slots[node->hash & to.mask];
      node->chain_next = head;
      head = node;
      --from.used;
      ++to.used;
      node = next;
    }
  }
  FinishResizeIfDrained();
  return rehashing();
}

void KeyTable::Clear() {
  tables_[0] = Buckets();
  tables_[1] = Buckets();
  rehash_index_ = 0;
}

}  // namespace arvel::drivers
