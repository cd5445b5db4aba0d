// Replies checked against Redis 7.0's own test suite (tests/redis_suite): CLIENT LIST/INFO's
// fields, CLIENT KILL's argument checks, HELLO's error texts, AUTH queued inside MULTI,
// SHUTDOWN refused inside MULTI. Each case names the Redis test it follows.

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

// introspection.tcl "CLIENT LIST" / "CLIENT INFO": Redis 7's fields in Redis 7's order; qbuf
// counts the running command's own request (26 bytes for CLIENT LIST), cmd its full name.
TEST(RedisCompatTest, ClientListAndInfoHaveRedisFieldsInOrder) {
  ServerFixture server;
  Client c = server.Connect();
  const std::string fields =
      "id=[0-9]+ addr=[^ ]+:[0-9]+ laddr=[^ ]+:[0-9]+ fd=-?[0-9]+ name= age=[0-9]+ "
      "idle=[0-9]+ flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=[0-9]+ "
      "argv-mem=10 multi-mem=0 rbs=[0-9]+ rbp=[0-9]+ obl=0 oll=0 omem=0 tot-mem=[0-9]+ "
      "events=r cmd=client\\|";
  std::string list = c.Command({"client", "list"}).str;
  EXPECT_TRUE(std::regex_search(list, std::regex("^" + fields +
                                                 "list user=default redir=-1 "
                                                 "resp=2 ")))
      << list;
  std::string info = c.Command({"client", "info"}).str;
  EXPECT_TRUE(std::regex_search(info, std::regex("^" + fields +
                                                 "info user=default redir=-1 "
                                                 "resp=2 ")))
      << info;

  // A client inside MULTI: flag x, its queue's length and argument bytes.
  Client other = server.Connect();
  EXPECT_EQ(Text(other.Command({"MULTI"})), "+OK");
  EXPECT_EQ(Text(other.Command({"SET", "k", "vv"})), "+QUEUED");
  std::string line = c.Command({"CLIENT", "LIST"}).str;
  EXPECT_TRUE(std::regex_search(line, std::regex("flags=x db=0 sub=0 psub=0 ssub=0 multi=1 "
                                                 "qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=6 ")))
      << line;
}

// introspection.tcl "CLIENT KILL with illegal arguments".
TEST(RedisCompatTest, ClientKillChecksItsArgumentsAsRedis) {
  ServerFixture server;
  Client c = server.Connect();
  EXPECT_EQ(c.Command({"client", "kill"}).str,
            "ERR wrong number of arguments for 'client|kill' command");
  EXPECT_EQ(c.Command({"client", "kill", "id", "10", "wrong_arg"}).str, "ERR syntax error");
  for (const char* id : {"str", "-1", "0"}) {
    EXPECT_EQ(c.Command({"client", "kill", "id", id}).str,
              "ERR client-id should be greater than 0");
  }
  EXPECT_EQ(c.Command({"client", "kill", "type", "wrong_type"}).str,
            "ERR Unknown client type 'wrong_type'");
  EXPECT_EQ(c.Command({"client", "kill", "user", "wrong_user"}).str,
            "ERR No such user 'wrong_user'");
  EXPECT_EQ(c.Command({"client", "kill", "skipme", "yes_or_no"}).str, "ERR syntax error");

  // Every client here is a normal one of the user "default".
  Client victim = server.Connect();
  EXPECT_EQ(c.Command({"client", "kill", "type", "pubsub"}).integer, 0);
  EXPECT_EQ(c.Command({"client", "kill", "type", "master", "skipme", "no"}).integer, 0);
  EXPECT_EQ(Text(victim.Command({"PING"})), "+PONG");
  EXPECT_EQ(c.Command({"client", "kill", "type", "normal", "user", "default"}).integer, 1);
  EXPECT_EQ(InfoField(c, "clients", "connected_clients"), 1);
}

