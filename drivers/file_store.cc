// Design note: the `file` driver.
//
// Layout. A key's file name is the SHA-256 of (prefix, space, key) in hex, under two levels of
// fan-out directories taken from the hash itself (ab/cd/abcd….json), below one directory per
// space, below one directory per prefix. Names have a fixed alphabet, so no key reaches outside
// the tree; spaces live in separate subtrees, so SCAN and DBSIZE never open a lock or a tag
// record. Walks go in hash order, which makes the first 64 bits of a hash a complete scan
// cursor: "resume at the first file whose hash is >= cursor". A file present for a whole
// iteration is visited once (twice only if two hashes share 64 bits), whatever is added or
// removed meanwhile, because files never move.
//
// Crash safety. A write goes to a temp file in the record's own directory, is fsynced, renamed
// over the record (atomic on POSIX), and the directory is fsynced before the write is
// acknowledged, as is the parent of any directory the write created (each directory once per
// update). A crash therefore leaves the old record or the new one, never a torn one, and an
// acknowledged write survives. Multi-key updates write every temp file first and rename only
// when all of them are on disk, so running out of space (ENOSPC) fails the whole update with
// nothing written. A file that does not decode anyway (someone else's bytes, a disk error) is
// treated as absent and removed.
//
// Atomicity between threads and daemons. Each key maps to one of 256 lock stripe files in
// <prefix>/.locks. Update takes the stripes of all its keys exclusively, in ascending order (so
// two updates never wait on each other in a cycle), then reads, runs the UpdateFn, writes and
// unlocks; Read takes them shared, so a multi-key update is never seen half done. The locks are
// flock(2), not fcntl(2) record locks: fcntl locks belong to the process, so two worker threads
// of one daemon would both be granted the same lock, and closing any descriptor of the file
// would drop the locks another thread holds. flock locks belong to the open file description,
// and every acquisition opens the stripe file anew, so two threads of one daemon exclude each
// other exactly as two daemons do. (Linux OFD fcntl locks would do too; flock is simpler.) They
// are advisory and local: one host, not NFS, as SPEC §6 says.
//
// Blind writes (WriteBlocking: SET, PUTMANY…) take the same stripe locks and write the same
// way, but never read the old record: whatever the file held is replaced by the rename.
//
// What is shared. Daemons pointed at the same path and prefix share every record — keys, tags,
// locks, throttle counters — with Update atomic across them. Expired files are removed lazily by
// reads and updates (under the stripe lock, after checking again) and by PruneBlocking, a
// bounded slice of a walk over every space per call. FLUSH removes only the record and temp
// files of this prefix's tree and their directories, never the lock stripes (another daemon may
// be holding one) and never a name this driver did not create.
//
// Temp files left by a crash (kill -9 between create and rename). Every temp file is created,
// then renamed or removed, while its writer holds one stripe exclusively, and its name says
// which (".tmp-3f.<pid>-<n>"). So whoever gets that stripe exclusively and still sees the file
// knows its writer is gone: no live writer, in this daemon or another one on the host, can be
// using it. That is exact, where an age bound would have to guess how long a write may stall,
// and it lets start-up remove what a crash just left. The sweep only tries the lock (a busy
// stripe means a live writer; the next prune looks again), so it never waits. Temp files whose
// name names no stripe (written by older versions) are removed once older than kStaleTempMs.
// Start-up sweeps the whole tree once (listing directories, reading no file); every prune
// sweeps the leaves it visits and the top of the tree (where the open probe is written).
//
// Unavailability. Opening creates the tree and writes a probe file, so a path that cannot be
// created or written fails at start-up with the errno text and the path; any later failure
// (ENOSPC, EROFS, EIO) fails its call the same way, and BlockingStore then fails every call fast
// and retries opening — the probe — until the disk is fixed. An implicit store nobody configured
// is lazy: it touches the disk only once written to.

