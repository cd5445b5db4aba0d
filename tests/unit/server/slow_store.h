#pragma once
// SlowStore: a BlockingStore over an in-memory map whose reads take `read_delay` and whose writes
// take `write_delay`, on `threads` workers — a disk or database that serves requests in parallel,
// or (one worker) one at a time. Its Probe records the most calls in flight at once and whether a
// write ever overlapped another call. SlowStoreServer runs a server (array store by default) with
// a SlowStore named "slow" added, on a thread of its own.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "drivers/blocking_store.h"
#include "server/server.h"
#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {

struct SlowStoreOptions {
  size_t threads = 16;
  std::chrono::milliseconds read_delay{10};
  std::chrono::milliseconds write_delay{10};
};

class SlowStore : public drivers::BlockingStore {
 public:
  struct Probe {
    std::atomic<int> in_flight{0};
    std::atomic<int> writes_in_flight{0};
    std::atomic<int> max_in_flight{0};
    std::atomic<bool> write_overlapped{false};
  };

  // `probe` must outlive the store's calls.
  SlowStore(std::string name, uv_loop_t* loop, SlowStoreOptions options, Probe* probe)
      : BlockingStore(std::move(name), "slow", loop, options.threads),
        options_(options),
        probe_(probe) {
    DeclareExclusive();  // only this test's daemon uses it: MULTI/WATCH as in Redis
  }

 protected:
  using Space = drivers::Space;
  using Entry = drivers::Entry;

  Status OpenBackend(size_t) override { return Status::Ok(); }

  Status ReadBlocking(size_t, Space space, const std::vector<std::string>& keys, int64_t,
                      std::vector<std::optional<Entry>>* entries) override {
    Call call(probe_, false);
    std::this_thread::sleep_for(options_.read_delay);  // the slowness under test
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
    Call call(probe_, true);
    std::this_thread::sleep_for(options_.write_delay);  // the slowness under test
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
      using Action = drivers::KeyUpdate::Action;
      if (updates[i].action == Action::kPut) {
        data_[{space, keys[i]}] = Entry{updates[i].value, updates[i].expire_at_ms};
        (*changed)[i] = true;
      } else if (updates[i].action == Action::kErase) {
        (*changed)[i] = data_.erase({space, keys[i]}) > 0;
      } else if (updates[i].action == Action::kExpire) {
        data_[{space, keys[i]}].expire_at_ms = updates[i].expire_at_ms;
        (*changed)[i] = true;
      }
    }
    return Status::Ok();
  }

  Status ScanSpaceBlocking(size_t, Space, uint64_t, size_t, int64_t,
                           drivers::ScanPage* page) override {
    Call call(probe_, false);
    std::lock_guard lock(mu_);
    page->next_cursor = 0;
    for (const auto& [key, entry] : data_) {
      if (key.first == Space::kData) page->keys.push_back(key.second);
    }
    return Status::Ok();
  }
  Status CountBlocking(size_t, int64_t, int64_t* count) override {
    Call call(probe_, false);
    std::lock_guard lock(mu_);
    *count = static_cast<int64_t>(std::count_if(
        data_.begin(), data_.end(), [](const auto& kv) { return kv.first.first == Space::kData; }));
    return Status::Ok();
  }
  Status RandomKeyBlocking(size_t, int64_t, std::optional<std::string>*) override {
    return Status::Ok();
  }
  Status FlushBlocking(size_t) override {
    Call call(probe_, true);
    std::this_thread::sleep_for(options_.write_delay);  // the slowness under test
    std::lock_guard lock(mu_);
    data_.clear();
    return Status::Ok();
  }

 private:
  // Counts one call in flight for its lifetime.
  class Call {
   public:
    Call(Probe* probe, bool write) : probe_(probe), write_(write) {
      const int now = ++probe_->in_flight;
      int max = probe_->max_in_flight;
      while (now > max && !probe_->max_in_flight.compare_exchange_weak(max, now)) {
      }
      if (write_) ++probe_->writes_in_flight;
      if (probe_->writes_in_flight > 0 && now > 1) probe_->write_overlapped = true;
    }
    ~Call() {
      if (write_) --probe_->writes_in_flight;
      --probe_->in_flight;
    }

   private:
    Probe* probe_;
    bool write_;
  };

  const SlowStoreOptions options_;
  Probe* const probe_;
  std::mutex mu_;
  std::map<std::pair<Space, std::string>, Entry> data_;  // GUARDED_BY(mu_)
};

class SlowStoreServer {
 public:
  explicit SlowStoreServer(SlowStoreOptions options = {}, config::Config config = TestConfig())
      : server_(std::move(config)) {
    server_.AddStoreForTesting(
        std::make_unique<SlowStore>("slow", server_.loop(), options, &probe_));
    Status listening = server_.Listen();
    if (!listening.ok()) throw std::runtime_error(listening.message());
    thread_ = std::thread([this] { server_.Run(); });
  }
  ~SlowStoreServer() {
    server_.RequestShutdown();
    thread_.join();
  }
  SlowStoreServer(const SlowStoreServer&) = delete;
  SlowStoreServer& operator=(const SlowStoreServer&) = delete;

  int port() const { return server_.port(); }
  Client Connect() const { return Client(port()); }
  // A client whose current store is "slow".
  Client ConnectSlow() const {
    Client client(port());
    if (Text(client.Command({"STORE", "slow"})) != "+OK") throw std::runtime_error("STORE slow");
    return client;
  }
  SlowStore::Probe& probe() { return probe_; }

 private:
  SlowStore::Probe probe_;  // before the server: the store's calls use it until it stops
  server::Server server_;
  std::thread thread_;
};

}  // namespace arvel::testing
