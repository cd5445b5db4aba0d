#pragma once
// The value types of the Store interface (store.h): key spaces, entries, per-key decisions,
// counters. Separate so that operation.h and the pure decision modules can use them without
// the interface itself.

#include <cstdint>
#include <string>
#include <string_view>

namespace arvel::drivers {

// Key namespaces. Plain commands (GET, PUT, SET, KEYS, SCAN, DBSIZE…) see only kData; the other
// spaces hold the cache model's own records and never collide with user keys.
enum class Space : uint8_t {
  kData = 0,    // user keys
  kTagged,      // items stored under a tag set (key is derived from tag versions + user key)
  kTagVersion,  // one record per tag: its current generation
  kLock,        // atomic locks: value = owner token
  kThrottle,    // rate limiter counters
  kLease,       // REMEMBER fill leases (shared drivers only)
};
inline constexpr int kSpaceCount = 6;

struct Entry {
  std::string value;
  int64_t expire_at_ms = 0;  // absolute Unix time in milliseconds; 0 = never expires
};

// One key inside an Update: what the store holds now, and what the update function decides.
struct KeyUpdate {
  enum class Action : uint8_t { kKeep, kPut, kErase, kExpire };

  std::string_view key;
  const Entry* current = nullptr;  // nullptr: absent or already expired
  Action action = Action::kKeep;
  std::string value;         // with kPut
  int64_t expire_at_ms = 0;  // with kPut and kExpire (0 = never)

  void Put(std::string v, int64_t expire_at) {
    action = Action::kPut;
    value = std::move(v);
    expire_at_ms = expire_at;
  }
  void Erase() { action = Action::kErase; }
  // Changes only the expiry of the existing entry (no copy of its value). Requires current.
  void Expire(int64_t expire_at) {
    action = Action::kExpire;
    expire_at_ms = expire_at;
  }
};

// Counters for INFO. Drivers update them; the server reads them.
struct StoreStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;
  uint64_t expired = 0;
  uint64_t errors = 0;
  uint64_t writes = 0;
};

}  // namespace arvel::drivers
