// Design.
//
// Connections: one per worker (BlockingStore runs every call on the store's own threads), in
// SQLite's multi-thread mode, each used by its worker only. A file database runs in WAL mode, so
// readers never wait for the writer nor for each other; ":memory:" gets a single worker.
//
// Atomicity across daemons: UpdateBlocking is one transaction opened with BEGIN IMMEDIATE, which
// takes the database's write lock before the first read. Two daemons' read-modify-writes on the
// same file therefore serialize: the second one's reads happen after the first one's commit,
// which makes ADD, INCREMENT, THROTTLE and LOCK exactly atomic across processes (and SQLite has
// a single writer anyway, so nothing finer would buy concurrency). Writers of this store first
// queue on write_mu_, so only other processes ever make a writer wait in the busy handler
// (short sleeps, growing to 5 ms, for at most kBusyTimeout; then the call fails and BlockingStore
// reports the store unavailable until a retry succeeds). A multi-key Read is a read transaction,
// so MGET and friends see one snapshot.
//
// Blind writes (WriteBlocking / EraseBlocking: SET, PUTMANY, DEL…) read nothing first: one key
// is one autocommit INSERT … ON CONFLICT DO UPDATE (or DELETE … RETURNING expiration, so only
// live rows count), which takes the write lock like BEGIN IMMEDIATE does and is atomic by
// itself; several keys are those statements inside one BEGIN IMMEDIATE transaction.
//
// Durability: journal_mode=WAL with synchronous=NORMAL. A commit appends to the WAL with
// write(2) before COMMIT returns, so once the client has its +OK the change is in the kernel's
// page cache and survives kill -9 of the daemon (SPEC §6); only checkpoints fsync. What NORMAL
// gives up is the last commits on a power loss or kernel crash (never consistency: the WAL's
// checksums drop a torn tail), which suits a cache and saves an fsync per write. FULL would
// add that fsync to every commit.
//
// Expired rows are invisible to every statement (they filter on expiration) and deleted by
// PruneBlocking, at most kPruneBatch rows per statement and kPruneBudgetMs per pass, through the
// partial index on (prefix, expiration).
//
// Changes made by other daemons: waiters (LOCK BLOCK, REMEMBER) must learn of another daemon's
// commit, and SQLite has no channel between processes. But every commit writes the database's
// WAL (in rollback-journal mode, the database file itself), and a failed lock attempt or a read
// writes nothing there. So the store watches the file's directory with inotify (FileWatch,
// through libuv's uv_fs_event: no thread, no polling, nothing added to a write) and reports a
// write of `<file>-wal` or `<file>` as Store::SomeKeysChanged — which keys it cannot know, so the
// server re-checks every waiter on this store. FileWatch coalesces the reports to at most one
// per kChangeReportIntervalMs while writes go on, plus one look an interval after a burst began
// (the inotify event may precede the commit's visibility in the WAL index). This daemon's own
// writes are reported too (inotify cannot tell them apart): bounded by the same interval, and
// nothing happens when nobody waits. While the watch runs, capabilities().notifies_remote_changes
// is set and waiters re-check on their own only once a second, in case a report is lost (inotify
// queue overflow, a file system where other hosts write: WAL needs one host anyway). Without it
// (:memory:, whose database no other process sees, so it is not shared; a watch that cannot be
// started, e.g. the inotify limit) waiters poll every 50 ms as before.
//
// SCAN: ids come from the rowid (id INTEGER PRIMARY KEY), so a row keeps its id across upserts
// and VACUUM; the index on (prefix, space) ends, as every SQLite index does, with the rowid, so
// "id > cursor ORDER BY id" walks it directly.

#include "drivers/sqlite_store.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <system_error>
#include <thread>

namespace arvel::drivers {

namespace {

using database::QuoteIdentifier;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kBusyTimeout = std::chrono::seconds(5);
constexpr std::string_view kColumns = "id, prefix, space, key, value, expiration";
constexpr std::string_view kLockColumns = "prefix, key, owner, expiration";

}  // namespace

// The numbered parameters every statement draws from: a statement uses the ones it names.
struct SqliteStore::Params {
  std::string_view prefix = {};  // ?1
  int space = 0;                 // ?2
  std::string_view key = {};     // ?3
  std::string_view value = {};   // ?4
  int64_t expiration = 0;        // ?5
  int64_t now = 0;               // ?6
  int64_t id = 0;                // ?7
  int64_t limit = 0;             // ?8
};

struct SqliteStore::Connection {
  sqlite3* db = nullptr;
  std::array<sqlite3_stmt*, kSqlCount> statements{};
  std::atomic<uint64_t>* statements_run = nullptr;  // the store's counter
  SteadyClock::time_point busy_since;  // when the current wait in the busy handler began

