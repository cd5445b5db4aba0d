// INFO CONFIG TIME SHUTDOWN against an in-process server, plus the INFO helpers.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>

#include "server/info.h"
#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

using server::ParseInfo;

std::map<std::string, std::string> Info(Client& c, const std::string& section = "") {
  Reply r = section.empty() ? c.Command({"INFO"}) : c.Command({"INFO", section});
  EXPECT_EQ(r.type, REDIS_REPLY_STRING) << r.str;
  return ParseInfo(r.str);
}

long long Field(const std::map<std::string, std::string>& info, const std::string& name) {
  auto it = info.find(name);
  EXPECT_NE(it, info.end()) << name;
  return it == info.end() ? -1 : std::atoll(it->second.c_str());
}

// "k1=v1,k2=v2" → map
std::map<std::string, std::string> Pairs(const std::string& value) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    std::string item =
        value.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t eq = item.find('=');
    if (eq != std::string::npos) out[item.substr(0, eq)] = item.substr(eq + 1);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

// CONFIG GET's RESP2 reply as name → value.
std::map<std::string, std::string> ConfigGet(Client& c, std::vector<std::string> patterns) {
  patterns.insert(patterns.begin(), {"CONFIG", "GET"});
  Reply r = c.Command(patterns);
  EXPECT_EQ(r.type, REDIS_REPLY_ARRAY) << r.str;
  EXPECT_EQ(r.elements.size() % 2, 0u);
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2)
    out[r.elements[i].str] = r.elements[i + 1].str;
  return out;
}

// Debian's hiredis (0.14) predates RESP3, so RESP3 replies are read raw.
// The end of the RESP3 value starting at `pos`, or npos while it is incomplete.
size_t Resp3End(const std::string& s, size_t pos) {
  size_t eol = s.find("\r\n", pos);
  if (pos >= s.size() || eol == std::string::npos) return std::string::npos;
  char type = s[pos];
  long long n = std::atoll(s.substr(pos + 1, eol - pos - 1).c_str());
  size_t next = eol + 2;
  switch (type) {
    case '$':
    case '=':
    case '!':
      if (n < 0) return next;
      return s.size() < next + n + 2 ? std::string::npos : next + n + 2;
    case '%':
    case '|':
      n *= 2;
      [[fallthrough]];
    case '*':
    case '~':
    case '>':
      for (long long i = 0; i < n && next != std::string::npos; ++i) next = Resp3End(s, next);
      return next;
    default:
      return next;  // + - : _ # , (
  }
}

// Sends HELLO 3 then `command` (inline) on a fresh connection; returns the command's raw reply.
std::string Resp3Reply(int port, const std::string& command) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return "no connection";
  std::string request = "HELLO 3\r\n" + command + "\r\n";
  if (send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return "send failed";
  }
  std::string in;
  size_t hello_end = std::string::npos, end = std::string::npos;
  char buf[16384];
  while (end == std::string::npos) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
    hello_end = Resp3End(in, 0);
    if (hello_end != std::string::npos) end = Resp3End(in, hello_end);
  }
  close(fd);
  if (end == std::string::npos) return "incomplete: " + in;
  return in.substr(hello_end, end - hello_end);
}

