// The fault-injection suite: every command family, on every driver the conformance suite covers
// (conformance.h), with its store wrapped in a FaultStore (fault_store.h). Each row of kRows is one
// command: while the store fails the calls the command makes, the command answers
// "-ERR store 'NAME' unavailable: REASON" (no crash, no hang, no success); once the fault is
// cleared the same connection works, a write acknowledged before the fault is still there, and a
// refused write changed nothing (every driver's operations are atomic: operation.h).

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "config/config.h"
#include "drivers/store_factory.h"
#include "server/server.h"
#include "tests/unit/server/conformance.h"
#include "tests/unit/server/fault_store.h"

namespace arvel::testing {
namespace {

using Command = std::vector<std::string>;
using Calls = Fault::Calls;

// The wrapped store's name, in every error the suite expects.
constexpr char kStoreName[] = "faulty";

struct Check {
  Command command;
  std::string reply;
};

// One command under fault.
struct Row {
  std::string name;            // test-name suffix
  std::vector<Command> setup;  // acknowledged before the fault (each must not fail)
  Command command;             // answered while `calls` fail
  Calls calls;
  std::vector<Check> after;  // once the fault is cleared, on the same connection
  // Then the command again must not fail (off when `after` already repeats it: REMEMBER's lease
  // holder asking again would wait for its own fill).
  bool repeat = true;
};

const std::vector<Row>& Rows() {
  static const std::vector<Row> rows = {
      // strings
      {"GET", {{"SET", "k", "v1"}}, {"GET", "k"}, Calls::kReads, {{{"GET", "k"}, "$v1"}}},
      {"SET", {{"SET", "k", "v1"}}, {"SET", "k", "v2"}, Calls::kWrites, {{{"GET", "k"}, "$v1"}}},
      {"INCR", {{"SET", "n", "5"}}, {"INCR", "n"}, Calls::kWrites, {{{"GET", "n"}, "$5"}}},
      {"APPEND",
       {{"SET", "k", "v1"}},
       {"APPEND", "k", "x"},
       Calls::kWrites,
       {{{"GET", "k"}, "$v1"}}},
      {"MSET",
       {{"SET", "a", "0"}},
       {"MSET", "a", "1", "b", "2"},
       Calls::kWrites,
       {{{"MGET", "a", "b"}, "[$0, (nil)]"}}},
      {"GETDEL", {{"SET", "k", "v1"}}, {"GETDEL", "k"}, Calls::kWrites, {{{"GET", "k"}, "$v1"}}},
      {"SETRANGE",
       {{"SET", "k", "v1"}},
       {"SETRANGE", "k", "1", "xx"},
       Calls::kWrites,
       {{{"GET", "k"}, "$v1"}}},
      {"INCRBYFLOAT",
       {{"SET", "n", "1.5"}},
       {"INCRBYFLOAT", "n", "1"},
       Calls::kWrites,
       {{{"GET", "n"}, "$1.5"}}},
      {"MGET", {{"SET", "a", "1"}}, {"MGET", "a", "b"}, Calls::kReads, {{{"GET", "a"}, "$1"}}},
      // keys
      {"EXISTS", {{"SET", "k", "v1"}}, {"EXISTS", "k"}, Calls::kReads, {{{"GET", "k"}, "$v1"}}},
      {"PERSIST",
       {{"SET", "k", "v1", "EX", "100"}},
       {"PERSIST", "k"},
       Calls::kWrites,
       {{{"GET", "k"}, "$v1"}}},
      // Not repeated: after a rename whose result was lost, "no such key" is the right answer.
      {"RENAME",
       {{"SET", "a", "v1"}},
       {"RENAME", "a", "b"},
       Calls::kWrites,
       {{{"MGET", "a", "b"}, "[$v1, (nil)]"}},
       false},
      {"COPY", {{"SET", "a", "v1"}}, {"COPY", "a", "b"}, Calls::kWrites, {{{"GET", "b"}, "(nil)"}}},
      {"SETBIT",
       {{"SET", "k", "a"}},
       {"SETBIT", "k", "7", "0"},
       Calls::kWrites,
       {{{"GET", "k"}, "$a"}}},
      {"GETBIT", {{"SET", "k", "a"}}, {"GETBIT", "k", "1"}, Calls::kReads, {{{"GET", "k"}, "$a"}}},
      {"LCS",
       {{"MSET", "a", "ohmy", "b", "oh"}},
       {"LCS", "a", "b"},
       Calls::kReads,
       {{{"GET", "b"}, "$oh"}}},
      {"DBSIZE", {{"SET", "k", "v1"}}, {"DBSIZE"}, Calls::kIteration, {{{"DBSIZE"}, ":1"}}},
      {"RANDOMKEY",
       {{"SET", "k", "v1"}},
       {"RANDOMKEY"},
       Calls::kIteration,
       {{{"RANDOMKEY"}, "$k"}}},
      {"FLUSHDB", {{"SET", "k", "v1"}}, {"FLUSHDB"}, Calls::kWrites, {{{"GET", "k"}, "$v1"}}},
      {"DEL", {{"SET", "k", "v1"}}, {"DEL", "k"}, Calls::kWrites, {{{"GET", "k"}, "$v1"}}},
      {"EXPIRE",
       {{"SET", "k", "v1"}},
       {"EXPIRE", "k", "100"},
       Calls::kWrites,
       {{{"TTL", "k"}, ":-1"}}},
      {"TTL",
       {{"SET", "k", "v1", "EX", "100"}},
       {"TTL", "k"},
       Calls::kReads,
       {{{"GET", "k"}, "$v1"}}},
      {"SCAN", {{"SET", "k", "v1"}}, {"SCAN", "0"}, Calls::kIteration, {{{"GET", "k"}, "$v1"}}},
      // the cache facade
      {"PUT",
       {{"PUT", "k", "v1"}},
       {"PUT", "k", "v2", "60"},
       Calls::kWrites,
       {{{"GET", "k"}, "$v1"}}},
      {"ADD",
       {{"PUT", "a", "v1"}},
       {"ADD", "k", "v2"},
       Calls::kWrites,
       {{{"GET", "k"}, "(nil)"}, {{"GET", "a"}, "$v1"}}},
      {"FORGET", {{"PUT", "k", "v1"}}, {"FORGET", "k"}, Calls::kWrites, {{{"GET", "k"}, "$v1"}}},
      {"PUTMANY",
       {{"PUT", "a", "0"}},
       {"PUTMANY", "60", "a", "1", "b", "2"},
       Calls::kWrites,
       {{{"MANY", "a", "b"}, "[$0, (nil)]"}}},
      {"MANY", {{"PUT", "a", "1"}}, {"MANY", "a", "b"}, Calls::kReads, {{{"GET", "a"}, "$1"}}},
      {"PULL", {{"PUT", "k", "v1"}}, {"PULL", "k"}, Calls::kWrites, {{{"GET", "k"}, "$v1"}}},
      {"FOREVER",
       {{"PUT", "k", "v1"}},
       {"FOREVER", "k", "v2"},
       Calls::kWrites,
       {{{"GET", "k"}, "$v1"}}},
      {"INCREMENT",
       {{"PUT", "n", "1"}},
       {"INCREMENT", "n", "5"},
       Calls::kWrites,
       {{{"GET", "n"}, "$1"}}},
      // tags
      {"TAGS_FLUSH",
       {{"TAGS", "t", "PUT", "k", "v1"}},
       {"TAGS", "t", "FLUSH"},
       Calls::kWrites,
       {{{"TAGS", "t", "GET", "k"}, "$v1"}}},
      {"TAGS_PUT",
       {{"TAGS", "t", "PUT", "k", "v1"}},
       {"TAGS", "t", "PUT", "k", "v2"},
       Calls::kWrites,
       {{{"TAGS", "t", "GET", "k"}, "$v1"}}},
      {"TAGS_GET",
       {{"TAGS", "t", "PUT", "k", "v1"}},
       {"TAGS", "t", "GET", "k"},
       Calls::kReads,
       {{{"TAGS", "t", "GET", "k"}, "$v1"}}},
      {"TAGS_PUTMANY",
       {{"TAGS", "t", "PUT", "a", "v0"}},
       {"TAGS", "t", "PUTMANY", "60", "a", "1", "b", "2"},
       Calls::kWrites,
       {{{"TAGS", "t", "MANY", "a", "b"}, "[$v0, (nil)]"}}},
      {"TAGS_TOUCH",
       {{"TAGS", "t", "PUT", "k", "v1"}},
       {"TAGS", "t", "TOUCH", "k", "0"},
       Calls::kWrites,
       {{{"TAGS", "t", "GET", "k"}, "$v1"}}},
      {"TAGS_REMEMBER_HIT",
       {{"TAGS", "t", "PUT", "r", "v1"}},
       {"TAGS", "t", "REMEMBER", "r"},
       Calls::kReads,
       {{{"TAGS", "t", "REMEMBER", "r"}, "$v1"}}},
      // locks
      {"LOCK_ACQUIRE",
       {{"LOCK", "ACQUIRE", "other", "60", "OWNER", "me"}},
       {"LOCK", "ACQUIRE", "job", "60", "OWNER", "me"},
       Calls::kWrites,
       {{{"LOCK", "OWNER", "job"}, "(nil)"}, {{"LOCK", "OWNER", "other"}, "$me"}}},
      {"LOCK_RELEASE",
       {{"LOCK", "ACQUIRE", "job", "60", "OWNER", "me"}},
       {"LOCK", "RELEASE", "job", "me"},
       Calls::kWrites,
       {{{"LOCK", "OWNER", "job"}, "$me"}}},
      {"LOCK_EXTEND",
       {{"LOCK", "ACQUIRE", "job", "60", "OWNER", "me"}},
       {"LOCK", "EXTEND", "job", "me", "100"},
       Calls::kWrites,
       {{{"LOCK", "OWNER", "job"}, "$me"}}},
      {"LOCK_FORCERELEASE",
       {{"LOCK", "ACQUIRE", "job", "60", "OWNER", "me"}},
       {"LOCK", "FORCERELEASE", "job"},
       Calls::kWrites,
       {{{"LOCK", "OWNER", "job"}, "$me"}}},
      {"LOCK_BLOCK",
       {{"LOCK", "ACQUIRE", "other", "60", "OWNER", "me"}},
       {"LOCK", "BLOCK", "job", "60", "1", "OWNER", "me"},
       Calls::kWrites,
       {{{"LOCK", "OWNER", "job"}, "(nil)"}}},
      {"LOCK_FENCE",
       {{"LOCK", "ACQUIRE", "job", "60", "OWNER", "me"}},
       {"LOCK", "FENCE", "job"},
       Calls::kReads,
       {{{"LOCK", "OWNER", "job"}, "$me"}}},
      {"LOCK_ACQUIRE_FENCED",
       {{"LOCK", "ACQUIRE", "other", "60", "OWNER", "me"}},
       {"LOCK", "ACQUIRE", "job", "60", "OWNER", "me", "FENCED"},
       Calls::kWrites,
       {{{"LOCK", "OWNER", "job"}, "(nil)"}, {{"LOCK", "OWNER", "other"}, "$me"}}},
      // funnels
      {"FUNNEL_ACQUIRE",
       {{"FUNNEL", "ACQUIRE", "other", "1", "60"}},
       {"FUNNEL", "ACQUIRE", "jobs", "2", "60"},
       Calls::kWrites,
       {{{"FUNNEL", "COUNT", "jobs"}, ":0"}, {{"FUNNEL", "COUNT", "other"}, ":1"}}},
      {"FUNNEL_COUNT",
       {{"FUNNEL", "ACQUIRE", "jobs", "2", "60"}},
       {"FUNNEL", "COUNT", "jobs"},
       Calls::kReads,
       {{{"FUNNEL", "COUNT", "jobs"}, ":1"}}},
      {"LOCK_OWNER",
       {{"LOCK", "ACQUIRE", "job", "60", "OWNER", "me"}},
       {"LOCK", "OWNER", "job"},
       Calls::kReads,
       {{{"LOCK", "OWNER", "job"}, "$me"}}},
      // throttling
      {"THROTTLE_TOOMANY",
       {{"THROTTLE", "HIT", "api", "60"}},
       {"THROTTLE", "TOOMANY", "api", "5"},
       Calls::kReads,
       {{{"THROTTLE", "ATTEMPTS", "api"}, ":1"}}},
      {"THROTTLE_CLEAR",
       {{"THROTTLE", "HIT", "api", "60"}},
       {"THROTTLE", "CLEAR", "api"},
       Calls::kWrites,
       {{{"THROTTLE", "ATTEMPTS", "api"}, ":1"}}},
      {"CL_THROTTLE",
       {},
       {"CL.THROTTLE", "api", "5", "10", "60"},
       Calls::kWrites,
       {{{"CL.THROTTLE", "api", "5", "10", "60", "0"}, "[:0, :6, :6, :-1, :0]"}}},
      {"THROTTLE_HIT",
       {{"THROTTLE", "HIT", "api", "60"}},
       {"THROTTLE", "HIT", "api", "60"},
       Calls::kWrites,
       {{{"THROTTLE", "ATTEMPTS", "api"}, ":1"}}},
      {"THROTTLE_ATTEMPT",
       {{"THROTTLE", "HIT", "api", "60"}},
       {"THROTTLE", "ATTEMPT", "api", "5", "60"},
       Calls::kWrites,
       {{{"THROTTLE", "ATTEMPTS", "api"}, ":1"}}},
      // remember: a hit reads; a miss takes the fill lease (a write)
      {"REMEMBER_HIT",
       {{"PUT", "r", "v1"}},
       {"REMEMBER", "r"},
       Calls::kReads,
       {{{"REMEMBER", "r"}, "$v1"}}},
      {"REMEMBER_MISS",
       {},
       {"REMEMBER", "r"},
       Calls::kWrites,
       {{{"REMEMBER", "r"}, "(nil)"}},
       false},
      // flexible: a fresh value is read; a stale one takes the refresh lease (a write)
      {"FLEXIBLE_FRESH",
       {{"PUT", "f", "v1", "60"}},
       {"FLEXIBLE", "f", "10", "60"},
       Calls::kReads,
       {{{"FLEXIBLE", "f", "10", "60"}, "[$v1, $fresh]"}}},
      {"FLEXIBLE_STALE",
       {{"PUT", "f", "v1", "5"}},
       {"FLEXIBLE", "f", "10", "60"},
       Calls::kWrites,
       {{{"FLEXIBLE", "f", "10", "60"}, "[$v1, $refresh]"}}},
  };
  return rows;
}

std::string MakeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "arvel-faults-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

// A server (array default store) with the setup's driver added as a FaultStore named "faulty",
// and a client whose current store it is.
class FaultServer {
 public:
  FaultServer(const StoreSetup& setup, const std::string& dir, bool allow_delays)
      : server_(TestConfig()) {
    config::CommandLine line;
    line.port = 0;
    auto config =
        config::LoadConfigText(setup.config(dir), "faults.toml", line, {{"CACHE_DAEMONS", "one"}});
    if (!config.ok()) throw std::runtime_error(config.status().message());
    config::StoreConfig store_config;
    for (const config::StoreConfig& store : config->stores) {
      if (store.name == config->default_store) store_config = store;
    }
    store_config.name = kStoreName;
    auto store = std::make_unique<FaultStore>(drivers::MakeStore(store_config, server_.loop()),
                                              server_.loop(), allow_delays);
    store_ = store.get();
    server_.AddStoreForTesting(std::move(store));
    Status listening = server_.Listen();
    if (!listening.ok()) throw std::runtime_error(listening.message());
    thread_ = std::thread([this] { server_.Run(); });
  }
  ~FaultServer() {
    server_.RequestShutdown();
    thread_.join();
  }

