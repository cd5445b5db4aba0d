// Design: a Fill exists for each (store, key) that missed while someone computes it. It holds
// the waiters in arrival order and, when a client of this daemon holds the lease, who does. The
// lease is granted by one atomic Update of the kLease record (put-if-absent, or take-over of the
// record this daemon wrote for the previous holder), so on a shared driver only one daemon's
// client fills a key at a time.
//
// The value reaches the waiters through the write notifications of this daemon: any kData write
// of the key schedules a re-read on the next loop turn (the writer is still inside its Update).
// Found: every waiter gets it and the Fill goes away. Absent: the holder gave up, so the longest
// waiter gets nil and the lease — as when the holder disconnects (close listener) or its lease
// timer fires. A FORGET of the still-absent key writes nothing, so FORGET reports itself
// (Forgotten) and the same re-read follows. When the lease is held elsewhere (another daemon on
// a shared driver), the waiters re-read the key and retry the lease when the store notifies a
// change made by another daemon — of that key, or of some keys (OnRemoteChange) — and after
// RecheckMs at the latest (a short poll on a store that does not notify, a slow safety re-check
// on one that does). A lease taken after an attempt found it held elsewhere is handed out only
// after one more read of the key: that holder may have written the value and given the lease up
// after this fill last looked.
//
// Every path changes the registry first and finishes replies last: finishing resumes a client,
// which may run further commands at once and re-enter the registry. Store callbacks capture the
// key and the Fill's generation, never a pointer, so a Fill replaced meanwhile is not touched.

#include "server/fill_leases.h"

#include <algorithm>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "common/errors.h"
#include "drivers/lock_logic.h"
#include "server/connection.h"
#include "server/server.h"

