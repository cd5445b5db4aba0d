// ArrayStore Scan and RandomKey, through the Store interface.

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "drivers/array_store.h"
#include "tests/unit/drivers/store_test_util.h"

namespace arvel::drivers {
namespace {

using testing::Erase;
using testing::FakeClock;
using testing::Put;
using testing::Random;
using testing::ScanAll;
using testing::ScanOnce;
using testing::ScanPage;

class ArrayStoreScanTest : public ::testing::Test {
 protected:
  ArrayStoreOptions Options() {
    ArrayStoreOptions options;
    options.clock = clock_.Function();
    return options;
  }
  void PutKeys(const std::string& prefix, int from, int to) {
    for (int i = from; i < to; ++i) ASSERT_TRUE(Put(store_, prefix + std::to_string(i), "v").ok());
  }
  FakeClock clock_;
  ArrayStore store_{"memory", Options()};
};

TEST_F(ArrayStoreScanTest, EmptyStoreCompletesAtOnce) {
  ScanPage page = ScanOnce(store_, 0, 10);
  EXPECT_EQ(page.cursor, 0u);
  EXPECT_TRUE(page.keys.empty());
}

TEST_F(ArrayStoreScanTest, StableStoreReturnsEveryKeyExactlyOnce) {
  PutKeys("k", 0, 3000);
  for (size_t count : {1, 10, 1000, 100000}) {
    std::vector<std::string> all = ScanAll(store_, count);
    std::multiset<std::string> seen(all.begin(), all.end());
    EXPECT_EQ(seen.size(), 3000u) << count;
    for (int i = 0; i < 3000; ++i) ASSERT_EQ(seen.count("k" + std::to_string(i)), 1u);
  }
}

TEST_F(ArrayStoreScanTest, CountIsAHintOfWorkPerCall) {
  PutKeys("k", 0, 1000);
  int calls = 0;
  uint64_t cursor = 0;
  do {
    ScanPage page = ScanOnce(store_, cursor, 100);
    cursor = page.cursor;
    ++calls;
    if (cursor != 0) {
      EXPECT_GE(page.keys.size(), 100u);
    }
  } while (cursor != 0);
  EXPECT_LE(calls, 11);
  EXPECT_GE(calls, 2);
}

TEST_F(ArrayStoreScanTest, ReturnsKeysPresentThroughoutWhileTheTableGrows) {
  PutKeys("stable:", 0, 500);
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int round = 0;
  do {
    ScanPage page = ScanOnce(store_, cursor, 20);
    seen.insert(page.keys.begin(), page.keys.end());
    cursor = page.cursor;
    // Grows 500 -> tens of thousands of keys (several doublings) during the iteration, slowly
    // enough that the iteration still ends (each call covers ~20/size of the key space).
    PutKeys("new:", round * 100, (round + 1) * 100);
    ++round;
  } while (cursor != 0 && round < 5000);
  ASSERT_EQ(cursor, 0u) << "the iteration does not end";
  EXPECT_GT(store_.approximate_keys(), 4000);
  for (int i = 0; i < 500; ++i) EXPECT_TRUE(seen.count("stable:" + std::to_string(i))) << i;
}

TEST_F(ArrayStoreScanTest, ReturnsKeysPresentThroughoutWhileTheTableShrinks) {
  PutKeys("stable:", 0, 200);
  PutKeys("gone:", 0, 30000);
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int next_delete = 0;
  int calls = 0;
  do {
    ScanPage page = ScanOnce(store_, cursor, 3);
    seen.insert(page.keys.begin(), page.keys.end());
    cursor = page.cursor;
    for (int i = 0; i < 1500 && next_delete < 30000; ++i) {
      ASSERT_TRUE(Erase(store_, "gone:" + std::to_string(next_delete++)).ok());
    }
    store_.Tick(clock_.now_ms);  // moves resizes along
  } while (cursor != 0 && ++calls < 100000);
  ASSERT_EQ(cursor, 0u) << "the iteration does not end";
  EXPECT_EQ(next_delete, 30000) << "the iteration ended before the shrink was exercised";
  for (int i = 0; i < 200; ++i) EXPECT_TRUE(seen.count("stable:" + std::to_string(i))) << i;
}

TEST_F(ArrayStoreScanTest, ReturnsKeysPresentThroughoutUnderRandomChurn) {
  std::mt19937 rng(11);
  PutKeys("stable:", 0, 300);
  std::vector<std::string> churn;
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int next = 0;
  do {
    ScanPage page = ScanOnce(store_, cursor, 1 + rng() % 20);
    seen.insert(page.keys.begin(), page.keys.end());
    cursor = page.cursor;
    const bool grow = (next / 2000) % 2 == 0;  // alternate flood and drain phases
    for (int i = 0; i < 200; ++i) {
      if (grow || churn.empty()) {
        churn.push_back("c:" + std::to_string(next++));
        ASSERT_TRUE(Put(store_, churn.back(), "v").ok());
      } else {
        std::swap(churn[rng() % churn.size()], churn.back());
        ASSERT_TRUE(Erase(store_, churn.back()).ok());
        churn.pop_back();
        ++next;
      }
    }
    if (rng() % 4 == 0) store_.Tick(clock_.now_ms);
  } while (cursor != 0 && next < 2'000'000);
  ASSERT_EQ(cursor, 0u) << "the iteration does not end";
  for (int i = 0; i < 300; ++i) EXPECT_TRUE(seen.count("stable:" + std::to_string(i))) << i;
}

TEST_F(ArrayStoreScanTest, RandomKeyOnEmptyStoreIsNullopt) {
  EXPECT_EQ(Random(store_), std::nullopt);
  ASSERT_TRUE(Put(store_, "lock", "v", 0, Space::kLock).ok());
  EXPECT_EQ(Random(store_), std::nullopt);  // other spaces do not count
}

TEST_F(ArrayStoreScanTest, RandomKeyReturnsEveryDataKeyEventually) {
  PutKeys("k", 0, 20);
  ASSERT_TRUE(Put(store_, "tagged", "v", 0, Space::kTagged).ok());
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    std::optional<std::string> key = Random(store_);
    ASSERT_TRUE(key);
    seen.insert(*key);
  }
  EXPECT_EQ(seen.size(), 20u);
  EXPECT_EQ(seen.count("tagged"), 0u);
}

TEST_F(ArrayStoreScanTest, RandomKeyFindsTheLastKeyAndIgnoresExpiredOnes) {
  PutKeys("k", 0, 20000);
  for (int i = 1; i < 20000; ++i) ASSERT_TRUE(Erase(store_, "k" + std::to_string(i)).ok());
  EXPECT_EQ(Random(store_), "k0");
  ASSERT_TRUE(Put(store_, "k0", "v", clock_.now_ms + 1).ok());
  EXPECT_EQ(Random(store_), "k0");
  clock_.now_ms += 1;
  EXPECT_EQ(Random(store_), std::nullopt);
}

}  // namespace
}  // namespace arvel::drivers