#include "drivers/file_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "drivers/file_entry.h"
#include "drivers/file_io.h"

namespace arvel::drivers {

namespace {

constexpr std::string_view kLockDirectory = ".locks";
// Leaf directories a scan may list per call, so a tree emptied by deletes still answers fast.
constexpr size_t kScanLeaves = 256;
constexpr size_t kMaxScanCount = 10000;
// Random starting points RANDOMKEY tries, reading at most kRandomKeyFiles files from each,
// before it walks the whole tree.
constexpr int kRandomKeyTries = 8;
constexpr size_t kRandomKeyFiles = 32;

bool IsPast(int64_t expire_at_ms, int64_t now_ms) {
  return expire_at_ms != 0 && expire_at_ms <= now_ms;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "00" … "ff": the name of a fan-out directory, as a number; -1 for any other name.
int FanoutValue(std::string_view name) {
  if (name.size() != 2 || HexDigit(name[0]) < 0 || HexDigit(name[1]) < 0) return -1;
  return HexDigit(name[0]) * 16 + HexDigit(name[1]);
}

bool IsFanoutName(std::string_view name) { return FanoutValue(name) >= 0; }

// Hex digits 4-5 pick a key's lock stripe, independently of the directory its file lands in.
uint32_t StripeOf(std::string_view hash) {
  return static_cast<uint32_t>(HexDigit(hash[4]) * 16 + HexDigit(hash[5]));
}

std::string Join(const std::string& dir, std::string_view name) {
  std::string path = dir;
  path += '/';
  path.append(name);
  return path;
}

// Calls visit(leaf_index, leaf_dir) for every leaf directory of the space tree `space_dir`
// whose index (16 bits: the first four hex digits of its files' hashes) is >= `first_leaf`, in
// order, until visit returns false.
Status ForEachLeaf(const std::string& space_dir, uint32_t first_leaf,
                   const std::function<bool(uint32_t, const std::string&)>& visit) {
  std::vector<std::string> tops;
  Status status = file_io::ListDirectory(space_dir, IsFanoutName, &tops);
  std::vector<std::string> seconds;
  for (size_t t = 0; status.ok() && t < tops.size(); ++t) {
    const uint32_t top = static_cast<uint32_t>(FanoutValue(tops[t]));
    if (top < first_leaf >> 8) continue;
    const std::string top_dir = Join(space_dir, tops[t]);
    status = file_io::ListDirectory(top_dir, IsFanoutName, &seconds);
    for (size_t s = 0; status.ok() && s < seconds.size(); ++s) {
      const uint32_t leaf = top << 8 | static_cast<uint32_t>(FanoutValue(seconds[s]));
      if (leaf < first_leaf) continue;
      if (!visit(leaf, Join(top_dir, seconds[s]))) return Status::Ok();
    }
  }
  return status;
}

// Visits the record files of a space tree in hash order from `cursor`, at most `max_files`
// files and `max_leaves` leaf directories; visit(leaf_dir, name) returns false to stop early.
// Sets `next` to the cursor that resumes the walk (0: the walk reached the end).
Status WalkRecords(const std::string& space_dir, uint64_t cursor, size_t max_files,
                   size_t max_leaves,
                   const std::function<bool(const std::string&, const std::string&)>& visit,
                   uint64_t* next) {
  *next = 0;
  size_t files = 0;
  size_t leaves = 0;
  Status inner;
  std::vector<std::string> names;
  Status status = ForEachLeaf(space_dir, static_cast<uint32_t>(cursor >> 48),
                              [&](uint32_t leaf, const std::string& dir) {
                                if (leaves++ == max_leaves) {
                                  *next = std::max(cursor, uint64_t{leaf} << 48);
                                  return false;
                                }
                                inner = file_io::ListDirectory(dir, IsRecordFileName, &names);
                                for (size_t i = 0; inner.ok() && i < names.size(); ++i) {
                                  const uint64_t position = HashPosition(names[i]);
                                  if (position < cursor) continue;
                                  if (files == max_files || !visit(dir, names[i])) {
                                    *next = position;
                                    return false;
                                  }
                                  ++files;
                                }
                                return inner.ok();
                              });
  return status.ok() ? inner : status;
}

// Applies one decision to the key's state as the UpdateFn left it; returns whether it changed
// anything (the same rules as ArrayStore: an expiry in the past removes the key).
bool ApplyDecision(KeyUpdate& update, std::optional<Entry>& state, int64_t now_ms) {
  switch (update.action) {
    case KeyUpdate::Action::kKeep:
      return false;
    case KeyUpdate::Action::kErase:
      if (!state) return false;
      state.reset();
      return true;
    case KeyUpdate::Action::kExpire:
      if (!state) return false;
      if (IsPast(update.expire_at_ms, now_ms)) {
        state.reset();
      } else {
        state->expire_at_ms = update.expire_at_ms;
      }
      return true;
    case KeyUpdate::Action::kPut:
      if (IsPast(update.expire_at_ms, now_ms)) {
        const bool existed = state.has_value();
        state.reset();
        return existed;
      }
      state = Entry{std::move(update.value), update.expire_at_ms};
      return true;
  }
  return false;
}

// The label of the temp files written under `stripe`: "3f.", so a name reads ".tmp-3f.<pid>-<n>".
std::string TempLabel(uint32_t stripe) {
  constexpr char kHex[] = "0123456789abcdef";
  return {kHex[stripe >> 4 & 0xf], kHex[stripe & 0xf], '.'};
}

// The stripe a temp file's name says its writer held; nullopt for names without one.
std::optional<uint32_t> StripeOfTempName(std::string_view name) {
  if (!file_io::IsTempFileName(name)) return std::nullopt;
  name.remove_prefix(file_io::kTempPrefix.size());
  if (name.size() < 3 || name[2] != '.') return std::nullopt;
  const int value = FanoutValue(name.substr(0, 2));
  if (value < 0) return std::nullopt;
  return static_cast<uint32_t>(value);
}

uint64_t RandomCursor() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

}  // namespace

// One distinct key of a Read or Update: where its file is, and what it holds.
struct FileStore::Slot {
  std::optional<std::string> key;  // nullopt: found by a walk, judged by its name's hash
  std::string hash;
  std::string dir;   // the leaf directory
  std::string path;  // the record file
  uint32_t stripe = 0;
  std::optional<Entry> live;  // the record, if present, ours and not expired
  bool stale = false;         // a file is there but it is expired or does not decode
  // Update only: the state the decisions lead to, and whether they changed anything.
  std::optional<Entry> final_state;
  bool dirty = false;
};

FileStore::FileStore(std::string name, uv_loop_t* loop, FileStoreOptions options)
    : BlockingStore(std::move(name), "file", loop, std::max<size_t>(options.threads, 1)),
      lazy_(options.lazy),
      prefix_(options.prefix),
      path_(options.path.empty() ? "." : options.path),
      root_(Join(path_, PrefixDirectory(options.prefix))),
      lock_dir_(Join(root_, kLockDirectory)) {}

FileStore::~FileStore() = default;

std::string FileStore::PrefixDirectory(std::string_view prefix) {
  constexpr size_t kMaxPlain = 64;
  const bool plain = !prefix.empty() && prefix.size() <= kMaxPlain &&
                     std::all_of(prefix.begin(), prefix.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '_' || c == '-';
                     });
  if (plain) return std::string(prefix);
  // "~" never appears in a plain name, so the two forms cannot collide.
  return "~" + FileRecordHash(prefix, Space::kData, "").substr(0, 32);
}

std::string FileStore::SpaceDir(Space space) const {
  return Join(root_, SpaceDirectoryName(space));
}

FileStore::Slot FileStore::MakeSlot(Space space, const std::string& key) const {
  Slot slot;
  slot.key = key;
  slot.hash = FileRecordHash(prefix_, space, key);
  slot.dir = SpaceDir(space) + "/" + slot.hash.substr(0, 2) + "/" + slot.hash.substr(2, 2);
  slot.path = slot.dir + "/" + slot.hash + ".json";
  slot.stripe = StripeOf(slot.hash);
  return slot;
}

FileStore::Slot FileStore::SlotOfFile(const std::string& leaf_dir, const std::string& name) {
  Slot slot;
  slot.hash = name.substr(0, name.find('.'));
  slot.dir = leaf_dir;
  slot.path = Join(leaf_dir, name);
  slot.stripe = StripeOf(slot.hash);
  return slot;
}

Status FileStore::Load(Space space, int64_t now_ms, Slot* slot) const {
  slot->live.reset();
  slot->stale = false;
  std::optional<std::string> content;
  Status status = ReadRecordFile(slot->path, &content);
  if (!status.ok() || !content) return status;
  std::optional<FileRecord> record = DecodeFileRecord(*content);
  // A record naming another key or space sits where it cannot belong: garbage as well.
  const bool belongs = record && record->space == space &&
                       (slot->key ? record->key == *slot->key
                                  : FileRecordHash(prefix_, space, record->key) == slot->hash);
  if (!belongs || IsPast(record->entry.expire_at_ms, now_ms)) {
    slot->stale = true;
    return Status::Ok();
  }
  slot->live = std::move(record->entry);
  return Status::Ok();
}

Status FileStore::RemoveIfStale(Space space, int64_t now_ms, const Slot& slot) const {
  // Another thread or daemon may have written a fresh record since we looked: look again under
  // the lock before removing anything.
  StripeLocks locks;
  Status status = locks.Acquire(lock_dir_, {slot.stripe}, StripeLocks::Mode::kExclusive);
  Slot again = slot;
  if (status.ok()) status = Load(space, now_ms, &again);
  if (!status.ok() || !again.stale) return status;
  // No directory sync: should the removal be lost in a crash, the file is still stale.
  return file_io::RemoveFile(slot.path);
}

Status FileStore::OpenBackend(size_t worker) {
  if (lazy_ && !wanted_.load()) return Status::Ok();
  return PrepareTree();
}

bool FileStore::HasTree() const {
  struct stat st {};
  return tree_ready_.load() || (stat(root_.c_str(), &st) == 0 && S_ISDIR(st.st_mode));
}

Status FileStore::PrepareTree() {
  // The configured path first, so an error names it rather than something below it.
  Status status = file_io::MakeDirectories(path_);
  if (status.ok()) status = file_io::MakeDirectories(lock_dir_);
  for (int s = 0; status.ok() && s < kSpaceCount; ++s) {
    status = file_io::MakeDirectories(SpaceDir(static_cast<Space>(s)));
  }
  // Creating directories can succeed on a full or read-only-for-files disk; writing a probe
  // proves what every write will need. Like every temp file, it is written under its stripe.
  StripeLocks locks;
  if (status.ok()) status = locks.Acquire(lock_dir_, {0}, StripeLocks::Mode::kExclusive);
  std::string probe;
  if (status.ok()) status = file_io::WriteTempFile(root_, "probe", &probe, nullptr, TempLabel(0));
  if (status.ok()) status = file_io::RemoveFile(probe);
  locks.Release();
  // Once per store (the first worker to get here): what a crash left behind.
  if (status.ok() && !swept_.exchange(true)) {
    status = SweepAllTempFiles(NowMs());
    if (!status.ok()) swept_ = false;
  }
  if (status.ok()) tree_ready_ = true;
  return status;
}

Status FileStore::SweepTempFile(const std::string& dir, const std::string& name,
                                int64_t now_ms) const {
  const std::string path = Join(dir, name);
  std::optional<uint32_t> stripe = StripeOfTempName(name);
  if (!stripe) {
    std::optional<int64_t> age = file_io::AgeMs(path, now_ms);
    return age && *age > kStaleTempMs ? file_io::RemoveFile(path) : Status::Ok();
  }
  StripeLocks locks;
  bool acquired = false;
  Status status = locks.TryAcquire(lock_dir_, *stripe, StripeLocks::Mode::kExclusive, &acquired);
  // Under the lock, a file still there has no writer (it is gone if its writer just finished).
  if (status.ok() && acquired) status = file_io::RemoveFile(path);
  return status;
}

Status FileStore::SweepTempFiles(const std::string& dir, int64_t now_ms) const {
  std::vector<std::string> names;
  Status status = file_io::ListDirectory(dir, file_io::IsTempFileName, &names);
  for (size_t i = 0; status.ok() && i < names.size(); ++i) {
    status = SweepTempFile(dir, names[i], now_ms);
  }
  return status;
}

Status FileStore::SweepAllTempFiles(int64_t now_ms) const {
  Status status = SweepTempFiles(root_, now_ms);
  for (int s = 0; status.ok() && s < kSpaceCount; ++s) {
    Status inner;
    status = ForEachLeaf(SpaceDir(static_cast<Space>(s)), 0, [&](uint32_t, const std::string& dir) {
      inner = SweepTempFiles(dir, now_ms);
      return inner.ok();
    });
    if (status.ok()) status = inner;
  }
  return status;
}

Status FileStore::ReadBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                               int64_t now_ms, std::vector<std::optional<Entry>>* entries) {
  entries->assign(keys.size(), std::nullopt);
  if (!HasTree()) return Status::Ok();
  std::vector<size_t> slot_of;
  std::vector<Slot> slots = DistinctSlots(space, keys, &slot_of);
  StripeLocks locks;
  Status status = LockAndLoad(space, now_ms, StripeLocks::Mode::kShared, slots, &locks);
  locks.Release();
  for (size_t i = 0; status.ok() && i < slots.size(); ++i) {
    if (slots[i].stale) status = RemoveIfStale(space, now_ms, slots[i]);
  }
  if (!status.ok()) return status;
  for (size_t i = 0; i < keys.size(); ++i) (*entries)[i] = slots[slot_of[i]].live;
  return Status::Ok();
}

