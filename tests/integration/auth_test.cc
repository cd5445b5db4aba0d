// AUTH, HELLO AUTH, NOAUTH and WRONGPASS with a password set, and protected mode (SPEC §7).

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include "tests/integration/daemon.h"

namespace arvel::integration {
namespace {

using ::testing::HasSubstr;

constexpr char kNoAuth[] = "-NOAUTH Authentication required.";
constexpr char kWrongPass[] = "-WRONGPASS invalid username-password pair or user is disabled.";

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = Daemon::Start(DaemonOptions().Config("[server]\npassword = \"correct horse\"\n"));
    ASSERT_NE(daemon_->port(), 0);
  }
  Client Connect() { return daemon_->Connect(); }

  std::unique_ptr<Daemon> daemon_;
};

TEST_F(AuthTest, EveryCommandNeedsAuthentication) {
  Client c = Connect();
  RunScript(c, {
                   {{"PING"}, kNoAuth},
                   {{"GET", "k"}, kNoAuth},
                   {{"PUT", "k", "v"}, kNoAuth},
                   {{"SET", "k", "v"}, kNoAuth},
                   {{"STORE"}, kNoAuth},
                   {{"FAKE"}, kNoAuth},
                   {{"INFO"}, kNoAuth},
                   {{"CLIENT", "ID"}, kNoAuth},
                   {{"MULTI"}, kNoAuth},
                   {{"SELECT", "0"}, kNoAuth},
                   {{"FLUSHALL"}, kNoAuth},
               });
}

TEST_F(AuthTest, WrongPasswordIsRejected) {
  Client c = Connect();
  RunScript(c, {
                   {{"AUTH", "wrong"}, kWrongPass},
                   {{"AUTH", "correct horse "}, kWrongPass},
                   {{"AUTH", "correct hors"}, kWrongPass},
                   {{"AUTH", ""}, kWrongPass},
                   {{"AUTH", "someone", "correct horse"}, kWrongPass},
                   {{"PING"}, kNoAuth},
               });
}

TEST_F(AuthTest, RightPasswordUnlocksTheConnectionOnly) {
  Client c = Connect();
  Client other = Connect();
  RunScript(c, {
                   {{"AUTH", "correct horse"}, "+OK"},
                   {{"PING"}, "+PONG"},
                   {{"PUT", "k", "v"}, "+OK"},
                   {{"GET", "k"}, "\"v\""},
               });
  RunScript(other, {{{"GET", "k"}, kNoAuth}});
}

TEST_F(AuthTest, DefaultUserNameIsAccepted) {
  Client c = Connect();
  RunScript(c, {{{"AUTH", "default", "correct horse"}, "+OK"}, {{"PING"}, "+PONG"}});
}

TEST_F(AuthTest, FailedAuthAfterSuccessKeepsTheConnectionAuthenticated) {
  Client c = Connect();
  // Redis keeps the earlier authentication when a later AUTH fails.
  RunScript(c, {
                   {{"AUTH", "correct horse"}, "+OK"},
                   {{"AUTH", "wrong"}, kWrongPass},
                   {{"PING"}, "+PONG"},
               });
}

TEST_F(AuthTest, QuitWorksWithoutAuthentication) {
  RawConnection raw = daemon_->ConnectRaw();
  ASSERT_TRUE(raw.Send(Resp({"QUIT"})));
  bool closed = false;
  EXPECT_EQ(raw.ReadUntilClose(milliseconds(5000), &closed), "+OK\r\n");
  EXPECT_TRUE(closed);
}

TEST_F(AuthTest, HelloWithoutAuthIsRefused) {
  Client c = Connect();
  Reply hello = c.Command({"HELLO", "2"});
  EXPECT_TRUE(Matches(Show(hello), "-NOAUTH*")) << Show(hello);
  RunScript(c, {{{"PING"}, kNoAuth}});
}

TEST_F(AuthTest, HelloWithAuthAuthenticates) {
  Client c = Connect();
  RunScript(c, {{{"HELLO", "2", "AUTH", "default", "wrong"}, kWrongPass}, {{"PING"}, kNoAuth}});
  Reply hello = c.Command({"HELLO", "2", "AUTH", "default", "correct horse"});
  EXPECT_EQ(hello.type, REDIS_REPLY_ARRAY) << Show(hello);
  RunScript(c, {{{"PING"}, "+PONG"}});
}

TEST_F(AuthTest, HelloThreeWithAuthAnswersAMap) {
  RawConnection raw = daemon_->ConnectRaw();
  ASSERT_TRUE(raw.Send(Resp({"HELLO", "3", "AUTH", "default", "correct horse"})));
  RespValue hello = raw.ReadValue();
  EXPECT_EQ(hello.type, '%');
  ASSERT_TRUE(raw.Send(Resp({"GET", "missing"})));
  EXPECT_EQ(raw.ReadRawValue(), "_\r\n");
}

TEST_F(AuthTest, PipelinedCommandsBeforeAuthAreAllRefused) {
  RawConnection raw = daemon_->ConnectRaw();
  ASSERT_TRUE(raw.Send(Resp({"SET", "k", "v"}) + Resp({"GET", "k"}) +
                       Resp({"AUTH", "correct horse"}) + Resp({"GET", "k"})));
  EXPECT_EQ(raw.ReadRawValue(), std::string(kNoAuth) + "\r\n");
  EXPECT_EQ(raw.ReadRawValue(), std::string(kNoAuth) + "\r\n");
  EXPECT_EQ(raw.ReadRawValue(), "+OK\r\n");
  EXPECT_EQ(raw.ReadRawValue(), "$-1\r\n");  // the SET never happened
}

