#pragma once
// SqliteStore: the `database` driver on an SQLite file (url = sqlite://PATH, relative to the
// working directory) or, only when asked for, an in-memory database (sqlite://:memory:, one
// worker: every connection would otherwise get a database of its own). Table layout in
// drivers/database_store.h; design notes in sqlite_store.cc.

#include <uv.h>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "drivers/blocking_store.h"
#include "drivers/database_store.h"
#include "drivers/file_watch.h"

struct sqlite3;
struct sqlite3_stmt;

namespace arvel::drivers {

class SqliteStore : public BlockingStore {
 public:
  SqliteStore(database::Settings settings, std::string path, uv_loop_t* loop);
  ~SqliteStore() override;

  // Also start watching the database file for other daemons' writes (design notes in
  // sqlite_store.cc); Close stops that first.
  void Open(DoneFn done) override;
  void Close(DoneFn done) override;
  void Tick(int64_t now_ms) override;

  // Reports of "the database was written" at most one per this many ms while writes go on.
  static constexpr int64_t kChangeReportIntervalMs = 5;

  // Statements executed so far (BEGIN and COMMIT included), for tests. Any thread.
  uint64_t statements_run() const { return statements_run_.load(); }

 protected:
  Status OpenBackend(size_t worker) override;
  void CloseBackend(size_t worker) override;
  Status ReadBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                      int64_t now_ms, std::vector<std::optional<Entry>>* entries) override;
  Status UpdateBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                        const UpdateFn& fn, int64_t now_ms, std::vector<bool>* changed) override;
  // One upsert (autocommit) per key; several keys in one transaction.
  Status WriteBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                       const std::vector<std::string>& values, int64_t expire_at_ms,
                       int64_t now_ms) override;
  // One DELETE … RETURNING expiration per key, likewise.
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
    kBegin,
    kBeginImmediate,
    kCommit,
    kRollback,
    kSelectData,
    kSelectLock,
    kUpsertData,
    kUpsertLock,
    kEraseData,
    kEraseLock,
    kExpireData,
    kExpireLock,
    kDeleteData,
    kDeleteLock,
    kScan,
    kCount,
    kBounds,
    kRandomFrom,
    kFlushData,
    kFlushLocks,
    kPruneData,
    kPruneLocks,
    kSqlCount
  };
  struct Connection;
  struct Params;
  class Statement;

  static std::array<std::string, kSqlCount> BuildSql(const std::string& table);

  // The worker's connection, opened (schema included) if it is not yet.
  Result<Connection*> Connect(size_t worker);
  Status OpenConnection(Connection& conn);
  Status CreateSchema(Connection& conn);
  Status Prepare(Connection& conn);
  // "sqlite: MESSAGE" for the connection's last error.
  Status Error(const Connection& conn, std::string_view what) const;
  Status ReadRows(Connection& conn, Space space, const std::vector<std::string>& keys,
                  int64_t now_ms, std::vector<std::optional<Entry>>* rows);
  Status ApplyWrite(Connection& conn, Space space, const KeyUpdate& update, int64_t now_ms,
                    bool* changed);
  // Runs a write statement that returns no rows; `changes` gets the rows it touched.
  Status RunWrite(Connection& conn, Statement& statement, int* changes);
  Status Exec(Connection& conn, Sql sql);
  // Runs `write(conn)` (statements on this store's write path) under write_mu_: as it is for one
  // statement (autocommit), in a BEGIN IMMEDIATE transaction for more.
  Status WriteAtomically(size_t worker, bool several,
                         const std::function<Status(Connection&)>& write);
  // Starts watching the database file's directory once it exists; sets
  // capabilities_.notifies_remote_changes while the watch runs. Loop thread.
  void WatchForChanges(int64_t now_ms);

  const database::Settings settings_;
  const std::string path_;
  const bool in_memory_;
  std::array<std::string, kSqlCount> sql_;  // built once from the table name
  // One per worker, each touched only by its own worker thread.
  std::vector<std::unique_ptr<Connection>> connections_;
  // Set by the first use of a lazy store: from then on OpenBackend really opens.
  std::atomic<bool> used_{false};
  // Serializes this store's writers, so its own workers queue here (cheap) instead of in
  // SQLite's busy handler (sleeps); only other processes ever make a writer wait there.
  std::mutex write_mu_;
  std::mutex open_mu_;  // first open of a file: WAL switch and schema, one worker at a time
  std::atomic<uint64_t> statements_run_{0};
  uv_loop_t* const loop_;
  // Loop thread only: the watch on the database file (none for :memory:, none before the file
  // exists, none after Close), and when to try starting it again after a failure.
  std::unique_ptr<FileWatch> watch_;
  bool closed_ = false;
  int64_t next_watch_try_ms_ = 0;
  bool watch_warned_ = false;
};

}  // namespace arvel::drivers
