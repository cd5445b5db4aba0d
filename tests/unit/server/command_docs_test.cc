// The syntax mini-language behind COMMAND DOCS (server/command_docs.h): parsing into Redis 7
// argument trees, rendering back as redis-cli does, and container commands.

#include "server/command_docs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "server/command.h"
#include "server/command_table.h"

namespace arvel::server {
namespace {

ArgumentDoc Arg(std::string name, std::string type, std::string token = "") {
  ArgumentDoc arg;
  arg.name = std::move(name);
  arg.type = std::move(type);
  arg.token = std::move(token);
  return arg;
}

ArgumentDoc Optional(ArgumentDoc arg) {
  arg.optional = true;
  return arg;
}

ArgumentDoc Multiple(ArgumentDoc arg) {
  arg.multiple = true;
  return arg;
}

ArgumentDoc Group(std::string type, std::vector<ArgumentDoc> members, std::string name = "") {
  ArgumentDoc arg = Arg(std::move(name), std::move(type));
  arg.arguments = std::move(members);
  return arg;
}

TEST(CommandDocsTest, PlainArgumentsTakeTheirTypeFromTheirNames) {
  std::vector<ArgumentDoc> args = ParseSyntax("key value [ttl]");
  ASSERT_EQ(args.size(), 3u);
  EXPECT_EQ(args[0], Arg("key", "key"));
  EXPECT_EQ(args[1], Arg("value", "string"));
  EXPECT_EQ(args[2], Optional(Arg("ttl", "integer")));
  EXPECT_EQ(RenderArguments(args), "key value [ttl]");
}

TEST(CommandDocsTest, TokensIntroduceTheirValueAndChoicesBecomeOneof) {
  std::vector<ArgumentDoc> args = ParseSyntax("key [EX seconds|PX milliseconds] [NX|XX]");
  ASSERT_EQ(args.size(), 3u);
  EXPECT_EQ(args[1].type, "oneof");
  EXPECT_TRUE(args[1].optional);
  ASSERT_EQ(args[1].arguments.size(), 2u);
  EXPECT_EQ(args[1].arguments[0], Arg("seconds", "integer", "EX"));
  EXPECT_EQ(args[1].arguments[1], Arg("milliseconds", "integer", "PX"));
  EXPECT_EQ(args[2].type, "oneof");
  ASSERT_EQ(args[2].arguments.size(), 2u);
  EXPECT_EQ(args[2].arguments[0], Arg("nx", "pure-token", "NX"));
  EXPECT_EQ(args[2].arguments[1], Arg("xx", "pure-token", "XX"));
  EXPECT_EQ(RenderArguments(args), "key [EX seconds|PX milliseconds] [NX|XX]");
}

TEST(CommandDocsTest, RepetitionFoldsIntoOneMultipleArgument) {
  std::vector<ArgumentDoc> keys = ParseSyntax("key [key ...]");
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0], Multiple(Arg("key", "key")));
  EXPECT_EQ(RenderArguments(keys), "key [key ...]");

  std::vector<ArgumentDoc> pairs = ParseSyntax("ttl key value [key value ...]");
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0], Arg("ttl", "integer"));
  EXPECT_EQ(pairs[1],
            Multiple(Group("block", {Arg("key", "key"), Arg("value", "string")}, "key-value")));
  EXPECT_EQ(RenderArguments(pairs), "ttl key value [key value ...]");
}

TEST(CommandDocsTest, UnicodeEllipsisAndBareEllipsisMeanTheSame) {
  EXPECT_EQ(ParseSyntax("key [key \xE2\x80\xA6]"), ParseSyntax("key [key ...]"));
  EXPECT_EQ(ParseSyntax("key ..."), ParseSyntax("key [key ...]"));
}

TEST(CommandDocsTest, OptionalRepetitionWithNothingBeforeIt) {
  std::vector<ArgumentDoc> args = ParseSyntax("[section [section ...]]");
  ASSERT_EQ(args.size(), 1u);
  EXPECT_EQ(args[0], Optional(Multiple(Arg("section", "string"))));
  EXPECT_EQ(RenderArguments(args), "[section [section ...]]");
}

TEST(CommandDocsTest, NestedGroupsBecomeBlocks) {
  std::vector<ArgumentDoc> args =
      ParseSyntax("[protover [AUTH username password] [SETNAME clientname]]");
  ASSERT_EQ(args.size(), 1u);
  EXPECT_EQ(args[0].type, "block");
  EXPECT_TRUE(args[0].optional);
  ASSERT_EQ(args[0].arguments.size(), 3u);
  EXPECT_EQ(args[0].arguments[0], Arg("protover", "integer"));
  ArgumentDoc auth =
      Optional(Group("block", {Arg("username", "string"), Arg("password", "string")}, "auth"));
  auth.token = "AUTH";
  EXPECT_EQ(args[0].arguments[1], auth);
  EXPECT_EQ(args[0].arguments[2], Optional(Arg("clientname", "string", "SETNAME")));
  EXPECT_EQ(RenderArguments(args), "[protover [AUTH username password] [SETNAME clientname]]");
}

