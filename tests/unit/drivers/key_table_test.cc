// KeyTable (incremental resize, reverse-binary Scan, RandomNode) and ExpiryHeap, tested
// directly, below the store.

#include "drivers/key_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "drivers/expiry_heap.h"

namespace arvel::drivers {
namespace {

// Owns the nodes it puts in the table.
class TableHarness {
 public:
  ~TableHarness() {
    table.Clear();
    for (auto& [key, node] : nodes) DestroyNode(node);
  }
  void Insert(const std::string& key) {
    Node* node = CreateNode(Space::kData, key, HashKey(key));
    table.Insert(node);
    nodes[key] = node;
  }
  void Remove(const std::string& key) {
    Node* node = nodes.at(key);
    table.Remove(node);
    DestroyNode(node);
    nodes.erase(key);
  }
  Node* Find(const std::string& key) { return table.Find(key, HashKey(key)); }
  void FinishResize() {
    while (table.Rehash(1000)) {
    }
  }

  KeyTable table;
  std::map<std::string, Node*> nodes;
};

std::string Key(int i) { return "key:" + std::to_string(i); }

TEST(KeyTableTest, EmptyTableHoldsNoMemoryAndFindsNothing) {
  TableHarness h;
  EXPECT_EQ(h.table.bucket_bytes(), 0u);
  EXPECT_EQ(h.Find("x"), nullptr);
  h.Insert("x");
  EXPECT_EQ(h.table.bucket_bytes(), KeyTable::kMinBuckets * sizeof(Node*));
  h.Remove("x");
  EXPECT_EQ(h.table.bucket_bytes(), 0u);
  EXPECT_EQ(h.table.size(), 0u);
}

TEST(KeyTableTest, NodeKeepsKeyBytesInline) {
  const std::string key("bin\0ary", 7);
  Node* node = CreateNode(Space::kLock, key, 42);
  EXPECT_EQ(node->key(), key);
  EXPECT_EQ(node->space, Space::kLock);
  EXPECT_EQ(node->hash, 42u);
  EXPECT_EQ(node->heap_index, Node::kNotInHeap);
  DestroyNode(node);
}

TEST(KeyTableTest, FindsEveryKeyThroughManyIncrementalResizes) {
  TableHarness h;
  bool saw_resize_in_progress = false;
  for (int i = 0; i < 20000; ++i) {
    h.Insert(Key(i));
    saw_resize_in_progress |= h.table.rehashing();
    if (i % 997 == 0) {
      for (int j = 0; j <= i; j += 7) ASSERT_NE(h.Find(Key(j)), nullptr) << j;
    }
  }
  EXPECT_TRUE(saw_resize_in_progress);
  EXPECT_EQ(h.table.size(), 20000u);
  for (int i = 0; i < 20000; i += 2) h.Remove(Key(i));
  for (int i = 0; i < 20000; ++i) {
    Node* node = h.Find(Key(i));
    if (i % 2 == 0) {
      EXPECT_EQ(node, nullptr) << i;
    } else {
      ASSERT_NE(node, nullptr) << i;
      EXPECT_EQ(node->key(), Key(i));
    }
  }
  EXPECT_EQ(h.Find("key:"), nullptr);
}

TEST(KeyTableTest, GrowsAtLoadFactorOne) {
  TableHarness h;
  for (size_t i = 0; i < KeyTable::kMinBuckets; ++i) h.Insert(Key(i));
  EXPECT_FALSE(h.table.rehashing());
  EXPECT_EQ(h.table.InsertGrowthBytes(0), 0u);
  EXPECT_EQ(h.table.InsertGrowthBytes(1), 2 * KeyTable::kMinBuckets * sizeof(Node*));
  h.Insert("one more");
  EXPECT_EQ(h.table.bucket_bytes(), 3 * KeyTable::kMinBuckets * sizeof(Node*));
  h.FinishResize();
  EXPECT_EQ(h.table.bucket_bytes(), 2 * KeyTable::kMinBuckets * sizeof(Node*));
}

TEST(KeyTableTest, ShrinksWhenSparse) {
  TableHarness h;
  for (int i = 0; i < 4096; ++i) h.Insert(Key(i));
  h.FinishResize();
  const size_t big = h.table.bucket_bytes();
  EXPECT_FALSE(h.table.MaybeShrink());  // dense: nothing to do
  for (int i = 10; i < 4096; ++i) h.Remove(Key(i));
  EXPECT_GT(h.table.ShrinkBytes(), 0u);
  EXPECT_TRUE(h.table.MaybeShrink());
  h.FinishResize();
  EXPECT_LE(h.table.bucket_bytes(), 32 * sizeof(Node*));
  EXPECT_LT(h.table.bucket_bytes(), big);
  for (int i = 0; i < 10; ++i) EXPECT_NE(h.Find(Key(i)), nullptr);
}

std::multiset<std::string> ScanEverything(const KeyTable& table) {
  std::multiset<std::string> seen;
  uint64_t cursor = 0;
  do {
    cursor = table.Scan(cursor, [&](const Node* node) { seen.emplace(node->key()); });
  } while (cursor != 0);
  return seen;
}

TEST(KeyTableTest, ScanWithoutChangesVisitsEveryKeyExactlyOnce) {
  TableHarness h;
  EXPECT_EQ(h.table.Scan(0, [](const Node*) { ADD_FAILURE(); }), 0u);
  for (int i = 0; i < 1000; ++i) h.Insert(Key(i));
  std::multiset<std::string> seen = ScanEverything(h.table);
  EXPECT_EQ(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(seen.count(Key(i)), 1u) << i;
}

TEST(KeyTableTest, ScanInTheMiddleOfAResizeVisitsEveryKeyExactlyOnce) {
  TableHarness h;
  for (int i = 0; i < 1024; ++i) h.Insert(Key(i));
  h.FinishResize();
  h.Insert("trigger");  // starts doubling; only one bucket moved so far
  ASSERT_TRUE(h.table.rehashing());
  h.table.Rehash(100);
  ASSERT_TRUE(h.table.rehashing());
  std::multiset<std::string> seen = ScanEverything(h.table);
  EXPECT_EQ(seen.size(), 1025u);
  for (int i = 0; i < 1024; ++i) EXPECT_EQ(seen.count(Key(i)), 1u) << i;
}

// The core guarantee: keys present for the whole iteration are all returned, while other keys
// come and go and the table grows, shrinks and rehashes between (and during) the steps.
TEST(KeyTableTest, ScanReturnsStableKeysDespiteResizesBetweenSteps) {
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    TableHarness h;
    const int kStable = 300;
    for (int i = 0; i < kStable; ++i) h.Insert("stable:" + std::to_string(i));
    std::vector<std::string> volatile_keys;
    int next = 0;
    std::set<std::string> seen;
    uint64_t cursor = 0;
    int steps = 0;
    bool grew = false, shrank = false;
    size_t max_buckets = 0;
    do {
      cursor = h.table.Scan(cursor, [&](const Node* node) { seen.emplace(node->key()); });
      ++steps;
      // Alternate floods (grow through several sizes) and drains (shrink).
      const bool growing = (steps / 30) % 2 == 0;
      const int changes = static_cast<int>(rng() % 200);
      for (int c = 0; c < changes; ++c) {
        if (growing || volatile_keys.empty() ? rng() % 4 != 0 : rng() % 8 == 0) {
          volatile_keys.push_back("v:" + std::to_string(next++));
          h.Insert(volatile_keys.back());
        } else if (!volatile_keys.empty()) {
          std::swap(volatile_keys[rng() % volatile_keys.size()], volatile_keys.back());
          h.Remove(volatile_keys.back());
          volatile_keys.pop_back();
        }
      }
      if (rng() % 3 == 0) h.table.Rehash(rng() % 50);
      if (h.table.MaybeShrink()) shrank = true;
      max_buckets = std::max(max_buckets, h.table.bucket_bytes());
      grew |= h.table.bucket_bytes() > 1024 * sizeof(Node*);
    } while (cursor != 0 && steps < 100000);
    ASSERT_EQ(cursor, 0u) << "iteration did not finish";
    EXPECT_TRUE(grew);
    EXPECT_TRUE(shrank);
    for (int i = 0; i < kStable; ++i) {
      EXPECT_TRUE(seen.count("stable:" + std::to_string(i))) << "missed stable:" << i;
    }
  }
}

TEST(KeyTableTest, RandomNodeHonoursAcceptAndCoversTheKeys) {
  TableHarness h;
  SplitMix64 rng(7);
  auto any = [](const Node*) { return true; };
  EXPECT_EQ(h.table.RandomNode(rng, any), nullptr);
  for (int i = 0; i < 16; ++i) h.Insert(Key(i));
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) seen.emplace(h.table.RandomNode(rng, any)->key());
  EXPECT_EQ(seen.size(), 16u);
  auto only_seven = [](const Node* node) { return node->key() == "key:7"; };
  for (int i = 0; i < 20; ++i) EXPECT_EQ(h.table.RandomNode(rng, only_seven)->key(), "key:7");
  EXPECT_EQ(h.table.RandomNode(rng, [](const Node*) { return false; }), nullptr);
}

TEST(KeyTableTest, RandomNodeFindsTheOnlyKeyOfASparseTable) {
  TableHarness h;
  SplitMix64 rng(9);
  for (int i = 0; i < 50000; ++i) h.Insert(Key(i));
  h.FinishResize();
  for (int i = 1; i < 50000; ++i) h.Remove(Key(i));  // sparse: no shrink was asked for
  for (int i = 0; i < 5; ++i) {
    Node* node = h.table.RandomNode(rng, [](const Node*) { return true; });
    ASSERT_NE(node, nullptr);
    EXPECT_EQ(node->key(), "key:0");
  }
}

TEST(KeyTableTest, ForEachNodeVisitsAllWhileResizing) {
  TableHarness h;
  for (int i = 0; i < 100; ++i) h.Insert(Key(i));
  size_t visited = 0;
  h.table.ForEachNode([&](Node*) { ++visited; });
  EXPECT_EQ(visited, 100u);
}

class ExpiryHeapTest : public ::testing::Test {
 protected:
  ~ExpiryHeapTest() override {
    heap_.Clear();
    for (Node* node : nodes_) DestroyNode(node);
  }
  Node* Make(int64_t expire_at) {
    Node* node = CreateNode(Space::kData, std::to_string(nodes_.size()), 0);
    node->entry.expire_at_ms = expire_at;
    nodes_.push_back(node);
    return node;
  }
  std::vector<int64_t> Drain() {
    std::vector<int64_t> order;
    while (!heap_.empty()) {
      Node* top = heap_.top();
      order.push_back(top->entry.expire_at_ms);
      heap_.Remove(top);
      EXPECT_EQ(top->heap_index, Node::kNotInHeap);
    }
    return order;
  }
  ExpiryHeap heap_;
  std::vector<Node*> nodes_;
};

TEST_F(ExpiryHeapTest, PopsInDeadlineOrder) {
  std::mt19937 rng(3);
  std::vector<int64_t> deadlines;
  for (int i = 0; i < 1000; ++i) {
    deadlines.push_back(1 + rng() % 500);
    heap_.Push(Make(deadlines.back()));
  }
  std::sort(deadlines.begin(), deadlines.end());
  EXPECT_EQ(Drain(), deadlines);
}

TEST_F(ExpiryHeapTest, RemoveAndFixAnywhereKeepOrder) {
  std::vector<Node*> in_heap;
  for (int i = 0; i < 200; ++i) {
    in_heap.push_back(Make(1000 + i * 3));
    heap_.Push(in_heap.back());
  }
  for (int i = 0; i < 200; i += 5) heap_.Remove(in_heap[i]);
  for (int i = 1; i < 200; i += 5) {
    in_heap[i]->entry.expire_at_ms = (i % 2) ? 1 + i : 5000 + i;  // earlier or later
    heap_.Fix(in_heap[i]);
  }
  std::vector<int64_t> expected;
  for (int i = 0; i < 200; ++i) {
    if (i % 5 != 0) expected.push_back(in_heap[i]->entry.expire_at_ms);
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Drain(), expected);
}

TEST_F(ExpiryHeapTest, PredictsGrowthAndGivesMemoryBack) {
  EXPECT_EQ(heap_.bytes(), 0u);
  EXPECT_GT(heap_.PushGrowthBytes(1), 0u);
  std::vector<Node*> in_heap;
  for (int i = 0; i < 1000; ++i) {
    const size_t before = heap_.bytes();
    const size_t predicted = heap_.PushGrowthBytes(1);
    in_heap.push_back(Make(i + 1));
    heap_.Push(in_heap.back());
    ASSERT_LE(heap_.bytes(), before + predicted);
  }
  for (Node* node : in_heap) heap_.Remove(node);
  heap_.ShrinkIfSparse();
  EXPECT_EQ(heap_.bytes(), 0u);
}

}  // namespace
}  // namespace arvel::drivers