  void Close() {
    for (sqlite3_stmt*& statement : statements) {
      sqlite3_finalize(statement);
      statement = nullptr;
    }
    sqlite3_close_v2(db);
    db = nullptr;
  }
};

// One use of a prepared statement: binds, steps, and resets when it goes out of scope so the
// next use starts clean (and a read does not keep its snapshot open).
class SqliteStore::Statement {
 public:
  Statement(Connection& conn, Sql sql) : stmt_(conn.statements[sql]) {
    conn.statements_run->fetch_add(1, std::memory_order_relaxed);
  }
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds every parameter the statement names. SQLITE_OK or SQLite's error code.
  int Bind(const Params& p) {
    int rc = SQLITE_OK;
    const int count = sqlite3_bind_parameter_count(stmt_);
    for (int i = 1; i <= count && rc == SQLITE_OK; ++i) rc = BindOne(i, p);
    return rc;
  }
  int Step() { return sqlite3_step(stmt_); }
  int64_t Int(int column) { return sqlite3_column_int64(stmt_, column); }
  bool IsNull(int column) { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::string Bytes(int column) {
    const void* data = sqlite3_column_blob(stmt_, column);  // nullptr for an empty blob
    const int size = sqlite3_column_bytes(stmt_, column);
    return data ? std::string(static_cast<const char*>(data), size) : std::string();
  }

 private:
  int BindOne(int index, const Params& p) {
    switch (index) {
      case 1:
        return BindText(index, p.prefix);
      case 2:
        return sqlite3_bind_int(stmt_, index, p.space);
      case 3:
        return BindBlob(index, p.key);
      case 4:
        return BindBlob(index, p.value);
      case 5:
        return sqlite3_bind_int64(stmt_, index, p.expiration);
      case 6:
        return sqlite3_bind_int64(stmt_, index, p.now);
      case 7:
        return sqlite3_bind_int64(stmt_, index, p.id);
      case 8:
        return sqlite3_bind_int64(stmt_, index, p.limit);
      default:
        return SQLITE_RANGE;
    }
  }
  // Keys and values are always bound as BLOBs: SQLite compares a TEXT and a BLOB as different
  // values, and a null pointer would bind NULL instead of an empty string.
  int BindBlob(int index, std::string_view bytes) {
    return sqlite3_bind_blob64(stmt_, index, bytes.data() ? bytes.data() : "", bytes.size(),
                               SQLITE_STATIC);
  }
  int BindText(int index, std::string_view text) {
    return sqlite3_bind_text64(stmt_, index, text.data() ? text.data() : "", text.size(),
                               SQLITE_STATIC, SQLITE_UTF8);
  }

  sqlite3_stmt* stmt_;
};

namespace {

// Another daemon holds the write lock: its transactions take well under a millisecond, so look
// again soon, backing off to 5 ms, and give up after kBusyTimeout.
int BusyWait(void* arg, int attempt) {
  auto* busy_since = static_cast<SteadyClock::time_point*>(arg);
  const auto now = SteadyClock::now();
  if (attempt == 0) *busy_since = now;
  if (now - *busy_since >= kBusyTimeout) return 0;
  std::this_thread::sleep_for(
      std::chrono::microseconds(std::min(50 << std::min(attempt, 7), 5000)));
  return 1;
}

int64_t RandomBetween(int64_t low, int64_t high) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return std::uniform_int_distribution<int64_t>(low, high)(rng);
}

}  // namespace

std::array<std::string, SqliteStore::kSqlCount> SqliteStore::BuildSql(const std::string& table) {
  const std::string t = QuoteIdentifier(table);
  const std::string l = QuoteIdentifier(table + "_locks");
  const std::string live = " AND (expiration = 0 OR expiration > ?6)";
  const std::string data_key = " WHERE prefix = ?1 AND space = ?2 AND key = ?3";
  const std::string lock_key = " WHERE prefix = ?1 AND key = ?3";
  const std::string in_space = " WHERE prefix = ?1 AND space = ?2";
  std::array<std::string, kSqlCount> sql;
  sql[kBegin] = "BEGIN";
  sql[kBeginImmediate] = "BEGIN IMMEDIATE";
  sql[kCommit] = "COMMIT";
  sql[kRollback] = "ROLLBACK";
  sql[kSelectData] = "SELECT value, expiration FROM " + t + data_key;
  sql[kSelectLock] = "SELECT owner, expiration FROM " + l + lock_key;
  sql[kUpsertData] = "INSERT INTO " + t +
                     " (prefix, space, key, value, expiration) VALUES (?1, ?2, ?3, ?4, ?5)"
                     " ON CONFLICT (prefix, space, key) DO UPDATE"
                     " SET value = excluded.value, expiration = excluded.expiration";
  sql[kUpsertLock] = "INSERT INTO " + l +
                     " (prefix, key, owner, expiration) VALUES (?1, ?3, ?4, ?5)"
                     " ON CONFLICT (prefix, key) DO UPDATE"
                     " SET owner = excluded.owner, expiration = excluded.expiration";
  sql[kEraseData] = "DELETE FROM " + t + data_key + live;
  sql[kEraseLock] = "DELETE FROM " + l + lock_key + live;
  sql[kExpireData] = "UPDATE " + t + " SET expiration = ?5" + data_key + live;
  sql[kExpireLock] = "UPDATE " + l + " SET expiration = ?5" + lock_key + live;
  // Deletes the row live or not, and tells which it was.
  sql[kDeleteData] = "DELETE FROM " + t + data_key + " RETURNING expiration";
  sql[kDeleteLock] = "DELETE FROM " + l + lock_key + " RETURNING expiration";
  sql[kScan] =
      "SELECT id, key FROM " + t + in_space + " AND id > ?7" + live + " ORDER BY id LIMIT ?8";
  sql[kCount] = "SELECT count(*) FROM " + t + in_space + live;
  // Two index probes; min(id), max(id) in one aggregate would walk the whole range.
  sql[kBounds] = "SELECT (SELECT id FROM " + t + in_space +
                 " ORDER BY id LIMIT 1), (SELECT id FROM " + t + in_space +
                 " ORDER BY id DESC LIMIT 1)";
  sql[kRandomFrom] =
      "SELECT key FROM " + t + in_space + " AND id >= ?7" + live + " ORDER BY id LIMIT 1";
  sql[kFlushData] = "DELETE FROM " + t + " WHERE prefix = ?1";
  sql[kFlushLocks] = "DELETE FROM " + l + " WHERE prefix = ?1";
  const std::string due = " WHERE prefix = ?1 AND expiration > 0 AND expiration <= ?6";
  sql[kPruneData] = "DELETE FROM " + t + " WHERE id IN (SELECT id FROM " + t + due + " LIMIT ?8)";
  sql[kPruneLocks] =
      "DELETE FROM " + l + " WHERE rowid IN (SELECT rowid FROM " + l + due + " LIMIT ?8)";
  return sql;
}

SqliteStore::SqliteStore(database::Settings settings, std::string path, uv_loop_t* loop)
    : BlockingStore(settings.name, "database", loop, path == ":memory:" ? 1 : settings.threads),
      settings_(std::move(settings)),
      path_(std::move(path)),
      in_memory_(path_ == ":memory:"),
      sql_(BuildSql(settings_.table)),
      loop_(loop) {
  capabilities_.shared = !in_memory_;  // another process cannot open this database
  const size_t threads = in_memory_ ? 1 : settings_.threads;
  for (size_t i = 0; i < threads; ++i) {
    connections_.push_back(std::make_unique<Connection>());
    connections_.back()->statements_run = &statements_run_;
  }
}

SqliteStore::~SqliteStore() {
  // Close() normally closed them on the workers; this covers a store that was never closed.
  for (auto& conn : connections_) conn->Close();
}

void SqliteStore::Open(DoneFn done) {
  BlockingStore::Open([this, done = std::move(done)](const Status& status) {
    WatchForChanges(NowMs());
    if (done) done(status);
  });
}

void SqliteStore::Close(DoneFn done) {
  closed_ = true;
  capabilities_.notifies_remote_changes = false;
  watch_.reset();  // its handles close on the loop's next turn
  BlockingStore::Close(std::move(done));
}

void SqliteStore::Tick(int64_t now_ms) {
  BlockingStore::Tick(now_ms);
  if (watch_ == nullptr || !watch_->watching()) WatchForChanges(now_ms);
}

void SqliteStore::WatchForChanges(int64_t now_ms) {
  constexpr int64_t kRetryMs = 1000;
  if (in_memory_ || closed_ || (watch_ != nullptr && watch_->watching())) return;
  // A lazy store creates its file (and maybe its directory) on first use only.
  if ((settings_.lazy_open && !used_) || now_ms < next_watch_try_ms_) return;
  next_watch_try_ms_ = now_ms + kRetryMs;
  if (watch_ == nullptr) {
    watch_ =
        std::make_unique<FileWatch>(loop_, kChangeReportIntervalMs, [this] { SomeKeysChanged(); });
  }
  const std::filesystem::path file(path_);
  const std::string dir = file.has_parent_path() ? file.parent_path().string() : ".";
  const std::string base = file.filename().string();
  Status status = watch_->Start(dir, {base, base + "-wal"});
  capabilities_.notifies_remote_changes = status.ok();
  if (status.ok() || watch_warned_ || !Health().ok()) return;
  watch_warned_ = true;
  spdlog::warn("store '{}': {}; waits for other daemons' writes re-check every 50 ms instead",
               name(), status.message());
}

Status SqliteStore::Error(const Connection& conn, std::string_view what) const {
  std::string message = "sqlite " + path_ + ": ";
  if (!what.empty()) message += std::string(what) + ": ";
  message += conn.db ? sqlite3_errmsg(conn.db) : "out of memory";
  return Status::Error(message);
}

Status SqliteStore::OpenBackend(size_t worker) {
  if (settings_.lazy_open && !used_) return Status::Ok();
  return Connect(worker).status();
}

void SqliteStore::CloseBackend(size_t worker) { connections_[worker]->Close(); }

Result<SqliteStore::Connection*> SqliteStore::Connect(size_t worker) {
  used_ = true;
  Connection& conn = *connections_[worker];
  if (conn.db != nullptr) return &conn;
  Status status = OpenConnection(conn);
  if (!status.ok()) {
    conn.Close();
    return status;
  }
  return &conn;
}

Status SqliteStore::OpenConnection(Connection& conn) {
  std::lock_guard lock(open_mu_);
  const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  std::error_code ec;
  if (!in_memory_ && !parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return Status::Error("sqlite " + path_ + ": cannot create directory: " + ec.message());
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path_.c_str(), &conn.db, flags, nullptr) != SQLITE_OK) {
    return Error(conn, "cannot open");
  }
  sqlite3_busy_handler(conn.db, BusyWait, &conn.busy_since);
  if (!in_memory_) {
    std::string mode;
    auto read_mode = [](void* out, int, char** values, char**) {
      *static_cast<std::string*>(out) = values[0] ? values[0] : "";
      return 0;
    };
    if (sqlite3_exec(conn.db, "PRAGMA journal_mode = WAL", read_mode, &mode, nullptr) !=
        SQLITE_OK) {
      return Error(conn, "cannot switch to WAL mode");
    }
    if (mode != "wal") {
      // Still correct (rollback journal), only slower and with readers waiting for writers.
      spdlog::warn("store '{}': {} cannot use WAL mode (journal mode is {})", name(), path_, mode);
    }
    if (sqlite3_exec(conn.db, "PRAGMA synchronous = NORMAL", nullptr, nullptr, nullptr) !=
        SQLITE_OK) {
      return Error(conn, "");
    }
  }
  Status status = CreateSchema(conn);
  return status.ok() ? Prepare(conn) : status;
}

