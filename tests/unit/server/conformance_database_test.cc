// The driver conformance suite (conformance.h) on the `database` driver: an SQLite file in the
// test's directory, and PostgreSQL when ARVEL_TEST_POSTGRES_URL names a reachable database
// (scripts/start-postgres.sh), with tables of its own for every test, dropped when the test
// binary ends.

#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "tests/unit/server/conformance.h"

namespace arvel::testing {
namespace {

std::string PostgresUrl() {
  const char* url = std::getenv("ARVEL_TEST_POSTGRES_URL");
  return url ? url : "";
}

// Runs `sql`; "" when it worked, else why not.
std::string PgExec(const std::string& sql) {
  PGconn* conn = PQconnectdb(PostgresUrl().c_str());
  std::string error;
  if (PQstatus(conn) == CONNECTION_OK) {
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    PGresult* result = PQexec(conn, sql.c_str());
    if (PQresultStatus(result) != PGRES_COMMAND_OK && PQresultStatus(result) != PGRES_TUPLES_OK) {
      error = PQerrorMessage(conn);
    }
    PQclear(result);
  } else {
    error = PQerrorMessage(conn);
  }
  PQfinish(conn);
  return error;
}

// The tables the PostgreSQL setup handed out, dropped when the binary ends.
class PostgresTables : public ::testing::Environment {
 public:
  std::string Next() {
    std::lock_guard lock(mu_);
    tables_.push_back("arvel_conformance_" + std::to_string(getpid()) + "_" +
                      std::to_string(tables_.size()));
    return tables_.back();
  }
  void TearDown() override {
    std::lock_guard lock(mu_);
    for (const std::string& table : tables_) {
      (void)PgExec("DROP TABLE IF EXISTS " + table + ", " + table + "_locks");
    }
    tables_.clear();
  }

 private:
  std::mutex mu_;
  std::vector<std::string> tables_;
};

PostgresTables* const postgres_tables =
    static_cast<PostgresTables*>(::testing::AddGlobalTestEnvironment(new PostgresTables));

std::string PostgresSkipReason() {
  static const std::string reason = [] {
    if (PostgresUrl().empty()) return std::string("ARVEL_TEST_POSTGRES_URL is not set");
    const std::string error = PgExec("SELECT 1");
    return error.empty() ? std::string() : "PostgreSQL unreachable: " + error;
  }();
  return reason;
}

std::string DatabaseConfig(const std::string& url, const std::string& table) {
  return "default = \"sql\"\n[stores.sql]\ndriver = \"database\"\nurl = \"" + url +
         "\"\ntable = \"" + table + "\"\n";
}

}  // namespace

StoreSetup SqliteSetup() {
  StoreSetup setup;
  setup.name = "sqlite";
  setup.config = [](const std::string& dir) {
    return DatabaseConfig("sqlite://" + dir + "/cache.sqlite", "cache");
  };
  return setup;
}

StoreSetup PostgresSetup() {
  StoreSetup setup;
  setup.name = "postgres";
  setup.config = [](const std::string&) {
    return DatabaseConfig(PostgresUrl(), postgres_tables->Next());
  };
  setup.skip_reason = PostgresSkipReason;
  return setup;
}

ARVEL_CONFORMANCE_SUITE(Database, SqliteSetup(), PostgresSetup());

}  // namespace arvel::testing
