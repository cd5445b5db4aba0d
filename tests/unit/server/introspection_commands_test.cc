// COMMAND [COUNT | INFO | DOCS | LIST | GETKEYS] against an in-process server. The DOCS tests
// read the reply the way redis-cli 7.0 does (cliAddArgument) to check the hints it will show.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "server/command_table.h"
#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

size_t TableSize() { return server::CommandTable::Default().all().size(); }

// The value under `key` in a map reply (a flat array in RESP2), nullptr if absent.
const Reply* Get(const Reply& map, const std::string& key) {
  for (size_t i = 0; i + 1 < map.elements.size(); i += 2) {
    if (map.elements[i].str == key) return &map.elements[i + 1];
  }
  return nullptr;
}

std::string RenderArgs(const Reply& args, const std::string& separator);

// redis-cli 7.0's cliAddArgument, including its expectations (its asserts) about types.
std::string RenderArg(const Reply& arg) {
  std::string name, type, token;
  bool optional = false, multiple = false;
  const Reply* nested = nullptr;
  for (size_t i = 0; i + 1 < arg.elements.size(); i += 2) {
    const std::string& key = arg.elements[i].str;
    const Reply& value = arg.elements[i + 1];
    EXPECT_EQ(arg.elements[i].type, REDIS_REPLY_STRING);
    if (key == "name") name = value.str;
    if (key == "type") type = value.str;
    if (key == "token") token = value.str;
    if (key == "arguments") nested = &value;
    if (key == "flags") {
      for (const Reply& flag : value.elements) {
        EXPECT_EQ(flag.type, REDIS_REPLY_STATUS) << "redis-cli asserts flags are status replies";
        optional = optional || flag.str == "optional";
        multiple = multiple || flag.str == "multiple";
      }
    }
  }
  EXPECT_FALSE(type.empty()) << "redis-cli crashes on an argument without a type";
  std::string repeat;
  if (type == "oneof" || type == "block") {
    EXPECT_NE(nested, nullptr);
    if (nested) repeat = RenderArgs(*nested, type == "oneof" ? "|" : " ");
  } else if (type != "pure-token") {
    repeat = name;
  }
  if (!token.empty() && type != "pure-token") token += " ";
  std::string out = optional ? "[" : "";
  out += token + repeat;
  if (multiple) out += " [" + repeat + " ...]";
  if (optional) out += "]";
  return out;
}

std::string RenderArgs(const Reply& args, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < args.elements.size(); ++i) {
    if (i > 0) out += separator;
    out += RenderArg(args.elements[i]);
  }
  return out;
}

// The hint redis-cli shows after "NAME " for the documentation `doc`.
std::string Hint(const Reply& doc) {
  const Reply* args = Get(doc, "arguments");
  return args == nullptr ? "" : RenderArgs(*args, " ");
}

// COMMAND DOCS name → that command's documentation map.
Reply Docs(Client& c, const std::string& name) {
  Reply r = c.Command({"COMMAND", "DOCS", name});
  EXPECT_EQ(r.elements.size(), 2u) << name;
  return r.elements.size() == 2 ? r.elements[1] : Reply();
}

