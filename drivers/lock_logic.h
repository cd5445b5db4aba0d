#pragma once
// Atomic locks and REMEMBER fill leases as decisions over one KeyUpdate.
//
// A lock is one record in Space::kLock: value = the owner's token, expiry = the lock's TTL
// (0 = held until released). Next to it, under FenceKey, a record that never expires counts the
// lock's acquisitions: every acquisition advances it in the same Update, and nothing else writes
// it (RELEASE and FORCERELEASE leave it; FLUSH, which empties the store, starts it again), so
// while the lock is held the counter is its holder's fencing number (LOCK … FENCED, LOCK FENCE).
// A fill lease is one record in Space::kLease: value = the holder's token, expiry = the lease.
// The decisions below are how the generic executor runs the lock and lease operations
// (operation.h) inside Store::Update, so mutual exclusion is exactly the store's atomicity:
// acquiring is a put-if-absent in one Update on every local driver; a remote driver runs the
// same operations as one script. Expired records reach an UpdateFn as absent, so an expired lock
// is free without anyone having to remove it.
//
// The decisions touch only their arguments: they are safe on a driver's worker thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"
#include "drivers/store.h"

namespace arvel::drivers {

// What an acquire decision saw and did.
struct LockAttempt {
  bool acquired = false;
  // When the lock now expires (ours when acquired, the holder's otherwise); 0 = never.
  int64_t expire_at_ms = 0;
  // The fencing number the acquisition took (0 when it did not acquire).
  int64_t fence = 0;
};

// The kLock key of lock `name`, and the key of that lock's fencing counter. Lock keys are the
// names themselves, except that a name starting with byte 0xff gets one more in front; counter
// keys start with 0xff and another byte. So no lock name reaches a counter, whatever its bytes.
std::string LockKey(std::string_view name);
std::string FenceKey(std::string_view lock_key);
// The kLock key of funnel `name` (drivers/funnel_logic.h): 0xff, a third byte, then the name,
// so it meets neither a lock nor a counter.
std::string FunnelKey(std::string_view name);
// The number a fencing counter record holds; 0 when there is none (or it does not parse).
int64_t FenceOf(const Entry* counter);

// The absolute expiry of a record that lasts `ttl_ms` from `now_ms`; 0 (never) when ttl_ms is 0.
// Saturates instead of overflowing. REQUIRES: ttl_ms >= 0.
int64_t ExpiryAfter(int64_t now_ms, int64_t ttl_ms);

// Takes the lock for `token` when nobody holds it, for `ttl_ms` (0 = until released). A lock
// already held — by anyone, `token` included — is left alone (Laravel's Lock::acquire).
LockAttempt TryAcquireLock(KeyUpdate& lock, std::string_view token, int64_t ttl_ms, int64_t now_ms);
// TryAcquireLock, advancing the lock's fencing counter (its FenceKey record) when it acquires.
LockAttempt TryAcquireFencedLock(KeyUpdate& lock, KeyUpdate& counter, std::string_view token,
                                 int64_t ttl_ms, int64_t now_ms);
// Frees the lock when `token` holds it. True when it did.
bool TryReleaseLock(KeyUpdate& lock, std::string_view token);
// Restarts the lock's TTL (`ttl_ms` from now, 0 = until released) when `token` holds it.
bool TryExtendLock(KeyUpdate& lock, std::string_view token, int64_t ttl_ms, int64_t now_ms);
// Frees the lock whoever holds it. True when it was held.
bool ForceReleaseLock(KeyUpdate& lock);

// Takes the fill lease for `token` for `ttl_ms` (> 0) when the record is absent, or when it
// still names `previous` — a lease this daemon handed out and that has ended (hand-over). An
// empty `previous` matches nothing. True when taken.
bool TryTakeLease(KeyUpdate& lease, std::string_view previous, std::string_view token,
                  int64_t ttl_ms, int64_t now_ms);
// Removes the lease record when it still names `token`. True when removed.
bool DropLease(KeyUpdate& lease, std::string_view token);

// 128 random bits from OpenSSL's CSPRNG as 32 lower-case hex digits; nullopt if the generator
// fails (it has no entropy), which callers report rather than fall back to a guessable token.
std::optional<std::string> NewLockToken();

// Releases `token`'s lock `name` on `store`, ignoring the outcome: gives back a lock that was
// taken for a client that went away before it could be told (nobody else could release it).
void GiveBackLock(Store& store, std::string_view name, std::string token);

}  // namespace arvel::drivers
