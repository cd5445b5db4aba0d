#pragma once
// Synchronous helpers over the Store interface for driver unit tests. The drivers under test
// complete before returning; each helper fails the test if the completion did not run.

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/store.h"

namespace arvel::drivers::testing {

// A manually advanced clock, for ArrayStoreOptions::clock.
struct FakeClock {
  int64_t now_ms = 1'700'000'000'000;
  std::function<int64_t()> Function() {
    return [this] { return now_ms; };
  }
};

inline std::optional<Entry> ReadEntry(Store& store, Space space, std::string_view key) {
  std::optional<Entry> result;
  bool called = false;
  std::string_view keys[] = {key};
  store.Read(space, keys, [&](const Status& status, std::span<const Entry* const> entries) {
    called = true;
    EXPECT_TRUE(status.ok()) << status.message();
    EXPECT_EQ(entries.size(), 1u);
    if (!entries.empty() && entries[0] != nullptr) result = *entries[0];
  });
  EXPECT_TRUE(called);
  return result;
}

inline std::optional<std::string> Get(Store& store, std::string_view key,
                                      Space space = Space::kData) {
  std::optional<Entry> entry = ReadEntry(store, space, key);
  if (!entry) return std::nullopt;
  return entry->value;
}

// Runs one Update over `keys` with `fn`; returns the completion's status.
inline Status RunUpdate(Store& store, Space space, std::vector<std::string_view> keys,
                        UpdateFn fn) {
  std::optional<Status> result;
  store.Update(space, keys, std::move(fn), [&](const Status& status) { result = status; });
  EXPECT_TRUE(result.has_value());
  return result.value_or(Status::Error("ERR no completion"));
}

inline Status Put(Store& store, std::string_view key, std::string value, int64_t expire_at_ms = 0,
                  Space space = Space::kData) {
  return RunUpdate(store, space, {key}, [&](std::span<KeyUpdate> updates, int64_t) {
    updates[0].Put(std::move(value), expire_at_ms);
  });
}

inline Status Erase(Store& store, std::string_view key, Space space = Space::kData) {
  return RunUpdate(store, space, {key},
                   [](std::span<KeyUpdate> updates, int64_t) { updates[0].Erase(); });
}

inline Status SetExpiry(Store& store, std::string_view key, int64_t expire_at_ms,
                        Space space = Space::kData) {
  return RunUpdate(store, space, {key},
                   [&](std::span<KeyUpdate> updates, int64_t) { updates[0].Expire(expire_at_ms); });
}

struct ScanPage {
  uint64_t cursor = 0;
  std::vector<std::string> keys;
};

inline ScanPage ScanOnce(Store& store, uint64_t cursor, size_t count) {
  ScanPage page;
  bool called = false;
  store.Scan(cursor, count,
             [&](const Status& status, uint64_t next, std::vector<std::string> keys) {
               called = true;
               EXPECT_TRUE(status.ok());
               page.cursor = next;
               page.keys = std::move(keys);
             });
  EXPECT_TRUE(called);
  return page;
}

// Every key a full iteration returns (with repetitions).
inline std::vector<std::string> ScanAll(Store& store, size_t count = 10) {
  std::vector<std::string> all;
  uint64_t cursor = 0;
  do {
    ScanPage page = ScanOnce(store, cursor, count);
    all.insert(all.end(), page.keys.begin(), page.keys.end());
    cursor = page.cursor;
  } while (cursor != 0);
  return all;
}

inline int64_t CountKeys(Store& store) {
  int64_t result = -1;
  store.Count([&](const Status& status, int64_t count) {
    EXPECT_TRUE(status.ok());
    result = count;
  });
  return result;
}

inline std::optional<std::string> Random(Store& store) {
  std::optional<std::string> result;
  bool called = false;
  store.RandomKey([&](const Status& status, std::optional<std::string> key) {
    called = true;
    EXPECT_TRUE(status.ok());
    result = std::move(key);
  });
  EXPECT_TRUE(called);
  return result;
}

inline Status FlushStore(Store& store) {
  std::optional<Status> result;
  store.Flush([&](const Status& status) { result = status; });
  EXPECT_TRUE(result.has_value());
  return result.value_or(Status::Error("ERR no completion"));
}

// Records every notification.
class RecordingObserver : public KeyObserver {
 public:
  struct Event {
    Space space;
    std::string key;
    bool all;
  };
  void OnKeyWritten(Store&, Space space, std::string_view key, bool all) override {
    events.push_back({space, std::string(key), all});
  }
  std::vector<Event> events;
};

}  // namespace arvel::drivers::testing