// The write half of an Update: the decided records go to synced temp files first, and only
// when every one of them is on disk are they renamed into place and the removals done, so a
// failure before that point (ENOSPC) leaves every key as it was.
class FileStore::Transaction {
 public:
  ~Transaction() {
    for (const auto& [temp, target] : renames_) {
      if (!temp.empty()) (void)file_io::RemoveFile(temp);
    }
  }

  // Stages the slot's final state (a no-op for a clean slot with nothing stale to remove).
  Status Stage(Space space, Slot& slot) {
    if (!slot.dirty && !(slot.stale && !slot.final_state)) return Status::Ok();
    if (!slot.final_state) {
      removals_.push_back(&slot);
      return Status::Ok();
    }
    FileRecord record{space, *slot.key, std::move(*slot.final_state)};
    std::string temp;
    Status status = file_io::WriteTempFile(slot.dir, EncodeFileRecord(record), &temp, &dirs_,
                                           TempLabel(slot.stripe));
    if (status.ok()) renames_.emplace_back(std::move(temp), &slot);
    return status;
  }

  // Renames and removes, then syncs every directory that changed, each once.
  Status Commit() {
    for (auto& [temp, slot] : renames_) {
      Status status = file_io::Rename(temp, slot->path);
      if (!status.ok()) return status;
      temp.clear();
      dirs_.push_back(slot->dir);
    }
    for (Slot* slot : removals_) {
      bool removed = false;
      Status status = file_io::RemoveFile(slot->path, &removed);
      if (!status.ok()) return status;
      if (removed) dirs_.push_back(slot->dir);
    }
    std::sort(dirs_.begin(), dirs_.end());
    dirs_.erase(std::unique(dirs_.begin(), dirs_.end()), dirs_.end());
    for (const std::string& dir : dirs_) {
      Status status = file_io::SyncDirectory(dir);
      if (!status.ok()) return status;
    }
    return Status::Ok();
  }

