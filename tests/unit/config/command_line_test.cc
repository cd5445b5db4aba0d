#include <gtest/gtest.h>

#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"

namespace arvel::config {
namespace {

// Runs ParseCommandLine on "arvel-cached ARGS..." and keeps what it printed.
struct ParseRun {
  ParsedArgs parsed;
  std::string out;
  std::string err;
};

ParseRun Parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv = {"arvel-cached"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::ostringstream out, err;
  ParseRun run;
  run.parsed = ParseCommandLine(static_cast<int>(argv.size()), argv.data(), out, err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

TEST(CommandLineTest, NoArgumentsSetsNothing) {
  ParseRun run = Parse({});
  EXPECT_FALSE(run.parsed.exit_code.has_value());
  EXPECT_FALSE(run.parsed.line.config_path.has_value());
  EXPECT_FALSE(run.parsed.line.bind.has_value());
  EXPECT_FALSE(run.parsed.line.port.has_value());
  EXPECT_FALSE(run.parsed.line.store.has_value());
  EXPECT_FALSE(run.parsed.line.log_level.has_value());
  EXPECT_FALSE(run.parsed.line.check_config);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "");
}

TEST(CommandLineTest, EveryFlag) {
  ParseRun run = Parse({"--config", "/etc/cache.toml", "--bind", "0.0.0.0", "--port", "7000",
                        "--store", "redis", "--log-level", "debug", "--check-config"});
  ASSERT_FALSE(run.parsed.exit_code.has_value()) << run.err;
  EXPECT_EQ(run.parsed.line.config_path, "/etc/cache.toml");
  EXPECT_EQ(run.parsed.line.bind, "0.0.0.0");
  EXPECT_EQ(run.parsed.line.port, 7000);
  EXPECT_EQ(run.parsed.line.store, "redis");
  EXPECT_EQ(run.parsed.line.log_level, "debug");
  EXPECT_TRUE(run.parsed.line.check_config);
}

TEST(CommandLineTest, EqualsFormAndPortZero) {
  ParseRun run = Parse({"--port=0", "--config=x.toml"});
  ASSERT_FALSE(run.parsed.exit_code.has_value()) << run.err;
  EXPECT_EQ(run.parsed.line.port, 0);
  EXPECT_EQ(run.parsed.line.config_path, "x.toml");
}

TEST(CommandLineTest, EachFlagAlone) {
  EXPECT_EQ(Parse({"--config", "c"}).parsed.line.config_path, "c");
  EXPECT_EQ(Parse({"--bind", "::1"}).parsed.line.bind, "::1");
  EXPECT_EQ(Parse({"--port", "1"}).parsed.line.port, 1);
  EXPECT_EQ(Parse({"--store", "s"}).parsed.line.store, "s");
  EXPECT_EQ(Parse({"--log-level", "warn"}).parsed.line.log_level, "warn");
  EXPECT_TRUE(Parse({"--check-config"}).parsed.line.check_config);
  EXPECT_FALSE(Parse({"--port", "1"}).parsed.line.bind.has_value());
}

TEST(CommandLineTest, HelpPrintsUsageAndVariablesAndExitsZero) {
  ParseRun run = Parse({"--help"});
  EXPECT_EQ(run.parsed.exit_code, 0);
  EXPECT_EQ(run.err, "");
  for (const char* expected :
       {"--config", "--bind", "--port", "--store", "--log-level", "--check-config", "--version",
        "CACHE_CONFIG", "CACHE_SERVER_PORT", "CACHE_HOST", "CACHE_CONNECTION"}) {
    EXPECT_NE(run.out.find(expected), std::string::npos) << expected << " missing in\n" << run.out;
  }
  EXPECT_EQ(Parse({"-h"}).parsed.exit_code, 0);
}

TEST(CommandLineTest, VersionPrintsNameAndVersionAndExitsZero) {
  ParseRun run = Parse({"--version"});
  EXPECT_EQ(run.parsed.exit_code, 0);
  EXPECT_EQ(run.out, std::string("arvel-cached ") + ARVEL_VERSION + "\n");
  EXPECT_EQ(run.err, "");
}

void ExpectUsageError(std::initializer_list<const char*> args, const std::string& mentions) {
  ParseRun run = Parse(args);
  EXPECT_EQ(run.parsed.exit_code, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_TRUE(run.err.starts_with("arvel-cached: ")) << run.err;
  EXPECT_TRUE(run.err.ends_with("\n")) << run.err;
  EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << "more than one line: " << run.err;
  EXPECT_NE(run.err.find(mentions), std::string::npos) << run.err;
}

TEST(CommandLineTest, UsageErrorsAreOneLineWithExitTwo) {
  ExpectUsageError({"--bogus"}, "--bogus");
  ExpectUsageError({"--port", "abc"}, "abc");
  ExpectUsageError({"--port", "99999999999"}, "99999999999");
  ExpectUsageError({"--port"}, "--port");
  ExpectUsageError({"extra"}, "extra");
  ExpectUsageError({"--check-config=yes-please"}, "check-config");
}

TEST(CommandLineTest, BadPortNamesTheFlagAndItsRange) {
  for (const char* bad : {"abc", "70000", "-1", "99999999999", "12x", ""}) {
    ParseRun run = Parse({"--port", bad});
    EXPECT_EQ(run.parsed.exit_code, 2) << bad;
    EXPECT_EQ(run.err, std::string("arvel-cached: --port: '") + bad +
                           "' is not an integer in 0\u2013" + "65535 (see --help)\n");
  }
  EXPECT_EQ(Parse({"--port=65535"}).parsed.line.port, 65535);
}

}  // namespace
}  // namespace arvel::config
