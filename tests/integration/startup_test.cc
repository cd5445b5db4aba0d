// Start-up, flags, configuration errors, exit codes and signals (SPEC §1, §2).

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "tests/integration/daemon.h"

namespace arvel::integration {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// A listening socket on 127.0.0.1, to make a port busy.
class BusyPort {
 public:
  BusyPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 && listen(fd_, 1) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~BusyPort() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::string CurrentStore(const Daemon& daemon) {
  Client client = daemon.Connect();
  return Show(client.Command({"STORE"}));
}

TEST(Startup, VersionPrintsTheVersionAndExitsZero) {
  RunResult run = RunDaemonToCompletion(DaemonOptions().Args({"--version"}).PortZero(false));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out + run.err, HasSubstr(ARVEL_VERSION));
  EXPECT_THAT(run.err, Not(HasSubstr("listening on")));
}

TEST(Startup, HelpListsEveryFlagAndExitsZero) {
  RunResult run = RunDaemonToCompletion(DaemonOptions().Args({"--help"}).PortZero(false));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::string text = run.out + run.err;
  for (const char* flag : {"--config", "--bind", "--port", "--store", "--log-level",
                           "--check-config", "--version", "--help"}) {
    EXPECT_THAT(text, HasSubstr(flag));
  }
  EXPECT_THAT(text, Not(HasSubstr("listening on")));
}

TEST(Startup, UnknownFlagExitsTwo) {
  RunResult run = RunDaemonToCompletion(DaemonOptions().Args({"--no-such-flag"}));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("no-such-flag"));
  EXPECT_THAT(run.err, Not(HasSubstr("listening on")));
}

TEST(Startup, NonNumericPortFlagExitsTwo) {
  RunResult run = RunDaemonToCompletion(DaemonOptions().Args({"--port", "abc"}).PortZero(false));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, Not(HasSubstr("listening on")));
}

TEST(Startup, BadLogLevelFlagExitsTwo) {
  RunResult run = RunDaemonToCompletion(DaemonOptions().Args({"--log-level", "loud"}));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, Not(HasSubstr("listening on")));
}

TEST(Startup, CheckConfigPrintsTheConfigurationWithThePasswordMasked) {
  RunResult run = RunDaemonToCompletion(
      DaemonOptions()
          .Args({"--check-config"})
          .Config("default = \"memory\"\n[server]\npassword = \"hunter2-s3cret\"\n"
                  "[stores.memory]\ndriver = \"array\"\nmax_memory = \"8mb\"\n")
          .PortZero(false));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, AllOf(HasSubstr("password"), HasSubstr("memory"), HasSubstr("array")));
  EXPECT_THAT(run.out + run.err, Not(HasSubstr("hunter2-s3cret")));
  EXPECT_THAT(run.err, Not(HasSubstr("listening on")));
}

TEST(Startup, CheckConfigMasksTheRedisStorePassword) {
  RunResult run = RunDaemonToCompletion(
      DaemonOptions()
          .Args({"--check-config"})
          .Env({{"CACHE_REDIS_PASSWORD", "upstream-pw-9876"}, {"CACHE_PASSWORD", "client-pw-5432"}})
          .PortZero(false));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out + run.err, Not(HasSubstr("upstream-pw-9876")));
  EXPECT_THAT(run.out + run.err, Not(HasSubstr("client-pw-5432")));
}

TEST(Startup, CheckConfigWithABadFileExitsTwo) {
  RunResult run = RunDaemonToCompletion(
      DaemonOptions().Args({"--check-config"}).Config("[server]\nmax_clients = \"lots\"\n"));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("max_clients"));
}

TEST(Startup, WrongTypeInConfigExitsTwoNamingFileLineAndKey) {
  RunResult run = RunDaemonToCompletion(
      DaemonOptions().Config("# a comment\nprefix = \"app\"\n\n[server]\nport = \"abc\"\n"));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, AllOf(HasSubstr("cache.toml:5"), HasSubstr("server.port")));
  EXPECT_THAT(run.err, Not(HasSubstr("listening on")));
  // One clear line, not a stack of messages.
  EXPECT_LE(std::count(run.err.begin(), run.err.end(), '\n'), 2) << run.err;
}

