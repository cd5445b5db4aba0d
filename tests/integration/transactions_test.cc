// MULTI/EXEC/DISCARD/WATCH across clients of the real binary (SPEC §5, Redis 7 semantics).

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/integration/daemon.h"

namespace arvel::integration {
namespace {

class TransactionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = Daemon::Start(DaemonOptions().Config("[stores.two]\ndriver = \"array\"\n"));
    ASSERT_NE(daemon_->port(), 0);
  }
  Client Connect() { return daemon_->Connect(); }

  std::unique_ptr<Daemon> daemon_;
};

TEST_F(TransactionsTest, ExecRunsQueuedCommandsInOrder) {
  Client c = Connect();
  RunScript(c, {
                   {{"MULTI"}, "+OK"},
                   {{"SET", "k", "1"}, "+QUEUED"},
                   {{"INCR", "k"}, "+QUEUED"},
                   {{"PUT", "p", "v", "100"}, "+QUEUED"},
                   {{"INCREMENT", "k", "10"}, "+QUEUED"},
                   {{"GET", "k"}, "+QUEUED"},
                   {{"MANY", "k", "p", "none"}, "+QUEUED"},
                   {{"EXEC"}, "[+OK, :2, +OK, :12, \"12\", [\"12\", \"v\", (nil)]]"},
                   {{"EXEC"}, "-ERR EXEC without MULTI"},
               });
}

TEST_F(TransactionsTest, OtherClientsSeeNothingBeforeExec) {
  Client c = Connect();
  Client other = Connect();
  RunScript(c, {{{"MULTI"}, "+OK"}, {{"SET", "k", "v"}, "+QUEUED"}});
  RunScript(other, {{{"GET", "k"}, "(nil)"}});
  RunScript(c, {{{"EXEC"}, "[+OK]"}});
  RunScript(other, {{{"GET", "k"}, "\"v\""}});
}

TEST_F(TransactionsTest, DiscardDropsTheQueue) {
  Client c = Connect();
  RunScript(c, {
                   {{"DISCARD"}, "-ERR DISCARD without MULTI"},
                   {{"MULTI"}, "+OK"},
                   {{"MULTI"}, "-ERR MULTI calls can not be nested"},
                   {{"SET", "k", "v"}, "+QUEUED"},
                   {{"DISCARD"}, "+OK"},
                   {{"GET", "k"}, "(nil)"},
                   {{"EXEC"}, "-ERR EXEC without MULTI"},
               });
}