TEST(ServerCommandsTest, InfoIsRedisFormattedText) {
  ServerFixture server;
  Client c = server.Connect();
  Reply r = c.Command({"INFO"});
  ASSERT_EQ(r.type, REDIS_REPLY_STRING);
  const std::string& text = r.str;
  for (const char* header : {"# Server\r\n", "# Clients\r\n", "# Memory\r\n", "# Persistence\r\n",
                             "# Stats\r\n", "# Keyspace\r\n", "# Stores\r\n"}) {
    EXPECT_NE(text.find(header), std::string::npos) << header;
  }
  EXPECT_EQ(text.rfind("# Server\r\n", 0), 0u);
  // Every line ends in \r\n: no bare \n anywhere.
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      ASSERT_TRUE(i > 0 && text[i - 1] == '\r') << "at " << i;
    }
  }
  EXPECT_EQ(text.substr(text.size() - 2), "\r\n");
  // Every line that is not a header or blank is field:value.
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find("\r\n", pos);
    std::string line = text.substr(pos, end - pos);
    pos = end + 2;
    if (line.empty() || line[0] == '#') continue;
    EXPECT_NE(line.find(':'), std::string::npos) << line;
  }

  auto info = ParseInfo(text);
  EXPECT_EQ(info["redis_version"], "7.0.0");
  EXPECT_EQ(info["arvel_version"], ARVEL_VERSION);
  EXPECT_EQ(info["redis_mode"], "standalone");
  EXPECT_EQ(Field(info, "tcp_port"), server.port());
  EXPECT_EQ(Field(info, "process_id"), getpid());
  EXPECT_EQ(Field(info, "arch_bits"), static_cast<long long>(sizeof(void*) * 8));
  EXPECT_FALSE(info["os"].empty());
  EXPECT_FALSE(info["executable"].empty());
  EXPECT_GE(Field(info, "uptime_in_seconds"), 0);
  EXPECT_EQ(Field(info, "uptime_in_days"), 0);
  EXPECT_EQ(Field(info, "connected_clients"), 1);
  EXPECT_EQ(Field(info, "blocked_clients"), 0);  // not itself, although INFO may park
  EXPECT_EQ(Field(info, "maxclients"), 10000);
  EXPECT_GT(Field(info, "used_memory"), 0);
  EXPECT_FALSE(info["used_memory_human"].empty());
  EXPECT_EQ(info["maxmemory_policy"], "allkeys-lru");
  EXPECT_EQ(Field(info, "loading"), 0);
  EXPECT_EQ(info["role"], "master");
}

TEST(ServerCommandsTest, InfoCountersMoveWithTraffic) {
  ServerFixture server;
  Client c = server.Connect();
  auto before = Info(c);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.Command({"TIME"}).type, REDIS_REPLY_ARRAY);
  Client other = server.Connect();
  ASSERT_EQ(other.Command({"ASSERT", "MISSING", "nokey"}).str, "OK");  // one miss
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a measurable interval for rates
  auto after = Info(c);
  // INFO, 5 × TIME, ASSERT: at least 7 commands.
  EXPECT_GE(Field(after, "total_commands_processed") - Field(before, "total_commands_processed"),
            7);
  EXPECT_EQ(Field(after, "total_connections_received"), 2);
  EXPECT_EQ(Field(after, "connected_clients"), 2);
  EXPECT_GT(Field(after, "total_net_input_bytes"), Field(before, "total_net_input_bytes"));
  EXPECT_GT(Field(after, "total_net_output_bytes"), Field(before, "total_net_output_bytes"));
  EXPECT_EQ(Field(after, "keyspace_misses") - Field(before, "keyspace_misses"), 1);
  EXPECT_GT(Field(after, "instantaneous_ops_per_sec"), 0);
  EXPECT_EQ(Field(after, "rejected_connections"), 0);
}

TEST(ServerCommandsTest, InfoKeyspaceAndStoresFollowTheData) {
  ServerFixture server;
  Client c = server.Connect();
  ASSERT_EQ(c.Command({"SET", "k", "v"}).str, "OK");
  ASSERT_EQ(c.Command({"SET", "k2", "v"}).str, "OK");
  auto info = Info(c);
  EXPECT_EQ(info["db0"], "keys=2,expires=0,avg_ttl=0");
  auto array = Pairs(info["store_array"]);
  EXPECT_EQ(array["driver"], "array");
  EXPECT_EQ(array["status"], "ok");
  EXPECT_EQ(array["keys"], "2");
  EXPECT_GT(std::atoll(array["used_memory"].c_str()), 0);
  EXPECT_GE(Field(info, "used_memory"), std::atoll(array["used_memory"].c_str()));
  long long hits = Field(info, "keyspace_hits");
  ASSERT_EQ(c.Command({"GET", "k"}).str, "v");
  EXPECT_EQ(Field(Info(c), "keyspace_hits"), hits + 1);
  EXPECT_EQ(Pairs(Info(c, "stores")["store_array"])["hits"], std::to_string(hits + 1));

  // The Keyspace line describes the connection's current store.
  ASSERT_EQ(c.Command({"STORE", "null"}).str, "OK");
  EXPECT_EQ(Info(c).count("db0"), 0u);
}

