#pragma once
// The driver conformance suite: one set of command tests (conformance_test.cc) that every store
// driver must pass with the same replies, run through the in-process server (server_fixture.h)
// with the driver under test as the default store — in the spirit of LevelDB's
// DBTest::ChangeOptions. A driver is one StoreSetup: a name and the TOML text of a
// configuration whose `default` store is a fresh instance of it.
//
// How to add a driver (in a test file of your own, e.g. conformance_database_test.cc, so the
// suite's bodies stay in one place):
//
//   #include "tests/unit/server/conformance.h"
//
//   namespace arvel::testing {
//   namespace {
//   StoreSetup Sqlite() {
//     StoreSetup setup;
//     setup.name = "sqlite";
//     setup.config = [](const std::string& dir) {
//       return "default = \"sql\"\n[stores.sql]\ndriver = \"database\"\n"
//              "url = \"sqlite://" + dir + "/cache.sqlite\"\n";
//     };
//     return setup;
//   }
//   StoreSetup Postgres() {
//     StoreSetup setup;
//     setup.name = "postgres";
//     setup.config = [](const std::string& dir) { return "…"; };
//     // Evaluated when each test starts; non-empty skips it (GTEST_SKIP) with this reason.
//     setup.skip_reason = [] { return PostgresReachable() ? "" : "PostgreSQL not reachable"; };
//     return setup;
//   }
//   }  // namespace
//   ARVEL_CONFORMANCE_SUITE(Database, Sqlite(), Postgres());
//   }  // namespace arvel::testing
//
// Tests then run as Database/StoreConformanceTest.<Test>/sqlite. `dir` is a fresh directory the
// store may use, removed after the test; the server listens on 127.0.0.1 on an ephemeral port.
// The setup's `extra_settle_ms` lets a driver whose expiry is coarser wait a little longer in
// the expiry tests (0 for every local driver).

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {

struct StoreSetup {
  // Test-name suffix: letters, digits and '_' only.
  std::string name;
  // The TOML text of a configuration whose `default` store is the driver under test, given an
  // empty directory it may use.
  std::function<std::string(const std::string& dir)> config;
  // Optional: a non-empty result skips every test of this setup with that reason.
  std::function<std::string()> skip_reason;
  // Optional: milliseconds added to the waits of the expiry tests.
  int extra_settle_ms = 0;
};

// How GoogleTest prints a setup in failure messages.
inline void PrintTo(const StoreSetup& setup, std::ostream* out) { *out << setup.name; }

// For INSTANTIATE_TEST_SUITE_P's name generator: the setup's name.
inline std::string StoreSetupName(const ::testing::TestParamInfo<StoreSetup>& info) {
  return info.param.name;
}

// The fixture: a server whose default store is a fresh instance of the driver, and a client.
class StoreConformanceTest : public ::testing::TestWithParam<StoreSetup> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Runs one command on the main client: its reply, or its Text (server_fixture.h).
  Reply Command(const std::vector<std::string>& args) { return client_->Command(args); }
  std::string Run(const std::vector<std::string>& args) { return Text(Command(args)); }
  Client& client() { return *client_; }
  ServerFixture& server() { return *server_; }
  Client Connect() { return server_->Connect(); }
  const std::string& dir() const { return dir_; }
  // Stops the daemon and starts a new one on the same configuration (the main client reconnects).
  void Restart();
  // Another daemon on the same configuration (on a shared driver, the same store).
  std::unique_ptr<ServerFixture> AnotherDaemon() const;
  // Milliseconds to wait for an expiry of `ms` to have happened, for this driver.
  int Settle(int ms) const { return ms + GetParam().extra_settle_ms; }

 private:
  std::string dir_;
  std::string config_text_;
  std::unique_ptr<ServerFixture> server_;
  std::unique_ptr<Client> client_;
};

// The same fixture for tests that need a store which outlives its daemon and which another
// daemon on the same configuration shares: every driver but array (conformance_test.cc).
class SharedStoreConformanceTest : public StoreConformanceTest {};

// The setups the suite runs with, for other suites that want every driver
// (fault_injection_test.cc): defined next to their instantiation (conformance_test.cc,
// conformance_database_test.cc, conformance_redis_test.cc). PostgreSQL and redis skip themselves
// when not available.
StoreSetup ArraySetup();
StoreSetup FileSetup();
StoreSetup SqliteSetup();
StoreSetup PostgresSetup();
StoreSetup RedisSetup();

// Instantiates the suite for the given setups: ARVEL_CONFORMANCE_SUITE(Prefix, setup, …).
#define ARVEL_CONFORMANCE_SUITE(prefix, ...)                                             \
  INSTANTIATE_TEST_SUITE_P(prefix, StoreConformanceTest, ::testing::Values(__VA_ARGS__), \
                           StoreSetupName)

}  // namespace arvel::testing