TEST_F(TransactionsTest, QueueingErrorAbortsTheTransaction) {
  Client c = Connect();
  RunScript(c, {
                   {{"MULTI"}, "+OK"},
                   {{"SET", "k", "v"}, "+QUEUED"},
                   {{"NOSUCHCOMMAND"}, "-ERR unknown command*"},
                   {{"GET"}, "-ERR wrong number of arguments for 'get' command"},
                   {{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors."},
                   {{"GET", "k"}, "(nil)"},
               });
}

TEST_F(TransactionsTest, RuntimeErrorDoesNotStopTheOtherCommands) {
  Client c = Connect();
  RunScript(c, {
                   {{"SET", "s", "abc"}, "+OK"},
                   {{"MULTI"}, "+OK"},
                   {{"INCR", "s"}, "+QUEUED"},
                   {{"SET", "t", "1"}, "+QUEUED"},
                   {{"INCREMENT", "s"}, "+QUEUED"},
                   {{"EXEC"},
                    "[-ERR value is not an integer or out of range, +OK, "
                    "-ERR value is not an integer or out of range]"},
                   {{"GET", "t"}, "\"1\""},
               });
}

TEST_F(TransactionsTest, WatchInsideMultiIsAnError) {
  Client c = Connect();
  RunScript(c, {
                   {{"MULTI"}, "+OK"},
                   {{"WATCH", "k"}, "-ERR WATCH inside MULTI is not allowed"},
                   {{"SET", "k", "v"}, "+QUEUED"},
                   {{"EXEC"}, "[+OK]"},
               });
}

TEST_F(TransactionsTest, WatchWithoutConflictCommits) {
  Client c = Connect();
  Client other = Connect();
  RunScript(c, {{{"SET", "k", "0"}, "+OK"}, {{"WATCH", "k"}, "+OK"}});
  RunScript(other, {{{"SET", "unrelated", "x"}, "+OK"}, {{"GET", "k"}, "\"0\""}});
  RunScript(c, {
                   {{"MULTI"}, "+OK"},
                   {{"SET", "k", "mine"}, "+QUEUED"},
                   {{"EXEC"}, "[+OK]"},
                   {{"GET", "k"}, "\"mine\""},
               });
}

TEST_F(TransactionsTest, UnwatchForgetsTheWatchedKeys) {
  Client c = Connect();
  Client other = Connect();
  RunScript(c, {{{"WATCH", "k"}, "+OK"}, {{"UNWATCH"}, "+OK"}});
  RunScript(other, {{{"SET", "k", "theirs"}, "+OK"}});
  RunScript(c, {{{"MULTI"}, "+OK"}, {{"SET", "k", "mine"}, "+QUEUED"}, {{"EXEC"}, "[+OK]"}});
}

TEST_F(TransactionsTest, ExecEndsTheWatch) {
  Client c = Connect();
  Client other = Connect();
  RunScript(c, {{{"WATCH", "k"}, "+OK"}, {{"MULTI"}, "+OK"}, {{"EXEC"}, "[]"}});
  RunScript(other, {{{"SET", "k", "theirs"}, "+OK"}});
  RunScript(c, {{{"MULTI"}, "+OK"}, {{"SET", "k", "mine"}, "+QUEUED"}, {{"EXEC"}, "[+OK]"}});
}

TEST_F(TransactionsTest, OwnWriteAfterWatchAbortsToo) {
  Client c = Connect();
  RunScript(c, {
                   {{"WATCH", "k"}, "+OK"},
                   {{"SET", "k", "1"}, "+OK"},
                   {{"MULTI"}, "+OK"},
                   {{"SET", "k", "2"}, "+QUEUED"},
                   {{"EXEC"}, "(nil)"},
                   {{"GET", "k"}, "\"1\""},
               });
}

TEST_F(TransactionsTest, WriteToTheSameNameInAnotherStoreDoesNotAbort) {
  Client c = Connect();
  Client other = Connect();
  RunScript(c, {{{"SET", "k", "0"}, "+OK"}, {{"WATCH", "k"}, "+OK"}});
  RunScript(other, {{{"STORE", "two"}, "+OK"}, {{"SET", "k", "elsewhere"}, "+OK"}});
  RunScript(c, {{{"MULTI"}, "+OK"}, {{"SET", "k", "mine"}, "+QUEUED"}, {{"EXEC"}, "[+OK]"}});
}

// Every kind of write by another client to a watched key aborts EXEC.
struct Conflict {
  const char* name;
  std::vector<std::string> setup;  // run before WATCH ({} for none)
  std::vector<std::string> write;  // the other client's write
};

class WatchConflictTest : public TransactionsTest,
                          public ::testing::WithParamInterface<Conflict> {};

TEST_P(WatchConflictTest, ConflictingWriteAbortsExec) {
  const Conflict& conflict = GetParam();
  Client c = Connect();
  Client other = Connect();
  if (!conflict.setup.empty()) {
    Reply setup = c.Command(conflict.setup);
    ASSERT_FALSE(setup.is_error()) << Show(setup);
  }
  RunScript(c, {{{"WATCH", "k"}, "+OK"}});
  Reply write = other.Command(conflict.write);
  ASSERT_FALSE(write.is_error()) << Show(write);
  RunScript(c, {
                   {{"MULTI"}, "+OK"},
                   {{"SET", "k", "mine"}, "+QUEUED"},
                   {{"SET", "side-effect", "1"}, "+QUEUED"},
                   {{"EXEC"}, "(nil)"},
                   {{"EXISTS", "side-effect"}, ":0"},
               });
}

INSTANTIATE_TEST_SUITE_P(
    EveryWrite, WatchConflictTest,
    ::testing::Values(Conflict{"Set", {}, {"SET", "k", "x"}},
                      Conflict{"SetOnExisting", {"SET", "k", "0"}, {"SET", "k", "x"}},
                      Conflict{"Put", {}, {"PUT", "k", "x", "100"}},
                      Conflict{"Forever", {}, {"FOREVER", "k", "x"}},
                      Conflict{"Add", {}, {"ADD", "k", "x"}},
                      Conflict{"Forget", {"SET", "k", "0"}, {"FORGET", "k"}},
                      Conflict{"Pull", {"SET", "k", "0"}, {"PULL", "k"}},
                      Conflict{"Increment", {"SET", "k", "0"}, {"INCREMENT", "k"}},
                      Conflict{"Incr", {"SET", "k", "0"}, {"INCR", "k"}},
                      Conflict{"Append", {"SET", "k", "0"}, {"APPEND", "k", "x"}},
                      Conflict{"Del", {"SET", "k", "0"}, {"DEL", "k"}},
                      Conflict{"Expire", {"SET", "k", "0"}, {"EXPIRE", "k", "100"}},
                      Conflict{"PutMany", {}, {"PUTMANY", "100", "a", "1", "k", "2"}},
                      Conflict{"Mset", {}, {"MSET", "a", "1", "k", "2"}},
                      Conflict{"Flush", {"SET", "k", "0"}, {"FLUSH"}},
                      Conflict{"Flushdb", {"SET", "k", "0"}, {"FLUSHDB"}},
                      Conflict{"Flushall", {"SET", "k", "0"}, {"FLUSHALL"}}),
    [](const ::testing::TestParamInfo<Conflict>& info) { return info.param.name; });

// Optimistic increments from two threads with WATCH/GET/MULTI/SET/EXEC: no update is lost.
TEST_F(TransactionsTest, OptimisticIncrementsFromTwoClientsLoseNothing) {
  constexpr int kIncrementsPerClient = 200;
  constexpr int kMaxAttempts = 20000;
  Client setup = Connect();
  ASSERT_EQ(Show(setup.Command({"SET", "counter", "0"})), "+OK");
  std::atomic<int> aborted{0};
  auto worker = [&] {
    Client c = Connect();
    int done = 0;
    for (int attempt = 0; attempt < kMaxAttempts && done < kIncrementsPerClient; ++attempt) {
      c.Command({"WATCH", "counter"});
      long long value = std::stoll(c.Command({"GET", "counter"}).str);
      c.Command({"MULTI"});
      c.Command({"SET", "counter", std::to_string(value + 1)});
      Reply exec = c.Command({"EXEC"});
      if (exec.is_nil()) {
        ++aborted;
      } else if (exec.type == REDIS_REPLY_ARRAY) {
        ++done;
      } else {
        ADD_FAILURE() << "EXEC: " << Show(exec);
        return;
      }
    }
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();
  EXPECT_EQ(Show(setup.Command({"GET", "counter"})),
            "\"" + std::to_string(2 * kIncrementsPerClient) + "\"");
}

}  // namespace
}  // namespace arvel::integration
