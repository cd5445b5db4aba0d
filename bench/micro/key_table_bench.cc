// KeyTable alone, the hash table under the array store: Find of a present and of an absent key,
// hash included (as a command pays it), and Insert into a table growing from empty, so the
// incremental resizes are part of the cost. Tables of 1k keys (fit in cache) and 1M keys (do
// not); keys look like redis-benchmark's ("key:000000123456") and are visited in random order.
// No main() here: the binary links benchmark_main.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "drivers/key_table.h"

namespace arvel::drivers {
namespace {

std::string KeyName(const char* prefix, uint64_t i) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%s:%012llu", prefix, static_cast<unsigned long long>(i));
  return buffer;
}

// `n` keys named PREFIX:i, their nodes (not in any table), and a random visiting order.
struct Keys {
  Keys(const char* prefix, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      names.push_back(KeyName(prefix, i));
      nodes.push_back(CreateNode(Space::kData, names.back(), HashKey(names.back())));
      order.push_back(static_cast<uint32_t>(i));
    }
    std::shuffle(order.begin(), order.end(), std::mt19937(42));
  }
  ~Keys() {
    for (Node* node : nodes) DestroyNode(node);
  }
  std::string_view Pick(size_t n) const { return names[order[n % order.size()]]; }

  std::vector<std::string> names;
  std::vector<Node*> nodes;
  std::vector<uint32_t> order;
};

// A table holding every node of `keys`, with no resize left in progress.
void Fill(KeyTable& table, const Keys& keys) {
  for (Node* node : keys.nodes) table.Insert(node);
  while (table.Rehash(1024)) {
  }
}

void BM_KeyTableFindHit(benchmark::State& state) {
  const Keys keys("key", static_cast<size_t>(state.range(0)));
  KeyTable table;
  Fill(table, keys);
  size_t n = 0;
  for (auto _ : state) {
    std::string_view key = keys.Pick(n++);
    benchmark::DoNotOptimize(table.Find(key, HashKey(key)));
  }
  state.SetItemsProcessed(state.iterations());
  table.Clear();
}
BENCHMARK(BM_KeyTableFindHit)->Arg(1'000)->Arg(1'000'000);

void BM_KeyTableFindMiss(benchmark::State& state) {
  const Keys keys("key", static_cast<size_t>(state.range(0)));
  const Keys absent("miss", 4096);
  KeyTable table;
  Fill(table, keys);
  size_t n = 0;
  for (auto _ : state) {
    std::string_view key = absent.Pick(n++);
    benchmark::DoNotOptimize(table.Find(key, HashKey(key)));
  }
  state.SetItemsProcessed(state.iterations());
  table.Clear();
}
BENCHMARK(BM_KeyTableFindMiss)->Arg(1'000)->Arg(1'000'000);

// Inserts the nodes one per iteration into a table that starts empty and grows to range(0)
// keys; when all are in, the table is emptied (untimed) and filling starts over.
void BM_KeyTableInsert(benchmark::State& state) {
  const Keys keys("key", static_cast<size_t>(state.range(0)));
  KeyTable table;
  size_t i = 0;
  for (auto _ : state) {
    if (i == keys.nodes.size()) {
      state.PauseTiming();
      table.Clear();
      i = 0;
      state.ResumeTiming();
    }
    table.Insert(keys.nodes[keys.order[i++]]);
  }
  state.SetItemsProcessed(state.iterations());
  table.Clear();
}
BENCHMARK(BM_KeyTableInsert)->Arg(1'000)->Arg(1'000'000);

}  // namespace
}  // namespace arvel::drivers