Status SqliteStore::CreateSchema(Connection& conn) {
  const std::string& name = settings_.table;
  const std::string t = QuoteIdentifier(name);
  const std::string tables =
      "BEGIN IMMEDIATE;"
      "CREATE TABLE IF NOT EXISTS " +
      t +
      " ("
      " id INTEGER PRIMARY KEY, prefix TEXT NOT NULL, space INTEGER NOT NULL,"
      " key BLOB NOT NULL, value BLOB NOT NULL, expiration INTEGER NOT NULL DEFAULT 0,"
      " UNIQUE (prefix, space, key));"
      "CREATE TABLE IF NOT EXISTS " +
      QuoteIdentifier(name + "_locks") +
      " ("
      " prefix TEXT NOT NULL, key BLOB NOT NULL, owner BLOB NOT NULL,"
      " expiration INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (prefix, key));";
  const std::string indexes = "CREATE INDEX IF NOT EXISTS " + QuoteIdentifier(name + "_scan") +
                              " ON " + t +
                              " (prefix, space);"
                              "CREATE INDEX IF NOT EXISTS " +
                              QuoteIdentifier(name + "_exp") + " ON " + t +
                              " (prefix, expiration) WHERE expiration > 0;"
                              "COMMIT;";
  Status status;
  if (sqlite3_exec(conn.db, tables.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    status = Error(conn, "cannot create table " + t);
  } else if (sqlite3_exec(conn.db, database::LayoutCheckSql(name, kColumns, kLockColumns).c_str(),
                          nullptr, nullptr, nullptr) != SQLITE_OK) {
    status = Status::Error("sqlite " + path_ + ": " +
                           database::LayoutError(name, kColumns, kLockColumns));
  } else if (sqlite3_exec(conn.db, indexes.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    status = Error(conn, "cannot create the indexes of " + t);
  }
  if (!status.ok()) sqlite3_exec(conn.db, "ROLLBACK", nullptr, nullptr, nullptr);
  return status;
}

Status SqliteStore::Prepare(Connection& conn) {
  for (size_t i = 0; i < kSqlCount; ++i) {
    if (sqlite3_prepare_v3(conn.db, sql_[i].c_str(), -1, SQLITE_PREPARE_PERSISTENT,
                           &conn.statements[i], nullptr) != SQLITE_OK) {
      return Error(conn, "cannot prepare " + sql_[i]);
    }
  }
  return Status::Ok();
}

Status SqliteStore::Exec(Connection& conn, Sql sql) {
  Statement statement(conn, sql);
  const int rc = statement.Step();
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? Status::Ok() : Error(conn, sql_[sql]);
}

Status SqliteStore::RunWrite(Connection& conn, Statement& statement, int* changes) {
  if (statement.Step() != SQLITE_DONE) return Error(conn, "");
  *changes = sqlite3_changes(conn.db);
  return Status::Ok();
}

Status SqliteStore::ReadRows(Connection& conn, Space space, const std::vector<std::string>& keys,
                             int64_t now_ms, std::vector<std::optional<Entry>>* rows) {
  rows->assign(keys.size(), std::nullopt);
  const Sql sql = space == Space::kLock ? kSelectLock : kSelectData;
  for (size_t i = 0; i < keys.size(); ++i) {
    Statement statement(conn, sql);
    if (statement.Bind(
            {.prefix = settings_.prefix, .space = static_cast<int>(space), .key = keys[i]}) !=
        SQLITE_OK) {
      return Error(conn, "");
    }
    const int rc = statement.Step();
    if (rc == SQLITE_DONE) continue;
    if (rc != SQLITE_ROW) return Error(conn, "");
    const int64_t expiration = statement.Int(1);
    if (database::IsLive(expiration, now_ms)) (*rows)[i] = Entry{statement.Bytes(0), expiration};
  }
  return Status::Ok();
}

Status SqliteStore::ReadBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                                 int64_t now_ms, std::vector<std::optional<Entry>>* entries) {
  Result<Connection*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  // One key needs no transaction; several share one snapshot (MGET is atomic in Redis).
  if (keys.size() <= 1) return ReadRows(**conn, space, keys, now_ms, entries);
  Status status = Exec(**conn, kBegin);
  if (status.ok()) status = ReadRows(**conn, space, keys, now_ms, entries);
  if (status.ok()) status = Exec(**conn, kCommit);
  if (!status.ok()) (void)Exec(**conn, kRollback);
  return status;
}

Status SqliteStore::ApplyWrite(Connection& conn, Space space, const KeyUpdate& update,
                               int64_t now_ms, bool* changed) {
  const bool lock = space == Space::kLock;
  const database::RowWrite write = database::PlanWrite(update, now_ms);
  *changed = false;
  if (write == database::RowWrite::kNone) return Status::Ok();
  Sql sql = lock ? kUpsertLock : kUpsertData;
  if (write == database::RowWrite::kEraseLive) sql = lock ? kEraseLock : kEraseData;
  if (write == database::RowWrite::kSetExpiry) sql = lock ? kExpireLock : kExpireData;
  Statement statement(conn, sql);
  if (statement.Bind({.prefix = settings_.prefix,
                      .space = static_cast<int>(space),
                      .key = update.key,
                      .value = update.value,
                      .expiration = update.expire_at_ms,
                      .now = now_ms}) != SQLITE_OK) {
    return Error(conn, "");
  }
  int changes = 0;
  Status status = RunWrite(conn, statement, &changes);
  *changed = changes > 0;
  return status;
}

Status SqliteStore::UpdateBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                                   const UpdateFn& fn, int64_t now_ms, std::vector<bool>* changed) {
  Result<Connection*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  Connection& c = **conn;
  std::lock_guard lock(write_mu_);
  Status status = Exec(c, kBeginImmediate);  // the write lock, before the reads
  if (!status.ok()) return status;
  std::vector<std::optional<Entry>> rows;
  status = ReadRows(c, space, keys, now_ms, &rows);
  changed->assign(keys.size(), false);
  if (status.ok()) {
    std::vector<KeyUpdate> updates = database::Decide(keys, rows, fn, now_ms);
    for (size_t i = 0; i < updates.size() && status.ok(); ++i) {
      bool key_changed = false;
      status = ApplyWrite(c, space, updates[i], now_ms, &key_changed);
      (*changed)[i] = key_changed;
    }
  }
  if (status.ok()) status = Exec(c, kCommit);
  if (!status.ok()) {
    (void)Exec(c, kRollback);
    changed->assign(keys.size(), false);
  }
  return status;
}

