// Design.
//
// Connections: one PGconn per worker, blocking libpq calls on the store's own threads
// (BlockingStore), connect_timeout=2 and TCP keepalives so a dead server fails a call in seconds,
// not hours. URL parameters override those defaults. A connection the server hung up on (restart)
// is noticed before use and replaced; any other failure marks the store unavailable and
// BlockingStore reopens every connection with backoff.
//
// Atomicity across daemons: advisory locks. UpdateBlocking runs
//
//   BEGIN ISOLATION LEVEL READ COMMITTED
//   lock: pg_advisory_xact_lock_shared(store id), then pg_advisory_xact_lock(key id) for each
//         key, ids sorted, in one statement
//   SELECT each key; fn decides; INSERT … ON CONFLICT DO UPDATE / DELETE / UPDATE
//   COMMIT (locks released after the commit is visible)
//
// Every writer of a key holds its lock from before its read until after its commit, so two
// daemons' read-modify-writes of a key serialize exactly, absent rows included (a row lock
// cannot cover a row that does not exist yet; an advisory lock names the key, not the row).
// Why not the alternatives: SERIALIZABLE needs retries, and an UpdateFn runs at most once;
// placeholder rows (INSERT … DO NOTHING, then FOR UPDATE) cost a write for every miss and must
// be cleaned up. The SELECT is a separate statement after the lock: in READ COMMITTED each
// statement takes a fresh snapshot, so it sees the previous holder's commit (a snapshot taken
// in the same statement as the lock wait would not; that is also why the isolation level is
// set explicitly rather than inherited from the database's default). Lock ids are a 64-bit
// FNV-1a of (table, prefix, space, key): a collision only makes two keys wait for each other.
// Sorted ids and the store lock taken first make deadlocks impossible: FLUSH takes the store
// lock exclusively, so it never interleaves with an update's row locks; pruning deletes only
// rows it could lock without waiting (SKIP LOCKED). Reads take no locks: each sees committed
// rows, and a multi-key read is one REPEATABLE READ snapshot.
//
// Blind writes (BlockingStore::WriteBlocking / EraseBlocking: SET, PUTMANY, DEL…) need no read,
// so they are one statement in a transaction of its own, one round trip instead of five:
//
//   WITH locked AS MATERIALIZED (the same advisory locks, in the same order)
//   INSERT … SELECT … FROM locked, unnest(keys, values) ON CONFLICT DO UPDATE
//   (or DELETE … WHERE … AND (SELECT n FROM locked) > 0 RETURNING key, expiration)
//
// A row lock alone would not do: an update's SELECT locks nothing, and an absent row has no
// lock, so an upsert could land between an update's read and its write and be overwritten
// (INCREMENT's read, SET, INCREMENT's write: the SET is lost). The rows come out of a join with
// `locked` (a one-time filter for DELETE), so nothing is written before every lock is held: the
// blind write is entirely before or after any update of its keys. An upsert then conflicts with
// the latest committed row whatever its snapshot; a DELETE that waited may not see a row inserted
// meanwhile, and is then ordered before that insert — also atomic. DELETE counts only rows that
// were live, and removes expired ones on the way.
//
// Durability: the transaction commits with the server's synchronous_commit (on by default: the
// WAL is flushed before COMMIT returns), so an acknowledged write survives kill -9 of the daemon
// and of PostgreSQL.
//
// Keys: the primary key is (prefix, space, key_hash) with key_hash = sha256(key), a stored
// generated column: a B-tree entry holds at most ~2.7 kB and a key may be far longer, and with a
// single index on the table the planner cannot pick a worse one for a lookup, even before the
// table has statistics. Lookups also compare the key itself, so a match is exact.
//
// SCAN walks the primary key in hash order: a cursor is the first 8 bytes of a hash (big
// endian), and the next cursor is that of the page's last key plus one. A key present for the
// whole iteration is returned unless its hash shares its first 64 bits with the hash of the key
// that ended a page (about n / 2^64 for n keys: never, in practice). RANDOMKEY takes the first
// live key at or after a random hash, which is uniform.
//
// Parameters and results travel in binary format: keys and values are raw bytes (BYTEA), no
// escaping.

#include "drivers/postgres_store.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <random>

#include "absl/container/flat_hash_map.h"

