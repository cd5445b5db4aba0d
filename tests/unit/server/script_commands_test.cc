// EVAL EVALSHA EVAL_RO EVALSHA_RO SCRIPT (SPEC §5, issue 9) over real connections to an
// in-process server: Redis's conversions both ways, its error texts, the sandbox, the script
// cache, atomicity against other clients, and long scripts (-BUSY, SCRIPT KILL).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/server/server_fixture.h"
#include "tests/unit/server/slow_store.h"

namespace arvel::testing {
namespace {

using std::chrono::milliseconds;

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

class ScriptCommandsTest : public ::testing::Test {
 protected:
  std::string Run(const std::vector<std::string>& args) { return Text(client_.Command(args)); }
  std::string Eval(const std::string& script, std::vector<std::string> keys_and_args = {},
                   int numkeys = 0) {
    std::vector<std::string> args{"EVAL", script, std::to_string(numkeys)};
    args.insert(args.end(), keys_and_args.begin(), keys_and_args.end());
    return Run(args);
  }

  ServerFixture server_;
  Client client_ = server_.Connect();
};

TEST_F(ScriptCommandsTest, LuaValuesBecomeRedisReplies) {
  EXPECT_EQ(Eval("return 1"), ":1");
  EXPECT_EQ(Eval("return 3.99"), ":3");  // numbers are truncated to integers
  EXPECT_EQ(Eval("return -3.99"), ":-3");
  EXPECT_EQ(Eval("return 1e300"), ":-9223372036854775808");  // as Redis on x86
  EXPECT_EQ(Eval("return 0/0"), ":-9223372036854775808");
  EXPECT_EQ(Eval("return 'x'"), "$x");
  EXPECT_EQ(Eval("return true"), ":1");
  EXPECT_EQ(Eval("return false"), "(nil)");
  EXPECT_EQ(Eval("return nil"), "(nil)");
  EXPECT_EQ(Eval("return"), "(nil)");
  EXPECT_EQ(Eval("return {1, 'two', {3, 'four'}}"), "[:1, $two, [:3, $four]]");
  EXPECT_EQ(Eval("return {1, nil, 3}"), "[:1]");  // up to the first nil
  EXPECT_EQ(Eval("return {ok = 'FINE'}"), "+FINE");
  EXPECT_EQ(Eval("return redis.status_reply('DONE')"), "+DONE");
  EXPECT_EQ(Eval("return redis.error_reply('MY failure')"), "-MY failure");
  // As in Redis: a first word is the code; a single word gets ERR.
  EXPECT_EQ(Eval("return redis.error_reply('no code')"), "-no code");
  EXPECT_EQ(Eval("return redis.error_reply('oops')"), "-ERR oops");
  EXPECT_EQ(Eval("return {err = 'CODE text'}"), "-CODE text");
}

TEST_F(ScriptCommandsTest, KeysAndArgvComeFromTheCall) {
  EXPECT_EQ(Eval("return {KEYS[1], KEYS[2], ARGV[1], #KEYS, #ARGV}", {"a", "b", "c"}, 2),
            "[$a, $b, $c, :2, :1]");
  EXPECT_EQ(Eval("return #KEYS", {"x", "y"}), ":0");
}

TEST_F(ScriptCommandsTest, RedisCallRunsCommandsAndConvertsTheirReplies) {
  EXPECT_EQ(Eval("redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])",
                 {"k", "v"}, 1),
            "$v");
  EXPECT_EQ(Run({"GET", "k"}), "$v");
  EXPECT_EQ(Eval("return redis.call('INCR', 'n') + 10"), ":11");
  EXPECT_EQ(Eval("return type(redis.call('GET', 'missing'))"), "$boolean");
  EXPECT_EQ(Eval("return redis.call('SET', 'a', 'b').ok"), "$OK");
  EXPECT_EQ(Eval("return redis.pcall('INCR', 'a').err"),
            "$ERR value is not an integer or out of range");
  EXPECT_EQ(Eval("return redis.call('MGET', 'k', 'missing', 'n')"), "[$v, (nil), $1]");
  // Numbers are sent as Redis expects them: integers without a fraction, full precision.
  EXPECT_EQ(Eval("redis.call('SET', 'f', 0.1); redis.call('SET', 'i', 42); "
                 "return {redis.call('GET', 'f'), redis.call('GET', 'i')}"),
            "[$0.10000000000000001, $42]");
}

TEST_F(ScriptCommandsTest, ScriptsCallTheCacheCommandsToo) {
  EXPECT_EQ(Eval("return redis.call('PUT', KEYS[1], 'x', 60)", {"cached"}, 1), "+OK");
  EXPECT_EQ(Run({"TTL", "cached"}), ":60");
  EXPECT_EQ(Eval("return redis.call('TAGS', 'people', 'PUT', 'p1', 'ann', 60)"), "+OK");
  EXPECT_EQ(Run({"TAGS", "people", "GET", "p1"}), "$ann");
  const std::string token = Eval("return redis.call('LOCK', 'ACQUIRE', 'job', 10)");
  ASSERT_EQ(token.size(), 33u) << token;  // "$" + 32 hex digits
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), token);
}

