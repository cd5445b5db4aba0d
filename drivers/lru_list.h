#pragma once
// LruList: an intrusive doubly-linked recency list threaded through Node::lru_prev/lru_next.
// Front = most recently used, back = the next eviction victim. Every operation is O(1) and
// allocation-free, so touching a key on each read costs a few pointer writes.

#include "drivers/key_table.h"

namespace arvel::drivers {

class LruList {
 public:
  bool empty() const { return front_ == nullptr; }
  Node* back() const { return back_; }

  // REQUIRES: the node is not in the list.
  void PushFront(Node* node) {
    node->lru_prev = nullptr;
    node->lru_next = front_;
    if (front_ != nullptr) front_->lru_prev = node;
    front_ = node;
    if (back_ == nullptr) back_ = node;
  }

  // REQUIRES: the node is in the list.
  void Remove(Node* node) {
    if (node->lru_prev != nullptr) {
      node->lru_prev->lru_next = node->lru_next;
    } else {
      front_ = node->lru_next;
    }
    if (node->lru_next != nullptr) {
      node->lru_next->lru_prev = node->lru_prev;
    } else {
      back_ = node->lru_prev;
    }
    node->lru_prev = node->lru_next = nullptr;
  }

  // REQUIRES: the node is in the list.
  void MoveToFront(Node* node) {
    if (node == front_) return;
    Remove(node);
    PushFront(node);
  }

  // Forgets every node (the caller destroys them).
  void Clear() { front_ = back_ = nullptr; }

 private:
  Node* front_ = nullptr;
  Node* back_ = nullptr;
};

}  // namespace arvel::drivers
