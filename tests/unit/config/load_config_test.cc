// Defaults, stores (explicit and implicit), values, and finding the config file.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.h"
#include "tests/unit/config/config_test_util.h"

namespace arvel::config {
namespace {

using ::testing::ElementsAre;
using testing::MustLoad;
using testing::ScopedWorkingDirectory;
using testing::TempDir;

std::vector<std::string> StoreNames(const Config& config) {
  std::vector<std::string> names;
  for (const StoreConfig& store : config.stores) names.push_back(store.name);
  return names;
}

TEST(LoadConfigTest, DefaultsMatchTheStructInitializers) {
  Config config = MustLoad("");
  ServerConfig server;
  EXPECT_EQ(config.default_store, Config().default_store);
  EXPECT_EQ(config.prefix, Config().prefix);
  EXPECT_EQ(config.ttl, Config().ttl);
  EXPECT_EQ(config.server.bind, server.bind);
  EXPECT_EQ(config.server.port, server.port);
  EXPECT_EQ(config.server.password, server.password);
  EXPECT_EQ(config.server.max_clients, server.max_clients);
  EXPECT_EQ(config.server.timeout, server.timeout);
  EXPECT_EQ(config.server.log_level, server.log_level);
  EXPECT_EQ(config.server.log_format, server.log_format);
  EXPECT_EQ(config.server.proto_max_bulk_len, server.proto_max_bulk_len);
  EXPECT_EQ(config.server.proto_max_multibulk_len, server.proto_max_multibulk_len);
  EXPECT_EQ(config.server.proto_inline_max_size, server.proto_inline_max_size);
  EXPECT_EQ(config.server.client_output_limit, server.client_output_limit);
  EXPECT_EQ(config.server.remember_lease, server.remember_lease);

  StoreConfig store;
  EXPECT_EQ(config.FindStore("array")->max_memory, store.max_memory);
  EXPECT_EQ(config.FindStore("file")->path, store.path);
  EXPECT_EQ(config.FindStore("redis")->host, store.host);
  EXPECT_EQ(config.FindStore("redis")->port, store.port);
  EXPECT_EQ(config.FindStore("redis")->password, store.password);
  EXPECT_EQ(config.FindStore("redis")->db, store.db);
  EXPECT_EQ(config.FindStore("database")->url, store.url);
  EXPECT_EQ(config.FindStore("database")->table, store.table);
  EXPECT_EQ(config.FindStore("redis")->ttl, store.ttl);
}

TEST(LoadConfigTest, SpecDefaultsHold) {
  Config config = MustLoad("");
  EXPECT_EQ(config.default_store, "array");
  EXPECT_EQ(config.server.port, 6380);
  EXPECT_EQ(config.server.proto_max_bulk_len, 512LL << 20);
  EXPECT_EQ(config.server.proto_max_multibulk_len, 1 << 20);
  EXPECT_EQ(config.server.proto_inline_max_size, 64 << 10);
  EXPECT_EQ(config.server.client_output_limit, 64LL << 20);
  EXPECT_EQ(config.server.remember_lease, 10);
  EXPECT_EQ(config.source, "cache.toml");
}

TEST(LoadConfigTest, WithoutStoreTablesEveryDriverHasAnImplicitStore) {
  Config config = MustLoad("");
  EXPECT_THAT(StoreNames(config), ElementsAre("array", "file", "database", "redis", "null"));
  for (const StoreConfig& store : config.stores) {
    EXPECT_TRUE(store.implicit) << store.name;
    EXPECT_EQ(store.driver, store.name);
    EXPECT_EQ(store.prefix, "arvel_cache");
  }
}

TEST(LoadConfigTest, ExplicitStoresComeFirstInFileOrderThenImplicitOnes) {
  Config config = MustLoad(
      "[stores.zeta]\ndriver = \"array\"\n"
      "[stores.alpha]\ndriver = \"file\"\n"
      "[stores.redis]\ndriver = \"array\"\n");
  EXPECT_THAT(StoreNames(config),
              ElementsAre("zeta", "alpha", "redis", "array", "file", "database", "null"));
  EXPECT_FALSE(config.FindStore("zeta")->implicit);
  EXPECT_FALSE(config.FindStore("redis")->implicit);
  EXPECT_EQ(config.FindStore("redis")->driver, "array");  // the name is taken, not re-added
  EXPECT_TRUE(config.FindStore("null")->implicit);
}

TEST(LoadConfigTest, StoresWrittenAsDottedKeysAndInlineTables) {
  Config config = MustLoad(
      "stores.a.driver = \"null\"\n"
      "stores.b = { driver = \"redis\", port = 7777 }\n");
  ASSERT_NE(config.FindStore("a"), nullptr);
  EXPECT_EQ(config.FindStore("b")->port, 7777);
  EXPECT_EQ(StoreNames(config)[0], "a");
}

TEST(LoadConfigTest, EnvironmentAloneConfiguresTheRedisStore) {
  Config config =
      MustLoad("", {{"CACHE_CONNECTION", "redis"}, {"CACHE_HOST", "h"}, {"CACHE_PORT", "7000"}});
  EXPECT_EQ(config.default_store, "redis");
  const StoreConfig* redis = config.FindStore(config.default_store);
  ASSERT_NE(redis, nullptr);
  EXPECT_TRUE(redis->implicit);
  EXPECT_EQ(redis->host, "h");
  EXPECT_EQ(redis->port, 7000);
}

TEST(LoadConfigTest, EnvironmentFillsEveryDriverKey) {
  Config config = MustLoad("", {{"CACHE_MAX_MEMORY", "1gb"},
                                {"CACHE_FILE_PATH", "/var/cache/arvel"},
                                {"CACHE_REDIS_PASSWORD", "rpw"},
                                {"CACHE_REDIS_DB", "3"},
                                {"CACHE_DATABASE_URL", "postgresql://u:p@db/cache"}});
  EXPECT_EQ(config.FindStore("array")->max_memory, 1ULL << 30);
  EXPECT_EQ(config.FindStore("file")->path, "/var/cache/arvel");
  EXPECT_EQ(config.FindStore("redis")->password, "rpw");
  EXPECT_EQ(config.FindStore("redis")->db, 3);
  EXPECT_EQ(config.FindStore("database")->url, "postgresql://u:p@db/cache");
}

TEST(LoadConfigTest, TheSpecExampleLoads) {
  Config config = MustLoad(R"(
default = "array"
prefix  = "arvel_cache"
ttl     = 3600

[server]
bind        = "127.0.0.1"
port        = 6380
password    = ""
max_clients = 10000
timeout     = 0
log_level   = "info"
log_format  = "text"

[stores.memory]
driver     = "array"
max_memory = "256mb"

[stores.files]
driver = "file"
path   = "storage/cache"

[stores.shared]
driver   = "redis"
host     = "127.0.0.1"
port     = 6379
password = ""
db       = 0

[stores.sql]
driver = "database"
url    = "sqlite://storage/cache.sqlite"
table  = "cache"

[stores.off]
driver = "null"
)");
  EXPECT_THAT(StoreNames(config), ElementsAre("memory", "files", "shared", "sql", "off", "array",
                                              "file", "database", "redis", "null"));
  EXPECT_EQ(config.FindStore("memory")->max_memory, 256ULL << 20);
  EXPECT_EQ(config.FindStore("sql")->table, "cache");
}

TEST(LoadConfigTest, SizesAcceptStringsAndIntegers) {
  Config config = MustLoad(
      "[server]\nproto_max_bulk_len = \"1mb\"\nproto_inline_max_size = 4096\n"
      "client_output_limit = \"1k\"\n"
      "[stores.m]\ndriver = \"array\"\nmax_memory = 0\n"
      "[stores.n]\ndriver = \"array\"\nmax_memory = \"2GB\"\n");
  EXPECT_EQ(config.server.proto_max_bulk_len, 1 << 20);
  EXPECT_EQ(config.server.proto_inline_max_size, 4096);
  EXPECT_EQ(config.server.client_output_limit, 1000);
  EXPECT_EQ(config.FindStore("m")->max_memory, 0u);
  EXPECT_EQ(config.FindStore("n")->max_memory, 2ULL << 30);
}

TEST(LoadConfigTest, PortZeroMeansAnyFreePort) {
  CommandLine line;
  line.port = 0;
  EXPECT_EQ(MustLoad("", {}, line).server.port, 0);
  EXPECT_EQ(MustLoad("[server]\nport = 0\n").server.port, 0);
}

TEST(LoadConfigTest, TomlIntegerForms) {
  EXPECT_EQ(MustLoad("[server]\nport = 0x1F90\n").server.port, 8080);
  EXPECT_EQ(MustLoad("[server]\nmax_clients = 1_000\n").server.max_clients, 1000);
  EXPECT_EQ(MustLoad("[server]\nport = +80\n").server.port, 80);
}

TEST(LoadConfigTest, IPv6BindAndPostgresUrlAreAccepted) {
  Config config = MustLoad(
      "[server]\nbind = \"::\"\n[stores.pg]\ndriver = \"database\"\n"
      "url = \"postgres://u@h/db\"\ntable = \"my_cache\"\n");
  EXPECT_EQ(config.server.bind, "::");
  EXPECT_EQ(config.FindStore("pg")->table, "my_cache");
}

TEST(LoadConfigTest, CommentsBomAndCrlfAreFine) {
  Config config = MustLoad("\xEF\xBB\xBF# comment [[[[\r\n[server] # x\r\nport = 1 # y\r\n");
  EXPECT_EQ(config.server.port, 1);
}

TEST(LoadConfigTest, EmptyFileNameLeavesSourceEmpty) {
  Result<Config> config = LoadConfigText("", "", {}, {});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->source, "");
}

// Finding the file: --config, else $CACHE_CONFIG, else ./cache.toml if it exists.

TEST(ConfigFileTest, ConfigFlagNamesTheFile) {
  TempDir dir;
  std::string path = dir.Write("custom.toml", "[server]\nport = 1111\n");
  CommandLine line;
  line.config_path = path;
  Result<Config> config = LoadConfig(line, {});
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->server.port, 1111);
  EXPECT_EQ(config->source, path);
  EXPECT_EQ(config->origins.at("server.port"), path + ":2");
}

