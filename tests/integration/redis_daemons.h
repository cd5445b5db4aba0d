#pragma once
// Daemons in front of one test redis-server (tests/unit/drivers/redis_test_server.h), for the
// black-box tests of the `redis` store: configuration of a daemon whose default store is a
// redis store, and concurrent load from client threads on several daemons at once.
//
//   testing::RedisTestServer redis;
//   auto daemon = Daemon::Start(RedisDaemonOptions(redis.port(), "app"));

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/daemon.h"

namespace arvel::integration {

// A daemon whose default store `shared` is a redis store on 127.0.0.1:`port` under `prefix`;
// `store_settings` are more lines of [stores.shared], `more` more TOML after it.
inline DaemonOptions RedisDaemonOptions(int port, const std::string& prefix,
                                        const std::string& store_settings = "",
                                        const std::string& more = "") {
  return DaemonOptions().Config(
      "default = \"shared\"\n[stores.shared]\ndriver = \"redis\"\n"
      "host = \"127.0.0.1\"\nport = " +
      std::to_string(port) + "\nprefix = \"" + prefix + "\"\n" + store_settings + more);
}

// Runs `each` `per_client` times on `clients` connections of every daemon at once (one thread
// per connection); the sum of what it returned. `each` gets the connection, the daemon's index
// and the iteration.
inline long long RunOnAll(const std::vector<Daemon*>& daemons, int clients, int per_client,
                          const std::function<long long(Client&, size_t, int)>& each) {
  std::atomic<long long> total{0};
  std::vector<std::thread> threads;
  for (size_t d = 0; d < daemons.size(); ++d) {
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, d, port = daemons[d]->port()] {
        Client client(port);
        for (int i = 0; i < per_client; ++i) total += each(client, d, i);
      });
    }
  }
  for (auto& t : threads) t.join();
  return total.load();
}

// Waits until INFO on `daemon` shows `field` >= `at_least` (clients parked in a wait).
inline bool WaitForInfoField(const Daemon& daemon, const std::string& field, long at_least = 1,
                             milliseconds timeout = milliseconds(5000)) {
  Client info = daemon.Connect();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto fields = ParseInfo(info.Command({"INFO", "all"}).str);
    if (std::atol(fields[field].c_str()) >= at_least) return true;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return false;
}

}  // namespace arvel::integration