TEST(ServerCommandsTest, InfoStoresListsEveryStore) {
  ServerFixture server;
  Client c = server.Connect();
  auto info = Info(c, "stores");
  ASSERT_EQ(info.count("store_array"), 1u);
  ASSERT_EQ(info.count("store_null"), 1u);
  auto null_store = Pairs(info["store_null"]);
  EXPECT_EQ(null_store["driver"], "null");
  for (const char* field : {"status", "hits", "misses", "evictions", "errors", "used_memory"}) {
    EXPECT_EQ(null_store.count(field), 1u) << field;
  }
  ASSERT_EQ(c.Command({"STORE", "null"}).str, "OK");
  ASSERT_EQ(c.Command({"ASSERT", "MISSING", "x"}).str, "OK");
  EXPECT_EQ(Pairs(Info(c, "stores")["store_null"])["misses"], "1");
  // Stores of drivers this build lacks are listed as unavailable, with their errors counted.
  for (const auto& [name, value] : info) {
    if (name.rfind("store_", 0) != 0) continue;
    auto fields = Pairs(value);
    EXPECT_TRUE(fields["status"] == "ok" || fields["status"] == "unavailable") << name;
  }
}

TEST(ServerCommandsTest, InfoSelectsSections) {
  ServerFixture server;
  Client c = server.Connect();
  Reply one = c.Command({"INFO", "server"});
  EXPECT_EQ(one.str.rfind("# Server\r\n", 0), 0u);
  EXPECT_EQ(one.str.find("# Clients"), std::string::npos);
  Reply two = c.Command({"INFO", "CLIENTS", "Stats"});
  EXPECT_NE(two.str.find("# Clients\r\n"), std::string::npos);
  EXPECT_NE(two.str.find("\r\n\r\n# Stats\r\n"), std::string::npos);
  EXPECT_EQ(two.str.find("# Server"), std::string::npos);
  Reply none = c.Command({"INFO", "nosuchsection"});
  EXPECT_EQ(none.type, REDIS_REPLY_STRING);
  EXPECT_EQ(none.str, "");
  EXPECT_EQ(c.Command({"INFO", "all"}).str.find("# Server"), 0u);
}

TEST(ServerCommandsTest, ConfigGetAnswersRedisNamesWithGlobs) {
  ServerFixture server;
  Client c = server.Connect();
  auto all = ConfigGet(c, {"*"});
  EXPECT_EQ(all["port"], std::to_string(server.port()));
  EXPECT_EQ(all["bind"], "127.0.0.1");
  EXPECT_EQ(all["databases"], "1");
  EXPECT_EQ(all["save"], "");
  EXPECT_EQ(all["appendonly"], "no");
  EXPECT_EQ(all["timeout"], "0");
  EXPECT_EQ(all["maxclients"], "10000");
  EXPECT_EQ(all["maxmemory"], "0");
  EXPECT_EQ(all["proto-max-bulk-len"], std::to_string(512LL * 1024 * 1024));

  auto max = ConfigGet(c, {"MAX*"});
  EXPECT_EQ(max.size(), 3u);  // maxclients, maxmemory, maxmemory-policy
  EXPECT_EQ(max["maxmemory-policy"], "allkeys-lru");

  Reply dedup = c.Command({"CONFIG", "GET", "port", "p?rt", "bind"});
  ASSERT_EQ(dedup.elements.size(), 4u);
  EXPECT_EQ(dedup.elements[0].str, "bind");  // table order, each once
  EXPECT_EQ(dedup.elements[2].str, "port");
  EXPECT_TRUE(ConfigGet(c, {"nosuch*"}).empty());
}

