// A slow store never delays clients of another store (SPEC §6): with a store whose every call
// takes 500 ms kept busy by several clients, PING and GET on the array store still answer within
// a few milliseconds, and the slow store's clients get their (correct) replies in the end.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "drivers/blocking_store.h"
#include "server/server.h"
#include "tests/unit/server/conformance.h"

namespace arvel::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr auto kDelay = milliseconds(500);

// A BlockingStore over a map whose every call sleeps kDelay on its single worker first: a disk
// or database that takes half a second per request.
class SlowStore : public drivers::BlockingStore {
 public:
  SlowStore(std::string name, uv_loop_t* loop)
      : BlockingStore(std::move(name), "slow", loop, /*threads=*/1) {}

 protected:
  using Space = drivers::Space;
  using Entry = drivers::Entry;

  Status OpenBackend(size_t) override { return Status::Ok(); }
  Status ReadBlocking(size_t, Space space, const std::vector<std::string>& keys, int64_t,
                      std::vector<std::optional<Entry>>* entries) override {
    std::this_thread::sleep_for(kDelay);
    std::lock_guard lock(mu_);
    entries->clear();
    for (const std::string& key : keys) {
      auto it = data_.find({space, key});
      entries->push_back(it == data_.end() ? std::nullopt : std::optional(it->second));
    }
    return Status::Ok();
  }
  Status UpdateBlocking(size_t, Space space, const std::vector<std::string>& keys,
                        const drivers::UpdateFn& fn, int64_t now_ms,
                        std::vector<bool>* changed) override {
    std::this_thread::sleep_for(kDelay);
    std::lock_guard lock(mu_);
    std::vector<drivers::KeyUpdate> updates(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      updates[i].key = keys[i];
      auto it = data_.find({space, keys[i]});
      updates[i].current = it == data_.end() ? nullptr : &it->second;
    }
    fn(updates, now_ms);
    changed->assign(keys.size(), false);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (updates[i].action == drivers::KeyUpdate::Action::kPut) {
        data_[{space, keys[i]}] = Entry{updates[i].value, updates[i].expire_at_ms};
        (*changed)[i] = true;
      } else if (updates[i].action == drivers::KeyUpdate::Action::kErase) {
        (*changed)[i] = data_.erase({space, keys[i]}) > 0;
      }
    }
    return Status::Ok();
  }
  Status ScanSpaceBlocking(size_t, drivers::Space, uint64_t, size_t, int64_t,
                           drivers::ScanPage* page) override {
    std::this_thread::sleep_for(kDelay);
    std::lock_guard lock(mu_);
    page->next_cursor = 0;
    for (const auto& [key, entry] : data_) {
      if (key.first == Space::kData) page->keys.push_back(key.second);
    }
    return Status::Ok();
  }
  Status CountBlocking(size_t, int64_t, int64_t* count) override {
    std::this_thread::sleep_for(kDelay);
    std::lock_guard lock(mu_);
    *count = static_cast<int64_t>(std::count_if(
        data_.begin(), data_.end(), [](const auto& kv) { return kv.first.first == Space::kData; }));
    return Status::Ok();
  }
  Status RandomKeyBlocking(size_t, int64_t, std::optional<std::string>* key) override {
    std::this_thread::sleep_for(kDelay);
    return Status::Ok();
  }
  Status FlushBlocking(size_t) override {
    std::this_thread::sleep_for(kDelay);
    std::lock_guard lock(mu_);
    data_.clear();
    return Status::Ok();
  }

 private:
  std::mutex mu_;
  std::map<std::pair<Space, std::string>, Entry> data_;  // GUARDED_BY(mu_)
};

// A server (default config: array store) with a SlowStore named "slow" added, on its own thread.
class SlowStoreServer {
 public:
  SlowStoreServer() : server_(TestConfig()) {
    server_.AddStoreForTesting(std::make_unique<SlowStore>("slow", server_.loop()));
    Status listening = server_.Listen();
    if (!listening.ok()) throw std::runtime_error(listening.message());
    thread_ = std::thread([this] { server_.Run(); });
  }
  ~SlowStoreServer() {
    server_.RequestShutdown();
    thread_.join();
  }
  int port() const { return server_.port(); }

 private:
  server::Server server_;
  std::thread thread_;
};

TEST(SlowStoreTest, ASlowStoreNeverDelaysClientsOfAnotherStore) {
  SlowStoreServer server;
  Client fast(server.port());
  ASSERT_EQ(Text(fast.Command({"SET", "k", "v"})), "+OK");

  // Three clients keep the slow store busy: each of their commands waits for the one before.
  constexpr int kSlowClients = 3;
  std::atomic<int> slow_done{0};
  std::vector<std::string> slow_replies(kSlowClients);
  std::vector<milliseconds> slow_took(kSlowClients);
  std::vector<std::thread> slow;
  for (int c = 0; c < kSlowClients; ++c) {
    slow.emplace_back([&, c] {
      Client client(server.port());
      EXPECT_EQ(Text(client.Command({"STORE", "slow"})), "+OK");
      auto start = steady_clock::now();
      EXPECT_EQ(Text(client.Command({"PUT", "s" + std::to_string(c), "slow-value"})), "+OK");
      slow_replies[c] = Text(client.Command({"GET", "s" + std::to_string(c)}));
      slow_took[c] = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
      ++slow_done;
    });
  }

  // Meanwhile the array store's client measures its latency, command after command.
  milliseconds worst{0};
  int commands = 0;
  std::this_thread::sleep_for(milliseconds(50));  // let the slow commands start
  while (slow_done < kSlowClients) {
    for (const std::vector<std::string>& command :
         {std::vector<std::string>{"PING"}, std::vector<std::string>{"GET", "k"}}) {
      auto start = steady_clock::now();
      std::string reply = Text(fast.Command(command));
      worst =
          std::max(worst, std::chrono::duration_cast<milliseconds>(steady_clock::now() - start));
      EXPECT_TRUE(reply == "+PONG" || reply == "$v") << reply;
      ++commands;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  for (auto& t : slow) t.join();

  EXPECT_GT(commands, 50);
  EXPECT_LT(worst, milliseconds(50)) << "over " << commands << " commands";
  for (int c = 0; c < kSlowClients; ++c) {
    EXPECT_EQ(slow_replies[c], "$slow-value");
    EXPECT_GE(slow_took[c], 2 * kDelay);  // really slow: a PUT and a GET, 500 ms each
  }
}

TEST(SlowStoreTest, RepliesStayInOrderBehindASlowCommand) {
  SlowStoreServer server;
  Client slow_client(server.port());
  ASSERT_EQ(Text(slow_client.Command({"STORE", "slow"})), "+OK");
  // Pipelined: the PING queued behind a slow GET on the same connection answers in order.
  auto start = steady_clock::now();
  redisAppendCommand(slow_client.context(), "GET missing");
  redisAppendCommand(slow_client.context(), "PING");
  void* first = nullptr;
  void* second = nullptr;
  ASSERT_EQ(redisGetReply(slow_client.context(), &first), REDIS_OK);
  ASSERT_EQ(redisGetReply(slow_client.context(), &second), REDIS_OK);
  EXPECT_EQ(static_cast<redisReply*>(first)->type, REDIS_REPLY_NIL);
  EXPECT_EQ(std::string(static_cast<redisReply*>(second)->str), "PONG");
  freeReplyObject(first);
  freeReplyObject(second);
  EXPECT_GE(steady_clock::now() - start, kDelay);
}

}  // namespace
}  // namespace arvel::testing