// HELLO's errors, as Redis 7.0's networking.c words them.
TEST(RedisCompatTest, HelloErrorTextsAsRedis) {
  ServerFixture server;
  Client c = server.Connect();
  EXPECT_EQ(c.Command({"HELLO", "abc"}).str,
            "ERR Protocol version is not an integer or out of range");
  EXPECT_EQ(c.Command({"HELLO", "4"}).str, "NOPROTO unsupported protocol version");
  EXPECT_EQ(c.Command({"HELLO", "3", "AUTH"}).str, "ERR Syntax error in HELLO option 'AUTH'");
  EXPECT_EQ(c.Command({"HELLO", "3", "auth", "default"}).str,
            "ERR Syntax error in HELLO option 'auth'");
  EXPECT_EQ(c.Command({"HELLO", "2", "SETNAME"}).str, "ERR Syntax error in HELLO option 'SETNAME'");
  EXPECT_EQ(c.Command({"HELLO", "2", "BOGUS", "x"}).str,
            "ERR Syntax error in HELLO option 'BOGUS'");
  Reply hello = c.Command({"HELLO", "2", "SETNAME", "me"});
  ASSERT_EQ(hello.type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(c.Command({"CLIENT", "GETNAME"}).str, "me");
}

// AUTH inside MULTI is queued and runs with EXEC, as in Redis.
TEST(RedisCompatTest, AuthIsQueuedInsideMulti) {
  config::Config config = TestConfig();
  config.server.password = "secret";
  ServerFixture server(config);
  Client c = server.Connect();
  EXPECT_EQ(Text(c.Command({"AUTH", "secret"})), "+OK");
  EXPECT_EQ(Text(c.Command({"MULTI"})), "+OK");
  EXPECT_EQ(Text(c.Command({"AUTH", "wrong"})), "+QUEUED");
  EXPECT_EQ(Text(c.Command({"AUTH", "secret"})), "+QUEUED");
  Reply exec = c.Command({"EXEC"});
  ASSERT_EQ(exec.elements.size(), 2u);
  EXPECT_EQ(exec.elements[0].str, "WRONGPASS invalid username-password pair or user is disabled.");
  EXPECT_EQ(Text(exec.elements[1]), "+OK");
}

// multi.tcl "MULTI with SHUTDOWN": refused inside MULTI, and the transaction with it.
TEST(RedisCompatTest, ShutdownIsRefusedInsideMulti) {
  ServerFixture server;
  Client c = server.Connect();
  EXPECT_EQ(Text(c.Command({"MULTI"})), "+OK");
  EXPECT_EQ(Text(c.Command({"SET", "foo", "bar"})), "+QUEUED");
  EXPECT_EQ(c.Command({"SHUTDOWN"}).str, "ERR Command not allowed inside a transaction");
  EXPECT_EQ(c.Command({"EXEC"}).str.rfind("EXECABORT", 0), 0u);
  EXPECT_TRUE(c.Command({"GET", "foo"}).is_nil());
  EXPECT_EQ(Text(c.Command({"PING"})), "+PONG");
}

// multi.tcl "FLUSHALL/FLUSHDB does not touch non affected keys" and "FLUSHDB is able to touch
// the watched keys": a flush dirties a WATCH only if the watched key existed.
TEST(RedisCompatTest, FlushTouchesOnlyWatchedKeysThatExist) {
  ServerFixture server;
  Client c = server.Connect();
  Client other = server.Connect();
  for (const char* flush : {"FLUSHALL", "FLUSHDB"}) {
    EXPECT_EQ(Text(c.Command({"DEL", "x"})), ":0");
    EXPECT_EQ(Text(c.Command({"WATCH", "x"})), "+OK");
    EXPECT_EQ(Text(other.Command({flush})), "+OK");
    EXPECT_EQ(Text(c.Command({"MULTI"})), "+OK");
    EXPECT_EQ(Text(c.Command({"PING"})), "+QUEUED");
    EXPECT_EQ(Text(c.Command({"EXEC"})), "[+PONG]") << flush;

    EXPECT_EQ(Text(c.Command({"SET", "x", "30"})), "+OK");
    EXPECT_EQ(Text(c.Command({"SET", "y", "1"})), "+OK");
    EXPECT_EQ(Text(c.Command({"WATCH", "x", "missing"})), "+OK");
    EXPECT_EQ(Text(c.Command({flush})), "+OK");
    EXPECT_EQ(Text(c.Command({"MULTI"})), "+OK");
    EXPECT_EQ(Text(c.Command({"PING"})), "+QUEUED");
    EXPECT_TRUE(c.Command({"EXEC"}).is_nil()) << flush;
    EXPECT_EQ(Text(c.Command({"DBSIZE"})), ":0");
  }
}

}  // namespace
}  // namespace arvel::testing
