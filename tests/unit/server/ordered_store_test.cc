// Pipelines over a store that keeps order (StoreCapabilities::keeps_order; the redis store with
// one connection): a connection's commands that make one store call each — GET, SET, PUT… —
// all go to the store at once instead of each write waiting for the calls before it, and the
// replies are still those of running them one after another. Commands that make several calls
// (TAGS …) still hold back the commands behind them. The store here applies each call the
// moment it is made (so in order) but completes it only on a timer a few milliseconds later,
// newest first; it counts the calls in flight.

#include <gtest/gtest.h>
#include <uv.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "drivers/array_store.h"
#include "server/server.h"
#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

class DelayedCompletionStore : public drivers::Store {
 public:
  DelayedCompletionStore(std::string name, uv_loop_t* loop, bool keeps_order)
      : Store(name, "delayed"), inner_(name) {
    capabilities_.keeps_order = keeps_order;
    uv_timer_init(loop, &timer_);
    timer_.data = this;
  }

  void Close(drivers::DoneFn done) override {
    CompleteAll();
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    done(Status::Ok());
  }

  void Read(drivers::Space space, std::span<const std::string_view> keys,
            drivers::ReadFn done) override {
    std::vector<std::optional<drivers::Entry>> copies;
    inner_.Read(space, keys, [&](const Status&, std::span<const drivers::Entry* const> entries) {
      for (const drivers::Entry* entry : entries) {
        copies.push_back(entry ? std::optional(*entry) : std::nullopt);
      }
    });
    Later([copies = std::move(copies), done = std::move(done)] {
      std::vector<const drivers::Entry*> found;
      for (const auto& entry : copies) found.push_back(entry ? &*entry : nullptr);
      done(Status::Ok(), found);
    });
  }
  void Execute(drivers::Operation operation, drivers::OpDone done) override {
    inner_.Execute(std::move(operation), [&](const Status& status, drivers::OpResult result) {
      Later([status, result = std::move(result), done = std::move(done)]() mutable {
        done(status, std::move(result));
      });
    });
  }
  void Update(drivers::Space space, std::span<const std::string_view> keys, drivers::UpdateFn fn,
              drivers::DoneFn done) override {
    inner_.Update(space, keys, std::move(fn), std::move(done));
  }
  void Scan(uint64_t cursor, size_t count, drivers::ScanFn done) override {
    inner_.Scan(cursor, count, std::move(done));
  }
  void ScanSpace(drivers::Space space, uint64_t cursor, size_t count,
                 drivers::ScanFn done) override {
    inner_.ScanSpace(space, cursor, count, std::move(done));
  }
  void Count(drivers::CountFn done) override { inner_.Count(std::move(done)); }
  void RandomKey(drivers::KeyFn done) override { inner_.RandomKey(std::move(done)); }
  void Flush(drivers::DoneFn done) override { inner_.Flush(std::move(done)); }

  // Loop thread; read once the loop has stopped.
  size_t max_in_flight() const { return max_in_flight_; }

 private:
  void Later(std::function<void()> complete) {
    queued_.push_back(std::move(complete));
    max_in_flight_ = std::max(max_in_flight_, queued_.size());
    if (queued_.size() == 1) {
      uv_timer_start(
          &timer_,
          [](uv_timer_t* t) { static_cast<DelayedCompletionStore*>(t->data)->CompleteAll(); }, 5,
          0);
    }
  }
  // Newest first: keeping order promises the order calls take effect in, not the order they
  // complete in.
  void CompleteAll() {
    std::deque<std::function<void()>> now;
    now.swap(queued_);
    for (auto it = now.rbegin(); it != now.rend(); ++it) (*it)();
  }

  drivers::ArrayStore inner_;
  uv_timer_t timer_{};
  std::deque<std::function<void()>> queued_;
  size_t max_in_flight_ = 0;
};

