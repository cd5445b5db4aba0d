// ArrayStore hot paths with 1M keys: Read hit, Update put (overwrite and fresh key), with and
// without a max_memory (which turns on LRU bookkeeping). Keys look like redis-benchmark's
// ("key:000000123456", 16 bytes) and are visited in random order so the table is not walked
// cache-friendly. No main() here: the binary links benchmark_main.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "drivers/array_store.h"

namespace arvel::drivers {
namespace {

constexpr int kKeys = 1'000'000;
constexpr size_t kValueSize = 32;

std::string KeyName(uint64_t i) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "key:%012llu", static_cast<unsigned long long>(i));
  return buffer;
}

// The key names and a random visiting order, shared by every benchmark.
struct KeySet {
  KeySet() {
    names.reserve(kKeys);
    for (int i = 0; i < kKeys; ++i) names.push_back(KeyName(i));
    order.resize(kKeys);
    for (int i = 0; i < kKeys; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937(42));
  }
  std::string_view Pick(size_t n) const { return names[order[n % kKeys]]; }

  std::vector<std::string> names;
  std::vector<uint32_t> order;
};

const KeySet& Keys() {
  static const KeySet* keys = new KeySet();
  return *keys;
}

void PutSync(Store& store, std::string_view key, std::string value) {
  store.Update(
      Space::kData, {&key, 1},
      [&](std::span<KeyUpdate> updates, int64_t) { updates[0].Put(std::move(value), 0); },
      [](const Status& status) { benchmark::DoNotOptimize(status.ok()); });
}

// A store preloaded with kKeys keys; with `lru`, a max_memory large enough never to evict.
std::unique_ptr<ArrayStore> LoadedStore(bool lru) {
  ArrayStoreOptions options;
  options.max_memory = lru ? (size_t{4} << 30) : 0;
  auto store = std::make_unique<ArrayStore>("bench", options);
  for (int i = 0; i < kKeys; ++i) PutSync(*store, Keys().names[i], std::string(kValueSize, 'v'));
  return store;
}

// Read and overwrite benchmarks keep the key set unchanged: they share one store per mode
// rather than rebuilding 1M keys for every run the framework makes.
ArrayStore& SharedStore(bool lru) {
  static ArrayStore* stores[2] = {nullptr, nullptr};
  if (stores[lru] == nullptr) stores[lru] = LoadedStore(lru).release();
  return *stores[lru];
}

void BM_ReadHit(benchmark::State& state) {
  ArrayStore* store = &SharedStore(state.range(0) != 0);
  size_t n = 0;
  for (auto _ : state) {
    std::string_view key = Keys().Pick(n++);
    store->Read(Space::kData, {&key, 1}, [](const Status&, std::span<const Entry* const> entries) {
      benchmark::DoNotOptimize(entries[0]);
    });
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReadHit)->ArgName("lru")->Arg(0)->Arg(1)->Unit(benchmark::kNanosecond);

// 16 reads as one pipeline brings them, with (1) and without (0) Store::Prefetch of their keys
// first, as the connection does: the lookups' cache misses overlap instead of adding up.
void BM_PipelinedReads(benchmark::State& state) {
  ArrayStore* store = &SharedStore(false);
  const bool prefetch = state.range(0) != 0;
  constexpr size_t kPipeline = 16;
  size_t n = 0;
  for (auto _ : state) {
    std::string_view keys[kPipeline];
    for (std::string_view& key : keys) key = Keys().Pick(n++);
    if (prefetch) store->Prefetch(keys);
    for (std::string_view& key : keys) {
      store->Read(Space::kData, {&key, 1}, [](const Status&, std::span<const Entry* const> entries) {
        benchmark::DoNotOptimize(entries[0]);
      });
    }
  }
  state.SetItemsProcessed(state.iterations() * kPipeline);
}
BENCHMARK(BM_PipelinedReads)->ArgName("prefetch")->Arg(0)->Arg(1)->Unit(benchmark::kNanosecond);

void BM_UpdatePutOverwrite(benchmark::State& state) {
  ArrayStore* store = &SharedStore(state.range(0) != 0);
  size_t n = 0;
  for (auto _ : state) {
    // Building the value is part of the cost: the server receives it as a fresh string too.
    PutSync(*store, Keys().Pick(n++), std::string(kValueSize, 'w'));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UpdatePutOverwrite)->ArgName("lru")->Arg(0)->Arg(1)->Unit(benchmark::kNanosecond);

void BM_UpdatePutFresh(benchmark::State& state) {
  auto store = LoadedStore(state.range(0) != 0);
  // Fresh keys continue the numbering; names are made outside the timed region in batches.
  std::vector<std::string> batch(4096);
  uint64_t next = kKeys;
  size_t i = batch.size();
  for (auto _ : state) {
    if (i == batch.size()) {
      state.PauseTiming();
      for (std::string& name : batch) name = KeyName(next++);
      i = 0;
      state.ResumeTiming();
    }
    PutSync(*store, batch[i++], std::string(kValueSize, 'v'));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UpdatePutFresh)->ArgName("lru")->Arg(0)->Arg(1)->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace arvel::drivers
