// Every cache command is one store operation (drivers/operation.h): a store that counts the calls
// it gets shows one Execute per PUT, SET, FORGET, INCREMENT, LOCK ACQUIRE/RELEASE and THROTTLE
// ATTEMPT, no read before it, and a blind write where the command's meaning needs no old value
// (so a remote engine can run each as one native command or script, and a SQL store as one
// statement).

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "drivers/array_store.h"
#include "server/server.h"
#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

// An ArrayStore that records what the server asks of it. Loop thread only; the test reads the
// record after the server stopped.
class CountingStore : public drivers::ArrayStore {
 public:
  explicit CountingStore(std::string name) : ArrayStore(std::move(name)) {}

  void Read(drivers::Space space, std::span<const std::string_view> keys,
            drivers::ReadFn done) override {
    calls.push_back("read");
    ArrayStore::Read(space, keys, std::move(done));
  }
  void ReadValues(drivers::Space space, std::span<const std::string_view> keys,
                  drivers::ReadFn done) override {
    calls.push_back("readvalues");
    ArrayStore::Read(space, keys, std::move(done));
  }
  void Execute(drivers::Operation operation, drivers::OpDone done) override {
    std::string name(drivers::NameOf(operation));
    if (drivers::IsBlindWrite(operation)) name += "(blind)";
    calls.push_back(name);
    ArrayStore::Execute(std::move(operation), std::move(done));
  }

  std::vector<std::string> calls;
};

class OperationCountTest : public ::testing::Test {
 protected:
  OperationCountTest() : server_(TestConfig()) {
    auto store = std::make_unique<CountingStore>("counting");
    store_ = store.get();
    server_.AddStoreForTesting(std::move(store));
    Status listening = server_.Listen();
    if (!listening.ok()) throw std::runtime_error(listening.message());
    thread_ = std::thread([this] { server_.Run(); });
  }
  ~OperationCountTest() override { Stop(); }

  void Stop() {
    if (!thread_.joinable()) return;
    server_.RequestShutdown();
    thread_.join();
  }

  server::Server server_;
  std::thread thread_;
  CountingStore* store_ = nullptr;
};

TEST_F(OperationCountTest, EachCacheCommandIsOneOperationAndBlindWritesDoNotRead) {
  const std::vector<std::vector<std::string>> commands = {
      {"PUT", "k", "v", "60"},
      {"SET", "k", "v"},
      {"FORGET", "k"},
      {"INCREMENT", "n"},
      {"LOCK", "ACQUIRE", "job", "10", "OWNER", "t1"},
      {"LOCK", "RELEASE", "job", "t1"},
      {"THROTTLE", "ATTEMPT", "login", "5", "60"},
      {"GET", "n"},
  };
  Client client(server_.port());
  ASSERT_EQ(Text(client.Command({"STORE", "counting"})), "+OK");
  for (const auto& command : commands) client.Command(command);
  Stop();
  const std::vector<std::string> expected = {
      "set(blind)", "set(blind)", "delete", "increment", "acquire", "releaseif", "windowhit",
      "readvalues",
  };
  EXPECT_EQ(store_->calls, expected);
}

TEST_F(OperationCountTest, ConditionalWritesAreOneOperationToo) {
  Client client(server_.port());
  ASSERT_EQ(Text(client.Command({"STORE", "counting"})), "+OK");
  client.Command({"SET", "k", "v", "NX", "GET"});
  client.Command({"ADD", "a", "v", "60"});
  client.Command({"PULL", "a"});
  client.Command({"EXPIRE", "k", "10", "GT"});
  client.Command({"MSET", "x", "1", "y", "2"});
  client.Command({"DEL", "x", "y", "x"});
  Stop();
  const std::vector<std::string> expected = {"set",    "set",        "take",
                                             "expire", "setmany(blind)", "delete"};
  EXPECT_EQ(store_->calls, expected);
}

TEST_F(OperationCountTest, BitmapWritesRenameAndCopyAreOneOperationAndReadsOneRead) {
  Client client(server_.port());
  ASSERT_EQ(Text(client.Command({"STORE", "counting"})), "+OK");
  client.Command({"SETBIT", "b", "7", "1"});
  client.Command({"RENAME", "b", "c"});
  client.Command({"RENAMENX", "c", "d"});
  client.Command({"COPY", "d", "e", "REPLACE"});
  client.Command({"BITCOUNT", "e", "0", "-1", "BIT"});
  client.Command({"LCS", "d", "e", "IDX"});
  Stop();
  const std::vector<std::string> expected = {"setbit", "rename",     "rename",
                                             "copy",   "readvalues", "readvalues"};
  EXPECT_EQ(store_->calls, expected);
}

}  // namespace
}  // namespace arvel::testing
