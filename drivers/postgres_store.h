#pragma once
// PostgresStore: the `database` driver on PostgreSQL (url = postgresql://USER:PW@HOST:PORT/DB or
// postgres://…), through libpq's blocking API on the store's worker threads, one connection per
// worker, plus one that listens for the changes other daemons make (drivers/postgres_channel.h).
// Table layout in drivers/database_store.h; design notes in postgres_store.cc.

#include <uv.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "drivers/blocking_store.h"
#include "drivers/database_store.h"
#include "drivers/postgres_channel.h"

typedef struct pg_conn PGconn;

namespace arvel::drivers {

class PostgresStore : public BlockingStore {
 public:
  // `url` goes to libpq as is (any libpq URI works, e.g. ?sslmode=require).
  PostgresStore(database::Settings settings, std::string url, uv_loop_t* loop);
  ~PostgresStore() override;

  // Also starts listening for other daemons' changes; Close stops that first.
  void Open(DoneFn done) override;
  void Close(DoneFn done) override;

  // The NOTIFY channel of the stores on `table` (every prefix shares it).
  static std::string ChannelName(const std::string& table) { return "arvel:" + table; }

  // Statements sent to the server so far, each one round trip (BEGIN and COMMIT included), for
  // tests. Any thread.
  uint64_t round_trips() const { return round_trips_.load(); }

 protected:
  Status OpenBackend(size_t worker) override;
  void CloseBackend(size_t worker) override;
  Status ReadBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                      int64_t now_ms, std::vector<std::optional<Entry>>* entries) override;
  Status UpdateBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                        const UpdateFn& fn, int64_t now_ms, std::vector<bool>* changed) override;
  // One statement each: the advisory locks and the upsert (or DELETE … RETURNING).
  Status WriteBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                       const std::vector<std::string>& values, int64_t expire_at_ms,
                       int64_t now_ms) override;
  Status EraseBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                       int64_t now_ms, std::vector<bool>* removed) override;
  bool CanScanSpace(Space space) const override { return space != Space::kLock; }
  Status ScanSpaceBlocking(size_t worker, Space space, uint64_t cursor, size_t count,
                           int64_t now_ms, ScanPage* page) override;
  Status CountBlocking(size_t worker, int64_t now_ms, int64_t* count) override;
  Status RandomKeyBlocking(size_t worker, int64_t now_ms, std::optional<std::string>* key) override;
  Status FlushBlocking(size_t worker) override;
  Status PruneBlocking(size_t worker, int64_t now_ms) override;

 private:
  // Every statement this store runs, prepared once per connection.
  enum Sql : size_t {
    kSelectData,
    kSelectLock,
    kUpsertData,
    kUpsertLock,
    kEraseData,
    kEraseLock,
    kExpireData,
    kExpireLock,
    kWriteData,
    kWriteLock,
    kEraseManyData,
    kEraseManyLock,
    kScan,
    kCount,
    kRandomFrom,
    kLockKeys,
    kLockStore,
    kFlushData,
    kFlushLocks,
    kPruneData,
    kPruneLocks,
    kSqlCount
  };
  struct Statement {
    std::string text;
    std::vector<unsigned> types;  // parameter type OIDs
  };
  class Params;
  class Rows;

  static std::array<Statement, kSqlCount> BuildSql(const std::string& table);

  // The worker's connection: opened (schema and statements included) if it is not, or if the
  // server hung up on the one it had (a restart), so a call does not fail on a stale socket.
  Result<PGconn*> Connect(size_t worker);
  Status OpenConnection(PGconn** conn);
  Status CreateSchema(PGconn* conn);
  Status Prepare(PGconn* conn);
  // Runs `sql` (one or more statements, no parameters), e.g. BEGIN. Errors name `what`, or the
  // SQL itself when `what` is empty.
  Status Command(PGconn* conn, const std::string& sql, std::string_view what = {});
  // Runs prepared statement `sql`; `rows` gets the result (binary format).
  Status Run(PGconn* conn, Sql sql, const Params& params, Rows* rows);
  // Ends a transaction that failed; drops the connection if it is broken.
  void Abort(size_t worker, PGconn* conn);
  // The advisory lock ids an update of `keys` takes, in order: the store's, then the keys' sorted.
  std::vector<int64_t> LockIds(Space space, const std::vector<std::string>& keys) const;
  // Takes this store's shared lock, then an exclusive advisory lock per key (sorted).
  Status LockKeys(PGconn* conn, Space space, const std::vector<std::string>& keys);
  Status ReadRows(PGconn* conn, Space space, const std::vector<std::string>& keys, int64_t now_ms,
                  std::vector<std::optional<Entry>>* rows);
  Status ApplyWrite(PGconn* conn, Space space, const KeyUpdate& update, int64_t now_ms,
                    bool* changed);
  Status DecideAndWrite(PGconn* conn, Space space, const std::vector<std::string>& keys,
                        const UpdateFn& fn, int64_t now_ms, std::vector<bool>* changed);

  // Tells the other daemons (through channel_) that `keys` changed, those with changed[i] when
  // `changed` is given. Worker threads.
  void Announce(Space space, const std::vector<std::string>& keys,
                const std::vector<bool>* changed = nullptr);
  // A change another daemon announced: to the observer, if it is one of this store's keys.
  void OnChange(std::string_view payload);

  const database::Settings settings_;
  const std::string url_;
  const std::array<Statement, kSqlCount> sql_;
  const int64_t store_lock_id_;  // even; key lock ids are odd, so they never collide
  // One per worker, each touched only by its own worker thread.
  std::vector<PGconn*> connections_;
  std::atomic<uint64_t> round_trips_{0};
  std::unique_ptr<PostgresChangeChannel> channel_;
};

}  // namespace arvel::drivers
