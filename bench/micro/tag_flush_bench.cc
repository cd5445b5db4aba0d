// TAGS FLUSH against an ArrayStore holding 1k … 1M items under the flushed tag: the flush is one
// Update of the tag's generation record, so its time must stay flat as the items grow. For
// contrast, BM_TagReclaim measures the background work the flush leaves behind: walking and
// erasing the stale records, per item, as the TagReclaimer does it from Server::Cron.
// No main() here: the binary links benchmark_main.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "drivers/array_store.h"
#include "drivers/tag_reclaimer.h"
#include "drivers/tag_set.h"

namespace arvel::drivers {
namespace {

TagSet Posts() { return *TagSet::Parse("posts"); }

std::optional<TagScope> ScopeOf(Store& store, const TagSet& tags) {
  std::optional<TagScope> result;
  EnsureScope(store, tags, [&](const Status&, std::optional<TagScope> scope) { result = scope; });
  return result;
}

// Stores `items` items under the current scope of `tags`, half with no expiry.
void Fill(Store& store, const TagSet& tags, int64_t items) {
  const TagScope scope = *ScopeOf(store, tags);
  for (int64_t i = 0; i < items; ++i) {
    const std::string key = scope.ItemKey("post:" + std::to_string(i));
    const std::string_view keys[] = {key};
    const int64_t expire_at = i % 2 ? 0 : NowMs() + 3'600'000;
    store.Update(
        Space::kTagged, keys,
        [&](std::span<KeyUpdate> updates, int64_t) {
          updates[0].Put(scope.Encode("a cached page fragment"), expire_at);
        },
        [](const Status& status) { benchmark::DoNotOptimize(status.ok()); });
  }
}

void BM_TagFlush(benchmark::State& state) {
  ArrayStore store("bench");
  const TagSet tags = Posts();
  Fill(store, tags, state.range(0));
  for (auto _ : state) {
    FlushTags(store, tags, [](const Status& status) { benchmark::DoNotOptimize(status.ok()); });
  }
  state.counters["items"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_TagFlush)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Arg(1'000'000);

// Reclaiming after a flush: ticks until every flushed item is gone (time per item reported).
void BM_TagReclaim(benchmark::State& state) {
  const TagSet tags = Posts();
  for (auto _ : state) {
    state.PauseTiming();
    auto store = std::make_unique<ArrayStore>("bench");
    TagReclaimer reclaimer(*store);
    Fill(*store, tags, state.range(0));
    FlushTags(*store, tags, [](const Status&) {});
    reclaimer.NoteFlush();
    state.ResumeTiming();
    while (reclaimer.stats().reclaimed < static_cast<uint64_t>(state.range(0))) {
      reclaimer.Tick(NowMs());
    }
    state.PauseTiming();
    store.reset();  // freeing is not the reclaimer's cost
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_TagReclaim)->Arg(100'000)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace arvel::drivers