  Client Connect() const {
    Client client(server_.port());
    redisSetTimeout(client.context(), {5, 0});  // a hang fails the test instead of stalling it
    if (Text(client.Command({"STORE", kStoreName})) != "+OK") throw std::runtime_error("STORE");
    return client;
  }
  FaultStore& store() { return *store_; }

 private:
  server::Server server_;
  FaultStore* store_;
  std::thread thread_;
};

// The start of every reply to a command whose store failed with `reason`.
std::string Unavailable(const std::string& reason = "injected fault") {
  return "-ERR store '" + std::string(kStoreName) + "' unavailable: " + reason;
}

bool IsError(const std::string& reply) { return !reply.empty() && reply[0] == '-'; }

class FaultTestBase {
 protected:
  void Start(const StoreSetup& setup, bool allow_delays = false) {
    if (setup.skip_reason) {
      std::string reason = setup.skip_reason();
      if (!reason.empty()) GTEST_SKIP() << reason;
    }
    dir_ = MakeTempDir();
    server_ = std::make_unique<FaultServer>(setup, dir_, allow_delays);
    client_ = std::make_unique<Client>(server_->Connect());
  }
  void Stop() {
    client_.reset();
    server_.reset();
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }
  std::string Send(const Command& command) { return Text(client_->Command(command)); }
  FaultStore& store() { return server_->store(); }

