#include "drivers/expiry_heap.h"

#include <algorithm>

namespace arvel::drivers {

void ExpiryHeap::Push(Node* node) {
  if (nodes_.size() == nodes_.capacity()) {
    nodes_.reserve(std::max(kMinCapacity, nodes_.capacity() * 2));
  }
  nodes_.push_back(node);
  Place(nodes_.size() - 1, node);
  SiftUp(nodes_.size() - 1);
}

void ExpiryHeap::Remove(Node* node) {
  const size_t index = node->heap_index;
  Node* last = nodes_.back();
  nodes_.pop_back();
  node->heap_index = Node::kNotInHeap;
  if (nodes_.empty()) {
    Clear();  // an empty heap holds no memory
    return;
  }
  if (last == node) return;
  Place(index, last);
  Fix(last);
}

void ExpiryHeap::Fix(Node* node) {
  const size_t index = node->heap_index;
  if (index > 0 && Before(node, nodes_[(index - 1) / 2])) {
    SiftUp(index);
  } else {
    SiftDown(index);
  }
}

void ExpiryHeap::SiftUp(size_t index) {
  Node* node = nodes_[index];
  while (index > 0) {
    const size_t parent = (index - 1) / 2;
    if (!Before(node, nodes_[parent])) break;
    Place(index, nodes_[parent]);
    index = parent;
  }
  Place(index, node);
}

void ExpiryHeap::SiftDown(size_t index) {
  Node* node = nodes_[index];
  const size_t count = nodes_.size();
  while (true) {
    size_t child = 2 * index + 1;
    if (child >= count) break;
    if (child + 1 < count && Before(nodes_[child + 1], nodes_[child])) ++child;
    if (!Before(nodes_[child], node)) break;
    Place(index, nodes_[child]);
    index = child;
  }
  Place(index, node);
}

size_t ExpiryHeap::PushGrowthBytes(size_t pushes) const {
  size_t capacity = nodes_.capacity();
  size_t bytes = 0;
  while (nodes_.size() + pushes > capacity) {
    capacity = std::max(kMinCapacity, capacity * 2);
    bytes += capacity * sizeof(Node*);  // the old array is freed only after the copy
  }
  return bytes;
}

void ExpiryHeap::ShrinkIfSparse() {
  if (nodes_.capacity() <= kMinCapacity || nodes_.size() * 4 > nodes_.capacity()) return;
  if (nodes_.empty()) {
    std::vector<Node*>().swap(nodes_);
    return;
  }
  std::vector<Node*> smaller;
  smaller.reserve(std::max(kMinCapacity, nodes_.size() * 2));
  smaller.assign(nodes_.begin(), nodes_.end());
  nodes_.swap(smaller);
}

void ExpiryHeap::Clear() { std::vector<Node*>().swap(nodes_); }

}  // namespace arvel::drivers