Status SqliteStore::WriteAtomically(size_t worker, bool several,
                                    const std::function<Status(Connection&)>& write) {
  Result<Connection*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  Connection& c = **conn;
  std::lock_guard lock(write_mu_);
  if (!several) return write(c);  // one statement is a transaction by itself
  Status status = Exec(c, kBeginImmediate);
  if (!status.ok()) return status;
  status = write(c);
  if (status.ok()) status = Exec(c, kCommit);
  if (!status.ok()) (void)Exec(c, kRollback);
  return status;
}

Status SqliteStore::WriteBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& values, int64_t expire_at_ms,
                                  int64_t now_ms) {
  const Sql sql = space == Space::kLock ? kUpsertLock : kUpsertData;
  return WriteAtomically(worker, keys.size() > 1, [&](Connection& conn) {
    for (size_t i = 0; i < keys.size(); ++i) {
      Statement statement(conn, sql);
      if (statement.Bind({.prefix = settings_.prefix,
                          .space = static_cast<int>(space),
                          .key = keys[i],
                          .value = values[i],
                          .expiration = expire_at_ms}) != SQLITE_OK) {
        return Error(conn, "");
      }
      int changes = 0;
      Status status = RunWrite(conn, statement, &changes);
      if (!status.ok()) return status;
    }
    return Status::Ok();
  });
}