namespace arvel::drivers {

namespace {

using database::QuoteIdentifier;
using SteadyClock = std::chrono::steady_clock;

// Type OIDs (pg_type.h is a server header).
constexpr unsigned kInt2 = 21;
constexpr unsigned kInt8 = 20;
constexpr unsigned kText = 25;
constexpr unsigned kBytea = 17;
constexpr unsigned kInt8Array = 1016;
constexpr unsigned kByteaArray = 1001;

// PostgreSQL truncates identifiers to 63 bytes: "<table>_locks" must still be distinct.
constexpr size_t kMaxTableName = 63 - 6;

constexpr std::string_view kColumns = "prefix, space, key, key_hash, value, expiration";
constexpr std::string_view kLockColumns = "prefix, key, key_hash, owner, expiration";

// A SCAN cursor as the 8 big-endian bytes it compares with key_hash by, and back.
std::string CursorBytes(uint64_t cursor) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(cursor >> (56 - 8 * i));
  return bytes;
}

uint64_t CursorOf(std::string_view hash) {
  uint64_t cursor = 0;
  for (size_t i = 0; i < 8 && i < hash.size(); ++i) {
    cursor = (cursor << 8) | static_cast<unsigned char>(hash[i]);
  }
  return cursor;
}

uint64_t Fnv1a(uint64_t hash, std::string_view bytes) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

// A stable hash of the parts (the same in every daemon, build and version), each part followed
// by its length so ("ab", "c") and ("a", "bc") differ.
uint64_t HashParts(std::initializer_list<std::string_view> parts) {
  uint64_t hash = 14695981039346656037ULL;
  for (std::string_view part : parts) {
    hash = Fnv1a(hash, part);
    const uint64_t size = part.size();
    hash = Fnv1a(hash, std::string_view(reinterpret_cast<const char*>(&size), sizeof(size)));
  }
  return hash;
}

int64_t KeyLockId(const std::string& table, const std::string& prefix, Space space,
                  std::string_view key) {
  const char space_byte = static_cast<char>(space);
  return static_cast<int64_t>(HashParts({table, prefix, {&space_byte, 1}, key}) | 1);
}

int64_t StoreLockId(const std::string& table, const std::string& prefix) {
  return static_cast<int64_t>(HashParts({"store", table, prefix}) & ~uint64_t{1});
}

// One line, no trailing newline: libpq messages span lines ("…failed: Connection refused\n\tIs
// the server running…").
std::string OneLine(std::string_view text) {
  std::string line;
  for (char c : text) {
    const bool space = c == '\n' || c == '\t' || c == '\r';
    if (space && (line.empty() || line.back() == ' ')) continue;
    line += space ? ' ' : c;
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

Status PgError(PGconn* conn, const PGresult* result, std::string_view what = {}) {
  std::string message = "postgresql: ";
  if (!what.empty()) message += std::string(what) + ": ";
  const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  if (primary != nullptr) {
    message += primary;
  } else {
    message += conn ? OneLine(PQerrorMessage(conn)) : "out of memory";
  }
  return Status::Error(message);
}

// Whether the connection is unusable before a call: broken, or readable while idle. An idle
// connection receives nothing we ask for, so data means the server is saying goodbye (a
// restart or a terminated backend sends FATAL, then closes); replacing the connection is cheap
// and beats failing the call that would find out.
bool Stale(PGconn* conn) {
  if (PQstatus(conn) != CONNECTION_OK) return true;
  pollfd fd{.fd = PQsocket(conn), .events = POLLIN, .revents = 0};
  return poll(&fd, 1, 0) != 0;
}

// The spaces whose changes are announced to other daemons: those somebody may wait on (WATCH,
// REMEMBER, LOCK BLOCK), not the throttle counters, tag generations or fill leases.
bool Announced(Space space) {
  return space == Space::kData || space == Space::kTagged || space == Space::kLock;
}

uint64_t RandomHashPrefix() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng();
}

}  // namespace

// Parameters of one statement, in binary format, in the order the statement numbers them.
class PostgresStore::Params {
 public:
  Params& Text(std::string_view text) { return Add(text, 1); }
  Params& Bytes(std::string_view bytes) { return Add(bytes, 1); }
  Params& Int2(int16_t value) { return Integer(value, 2); }
  Params& Int8(int64_t value) { return Integer(value, 8); }
  // A value in text format (the int8[] of the lock statement: "{1,2,3}").
  Params& TextFormat(std::string text) { return Add(Own(std::move(text)), 0); }
  // One-dimensional arrays in binary format (array_send's layout).
  Params& ByteaArray(const std::vector<std::string>& items) {
    std::string out = ArrayHeader(kBytea, items.size());
    for (const std::string& item : items) {
      AppendInt(&out, static_cast<int64_t>(item.size()), 4);
      out += item;
    }
    return Add(Own(std::move(out)), 1);
  }
  Params& Int8Array(const std::vector<int64_t>& items) {
    std::string out = ArrayHeader(kInt8, items.size());
    for (int64_t item : items) {
      AppendInt(&out, 8, 4);
      AppendInt(&out, item, 8);
    }
    return Add(Own(std::move(out)), 1);
  }