TEST(Startup, UnknownKeyInConfigExitsTwoNamingFileLineAndKey) {
  RunResult run =
      RunDaemonToCompletion(DaemonOptions().Config("[server]\nbind = \"127.0.0.1\"\nbogus = 1\n"));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, AllOf(HasSubstr("cache.toml:3"), HasSubstr("bogus")));
  EXPECT_THAT(run.err, Not(HasSubstr("listening on")));
}

TEST(Startup, OutOfRangeValueInConfigExitsTwo) {
  RunResult run =
      RunDaemonToCompletion(DaemonOptions().Config("[server]\nport = 70000\n").PortZero(false));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, AllOf(HasSubstr("cache.toml:2"), HasSubstr("server.port")));
}

TEST(Startup, MalformedTomlExitsTwoNamingTheFile) {
  RunResult run = RunDaemonToCompletion(DaemonOptions().Config("[server\nport = 1\n"));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("cache.toml"));
  EXPECT_THAT(run.err, Not(HasSubstr("listening on")));
}

TEST(Startup, DefaultNamingAMissingStoreExitsTwo) {
  RunResult run = RunDaemonToCompletion(DaemonOptions().Config("default = \"nowhere\"\n"));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("nowhere"));
}

TEST(Startup, BadEnvironmentValueExitsTwoNamingTheVariable) {
  RunResult run = RunDaemonToCompletion(DaemonOptions().Env({{"CACHE_MAX_CLIENTS", "many"}}));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("CACHE_MAX_CLIENTS"));
}

TEST(Startup, MissingConfigFileExitsTwo) {
  RunResult run =
      RunDaemonToCompletion(DaemonOptions().Args({"--config", "/nonexistent/arvel/cache.toml"}));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("/nonexistent/arvel/cache.toml"));
}

TEST(Startup, PortInUseExitsOneNamingTheAddress) {
  BusyPort busy;
  ASSERT_NE(busy.port(), 0);
  RunResult run = RunDaemonToCompletion(
      DaemonOptions().Args({"--port", std::to_string(busy.port())}).PortZero(false));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("127.0.0.1:" + std::to_string(busy.port())));
}

TEST(Startup, LogsTheListeningAddressAndDefaultStore) {
  auto daemon = Daemon::Start();
  ASSERT_NE(daemon->port(), 0);
  EXPECT_THAT(daemon->Stderr(),
              HasSubstr("arvel-cached " ARVEL_VERSION " listening on 127.0.0.1:" +
                        std::to_string(daemon->port()) + " (default store 'array')"));
}

TEST(Startup, LogsEveryConfigurationSourceAndEachOverriddenVariable) {
  auto daemon = Daemon::Start(DaemonOptions()
                                  .Config("[server]\ntimeout = 5\n")
                                  .Env({{"CACHE_CLIENT_TIMEOUT", "7"}, {"CACHE_TTL", "60"}})
                                  .Args({"--log-level", "info"}));
  ASSERT_NE(daemon->port(), 0);
  const std::string log = daemon->Stderr();
  EXPECT_THAT(log, HasSubstr("cache.toml (named by --config)"));
  EXPECT_THAT(log, HasSubstr("CACHE_TTL"));
  EXPECT_THAT(log, HasSubstr("flags: --log-level, --port"));
  EXPECT_THAT(log, HasSubstr("server.timeout: "));
  EXPECT_THAT(log, HasSubstr(":2 overrides CACHE_CLIENT_TIMEOUT"));
}

TEST(Startup, PingExitsZeroOnPongAndOneOtherwise) {
  const std::string config = "[server]\npassword = \"pw\"\n";
  auto daemon = Daemon::Start(DaemonOptions().Config(config));
  ASSERT_NE(daemon->port(), 0);
  const std::string port = std::to_string(daemon->port());
  RunResult up = RunDaemonToCompletion(
      DaemonOptions().Config(config).Args({"--ping", "--port", port}).PortZero(false));
  EXPECT_EQ(up.exit_code, 0) << up.err;
  RunResult no_password =
      RunDaemonToCompletion(DaemonOptions().Args({"--ping", "--port", port}).PortZero(false));
  EXPECT_EQ(no_password.exit_code, 1);
  EXPECT_THAT(no_password.err, HasSubstr("NOAUTH"));
  EXPECT_EQ(daemon->Stop(), 0);
  RunResult down = RunDaemonToCompletion(
      DaemonOptions().Config(config).Args({"--ping", "--port", port}).PortZero(false));
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_THAT(down.err, HasSubstr("127.0.0.1:" + port));
}