TEST(CommandDocsTest, TokenBeforeARequiredGroupIntroducesTheGroup) {
  std::vector<ArgumentDoc> args =
      ParseSyntax("[FILTERBY <MODULE module-name|ACLCAT category|PATTERN pattern>]");
  ASSERT_EQ(args.size(), 1u);
  EXPECT_EQ(args[0].type, "oneof");
  EXPECT_EQ(args[0].token, "FILTERBY");
  EXPECT_TRUE(args[0].optional);
  ASSERT_EQ(args[0].arguments.size(), 3u);
  EXPECT_EQ(args[0].arguments[2], Arg("pattern", "pattern", "PATTERN"));
  EXPECT_EQ(RenderArguments(args), "[FILTERBY MODULE module-name|ACLCAT category|PATTERN pattern]");
}

TEST(CommandDocsTest, TokenWithSeveralValuesIsABlock) {
  std::vector<ArgumentDoc> args = ParseSyntax("[LIMIT offset count]");
  ASSERT_EQ(args.size(), 1u);
  EXPECT_EQ(args[0].type, "block");
  EXPECT_EQ(args[0].token, "LIMIT");
  EXPECT_EQ(args[0].name, "limit");
  EXPECT_EQ(RenderArguments(args), "[LIMIT offset count]");
}

TEST(CommandDocsTest, EmptyAndMalformedSyntaxNeverFail) {
  EXPECT_TRUE(ParseSyntax("").empty());
  EXPECT_TRUE(ParseSyntax("   ").empty());
  for (std::string_view garbage : {"]] [ key |", "[[[", "| | |", "...", "key [", "<a|>b)"}) {
    std::vector<ArgumentDoc> args = ParseSyntax(garbage);
    (void)RenderArguments(args);  // must not crash either
  }
  std::vector<ArgumentDoc> unclosed = ParseSyntax("key [ttl");
  ASSERT_EQ(unclosed.size(), 2u);
  EXPECT_EQ(unclosed[1], Optional(Arg("ttl", "integer")));
}

void Noop(CommandContext&) {}

// A spec whose syntax is all that matters; `spec.syntax` must outlive it (literals do).
CommandSpec Spec(std::string_view name, std::string_view syntax) {
  return CommandSpec{name, -1, 0, 0, 0, 0, Noop, "cache", "Summary.", syntax};
}

TEST(CommandDocsTest, ChoiceOfTokenLedAlternativesIsAContainer) {
  CommandSpec spec = Spec("lock",
                          "ACQUIRE name ttl [OWNER token] | RELEASE name token | OWNER name | "
                          "FORCERELEASE name");
  CommandDoc doc = BuildCommandDoc(spec);
  ASSERT_EQ(doc.subcommands.size(), 4u);
  EXPECT_EQ(doc.subcommands[0].name, "acquire");
  EXPECT_EQ(doc.subcommands[0].arity, -4);  // LOCK ACQUIRE name ttl, then more
  EXPECT_EQ(RenderArguments(doc.subcommands[0].arguments), "name ttl [OWNER token]");
  EXPECT_EQ(doc.subcommands[1].name, "release");
  EXPECT_EQ(doc.subcommands[1].arity, 4);
  EXPECT_EQ(doc.subcommands[2].name, "owner");
  EXPECT_EQ(doc.subcommands[2].arity, 3);
  EXPECT_EQ(RenderArguments(doc.subcommands[2].arguments), "name");
  // The container lists the subcommand tokens (redis-cli's hint after "LOCK ").
  EXPECT_EQ(RenderArguments(doc.arguments), "ACQUIRE|RELEASE|OWNER|FORCERELEASE");
  EXPECT_NE(FindSubcommand(doc, "OWNER"), nullptr);
  EXPECT_EQ(FindSubcommand(doc, "block"), nullptr);
}

TEST(CommandDocsTest, FunnelListsItsSubcommands) {
  const CommandSpec* spec = CommandTable::Default().Find("funnel");
  ASSERT_NE(spec, nullptr);
  const CommandDoc& doc = DocFor(*spec);
  ASSERT_EQ(doc.subcommands.size(), 4u);
  EXPECT_EQ(doc.subcommands[0].name, "acquire");
  EXPECT_EQ(doc.subcommands[0].arity, -5);  // FUNNEL ACQUIRE name limit ttl, then options
  EXPECT_EQ(RenderArguments(doc.subcommands[0].arguments),
            "name limit ttl [BLOCK timeout] [SESSION]");
  EXPECT_EQ(doc.subcommands[1].arity, 4);
  EXPECT_EQ(doc.subcommands[2].arity, 3);
  EXPECT_EQ(RenderArguments(doc.arguments), "ACQUIRE|RELEASE|COUNT|HELP");
}

