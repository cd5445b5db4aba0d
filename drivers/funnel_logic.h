#pragma once
// Concurrency limiting (FUNNEL, SPEC §4) as decisions over one KeyUpdate.
//
// A funnel is one record in Space::kLock under FunnelKey(name) (lock_logic.h). Its value lists the
// slots held, one line "token expiry\n" each (expiry: Unix ms, 0 = held until released); its own
// expiry is the latest slot's (none while a slot has none), so the store forgets a funnel once all
// its slots have run out. Every decision first drops the slots that ran out by the store's clock,
// so "fewer than limit live slots" and the new slot are decided in one Update: at no moment are
// more than `limit` slots held, on any local driver. The redis driver runs the same decisions
// as one script (redis_scripts.cc).
//
// The decisions touch only their arguments: they are safe on a driver's worker thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/store.h"

namespace arvel::drivers {

struct FunnelSlot {
  std::string token;
  int64_t expire_at_ms = 0;  // 0 = until released
};

// The slots of a funnel record still held at `now_ms`, in the order they were taken. Lines that
// do not parse are left out.
std::vector<FunnelSlot> LiveSlots(const Entry* funnel, int64_t now_ms);

// What a funnel decision did, and the funnel afterwards.
struct FunnelOutcome {
  bool applied = false;     // a slot was taken / given back
  int64_t held = 0;         // slots held afterwards
  int64_t next_expiry = 0;  // the earliest expiry among them; 0 = none runs out
};

// Takes a slot for `token` for `ttl_ms` (0 = until released) when fewer than `limit` are held.
FunnelOutcome TryTakeSlot(KeyUpdate& funnel, std::string_view token, int64_t limit, int64_t ttl_ms,
                          int64_t now_ms);
// Gives back `token`'s slot, if it holds one.
FunnelOutcome ReleaseSlot(KeyUpdate& funnel, std::string_view token, int64_t now_ms);

// Gives back `token`'s slot of the funnel `key` (its FunnelKey) on `store`, ignoring the
// outcome: for a slot taken for a client that went away.
void GiveBackSlot(Store& store, std::string key, std::string token);

}  // namespace arvel::drivers