  int size() const { return size_; }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  static constexpr int kMax = 8;
  static void AppendInt(std::string* out, int64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) *out += static_cast<char>(value >> (8 * (bytes - 1 - i)));
  }
  // ndim, has-nulls flag, element type, then the dimension's size and lower bound.
  static std::string ArrayHeader(unsigned element_type, size_t size) {
    std::string out;
    AppendInt(&out, 1, 4);
    AppendInt(&out, 0, 4);
    AppendInt(&out, element_type, 4);
    AppendInt(&out, static_cast<int64_t>(size), 4);
    AppendInt(&out, 1, 4);
    return out;
  }
  std::string_view Own(std::string bytes) { return owned_.emplace_back(std::move(bytes)); }
  Params& Integer(int64_t value, int bytes) {
    char* out = integers_[size_].data();
    for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>(value >> (8 * (bytes - 1 - i)));
    return Add({out, static_cast<size_t>(bytes)}, 1);
  }
  Params& Add(std::string_view bytes, int format) {
    // A null pointer would send SQL NULL; an empty key or value is an empty string.
    values_[size_] = bytes.data() ? bytes.data() : "";
    lengths_[size_] = static_cast<int>(bytes.size());
    formats_[size_] = format;
    ++size_;
    return *this;
  }

  int size_ = 0;
  std::array<const char*, kMax> values_{};
  std::array<int, kMax> lengths_{};
  std::array<int, kMax> formats_{};
  std::array<std::array<char, 8>, kMax> integers_{};
  std::deque<std::string> owned_;  // array and text-format values (stable addresses)
};

// A result (binary format), freed when it goes out of scope.
class PostgresStore::Rows {
 public:
  Rows() = default;
  ~Rows() { PQclear(result_); }
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;

  void Reset(PGresult* result) {
    PQclear(result_);
    result_ = result;
  }
  const PGresult* get() const { return result_; }
  int size() const { return PQntuples(result_); }
  int64_t Affected() const { return std::atoll(PQcmdTuples(result_)); }
  bool IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
  std::string Bytes(int row, int column) const {
    return std::string(PQgetvalue(result_, row, column), PQgetlength(result_, row, column));
  }
  // An int8 column (or an int2/int4 one: widths are read from the data).
  int64_t Int(int row, int column) const {
    const auto* bytes = reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row, column));
    const int length = PQgetlength(result_, row, column);
    uint64_t value = length > 0 && (bytes[0] & 0x80) ? ~uint64_t{0} : 0;  // sign extension
    for (int i = 0; i < length; ++i) value = (value << 8) | bytes[i];
    return static_cast<int64_t>(value);
  }

 private:
  PGresult* result_ = nullptr;
};

