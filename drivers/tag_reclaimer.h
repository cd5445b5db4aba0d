#pragma once
// TagReclaimer: gives back the memory (or disk) of tagged items that a TAGS FLUSH invalidated
// (drivers/tag_set.h). A flush only replaces generations; the records it hid stay in
// Space::kTagged until this walks past them. One per store, ticked by Server::Cron.
//
// A tick walks kTagged a bounded batch at a time (Store::ScanSpace): it reads the batch's
// records, reads the current generations of the tags they name, and erases the records that
// name a generation no longer current — items with no expiry included. The erase is an Update
// that re-checks each record: it still names the stale (tag, generation) pair, and since
// generations are never reused, such a record can never become readable again, even if
// rewritten in between. Expired records are the store's own business.
//
// Pace: after a TAGS FLUSH through this daemon (NoteFlush), up to kMaxEntriesPerTick entries a
// tick (and about a millisecond of loop time) until a whole pass has started after the flush;
// otherwise kIdleEntriesPerTick, which still finds what flushes by other daemons sharing the
// backend, or writes that raced a flush, left behind. The walk also counts the kTagVersion
// records (the number of tags, for INFO).
//
// Loop thread only. Works with asynchronous drivers: at most one batch is in flight, and its
// completions keep the walk's state alive on their own.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "drivers/store.h"

namespace arvel::drivers {

class TagReclaimer {
 public:
  struct Stats {
    int64_t tags = -1;       // kTagVersion records at the end of the last count; -1 before one
    uint64_t reclaimed = 0;  // stale records erased
    uint64_t passes = 0;     // complete walks of kTagged
  };

  static constexpr size_t kBatch = 1000;
  static constexpr size_t kMaxEntriesPerTick = 4 * kBatch;
  static constexpr size_t kIdleEntriesPerTick = 100;

  // `store` must outlive the reclaimer.
  explicit TagReclaimer(Store& store);
  ~TagReclaimer();
  TagReclaimer(const TagReclaimer&) = delete;
  TagReclaimer& operator=(const TagReclaimer&) = delete;

  // A bounded slice of work (about every 100 ms). Skips while the store is unavailable, and
  // backs off for a while when the store cannot scan its tagged items.
  void Tick(int64_t now_ms);
  // A TAGS FLUSH through this daemon made records stale: walk at full pace until a whole pass
  // has started after it.
  void NoteFlush();

  const Stats& stats() const;

  // The walk's state, shared with the completions in flight (defined in the .cc).
  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace arvel::drivers
