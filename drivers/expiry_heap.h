#pragma once
// ExpiryHeap: a binary min-heap of the nodes that have an expiry, ordered by expire_at_ms.
//
// Each node stores its own position (Node::heap_index), so removing a key or changing its TTL
// is O(log n) without searching, and the earliest deadline is always at the top: active expiry
// pops exactly the keys that are due, never scans live ones. The array's capacity is managed
// explicitly so its memory can be predicted (for max_memory) and given back when it empties.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "drivers/key_table.h"

namespace arvel::drivers {

class ExpiryHeap {
 public:
  size_t size() const { return nodes_.size(); }
  bool empty() const { return nodes_.empty(); }
  // REQUIRES: !empty().
  Node* top() const { return nodes_.front(); }
  size_t bytes() const { return nodes_.capacity() * sizeof(Node*); }

  // REQUIRES: node->entry.expire_at_ms != 0 and the node is not in the heap.
  void Push(Node* node);
  // REQUIRES: the node is in the heap. Leaves node->heap_index == Node::kNotInHeap. Frees the
  // array when the heap becomes empty.
  void Remove(Node* node);
  // Restores the order after node->entry.expire_at_ms changed (to another non-zero value).
  void Fix(Node* node);

  // Upper bound of the bytes pushing `pushes` more nodes may allocate.
  size_t PushGrowthBytes(size_t pushes) const;
  // Gives memory back once the heap is mostly empty.
  void ShrinkIfSparse();
  // Forgets every node (their heap_index is left stale: callers destroy them) and frees memory.
  void Clear();

 private:
  static constexpr size_t kMinCapacity = 16;

  static bool Before(const Node* a, const Node* b) {
    return a->entry.expire_at_ms < b->entry.expire_at_ms;
  }
  void Place(size_t index, Node* node) {
    nodes_[index] = node;
    node->heap_index = static_cast<uint32_t>(index);
  }
  void SiftUp(size_t index);
  void SiftDown(size_t index);

  std::vector<Node*> nodes_;
};

}  // namespace arvel::drivers