TEST(ServerCommandsTest, Resp3Shapes) {
  ServerFixture server;
  int port = server.port();
  std::string info = Resp3Reply(port, "INFO server");
  EXPECT_EQ(info.substr(0, 1), "=");  // verbatim, as from Redis
  EXPECT_NE(info.find("\r\ntxt:# Server\r\n"), std::string::npos) << info;

  std::string port_text = std::to_string(port);
  EXPECT_EQ(
      Resp3Reply(port, "CONFIG GET port"),
      "%1\r\n$4\r\nport\r\n$" + std::to_string(port_text.size()) + "\r\n" + port_text + "\r\n");

  std::string docs = Resp3Reply(port, "COMMAND DOCS info");
  EXPECT_EQ(docs.rfind("%1\r\n$4\r\ninfo\r\n%", 0), 0u) << docs;
  // Argument flags are a set of simple strings (redis-cli asserts both).
  EXPECT_NE(docs.find("$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n"), std::string::npos)
      << docs;

  EXPECT_EQ(Resp3Reply(port, "COMMAND INFO nosuch"), "*1\r\n_\r\n");
  std::string time_info = Resp3Reply(port, "COMMAND INFO time");
  EXPECT_EQ(time_info.rfind("*1\r\n*10\r\n$4\r\ntime\r\n:1\r\n~", 0), 0u) << time_info;
}

TEST(ServerCommandsTest, ConfigErrors) {
  ServerFixture server;
  Client c = server.Connect();
  EXPECT_EQ(c.Command({"CONFIG", "SET", "maxmemory", "1mb"}).str,
            "ERR CONFIG SET of 'maxmemory' is not supported (only busy-reply-threshold, "
            "lua-time-limit, slowlog-log-slower-than and slowlog-max-len change at run time); "
            "edit cache.toml and restart");
  // All or nothing: one bad pair changes nothing.
  EXPECT_EQ(c.Command({"CONFIG", "SET", "slowlog-max-len", "7", "slowlog-log-slower-than", "-2"})
                .str,
            "ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - "
            "argument must be between -1 and 2147483647 inclusive");
  EXPECT_EQ(Text(c.Command({"CONFIG", "GET", "slowlog-max-len"})), "[$slowlog-max-len, $128]");
  EXPECT_EQ(Text(c.Command({"CONFIG", "SET", "slowlog-max-len", "7", "LUA-TIME-LIMIT", "250"})),
            "+OK");
  EXPECT_EQ(Text(c.Command({"CONFIG", "GET", "slowlog-max-len", "busy-reply-threshold"})),
            "[$slowlog-max-len, $7, $busy-reply-threshold, $250]");
  EXPECT_EQ(c.Command({"CONFIG", "SET", "maxmemory"}).str,
            "ERR wrong number of arguments for 'config|set' command");
  EXPECT_EQ(c.Command({"CONFIG", "GET"}).str,
            "ERR wrong number of arguments for 'config|get' command");
  EXPECT_EQ(c.Command({"CONFIG", "BOGUS"}).str, "ERR unknown subcommand 'BOGUS'. Try CONFIG HELP.");
  EXPECT_EQ(c.Command({"CONFIG"}).str, "ERR wrong number of arguments for 'config' command");
  Reply help = c.Command({"CONFIG", "HELP"});
  ASSERT_EQ(help.type, REDIS_REPLY_ARRAY);
  EXPECT_GT(help.elements.size(), 3u);
  EXPECT_EQ(help.elements[0].type, REDIS_REPLY_STATUS);
}

TEST(ServerCommandsTest, ConfigResetStatZeroesCounters) {
  ServerFixture server;
  Client c = server.Connect();
  for (int i = 0; i < 10; ++i) c.Command({"TIME"});
  c.Command({"ASSERT", "MISSING", "x"});
  auto before = Info(c, "stats");
  EXPECT_GE(Field(before, "total_commands_processed"), 11);
  EXPECT_EQ(Field(before, "keyspace_misses"), 1);
  EXPECT_EQ(c.Command({"CONFIG", "RESETSTAT"}).str, "OK");
  auto after = Info(c, "stats");
  EXPECT_LE(Field(after, "total_commands_processed"), 1);  // the INFO itself
  EXPECT_EQ(Field(after, "keyspace_misses"), 0);
  EXPECT_EQ(Field(after, "total_connections_received"), 0);
}

