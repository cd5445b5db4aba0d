#include "drivers/tag_reclaimer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "drivers/tag_set.h"

namespace arvel::drivers {

namespace {

using SteadyClock = std::chrono::steady_clock;
// Like ArrayStore::Tick: about a millisecond of loop time a tick for the fast pace.
constexpr auto kTickBudget = std::chrono::milliseconds(1);
constexpr int64_t kErrorBackoffMs = 10'000;

// A record of a batch, with owned copies of the (tag, generation) pairs it names.
struct BatchRecord {
  std::string key;
  std::string header;                                       // RecordHeader, empty if none
  std::vector<std::pair<std::string, std::string>> stamps;  // empty: not an item record
};

// A record to erase, and the header it must still start with (empty: not an item record).
struct StaleRecord {
  std::string key;
  std::string header;
};

std::vector<std::string_view> Views(std::span<const std::string> strings) {
  return {strings.begin(), strings.end()};
}

// The records a Read found, stamps copied out (the entries die with the completion).
std::vector<BatchRecord> CollectRecords(std::span<const std::string> keys,
                                        std::span<const Entry* const> entries) {
  std::vector<BatchRecord> records;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (entries[i] == nullptr) continue;  // gone or expired meanwhile
    BatchRecord record{keys[i], {}, {}};
    if (std::optional<std::vector<Stamp>> stamps = ParseStamps(entries[i]->value)) {
      for (const Stamp& stamp : *stamps) record.stamps.emplace_back(stamp.tag, stamp.generation);
      record.header = std::string(RecordHeader(entries[i]->value).value_or(""));
    }
    records.push_back(std::move(record));
  }
  return records;
}

// Every tag the records name, sorted and unique (the kTagVersion keys to read).
std::vector<std::string> TagsOf(std::span<const BatchRecord> records) {
  std::vector<std::string> tags;
  for (const BatchRecord& record : records) {
    for (const auto& stamp : record.stamps) tags.push_back(stamp.first);
  }
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  return tags;
}

// The records naming a generation that is not its tag's current one (versions[i] is the current
// record of tags[i]), and records that are not item records at all: nothing can read them.
std::vector<StaleRecord> FindStale(std::span<const BatchRecord> records,
                                   std::span<const std::string> tags,
                                   std::span<const Entry* const> versions) {
  std::vector<StaleRecord> stale;
  for (const BatchRecord& record : records) {
    if (record.stamps.empty()) stale.push_back({record.key, {}});
    for (const auto& [tag, generation] : record.stamps) {
      const size_t at = std::lower_bound(tags.begin(), tags.end(), tag) - tags.begin();
      if (versions[at] != nullptr && versions[at]->value == generation) continue;
      stale.push_back({record.key, record.header});
      break;
    }
  }
  return stale;
}

// A Read counts hits and misses; the walk is no client's read, so it takes its count back.
void UncountRead(Store& store, std::span<const Entry* const> entries) {
  const auto found = static_cast<uint64_t>(
      std::count_if(entries.begin(), entries.end(), [](const Entry* e) { return e != nullptr; }));
  StoreStats& stats = store.mutable_stats();
  stats.hits -= std::min(stats.hits, found);
  stats.misses -= std::min(stats.misses, entries.size() - found);
}

}  // namespace

struct TagReclaimer::State {
  explicit State(Store& s) : store(&s) {}
  bool fast() const { return pass_fast || flush_noted; }

  Store* store;
  bool stopped = false;       // the reclaimer is gone: completions still in flight do nothing
  bool walking = false;       // a batch of the kTagged walk is in flight
  bool counting = false;      // a batch of the kTagVersion count is in flight
  uint64_t cursor = 0;        // of the kTagged walk; 0 between passes
  uint64_t count_cursor = 0;  // of the kTagVersion count
  int64_t counted = 0;        // tags seen by the count in progress
  bool pass_fast = false;     // the pass in progress started after a noted flush
  bool flush_noted = false;   // a flush was noted since the pass in progress started
  int64_t resume_at_ms = 0;   // backing off until then after a failure
  bool warned = false;
  Stats stats;
};

