#pragma once
// The Store interface: what every backing store (array, file, database, redis, null) provides.
//
// The whole cache model — Redis string commands, the Arvel facade, tags, locks, throttling — is
// built in the server on a handful of primitives: Read, Update (an atomic read-modify-write of a
// set of keys), Scan, Count, RandomKey and Flush. A driver that makes those atomic gets every
// command atomic; a driver shared between daemons makes Update atomic across them (file locks,
// SQL transactions, Redis WATCH/MULTI or scripts).
//
// Threading and completion: every method is called on the loop thread, and every completion
// callback runs on the loop thread. A synchronous driver (array, null) may run the completion
// before the method returns; callers must cope with both. Borrowed arguments (key views) are
// valid only for the duration of the call: an asynchronous driver copies what it keeps.
// An UpdateFn may run on a worker thread while the driver holds its locks: it must touch only
// its own captures and the KeyUpdates it is given, and it runs at most once.
//
// Unavailability: a store that cannot reach its backend completes every call with an error
// Status carrying errors::StoreUnavailable(name, reason), fast, without running the UpdateFn.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

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

// Told about every key a write changed through this daemon (for WATCH and REMEMBER waiters).
class KeyObserver {
 public:
  virtual ~KeyObserver() = default;
  // `key` is empty with `all == true` after a Flush.
  virtual void OnKeyWritten(class Store& store, Space space, std::string_view key, bool all) = 0;
};

using DoneFn = std::function<void(const Status&)>;
// `entries[i]` is the entry for keys[i], nullptr if absent/expired; pointers live during the call.
using ReadFn = std::function<void(const Status&, std::span<const Entry* const> entries)>;
// Runs under the store's atomicity; `now_ms` is the Unix time in ms the driver judges expiry by.
using UpdateFn = std::function<void(std::span<KeyUpdate> keys, int64_t now_ms)>;
// `next_cursor` 0 means the iteration is complete.
using ScanFn =
    std::function<void(const Status&, uint64_t next_cursor, std::vector<std::string> keys)>;
using CountFn = std::function<void(const Status&, int64_t count)>;
using KeyFn = std::function<void(const Status&, std::optional<std::string> key)>;

class Store {
 public:
  Store(std::string name, std::string driver)
      : name_(std::move(name)), driver_(std::move(driver)) {}
  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& name() const { return name_; }
  const std::string& driver() const { return driver_; }

  // Connects to / opens the backend. A failure leaves the store in place but unavailable.
  virtual void Open(DoneFn done) { done(Status::Ok()); }
  // Finishes work in flight and releases the backend; completes once everything is durable.
  virtual void Close(DoneFn done) { done(Status::Ok()); }
  // OK, or why the store is unavailable right now.
  virtual Status Health() const { return Status::Ok(); }
  // True when every call completes before it returns (array, null): then a sequence of calls
  // made without returning to the loop is isolated from every other client.
  virtual bool completes_inline() const { return false; }
  // Runs `fn` on the loop thread once no call made so far is still in flight (at once if none).
  virtual void WhenIdle(std::function<void()> fn) { fn(); }

  // Looks up `keys` in `space`. Counts hits and misses.
  virtual void Read(Space space, std::span<const std::string_view> keys, ReadFn done) = 0;

  // Atomically: reads `keys` in `space`, lets `fn` decide per key, applies the decisions.
  // No other Read/Update of these keys (by any client of any daemon sharing the backend) sees a
  // state between the read and the write. `done` runs after the writes are durable, or with the
  // error that prevented them (in which case nothing was written).
  virtual void Update(Space space, std::span<const std::string_view> keys, UpdateFn fn,
                      DoneFn done) = 0;

  // Iterates kData keys: a full iteration (cursor 0 back to 0) returns every key present for its
  // whole duration at least once. `count` is a hint of how much work to do.
  virtual void Scan(uint64_t cursor, size_t count, ScanFn done) = 0;
  // Iterates the keys of `space` with Scan's guarantee (the TagReclaimer walks kTagged and
  // kTagVersion with it). The default serves kData through Scan and fails every other space;
  // a driver that keeps tagged items overrides it so their memory can be reclaimed.
  virtual void ScanSpace(Space space, uint64_t cursor, size_t count, ScanFn done) {
    if (space == Space::kData) return Scan(cursor, count, std::move(done));
    done(Status::Error("ERR store '" + name_ + "' cannot scan this key space"), 0, {});
  }
  // Number of live kData keys (may include keys that expired but are not yet reclaimed).
  virtual void Count(CountFn done) = 0;
  // A random live kData key, or nullopt when there is none.
  virtual void RandomKey(KeyFn done) = 0;
  // Removes every key of this store, in every space, and nothing else of a shared backend.
  virtual void Flush(DoneFn done) = 0;

  // Periodic housekeeping (active expiry, reclaiming), called by the server about every 100 ms
  // on the loop thread. Must do a bounded amount of work.
  virtual void Tick(int64_t now_ms) {}

  // Bytes of memory the store's data occupies in this process (INFO used_memory).
  virtual size_t used_memory() const { return 0; }
  virtual size_t max_memory() const { return 0; }
  // Keys currently held, all spaces included, when cheap to know; -1 otherwise.
  virtual int64_t approximate_keys() const { return -1; }

  const StoreStats& stats() const { return stats_; }
  StoreStats& mutable_stats() { return stats_; }

  void set_observer(KeyObserver* observer) { observer_ = observer; }

 protected:
  // Drivers call this on the loop thread for each key a write changed, before `done` runs.
  void KeyWritten(Space space, std::string_view key) {
    if (observer_) observer_->OnKeyWritten(*this, space, key, false);
  }
  void AllKeysWritten() {
    if (observer_) observer_->OnKeyWritten(*this, Space::kData, {}, true);
  }

  StoreStats stats_;

 private:
  std::string name_;
  std::string driver_;
  KeyObserver* observer_ = nullptr;
};

// The current Unix time in milliseconds (the clock every driver judges expiry by).
int64_t NowMs();

}  // namespace arvel::drivers