TEST_F(ScriptCommandsTest, CommandErrorsRaiseWithThePlaceInTheScript) {
  Run({"SET", "a", "b"});
  const std::string sha = Run({"SCRIPT", "LOAD", "\nredis.call('INCR', 'a')"}).substr(1);
  EXPECT_EQ(Eval("\nredis.call('INCR', 'a')"),
            "-ERR value is not an integer or out of range script: " + sha +
                ", on @user_script:2.");
  EXPECT_TRUE(StartsWith(Eval("redis.call('NOSUCH')"),
                         "-ERR Unknown Redis command called from script script: "));
  EXPECT_TRUE(StartsWith(Eval("redis.call('GET')"),
                         "-ERR Wrong number of args calling Redis command from script"));
  EXPECT_TRUE(StartsWith(Eval("redis.call('GET', 'a', 'b', 'c')"),
                         "-ERR Wrong number of args calling Redis command from script"));
  EXPECT_TRUE(StartsWith(Eval("redis.call()"),
                         "-ERR Please specify at least one argument for this redis lib call"));
  EXPECT_TRUE(StartsWith(Eval("redis.call('GET', {})"),
                         "-ERR Lua redis lib command arguments must be strings or integers"));
  for (const char* refused : {"'MULTI'", "'EXEC'", "'WATCH', 'k'", "'EVAL', 'return 1', 0",
                              "'SCRIPT', 'FLUSH'", "'STORE', 'array'", "'SHUTDOWN'",
                              "'CLIENT', 'SETNAME', 'x'"}) {
    EXPECT_TRUE(StartsWith(Eval(std::string("redis.call(") + refused + ")"),
                           "-ERR This Redis command is not allowed from script"))
        << refused;
  }
  // pcall hands a redis error back as its message; redis.pcall as an error table.
  EXPECT_EQ(Eval("local ok, e = pcall(redis.call, 'NOSUCH'); return {tostring(ok), e}"),
            "[$false, $ERR Unknown Redis command called from script]");
  EXPECT_EQ(Eval("return redis.pcall('NOSUCH')"), "-ERR Unknown Redis command called from script");
}