Status SqliteStore::EraseBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                                  int64_t now_ms, std::vector<bool>* removed) {
  removed->assign(keys.size(), false);
  const Sql sql = space == Space::kLock ? kDeleteLock : kDeleteData;
  Status status = WriteAtomically(worker, keys.size() > 1, [&](Connection& conn) {
    for (size_t i = 0; i < keys.size(); ++i) {
      Statement statement(conn, sql);
      if (statement.Bind(
              {.prefix = settings_.prefix, .space = static_cast<int>(space), .key = keys[i]}) !=
          SQLITE_OK) {
        return Error(conn, "");
      }
      int rc;
      while ((rc = statement.Step()) == SQLITE_ROW) {
        if (database::IsLive(statement.Int(0), now_ms)) (*removed)[i] = true;
      }
      if (rc != SQLITE_DONE) return Error(conn, "");
    }
    return Status::Ok();
  });
  if (!status.ok()) removed->assign(keys.size(), false);
  return status;
}

Status SqliteStore::ScanSpaceBlocking(size_t worker, Space space, uint64_t cursor, size_t count,
                                      int64_t now_ms, ScanPage* page) {
  page->next_cursor = 0;
  // The tag reclaimer walks every store: that alone must not create the lazy store's file.
  if (settings_.lazy_open && !used_ && space != Space::kData) return Status::Ok();
  if (cursor > static_cast<uint64_t>(INT64_MAX)) return Status::Ok();  // past every id
  Result<Connection*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  const auto limit = static_cast<int64_t>(database::PageSize(count));
  Statement statement(**conn, kScan);
  if (statement.Bind({.prefix = settings_.prefix,
                      .space = static_cast<int>(space),
                      .now = now_ms,
                      .id = static_cast<int64_t>(cursor),
                      .limit = limit}) != SQLITE_OK) {
    return Error(**conn, "");
  }
  int64_t last_id = 0;
  int rc;
  while ((rc = statement.Step()) == SQLITE_ROW) {
    last_id = statement.Int(0);
    page->keys.push_back(statement.Bytes(1));
  }
  if (rc != SQLITE_DONE) return Error(**conn, "");
  // A full page may have more after it; a short one ends the iteration.
  if (static_cast<int64_t>(page->keys.size()) == limit) page->next_cursor = last_id;
  return Status::Ok();
}

