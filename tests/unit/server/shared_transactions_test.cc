// MULTI/EXEC and WATCH on stores other daemons may share (file, database, redis): nothing in one
// daemon can keep another daemon's writes out of a transaction or see them in time for WATCH, so
// unless the store is declared this daemon's alone (`daemons = "one"`), a transaction holds at
// most one command on keys and WATCH is refused — an error, never a silently local transaction.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/errors.h"
#include "config/config.h"
#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

class SharedTransactionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "arvel-shared-tx-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    config::CommandLine line;
    line.port = 0;
    const std::string text =
        "default = \"disk\"\n"
        "[stores.disk]\ndriver = \"file\"\npath = \"" +
        dir_ +
        "/disk\"\n"
        "[stores.mine]\ndriver = \"file\"\npath = \"" +
        dir_ +
        "/mine\"\n"
        "daemons = \"one\"\n"
        "[stores.memory]\ndriver = \"array\"\n";
    auto config = config::LoadConfigText(text, "shared.toml", line, {});
    ASSERT_TRUE(config.ok()) << config.status().message();
    server_ = std::make_unique<ServerFixture>(*config);
    client_ = std::make_unique<Client>(server_->Connect());
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string Run(const std::vector<std::string>& args) { return Text(client_->Command(args)); }

  std::string dir_;
  std::unique_ptr<ServerFixture> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(SharedTransactionsTest, ASecondCommandOnKeysIsRefusedAndTheTransactionAborts) {
  EXPECT_EQ(Run({"MULTI"}), "+OK");
  EXPECT_EQ(Run({"SET", "a", "1"}), "+QUEUED");
  EXPECT_EQ(Run({"PING"}), "+QUEUED");  // no keys: queues as usual
  EXPECT_EQ(Run({"GET", "a"}), "-" + errors::SharedStoreTransaction("disk"));
  EXPECT_EQ(Run({"EXEC"}), "-" + std::string(errors::kExecAbort));
  EXPECT_EQ(Run({"GET", "a"}), "(nil)");  // nothing of it ran
  EXPECT_EQ(Run({"PING"}), "+PONG");      // and the connection is out of MULTI
}

TEST_F(SharedTransactionsTest, OneCommandOnKeysRunsAsUsual) {
  EXPECT_EQ(Run({"MULTI"}), "+OK");
  EXPECT_EQ(Run({"INCR", "n"}), "+QUEUED");
  EXPECT_EQ(Run({"ECHO", "x"}), "+QUEUED");
  EXPECT_EQ(Run({"EXEC"}), "[:1, $x]");
  EXPECT_EQ(Run({"GET", "n"}), "$1");
}

TEST_F(SharedTransactionsTest, WatchIsRefusedOnASharedStoreOnly) {
  EXPECT_EQ(Run({"WATCH", "a"}), "-" + errors::SharedStoreWatch("disk"));
  EXPECT_EQ(Run({"STORE", "memory"}), "+OK");
  EXPECT_EQ(Run({"WATCH", "a"}), "+OK");
}

TEST_F(SharedTransactionsTest, AStoreDeclaredThisDaemonsAloneKeepsRedisSemantics) {
  EXPECT_EQ(Run({"STORE", "mine"}), "+OK");
  EXPECT_EQ(Run({"MULTI"}), "+OK");
  EXPECT_EQ(Run({"SET", "a", "1"}), "+QUEUED");
  EXPECT_EQ(Run({"INCR", "a"}), "+QUEUED");
  EXPECT_EQ(Run({"GET", "a"}), "+QUEUED");
  EXPECT_EQ(Run({"EXEC"}), "[+OK, :2, $2]");

  EXPECT_EQ(Run({"WATCH", "a"}), "+OK");
  Client other = server_->Connect();
  EXPECT_EQ(Text(other.Command({"STORE", "mine"})), "+OK");
  EXPECT_EQ(Text(other.Command({"SET", "a", "theirs"})), "+OK");
  EXPECT_EQ(Run({"MULTI"}), "+OK");
  EXPECT_EQ(Run({"SET", "a", "mine"}), "+QUEUED");
  EXPECT_EQ(Run({"EXEC"}), "(nil)");
  EXPECT_EQ(Run({"GET", "a"}), "$theirs");
}

TEST(SharedTransactionsConfigTest, DaemonsComesFromTheEnvironmentAndIsChecked) {
  config::CommandLine line;
  auto from_env = config::LoadConfigText("[stores.disk]\ndriver = \"file\"\n", "c.toml", line,
                                         {{"CACHE_DAEMONS", "one"}});
  ASSERT_TRUE(from_env.ok()) << from_env.status().message();
  for (const config::StoreConfig& store : from_env->stores) EXPECT_EQ(store.daemons, "one");

  auto bad = config::LoadConfigText("[stores.disk]\ndriver = \"file\"\ndaemons = \"two\"\n",
                                    "c.toml", line, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("c.toml:3"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("stores.disk.daemons"), std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace arvel::testing