TEST_F(ScriptCommandsTest, TheSandboxHasNoNewGlobalsAndNoFiles) {
  const std::string kReadonly = "-ERR user_script:1: Attempt to modify a readonly table";
  EXPECT_TRUE(StartsWith(Eval("a = 5"), kReadonly)) << Eval("a = 5");
  EXPECT_TRUE(StartsWith(Eval("_G = {}"), kReadonly));
  EXPECT_TRUE(StartsWith(Eval("redis.call = function() return 1 end"), kReadonly));
  EXPECT_TRUE(StartsWith(Eval("string.upper = nil"), kReadonly));
  EXPECT_TRUE(StartsWith(Eval("setmetatable(_G, {})"), kReadonly));
  EXPECT_TRUE(StartsWith(Eval("getmetatable(_G).__index = {}"), kReadonly));
  EXPECT_TRUE(StartsWith(Eval("getmetatable('').__index = function() return 1 end"), kReadonly));
  EXPECT_TRUE(StartsWith(Eval("getmetatable('').__index.upper = nil"), "-ERR user_script:1:"));
  EXPECT_NE(Eval("loadstring('x = 1')()").find("Attempt to modify a readonly table"),
            std::string::npos);
  EXPECT_TRUE(StartsWith(
      Eval("return b"),
      "-ERR user_script:1: Script attempted to access nonexistent global variable 'b'"));
  for (const char* missing : {"loadfile", "dofile", "print", "io", "os", "require", "setfenv",
                              "getfenv", "debug"}) {
    EXPECT_TRUE(StartsWith(Eval(std::string("return ") + missing),
                           "-ERR user_script:1: Script attempted to access nonexistent global"))
        << missing;
  }
  // Bytecode is refused: it could crash the interpreter.
  EXPECT_TRUE(StartsWith(Eval("return loadstring(string.dump(function() return 1 end))()"),
                         "-ERR user_script:1: attempt to call a nil value"));
  EXPECT_EQ(Eval("return loadstring('return 1 + 1')()"), ":2");
  // Stock Lua 5.1's unpack crashes on these ranges; ours refuses them.
  for (const char* range : {"-2, 2147483647", "0, 2147483647", "-2147483648, -2"}) {
    EXPECT_NE(Eval(std::string("return {unpack({1, 2, 3}, ") + range + ")}")
                  .find("too many results to unpack"),
              std::string::npos)
        << range;
  }
  EXPECT_EQ(Eval("return {unpack({1, 2, 3}, 2)}"), "[:2, :3]");
  EXPECT_EQ(Eval("return select('#', unpack({1, 2, 3}, -1, 5))"), ":7");
  EXPECT_EQ(Eval("local x = 5; return x"), ":5");  // locals are fine
  EXPECT_EQ(Eval("return string.rep('ab', 2) .. table.concat({1, 2}, ',') .. math.floor(2.5)"),
            "$abab1,22");
  EXPECT_EQ(Eval("return ('abc'):upper()"), "$ABC");
  EXPECT_EQ(Eval("return cjson.encode({1, 'two'})"), "$[1,\"two\"]");
  EXPECT_EQ(Eval("return cjson.decode('{\"a\":[5,6]}').a[2]"), ":6");
  EXPECT_EQ(Eval("return bit.band(7, 3) + bit.lshift(1, 4)"), ":19");
  // LuaBitOp's own tohex overruns its buffer here; ours clamps the width.
  EXPECT_EQ(Eval("return bit.tohex(65535, -2147483648)"), "$0000FFFF");
  EXPECT_EQ(Eval("return bit.tohex(255, 2)"), "$ff");
  EXPECT_TRUE(StartsWith(Eval("cjson.encode = nil"), kReadonly));
  EXPECT_EQ(Eval("return redis.sha1hex('')"), "$da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_TRUE(StartsWith(Eval("return ("), "-ERR Error compiling script (new function): "
                                           "user_script:1:"));
}

TEST_F(ScriptCommandsTest, NumkeysIsChecked) {
  EXPECT_EQ(Run({"EVAL", "return 1", "x"}), "-ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"EVAL", "return 1", "2", "a"}),
            "-ERR Number of keys can't be greater than number of args");
  EXPECT_EQ(Run({"EVAL", "return 1", "-1"}), "-ERR Number of keys can't be negative");
  EXPECT_EQ(Run({"EVAL", "return 1"}), "-ERR wrong number of arguments for 'eval' command");
}