TEST(ServerCommandsTest, TimeIsNow) {
  ServerFixture server;
  Client c = server.Connect();
  Reply r = c.Command({"TIME"});
  ASSERT_EQ(r.type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(r.elements.size(), 2u);
  long long seconds = std::atoll(r.elements[0].str.c_str());
  long long micros = std::atoll(r.elements[1].str.c_str());
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  EXPECT_LE(std::llabs(now - seconds), 2);
  EXPECT_GE(micros, 0);
  EXPECT_LT(micros, 1000000);
}

TEST(ServerCommandsTest, ShutdownOptions) {
  ServerFixture server;
  Client c = server.Connect();
  EXPECT_EQ(c.Command({"SHUTDOWN", "ABORT"}).str, "ERR No shutdown in progress.");
  EXPECT_EQ(c.Command({"SHUTDOWN", "bogus"}).str, "ERR syntax error");
  EXPECT_EQ(c.Command({"SHUTDOWN", "SAVE", "NOSAVE"}).str, "ERR syntax error");
  EXPECT_EQ(c.Command({"SHUTDOWN", "NOW", "ABORT"}).str, "ERR syntax error");
  EXPECT_EQ(c.Command({"TIME"}).type, REDIS_REPLY_ARRAY);  // still up
}

TEST(ServerCommandsTest, ShutdownStopsTheServerWithoutAReply) {
  ServerFixture server;
  Client c = server.Connect();
  Reply r = c.Command({"SHUTDOWN", "NOSAVE"});
  EXPECT_EQ(r.str, "connection lost");
  // New connections are refused once the listener is closed.
  bool refused = false;
  for (int i = 0; i < 50 && !refused; ++i) {
    redisContext* probe = redisConnect("127.0.0.1", server.port());
    refused = probe == nullptr || probe->err != 0;
    if (probe) redisFree(probe);
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(refused);
  server.Stop();  // the loop has finished: its state may be read now
  EXPECT_TRUE(server.server().shutting_down());
}

TEST(RateMeterTest, RatesSpanTheRecentSamples) {
  server::RateMeter meter;
  // First sample: the average since start (1000 commands in 10 s).
  EXPECT_DOUBLE_EQ(meter.Sample(10000, 0, 1000, 0, 0).ops_per_sec, 100);
  // One second later, 500 more: 500/s, whatever the average says.
  auto rates = meter.Sample(11000, 0, 1500, 2048, 4096);
  EXPECT_DOUBLE_EQ(rates.ops_per_sec, 500);
  EXPECT_DOUBLE_EQ(rates.input_kbps, 2);
  EXPECT_DOUBLE_EQ(rates.output_kbps, 4);
  // Idle for a while: samples older than the window stop counting.
  meter.Sample(12000, 0, 1500, 2048, 4096);
  EXPECT_DOUBLE_EQ(meter.Sample(15000, 0, 1500, 2048, 4096).ops_per_sec, 0);
  // Counters that go backwards (CONFIG RESETSTAT) restart the measurement.
  EXPECT_GE(meter.Sample(16000, 0, 10, 0, 0).ops_per_sec, 0);
}

TEST(InfoHelpersTest, BytesToHumanLikeRedis) {
  EXPECT_EQ(server::BytesToHuman(0), "0B");
  EXPECT_EQ(server::BytesToHuman(1023), "1023B");
  EXPECT_EQ(server::BytesToHuman(1536), "1.50K");
  EXPECT_EQ(server::BytesToHuman(256ULL << 20), "256.00M");
  EXPECT_EQ(server::BytesToHuman(3ULL << 30), "3.00G");
}

TEST(InfoHelpersTest, SectionNames) {
  std::string_view none[] = {"nosuch"};
  EXPECT_FALSE(server::InfoSections::Parse(none).Has("server"));
  std::string_view everything[] = {"EVERYTHING"};
  EXPECT_TRUE(server::InfoSections::Parse(everything).Has("stores"));
  EXPECT_TRUE(server::InfoSections::Parse({}).Has("keyspace"));
}

}  // namespace
}  // namespace arvel::testing