TEST(Startup, SigtermExitsZero) {
  auto daemon = Daemon::Start();
  ASSERT_NE(daemon->port(), 0);
  Client client = daemon->Connect();
  EXPECT_EQ(Show(client.Command({"PING"})), "+PONG");
  EXPECT_EQ(daemon->Stop(), 0);
}

TEST(Startup, SigintExitsZero) {
  auto daemon = Daemon::Start();
  ASSERT_NE(daemon->port(), 0);
  Client client = daemon->Connect();
  ASSERT_EQ(Show(client.Command({"PING"})), "+PONG");
  daemon->Signal(SIGINT);
  EXPECT_EQ(daemon->WaitExit(milliseconds(10000)), 0);
}

TEST(Startup, SigtermFinishesTheReplyInFlight) {
  auto daemon = Daemon::Start();
  ASSERT_NE(daemon->port(), 0);
  const std::string value(16 * 1024 * 1024, 'v');
  const std::string header = "$" + std::to_string(value.size()) + "\r\n";
  Client writer = daemon->Connect();
  ASSERT_EQ(Show(writer.Command({"SET", "big", value})), "+OK");

  RawConnection reader = daemon->ConnectRaw();
  ASSERT_TRUE(reader.Send(Resp({"GET", "big"})));
  // The reply has started, so it is in flight (16 MB do not fit in the socket buffers).
  std::string head = reader.ReadExactly(header.size());
  ASSERT_EQ(head, header);
  daemon->Signal(SIGTERM);
  // The shutdown starts while the reply is still in flight.
  ASSERT_TRUE(daemon->WaitForStderr("received SIGTERM", milliseconds(10000)));
  bool closed = false;
  std::string rest = reader.ReadUntilClose(milliseconds(10000), &closed);
  EXPECT_TRUE(closed);
  ASSERT_EQ(rest.size(), value.size() + 2);
  EXPECT_EQ(rest.substr(rest.size() - 2), "\r\n");
  EXPECT_EQ(rest.find_first_not_of('v'), rest.size() - 2);
  EXPECT_EQ(daemon->WaitExit(milliseconds(10000)), 0);
}

// Supervisors (systemd, Kubernetes) may send SIGTERM as soon as the daemon says it listens,
// while the store workers start and the loop makes its first blocking call: under
// ThreadSanitizer a signal landing there was now and then lost (common/signals.h).
TEST(Startup, SigtermRightAfterTheListeningLineExitsZero) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto daemon = Daemon::Start();
    ASSERT_NE(daemon->port(), 0);
    ASSERT_EQ(daemon->Stop(), 0) << "attempt " << attempt;
  }
}

// The signals thread `tid` of process `pid` blocks (bit n - 1 for signal n), from /proc.
uint64_t BlockedSignals(pid_t pid, const std::string& tid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/task/" + tid + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("SigBlk:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  }
  return 0;
}

// A signal sent to the process goes to any thread that does not block it; the store workers
// block the ones the loop watches, so the loop thread is the only one left to take them.
TEST(Startup, OnlyTheLoopThreadTakesSignals) {
  TempDir dir;
  auto daemon = Daemon::Start(DaemonOptions().Config(
      "[stores.files]\ndriver = \"file\"\npath = \"" + dir.path() + "/files\"\n" +
      "[stores.sql]\ndriver = \"database\"\nurl = \"sqlite://" + dir.path() + "/cache.sqlite\"\n"));
  ASSERT_NE(daemon->port(), 0);
  const uint64_t loop_signals = (uint64_t{1} << (SIGTERM - 1)) | (uint64_t{1} << (SIGINT - 1));
  int workers = 0;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(daemon->pid()) + "/task")) {
    const std::string tid = task.path().filename();
    const uint64_t blocked = BlockedSignals(daemon->pid(), tid);
    if (tid == std::to_string(daemon->pid())) {
      EXPECT_EQ(blocked & loop_signals, 0u) << "the loop thread blocks SIGTERM or SIGINT";
    } else {
      EXPECT_EQ(blocked & loop_signals, loop_signals) << "thread " << tid << " takes signals";
      ++workers;
    }
  }
  EXPECT_GE(workers, 2);  // both stores' workers at least
  EXPECT_EQ(daemon->Stop(), 0);
}