TEST_F(ScriptCommandsTest, TheScriptCacheServesEvalsha) {
  const std::string loaded = Run({"SCRIPT", "LOAD", "return ARGV[1] .. '!'"});
  ASSERT_EQ(loaded.size(), 41u) << loaded;
  const std::string sha = loaded.substr(1);
  EXPECT_EQ(Eval("return redis.sha1hex(ARGV[1])", {"return ARGV[1] .. '!'"}), loaded);
  EXPECT_EQ(Run({"EVALSHA", sha, "0", "hi"}), "$hi!");
  std::string upper = sha;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  EXPECT_EQ(Run({"EVALSHA", upper, "0", "hi"}), "$hi!");
  EXPECT_EQ(Run({"SCRIPT", "EXISTS", sha, "0000", upper}), "[:1, :0, :1]");
  // EVAL caches too.
  Eval("return 'cached'");
  EXPECT_EQ(Run({"EVALSHA", Run({"SCRIPT", "LOAD", "return 'cached'"}).substr(1), "0"}),
            "$cached");
  EXPECT_EQ(Run({"SCRIPT", "FLUSH"}), "+OK");
  EXPECT_EQ(Run({"SCRIPT", "EXISTS", sha}), "[:0]");
  EXPECT_EQ(Run({"EVALSHA", sha, "0"}), "-NOSCRIPT No matching script. Please use EVAL.");
  EXPECT_EQ(Run({"SCRIPT", "FLUSH", "ASYNC"}), "+OK");
  EXPECT_EQ(Run({"SCRIPT", "FLUSH", "LATER"}), "-ERR SCRIPT FLUSH only support SYNC|ASYNC option");
  EXPECT_EQ(Run({"SCRIPT", "KILL"}), "-NOTBUSY No scripts in execution right now.");
}

