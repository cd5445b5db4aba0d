#pragma once
// The `database` driver (SPEC §6): the cache in an SQL table, on SQLite (drivers/sqlite_store.h)
// or PostgreSQL (drivers/postgres_store.h), chosen by the store's `url`.
//
// Layout (created if missing; `cache` is the store's `table`):
//
//   cache(…, prefix, space, key, value, expiration)   one row per (prefix, space, key)
//   cache_locks(…, prefix, key, owner, expiration)     one row per (prefix, key)
//
// `prefix` is the store's prefix, so several stores (and daemons) can share one table and each
// FLUSH removes only its own rows; `space` is the Space number (Space::kLock lives in
// cache_locks instead); key/value/owner are binary (BLOB/BYTEA); expiration is Unix ms, 0 = none.
// What "…" is, and so how SCAN pages, differs by backend:
//   - SQLite: `id INTEGER PRIMARY KEY` (the rowid), UNIQUE (prefix, space, key); a SCAN cursor
//     is the last id returned.
//   - PostgreSQL: `key_hash` = sha256(key), a stored generated column, PRIMARY KEY (prefix,
//     space, key_hash): a B-tree entry cannot hold a long key, and one index serves lookups,
//     upserts and SCAN (in hash order; a cursor is the first 8 bytes of a hash).
// Either way a cursor lives in the table, so it stays valid across restarts and daemons.
//
// Daemons sharing a PostgreSQL table also share the NOTIFY channel "arvel:<table>", on which each
// announces the keys it changed (drivers/postgres_channel.h), so waiters elsewhere wake at once.
// Daemons sharing an SQLite file watch it (inotify on its WAL, drivers/file_watch.h): they learn
// that some keys changed, not which, and their waiters look again.

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "drivers/store.h"

namespace arvel::drivers {

// The store for `config` (driver = "database"). A URL no backend serves yields a store that
// answers every call with "store 'NAME' unavailable: …".
std::unique_ptr<Store> MakeDatabaseStore(const config::StoreConfig& config, uv_loop_t* loop);

namespace database {

// What both SQL stores are built from.
struct Settings {
  std::string name;
  std::string table = "cache";
  std::string prefix;
  // Connect on first use rather than at Open: set for the implicit SQLite store nobody
  // configured, so a daemon that never uses it never creates storage/cache.sqlite.
  bool lazy_open = false;
  size_t threads = 4;
};

// The SQL statement an update decision turns into.
enum class RowWrite : uint8_t {
  kNone,       // kKeep, or kExpire of an absent key
  kUpsert,     // kPut with a future (or no) expiry
  kEraseLive,  // kErase, or a kPut/kExpire whose expiry is already past: delete if live
  kSetExpiry,  // kExpire with a future (or no) expiry, on the live row only
};
RowWrite PlanWrite(const KeyUpdate& update, int64_t now_ms);

inline bool IsLive(int64_t expiration, int64_t now_ms) {
  return expiration == 0 || expiration > now_ms;
}

// Runs `fn` once over the rows read for `keys` (rows[i] is keys[i]'s live entry, if any) and
// returns its decisions. The KeyUpdates borrow `keys` and `rows`.
std::vector<KeyUpdate> Decide(const std::vector<std::string>& keys,
                              const std::vector<std::optional<Entry>>& rows, const UpdateFn& fn,
                              int64_t now_ms);

// `name` as a double-quoted SQL identifier. Config already allows only plain identifiers; the
// quotes keep it from ever being read as anything else (and keep its case on PostgreSQL).
std::string QuoteIdentifier(std::string_view name);

// Statements that fail unless `table` and `table`_locks have the columns the driver uses (not
// so for a table of that name made by something else, e.g. Laravel's cache table): `columns`
// and `lock_columns` are comma-separated lists. LayoutError is the message then.
std::string LayoutCheckSql(const std::string& table, std::string_view columns,
                           std::string_view lock_columns);
std::string LayoutError(const std::string& table, std::string_view columns,
                        std::string_view lock_columns);

// Rows one SCAN page may ask for, whatever COUNT the client gave.
size_t PageSize(size_t count);

// Expired rows one prune pass deletes per statement, and the time one pass may take.
inline constexpr int64_t kPruneBatch = 1000;
inline constexpr int64_t kPruneBudgetMs = 50;

}  // namespace database
}  // namespace arvel::drivers