// A server whose default store is a DelayedCompletionStore named "delayed".
class DelayedServer {
 public:
  explicit DelayedServer(bool keeps_order) : server_(Config()) {
    auto store = std::make_unique<DelayedCompletionStore>("delayed", server_.loop(), keeps_order);
    store_ = store.get();
    server_.AddStoreForTesting(std::move(store));
    Status listening = server_.Listen();
    if (!listening.ok()) throw std::runtime_error(listening.message());
    thread_ = std::thread([this] { server_.Run(); });
  }
  ~DelayedServer() { Stop(); }
  void Stop() {
    if (!thread_.joinable()) return;
    server_.RequestShutdown();
    thread_.join();
  }
  Client Connect() {
    Client client(server_.port());
    EXPECT_EQ(Text(client.Command({"STORE", "delayed"})), "+OK");
    return client;
  }
  // After Stop().
  size_t max_in_flight() const { return store_->max_in_flight(); }

 private:
  static config::Config Config() { return TestConfig(); }

  server::Server server_;
  DelayedCompletionStore* store_;
  std::thread thread_;
};

std::vector<std::vector<std::string>> Writes(int n) {
  std::vector<std::vector<std::string>> commands;
  for (int i = 0; i < n; ++i) commands.push_back({"SET", "k", std::to_string(i)});
  return commands;
}

TEST(OrderedStoreTest, PipelinedWritesGoToAStoreThatKeepsOrderTogether) {
  DelayedServer server(/*keeps_order=*/true);
  Client client = server.Connect();
  auto commands = Writes(16);
  commands.push_back({"GET", "k"});
  commands.push_back({"INCR", "n"});
  commands.push_back({"GET", "n"});
  commands.push_back({"PUT", "k", "last", "60"});
  commands.push_back({"GET", "k"});
  std::vector<Reply> replies = client.Pipeline(commands);
  ASSERT_EQ(replies.size(), commands.size());
  for (int i = 0; i < 16; ++i) EXPECT_EQ(Text(replies[i]), "+OK");
  EXPECT_EQ(Text(replies[16]), "$15");
  EXPECT_EQ(Text(replies[17]), ":1");
  EXPECT_EQ(Text(replies[18]), "$1");
  EXPECT_EQ(Text(replies[19]), "+OK");
  EXPECT_EQ(Text(replies[20]), "$last");
  server.Stop();
  EXPECT_GE(server.max_in_flight(), 16u);
}

TEST(OrderedStoreTest, WithoutOrderEachWriteWaitsForTheCallsBeforeIt) {
  DelayedServer server(/*keeps_order=*/false);
  Client client = server.Connect();
  auto commands = Writes(8);
  commands.push_back({"GET", "k"});
  std::vector<Reply> replies = client.Pipeline(commands);
  ASSERT_EQ(replies.size(), commands.size());
  EXPECT_EQ(Text(replies.back()), "$7");
  server.Stop();
  EXPECT_EQ(server.max_in_flight(), 1u);
}

TEST(OrderedStoreTest, CommandsOfSeveralCallsStillHoldBackWhatFollows) {
  DelayedServer server(/*keeps_order=*/true);
  Client client = server.Connect();
  // TAGS … PUT reads the tags' generations, then writes the item: the GET behind it must not
  // read before that second call.
  std::vector<Reply> replies = client.Pipeline({{"TAGS", "t", "PUT", "a", "1"},
                                                {"TAGS", "t", "GET", "a"},
                                                {"TAGS", "t", "FLUSH"},
                                                {"TAGS", "t", "GET", "a"},
                                                {"SET", "plain", "v"},
                                                {"GET", "plain"}});
  ASSERT_EQ(replies.size(), 6u);
  EXPECT_EQ(Text(replies[0]), "+OK");
  EXPECT_EQ(Text(replies[1]), "$1");
  EXPECT_EQ(Text(replies[2]), "+OK");
  EXPECT_EQ(Text(replies[3]), "(nil)");
  EXPECT_EQ(Text(replies[5]), "$v");
}

}  // namespace
}  // namespace arvel::testing
