#include "drivers/funnel_logic.h"

#include <algorithm>
#include <utility>

#include "common/numbers.h"
#include "drivers/lock_logic.h"

namespace arvel::drivers {

namespace {

bool Live(int64_t expire_at_ms, int64_t now_ms) {
  return expire_at_ms == 0 || expire_at_ms > now_ms;
}

std::string Format(const std::vector<FunnelSlot>& slots) {
  std::string text;
  for (const FunnelSlot& slot : slots) {
    text += slot.token + ' ' + std::to_string(slot.expire_at_ms) + '\n';
  }
  return text;
}

// The record's own expiry: the latest slot's, or never while a slot never runs out.
int64_t RecordExpiry(const std::vector<FunnelSlot>& slots) {
  int64_t latest = 0;
  for (const FunnelSlot& slot : slots) {
    if (slot.expire_at_ms == 0) return 0;
    latest = std::max(latest, slot.expire_at_ms);
  }
  return latest;
}

FunnelOutcome Outcome(bool applied, const std::vector<FunnelSlot>& slots) {
  FunnelOutcome outcome{applied, static_cast<int64_t>(slots.size()), 0};
  for (const FunnelSlot& slot : slots) {
    if (slot.expire_at_ms == 0) continue;
    if (outcome.next_expiry == 0 || slot.expire_at_ms < outcome.next_expiry) {
      outcome.next_expiry = slot.expire_at_ms;
    }
  }
  return outcome;
}

// Writes `slots` back when they differ from the record (pruned, taken or given back).
void WriteBack(KeyUpdate& funnel, const std::vector<FunnelSlot>& slots, bool changed) {
  if (!changed) return;
  if (slots.empty()) {
    if (funnel.current != nullptr) funnel.Erase();
    return;
  }
  funnel.Put(Format(slots), RecordExpiry(slots));
}

size_t StoredLines(const Entry* funnel) {
  if (funnel == nullptr) return 0;
  return static_cast<size_t>(std::count(funnel->value.begin(), funnel->value.end(), '\n'));
}

}  // namespace

std::vector<FunnelSlot> LiveSlots(const Entry* funnel, int64_t now_ms) {
  std::vector<FunnelSlot> slots;
  if (funnel == nullptr) return slots;
  std::string_view rest = funnel->value;
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    const size_t space = line.rfind(' ');
    if (space == std::string_view::npos) continue;
    const std::optional<int64_t> at = ParseInt64(line.substr(space + 1));
    if (!at || *at < 0 || !Live(*at, now_ms)) continue;
    slots.push_back({std::string(line.substr(0, space)), *at});
  }
  return slots;
}

FunnelOutcome TryTakeSlot(KeyUpdate& funnel, std::string_view token, int64_t limit, int64_t ttl_ms,
                          int64_t now_ms) {
  std::vector<FunnelSlot> slots = LiveSlots(funnel.current, now_ms);
  const bool pruned = slots.size() != StoredLines(funnel.current);
  const bool taken = static_cast<int64_t>(slots.size()) < limit;
  if (taken) slots.push_back({std::string(token), ExpiryAfter(now_ms, ttl_ms)});
  WriteBack(funnel, slots, pruned || taken);
  return Outcome(taken, slots);
}

FunnelOutcome ReleaseSlot(KeyUpdate& funnel, std::string_view token, int64_t now_ms) {
  std::vector<FunnelSlot> slots = LiveSlots(funnel.current, now_ms);
  const bool pruned = slots.size() != StoredLines(funnel.current);
  auto mine = std::find_if(slots.begin(), slots.end(),
                           [&](const FunnelSlot& slot) { return slot.token == token; });
  const bool released = mine != slots.end();
  if (released) slots.erase(mine);
  WriteBack(funnel, slots, pruned || released);
  return Outcome(released, slots);
}

void GiveBackSlot(Store& store, std::string key, std::string token) {
  store.Execute(op::Funnel{std::move(key), std::move(token), 0, 0, true},
                [](const Status&, OpResult) {});
}

}  // namespace arvel::drivers
