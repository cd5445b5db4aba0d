// The driver conformance suite (conformance.h) on the `redis` driver: one private redis-server
// for the binary (tests/unit/drivers/redis_test_server.h), and a prefix of its own for every
// test, so the tests also show that stores of different prefixes never see each other's keys.
// `ttl = 0`: the suite expects PUT without ttl to keep the key forever (the redis driver's
// default `ttl` is covered by RedisStoreTest).

#include <atomic>
#include <string>

#include "tests/unit/drivers/redis_test_server.h"
#include "tests/unit/server/conformance.h"

namespace arvel::testing {
namespace {

std::atomic<int> next_prefix{0};

}  // namespace

StoreSetup RedisSetup() {
  StoreSetup setup;
  setup.name = "redis";
  setup.config = [](const std::string&) {
    RedisTestServer* redis = SharedRedisServer();
    return "default = \"shared\"\n[stores.shared]\ndriver = \"redis\"\nhost = \"127.0.0.1\"\n"
           "port = " +
           std::to_string(redis ? redis->port() : 1) + "\nprefix = \"conformance" +
           std::to_string(next_prefix++) + "\"\nttl = 0\n";
  };
  setup.skip_reason = [] { return RedisServerInstalled() ? "" : std::string(kNoRedisServer); };
  return setup;
}

ARVEL_CONFORMANCE_SUITE(Redis, RedisSetup());

}  // namespace arvel::testing