std::array<PostgresStore::Statement, PostgresStore::kSqlCount> PostgresStore::BuildSql(
    const std::string& table) {
  const std::string t = QuoteIdentifier(table);
  const std::string l = QuoteIdentifier(table + "_locks");
  // key_hash finds the row through the primary key; key = $n makes the match exact.
  const std::string data_key =
      " WHERE prefix = $1 AND space = $2 AND key_hash = sha256($3) AND key = $3";
  const std::string lock_key = " WHERE prefix = $1 AND key_hash = sha256($2) AND key = $2";
  const std::string in_space = " WHERE prefix = $1 AND space = $2";
  auto live = [](int param) {
    return " AND (expiration = 0 OR expiration > $" + std::to_string(param) + ")";
  };
  const std::string due = " WHERE prefix = $1 AND expiration > 0 AND expiration <= $2";
  std::array<Statement, kSqlCount> sql;
  sql[kSelectData] = {"SELECT value, expiration FROM " + t + data_key, {kText, kInt2, kBytea}};
  sql[kSelectLock] = {"SELECT owner, expiration FROM " + l + lock_key, {kText, kBytea}};
  sql[kUpsertData] = {"INSERT INTO " + t +
                          " (prefix, space, key, value, expiration) VALUES ($1, $2, $3, $4, $5)"
                          " ON CONFLICT (prefix, space, key_hash) DO UPDATE"
                          " SET value = EXCLUDED.value, expiration = EXCLUDED.expiration",
                      {kText, kInt2, kBytea, kBytea, kInt8}};
  sql[kUpsertLock] = {"INSERT INTO " + l +
                          " (prefix, key, owner, expiration) VALUES ($1, $2, $3, $4)"
                          " ON CONFLICT (prefix, key_hash) DO UPDATE"
                          " SET owner = EXCLUDED.owner, expiration = EXCLUDED.expiration",
                      {kText, kBytea, kBytea, kInt8}};
  sql[kEraseData] = {"DELETE FROM " + t + data_key + live(4), {kText, kInt2, kBytea, kInt8}};
  sql[kEraseLock] = {"DELETE FROM " + l + lock_key + live(3), {kText, kBytea, kInt8}};
  sql[kExpireData] = {"UPDATE " + t + " SET expiration = $5" + data_key + live(4),
                      {kText, kInt2, kBytea, kInt8, kInt8}};
  sql[kExpireLock] = {"UPDATE " + l + " SET expiration = $4" + lock_key + live(3),
                      {kText, kBytea, kInt8, kInt8}};
  sql[kScan] = {"SELECT key_hash, key FROM " + t + in_space + live(3) +
                    " AND key_hash >= $4 ORDER BY key_hash LIMIT $5",
                {kText, kInt2, kInt8, kBytea, kInt8}};
  sql[kCount] = {"SELECT count(*) FROM " + t + in_space + live(3), {kText, kInt2, kInt8}};
  sql[kRandomFrom] = {
      "SELECT key FROM " + t + in_space + live(3) + " AND key_hash >= $4 ORDER BY key_hash LIMIT 1",
      {kText, kInt2, kInt8, kBytea}};
  // Blind writes: one statement, its own transaction. `locked` takes the same advisory locks as
  // kLockKeys (ids in $n), and the rows come out of a join with it, so no row is written before
  // every lock is held: an UpdateBlocking of the same keys is entirely before or after.
  auto locked = [](int param) {
    return "WITH locked AS MATERIALIZED (SELECT count(held) AS n FROM (SELECT CASE WHEN o = 1"
           " THEN pg_advisory_xact_lock_shared(x) ELSE pg_advisory_xact_lock(x) END AS held"
           " FROM unnest($" +
           std::to_string(param) + "::int8[]) WITH ORDINALITY AS a(x, o) ORDER BY o) ids) ";
  };
  sql[kWriteData] = {locked(6) + "INSERT INTO " + t +
                         " (prefix, space, key, value, expiration)"
                         " SELECT $1, $2, k, v, $5 FROM locked, unnest($3::bytea[], $4::bytea[])"
                         " AS u(k, v) ON CONFLICT (prefix, space, key_hash) DO UPDATE"
                         " SET value = EXCLUDED.value, expiration = EXCLUDED.expiration",
                     {kText, kInt2, kByteaArray, kByteaArray, kInt8, kInt8Array}};
  sql[kWriteLock] = {locked(5) + "INSERT INTO " + l +
                         " (prefix, key, owner, expiration)"
                         " SELECT $1, k, v, $4 FROM locked, unnest($2::bytea[], $3::bytea[])"
                         " AS u(k, v) ON CONFLICT (prefix, key_hash) DO UPDATE"
                         " SET owner = EXCLUDED.owner, expiration = EXCLUDED.expiration",
                     {kText, kByteaArray, kByteaArray, kInt8, kInt8Array}};
  // Deletes the rows, live or not, and returns them so that only live ones count. The lock is
  // a one-time filter of the scan: it is taken before any row is.
  const std::string hashes = " key_hash = ANY(ARRAY(SELECT sha256(k) FROM unnest($";
  sql[kEraseManyData] = {locked(4) + "DELETE FROM " + t + in_space + " AND" + hashes +
                             "3::bytea[]) AS u(k))) AND key = ANY($3)"
                             " AND (SELECT n FROM locked) > 0 RETURNING key, expiration",
                         {kText, kInt2, kByteaArray, kInt8Array}};
  sql[kEraseManyLock] = {locked(3) + "DELETE FROM " + l + " WHERE prefix = $1 AND" + hashes +
                             "2::bytea[]) AS u(k))) AND key = ANY($2)"
                             " AND (SELECT n FROM locked) > 0 RETURNING key, expiration",
                         {kText, kByteaArray, kInt8Array}};
  // The ids arrive sorted, the store's own first (shared: only FLUSH takes it exclusively);
  // WITH ORDINALITY keeps that order while the locks are taken.
  sql[kLockKeys] = {
      "SELECT CASE WHEN n = 1 THEN pg_advisory_xact_lock_shared(x)"
      " ELSE pg_advisory_xact_lock(x) END"
      " FROM unnest($1::int8[]) WITH ORDINALITY AS u(x, n) ORDER BY n",
      {kInt8Array}};
  sql[kLockStore] = {"SELECT pg_advisory_xact_lock($1)", {kInt8}};
  sql[kFlushData] = {"DELETE FROM " + t + " WHERE prefix = $1", {kText}};
  sql[kFlushLocks] = {"DELETE FROM " + l + " WHERE prefix = $1", {kText}};
  // By ctid (a TID scan): the rows the subquery could lock without waiting, and only those.
  sql[kPruneData] = {"DELETE FROM " + t + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + t + due +
                         " LIMIT $3 FOR UPDATE SKIP LOCKED))",
                     {kText, kInt8, kInt8}};
  sql[kPruneLocks] = {"DELETE FROM " + l + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + l + due +
                          " LIMIT $3 FOR UPDATE SKIP LOCKED))",
                      {kText, kInt8, kInt8}};
  return sql;
}