TEST(Startup, SigtermStopsAcceptingNewClients) {
  auto daemon = Daemon::Start();
  ASSERT_NE(daemon->port(), 0);
  int port = daemon->port();
  Client client = daemon->Connect();
  ASSERT_EQ(Show(client.Command({"PING"})), "+PONG");
  EXPECT_EQ(daemon->Stop(), 0);
  RawConnection late(port, milliseconds(1000));
  EXPECT_FALSE(late.connected());
}

TEST(Startup, ShutdownCommandExitsZero) {
  auto daemon = Daemon::Start();
  ASSERT_NE(daemon->port(), 0);
  RawConnection client = daemon->ConnectRaw();
  ASSERT_TRUE(client.Send(Resp({"SHUTDOWN"})));
  EXPECT_TRUE(client.WaitClosed(milliseconds(10000)));
  EXPECT_EQ(daemon->WaitExit(milliseconds(10000)), 0);
}

// Precedence: flag > cache.toml > CACHE_* > default (SPEC §2).
TEST(Startup, EnvironmentChoosesTheDefaultStore) {
  auto daemon = Daemon::Start(DaemonOptions().Env({{"CACHE_CONNECTION", "null"}}));
  ASSERT_NE(daemon->port(), 0);
  EXPECT_EQ(CurrentStore(*daemon), "\"null\"");
  EXPECT_THAT(daemon->Stderr(), HasSubstr("(default store 'null')"));
}

TEST(Startup, ConfigFileBeatsEnvironment) {
  auto daemon = Daemon::Start(
      DaemonOptions().Env({{"CACHE_CONNECTION", "null"}}).Config("default = \"array\"\n"));
  ASSERT_NE(daemon->port(), 0);
  EXPECT_EQ(CurrentStore(*daemon), "\"array\"");
}

TEST(Startup, FlagBeatsConfigFile) {
  auto daemon =
      Daemon::Start(DaemonOptions().Args({"--store", "null"}).Config("default = \"array\"\n"));
  ASSERT_NE(daemon->port(), 0);
  EXPECT_EQ(CurrentStore(*daemon), "\"null\"");
}

TEST(Startup, ConfigFileFromCacheConfigVariable) {
  TempDir dir;
  std::string path = dir.Write("elsewhere.toml", "default = \"null\"\n");
  auto daemon = Daemon::Start(DaemonOptions().Env({{"CACHE_CONFIG", path}}));
  ASSERT_NE(daemon->port(), 0);
  EXPECT_EQ(CurrentStore(*daemon), "\"null\"");
}

TEST(Startup, ConfigFileAsPortSourceIsOverriddenByFlag) {
  // The file asks for a fixed port; --port 0 (added by the harness) wins.
  int fixed = FreePort();
  auto daemon =
      Daemon::Start(DaemonOptions().Config("[server]\nport = " + std::to_string(fixed) + "\n"));
  ASSERT_NE(daemon->port(), 0);
  EXPECT_NE(daemon->port(), fixed);
}

TEST(Startup, PortFromEnvironment) {
  int port = FreePort();
  auto daemon = Daemon::Start(
      DaemonOptions().Env({{"CACHE_SERVER_PORT", std::to_string(port)}}).PortZero(false));
  ASSERT_NE(daemon->port(), 0);
  EXPECT_EQ(daemon->port(), port);
}

TEST(Startup, JsonLogFormatWritesJsonLines) {
  auto daemon = Daemon::Start(DaemonOptions().Config("[server]\nlog_format = \"json\"\n"));
  ASSERT_NE(daemon->port(), 0);
  std::string log = daemon->Stderr();
  size_t start = 0;
  int lines = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    std::string line = log.substr(start, end - start);
    if (!line.empty()) {
      EXPECT_EQ(line.front(), '{') << line;
      EXPECT_EQ(line.back(), '}') << line;
      ++lines;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  EXPECT_GE(lines, 1);
}

TEST(Startup, LoopbackBindDoesNotWarnAboutPassword) {
  auto daemon = Daemon::Start();
  ASSERT_NE(daemon->port(), 0);
  EXPECT_THAT(daemon->Stderr(), Not(HasSubstr("without a password")));
}

}  // namespace
}  // namespace arvel::integration
