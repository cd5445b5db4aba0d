#pragma once
// Driving a RedisStore from a test: a libuv loop run on the test thread until a completion
// arrives, and synchronous wrappers over the asynchronous Store calls.

#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "drivers/redis_store.h"
#include "tests/unit/drivers/redis_test_server.h"

namespace arvel::drivers::testing {

using arvel::testing::RedisTestServer;

// A loop of the test's own. Destroy the stores on it first.
class TestLoop {
 public:
  TestLoop() { uv_loop_init(&loop_); }
  ~TestLoop() {
    for (int i = 0; i < 100 && uv_run(&loop_, UV_RUN_NOWAIT) != 0; ++i) {
    }
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open on the loop";
  }
  uv_loop_t* get() { return &loop_; }

  // Runs the loop until `done()` or `timeout_ms` passed; whether `done()` came true.
  bool RunUntil(const std::function<bool()>& done, int64_t timeout_ms = 5000) {
    auto* keepalive = new uv_timer_t;
    uv_timer_init(&loop_, keepalive);
    uv_timer_start(keepalive, [](uv_timer_t*) {}, 1, 1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done() && std::chrono::steady_clock::now() < deadline) uv_run(&loop_, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(keepalive),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    uv_run(&loop_, UV_RUN_NOWAIT);
    return done();
  }
  // Lets the loop run for `ms`.
  void RunFor(int64_t ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    RunUntil([&] { return std::chrono::steady_clock::now() >= until; }, ms + 1000);
  }

 private:
  uv_loop_t loop_;
};

inline RedisStoreOptions OptionsFor(int port, std::string prefix) {
  RedisStoreOptions options;
  options.port = port;
  options.prefix = std::move(prefix);
  options.default_ttl_s = 0;
  return options;
}

// A prefix no other test of this binary uses.
inline std::string UniquePrefix(std::string_view base) {
  static std::atomic<int> next{0};
  return std::string(base) + std::to_string(getpid()) + "_" + std::to_string(next++);
}

// Opens a store and waits for Open's completion; its status in `*opened` when given.
inline std::unique_ptr<RedisStore> OpenRedis(TestLoop& loop, RedisStoreOptions options,
                                             Status* opened = nullptr,
                                             std::string name = "redis") {
  auto store = std::make_unique<RedisStore>(std::move(name), loop.get(), std::move(options));
  std::optional<Status> status;
  store->Open([&](const Status& s) { status = s; });
  EXPECT_TRUE(loop.RunUntil([&] { return status.has_value(); }));
  if (opened) *opened = status.value_or(Status::Error("no completion"));
  return store;
}

// Closes a store and waits for it.
inline void CloseRedis(TestLoop& loop, Store& store) {
  bool closed = false;
  store.Close([&](const Status&) { closed = true; });
  EXPECT_TRUE(loop.RunUntil([&] { return closed; }));
}

inline std::pair<Status, OpResult> Exec(TestLoop& loop, Store& store, Operation operation) {
  std::optional<std::pair<Status, OpResult>> outcome;
  store.Execute(std::move(operation), [&](const Status& status, OpResult result) {
    outcome.emplace(status, std::move(result));
  });
  EXPECT_TRUE(loop.RunUntil([&] { return outcome.has_value(); })) << "no completion";
  return outcome.value_or(std::make_pair(Status::Error("ERR no completion"), OpResult{}));
}

// Read (values and expiries) or ReadValues (`values_only`).
inline std::pair<Status, std::vector<std::optional<Entry>>> ReadKeys(
    TestLoop& loop, Store& store, Space space, std::vector<std::string> keys,
    bool values_only = false) {
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::optional<std::pair<Status, std::vector<std::optional<Entry>>>> outcome;
  auto done = [&](const Status& status, std::span<const Entry* const> entries) {
    std::vector<std::optional<Entry>> copied;
    for (const Entry* e : entries) copied.push_back(e ? std::optional<Entry>(*e) : std::nullopt);
    outcome.emplace(status, std::move(copied));
  };
  if (values_only) {
    store.ReadValues(space, views, done);
  } else {
    store.Read(space, views, done);
  }
  EXPECT_TRUE(loop.RunUntil([&] { return outcome.has_value(); })) << "no completion";
  return outcome.value_or(std::make_pair(Status::Error("ERR no completion"),
                                         std::vector<std::optional<Entry>>{}));
}

inline std::optional<Entry> ReadOne(TestLoop& loop, Store& store, Space space, std::string key) {
  auto [status, entries] = ReadKeys(loop, store, space, {std::move(key)});
  EXPECT_TRUE(status.ok()) << status.message();
  return entries.empty() ? std::nullopt : entries[0];
}

}  // namespace arvel::drivers::testing
