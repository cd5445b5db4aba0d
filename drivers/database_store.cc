#include "drivers/database_store.h"

#include <algorithm>

#include "drivers/postgres_store.h"
#include "drivers/sqlite_store.h"
#include "drivers/unavailable_store.h"

namespace arvel::drivers {

namespace {
constexpr std::string_view kSqliteScheme = "sqlite://";
constexpr size_t kMaxPage = 10000;
}  // namespace

std::unique_ptr<Store> MakeDatabaseStore(const config::StoreConfig& config, uv_loop_t* loop) {
  database::Settings settings;
  settings.name = config.name;
  settings.table = config.table;
  settings.prefix = config.prefix;
  std::string_view url = config.url;
  if (url.starts_with(kSqliteScheme)) {
    // Only an implicit store can be one nobody asked for; a configured one opens at start-up
    // so that a bad path is reported at once.
    settings.lazy_open = config.implicit;
    return std::make_unique<SqliteStore>(std::move(settings),
                                         std::string(url.substr(kSqliteScheme.size())), loop);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return std::make_unique<PostgresStore>(std::move(settings), config.url, loop);
  }
  return std::make_unique<UnavailableStore>(
      config.name, config.driver, "unsupported database URL (use sqlite:// or postgresql://)");
}

namespace database {

RowWrite PlanWrite(const KeyUpdate& update, int64_t now_ms) {
  using Action = KeyUpdate::Action;
  if (update.action == Action::kKeep) return RowWrite::kNone;
  if (update.action == Action::kErase || !IsLive(update.expire_at_ms, now_ms)) {
    return RowWrite::kEraseLive;
  }
  return update.action == Action::kPut ? RowWrite::kUpsert : RowWrite::kSetExpiry;
}

std::vector<KeyUpdate> Decide(const std::vector<std::string>& keys,
                              const std::vector<std::optional<Entry>>& rows, const UpdateFn& fn,
                              int64_t now_ms) {
  std::vector<KeyUpdate> updates(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    updates[i].key = keys[i];
    updates[i].current = rows[i] ? &*rows[i] : nullptr;
  }
  fn(updates, now_ms);
  return updates;
}

std::string QuoteIdentifier(std::string_view name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string LayoutCheckSql(const std::string& table, std::string_view columns,
                           std::string_view lock_columns) {
  return "SELECT " + std::string(columns) + " FROM " + QuoteIdentifier(table) +
         " LIMIT 0; SELECT " + std::string(lock_columns) + " FROM " +
         QuoteIdentifier(table + "_locks") + " LIMIT 0;";
}

std::string LayoutError(const std::string& table, std::string_view columns,
                        std::string_view lock_columns) {
  return "table " + QuoteIdentifier(table) + " (or " + QuoteIdentifier(table + "_locks") +
         ") exists without the columns of the database driver (" + std::string(columns) + " / " +
         std::string(lock_columns) + "); choose another `table`";
}

size_t PageSize(size_t count) { return std::clamp<size_t>(count, 1, kMaxPage); }

}  // namespace database
}  // namespace arvel::drivers