Status SqliteStore::CountBlocking(size_t worker, int64_t now_ms, int64_t* count) {
  Result<Connection*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  Statement statement(**conn, kCount);
  if (statement.Bind({.prefix = settings_.prefix, .now = now_ms}) != SQLITE_OK ||
      statement.Step() != SQLITE_ROW) {
    return Error(**conn, "");
  }
  *count = statement.Int(0);
  return Status::Ok();
}

Status SqliteStore::RandomKeyBlocking(size_t worker, int64_t now_ms,
                                      std::optional<std::string>* key) {
  Result<Connection*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  int64_t low = 0;
  int64_t high = 0;
  {
    Statement bounds(**conn, kBounds);
    if (bounds.Bind({.prefix = settings_.prefix}) != SQLITE_OK || bounds.Step() != SQLITE_ROW) {
      return Error(**conn, "");
    }
    if (bounds.IsNull(0)) return Status::Ok();  // no rows at all
    low = bounds.Int(0);
    high = bounds.Int(1);
  }
  // The first live key at or after a random id, else the first live key: O(log n), and close
  // enough to uniform for RANDOMKEY while ids are dense.
  for (int64_t from : {RandomBetween(low, high), low}) {
    Statement statement(**conn, kRandomFrom);
    if (statement.Bind({.prefix = settings_.prefix, .now = now_ms, .id = from}) != SQLITE_OK) {
      return Error(**conn, "");
    }
    const int rc = statement.Step();
    if (rc == SQLITE_ROW) {
      *key = statement.Bytes(0);
      return Status::Ok();
    }
    if (rc != SQLITE_DONE) return Error(**conn, "");
  }
  return Status::Ok();
}

