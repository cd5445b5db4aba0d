#pragma once
// REMEMBER's stampede protection: per (store, key) that missed, who holds the fill lease and
// which clients wait for the value. The lease itself is a record in Space::kLease taken by an
// atomic put-if-absent (drivers/lock_logic.h), so daemons sharing a driver never both hand one
// out; the waiting and the wake-ups are local to this daemon. Everything runs on the loop thread.

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "drivers/store.h"
#include "server/command.h"
#include "server/lock_waiters.h"

namespace arvel::server {

class Server;

// FLEXIBLE's reply: [value-or-nil, state] (SPEC §4).
void WriteFlexibleReply(protocol::ReplyWriter& writer, std::optional<std::string_view> value,
                        std::string_view state);

class FillLeases : public drivers::KeyObserver {
 public:
  // Subscribes to the server's write notifications and to clients going away.
  explicit FillLeases(Server& server);
  ~FillLeases() override;

  struct Claim {
    drivers::Store* store = nullptr;
    std::string key;
    int64_t lease_ms = 0;  // > 0
    // False inside MULTI/EXEC, where a wait would stall the transaction: the client gets nil at
    // once, holding the lease only if it was free.
    bool may_wait = true;
    // Where the value lives: a plain key (kData), or a tagged item (kTagged: `key` is its record
    // key, and a record holds the item only when its value starts with `prefix`, which the
    // waiters are given stripped — drivers/tag_set.h). The lease record is kLease `key` either
    // way: a record key starts with a digest of random generations, so no plain key meets it.
    drivers::Space space = drivers::Space::kData;
    std::string prefix;
    // FLEXIBLE's replies ([value, state]) instead of REMEMBER's.
    bool flexible = false;
  };

  // REMEMBER: finishes `reply` with the value `claim.key` holds; on a miss, with nil once the
  // client holds the fill lease (at once when it is free), or with the value once any client
  // writes it (the holder's own connection asking again waits too). If the client goes away
  // while waiting it is dropped (PendingReply::MarkWaiting); if the holder goes away, FORGETs
  // the key or lets the lease run out, the longest waiter gets nil and the lease. REQUIRES:
  // `reply` is pending; claim.store is not a null-driver store (which never holds a value).
  void Remember(Claim claim, PendingReply reply);
  // The same after the caller found `claim.key` absent itself (FLEXIBLE's fill).
  void Request(Claim claim, PendingReply reply);

  // FORGET of `key` by `client_id`: when that client holds the key's lease, it gives the lease
  // up and the next waiter gets it. (Forgetting an absent key changes nothing in the store, so
  // no write notification says so: FORGET tells us.)
  void Forgotten(drivers::Store& store, std::string_view key, uint64_t client_id);

  // FLEXIBLE gave `client_id` the refresh lease of `key` of `store`: kLease record `lease_key`
  // holding `token`. It ends as a fill lease does: when the client goes away or FORGETs the key
  // (or when it runs out, or when the new value's write makes it moot — the store does those).
  // A client already gone gives it up at once.
  void RefreshTaken(uint64_t client_id, drivers::Store& store, std::string key,
                    std::string lease_key, std::string token);

  // A TAGS FLUSH of `store`: the holders of tagged items' leases will write under the tags' new
  // generations, where waiters for the old items would never see it. Every tagged fill of the
  // store ends: its waiters get nil (without the lease) and compute the value themselves.
  void TagsFlushed(drivers::Store& store);

  // The clock of `store` (a FAKE store) travelled: leases held on it that have run out by that
  // clock end, and the next waiter, if any, takes over.
  void Travelled(drivers::Store& store);

  // Leases held by clients of this daemon (INFO).
  size_t active_leases() const { return active_leases_; }
  // Clients parked in REMEMBER (INFO).
  size_t waiting() const { return waiting_; }

  void OnKeyWritten(drivers::Store& store, drivers::Space space, std::string_view key,
                    bool all) override;
  // Fills of `store` whose lease is held elsewhere re-read their key now (a fill whose holder is
  // a client of this daemon waits for that client's write).
  void OnRemoteChange(drivers::Store& store) override;

 private:
  struct Waiter;
  struct Fill;

  Fill* Find(const StoreKey& key, uint64_t generation);
  void Advance(const StoreKey& key);
  void OnLeaseDecided(const StoreKey& key, uint64_t generation, uint64_t waiter_id,
                      const std::string& token, const Status& status, bool taken);
  void ConfirmAbsent(const StoreKey& key, Fill& fill, uint64_t waiter_id);
  void GrantTo(const StoreKey& key, Fill& fill);
  // Reads the key: its value goes to the waiters. `after_write`: a write (or FORGET) of the key
  // prompted it, so an absent value means the holder gave the fill up; otherwise (a poll, a
  // lease record that changed elsewhere) an absent value ends no lease held here.
  void Recheck(const StoreKey& key, uint64_t generation, bool after_write = false);
  void OnChecked(const StoreKey& key, uint64_t generation, bool after_write, const Status& status,
                 const drivers::Entry* entry);
  void Deliver(const StoreKey& key, std::string value);
  void EndLease(const StoreKey& key, Fill& fill);
  void ClientGone(uint64_t client_id);
  void CancelWaiter(const StoreKey& key, uint64_t waiter_id);
  void Retire(const StoreKey& key);
  void DropRecord(const StoreKey& key, const std::string& token);
  void DropLease(drivers::Store* store, const std::string& lease_key, const std::string& token);
  void DropRefreshes(uint64_t client_id, const drivers::Store* store, std::string_view key);

  Server& server_;
  StoreKeyMap<std::unique_ptr<Fill>> fills_;
  // Which keys each client holds the lease of, to hand them over when it goes away.
  absl::flat_hash_map<uint64_t, std::vector<StoreKey>> held_by_;
  // FLEXIBLE refresh leases per client, newest last; only the last few are kept, since a refresh
  // normally ends with the new value's write, which moots its lease without telling us.
  struct Refresh {
    StoreKey key;
    std::string lease_key;
    std::string token;
  };
  absl::flat_hash_map<uint64_t, std::deque<Refresh>> refreshes_by_;
  uint64_t next_id_ = 1;  // waiter ids and fill generations
  size_t active_leases_ = 0;
  size_t waiting_ = 0;
};

}  // namespace arvel::server