TEST(ConfigFileTest, CacheConfigVariableNamesTheFile) {
  TempDir dir;
  std::string path = dir.Write("env.toml", "[server]\nport = 2222\n");
  Result<Config> config = LoadConfig({}, {{"CACHE_CONFIG", path}});
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->server.port, 2222);
}

TEST(ConfigFileTest, FlagBeatsVariableBeatsWorkingDirectory) {
  TempDir dir;
  std::string flag_file = dir.Write("flag.toml", "[server]\nport = 1\n");
  std::string env_file = dir.Write("env.toml", "[server]\nport = 2\n");
  dir.Write("cache.toml", "[server]\nport = 3\n");
  ScopedWorkingDirectory cwd(dir.path());
  CommandLine line;
  line.config_path = flag_file;
  EXPECT_EQ(LoadConfig(line, {{"CACHE_CONFIG", env_file}})->server.port, 1);
  EXPECT_EQ(LoadConfig({}, {{"CACHE_CONFIG", env_file}})->server.port, 2);
  EXPECT_EQ(LoadConfig({}, {})->server.port, 3);
  EXPECT_EQ(LoadConfig({}, {})->source, "cache.toml");
  EXPECT_EQ(LoadConfig({}, {{"CACHE_CONFIG", ""}})->server.port, 3);  // empty = unset
}