 private:
  std::vector<std::pair<std::string, Slot*>> renames_;  // temp file ("" once renamed), slot
  std::vector<Slot*> removals_;
  std::vector<std::string> dirs_;  // directories whose entries changed, to sync at the end
};

std::vector<FileStore::Slot> FileStore::DistinctSlots(Space space,
                                                      const std::vector<std::string>& keys,
                                                      std::vector<size_t>* slot_of) const {
  std::vector<Slot> slots;
  absl::flat_hash_map<std::string_view, size_t> index;
  slot_of->resize(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    auto [it, added] = index.try_emplace(keys[i], slots.size());
    (*slot_of)[i] = it->second;
    if (added) slots.push_back(MakeSlot(space, keys[i]));
  }
  return slots;
}

Status FileStore::LockAndLoad(Space space, int64_t now_ms, StripeLocks::Mode mode,
                              std::vector<Slot>& slots, StripeLocks* locks) const {
  std::vector<uint32_t> stripes;
  for (const Slot& slot : slots) stripes.push_back(slot.stripe);
  Status status = locks->Acquire(lock_dir_, std::move(stripes), mode);
  for (size_t i = 0; status.ok() && i < slots.size(); ++i) status = Load(space, now_ms, &slots[i]);
  return status;
}

Status FileStore::ReadRecordFile(const std::string& path,
                                 std::optional<std::string>* content) const {
  records_read_.fetch_add(1, std::memory_order_relaxed);
  return file_io::ReadFile(path, content);
}