namespace {

using StatePtr = std::shared_ptr<TagReclaimer::State>;

void EndBatch(TagReclaimer::State& state) { state.walking = false; }

void BackOff(TagReclaimer::State& state, const Status& status, int64_t now_ms) {
  state.resume_at_ms = now_ms + kErrorBackoffMs;
  state.cursor = 0;
  EndBatch(state);
  if (state.warned) return;
  state.warned = true;
  spdlog::warn("store '{}': cannot reclaim flushed tagged items ({}); retrying every {} s",
               state.store->name(), status.message(), kErrorBackoffMs / 1000);
}

// Erases the stale records, each only if it still starts with the header it was judged by
// (re-checked atomically by the Delete's prefix): a record's header names its generations, so a
// record that still has it is still stale. One Delete per header: the records of one flushed
// scope share theirs.
void EraseStale(const StatePtr& state, std::vector<StaleRecord> records) {
  std::map<std::string, std::vector<std::string>> by_header;
  for (StaleRecord& record : records) by_header[record.header].push_back(std::move(record.key));
  auto pending = std::make_shared<size_t>(by_header.size());
  for (auto& [header, keys] : by_header) {
    state->store->Execute(op::Delete{Space::kTagged, std::move(keys), header},
                          [state, pending](const Status& status, OpResult result) {
                            if (status.ok()) state->stats.reclaimed += result.integer;
                            if (--*pending == 0) EndBatch(*state);
                          });
  }
}

// Reads the current generations of the tags the records name, then erases the stale records.
void JudgeRecords(const StatePtr& state, std::vector<BatchRecord> records) {
  auto tags = std::make_shared<const std::vector<std::string>>(TagsOf(records));
  const std::vector<std::string_view> keys = Views(*tags);
  state->store->Read(Space::kTagVersion, keys,
                     [state, tags, records = std::move(records)](
                         const Status& status, std::span<const Entry* const> versions) {
                       if (state->stopped || !status.ok()) return EndBatch(*state);
                       std::vector<StaleRecord> stale = FindStale(records, *tags, versions);
                       if (stale.empty()) return EndBatch(*state);
                       EraseStale(state, std::move(stale));
                     });
}

// Reads the records of a batch of kTagged keys and judges them.
void ReadBatch(const StatePtr& state, std::vector<std::string> batch) {
  std::sort(batch.begin(), batch.end());  // a scan may return a key twice
  batch.erase(std::unique(batch.begin(), batch.end()), batch.end());
  auto keys = std::make_shared<const std::vector<std::string>>(std::move(batch));
  const std::vector<std::string_view> views = Views(*keys);
  state->store->Read(Space::kTagged, views,
                     [state, keys](const Status& status, std::span<const Entry* const> entries) {
                       if (state->stopped || !status.ok()) return EndBatch(*state);
                       UncountRead(*state->store, entries);
                       std::vector<BatchRecord> records = CollectRecords(*keys, entries);
                       if (records.empty()) return EndBatch(*state);
                       JudgeRecords(state, std::move(records));
                     });
}

// Starts the next batch of the kTagged walk.
void WalkBatch(const StatePtr& state, size_t count, int64_t now_ms) {
  state->walking = true;
  state->store->ScanSpace(
      Space::kTagged, state->cursor, count,
      [state, now_ms](const Status& status, uint64_t next, std::vector<std::string> keys) {
        if (state->stopped) return EndBatch(*state);
        if (!status.ok()) return BackOff(*state, status, now_ms);
        state->cursor = next;
        if (next == 0) ++state->stats.passes;
        if (keys.empty()) return EndBatch(*state);
        ReadBatch(state, std::move(keys));
      });
}

// Counts the next batch of kTagVersion records; publishes the total when the count wraps.
void CountBatch(const StatePtr& state) {
  state->counting = true;
  state->store->ScanSpace(
      Space::kTagVersion, state->count_cursor, TagReclaimer::kBatch,
      [state](const Status& status, uint64_t next, std::vector<std::string> keys) {
        state->counting = false;
        if (!status.ok()) {
          state->count_cursor = 0;
          state->counted = 0;
          return;
        }
        state->counted += static_cast<int64_t>(keys.size());
        state->count_cursor = next;
        if (next != 0) return;
        state->stats.tags = state->counted;
        state->counted = 0;
      });
}

}  // namespace

TagReclaimer::TagReclaimer(Store& store) : state_(std::make_shared<State>(store)) {}

TagReclaimer::~TagReclaimer() { state_->stopped = true; }

void TagReclaimer::NoteFlush() { state_->flush_noted = true; }

const TagReclaimer::Stats& TagReclaimer::stats() const { return state_->stats; }

void TagReclaimer::Tick(int64_t now_ms) {
  State& state = *state_;
  if (now_ms < state.resume_at_ms || !state.store->Health().ok()) return;
  if (!state.counting) CountBatch(state_);
  if (state.walking) return;  // an asynchronous store is still answering the last batch
  if (state.cursor == 0) {
    state.pass_fast = state.flush_noted;
    state.flush_noted = false;
  }
  const auto deadline = SteadyClock::now() + kTickBudget;
  size_t budget = state.fast() ? kMaxEntriesPerTick : kIdleEntriesPerTick;
  while (budget > 0 && !state.walking && now_ms >= state.resume_at_ms) {
    const size_t batch = std::min(budget, kBatch);
    budget -= batch;
    WalkBatch(state_, batch, now_ms);
    // A pass that ended waits for the next tick (an empty kTagged costs one call a tick).
    if (state.cursor == 0 || SteadyClock::now() >= deadline) break;
  }
}

}  // namespace arvel::drivers