TEST_F(ScriptCommandsTest, ReadOnlyScriptsCannotWrite) {
  Run({"SET", "k", "v"});
  EXPECT_EQ(Run({"EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "k"}), "$v");
  EXPECT_TRUE(StartsWith(Run({"EVAL_RO", "return redis.call('DEL', KEYS[1])", "1", "k"}),
                         "-ERR Write commands are not allowed from read-only scripts."));
  EXPECT_EQ(Run({"GET", "k"}), "$v");
  const std::string sha = Run({"SCRIPT", "LOAD", "return redis.call('GET', 'k')"}).substr(1);
  EXPECT_EQ(Run({"EVALSHA_RO", sha, "0"}), "$v");
  // Shebang flags (Redis 7).
  EXPECT_TRUE(StartsWith(Eval("#!lua flags=no-writes\nreturn redis.call('SET', 'k', 'w')"),
                         "-ERR Write commands are not allowed from read-only scripts."));
  EXPECT_EQ(Eval("#!lua flags=no-writes,allow-stale\nreturn redis.call('GET', 'k')"), "$v");
  EXPECT_EQ(Run({"EVAL_RO", "#!lua\nreturn 1", "0"}),
            "-ERR Can not execute a script with write flag using *_ro command.");
  EXPECT_EQ(Eval("#!lua flags=bogus\nreturn 1"), "-ERR Unexpected flag in script shebang: bogus");
  EXPECT_EQ(Eval("#!python\nreturn 1"), "-ERR Unexpected engine in script shebang: #!python");
  EXPECT_EQ(Eval("#!lua\nreturn 1"), ":1");
}

TEST_F(ScriptCommandsTest, ScriptsQueueInsideMulti) {
  EXPECT_EQ(Run({"MULTI"}), "+OK");
  EXPECT_EQ(Eval("return redis.call('INCR', 'm')"), "+QUEUED");
  EXPECT_EQ(Run({"INCR", "m"}), "+QUEUED");
  EXPECT_EQ(Run({"EXEC"}), "[:1, :2]");
}

TEST_F(ScriptCommandsTest, CommandsThatWouldWaitAnswerAtOnce) {
  Client other = server_.Connect();
  ASSERT_EQ(other.Command({"LOCK", "ACQUIRE", "job", "10"}).type, REDIS_REPLY_STRING);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Eval("return redis.call('LOCK', 'BLOCK', 'job', 10, 5)"), "(nil)");
  EXPECT_LT(MillisSince(start), 1000);
}

// Two clients each run 200 read-modify-write scripts on one counter: no update is lost, because
// no other command runs between a script's GET and its SET.
TEST_F(ScriptCommandsTest, ScriptsAreAtomicAgainstOtherClients) {
  constexpr int kClients = 4, kRounds = 200;
  const std::string script =
      "local n = tonumber(redis.call('GET', KEYS[1]) or '0'); "
      "for i = 1, 1000 do end; redis.call('SET', KEYS[1], n + 1); return n + 1";
  std::vector<std::future<int>> workers;
  for (int c = 0; c < kClients; ++c) {
    workers.push_back(std::async(std::launch::async, [this, &script] {
      Client client = server_.Connect();
      int errors = 0;
      for (int i = 0; i < kRounds; ++i) {
        if (client.Command({"EVAL", script, "1", "counter"}).type != REDIS_REPLY_INTEGER) ++errors;
      }
      return errors;
    }));
  }
  for (auto& worker : workers) EXPECT_EQ(worker.get(), 0);
  EXPECT_EQ(Run({"GET", "counter"}), "$" + std::to_string(kClients * kRounds));
}

TEST(ScriptStoreTest, StoresThatAnswerLaterRefuseScripts) {
  SlowStoreServer server;
  Client client = server.ConnectSlow();
  const std::string reply = Text(client.Command({"EVAL", "return redis.call('GET', 'k')", "0"}));
  EXPECT_TRUE(StartsWith(reply, "-ERR scripts run only on stores that answer at once")) << reply;
  EXPECT_NE(reply.find("'slow'"), std::string::npos) << reply;
  EXPECT_EQ(Text(client.Command({"SET", "k", "v"})), "+OK");  // the client goes on
}

// ---- Long scripts

config::Config ShortBusyThreshold() {
  config::Config config = TestConfig();
  config.server.busy_reply_threshold = 100;
  return config;
}

class LongScriptTest : public ::testing::Test {
 protected:
  ServerFixture server_{ShortBusyThreshold()};
  Client watcher_ = server_.Connect();

  std::future<Reply> RunInBackground(std::string script) {
    return std::async(std::launch::async, [client = server_.Connect(), script]() mutable {
      return client.Command({"EVAL", script, "0"});
    });
  }
  // Waits (up to 5 s) until other clients are told -BUSY.
  void WaitForBusy() {
    const auto start = std::chrono::steady_clock::now();
    while (MillisSince(start) < 5000) {
      Reply reply = watcher_.Command({"PING"});
      if (reply.is_error()) {
        EXPECT_EQ(reply.str,
                  "BUSY Redis is busy running a script. You can only call SCRIPT KILL or "
                  "SHUTDOWN NOSAVE.");
        return;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    FAIL() << "never busy";
  }
};

TEST_F(LongScriptTest, OthersGetBusyUntilTheScriptEnds) {
  // Runs ~600 ms by the server's clock, calling TIME in a loop.
  auto result = RunInBackground(
      "local s = redis.call('TIME') "
      "repeat local n = redis.call('TIME') "
      "until (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > 600000 "
      "return 'done'");
  WaitForBusy();
  EXPECT_EQ(Text(watcher_.Command({"GET", "x"})).substr(0, 5), "-BUSY");
  EXPECT_EQ(Text(watcher_.Command({"SCRIPT", "LOAD", "return 1"})).substr(0, 5), "-BUSY");
  EXPECT_EQ(Text(result.get()), "$done");
  EXPECT_EQ(Text(watcher_.Command({"PING"})), "+PONG");
}

TEST_F(LongScriptTest, ScriptKillStopsAScriptThatWroteNothing) {
  auto result = RunInBackground("local i = 0 while true do i = i + 1 end");
  WaitForBusy();
  EXPECT_EQ(Text(watcher_.Command({"SCRIPT", "KILL"})), "+OK");
  Reply reply = result.get();
  EXPECT_TRUE(StartsWith(Text(reply), "-ERR Script killed by user with SCRIPT KILL")) << Text(reply);
  EXPECT_EQ(Text(watcher_.Command({"PING"})), "+PONG");
  EXPECT_EQ(Text(watcher_.Command({"SCRIPT", "KILL"})),
            "-NOTBUSY No scripts in execution right now.");
}

TEST_F(LongScriptTest, AScriptThatWroteCannotBeKilledButShutdownStopsIt) {
  auto result = RunInBackground("redis.call('SET', 'w', 1) while true do end");
  WaitForBusy();
  EXPECT_TRUE(StartsWith(Text(watcher_.Command({"SCRIPT", "KILL"})),
                         "-UNKILLABLE Sorry the script already executed write commands"));
  watcher_.Command({"SHUTDOWN", "NOSAVE"});
  Reply reply = result.get();
  EXPECT_TRUE(reply.is_error()) << Text(reply);
  server_.Stop();
}

}  // namespace
}  // namespace arvel::testing