Status SqliteStore::FlushBlocking(size_t worker) {
  Result<Connection*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  std::lock_guard lock(write_mu_);
  Status status = Exec(**conn, kBeginImmediate);
  if (!status.ok()) return status;
  for (Sql sql : {kFlushData, kFlushLocks}) {
    if (!status.ok()) break;
    Statement statement(**conn, sql);
    int changes = 0;
    status = statement.Bind({.prefix = settings_.prefix}) == SQLITE_OK
                 ? RunWrite(**conn, statement, &changes)
                 : Error(**conn, "");
  }
  if (status.ok()) status = Exec(**conn, kCommit);
  if (!status.ok()) (void)Exec(**conn, kRollback);
  return status;
}

Status SqliteStore::PruneBlocking(size_t worker, int64_t now_ms) {
  if (settings_.lazy_open && !used_) return Status::Ok();  // never create a file to prune it
  Result<Connection*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(database::kPruneBudgetMs);
  for (Sql sql : {kPruneData, kPruneLocks}) {
    int changes = database::kPruneBatch;
    // Each batch is its own short transaction, so other writers get in between.
    while (changes == database::kPruneBatch && SteadyClock::now() < deadline) {
      std::lock_guard lock(write_mu_);
      Statement statement(**conn, sql);
      if (statement.Bind(
              {.prefix = settings_.prefix, .now = now_ms, .limit = database::kPruneBatch}) !=
          SQLITE_OK) {
        return Error(**conn, "");
      }
      Status status = RunWrite(**conn, statement, &changes);
      if (!status.ok()) return status;
    }
  }
  return Status::Ok();
}

}  // namespace arvel::drivers