Status FileStore::PrepareForWrite() {
  if (tree_ready_.load()) return Status::Ok();
  wanted_ = true;  // from now on, reopening after a failure means preparing the tree
  return PrepareTree();
}

Status FileStore::WriteBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                                const std::vector<std::string>& values, int64_t expire_at_ms,
                                int64_t now_ms) {
  Status status = PrepareForWrite();
  if (!status.ok()) return status;
  std::vector<size_t> slot_of;
  std::vector<Slot> slots = DistinctSlots(space, keys, &slot_of);
  std::vector<uint32_t> stripes;
  for (const Slot& slot : slots) stripes.push_back(slot.stripe);
  StripeLocks locks;
  status = locks.Acquire(lock_dir_, std::move(stripes), StripeLocks::Mode::kExclusive);
  if (!status.ok()) return status;
  // Whatever the files held (a stale record, garbage) is replaced by the rename.
  for (size_t i = 0; i < keys.size(); ++i) {
    Slot& slot = slots[slot_of[i]];
    slot.final_state = Entry{values[i], expire_at_ms};
    slot.dirty = true;
  }
  Transaction transaction;
  for (size_t i = 0; status.ok() && i < slots.size(); ++i) {
    status = transaction.Stage(space, slots[i]);
  }
  return status.ok() ? transaction.Commit() : status;
}

