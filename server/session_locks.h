#pragma once
// LOCK ACQUIRE / BLOCK … SESSION and FUNNEL ACQUIRE … SESSION: locks and funnel slots given back
// the moment the connection that took them goes away, so a crashed worker's lock or slot is free
// at once rather than when its TTL runs out. Both are ordinary kLock records; this registry only
// remembers, per client, which ones to give back, and gives back each with a compare-and-delete
// of its token (op::ReleaseIf, or op::Funnel's release of one slot) — an ordinary write, so LOCK
// BLOCK waiters of this daemon wake as after any LOCK RELEASE, and those of other daemons as their
// store tells them. A daemon that dies without closing its connections (kill -9) releases nothing:
// its session locks end with their TTL. Everything runs on the loop thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "drivers/store.h"
#include "server/lock_waiters.h"

namespace arvel::server {

class Server;

class SessionLocks {
 public:
  // Subscribes to clients going away.
  explicit SessionLocks(Server& server);

  // `client_id` took lock `key` (its kLock key) of `store` — or a slot of the funnel `key` —
  // for `token` with SESSION.
  void Add(uint64_t client_id, drivers::Store& store, std::string key, std::string token,
           HoldKind kind = HoldKind::kLock);
  // LOCK RELEASE (or FUNNEL RELEASE) of `key` with `token` — or, with `token` empty, LOCK
  // FORCERELEASE — by any client: the lock or slot is no longer the session's to give back (the
  // token may even come back later without SESSION, and must then not be released on close).
  void Forget(const drivers::Store& store, std::string_view key, std::string_view token);

 private:
  struct Held {
    StoreKey lock;
    std::string token;
    HoldKind kind = HoldKind::kLock;
  };

  void ClientGone(uint64_t client_id);

  Server& server_;
  absl::flat_hash_map<uint64_t, std::vector<Held>> held_by_;  // by client
  StoreKeyMap<std::vector<uint64_t>> holders_;                // clients with an entry, by lock
};

}  // namespace arvel::server
