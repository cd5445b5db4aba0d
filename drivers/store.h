#pragma once
// The Store interface: what every backing store (array, file, database, redis, null) provides.
//
// Reads are Read / ReadValues. Every write the cache model makes — Redis string commands, the
// Arvel facade, tags, locks, throttling, leases — is an Operation (operation.h): a value with
// its arguments and a typed result, handed to Execute. A driver with local atomicity runs every
// operation through the generic executor (local_executor.h) on top of its Update, an atomic
// read-modify-write of a set of keys; a remote engine (redis) maps each operation to one native
// command or script. Scan, Count, RandomKey and Flush complete the interface.
//
// Threading and completion: every method is called on the loop thread, and every completion
// callback runs on the loop thread. A synchronous driver (array, null) may run the completion
// before the method returns; callers must cope with both. Borrowed arguments (key views) are
// valid only for the duration of the call: an asynchronous driver copies what it keeps.
// An UpdateFn may run on a worker thread while the driver holds its locks: it must touch only
// its own captures and the KeyUpdates it is given, and it runs at most once.
//
// Order: calls in flight together may complete, and take effect, in any order (a driver may
// spread them over worker threads or upstream connections), unless the store says it keeps
// order (StoreCapabilities::keeps_order). The server orders what must be ordered: a
// connection's write waits for its earlier calls on the store (server/connection.h).
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
#include "drivers/operation.h"
#include "drivers/store_types.h"

namespace arvel::drivers {

// What the server may rely on, instead of asking which driver a store is.
struct StoreCapabilities {
  // Other daemons may change the store's keys (file, database, redis): waits on a key (LOCK
  // BLOCK, REMEMBER) must also learn of changes made elsewhere — through the driver's change
  // notifications when it has them (`notifies_remote_changes`), else by re-checking.
  bool shared = false;
  // The driver tells the observer promptly when other daemons change keys: which keys
  // (KeyObserver::OnKeyWritten; PostgreSQL, redis), or only that some changed
  // (KeyObserver::OnRemoteChange; SQLite, which sees its database file written). Either way a
  // notification may be lost, so waiters still re-check now and then.
  bool notifies_remote_changes = false;
  // Configured (`daemons = "one"`): no other daemon uses this shared backend, so MULTI/EXEC and
  // WATCH keep their Redis meaning through this daemon's store gate.
  bool exclusive = false;
  // The store keeps nothing (null): locks and leases are granted without a record.
  bool keeps_nothing = false;
  // Calls take effect in the order they are made (redis with one pipelined connection): a
  // connection's later command need not wait for an earlier one's completion once that one has
  // made its last call (server/connection.h).
  bool keeps_order = false;
  // The TTL in seconds a facade write without ttl (PUT, ADD, PUTMANY) gets; 0 = none. Arvel's
  // Redis store applies its `ttl` setting so.
  int64_t default_put_ttl_s = 0;

  // Writes through other daemons may land between any two of this daemon's operations, and
  // nothing in this daemon can hold them back (no MULTI/EXEC isolation, no reliable WATCH).
  bool others_may_write() const { return shared && !exclusive; }
};

// Told about every key a write changed (for WATCH, REMEMBER and LOCK waiters): through this
// daemon always; through other daemons when the driver learns of it (notifies_remote_changes).
class KeyObserver {
 public:
  virtual ~KeyObserver() = default;
  // `key` is empty with `all == true` after a Flush.
  virtual void OnKeyWritten(class Store& store, Space space, std::string_view key, bool all) = 0;
  // Another daemon (or this one: the driver cannot tell) changed some keys of `store`, which ones
  // unknown: whoever waits for a change of a key there should look again. Nothing says a key did
  // change, so this is no reason to fail a WATCH. Called at most about once per few milliseconds
  // per store, however many writes there are.
  virtual void OnRemoteChange(class Store& store) {}
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

// What OBJECT and MEMORY USAGE tell about a key besides its entry.
struct KeyFacts {
  // Seconds since the key was last read or written (OBJECT IDLETIME); -1 when the store does
  // not keep access times.
  int64_t idle_s = -1;
  // Bytes the key takes where the store keeps it (MEMORY USAGE): the driver's own count, or an
  // estimate from the key's and value's sizes.
  size_t bytes = 0;
};
// `entry` is nullptr if the key is absent or expired (facts are then meaningless).
using InspectFn = std::function<void(const Status&, const Entry* entry, const KeyFacts& facts)>;

// Keys with an expiry among the kData keys, and their average remaining TTL (INFO keyspace).
struct ExpiryStats {
  int64_t expires = 0;
  int64_t avg_ttl_ms = 0;
};

// While one exists (on the loop thread), reads do not count as accesses of the keys they find:
// no access time, no LRU move. Redis's LOOKUP_NOTOUCH, for TTL, TYPE, EXISTS, OBJECT… and
// clients in CLIENT NO-TOUCH mode. Writes still count.
class NoTouchScope {
 public:
  explicit NoTouchScope(bool active = true);
  ~NoTouchScope();
  NoTouchScope(const NoTouchScope&) = delete;
  NoTouchScope& operator=(const NoTouchScope&) = delete;
  static bool active();