std::vector<std::string> Strings(const Reply& r) {
  std::vector<std::string> out;
  for (const Reply& e : r.elements) out.push_back(e.str);
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(IntrospectionCommandsTest, CountIsTheTableSize) {
  ServerFixture server;
  Client c = server.Connect();
  Reply r = c.Command({"COMMAND", "COUNT"});
  ASSERT_EQ(r.type, REDIS_REPLY_INTEGER);
  EXPECT_EQ(static_cast<size_t>(r.integer), TableSize());
  EXPECT_GE(r.integer, 8);  // at least this family's and the server family's commands
  EXPECT_EQ(c.Command({"COMMAND", "COUNT", "x"}).str,
            "ERR wrong number of arguments for 'command|count' command");
}

TEST(IntrospectionCommandsTest, CommandListsEveryCommandInRedis7Shape) {
  ServerFixture server;
  Client c = server.Connect();
  Reply all = c.Command({"COMMAND"});
  ASSERT_EQ(all.type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(all.elements.size(), TableSize());
  for (const Reply& entry : all.elements) {
    ASSERT_EQ(entry.elements.size(), 10u);
    EXPECT_EQ(entry.elements[0].type, REDIS_REPLY_STRING);
    EXPECT_EQ(entry.elements[1].type, REDIS_REPLY_INTEGER);
    for (int i : {3, 4, 5}) EXPECT_EQ(entry.elements[i].type, REDIS_REPLY_INTEGER);
    for (const Reply& flag : entry.elements[2].elements) EXPECT_EQ(flag.type, REDIS_REPLY_STATUS);
    for (const Reply& category : entry.elements[6].elements) {
      EXPECT_EQ(category.type, REDIS_REPLY_STATUS);
      EXPECT_EQ(category.str[0], '@');
    }
    EXPECT_EQ(entry.elements[8].type, REDIS_REPLY_ARRAY);
    EXPECT_EQ(entry.elements[9].type, REDIS_REPLY_ARRAY);
  }
}

TEST(IntrospectionCommandsTest, InfoForNamesSubcommandsAndUnknowns) {
  ServerFixture server;
  Client c = server.Connect();
  Reply r = c.Command({"COMMAND", "INFO", "TIME", "assert", "nosuch", "config|get"});
  ASSERT_EQ(r.elements.size(), 4u);
  const Reply& time = r.elements[0];
  EXPECT_EQ(time.elements[0].str, "time");
  EXPECT_EQ(time.elements[1].integer, 1);
  std::vector<std::string> flags = Strings(time.elements[2]);
  EXPECT_TRUE(Contains(flags, "readonly"));
  EXPECT_TRUE(Contains(flags, "fast"));
  EXPECT_EQ(time.elements[3].integer, 0);

  const Reply& assert_entry = r.elements[1];
  EXPECT_EQ(assert_entry.elements[1].integer, -3);
  EXPECT_EQ(assert_entry.elements[3].integer, 2);  // ASSERT STORED key: the key is third
  EXPECT_EQ(assert_entry.elements[4].integer, 2);
  EXPECT_EQ(assert_entry.elements[5].integer, 1);
  ASSERT_EQ(assert_entry.elements[8].elements.size(), 1u);  // one key spec
  const Reply* begin = Get(assert_entry.elements[8].elements[0], "begin_search");
  ASSERT_NE(begin, nullptr);
  EXPECT_EQ(Get(*Get(*begin, "spec"), "index")->integer, 2);
  std::vector<std::string> subcommands;
  for (const Reply& sub : assert_entry.elements[9].elements)
    subcommands.push_back(sub.elements[0].str);
  EXPECT_EQ(subcommands, (std::vector<std::string>{"assert|stored", "assert|missing"}));

  EXPECT_TRUE(r.elements[2].is_nil());
  EXPECT_EQ(r.elements[3].elements[0].str, "config|get");
  EXPECT_EQ(r.elements[3].elements[1].integer, -3);

  EXPECT_EQ(c.Command({"COMMAND", "INFO"}).elements.size(), TableSize());
}

TEST(IntrospectionCommandsTest, DocsShapeAndHints) {
  ServerFixture server;
  Client c = server.Connect();
  Reply shutdown = Docs(c, "shutdown");
  EXPECT_EQ(Get(shutdown, "group")->str, "server");
  EXPECT_EQ(Get(shutdown, "since")->str, ARVEL_VERSION);
  EXPECT_FALSE(Get(shutdown, "summary")->str.empty());
  EXPECT_EQ(Hint(shutdown), "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]");

  Reply info = Docs(c, "INFO");
  const Reply& section = Get(info, "arguments")->elements.at(0);
  EXPECT_EQ(Get(section, "name")->str, "section");
  EXPECT_EQ(Get(section, "type")->str, "string");
  EXPECT_EQ(Strings(*Get(section, "flags")), (std::vector<std::string>{"optional", "multiple"}));
  EXPECT_EQ(Hint(info), "[section [section ...]]");

  EXPECT_EQ(Hint(Docs(c, "store")), "[name|LIST]");
  EXPECT_EQ(Hint(Docs(c, "select")), "index");
  EXPECT_EQ(Get(Docs(c, "time"), "arguments"), nullptr);  // no arguments: no field, as Redis
}

TEST(IntrospectionCommandsTest, DocsOfContainersListSubcommands) {
  ServerFixture server;
  Client c = server.Connect();
  Reply config = Docs(c, "config");
  const Reply* subcommands = Get(config, "subcommands");
  ASSERT_NE(subcommands, nullptr);
  const Reply* get = Get(*subcommands, "config|get");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(Hint(*get), "parameter [parameter ...]");
  EXPECT_EQ(Hint(*Get(*subcommands, "config|resetstat")), "");
  // CONFIG SET changes the run-time limits; REWRITE always fails (cache.toml is the
  // configuration): not offered.
  EXPECT_EQ(Hint(*Get(*subcommands, "config|set")), "parameter value [parameter value ...]");
  EXPECT_EQ(Get(*subcommands, "config|rewrite"), nullptr);
  EXPECT_EQ(Hint(config), "GET|SET|RESETSTAT|HELP");

  Reply client_doc = Docs(c, "client");
  const Reply* client = Get(client_doc, "subcommands");
  ASSERT_NE(client, nullptr);
  for (const char* sub :
       {"client|id", "client|getname", "client|setname", "client|setinfo", "client|info",
        "client|list", "client|kill", "client|no-evict", "client|help"}) {
    EXPECT_NE(Get(*client, sub), nullptr) << sub;
  }

  Reply assert_doc = Docs(c, "assert");
  EXPECT_EQ(Hint(*Get(*Get(assert_doc, "subcommands"), "assert|stored")), "key [value]");
  EXPECT_EQ(Hint(Docs(c, "assert|missing")), "key");
}

TEST(IntrospectionCommandsTest, DocsOfLockShowItsOptionsAndFence) {
  ServerFixture server;
  Client c = server.Connect();
  Reply lock = Docs(c, "lock");
  EXPECT_EQ(Hint(lock), "ACQUIRE|BLOCK|RELEASE|EXTEND|FORCERELEASE|OWNER|FENCE|HELP");
  const Reply* subcommands = Get(lock, "subcommands");
  ASSERT_NE(subcommands, nullptr);
  const Reply* acquire = Get(*subcommands, "lock|acquire");
  const Reply* block = Get(*subcommands, "lock|block");
  const Reply* fence = Get(*subcommands, "lock|fence");
  ASSERT_NE(acquire, nullptr);
  ASSERT_NE(block, nullptr);
  ASSERT_NE(fence, nullptr);
  EXPECT_EQ(Hint(*acquire), "name ttl [OWNER token] [SESSION] [FENCED]");
  EXPECT_EQ(Hint(*block), "name ttl timeout [OWNER token] [SESSION] [FENCED]");
  EXPECT_EQ(Hint(*fence), "name");
}

TEST(IntrospectionCommandsTest, DocsForEveryCommandRenderAsRedisCliWould) {
  ServerFixture server;
  Client c = server.Connect();
  Reply all = DeepCommand(server.port(), {"COMMAND", "DOCS"});
  ASSERT_EQ(all.type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(all.elements.size(), 2 * TableSize());
  for (size_t i = 0; i < all.elements.size(); i += 2) {
    EXPECT_EQ(all.elements[i].type, REDIS_REPLY_STRING);
    const Reply& doc = all.elements[i + 1];
    for (const char* field : {"summary", "since", "group"}) {
      ASSERT_NE(Get(doc, field), nullptr) << all.elements[i].str << " " << field;
      EXPECT_EQ(Get(doc, field)->type, REDIS_REPLY_STRING);
    }
    (void)Hint(doc);
  }
  Reply some = c.Command({"COMMAND", "DOCS", "nosuch", "TIME"});
  ASSERT_EQ(some.elements.size(), 2u);  // unknown names are left out
  EXPECT_EQ(some.elements[0].str, "time");
}

TEST(IntrospectionCommandsTest, ListAndFilters) {
  ServerFixture server;
  Client c = server.Connect();
  std::vector<std::string> all = Strings(c.Command({"COMMAND", "LIST"}));
  EXPECT_TRUE(Contains(all, "time"));
  EXPECT_TRUE(Contains(all, "config"));
  EXPECT_TRUE(Contains(all, "config|get"));
  EXPECT_TRUE(Contains(all, "client|list"));  // as Redis 7.0's own tests look for it
  EXPECT_TRUE(Contains(all, "client|help"));
  EXPECT_TRUE(Contains(all, "config|set"));
  EXPECT_FALSE(Contains(all, "config|rewrite"));  // lists only what works
  EXPECT_GE(all.size(), TableSize());

  std::vector<std::string> config =
      Strings(c.Command({"COMMAND", "LIST", "FILTERBY", "PATTERN", "conf*"}));
  EXPECT_TRUE(Contains(config, "config|get"));
  for (const std::string& name : config) EXPECT_EQ(name.rfind("config", 0), 0u) << name;

  std::vector<std::string> admin =
      Strings(c.Command({"COMMAND", "LIST", "filterby", "aclcat", "ADMIN"}));
  EXPECT_TRUE(Contains(admin, "shutdown"));
  EXPECT_TRUE(Contains(admin, "config"));
  EXPECT_FALSE(Contains(admin, "time"));

  EXPECT_TRUE(c.Command({"COMMAND", "LIST", "FILTERBY", "MODULE", "x"}).elements.empty());
  EXPECT_EQ(c.Command({"COMMAND", "LIST", "FILTERBY", "COLOR", "x"}).str, "ERR syntax error");
  EXPECT_EQ(c.Command({"COMMAND", "LIST", "x"}).str, "ERR syntax error");
}

TEST(IntrospectionCommandsTest, GetKeys) {
  ServerFixture server;
  Client c = server.Connect();
  EXPECT_EQ(Strings(c.Command({"COMMAND", "GETKEYS", "ASSERT", "STORED", "k"})),
            (std::vector<std::string>{"k"}));
  EXPECT_EQ(c.Command({"COMMAND", "GETKEYS", "nosuch", "a"}).str, "ERR Invalid command specified");
  EXPECT_EQ(c.Command({"COMMAND", "GETKEYS", "select", "0", "1"}).str,
            "ERR Invalid number of arguments specified for command");
  EXPECT_EQ(c.Command({"COMMAND", "GETKEYS", "select", "0"}).str,
            "ERR The command has no key arguments");
  EXPECT_EQ(c.Command({"COMMAND", "GETKEYS", "get"}).str,
            "ERR wrong number of arguments for 'command|getkeys' command");
  // EVAL's keys are counted by numkeys (movablekeys).
  EXPECT_EQ(Strings(c.Command({"COMMAND", "GETKEYS", "EVAL", "return 1", "2", "a", "b", "c"})),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Text(c.Command({"COMMAND", "GETKEYS", "EVAL", "return 1", "0"})), "[]");
  EXPECT_EQ(c.Command({"COMMAND", "GETKEYS", "EVAL", "return 1", "3", "a"}).str,
            "ERR Invalid number of arguments specified for command");
  Reply eval = c.Command({"COMMAND", "INFO", "eval"});
  ASSERT_EQ(eval.elements.size(), 1u);
  EXPECT_NE(Text(eval.elements[0].elements.at(2)).find("movablekeys"), std::string::npos);
  if (server::CommandTable::Default().Find("mset") != nullptr) {
    EXPECT_EQ(Strings(c.Command({"COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"})),
              (std::vector<std::string>{"a", "b"}));
  }
}

TEST(IntrospectionCommandsTest, UnknownSubcommandAndHelp) {
  ServerFixture server;
  Client c = server.Connect();
  EXPECT_EQ(c.Command({"COMMAND", "FOO"}).str, "ERR unknown subcommand 'FOO'. Try COMMAND HELP.");
  Reply help = c.Command({"COMMAND", "HELP"});
  ASSERT_EQ(help.type, REDIS_REPLY_ARRAY);
  EXPECT_GT(help.elements.size(), 5u);
}

}  // namespace
}  // namespace arvel::testing