  std::string dir_;
  std::unique_ptr<FaultServer> server_;
  std::unique_ptr<Client> client_;
};

// ---- one row per command, on every driver -----------------------------------------------------

class FaultInjectionTest : public FaultTestBase,
                           public ::testing::TestWithParam<std::tuple<StoreSetup, Row>> {
 protected:
  void SetUp() override { Start(std::get<0>(GetParam())); }
  void TearDown() override { Stop(); }
};

TEST_P(FaultInjectionTest, FailingStoreAnswersItsErrorAndLosesNothing) {
  const Row& row = std::get<1>(GetParam());
  for (const Command& command : row.setup) ASSERT_FALSE(IsError(Send(command))) << command[0];

  Fault fault;
  fault.calls = row.calls;
  store().Arm(fault);
  const std::string reply = Send(row.command);
  EXPECT_EQ(reply.substr(0, Unavailable().size()), Unavailable()) << reply;
  EXPECT_GT(store().hits(), 0);
  store().Clear();

  EXPECT_EQ(Send({"PING"}), "+PONG");  // the connection is still in step
  for (const Check& check : row.after) {
    EXPECT_EQ(Send(check.command), check.reply) << check.command[0];
  }
  if (row.repeat) {
    EXPECT_FALSE(IsError(Send(row.command))) << "the command works again";
  }
}

// The same rows with the result lost after the call applied (a connection dropped before the
// answer): the command still answers the error, the connection stays in step, and what was
// acknowledged before is still there (only `setup` is checked: the lost write may have applied).
class LostResultTest : public FaultTestBase,
                       public ::testing::TestWithParam<std::tuple<StoreSetup, Row>> {
 protected:
  void SetUp() override { Start(std::get<0>(GetParam())); }
  void TearDown() override { Stop(); }
};

TEST_P(LostResultTest, LostResultIsAnErrorAndTheConnectionGoesOn) {
  const Row& row = std::get<1>(GetParam());
  for (const Command& command : row.setup) ASSERT_FALSE(IsError(Send(command))) << command[0];
  Fault fault;
  fault.action = Fault::Action::kLoseResult;
  fault.calls = row.calls;
  store().Arm(fault);
  const std::string reply = Send(row.command);
  EXPECT_EQ(reply.substr(0, Unavailable().size()), Unavailable()) << reply;
  store().Clear();
  EXPECT_EQ(Send({"PING"}), "+PONG");
  if (row.repeat) {
    EXPECT_FALSE(IsError(Send(row.command))) << "the command works again";
  }
}

// The same rows over a slow store (every call held back 20 ms, so even array completes later):
// the command answers as it would without the delay — not an error — and the setup's writes
// are still there.
class DelayedStoreTest : public FaultTestBase,
                         public ::testing::TestWithParam<std::tuple<StoreSetup, Row>> {
 protected:
  void SetUp() override { Start(std::get<0>(GetParam()), /*allow_delays=*/true); }
  void TearDown() override { Stop(); }
};

TEST_P(DelayedStoreTest, SlowStoreAnswersEveryCommand) {
  const Row& row = std::get<1>(GetParam());
  Fault fault;
  fault.action = Fault::Action::kDelay;
  fault.delay_ms = 20;
  store().Arm(fault);
  for (const Command& command : row.setup) ASSERT_FALSE(IsError(Send(command))) << command[0];
  EXPECT_FALSE(IsError(Send(row.command)));
  EXPECT_GT(store().hits(), 0);
  EXPECT_EQ(Send({"PING"}), "+PONG");
}

// The same rows with only the command's second store call failing (TAGS, REMEMBER and LOCK
// BLOCK make several): the command answers — its result or the store's error — and the
// connection goes on.
class SecondCallTest : public FaultTestBase,
                       public ::testing::TestWithParam<std::tuple<StoreSetup, Row>> {
 protected:
  void SetUp() override { Start(std::get<0>(GetParam())); }
  void TearDown() override { Stop(); }
};

TEST_P(SecondCallTest, FailingSecondCallIsAnsweredToo) {
  const Row& row = std::get<1>(GetParam());
  for (const Command& command : row.setup) ASSERT_FALSE(IsError(Send(command))) << command[0];
  Fault fault;
  fault.skip = 1;
  fault.times = 1;
  store().Arm(fault);
  const std::string reply = Send(row.command);
  if (IsError(reply)) {
    EXPECT_EQ(reply.substr(0, Unavailable().size()), Unavailable()) << reply;
  }
  store().Clear();
  EXPECT_EQ(Send({"PING"}), "+PONG");
}

std::vector<StoreSetup> Drivers() {
  return {ArraySetup(), FileSetup(), SqliteSetup(), PostgresSetup(), RedisSetup()};
}

std::string CaseName(const ::testing::TestParamInfo<std::tuple<StoreSetup, Row>>& info) {
  return std::get<0>(info.param).name + "_" + std::get<1>(info.param).name;
}

INSTANTIATE_TEST_SUITE_P(Faults, FaultInjectionTest,
                         ::testing::Combine(::testing::ValuesIn(Drivers()),
                                            ::testing::ValuesIn(Rows())),
                         CaseName);

INSTANTIATE_TEST_SUITE_P(Faults, LostResultTest,
                         ::testing::Combine(::testing::ValuesIn(Drivers()),
                                            ::testing::ValuesIn(Rows())),
                         CaseName);

INSTANTIATE_TEST_SUITE_P(Faults, DelayedStoreTest,
                         ::testing::Combine(::testing::ValuesIn(Drivers()),
                                            ::testing::ValuesIn(Rows())),
                         CaseName);

INSTANTIATE_TEST_SUITE_P(Faults, SecondCallTest,
                         ::testing::Combine(::testing::ValuesIn(Drivers()),
                                            ::testing::ValuesIn(Rows())),
                         CaseName);

// ---- the other kinds of fault, on every driver ------------------------------------------------

class FaultKindsTest : public FaultTestBase, public ::testing::TestWithParam<StoreSetup> {
 protected:
  void SetUp() override { Start(GetParam(), /*allow_delays=*/true); }
  void TearDown() override { Stop(); }
};

// Only the Nth call fails: the calls before and after it are untouched.
TEST_P(FaultKindsTest, OnlyTheNthCallFails) {
  Fault fault;
  fault.calls = Calls::kWrites;
  fault.skip = 1;
  fault.times = 1;
  fault.reason = "second write";
  store().Arm(fault);
  EXPECT_EQ(Send({"SET", "a", "1"}), "+OK");
  EXPECT_EQ(Send({"SET", "b", "2"}), Unavailable("second write"));
  EXPECT_EQ(Send({"SET", "c", "3"}), "+OK");
  EXPECT_EQ(Send({"MGET", "a", "b", "c"}), "[$1, (nil), $3]");
  EXPECT_EQ(store().hits(), 1);
}

// Faults narrowed to one operation leave the others alone.
TEST_P(FaultKindsTest, OneOperationFails) {
  Fault fault;
  fault.calls = Calls::kWrites;
  fault.operation = "increment";
  store().Arm(fault);
  EXPECT_EQ(Send({"SET", "n", "1"}), "+OK");
  EXPECT_EQ(Send({"INCR", "n"}).substr(0, Unavailable().size()), Unavailable());
  EXPECT_EQ(Send({"GET", "n"}), "$1");
}

// A lost result: the write applied, the client heard an error. It must not be taken for a
// refusal — the value is there once the fault is gone.
TEST_P(FaultKindsTest, LostResultIsAnErrorThoughTheWriteApplied) {
  Fault fault;
  fault.action = Fault::Action::kLoseResult;
  fault.calls = Calls::kWrites;
  fault.reason = "connection lost";
  store().Arm(fault);
  EXPECT_EQ(Send({"SET", "k", "v"}), Unavailable("connection lost"));
  store().Clear();
  EXPECT_EQ(Send({"GET", "k"}), "$v");
}

// A slow store keeps the replies of a pipeline in order and answers every command.
TEST_P(FaultKindsTest, DelayedCallsKeepPipelinedRepliesInOrder) {
  EXPECT_EQ(Send({"SET", "k", "v"}), "+OK");
  Fault fault;
  fault.action = Fault::Action::kDelay;
  fault.calls = Calls::kReads;
  fault.delay_ms = 50;
  store().Arm(fault);
  std::vector<Reply> replies =
      client_->Pipeline({{"GET", "k"}, {"SET", "k", "w"}, {"GET", "k"}, {"PING"}});
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(Text(replies[0]), "$v");
  EXPECT_EQ(Text(replies[1]), "+OK");
  EXPECT_EQ(Text(replies[2]), "$w");
  EXPECT_EQ(Text(replies[3]), "+PONG");
}

// A delayed call whose client disconnects meanwhile completes into nothing, and the server goes
// on serving.
TEST_P(FaultKindsTest, ClientGoneWhileCallDelayed) {
  Fault fault;
  fault.action = Fault::Action::kDelay;
  fault.calls = Calls::kAll;
  fault.delay_ms = 100;
  store().Arm(fault);
  {
    Client gone = server_->Connect();
    redisAppendCommand(gone.context(), "SET k v");
    int done = 0;
    redisBufferWrite(gone.context(), &done);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the call completes into nothing
  store().Clear();
  EXPECT_EQ(Send({"PING"}), "+PONG");
  EXPECT_FALSE(IsError(Send({"GET", "k"})));
}

// A pipeline whose middle write fails: every command is answered, in order.
TEST_P(FaultKindsTest, PipelineWithOneFailingWrite) {
  Fault fault;
  fault.calls = Calls::kWrites;
  fault.skip = 1;
  fault.times = 1;
  store().Arm(fault);
  std::vector<Reply> replies = client_->Pipeline(
      {{"SET", "a", "1"}, {"SET", "b", "2"}, {"SET", "c", "3"}, {"MGET", "a", "b", "c"}});
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(Text(replies[0]), "+OK");
  EXPECT_EQ(Text(replies[1]), Unavailable());
  EXPECT_EQ(Text(replies[2]), "+OK");
  EXPECT_EQ(Text(replies[3]), "[$1, (nil), $3]");
}

// EXEC answers each queued command; the one whose write failed says so, the others applied.
TEST_P(FaultKindsTest, TransactionWithOneFailingWrite) {
  EXPECT_EQ(Send({"MULTI"}), "+OK");
  EXPECT_EQ(Send({"SET", "a", "1"}), "+QUEUED");
  EXPECT_EQ(Send({"INCR", "a"}), "+QUEUED");
  EXPECT_EQ(Send({"SET", "b", "2"}), "+QUEUED");
  Fault fault;
  fault.calls = Calls::kWrites;
  fault.operation = "increment";
  store().Arm(fault);
  EXPECT_EQ(Send({"EXEC"}), "[+OK, " + Unavailable() + ", +OK]");
  store().Clear();
  EXPECT_EQ(Send({"MGET", "a", "b"}), "[$1, $2]");
}

// A REMEMBER waiter whose re-read fails keeps waiting and looks again (server/fill_leases.cc):
// no wrong answer while the store fails, the value once it answers again.
TEST_P(FaultKindsTest, RememberWaiterWhenTheStoreFails) {
  EXPECT_EQ(Send({"REMEMBER", "r"}), "(nil)");  // this client fills
  Client waiter = server_->Connect();
  auto reply = std::async(std::launch::async, [&] {
    return Text(waiter.Command({"REMEMBER", "r"}));
  });
  WaitForBlocked(*client_, 1);
  Fault fault;
  fault.calls = Calls::kReads;
  store().Arm(fault);
  EXPECT_EQ(Send({"PUT", "r", "v", "60"}), "+OK");
  if (reply.wait_for(std::chrono::milliseconds(300)) != std::future_status::ready) {
    store().Clear();
  }
  ASSERT_EQ(reply.wait_for(std::chrono::seconds(3)), std::future_status::ready);
  EXPECT_EQ(reply.get(), "$v");
  store().Clear();
  EXPECT_EQ(Text(waiter.Command({"GET", "r"})), "$v");
}

// A LOCK BLOCK waiter whose retry fails gets the error, not a hang or a timeout's nil.
TEST_P(FaultKindsTest, LockWaiterWhenTheStoreFails) {
  EXPECT_EQ(Send({"LOCK", "ACQUIRE", "job", "60", "OWNER", "me"}), "$me");
  Client waiter = server_->Connect();
  auto reply = std::async(std::launch::async, [&] {
    return Text(waiter.Command({"LOCK", "BLOCK", "job", "60", "5", "OWNER", "you"}));
  });
  WaitForBlocked(*client_, 1);
  Fault fault;
  fault.calls = Calls::kWrites;
  fault.operation = "acquire";
  store().Arm(fault);
  EXPECT_EQ(Send({"LOCK", "RELEASE", "job", "me"}), ":1");
  ASSERT_EQ(reply.wait_for(std::chrono::seconds(3)), std::future_status::ready);
  EXPECT_EQ(reply.get().substr(0, Unavailable().size()), Unavailable());
  store().Clear();
  EXPECT_EQ(Text(waiter.Command({"LOCK", "ACQUIRE", "job", "60", "OWNER", "you"})), "$you");
}

// A REMEMBER waiter next in line when the holder's lease runs out while the store refuses
// writes: it cannot take the lease, and says so instead of waiting on.
TEST_P(FaultKindsTest, RememberHandOverWhenTheStoreFails) {
  EXPECT_EQ(Send({"REMEMBER", "r", "LEASE", "1"}), "(nil)");  // this client fills, for 1 s
  Client waiter = server_->Connect();
  auto reply = std::async(std::launch::async, [&] {
    return Text(waiter.Command({"REMEMBER", "r"}));
  });
  WaitForBlocked(*client_, 1);
  Fault fault;
  fault.calls = Calls::kWrites;
  store().Arm(fault);
  const bool answered = reply.wait_for(std::chrono::seconds(4)) == std::future_status::ready;
  store().Clear();
  ASSERT_TRUE(answered) << "the waiter is still parked";
  EXPECT_EQ(reply.get().substr(0, Unavailable().size()), Unavailable());
  EXPECT_EQ(Text(waiter.Command({"PING"})), "+PONG");
}

// SHUTDOWN with calls held back by a slow store: they complete before the store closes.
TEST_P(FaultKindsTest, ShutdownWithDelayedCalls) {
  Fault fault;
  fault.action = Fault::Action::kDelay;
  fault.delay_ms = 200;
  store().Arm(fault);
  redisAppendCommand(client_->context(), "SET k v");
  int done = 0;
  redisBufferWrite(client_->context(), &done);
  // The call is in the store when the server stops, which must neither hang nor crash.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Stop();
}

INSTANTIATE_TEST_SUITE_P(Faults, FaultKindsTest, ::testing::ValuesIn(Drivers()), StoreSetupName);

}  // namespace
}  // namespace arvel::testing