PostgresStore::PostgresStore(database::Settings settings, std::string url, uv_loop_t* loop)
    : BlockingStore(settings.name, "database", loop, settings.threads),
      settings_(std::move(settings)),
      url_(std::move(url)),
      sql_(BuildSql(settings_.table)),
      store_lock_id_(StoreLockId(settings_.table, settings_.prefix)),
      connections_(settings_.threads, nullptr) {
  PostgresChangeChannel::Callbacks callbacks;
  callbacks.message = [this](std::string_view payload) { OnChange(payload); };
  callbacks.listening = [this](bool listening) {
    capabilities_.notifies_remote_changes = listening;
  };
  channel_ = std::make_unique<PostgresChangeChannel>(loop, url_, ChannelName(settings_.table),
                                                     std::move(callbacks));
}

void PostgresStore::Open(DoneFn done) {
  channel_->Start();  // once; a reopen after a failure finds it running
  BlockingStore::Open(std::move(done));
}

void PostgresStore::Close(DoneFn done) {
  capabilities_.notifies_remote_changes = false;
  channel_->Stop(
      [this, done = std::move(done)]() mutable { BlockingStore::Close(std::move(done)); });
}

void PostgresStore::Announce(Space space, const std::vector<std::string>& keys,
                             const std::vector<bool>* changed) {
  if (!Announced(space)) return;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (changed && (i >= changed->size() || !(*changed)[i])) continue;
    channel_->Announce(EncodeChange(space, settings_.prefix, keys[i]));
  }
}

void PostgresStore::OnChange(std::string_view payload) {
  std::optional<ChangeMessage> change = DecodeChange(payload);
  if (!change || change->prefix != settings_.prefix) return;
  if (change->all) return AllKeysWritten();
  KeyWritten(change->space, change->key);
}

PostgresStore::~PostgresStore() {
  for (PGconn*& conn : connections_) {
    PQfinish(conn);
    conn = nullptr;
  }
}

Status PostgresStore::OpenBackend(size_t worker) { return Connect(worker).status(); }

void PostgresStore::CloseBackend(size_t worker) {
  PQfinish(connections_[worker]);
  connections_[worker] = nullptr;
}

Result<PGconn*> PostgresStore::Connect(size_t worker) {
  PGconn*& conn = connections_[worker];
  if (conn != nullptr && !Stale(conn)) return conn;
  CloseBackend(worker);
  Status status = OpenConnection(&conn);
  if (!status.ok()) {
    CloseBackend(worker);
    return status;
  }
  return conn;
}

Status PostgresStore::OpenConnection(PGconn** conn) {
  if (settings_.table.size() > kMaxTableName) {
    return Status::Error("postgresql: table name '" + settings_.table + "' is too long (at most " +
                         std::to_string(kMaxTableName) + " characters)");
  }
  if (settings_.prefix.find('\0') != std::string::npos) {
    return Status::Error("postgresql: the store prefix contains a NUL byte");
  }
  // Keywords before "dbname" are defaults that the URL's own parameters override.
  const char* keywords[] = {"connect_timeout",
                            "keepalives_idle",
                            "keepalives_interval",
                            "keepalives_count",
                            "tcp_user_timeout",
                            "application_name",
                            "dbname",
                            nullptr};
  const char* values[] = {"2", "10", "5", "3", "10000", "arvel-cached", url_.c_str(), nullptr};
  *conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (*conn == nullptr || PQstatus(*conn) != CONNECTION_OK) return PgError(*conn, nullptr);
  // "relation already exists, skipping" and friends would go to stderr otherwise.
  PQsetNoticeProcessor(
      *conn, [](void*, const char*) {}, nullptr);
  Status status = CreateSchema(*conn);
  return status.ok() ? Prepare(*conn) : status;
}