Status FileStore::UpdateBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                                 const UpdateFn& fn, int64_t now_ms, std::vector<bool>* changed) {
  Status prepared = PrepareForWrite();
  if (!prepared.ok()) return prepared;
  // One slot per distinct key; a key named twice gets both decisions, in order.
  std::vector<size_t> slot_of;
  std::vector<Slot> slots = DistinctSlots(space, keys, &slot_of);
  StripeLocks locks;
  Status status = LockAndLoad(space, now_ms, StripeLocks::Mode::kExclusive, slots, &locks);
  if (!status.ok()) return status;

  std::vector<KeyUpdate> updates(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const Slot& slot = slots[slot_of[i]];
    updates[i].key = keys[i];
    updates[i].current = slot.live ? &*slot.live : nullptr;
  }
  fn(std::span<KeyUpdate>(updates), now_ms);

  for (Slot& slot : slots) slot.final_state = slot.live;
  changed->assign(keys.size(), false);
  for (size_t i = 0; i < keys.size(); ++i) {
    Slot& slot = slots[slot_of[i]];
    if (ApplyDecision(updates[i], slot.final_state, now_ms)) (*changed)[i] = slot.dirty = true;
  }
  Transaction transaction;
  for (size_t i = 0; status.ok() && i < slots.size(); ++i) {
    status = transaction.Stage(space, slots[i]);
  }
  if (status.ok()) status = transaction.Commit();
  if (!status.ok()) changed->assign(keys.size(), false);
  return status;
}