TEST(ConfigFileTest, NoFileAnywhereMeansDefaults) {
  TempDir dir;
  ScopedWorkingDirectory cwd(dir.path());
  Result<Config> config = LoadConfig({}, {});
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->source, "");
  EXPECT_EQ(config->server.port, 6380);
}

TEST(ConfigFileTest, MissingExplicitFileIsAnError) {
  TempDir dir;
  std::string path = (dir.path() / "nope.toml").string();
  CommandLine line;
  line.config_path = path;
  Result<Config> from_flag = LoadConfig(line, {});
  ASSERT_FALSE(from_flag.ok());
  EXPECT_EQ(from_flag.status().message(),
            "--config: cannot read '" + path + "': No such file or directory");
  Result<Config> from_env = LoadConfig({}, {{"CACHE_CONFIG", path}});
  ASSERT_FALSE(from_env.ok());
  EXPECT_EQ(from_env.status().message(),
            "CACHE_CONFIG: cannot read '" + path + "': No such file or directory");
}

TEST(ConfigFileTest, DirectoryIsNotAConfigFile) {
  TempDir dir;
  CommandLine line;
  line.config_path = dir.path().string();
  Result<Config> config = LoadConfig(line, {});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            "--config: cannot read '" + dir.path().string() + "': is a directory");
}

TEST(ConfigFileTest, ErrorsNameTheFileAsGiven) {
  TempDir dir;
  std::string path = dir.Write("bad.toml", "\n[server]\nport = \"abc\"\n");
  CommandLine line;
  line.config_path = path;
  EXPECT_EQ(LoadConfig(line, {}).status().message(),
            path + ":3: server.port: expected an integer from 0 to 65535, got \"abc\"");
}

TEST(ConfigFileTest, OversizedFileIsRefused) {
  TempDir dir;
  std::string big;
  while (big.size() < (4 << 20)) big += "# a comment line\n";
  std::string path = dir.Write("big.toml", big);
  CommandLine line;
  line.config_path = path;
  EXPECT_EQ(LoadConfig(line, {}).status().message(), path + ": larger than 65536 bytes");
}

TEST(ProcessEnvironmentTest, ReadsOnlyCacheVariables) {
  ::setenv("CACHE_ARVEL_TEST_VARIABLE", "x=y", 1);
  ::setenv("ARVEL_UNRELATED_TEST_VARIABLE", "z", 1);
  Environment env = ProcessEnvironment();
  EXPECT_EQ(env.at("CACHE_ARVEL_TEST_VARIABLE"), "x=y");
  EXPECT_EQ(env.count("ARVEL_UNRELATED_TEST_VARIABLE"), 0u);
  ::unsetenv("CACHE_ARVEL_TEST_VARIABLE");
  ::unsetenv("ARVEL_UNRELATED_TEST_VARIABLE");
}

}  // namespace
}  // namespace arvel::config