Status PostgresStore::CreateSchema(PGconn* conn) {
  const std::string& name = settings_.table;
  const std::string t = QuoteIdentifier(name);
  // Concurrent CREATE … IF NOT EXISTS can still fail on the catalog's unique index: daemons and
  // workers take turns under an advisory lock.
  const int64_t schema_lock = static_cast<int64_t>(HashParts({"schema", name}) & ~uint64_t{1});
  const std::string locks = QuoteIdentifier(name + "_locks");
  const std::string key_hash = " key_hash bytea GENERATED ALWAYS AS (sha256(key)) STORED,";
  const std::string tables = "BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(schema_lock) +
                             ");"
                             "CREATE TABLE IF NOT EXISTS " +
                             t +
                             " ("
                             " prefix text NOT NULL, space smallint NOT NULL, key bytea NOT NULL," +
                             key_hash +
                             " value bytea NOT NULL, expiration bigint NOT NULL DEFAULT 0,"
                             " PRIMARY KEY (prefix, space, key_hash));"
                             "CREATE TABLE IF NOT EXISTS " +
                             locks +
                             " ("
                             " prefix text NOT NULL, key bytea NOT NULL," +
                             key_hash +
                             " owner bytea NOT NULL, expiration bigint NOT NULL DEFAULT 0,"
                             " PRIMARY KEY (prefix, key_hash));";
  const std::string indexes = "CREATE INDEX IF NOT EXISTS " + QuoteIdentifier(name + "_exp") +
                              " ON " + t +
                              " (prefix, expiration) WHERE expiration > 0;"
                              "COMMIT;";
  Status status = Command(conn, tables, "cannot create table " + t);
  if (status.ok() && !Command(conn, database::LayoutCheckSql(name, kColumns, kLockColumns)).ok()) {
    status = Status::Error("postgresql: " + database::LayoutError(name, kColumns, kLockColumns));
  }
  if (status.ok()) status = Command(conn, indexes, "cannot create the indexes of " + t);
  if (!status.ok()) (void)Command(conn, "ROLLBACK");
  return status;
}

Status PostgresStore::Prepare(PGconn* conn) {
  for (size_t i = 0; i < kSqlCount; ++i) {
    const Statement& statement = sql_[i];
    const std::string name = "arvel_" + std::to_string(i);
    Rows rows;
    rows.Reset(PQprepare(conn, name.c_str(), statement.text.c_str(),
                         static_cast<int>(statement.types.size()),
                         reinterpret_cast<const Oid*>(statement.types.data())));
    if (PQresultStatus(rows.get()) != PGRES_COMMAND_OK) {
      return PgError(conn, rows.get(), "cannot prepare " + statement.text);
    }
  }
  return Status::Ok();
}

Status PostgresStore::Command(PGconn* conn, const std::string& sql, std::string_view what) {
  round_trips_.fetch_add(1, std::memory_order_relaxed);
  Rows rows;
  rows.Reset(PQexec(conn, sql.c_str()));
  const ExecStatusType status = PQresultStatus(rows.get());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Status::Ok();
  return PgError(conn, rows.get(), what.empty() ? std::string_view(sql) : what);
}

Status PostgresStore::Run(PGconn* conn, Sql sql, const Params& params, Rows* rows) {
  const std::string name = "arvel_" + std::to_string(sql);
  round_trips_.fetch_add(1, std::memory_order_relaxed);
  rows->Reset(PQexecPrepared(conn, name.c_str(), params.size(), params.values(), params.lengths(),
                             params.formats(), /*resultFormat=*/1));
  const ExecStatusType status = PQresultStatus(rows->get());
  if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) return Status::Ok();
  return PgError(conn, rows->get());
}

void PostgresStore::Abort(size_t worker, PGconn* conn) {
  if (PQstatus(conn) != CONNECTION_OK) {
    CloseBackend(worker);  // the next call reconnects
    return;
  }
  if (PQtransactionStatus(conn) != PQTRANS_IDLE) (void)Command(conn, "ROLLBACK");
}

