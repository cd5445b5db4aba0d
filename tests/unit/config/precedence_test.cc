// Precedence (SPEC §2): flag > cache.toml > CACHE_* environment > built-in default, for every
// combination of sources, for each option that has all four.

#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <string>

#include "config/config.h"
#include "tests/unit/config/config_test_util.h"

namespace arvel::config {
namespace {

using testing::MustLoad;

// One option with a flag, a file key and a variable, and four distinct values for it.
struct FourSourceOption {
  std::string name;
  std::string table;       // "" for the top level, else "server"
  std::string key;         // in the table
  std::string variable;    // CACHE_*
  std::string flag;        // for the origin text
  std::string file_value;  // as TOML
  std::string env_value;
  std::function<void(CommandLine&)> set_flag;
  std::function<std::string(const Config&)> read;
  std::string expected_flag, expected_file, expected_env, expected_default;
  std::string origin_key;
};

// Stores beyond the implicit ones, so that `default` has names to choose from.
constexpr char kExtraStores[] =
    "[stores.from_flag]\ndriver = \"null\"\n"
    "[stores.from_file]\ndriver = \"null\"\n"
    "[stores.from_env]\ndriver = \"null\"\n";

std::vector<FourSourceOption> AllOptions() {
  return {
      {"port", "server", "port", "CACHE_SERVER_PORT", "--port", "7002", "7003",
       [](CommandLine& line) { line.port = 7001; },
       [](const Config& c) { return std::to_string(c.server.port); }, "7001", "7002", "7003",
       "6380", "server.port"},
      {"bind", "server", "bind", "CACHE_BIND", "--bind", "\"10.0.0.2\"", "10.0.0.3",
       [](CommandLine& line) { line.bind = "10.0.0.1"; },
       [](const Config& c) { return c.server.bind; }, "10.0.0.1", "10.0.0.2", "10.0.0.3",
       "127.0.0.1", "server.bind"},
      {"log_level", "server", "log_level", "CACHE_LOG_LEVEL", "--log-level", "\"debug\"", "warn",
       [](CommandLine& line) { line.log_level = "trace"; },
       [](const Config& c) { return c.server.log_level; }, "trace", "debug", "warn", "info",
       "server.log_level"},
      {"default", "", "default", "CACHE_CONNECTION", "--store", "\"from_file\"", "from_env",
       [](CommandLine& line) { line.store = "from_flag"; },
       [](const Config& c) { return c.default_store; }, "from_flag", "from_file", "from_env",
       "array", "default"},
  };
}

struct Combination {
  FourSourceOption option;
  bool flag, file, env;
};

void PrintTo(const Combination& c, std::ostream* os) {
  *os << c.option.name << (c.flag ? " flag" : "") << (c.file ? " file" : "")
      << (c.env ? " env" : "");
}

std::string Name(const ::testing::TestParamInfo<Combination>& info) {
  const Combination& c = info.param;
  return c.option.name + (c.flag ? "_Flag" : "") + (c.file ? "_File" : "") + (c.env ? "_Env" : "") +
         (!c.flag && !c.file && !c.env ? "_Nothing" : "");
}

std::vector<Combination> AllCombinations() {
  std::vector<Combination> out;
  for (const FourSourceOption& option : AllOptions()) {
    for (int mask = 0; mask < 8; ++mask) {
      out.push_back({option, (mask & 1) != 0, (mask & 2) != 0, (mask & 4) != 0});
    }
  }
  return out;
}

class PrecedenceTest : public ::testing::TestWithParam<Combination> {};

TEST_P(PrecedenceTest, HighestSourceWins) {
  const Combination& c = GetParam();
  const FourSourceOption& o = c.option;
  CommandLine line;
  Environment env;
  std::string toml;
  if (c.flag) o.set_flag(line);
  if (c.env) env[o.variable] = o.env_value;
  if (c.file) {
    toml = o.table.empty() ? o.key + " = " + o.file_value + "\n"
                           : "[" + o.table + "]\n" + o.key + " = " + o.file_value + "\n";
  }
  toml += kExtraStores;

  Config config = MustLoad(toml, env, line);

  std::string expected = c.flag   ? o.expected_flag
                         : c.file ? o.expected_file
                         : c.env  ? o.expected_env
                                  : o.expected_default;
  std::string origin = c.flag   ? "flag " + o.flag
                       : c.file ? (o.table.empty() ? "cache.toml:1" : "cache.toml:2")
                       : c.env  ? "env " + o.variable
                                : "default";
  EXPECT_EQ(o.read(config), expected);
  EXPECT_EQ(config.origins.at(o.origin_key), origin);
}

INSTANTIATE_TEST_SUITE_P(EveryCombination, PrecedenceTest, ::testing::ValuesIn(AllCombinations()),
                         Name);

// Options without a flag: file > env > default.
TEST(PrecedenceTest, TopLevelTtlFileBeatsEnvBeatsDefault) {
  EXPECT_EQ(MustLoad("").ttl, 3600);
  EXPECT_EQ(MustLoad("", {{"CACHE_TTL", "60"}}).ttl, 60);
  EXPECT_EQ(MustLoad("ttl = 30\n", {{"CACHE_TTL", "60"}}).ttl, 30);
  EXPECT_EQ(MustLoad("ttl = 30\n").ttl, 30);
}

TEST(PrecedenceTest, EveryServerVariableIsRead) {
  Config config = MustLoad("", {{"CACHE_PASSWORD", "pw"},
                                {"CACHE_MAX_CLIENTS", "5"},
                                {"CACHE_CLIENT_TIMEOUT", "9"},
                                {"CACHE_LOG_FORMAT", "json"},
                                {"CACHE_PREFIX", "p"}});
  EXPECT_EQ(config.server.password, "pw");
  EXPECT_EQ(config.server.max_clients, 5);
  EXPECT_EQ(config.server.timeout, 9);
  EXPECT_EQ(config.server.log_format, "json");
  EXPECT_EQ(config.prefix, "p");
}

TEST(PrecedenceTest, StoreKeyFileBeatsEnvBeatsDefault) {
  Environment env = {{"CACHE_HOST", "env-host"}, {"CACHE_PORT", "7000"}};
  Config config = MustLoad(
      "[stores.a]\ndriver = \"redis\"\nhost = \"file-host\"\n"
      "[stores.b]\ndriver = \"redis\"\n",
      env);
  const StoreConfig* a = config.FindStore("a");
  const StoreConfig* b = config.FindStore("b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->host, "file-host");  // file
  EXPECT_EQ(a->port, 7000);         // env fills what the table leaves out
  EXPECT_EQ(b->host, "env-host");
  EXPECT_EQ(config.origins.at("stores.a.host"), "cache.toml:3");
  EXPECT_EQ(config.origins.at("stores.a.port"), "env CACHE_PORT");
  EXPECT_EQ(config.origins.at("stores.a.db"), "default");
  EXPECT_EQ(MustLoad("[stores.c]\ndriver = \"redis\"\n").FindStore("c")->host, "127.0.0.1");
}

TEST(PrecedenceTest, StorePrefixAndTtlDefaultToTopLevel) {
  Config config = MustLoad(
      "prefix = \"top\"\nttl = 99\n"
      "[stores.own]\ndriver = \"redis\"\nprefix = \"mine\"\nttl = 5\n"
      "[stores.inherits]\ndriver = \"redis\"\n");
  EXPECT_EQ(config.FindStore("own")->prefix, "mine");
  EXPECT_EQ(config.FindStore("own")->ttl, 5);
  EXPECT_EQ(config.FindStore("inherits")->prefix, "top");
  EXPECT_EQ(config.FindStore("inherits")->ttl, 99);
  EXPECT_EQ(config.FindStore("redis")->prefix, "top");  // implicit stores too
  EXPECT_EQ(config.origins.at("stores.inherits.prefix"), "top-level prefix");

  Config from_env = MustLoad("", {{"CACHE_PREFIX", "envp"}, {"CACHE_TTL", "7"}});
  EXPECT_EQ(from_env.FindStore("array")->prefix, "envp");
  EXPECT_EQ(from_env.FindStore("redis")->ttl, 7);
}

TEST(PrecedenceTest, ShadowedBadVariableIsIgnored) {
  EXPECT_EQ(MustLoad("[server]\nport = 1\n", {{"CACHE_SERVER_PORT", "x"}}).server.port, 1);
  CommandLine line;
  line.port = 2;
  EXPECT_EQ(MustLoad("", {{"CACHE_SERVER_PORT", "x"}}, line).server.port, 2);
}

TEST(PrecedenceTest, EmptyVariableCountsAsUnsetUnlessEmptyMeansSomething) {
  Config config = MustLoad("", {{"CACHE_SERVER_PORT", ""},
                                {"CACHE_BIND", ""},
                                {"CACHE_LOG_LEVEL", ""},
                                {"CACHE_PREFIX", ""},
                                {"CACHE_CONNECTION", ""}});
  EXPECT_EQ(config.server.port, 6380);
  EXPECT_EQ(config.server.bind, "127.0.0.1");
  EXPECT_EQ(config.server.log_level, "info");
  EXPECT_EQ(config.default_store, "array");
  EXPECT_EQ(config.prefix, "");  // an empty prefix is a choice
}

}  // namespace
}  // namespace arvel::config
