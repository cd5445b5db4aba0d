#pragma once
// FakeStore: what the FAKE command gives a connection (SPEC §4, Laravel's Cache::fake()): a
// private, initially empty array store that also remembers, per kData key, the last value
// written and whether the key was ever written or erased, for ASSERT STORED/MISSING. The
// record survives FLUSH and expiry: it is the history of writes, not the current content.
// Its clock can travel forward (FAKE TRAVEL): expiry, locks, throttle windows and leases all
// judge time by it, so tests of TTL behaviour need no sleeping.

#include <absl/container/flat_hash_map.h>
#include <absl/hash/hash.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "drivers/array_store.h"

namespace arvel::drivers {

class FakeStore : public ArrayStore {
 public:
  explicit FakeStore(std::string name = "fake", ArrayStoreOptions options = {});

  // Moves the store's clock `ms` (>= 0) forward, for good.
  void Travel(int64_t ms) { travelled_ms_ += ms; }

  // The value of the last put of `key` (kData), nullptr if it was never put.
  const std::string* LastWrite(std::string_view key) const;
  // Whether `key` (kData) was ever put.
  bool WasWritten(std::string_view key) const;
  // Whether `key` (kData) was ever removed by a write (erase, or an expiry set in the past).
  bool WasErased(std::string_view key) const;
  // kData key changes recorded so far (puts, erases and expiry changes).
  size_t write_count() const { return write_count_; }

 protected:
  void OnKeyChanged(Space space, std::string_view key, KeyUpdate::Action action,
                    const Entry* entry) override;

 private:
  struct Record {
    bool written = false;
    bool erased = false;
    std::string last_value;  // meaningful when written
  };
  // Debian's abseil has its own string_view type: spell out std::string_view lookups.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return absl::Hash<std::string_view>{}(key); }
  };
  struct KeyEq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
  };
  const Record* Find(std::string_view key) const;

  // The clock's lead over the wall clock (or over the clock the options give).
  int64_t travelled_ms_ = 0;
  absl::flat_hash_map<std::string, Record, KeyHash, KeyEq> records_;
  size_t write_count_ = 0;
};

}  // namespace arvel::drivers