std::vector<int64_t> PostgresStore::LockIds(Space space,
                                            const std::vector<std::string>& keys) const {
  std::vector<int64_t> ids;
  for (const std::string& key : keys) {
    ids.push_back(KeyLockId(settings_.table, settings_.prefix, space, key));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  ids.insert(ids.begin(), store_lock_id_);
  return ids;
}

Status PostgresStore::LockKeys(PGconn* conn, Space space, const std::vector<std::string>& keys) {
  Rows rows;
  return Run(conn, kLockKeys, Params().Int8Array(LockIds(space, keys)), &rows);
}

Status PostgresStore::ReadRows(PGconn* conn, Space space, const std::vector<std::string>& keys,
                               int64_t now_ms, std::vector<std::optional<Entry>>* entries) {
  entries->assign(keys.size(), std::nullopt);
  const bool lock = space == Space::kLock;
  for (size_t i = 0; i < keys.size(); ++i) {
    Params params;
    params.Text(settings_.prefix);
    if (!lock) params.Int2(static_cast<int16_t>(space));
    params.Bytes(keys[i]);
    Rows rows;
    Status status = Run(conn, lock ? kSelectLock : kSelectData, params, &rows);
    if (!status.ok()) return status;
    if (rows.size() == 0) continue;
    const int64_t expiration = rows.Int(0, 1);
    if (database::IsLive(expiration, now_ms)) (*entries)[i] = Entry{rows.Bytes(0, 0), expiration};
  }
  return Status::Ok();
}

Status PostgresStore::ReadBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                                   int64_t now_ms, std::vector<std::optional<Entry>>* entries) {
  Result<PGconn*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  // Several keys share one snapshot, as MGET is atomic in Redis.
  const bool snapshot = keys.size() > 1;
  Status status;
  if (snapshot) status = Command(*conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  if (status.ok()) status = ReadRows(*conn, space, keys, now_ms, entries);
  if (status.ok() && snapshot) status = Command(*conn, "COMMIT");
  if (!status.ok()) Abort(worker, *conn);
  return status;
}

Status PostgresStore::ApplyWrite(PGconn* conn, Space space, const KeyUpdate& update, int64_t now_ms,
                                 bool* changed) {
  const database::RowWrite write = database::PlanWrite(update, now_ms);
  *changed = false;
  if (write == database::RowWrite::kNone) return Status::Ok();
  const bool lock = space == Space::kLock;
  Params params;
  params.Text(settings_.prefix);
  if (!lock) params.Int2(static_cast<int16_t>(space));
  params.Bytes(update.key);
  Sql sql;
  switch (write) {
    case database::RowWrite::kUpsert:
      sql = lock ? kUpsertLock : kUpsertData;
      params.Bytes(update.value).Int8(update.expire_at_ms);
      break;
    case database::RowWrite::kEraseLive:
      sql = lock ? kEraseLock : kEraseData;
      params.Int8(now_ms);
      break;
    default:
      sql = lock ? kExpireLock : kExpireData;
      params.Int8(now_ms).Int8(update.expire_at_ms);
      break;
  }
  Rows rows;
  Status status = Run(conn, sql, params, &rows);
  *changed = status.ok() && rows.Affected() > 0;
  return status;
}

Status PostgresStore::DecideAndWrite(PGconn* conn, Space space,
                                     const std::vector<std::string>& keys, const UpdateFn& fn,
                                     int64_t now_ms, std::vector<bool>* changed) {
  std::vector<std::optional<Entry>> rows;
  Status status = LockKeys(conn, space, keys);  // before the reads: see the design note
  if (status.ok()) status = ReadRows(conn, space, keys, now_ms, &rows);
  if (!status.ok()) return status;
  std::vector<KeyUpdate> updates = database::Decide(keys, rows, fn, now_ms);
  for (size_t i = 0; i < updates.size(); ++i) {
    bool key_changed = false;
    status = ApplyWrite(conn, space, updates[i], now_ms, &key_changed);
    if (!status.ok()) return status;
    (*changed)[i] = key_changed;
  }
  return Command(conn, "COMMIT");
}

Status PostgresStore::UpdateBlocking(size_t worker, Space space,
                                     const std::vector<std::string>& keys, const UpdateFn& fn,
                                     int64_t now_ms, std::vector<bool>* changed) {
  Result<PGconn*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  changed->assign(keys.size(), false);
  Status status = Command(*conn, "BEGIN ISOLATION LEVEL READ COMMITTED");
  if (status.ok()) status = DecideAndWrite(*conn, space, keys, fn, now_ms, changed);
  if (!status.ok()) {
    changed->assign(keys.size(), false);
    Abort(worker, *conn);
    return status;
  }
  Announce(space, keys, changed);
  return status;
}

Status PostgresStore::WriteBlocking(size_t worker, Space space,
                                    const std::vector<std::string>& keys,
                                    const std::vector<std::string>& values, int64_t expire_at_ms,
                                    int64_t now_ms) {
  Result<PGconn*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  const bool lock = space == Space::kLock;
  Params params;
  params.Text(settings_.prefix);
  if (!lock) params.Int2(static_cast<int16_t>(space));
  params.ByteaArray(keys).ByteaArray(values).Int8(expire_at_ms).Int8Array(LockIds(space, keys));
  Rows rows;
  Status status = Run(*conn, lock ? kWriteLock : kWriteData, params, &rows);
  if (!status.ok()) {
    Abort(worker, *conn);
    return status;
  }
  Announce(space, keys);
  return status;
}

Status PostgresStore::EraseBlocking(size_t worker, Space space,
                                    const std::vector<std::string>& keys, int64_t now_ms,
                                    std::vector<bool>* removed) {
  removed->assign(keys.size(), false);
  Result<PGconn*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  const bool lock = space == Space::kLock;
  Params params;
  params.Text(settings_.prefix);
  if (!lock) params.Int2(static_cast<int16_t>(space));
  params.ByteaArray(keys).Int8Array(LockIds(space, keys));
  Rows rows;
  Status status = Run(*conn, lock ? kEraseManyLock : kEraseManyData, params, &rows);
  if (!status.ok()) {
    Abort(worker, *conn);
    return status;
  }
  absl::flat_hash_map<std::string_view, size_t> index;
  for (size_t i = 0; i < keys.size(); ++i) index.emplace(keys[i], i);
  for (int row = 0; row < rows.size(); ++row) {
    if (!database::IsLive(rows.Int(row, 1), now_ms)) continue;
    const auto it = index.find(rows.Bytes(row, 0));
    if (it != index.end()) (*removed)[it->second] = true;
  }
  Announce(space, keys, removed);
  return Status::Ok();
}

Status PostgresStore::ScanSpaceBlocking(size_t worker, Space space, uint64_t cursor, size_t count,
                                        int64_t now_ms, ScanPage* page) {
  page->next_cursor = 0;
  Result<PGconn*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  const auto limit = static_cast<int64_t>(database::PageSize(count));
  Rows rows;
  Status status = Run(*conn, kScan,
                      Params()
                          .Text(settings_.prefix)
                          .Int2(static_cast<int16_t>(space))
                          .Int8(now_ms)
                          .Bytes(CursorBytes(cursor))
                          .Int8(limit),
                      &rows);
  if (!status.ok()) return status;
  for (int i = 0; i < rows.size(); ++i) page->keys.push_back(rows.Bytes(i, 1));
  // A full page may have more after it; a short one (or the very last hash) ends the iteration.
  if (rows.size() == limit) page->next_cursor = CursorOf(rows.Bytes(limit - 1, 0)) + 1;
  return Status::Ok();
}

Status PostgresStore::CountBlocking(size_t worker, int64_t now_ms, int64_t* count) {
  Result<PGconn*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  Rows rows;
  Status status = Run(*conn, kCount, Params().Text(settings_.prefix).Int2(0).Int8(now_ms), &rows);
  if (status.ok()) *count = rows.Int(0, 0);
  return status;
}

Status PostgresStore::RandomKeyBlocking(size_t worker, int64_t now_ms,
                                        std::optional<std::string>* key) {
  Result<PGconn*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  // The first live key at or after a random hash, else the first live key at all.
  for (uint64_t from : {RandomHashPrefix(), uint64_t{0}}) {
    Rows rows;
    Status status = Run(*conn, kRandomFrom,
                        Params()
                            .Text(settings_.prefix)
                            .Int2(static_cast<int16_t>(Space::kData))
                            .Int8(now_ms)
                            .Bytes(CursorBytes(from)),
                        &rows);
    if (!status.ok()) return status;
    if (rows.size() > 0) {
      *key = rows.Bytes(0, 0);
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status PostgresStore::FlushBlocking(size_t worker) {
  Result<PGconn*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  Status status = Command(*conn, "BEGIN ISOLATION LEVEL READ COMMITTED");
  Rows rows;
  // Exclusive: no update of this store is between its reads and its commit meanwhile.
  if (status.ok()) status = Run(*conn, kLockStore, Params().Int8(store_lock_id_), &rows);
  if (status.ok()) status = Run(*conn, kFlushData, Params().Text(settings_.prefix), &rows);
  if (status.ok()) status = Run(*conn, kFlushLocks, Params().Text(settings_.prefix), &rows);
  if (status.ok()) status = Command(*conn, "COMMIT");
  if (!status.ok()) {
    Abort(worker, *conn);
    return status;
  }
  channel_->Announce(EncodeFlush(settings_.prefix));
  return status;
}

Status PostgresStore::PruneBlocking(size_t worker, int64_t now_ms) {
  Result<PGconn*> conn = Connect(worker);
  if (!conn.ok()) return conn.status();
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(database::kPruneBudgetMs);
  for (Sql sql : {kPruneData, kPruneLocks}) {
    int64_t deleted = database::kPruneBatch;
    while (deleted == database::kPruneBatch && SteadyClock::now() < deadline) {
      Rows rows;
      Status status =
          Run(*conn, sql, Params().Text(settings_.prefix).Int8(now_ms).Int8(database::kPruneBatch),
              &rows);
      if (!status.ok()) {
        Abort(worker, *conn);
        return status;
      }
      deleted = rows.Affected();
    }
  }
  return Status::Ok();
}

}  // namespace arvel::drivers