TEST_F(AuthTest, ResetRequiresAuthenticationAgain) {
  Client c = Connect();
  RunScript(c, {
                   {{"AUTH", "correct horse"}, "+OK"},
                   {{"RESET"}, "+RESET"},
                   {{"PING"}, kNoAuth},
               });
}

TEST_F(AuthTest, CheckConfigDoesNotShowThePassword) {
  RunResult run = RunDaemonToCompletion(
      DaemonOptions().Args({"--check-config"}).Config("[server]\npassword = \"correct horse\"\n"));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out + run.err, ::testing::Not(HasSubstr("correct horse")));
}

TEST(AuthFromEnvironment, CachePasswordVariableSetsThePassword) {
  auto daemon = Daemon::Start(DaemonOptions().Env({{"CACHE_PASSWORD", "from-env"}}));
  ASSERT_NE(daemon->port(), 0);
  Client c = daemon->Connect();
  RunScript(c, {
                   {{"PING"}, kNoAuth},
                   {{"AUTH", "from-env"}, "+OK"},
                   {{"PING"}, "+PONG"},
               });
}

TEST(AuthFromEnvironment, LogDoesNotContainThePassword) {
  auto daemon = Daemon::Start(
      DaemonOptions().Args({"--log-level", "debug"}).Env({{"CACHE_PASSWORD", "never-logged-pw"}}));
  ASSERT_NE(daemon->port(), 0);
  Client c = daemon->Connect();
  RunScript(c, {{{"AUTH", "wrong-guess-pw"}, kWrongPass}, {{"AUTH", "never-logged-pw"}, "+OK"}});
  EXPECT_EQ(daemon->Stop(), 0);
  EXPECT_THAT(daemon->Stderr(), ::testing::Not(HasSubstr("never-logged-pw")));
}

// ---------------------------------------------------------------------------------------------
// Protected mode (SPEC §7): without a password, only loopback clients.

// An IPv4 address of this machine that is not on the loopback interface; "" if it has none.
std::string NonLoopbackAddress() {
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return "";
  std::string found;
  for (ifaddrs* i = all; i != nullptr && found.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    char ip[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, ip, sizeof(ip));
    if (std::string_view(ip).rfind("127.", 0) != 0) found = ip;
  }
  freeifaddrs(all);
  return found;
}

// PING from `address`'s side of the machine: the reply as text ("" if the connection failed).
std::string PingFrom(const std::string& address, int port) {
  redisContext* c = redisConnect(address.c_str(), port);
  if (c == nullptr || c->err != 0) {
    if (c != nullptr) redisFree(c);
    return "";
  }
  auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
  std::string text = reply == nullptr ? "(closed)"
                     : reply->type == REDIS_REPLY_ERROR ? "-" + std::string(reply->str)
                                                        : "+" + std::string(reply->str);
  if (reply != nullptr) freeReplyObject(reply);
  redisFree(c);
  return text;
}

TEST(ProtectedModeTest, WithoutAPasswordOnlyLoopbackClientsAreServed) {
  auto daemon = Daemon::Start(DaemonOptions().Config("[server]\nbind = \"0.0.0.0\"\n"));
  ASSERT_NE(daemon->port(), 0);
  EXPECT_TRUE(daemon->WaitForStderr("protected mode: bound to 0.0.0.0 without a password",
                                    std::chrono::seconds(5)))
      << daemon->Stderr();
  EXPECT_EQ(PingFrom("127.0.0.1", daemon->port()), "+PONG");
  const std::string address = NonLoopbackAddress();
  // Every machine these tests run on has one (the CI machines too); without it the refusal
  // itself cannot be reached from here.
  ASSERT_FALSE(address.empty()) << "no non-loopback IPv4 address to connect from";
  EXPECT_THAT(PingFrom(address, daemon->port()),
              ::testing::StartsWith("-DENIED Redis is running in protected mode because "
                                    "protected mode is enabled and no password is set"));
  EXPECT_EQ(PingFrom("127.0.0.1", daemon->port()), "+PONG");  // still serving
}

TEST(ProtectedModeTest, APasswordOrProtectedModeOffLetsOtherHostsIn) {
  const std::string address = NonLoopbackAddress();
  ASSERT_FALSE(address.empty()) << "no non-loopback IPv4 address to connect from";
  auto open = Daemon::Start(
      DaemonOptions().Config("[server]\nbind = \"0.0.0.0\"\nprotected_mode = false\n"));
  EXPECT_EQ(PingFrom(address, open->port()), "+PONG");
  auto by_env = Daemon::Start(DaemonOptions()
                                  .Config("[server]\nbind = \"0.0.0.0\"\n")
                                  .Env({{"CACHE_PROTECTED_MODE", "no"}}));
  EXPECT_EQ(PingFrom(address, by_env->port()), "+PONG");
  auto with_password = Daemon::Start(
      DaemonOptions().Config("[server]\nbind = \"0.0.0.0\"\npassword = \"p\"\n"));
  EXPECT_EQ(PingFrom(address, with_password->port()), kNoAuth);
}

}  // namespace
}  // namespace arvel::integration