Status FileStore::ReadLiveRecord(Space space, const std::string& path, int64_t now_ms,
                                 std::optional<FileRecord>* record) const {
  record->reset();
  std::optional<std::string> content;
  Status status = ReadRecordFile(path, &content);
  if (!status.ok() || !content) return status;
  *record = DecodeFileRecord(*content);
  if (*record && ((*record)->space != space || IsPast((*record)->entry.expire_at_ms, now_ms))) {
    record->reset();
  }
  return Status::Ok();
}

Status FileStore::ScanRecords(Space space, uint64_t cursor, size_t count, size_t max_keys,
                              int64_t now_ms, ScanPage* page) const {
  page->keys.clear();
  page->next_cursor = 0;
  if (!HasTree()) return Status::Ok();
  Status read_status;
  auto visit = [&](const std::string& dir, const std::string& name) {
    std::optional<FileRecord> record;
    read_status = ReadLiveRecord(space, Join(dir, name), now_ms, &record);
    if (record) page->keys.push_back(std::move(record->key));
    return read_status.ok() && page->keys.size() < max_keys;
  };
  Status status =
      WalkRecords(SpaceDir(space), cursor, count, kScanLeaves, visit, &page->next_cursor);
  return status.ok() ? read_status : status;
}

Status FileStore::ScanSpaceBlocking(size_t worker, Space space, uint64_t cursor, size_t count,
                                    int64_t now_ms, ScanPage* page) {
  const size_t files = std::clamp<size_t>(count, 1, kMaxScanCount);
  return ScanRecords(space, cursor, files, std::numeric_limits<size_t>::max(), now_ms, page);
}

Status FileStore::CountBlocking(size_t worker, int64_t now_ms, int64_t* count) {
  *count = 0;
  if (!HasTree()) return Status::Ok();
  uint64_t next = 0;
  constexpr size_t kAll = std::numeric_limits<size_t>::max();
  return WalkRecords(
      SpaceDir(Space::kData), 0, kAll, kAll,
      [count](const std::string&, const std::string&) {
        ++*count;
        return true;
      },
      &next);
}

Status FileStore::RandomKeyBlocking(size_t worker, int64_t now_ms,
                                    std::optional<std::string>* key) {
  key->reset();
  // The first live key after a random point of the hash space, a few times; then the first
  // one at all, so a stretch of expired files never hides a live key.
  ScanPage page;
  for (int attempt = 0; attempt <= kRandomKeyTries; ++attempt) {
    const bool last = attempt == kRandomKeyTries;
    const uint64_t start = last ? 0 : RandomCursor();
    const size_t files = last ? std::numeric_limits<size_t>::max() : kRandomKeyFiles;
    Status status = ScanRecords(Space::kData, start, files, 1, now_ms, &page);
    if (!status.ok()) return status;
    if (!page.keys.empty()) {
      *key = std::move(page.keys.front());
      return Status::Ok();
    }
  }
  return Status::Ok();
}

