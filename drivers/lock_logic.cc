#include "drivers/lock_logic.h"

#include <openssl/rand.h>

#include <limits>
#include <string>

#include "common/numbers.h"

namespace arvel::drivers {

namespace {
constexpr int kTokenBytes = 16;  // 128 bits
// Lock keys that start with kReserved start with it twice; counter keys with kReserved, kFence;
// funnel keys with kReserved, kFunnel.
constexpr char kReserved = '\xff';
constexpr char kFence = 'f';
constexpr char kFunnel = 'n';
}  // namespace

int64_t ExpiryAfter(int64_t now_ms, int64_t ttl_ms) {
  if (ttl_ms == 0) return 0;
  if (now_ms > std::numeric_limits<int64_t>::max() - ttl_ms) {
    return std::numeric_limits<int64_t>::max();
  }
  return now_ms + ttl_ms;
}

std::string LockKey(std::string_view name) {
  if (name.empty() || name.front() != kReserved) return std::string(name);
  return kReserved + std::string(name);
}

std::string FenceKey(std::string_view lock_key) {
  return std::string{kReserved, kFence} + std::string(lock_key);
}

std::string FunnelKey(std::string_view name) {
  return std::string{kReserved, kFunnel} + std::string(name);
}

int64_t FenceOf(const Entry* counter) {
  if (counter == nullptr) return 0;
  return ParseInt64(counter->value).value_or(0);
}

LockAttempt TryAcquireLock(KeyUpdate& lock, std::string_view token, int64_t ttl_ms,
                           int64_t now_ms) {
  if (lock.current != nullptr) return {false, lock.current->expire_at_ms};
  const int64_t expire_at = ExpiryAfter(now_ms, ttl_ms);
  lock.Put(std::string(token), expire_at);
  return {true, expire_at};
}

LockAttempt TryAcquireFencedLock(KeyUpdate& lock, KeyUpdate& counter, std::string_view token,
                                 int64_t ttl_ms, int64_t now_ms) {
  LockAttempt attempt = TryAcquireLock(lock, token, ttl_ms, now_ms);
  if (!attempt.acquired) return attempt;
  const int64_t last = FenceOf(counter.current);
  // Saturating: past 2^63 acquisitions the number could only repeat, never shrink.
  attempt.fence = last == std::numeric_limits<int64_t>::max() ? last : last + 1;
  counter.Put(std::to_string(attempt.fence), 0);
  return attempt;
}

bool TryReleaseLock(KeyUpdate& lock, std::string_view token) {
  if (lock.current == nullptr || lock.current->value != token) return false;
  lock.Erase();
  return true;
}

bool TryExtendLock(KeyUpdate& lock, std::string_view token, int64_t ttl_ms, int64_t now_ms) {
  if (lock.current == nullptr || lock.current->value != token) return false;
  lock.Expire(ExpiryAfter(now_ms, ttl_ms));
  return true;
}

bool ForceReleaseLock(KeyUpdate& lock) {
  if (lock.current == nullptr) return false;
  lock.Erase();
  return true;
}

bool TryTakeLease(KeyUpdate& lease, std::string_view previous, std::string_view token,
                  int64_t ttl_ms, int64_t now_ms) {
  const bool free = lease.current == nullptr;
  const bool handed_over = !free && !previous.empty() && lease.current->value == previous;
  if (!free && !handed_over) return false;
  lease.Put(std::string(token), ExpiryAfter(now_ms, ttl_ms));
  return true;
}

bool DropLease(KeyUpdate& lease, std::string_view token) {
  if (lease.current == nullptr || lease.current->value != token) return false;
  lease.Erase();
  return true;
}

std::optional<std::string> NewLockToken() {
  unsigned char bytes[kTokenBytes];
  if (RAND_bytes(bytes, kTokenBytes) != 1) return std::nullopt;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token(2 * kTokenBytes, '0');
  for (int i = 0; i < kTokenBytes; ++i) {
    token[2 * i] = kHex[bytes[i] >> 4];
    token[2 * i + 1] = kHex[bytes[i] & 0x0f];
  }
  return token;
}

void GiveBackLock(Store& store, std::string_view name, std::string token) {
  store.Execute(op::ReleaseIf{Space::kLock, std::string(name), std::move(token)},
                [](const Status&, OpResult) {});
}

}  // namespace arvel::drivers