TEST(CommandDocsTest, OptionalContainerAndSubcommandsWithRepeatedValues) {
  CommandSpec spec = Spec("config",
                          "[GET parameter [parameter ...] | SET parameter value "
                          "[parameter value ...] | RESETSTAT]");
  CommandDoc doc = BuildCommandDoc(spec);
  ASSERT_EQ(doc.subcommands.size(), 3u);
  EXPECT_EQ(doc.subcommands[0].arity, -3);
  EXPECT_EQ(RenderArguments(doc.subcommands[0].arguments), "parameter [parameter ...]");
  EXPECT_EQ(doc.subcommands[1].arity, -4);
  EXPECT_EQ(RenderArguments(doc.subcommands[1].arguments), "parameter value [parameter value ...]");
  EXPECT_EQ(doc.subcommands[2].arity, 2);
  EXPECT_TRUE(doc.subcommands[2].arguments.empty());
  EXPECT_EQ(RenderArguments(doc.arguments), "[GET|SET|RESETSTAT]");
}

TEST(CommandDocsTest, ChoiceOfBareTokensIsAnOptionNotAContainer) {
  EXPECT_TRUE(BuildCommandDoc(Spec("flushall", "[ASYNC|SYNC]")).subcommands.empty());
  CommandSpec toggle = Spec("no-evict", "ON|OFF");
  EXPECT_TRUE(BuildCommandDoc(toggle).subcommands.empty());
  EXPECT_EQ(RenderArguments(BuildCommandDoc(toggle).arguments), "ON|OFF");
}

TEST(CommandDocsTest, ChoiceWithAPlainArgumentIsNotAContainer) {
  CommandSpec spec = Spec("store", "[name | LIST]");
  CommandDoc doc = BuildCommandDoc(spec);
  EXPECT_TRUE(doc.subcommands.empty());
  EXPECT_EQ(RenderArguments(doc.arguments), "[name|LIST]");
}

TEST(CommandDocsTest, AclCategoriesFollowFlagsAndGroup) {
  CommandSpec get{"get", 2, kReadOnly | kFast, 1, 1, 1, Noop, "string", "", "key"};
  EXPECT_EQ(AclCategories(get), (std::vector<std::string_view>{"@read", "@string", "@fast"}));
  CommandSpec shutdown{"shutdown", -1, kAdmin, 0, 0, 0, Noop, "server", "", ""};
  EXPECT_EQ(AclCategories(shutdown),
            (std::vector<std::string_view>{"@admin", "@slow", "@dangerous"}));
}

TEST(CommandDocsTest, BitmapLcsRenameAndCopyArgumentsHaveRedisTypes) {
  auto types = [](std::string_view command) {
    std::vector<std::string> out;
    for (const ArgumentDoc& arg : DocFor(*CommandTable::Default().Find(command)).arguments) {
      out.push_back(arg.type);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(types("getbit"), (V{"key", "integer"}));
  EXPECT_EQ(types("bitpos"), (V{"key", "integer", "block"}));
  EXPECT_EQ(types("lcs"), (V{"key", "key", "pure-token", "pure-token", "integer", "pure-token"}));
  EXPECT_EQ(types("rename"), (V{"key", "key"}));
  EXPECT_EQ(types("copy"), (V{"key", "key", "integer", "pure-token"}));
  std::vector<std::string_view> bitmap{"@read", "@bitmap", "@fast"};
  EXPECT_EQ(AclCategories(*CommandTable::Default().Find("getbit")), bitmap);
}

// Every registered command's syntax yields named, typed arguments: a syntax line another family
// writes in a form the parser misreads shows up here rather than as an odd redis-cli hint.
TEST(CommandDocsTest, EveryRegisteredSyntaxParses) {
  static constexpr std::string_view kTypes[] = {
      "key", "string", "integer", "double", "pattern", "unix-time", "pure-token", "oneof", "block"};
  std::function<void(const ArgumentDoc&, std::string_view)> check = [&](const ArgumentDoc& arg,
                                                                        std::string_view cmd) {
    EXPECT_FALSE(arg.name.empty()) << cmd;
    EXPECT_NE(std::find(std::begin(kTypes), std::end(kTypes), arg.type), std::end(kTypes))
        << cmd << ": " << arg.type;
    if (arg.type == "oneof" || arg.type == "block") {
      EXPECT_FALSE(arg.arguments.empty()) << cmd;
    }
    for (const ArgumentDoc& member : arg.arguments) check(member, cmd);
  };
  for (const CommandSpec& spec : CommandTable::Default().all()) {
    const CommandDoc& doc = DocFor(spec);
    for (const ArgumentDoc& arg : doc.arguments) check(arg, spec.name);
    if (!spec.syntax.empty()) {
      EXPECT_FALSE(doc.arguments.empty()) << spec.name;
    }
  }
}

}  // namespace
}  // namespace arvel::server
