// Every way a configuration can be wrong, with the exact one-line message (SPEC §1: "one clear
// line naming the key, file and line").

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "config/config.h"
#include "tests/unit/config/config_test_util.h"

namespace arvel::config {
namespace {

using testing::LoadError;
using testing::MustLoad;

constexpr char kDrivers[] = "array, file, database, redis, null";

TEST(FileErrorTest, WrongIntegerNamesFileLineAndKey) {
  EXPECT_EQ(LoadError("# 1\n# 2\n# 3\n# 4\n# 5\n[server]\nport = \"abc\"\n"),
            "cache.toml:7: server.port: expected an integer from 0 to 65535, got \"abc\"");
}

TEST(FileErrorTest, IntegersOutOfRange) {
  EXPECT_EQ(LoadError("[server]\nport = 70000\n"),
            "cache.toml:2: server.port: expected an integer from 0 to 65535, got 70000");
  EXPECT_EQ(LoadError("[server]\nport = -1\n"),
            "cache.toml:2: server.port: expected an integer from 0 to 65535, got -1");
  EXPECT_EQ(LoadError("[server]\ntimeout = -5\n"),
            "cache.toml:2: server.timeout: expected an integer from 0 to 2147483647, got -5");
  EXPECT_EQ(LoadError("[server]\nmax_clients = 0\n"),
            "cache.toml:2: server.max_clients: expected an integer from 1 to 2147483647, got 0");
  EXPECT_EQ(LoadError("[server]\nremember_lease = 0\n"),
            "cache.toml:2: server.remember_lease: expected an integer from 1 to 2147483647, "
            "got 0");
  EXPECT_EQ(LoadError("ttl = -1\n"),
            "cache.toml:1: ttl: expected an integer from 0 to 2147483647, got -1");
  EXPECT_EQ(LoadError("[stores.r]\ndriver = \"redis\"\nport = 0\n"),
            "cache.toml:3: stores.r.port: expected an integer from 1 to 65535, got 0");
  EXPECT_EQ(LoadError("[stores.r]\ndriver = \"redis\"\ndb = -1\n"),
            "cache.toml:3: stores.r.db: expected an integer from 0 to 2147483647, got -1");
}

TEST(FileErrorTest, IntegerOverflowIsNotSilentlySaturated) {
  EXPECT_EQ(LoadError("ttl = 99999999999999999999\n"),
            "cache.toml:1: ttl: expected an integer from 0 to 2147483647, got "
            "99999999999999999999");
  EXPECT_EQ(LoadError("[stores.m]\ndriver = \"array\"\nmax_memory = 99999999999999999999\n"),
            "cache.toml:3: stores.m.max_memory: expected a non-negative byte size (such as 1024 "
            "or \"64kb\"), got 99999999999999999999");
  // The largest integer itself is fine where the range allows it.
  EXPECT_EQ(LoadError("[stores.m]\ndriver = \"array\"\nmax_memory = 9223372036854775807\n"), "OK");
}

TEST(FileErrorTest, WrongTypes) {
  EXPECT_EQ(LoadError("[server]\nbind = 5\n"),
            "cache.toml:2: server.bind: expected a string, got 5");
  EXPECT_EQ(LoadError("[server]\nport = true\n"),
            "cache.toml:2: server.port: expected an integer from 0 to 65535, got true");
  EXPECT_EQ(LoadError("[server]\nport = 1.5\n"),
            "cache.toml:2: server.port: expected an integer from 0 to 65535, got 1.5");
  EXPECT_EQ(LoadError("[server]\nport = [1]\n"),
            "cache.toml:2: server.port: expected an integer from 0 to 65535, got an array");
  EXPECT_EQ(LoadError("[server]\nport = {a = 1}\n"),
            "cache.toml:2: server.port: expected an integer from 0 to 65535, got a table");
  EXPECT_EQ(LoadError("[server]\nport = 1979-05-27\n"),
            "cache.toml:2: server.port: expected an integer from 0 to 65535, got 1979-05-27");
  EXPECT_EQ(LoadError("prefix = 1\n"), "cache.toml:1: prefix: expected a string, got 1");
  EXPECT_EQ(LoadError("\nserver = 5\n"), "cache.toml:2: server: expected a table, got 5");
  EXPECT_EQ(LoadError("stores = \"x\"\n"), "cache.toml:1: stores: expected a table, got \"x\"");
  EXPECT_EQ(LoadError("[stores]\nx = 1\n"), "cache.toml:2: stores.x: expected a table, got 1");
  EXPECT_EQ(LoadError("[[stores]]\ndriver = \"array\"\n"),
            "cache.toml:1: stores: expected a table, got an array");
}

TEST(BooleanOptionTest, TomlBooleansAndEnvironmentWords) {
  EXPECT_TRUE(MustLoad("").server.protected_mode);
  EXPECT_FALSE(MustLoad("[server]\nprotected_mode = false\n").server.protected_mode);
  EXPECT_TRUE(MustLoad("[server]\nprotected_mode = true\n").server.protected_mode);
  for (const char* no : {"false", "no", "OFF", "0"}) {
    EXPECT_FALSE(MustLoad("", {{"CACHE_PROTECTED_MODE", no}}).server.protected_mode) << no;
  }
  for (const char* yes : {"true", "Yes", "on", "1"}) {
    EXPECT_TRUE(MustLoad("", {{"CACHE_PROTECTED_MODE", yes}}).server.protected_mode) << yes;
  }
  EXPECT_EQ(LoadError("[server]\nprotected_mode = \"false\"\n"),
            "cache.toml:2: server.protected_mode: expected true or false, got \"false\"");
  EXPECT_EQ(LoadError("[server]\nprotected_mode = 1\n"),
            "cache.toml:2: server.protected_mode: expected true or false, got 1");
  EXPECT_EQ(LoadError("", {{"CACHE_PROTECTED_MODE", "maybe"}}),
            "CACHE_PROTECTED_MODE: expected true or false, got \"maybe\"");
  // Booleans are not strings or integers elsewhere.
  EXPECT_EQ(LoadError("[server]\nbind = true\n"),
            "cache.toml:2: server.bind: expected a string, got true");
}

TEST(FileErrorTest, ChoicesListWhatIsAccepted) {
  EXPECT_EQ(LoadError("[server]\nlog_level = \"verbose\"\n"),
            "cache.toml:2: server.log_level: must be one of trace, debug, info, warn, error");
  EXPECT_EQ(LoadError("[server]\nlog_format = \"xml\"\n"),
            "cache.toml:2: server.log_format: must be one of text, json");
  EXPECT_EQ(LoadError("[server]\nlog_level = \"INFO\"\n"),
            "cache.toml:2: server.log_level: must be one of trace, debug, info, warn, error");
}

TEST(FileErrorTest, DriverMustBeKnown) {
  std::string toml =
      "# 1\n# 2\n# 3\n# 4\n# 5\n# 6\n# 7\n# 8\n# 9\n# 10\n"
      "[stores.x]\ndriver = \"memcached\"\n";
  EXPECT_EQ(LoadError(toml),
            std::string("cache.toml:12: stores.x.driver: must be one of ") + kDrivers);
  EXPECT_EQ(LoadError("[stores.x]\ndriver = 1\n"),
            std::string("cache.toml:2: stores.x.driver: must be one of ") + kDrivers);
}

TEST(FileErrorTest, DriverIsRequired) {
  EXPECT_EQ(LoadError("[stores.x]\nprefix = \"p\"\n"),
            "cache.toml:1: stores.x: missing required key 'driver'");
  EXPECT_EQ(LoadError("\n[stores.x]\n"), "cache.toml:2: stores.x: missing required key 'driver'");
}

TEST(FileErrorTest, UnknownKeys) {
  EXPECT_EQ(LoadError("default = \"array\"\n\nsever = 1\n"), "cache.toml:3: unknown key 'sever'");
  EXPECT_EQ(LoadError("[sever]\nport = 1\n"), "cache.toml:1: unknown key 'sever'");
  EXPECT_EQ(LoadError("[server]\nprot = 1\n"), "cache.toml:2: unknown key 'server.prot'");
  EXPECT_EQ(LoadError("[stores.x]\ndriver = \"redis\"\nhots = \"h\"\n"),
            "cache.toml:3: unknown key 'stores.x.hots'");
  EXPECT_EQ(LoadError("[stores.x]\nhots = \"h\"\ndriver = \"wat\"\n"),
            "cache.toml:2: unknown key 'stores.x.hots'");  // the earliest problem wins
  EXPECT_EQ(LoadError("[server.tls]\nport = 1\n"), "cache.toml:1: unknown key 'server.tls'");
}

TEST(FileErrorTest, KeyOfAnotherDriver) {
  EXPECT_EQ(LoadError("[stores.x]\ndriver = \"array\"\nhost = \"h\"\n"),
            "cache.toml:3: stores.x.host: the array driver takes no such key (it takes driver, "
            "prefix, ttl, daemons, max_memory)");
  EXPECT_EQ(LoadError("[stores.x]\ndriver = \"null\"\npath = \"p\"\n"),
            "cache.toml:3: stores.x.path: the null driver takes no such key (it takes driver, "
            "prefix, ttl, daemons)");
  EXPECT_EQ(LoadError("[stores.x]\ndriver = \"redis\"\nurl = \"sqlite://x\"\n"),
            "cache.toml:3: stores.x.url: the redis driver takes no such key (it takes driver, "
            "prefix, ttl, daemons, host, port, password, db, pool_size, connect_timeout, timeout)");
}

TEST(FileErrorTest, SizesMustBeSizes) {
  EXPECT_EQ(LoadError("[stores.m]\ndriver = \"array\"\nmax_memory = -1\n"),
            "cache.toml:3: stores.m.max_memory: expected a non-negative byte size (such as 1024 "
            "or \"64kb\"), got -1");
  EXPECT_EQ(LoadError("[stores.m]\ndriver = \"array\"\nmax_memory = \"lots\"\n"),
            "cache.toml:3: stores.m.max_memory: expected a non-negative byte size (such as 1024 "
            "or \"64kb\"), got \"lots\"");
  EXPECT_EQ(LoadError("[stores.m]\ndriver = \"array\"\nmax_memory = \"-1mb\"\n"),
            "cache.toml:3: stores.m.max_memory: expected a non-negative byte size (such as 1024 "
            "or \"64kb\"), got \"-1mb\"");
  EXPECT_EQ(LoadError("[server]\nproto_max_bulk_len = 0\n"),
            "cache.toml:2: server.proto_max_bulk_len: expected a byte size (such as 1024 or "
            "\"64kb\") of at least 1, got 0");
  EXPECT_EQ(LoadError("[server]\nclient_output_limit = \"16777216tb\"\n"),
            "cache.toml:2: server.client_output_limit: expected a byte size (such as 1024 or "
            "\"64kb\") of at least 1, got \"16777216tb\"");
  // Fits in 64 bits unsigned but not in the signed fields the server uses.
  EXPECT_EQ(LoadError("[server]\nproto_max_bulk_len = \"16000000000g\"\n"),
            "cache.toml:2: server.proto_max_bulk_len: expected a byte size (such as 1024 or "
            "\"64kb\") of at least 1, got \"16000000000g\"");
}

TEST(FileErrorTest, StringChecks) {
  EXPECT_EQ(LoadError("[server]\nbind = \"\"\n"), "cache.toml:2: server.bind: must not be empty");
  EXPECT_EQ(LoadError("[server]\nbind = \"localhost\"\n"),
            "cache.toml:2: server.bind: expected an IPv4 or IPv6 address such as 127.0.0.1 or ::1");
  EXPECT_EQ(LoadError("[stores.f]\ndriver = \"file\"\npath = \"\"\n"),
            "cache.toml:3: stores.f.path: must not be empty");
  EXPECT_EQ(LoadError("[stores.r]\ndriver = \"redis\"\nhost = \"\"\n"),
            "cache.toml:3: stores.r.host: must not be empty");
  EXPECT_EQ(LoadError("[stores.d]\ndriver = \"database\"\ntable = \"cache; drop table x\"\n"),
            "cache.toml:3: stores.d.table: expected an SQL identifier (letters, digits and _, at "
            "most 63)");
  EXPECT_EQ(LoadError("[stores.d]\ndriver = \"database\"\nurl = \"mysql://h/db\"\n"),
            "cache.toml:3: stores.d.url: expected a URL such as sqlite://PATH or "
            "postgresql://USER:PW@HOST/DB");
  EXPECT_EQ(LoadError("default = \"\"\n"), "cache.toml:1: default: must not be empty");
  EXPECT_EQ(LoadError("[stores]\n\"\" = { driver = \"null\" }\n"),
            "cache.toml:2: stores: a store name must not be empty");
  EXPECT_EQ(LoadError("prefix = \"\"\n[server]\npassword = \"\"\n"), "OK");  // "" is meaningful
}

TEST(FileErrorTest, DefaultMustNameAStore) {
  EXPECT_EQ(LoadError("default = \"nope\"\n"),
            std::string("cache.toml:1: default: no store named 'nope' (stores: ") + kDrivers + ")");
  EXPECT_EQ(
      LoadError("default = \"nope\"\n[stores.mem]\ndriver = \"array\"\n"),
      std::string("cache.toml:1: default: no store named 'nope' (stores: mem, ") + kDrivers + ")");
  EXPECT_EQ(LoadError("default = \"mem\"\n[stores.mem]\ndriver = \"array\"\n"), "OK");
}

TEST(FileErrorTest, EarliestProblemInTheFileIsReported) {
  // Keys are visited in sorted order; the message must still follow the file.
  EXPECT_EQ(LoadError("[server]\ntimeout = -1\nbind = 5\n"),
            "cache.toml:2: server.timeout: expected an integer from 0 to 2147483647, got -1");
  EXPECT_EQ(LoadError("zzz = 1\naaa = 2\n"), "cache.toml:1: unknown key 'zzz'");
}

TEST(FileErrorTest, MessagesStayOnOneLine) {
  EXPECT_EQ(LoadError("\"a\\nb\" = 1\n"), "cache.toml:1: unknown key 'a\\x0ab'");
  EXPECT_EQ(LoadError("[server]\nport = \"1\\n2\"\n"),
            "cache.toml:2: server.port: expected an integer from 0 to 65535, got \"1\\x0a2\"");
  std::string long_value(200, 'x');
  std::string error = LoadError("[server]\nport = \"" + long_value + "\"\n");
  EXPECT_EQ(error, "cache.toml:2: server.port: expected an integer from 0 to 65535, got \"" +
                       std::string(64, 'x') + "...\"");
}

TEST(SyntaxErrorTest, CondensedToOneLineWithTheLine) {
  EXPECT_EQ(LoadError("ttl = 1\nprefix = \n"),
            "cache.toml:2: prefix: missing value after key-value separator '='");
  EXPECT_EQ(LoadError("ttl = 1\nttl = 2\n"), "cache.toml:2: ttl: value (\"ttl\") already exists.");
  EXPECT_EQ(LoadError("[server]\n[server]\n"), "cache.toml:2: table (\"server\") already exists.");
  EXPECT_EQ(LoadError("prefix = \"abc\n"),
            "cache.toml:1: prefix: the next token is not a valid string");
  EXPECT_EQ(LoadError("ttl = 1\n[server\n"), "cache.toml:2: an invalid key appeared.");
}

TEST(SyntaxErrorTest, NamesTheKeyTheErrorIsInWithItsTable) {
  EXPECT_EQ(LoadError("ttl = 1\n[server]\nbind = \"::\"\nport = 63 79\n"),
            "cache.toml:4: server.port: invalid line format");
  EXPECT_EQ(LoadError("[stores.r]\ndriver = \"redis\"\n 'db' . x = 1 2\n"),
            "cache.toml:3: stores.r.'db'.x: invalid line format");
  // Not on a key's line: the key (or table) it comes after.
  EXPECT_EQ(
      LoadError("[stores.r]\ndriver = \"redis\"\n 'db' . x = [\n"),
      "cache.toml:4: after stores.r.'db'.x: value having invalid format appeared in an array");
  EXPECT_EQ(LoadError("[server]\nport = 1\n!\n"),
            "cache.toml:3: after server.port: an invalid key appeared.");
  EXPECT_EQ(LoadError("[server]\n!\n"), "cache.toml:2: after [server]: an invalid key appeared.");
  EXPECT_EQ(LoadError("a = [\n  1,\n  2\n  !\n]\n"),
            "cache.toml:4: after a: missing array separator `,` after a value");
}

TEST(SyntaxErrorTest, AnyBadTomlGivesOneLineNamingTheFile) {
  for (std::string text : std::initializer_list<std::string>{
           "=", "[", "a = [1,", "a = {", "a = 0x", "a = 1979-13-45", "a = \"\\u00\"", "a = '''",
           "[[a]]\n[a]", "a.b = 1\na = 2", std::string("a = \"\0\"", 7), "\xff\xfe = 1"}) {
    std::string error = LoadError(text);
    EXPECT_TRUE(error.starts_with("cache.toml:")) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

TEST(Utf8Test, InvalidUtf8IsRefusedWithItsLine) {
  // In a literal string this used to reach a toml11 3.7 out-of-bounds read.
  EXPECT_EQ(LoadError("prefix = '\xa0'\n"), "cache.toml:1: not valid UTF-8");
  EXPECT_EQ(LoadError("a = [[{b = ['\xa0''x]]''']}]]\n"), "cache.toml:1: not valid UTF-8");
  EXPECT_EQ(LoadError("\n\n# \xc0\xaf overlong\n"), "cache.toml:3: not valid UTF-8");
  EXPECT_EQ(LoadError("prefix = \"\xed\xa0\x80\"\n"), "cache.toml:1: not valid UTF-8");
  EXPECT_EQ(LoadError("prefix = \"\xf4\x90\x80\x80\"\n"), "cache.toml:1: not valid UTF-8");
  EXPECT_EQ(LoadError("prefix = \"\xe2\x82\"\n"), "cache.toml:1: not valid UTF-8");
}

TEST(Utf8Test, ValidUtf8IsAccepted) {
  Config config = testing::MustLoad("prefix = \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"\n");
  EXPECT_EQ(config.prefix, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(NestingTest, DeepArraysAndTablesAreRefusedBeforeParsing) {
  EXPECT_EQ(LoadError("\na = " + std::string(65, '[')),
            "cache.toml:2: nested more than 64 levels deep");
  EXPECT_EQ(LoadError("a = " + std::string(4000, '[')),
            "cache.toml:1: nested more than 64 levels deep");
  std::string tables = "a = ";
  for (int i = 0; i < 1300; ++i) tables += "{b=";
  EXPECT_EQ(LoadError(tables), "cache.toml:1: nested more than 64 levels deep");
  std::string dotted = "a";
  for (int i = 0; i < 2000; ++i) dotted += ".b";
  EXPECT_EQ(LoadError(dotted + " = 1\n"), "cache.toml:1: nested more than 64 levels deep");
  // Spread over lines, as arrays may be.
  std::string lines = "a = ";
  for (int i = 0; i < 3000; ++i) lines += "[\n";
  EXPECT_EQ(LoadError(lines), "cache.toml:65: nested more than 64 levels deep");
}

TEST(LimitsTest, LongLinesAndLargeFilesAreRefused) {
  EXPECT_EQ(LoadError("prefix = \"" + std::string(5000, 'x') + "\"\n"),
            "cache.toml:1: line longer than 4096 bytes");
  EXPECT_EQ(LoadError("\n\n# " + std::string(4095, 'x') + "\n"),
            "cache.toml:3: line longer than 4096 bytes");
  EXPECT_EQ(LoadError("# " + std::string(4094, 'x') + "\n"), "OK");
  std::string big;
  while (big.size() <= 65536) big += "# filler\n";
  EXPECT_EQ(LoadError(big), "cache.toml: larger than 65536 bytes");
}

TEST(NestingTest, SixtyFourLevelsAreParsed) {
  std::string arrays = "a = " + std::string(64, '[') + std::string(64, ']') + "\n";
  EXPECT_EQ(LoadError(arrays), "cache.toml:1: unknown key 'a'");  // parsed, then rejected
  std::string dotted = "a";
  for (int i = 0; i < 63; ++i) dotted += ".b";
  EXPECT_EQ(LoadError(dotted + " = 1\n"), "cache.toml:1: unknown key 'a'");
}

TEST(NestingTest, BracketsInStringsAndCommentsDoNotCount) {
  std::string brackets(100, '[');
  std::string dots(100, '.');
  EXPECT_EQ(LoadError("# " + brackets + dots + "\nprefix = \"" + brackets + dots + "\"\n"), "OK");
  EXPECT_EQ(LoadError("prefix = '" + brackets + "'\n"), "OK");
  EXPECT_EQ(LoadError("prefix = \"\"\"\n" + brackets + "\\\"\"\"\"\n"), "OK");
  EXPECT_EQ(LoadError("prefix = '''" + brackets + "\n" + brackets + "'''\n"), "OK");
  // An escaped quote does not end the string early.
  EXPECT_EQ(LoadError("prefix = \"\\\"" + brackets + "\"\n"), "OK");
}

TEST(NestingTest, ClosingBracketsInStringsDoNotHideDepth) {
  // If "]]]" inside the string counted, the 65 levels after it would slip through.
  std::string text = "a = [\"" + std::string(65, ']') + "\", " + std::string(65, '[');
  EXPECT_EQ(LoadError(text), "cache.toml:1: nested more than 64 levels deep");
  std::string multi = "a = [\"\"\"x\"\"\"\"\"," + std::string(65, '[');
  EXPECT_EQ(LoadError(multi), "cache.toml:1: nested more than 64 levels deep");
}

TEST(EnvironmentErrorTest, NamesTheVariable) {
  EXPECT_EQ(LoadError("", {{"CACHE_SERVER_PORT", "x"}}),
            "CACHE_SERVER_PORT: expected an integer from 0 to 65535, got \"x\"");
  EXPECT_EQ(LoadError("", {{"CACHE_SERVER_PORT", "70000"}}),
            "CACHE_SERVER_PORT: expected an integer from 0 to 65535, got \"70000\"");
  EXPECT_EQ(LoadError("", {{"CACHE_SERVER_PORT", " 80"}}),
            "CACHE_SERVER_PORT: expected an integer from 0 to 65535, got \" 80\"");
  EXPECT_EQ(LoadError("", {{"CACHE_PORT", "0"}}),
            "CACHE_PORT: expected an integer from 1 to 65535, got \"0\"");
  EXPECT_EQ(LoadError("", {{"CACHE_TTL", "-1"}}),
            "CACHE_TTL: expected an integer from 0 to 2147483647, got \"-1\"");
  EXPECT_EQ(LoadError("", {{"CACHE_LOG_LEVEL", "loud"}}),
            "CACHE_LOG_LEVEL: must be one of trace, debug, info, warn, error");
  EXPECT_EQ(LoadError("", {{"CACHE_MAX_MEMORY", "lots"}}),
            "CACHE_MAX_MEMORY: expected a non-negative byte size (such as 1024 or \"64kb\"), "
            "got \"lots\"");
  EXPECT_EQ(LoadError("", {{"CACHE_BIND", "example.com"}}),
            "CACHE_BIND: expected an IPv4 or IPv6 address such as 127.0.0.1 or ::1");
  EXPECT_EQ(LoadError("", {{"CACHE_CONNECTION", "nope"}}),
            std::string("CACHE_CONNECTION: no store named 'nope' (stores: ") + kDrivers + ")");
}

TEST(EnvironmentErrorTest, AppliesToExplicitStoresThatUseTheVariable) {
  EXPECT_EQ(LoadError("[stores.r]\ndriver = \"redis\"\n[stores.redis]\ndriver = \"null\"\n",
                      {{"CACHE_REDIS_DB", "one"}}),
            "CACHE_REDIS_DB: expected an integer from 0 to 2147483647, got \"one\"");
  // No store uses it: no redis-driver store exists at all.
  EXPECT_EQ(LoadError("[stores.redis]\ndriver = \"null\"\n", {{"CACHE_REDIS_DB", "one"}}), "OK");
}

TEST(FlagErrorTest, NamesTheFlag) {
  CommandLine port;
  port.port = 70000;
  EXPECT_EQ(LoadError("", {}, port), "--port: expected an integer from 0 to 65535, got 70000");
  CommandLine level;
  level.log_level = "loud";
  EXPECT_EQ(LoadError("", {}, level),
            "--log-level: must be one of trace, debug, info, warn, error");
  CommandLine bind;
  bind.bind = "";
  EXPECT_EQ(LoadError("", {}, bind), "--bind: must not be empty");
  CommandLine store;
  store.store = "nope";
  EXPECT_EQ(LoadError("[stores.m]\ndriver = \"array\"\n", {}, store),
            std::string("--store: no store named 'nope' (stores: m, ") + kDrivers + ")");
}

}  // namespace
}  // namespace arvel::config