namespace arvel::server {

namespace {
// How long waiters wait before they look again while the lease is held elsewhere (another
// daemon, or a record that has not quite expired).
int64_t RecheckMs(const drivers::Store& store) {
  const int64_t remote = RemoteRecheckMs(store);
  return remote < 0 ? kPollRecheckMs : remote;
}

// The value `entry` holds for a claim whose records start with `prefix` (Claim::prefix);
// nullopt when absent, or a tagged record of another scope.
std::optional<std::string_view> ClaimedValue(const drivers::Entry* entry, std::string_view prefix) {
  if (entry == nullptr || !std::string_view(entry->value).starts_with(prefix)) {
    return std::nullopt;
  }
  return std::string_view(entry->value).substr(prefix.size());
}

// How a parked call is answered without a value (it may fill the key) and with one: REMEMBER
// with nil or the value, FLEXIBLE with [nil, "fill"] or [value, "fresh"].
void WriteNoValue(protocol::ReplyWriter& writer, bool flexible) {
  if (!flexible) return writer.Null();
  WriteFlexibleReply(writer, std::nullopt, "fill");
}
void WriteValue(protocol::ReplyWriter& writer, std::string_view value, bool flexible) {
  if (!flexible) return writer.Bulk(value);
  WriteFlexibleReply(writer, value, "fresh");
}
}  // namespace

void WriteFlexibleReply(protocol::ReplyWriter& writer, std::optional<std::string_view> value,
                        std::string_view state) {
  writer.ArrayHeader(2);
  if (value) {
    writer.Bulk(*value);
  } else {
    writer.Null();
  }
  writer.Bulk(state);
}

struct FillLeases::Waiter {
  uint64_t id = 0;
  uint64_t client_id = 0;
  int64_t lease_ms = 0;
  bool may_wait = true;
  bool flexible = false;
  PendingReply reply;
};

struct FillLeases::Fill {
  Fill(uv_loop_t* loop, uint64_t generation, drivers::Space space, std::string prefix)
      : generation(generation),
        space(space),
        prefix(std::move(prefix)),
        lease_timer(loop),
        check_timer(loop) {}
  const uint64_t generation;
  const drivers::Space space;  // Claim::space and Claim::prefix
  const std::string prefix;
  std::deque<Waiter> waiters;  // arrival order
  uint64_t holder = 0;         // client of this daemon holding the lease; 0 = none here
  std::string record;          // token of the last kLease record written for this key, or ""
  bool busy = false;           // a lease Update (or the read confirming it) is in flight
  bool held_elsewhere = false;     // an attempt found the lease held by someone else
  bool changed_meanwhile = false;  // a change elsewhere was reported while busy
  int64_t lease_ends_ms = 0;   // when the holder's lease runs out, by the store's clock
  LoopTimer lease_timer;       // the holder's lease runs out
  LoopTimer check_timer;       // re-read the key (after a write; polling a lease held elsewhere)
};

FillLeases::FillLeases(Server& server) : server_(server) {
  server.watches().AddListener(this);
  server.AddCloseListener([this](uint64_t client_id) { ClientGone(client_id); });
}

FillLeases::~FillLeases() = default;

void FillLeases::Remember(Claim claim, PendingReply reply) {
  drivers::Store* store = claim.store;
  const drivers::Space space = claim.space;
  const std::string name = claim.key;  // claim moves into the callback
  const std::string_view key = name;
  store->Read(space, std::span<const std::string_view>(&key, 1),
              [this, claim = std::move(claim), reply](
                  const Status& status, std::span<const drivers::Entry* const> entries) mutable {
                if (!status.ok()) {
                  return reply.Finish(
                      [&](protocol::ReplyWriter& writer) { writer.Error(status.message()); });
                }
                const std::optional<std::string_view> value =
                    ClaimedValue(entries[0], claim.prefix);
                if (!value) return Request(std::move(claim), reply);
                reply.Finish([&](protocol::ReplyWriter& writer) {
                  WriteValue(writer, *value, claim.flexible);
                });
              });
}

void FillLeases::Request(Claim claim, PendingReply reply) {
  Connection* conn = server_.FindClient(reply.client_id());
  if (conn == nullptr || !reply.alive()) return;
  StoreKey key{claim.store, std::move(claim.key)};
  std::unique_ptr<Fill>& slot = fills_[key];
  const bool fresh = slot == nullptr;
  if (fresh) {
    slot = std::make_unique<Fill>(server_.loop(), next_id_++, claim.space,
                                  std::move(claim.prefix));
  }
  // Inside MULTI nobody waits. The holder's own connection asking again does wait: with
  // pooled connections that is another caller of the same program, not the filler.
  if (!fresh && !claim.may_wait) {
    return reply.Finish([&](protocol::ReplyWriter& writer) { WriteNoValue(writer, claim.flexible); });
  }
  const uint64_t id = next_id_++;
  reply.MarkWaiting([this, key, id] { CancelWaiter(key, id); });
  slot->waiters.push_back(
      {id, reply.client_id(), claim.lease_ms, claim.may_wait, claim.flexible, reply});
  ++waiting_;
  Advance(key);
}

FillLeases::Fill* FillLeases::Find(const StoreKey& key, uint64_t generation) {
  auto it = fills_.find(key);
  if (it == fills_.end() || it->second->generation != generation) return nullptr;
  return it->second.get();
}

void FillLeases::Advance(const StoreKey& key) {
  auto it = fills_.find(key);
  if (it == fills_.end()) return;
  Fill& fill = *it->second;
  if (fill.busy || fill.holder != 0) return;
  if (fill.waiters.empty() || !StoreReachable(server_, key.store)) return Retire(key);
  const Waiter& head = fill.waiters.front();
  std::optional<std::string> token = drivers::NewLockToken();
  if (!token) {
    OnLeaseDecided(key, fill.generation, head.id, "",
                   Status::Error(std::string(errors::kNoLeaseToken)), false);
    return;
  }
  fill.busy = true;
  fill.changed_meanwhile = false;
  key.store->Execute(
      drivers::op::TakeLease{key.key, fill.record, *token, head.lease_ms},
      [this, key, generation = fill.generation, id = head.id, token = *token](
          const Status& status, drivers::OpResult result) {
        OnLeaseDecided(key, generation, id, token, status, result.applied);
      });
}

void FillLeases::OnLeaseDecided(const StoreKey& key, uint64_t generation, uint64_t waiter_id,
                                const std::string& token, const Status& status, bool taken) {
  Fill* fill = Find(key, generation);
  if (fill == nullptr) {  // the value arrived meanwhile: nobody needs this lease
    if (taken) DropRecord(key, token);
    return;
  }
  fill->busy = false;
  if (taken) fill->record = token;
  if (!taken && status.ok()) fill->held_elsewhere = true;
  const bool head_waits = !fill->waiters.empty() && fill->waiters.front().id == waiter_id;
  if (taken && head_waits && fill->held_elsewhere) return ConfirmAbsent(key, *fill, waiter_id);
  if (taken && head_waits) return GrantTo(key, *fill);
  if (taken) return Advance(key);  // the head left: the next waiter takes over the record
  if (!head_waits || (status.ok() && fill->waiters.front().may_wait)) {
    // Held elsewhere (another daemon, or a record that has not quite expired): poll — at once
    // if a change elsewhere was reported while the attempt was in flight.
    if (fill->waiters.empty()) return Retire(key);
    fill->check_timer.Start(fill->changed_meanwhile ? 0 : RecheckMs(*key.store),
                            [this, key, generation] { Recheck(key, generation); });
    return;
  }
  // The head does not wait (MULTI), or the store failed for it: it is answered now.
  Waiter head = std::move(fill->waiters.front());
  fill->waiters.pop_front();
  --waiting_;
  if (fill->waiters.empty()) {
    Retire(key);
  } else {
    fill->check_timer.Start(status.ok() ? RecheckMs(*key.store) : 0,
                            [this, key, generation] { Recheck(key, generation); });
  }
  head.reply.Finish([&](protocol::ReplyWriter& writer) {
    if (status.ok()) {
      WriteNoValue(writer, head.flexible);
    } else {
      writer.Error(status.message());
    }
  });
}

void FillLeases::ConfirmAbsent(const StoreKey& key, Fill& fill, uint64_t waiter_id) {
  // The previous holder (another daemon's client) may have written the value and then given the
  // lease up after this fill last read the key: look once more before handing the lease out.
  // The lease is ours now, so a value that is absent here is one nobody has written yet.
  fill.busy = true;
  std::string_view name = key.key;
  key.store->Read(fill.space, std::span<const std::string_view>(&name, 1),
                  [this, key, generation = fill.generation, waiter_id](
                      const Status& status, std::span<const drivers::Entry* const> entries) {
                    Fill* current = Find(key, generation);
                    if (current == nullptr) return;
                    current->busy = false;
                    const std::optional<std::string_view> value =
                        ClaimedValue(entries.empty() ? nullptr : entries[0], current->prefix);
                    // Copied at once: `value` points into the store.
                    if (status.ok() && value) return Deliver(key, std::string(*value));
                    const bool head_waits =
                        !current->waiters.empty() && current->waiters.front().id == waiter_id;
                    if (head_waits) return GrantTo(key, *current);
                    Advance(key);  // the head left: the next waiter takes over the record
                  });
}

void FillLeases::GrantTo(const StoreKey& key, Fill& fill) {
  Waiter head = std::move(fill.waiters.front());
  fill.waiters.pop_front();
  --waiting_;
  if (!head.reply.alive()) return Advance(key);  // gone meanwhile: the next one takes over
  fill.holder = head.client_id;
  fill.lease_ends_ms = key.store->now_ms() + head.lease_ms;
  fill.check_timer.Stop();  // a re-check due would take the still absent value for a give-up
  ++active_leases_;
  held_by_[head.client_id].push_back(key);
  fill.lease_timer.Start(head.lease_ms, [this, key, generation = fill.generation] {
    if (Fill* current = Find(key, generation)) {
      EndLease(key, *current);
      Advance(key);
    }
  });
  head.reply.Finish([&](protocol::ReplyWriter& writer) {  // you fill it
    WriteNoValue(writer, head.flexible);
  });
}

void FillLeases::Recheck(const StoreKey& key, uint64_t generation, bool after_write) {
  const Fill* fill = Find(key, generation);
  if (fill == nullptr) return;
  if (!StoreReachable(server_, key.store)) return Retire(key);
  std::string_view name = key.key;
  key.store->Read(fill->space, std::span<const std::string_view>(&name, 1),
                  [this, key, generation, after_write](
                      const Status& status, std::span<const drivers::Entry* const> entries) {
                    OnChecked(key, generation, after_write, status,
                              entries.empty() ? nullptr : entries[0]);
                  });
}

void FillLeases::OnChecked(const StoreKey& key, uint64_t generation, bool after_write,
                           const Status& status, const drivers::Entry* entry) {
  Fill* fill = Find(key, generation);
  if (fill == nullptr) return;
  if (!status.ok()) {
    // Try again later; a local holder's lease timer still runs meanwhile.
    fill->check_timer.Start(RecheckMs(*key.store), [this, key, generation] { Recheck(key, generation); });
    return;
  }
  // Copied at once: a resumed waiter may write the key, and `entry` points into the store.
  if (std::optional<std::string_view> value = ClaimedValue(entry, fill->prefix)) {
    return Deliver(key, std::string(*value));
  }
  if (after_write) EndLease(key, *fill);  // a write left the key absent: its holder gave up
  Advance(key);
}

void FillLeases::Deliver(const StoreKey& key, std::string value) {
  auto it = fills_.find(key);
  std::unique_ptr<Fill> fill = std::move(it->second);
  fills_.erase(it);
  EndLease(key, *fill);
  if (!fill->record.empty()) DropRecord(key, fill->record);
  waiting_ -= fill->waiters.size();
  for (Waiter& waiter : fill->waiters) {
    waiter.reply.Finish(
        [&](protocol::ReplyWriter& writer) { WriteValue(writer, value, waiter.flexible); });
  }
}

void FillLeases::EndLease(const StoreKey& key, Fill& fill) {
  if (fill.holder == 0) return;
  auto it = held_by_.find(fill.holder);
  if (it != held_by_.end()) {
    std::vector<StoreKey>& keys = it->second;
    keys.erase(std::remove_if(keys.begin(), keys.end(),
                              [&](const StoreKey& k) { return StoreKeyEq()(k, key); }),
               keys.end());
    if (keys.empty()) held_by_.erase(it);
  }
  fill.holder = 0;
  --active_leases_;
  fill.lease_timer.Stop();
}

void FillLeases::ClientGone(uint64_t client_id) {
  DropRefreshes(client_id, nullptr, {});
  auto it = held_by_.find(client_id);
  if (it == held_by_.end()) return;
  const std::vector<StoreKey> keys = std::move(it->second);
  held_by_.erase(it);
  for (const StoreKey& key : keys) {
    auto fill = fills_.find(key);
    if (fill == fills_.end() || fill->second->holder != client_id) continue;
    EndLease(key, *fill->second);
    Advance(key);  // may resume other clients: `keys` is our own copy
  }
}

void FillLeases::CancelWaiter(const StoreKey& key, uint64_t waiter_id) {
  auto it = fills_.find(key);
  if (it == fills_.end()) return;
  Fill& fill = *it->second;
  auto found = std::find_if(fill.waiters.begin(), fill.waiters.end(),
                            [waiter_id](const Waiter& w) { return w.id == waiter_id; });
  if (found == fill.waiters.end()) return;
  fill.waiters.erase(found);
  --waiting_;
  // An in-flight lease for it is passed on by OnLeaseDecided; otherwise tidy up now.
  if (!fill.busy && fill.holder == 0 && fill.waiters.empty()) Retire(key);
}

void FillLeases::Retire(const StoreKey& key) {
  auto it = fills_.find(key);
  if (it == fills_.end()) return;
  std::unique_ptr<Fill> fill = std::move(it->second);
  fills_.erase(it);
  EndLease(key, *fill);
  if (!fill->record.empty()) DropRecord(key, fill->record);
  waiting_ -= fill->waiters.size();
  // Only when the store went away (a dropped FAKE store) or after a TAGS FLUSH (TagsFlushed)
  // can anyone still be waiting here.
  for (Waiter& waiter : fill->waiters) {
    waiter.reply.Finish(
        [&](protocol::ReplyWriter& writer) { WriteNoValue(writer, waiter.flexible); });
  }
}

void FillLeases::DropRecord(const StoreKey& key, const std::string& token) {
  DropLease(key.store, key.key, token);
}

void FillLeases::DropLease(drivers::Store* store, const std::string& lease_key,
                           const std::string& token) {
  if (!StoreReachable(server_, store)) return;
  store->Execute(drivers::op::ReleaseIf{drivers::Space::kLease, lease_key, token},
                 [](const Status&, drivers::OpResult) {});
}

void FillLeases::RefreshTaken(uint64_t client_id, drivers::Store& store, std::string key,
                              std::string lease_key, std::string token) {
  constexpr size_t kRefreshesKept = 16;
  // Gone while the lease was being taken: its close has run already.
  if (server_.FindClient(client_id) == nullptr) return DropLease(&store, lease_key, token);
  std::deque<Refresh>& held = refreshes_by_[client_id];
  if (held.size() == kRefreshesKept) held.pop_front();
  held.push_back({StoreKey{&store, std::move(key)}, std::move(lease_key), std::move(token)});
}

// Gives up the refresh leases `client_id` holds: all of them when `store` is null, else those
// of `key` of `store`.
void FillLeases::DropRefreshes(uint64_t client_id, const drivers::Store* store,
                               std::string_view key) {
  auto it = refreshes_by_.find(client_id);
  if (it == refreshes_by_.end()) return;
  std::deque<Refresh>& held = it->second;
  for (auto refresh = held.begin(); refresh != held.end();) {
    if (store != nullptr && !StoreKeyEq()(refresh->key, StoreKeyView{store, key})) {
      ++refresh;
      continue;
    }
    DropLease(refresh->key.store, refresh->lease_key, refresh->token);
    refresh = held.erase(refresh);
  }
  if (held.empty()) refreshes_by_.erase(it);
}

void FillLeases::Forgotten(drivers::Store& store, std::string_view key, uint64_t client_id) {
  DropRefreshes(client_id, &store, key);
  if (fills_.empty()) return;
  auto it = fills_.find(StoreKeyView{&store, key});
  if (it == fills_.end() || it->second->holder != client_id) return;
  // The re-read finds the key absent and passes the lease on, after FORGET's own write.
  it->second->check_timer.Start(0, [this, key = it->first, generation = it->second->generation] {
    Recheck(key, generation, /*after_write=*/true);
  });
}

void FillLeases::TagsFlushed(drivers::Store& store) {
  std::vector<StoreKey> ended;
  for (const auto& [key, fill] : fills_) {
    if (key.store == &store && fill->space == drivers::Space::kTagged) ended.push_back(key);
  }
  for (const StoreKey& key : ended) Retire(key);  // may resume clients: `ended` is our own
}

void FillLeases::Travelled(drivers::Store& store) {
  std::vector<StoreKey> ended;
  for (const auto& [key, fill] : fills_) {
    if (key.store == &store && fill->holder != 0 && fill->lease_ends_ms <= store.now_ms()) {
      ended.push_back(key);
    }
  }
  for (const StoreKey& key : ended) {  // may resume clients: `ended` is our own
    auto it = fills_.find(key);
    if (it == fills_.end()) continue;
    EndLease(key, *it->second);
    Advance(key);
  }
}

void FillLeases::OnKeyWritten(drivers::Store& store, drivers::Space space, std::string_view key,
                              bool all) {
  // A FLUSH does not end a fill: the holder's write still comes and is delivered then.
  if (all || fills_.empty()) return;
  auto it = fills_.find(StoreKeyView{&store, key});
  if (it == fills_.end()) return;
  const bool after_write = space == it->second->space;
  // A lease record changed (the redis store announces those made elsewhere: taken, dropped
  // once the holder wrote the value, expired): look at the value now rather than at the next
  // poll. Unlike a write of the key, it never ends a lease held here.
  if (!after_write && space != drivers::Space::kLease) return;
  if (!after_write && it->second->holder != 0) return;
  it->second->check_timer.Start(0, [this, key = it->first, generation = it->second->generation,
                                    after_write] { Recheck(key, generation, after_write); });
}

void FillLeases::OnRemoteChange(drivers::Store& store) {
  for (auto& [key, fill] : fills_) {
    // Not with a holder here: the key is absent until that client writes it, and a re-read
    // would take the absence for the holder giving up. Nor while a lease attempt (or its
    // confirming read) is in flight, which may make a client here the holder: its outcome
    // decides when to look again.
    if (key.store != &store || fill->holder != 0) continue;
    if (fill->busy) {
      fill->changed_meanwhile = true;
      continue;
    }
    fill->check_timer.Start(
        0, [this, key = key, generation = fill->generation] { Recheck(key, generation); });
  }
}

}  // namespace arvel::server