// Removes what this driver put in one leaf directory, then the directory if it is empty.
Status FileStore::ClearLeaf(const std::string& leaf_dir) const {
  std::vector<std::string> names;
  Status status = file_io::ListDirectoryNames(leaf_dir, &names);
  bool kept = false;
  for (size_t i = 0; status.ok() && i < names.size(); ++i) {
    const bool ours = IsRecordFileName(names[i]) || file_io::IsTempFileName(names[i]);
    if (ours) status = file_io::RemoveFile(Join(leaf_dir, names[i]));
    kept = kept || !ours;
  }
  if (!status.ok()) return status;
  // A concurrent writer may have put a file here meanwhile: then the directory stays, synced
  // so the removals above are durable.
  if (kept || !file_io::RemoveEmptyDirectory(leaf_dir)) return file_io::SyncDirectory(leaf_dir);
  return Status::Ok();
}

Status FileStore::FlushBlocking(size_t worker) {
  if (!HasTree()) return Status::Ok();
  for (int s = 0; s < kSpaceCount; ++s) {
    const std::string space_dir = SpaceDir(static_cast<Space>(s));
    std::vector<std::string> tops;
    Status status = file_io::ListDirectory(space_dir, IsFanoutName, &tops);
    for (size_t t = 0; status.ok() && t < tops.size(); ++t) {
      const std::string top_dir = Join(space_dir, tops[t]);
      std::vector<std::string> seconds;
      status = file_io::ListDirectory(top_dir, IsFanoutName, &seconds);
      for (size_t i = 0; status.ok() && i < seconds.size(); ++i) {
        status = ClearLeaf(Join(top_dir, seconds[i]));
      }
      if (status.ok() && !file_io::RemoveEmptyDirectory(top_dir)) {
        status = file_io::SyncDirectory(top_dir);
      }
    }
    if (status.ok()) status = file_io::SyncDirectory(space_dir);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status FileStore::PruneLeaf(Space space, const std::string& leaf_dir, int64_t now_ms,
                            size_t* files_read) const {
  std::vector<std::string> names;
  Status status = file_io::ListDirectoryNames(leaf_dir, &names);
  for (size_t i = 0; status.ok() && i < names.size(); ++i) {
    const std::string& name = names[i];
    if (file_io::IsTempFileName(name)) {
      status = SweepTempFile(leaf_dir, name, now_ms);
      continue;
    }
    if (!IsRecordFileName(name)) continue;
    ++*files_read;
    Slot slot = SlotOfFile(leaf_dir, name);
    status = Load(space, now_ms, &slot);
    if (status.ok() && slot.stale) status = RemoveIfStale(space, now_ms, slot);
  }
  // Empty leaves go too (a writer racing this recreates its directory).
  if (status.ok() && names.empty()) (void)file_io::RemoveEmptyDirectory(leaf_dir);
  return status;
}

Status FileStore::PruneBlocking(size_t worker, int64_t now_ms) {
  if (!HasTree()) return Status::Ok();  // never create a tree to prune it
  std::lock_guard lock(prune_mu_);
  if (Status status = SweepTempFiles(root_, now_ms); !status.ok()) return status;
  size_t files_read = 0;
  size_t leaves = 0;
  // Goes on to the next space while the budget lasts, but visits each space once per call.
  for (int spaces = 0; spaces < kSpaceCount; ++spaces) {
    const Space space = static_cast<Space>(prune_space_);
    bool finished = true;
    Status inner;
    Status status =
        ForEachLeaf(SpaceDir(space), prune_leaf_, [&](uint32_t leaf, const std::string& dir) {
          if (files_read >= kPruneFiles || leaves == kPruneLeaves) {
            prune_leaf_ = leaf;
            finished = false;
            return false;
          }
          ++leaves;
          inner = PruneLeaf(space, dir, now_ms, &files_read);
          return inner.ok();
        });
    if (status.ok()) status = inner;
    if (!status.ok() || !finished) return status;
    prune_leaf_ = 0;
    prune_space_ = (prune_space_ + 1) % kSpaceCount;
  }
  return Status::Ok();
}

}  // namespace arvel::drivers
