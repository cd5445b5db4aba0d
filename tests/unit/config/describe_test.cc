#include <gtest/gtest.h>

#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/options.h"
#include "tests/unit/config/config_test_util.h"

namespace arvel::config {
namespace {

using testing::Load;
using testing::MustLoad;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The line of `text` that starts with `start`, or "".
std::string LineStartingWith(const std::string& text, const std::string& start) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(start)) return line;
  }
  return "";
}

TEST(DescribeTest, MasksSecrets) {
  Config config = MustLoad(
      "[server]\npassword = \"s3cret-server\"\n"
      "[stores.r]\ndriver = \"redis\"\npassword = \"s3cret-redis\"\n"
      "[stores.pg]\ndriver = \"database\"\n"
      "url = \"postgresql://user:s3cret-url@db.example:5432/cache?password=s3cret-query&x=1\"\n");
  std::string text = Describe(config);
  EXPECT_FALSE(Contains(text, "s3cret")) << text;
  EXPECT_TRUE(Contains(LineStartingWith(text, "password = "), "\"********\""));
  EXPECT_TRUE(Contains(text,
                       "url = \"postgresql://user:********@db.example:5432/cache?password=********"
                       "&x=1\""))
      << text;
}

TEST(DescribeTest, MasksThePasswordFromTheEnvironmentToo) {
  std::string text = Describe(MustLoad("", {{"CACHE_PASSWORD", "envsecret"},
                                            {"CACHE_REDIS_PASSWORD", "redissecret"},
                                            {"CACHE_DATABASE_URL", "postgres://u:dbsecret@h/d"}}));
  EXPECT_FALSE(Contains(text, "envsecret")) << text;
  EXPECT_FALSE(Contains(text, "redissecret")) << text;
  EXPECT_FALSE(Contains(text, "dbsecret")) << text;
}

TEST(DescribeTest, EmptyPasswordIsShownAsEmpty) {
  std::string text = Describe(MustLoad(""));
  EXPECT_TRUE(LineStartingWith(text, "password = \"\"").size() > 0) << text;
  EXPECT_TRUE(Contains(text, "url = \"sqlite://storage/cache.sqlite\"")) << text;
}

TEST(DescribeTest, UrlsWithoutPasswordsAreUnchanged) {
  std::string text =
      Describe(MustLoad("[stores.pg]\ndriver = \"database\"\nurl = \"postgresql://u@h:5432/d\"\n"));
  EXPECT_TRUE(Contains(text, "url = \"postgresql://u@h:5432/d\"")) << text;
}

TEST(DescribeTest, ShowsEveryValueAndWhereItCameFrom) {
  CommandLine line;
  line.port = 7001;
  Config config = MustLoad("[server]\nbind = \"10.0.0.1\"\n[stores.mem]\ndriver = \"array\"\n",
                           {{"CACHE_LOG_LEVEL", "debug"}}, line);
  std::string text = Describe(config);
  EXPECT_TRUE(Contains(LineStartingWith(text, "port = 7001"), "# flag --port")) << text;
  EXPECT_TRUE(Contains(LineStartingWith(text, "bind = \"10.0.0.1\""), "# cache.toml:2")) << text;
  EXPECT_TRUE(Contains(LineStartingWith(text, "log_level = \"debug\""), "# env CACHE_LOG_LEVEL"))
      << text;
  EXPECT_TRUE(Contains(LineStartingWith(text, "max_clients = 10000"), "# default")) << text;
  EXPECT_TRUE(Contains(LineStartingWith(text, "[stores.mem]"), "# cache.toml:3")) << text;
  EXPECT_TRUE(Contains(LineStartingWith(text, "[stores.array]"), "# implicit")) << text;
  EXPECT_TRUE(Contains(text, "proto_max_bulk_len = 536870912")) << text;
  EXPECT_TRUE(Contains(text, "remember_lease = 10")) << text;
}

TEST(DescribeTest, ShowsOnlyTheKeysOfEachStoresDriver) {
  std::string text = Describe(MustLoad("[stores.mem]\ndriver = \"null\"\n"));
  size_t start = text.find("[stores.mem]");
  size_t end = text.find("[stores.", start + 1);
  std::string section = text.substr(start, end - start);
  EXPECT_TRUE(Contains(section, "driver = \"null\"")) << section;
  EXPECT_TRUE(Contains(section, "prefix = ")) << section;
  EXPECT_FALSE(Contains(section, "host")) << section;
  EXPECT_FALSE(Contains(section, "max_memory")) << section;
}

TEST(DescribeTest, OutputLoadsAgainAsTheSameConfiguration) {
  Config original = MustLoad(
      "prefix = \"p\\\"q\"\n[server]\nport = 1234\nlog_format = \"json\"\n"
      "[stores.\"odd name\"]\ndriver = \"redis\"\nhost = \"h\"\ndb = 2\n",
      {{"CACHE_MAX_MEMORY", "1mb"}});
  Result<Config> reloaded = Load(Describe(original));
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().message() << "\n" << Describe(original);
  EXPECT_EQ(reloaded->prefix, "p\"q");
  EXPECT_EQ(reloaded->server.port, 1234);
  EXPECT_EQ(reloaded->server.log_format, "json");
  ASSERT_EQ(reloaded->stores.size(), original.stores.size());
  for (size_t i = 0; i < original.stores.size(); ++i) {
    const StoreConfig& a = original.stores[i];
    const StoreConfig& b = reloaded->stores[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.driver, b.driver);
    EXPECT_EQ(a.prefix, b.prefix);
    EXPECT_EQ(a.host, b.host);
    EXPECT_EQ(a.db, b.db);
    EXPECT_EQ(a.max_memory, b.max_memory);
  }
}

TEST(ReferenceTableTest, OneRowPerOptionWithEveryVariable) {
  std::string table = ReferenceTable();
  EXPECT_TRUE(table.starts_with("| Key | Type | Default | Environment | Description |\n")) << table;
  std::vector<std::string> rows;
  std::istringstream lines(table);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(line.starts_with("| ") || line.starts_with("|---")) << line;
    rows.push_back(line);
  }
  // A header, a separator, then one row per option of the table, in the table's order.
  std::span<const Option> options = Options();
  ASSERT_EQ(rows.size(), 2u + options.size()) << table;
  for (size_t i = 0; i < options.size(); ++i) {
    EXPECT_TRUE(rows[2 + i].starts_with("| `" + options[i].Path() + "`")) << rows[2 + i];
    if (!options[i].env.empty()) {
      EXPECT_TRUE(Contains(rows[2 + i], "`" + std::string(options[i].env) + "`")) << rows[2 + i];
    }
  }
  for (const char* expected :
       {"`default`", "`server.port`", "`stores.NAME.max_memory`", "`CACHE_CONNECTION`",
        "`CACHE_SERVER_PORT`", "`CACHE_MAX_MEMORY`", "`CACHE_DATABASE_URL`", "`512mb`", "`--port`",
        "integer 0–65535", "`trace` \\| `debug`"}) {
    EXPECT_TRUE(Contains(table, expected)) << expected << " missing in\n" << table;
  }
}

}  // namespace
}  // namespace arvel::config