 private:
  bool was_;
};

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

  const StoreCapabilities& capabilities() const { return capabilities_; }
  // The configuration says this daemon is the backend's only user (StoreCapabilities::exclusive).
  void DeclareExclusive() { capabilities_.exclusive = true; }

  // Looks up `keys` in `space`: entries with their values and expiries. Counts hits and misses.
  virtual void Read(Space space, std::span<const std::string_view> keys, ReadFn done) = 0;
  // Like Read, for commands that reply with values only (GET, MGET, EXISTS…): the entries'
  // expire_at_ms may be 0 whatever the keys' expiry, so a remote driver can answer with one
  // plain command. The default reads through Read.
  virtual void ReadValues(Space space, std::span<const std::string_view> keys, ReadFn done) {
    Read(space, keys, std::move(done));
  }

  // Executes one operation (operation.h) atomically; `done` gets its result or error. The
  // default runs it through the generic executor on this store's Update.
  virtual void Execute(Operation operation, OpDone done);

  // The primitive of drivers with local atomicity (what the generic executor builds on); the
  // server never calls it directly. A remote driver that overrides Execute fails it.
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
  // A hint: `keys` of kData will be looked up soon (the requests a client pipelined), so a driver
  // may start loading what it needs into the CPU cache. Changes nothing.
  virtual void Prefetch(std::span<const std::string_view> keys) {}
  // The kData key's entry and facts, without counting as an access or as a hit or miss. The
  // default reads it through Read (counted) and estimates its bytes; idle_s stays -1.
  virtual void Inspect(std::string_view key, InspectFn done);
  // Removes every key of this store, in every space, and nothing else of a shared backend.
  virtual void Flush(DoneFn done) = 0;

  // Periodic housekeeping (active expiry, reclaiming), called by the server about every 100 ms
  // on the loop thread. Must do a bounded amount of work.
  virtual void Tick(int64_t now_ms) {}

  // The Unix time in ms the store judges expiry by: the wall clock, except on a FAKE store that
  // travelled (FakeStore::Travel). Relative times the server reports (TTL, AVAILABLEIN) count
  // from it.
  virtual int64_t now_ms() const;

  // Bytes of memory the store's data occupies in this process (INFO used_memory).
  virtual size_t used_memory() const { return 0; }
  virtual size_t max_memory() const { return 0; }
  // Keys currently held, all spaces included, when cheap to know; -1 otherwise.
  virtual int64_t approximate_keys() const { return -1; }
  // kData keys with an expiry and their average TTL, when the store keeps count; nullopt otherwise.
  virtual std::optional<ExpiryStats> expiry_stats() const { return std::nullopt; }
  // While paused (CLIENT PAUSE WRITE), expired keys are not removed, only hidden: a paused
  // server changes nothing. Stores that remove expired keys themselves honour it.
  virtual void PauseExpiry(bool paused) {}
  // Calls made to the backend so far (each one query or transaction), when the driver counts
  // them; -1 otherwise. Not reset by CONFIG RESETSTAT.
  virtual int64_t backend_calls() const { return -1; }

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
  // Drivers call this on the loop thread when keys may have changed elsewhere, which ones unknown.
  void SomeKeysChanged() {
    if (observer_) observer_->OnRemoteChange(*this);
  }

  StoreStats stats_;
  StoreCapabilities capabilities_;

 private:
  std::string name_;
  std::string driver_;
  KeyObserver* observer_ = nullptr;
};

// The current Unix time in milliseconds (the clock every driver judges expiry by).
int64_t NowMs();

}  // namespace arvel::drivers
