#pragma once
// FileStore: the `file` driver (SPEC §6). One JSON file per key (drivers/file_entry.h) under
//
//   <path>/<prefix>/<space>/<h0h1>/<h2h3>/<hash>.json     records, hash = SHA-256 hex
//   <path>/<prefix>/.locks/00.lock … ff.lock               lock stripes (drivers/file_lock.h)
//
// Shared between daemons on one host: every daemon (and every worker thread of one daemon) that
// points at the same path and prefix sees the same keys, and Update is atomic across all of
// them. Writes are durable and atomic before they are acknowledged. See the design note in
// file_store.cc.
//
// Runs on BlockingStore: every method below runs on one of the store's worker threads.

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "drivers/blocking_store.h"
#include "drivers/file_entry.h"
#include "drivers/file_lock.h"

namespace arvel::drivers {

struct FileStoreOptions {
  std::string path = "storage/cache";  // the configured `path`; created if missing
  std::string prefix;                  // names this store's tree under `path`
  size_t threads = 4;                  // worker threads (file system calls block)
  // Create nothing until the first write (an implicit store nobody configured must not litter
  // the working directory); until then reads miss and opening always succeeds.
  bool lazy = false;
};

class FileStore : public BlockingStore {
 public:
  FileStore(std::string name, uv_loop_t* loop, FileStoreOptions options);
  ~FileStore() override;

  // Record files read so far (by reads, updates, scans and pruning), for tests. Any thread.
  uint64_t records_read() const { return records_read_.load(); }

  // The directory holding every file of this store: path/<prefix as a directory name>.
  const std::string& root() const { return root_; }
  // The directory name of `prefix` under `path`: the prefix itself when it is made of
  // [A-Za-z0-9_-] (readable trees), else "~" and the start of its SHA-256 (no path traversal).
  static std::string PrefixDirectory(std::string_view prefix);

  // Work a PruneBlocking call does at most: record files read, leaf directories listed.
  static constexpr size_t kPruneFiles = 1000;
  static constexpr size_t kPruneLeaves = 1024;
  // A temp file whose name names no stripe (older versions) is left over from a crash once
  // this old (live writers keep them for milliseconds). See the design note in file_store.cc.
  static constexpr int64_t kStaleTempMs = 10 * 60 * 1000;

 protected:
  // Creates the tree and proves it writable (creates, syncs and removes a probe file); a lazy
  // store does that on its first write instead.
  Status OpenBackend(size_t worker) override;
  // Locks the keys' stripes shared, reads; then removes expired or unreadable files it met.
  Status ReadBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                      int64_t now_ms, std::vector<std::optional<Entry>>* entries) override;
  // Locks the keys' stripes exclusively, reads, decides, writes every new record to a synced
  // temp file, renames them into place, syncs their directories, unlocks.
  Status UpdateBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                        const UpdateFn& fn, int64_t now_ms, std::vector<bool>* changed) override;
  // Locks the keys' stripes exclusively and writes the new records as UpdateBlocking does,
  // without reading the old ones.
  Status WriteBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                       const std::vector<std::string>& values, int64_t expire_at_ms,
                       int64_t now_ms) override;
  // The cursor is the first 64 bits of the hash of the next file to visit.
  bool CanScanSpace(Space space) const override { return true; }
  Status ScanSpaceBlocking(size_t worker, Space space, uint64_t cursor, size_t count,
                           int64_t now_ms, ScanPage* page) override;
  // Counts record files without reading them: expired ones not yet pruned are included.
  Status CountBlocking(size_t worker, int64_t now_ms, int64_t* count) override;
  Status RandomKeyBlocking(size_t worker, int64_t now_ms, std::optional<std::string>* key) override;
  // Removes this store's record and temp files and their directories; keeps the lock stripes
  // (another process may hold one) and anything that is not ours.
  Status FlushBlocking(size_t worker) override;
  // Goes on where the previous call stopped, through every space in turn: at most kPruneFiles
  // files read (a few milliseconds) and kPruneLeaves leaf directories listed per call.
  Status PruneBlocking(size_t worker, int64_t now_ms) override;

 private:
  struct Slot;
  class Transaction;

  // Creates path, the tree and the lock stripes' directory; writes and removes a probe file;
  // the first time, removes the temp files crashed writers left in the tree.
  Status PrepareTree();
  // Removes the temp file `name` in `dir` if no live writer can be using it: its stripe is free
  // (or, for a name without a stripe, it is older than kStaleTempMs). Never waits for a lock.
  Status SweepTempFile(const std::string& dir, const std::string& name, int64_t now_ms) const;
  // SweepTempFile for every temp file directly in `dir`.
  Status SweepTempFiles(const std::string& dir, int64_t now_ms) const;
  // SweepTempFiles for the top of the tree and every leaf directory of every space.
  Status SweepAllTempFiles(int64_t now_ms) const;
  // Whether there may be records to read: the tree was prepared, or exists (another daemon).
  bool HasTree() const;
  std::string SpaceDir(Space space) const;
  Slot MakeSlot(Space space, const std::string& key) const;
  // One slot per distinct key of `keys`; slot_of[i] is the index of keys[i]'s slot.
  std::vector<Slot> DistinctSlots(Space space, const std::vector<std::string>& keys,
                                  std::vector<size_t>* slot_of) const;
  // Locks the slots' stripes in `mode`, then loads each slot.
  Status LockAndLoad(Space space, int64_t now_ms, StripeLocks::Mode mode, std::vector<Slot>& slots,
                     StripeLocks* locks) const;
  // The slot of a file met by a walk (its key unknown until read).
  static Slot SlotOfFile(const std::string& leaf_dir, const std::string& name);
  // Reads the slot's file into slot->live / slot->stale.
  Status Load(Space space, int64_t now_ms, Slot* slot) const;
  // Removes the slot's file if, under its stripe lock, it is still expired or unreadable.
  Status RemoveIfStale(Space space, int64_t now_ms, const Slot& slot) const;
  // The record in the file at `path` if it is one of `space` and live; nullopt otherwise.
  Status ReadLiveRecord(Space space, const std::string& path, int64_t now_ms,
                        std::optional<FileRecord>* record) const;
  // file_io::ReadFile, counted.
  Status ReadRecordFile(const std::string& path, std::optional<std::string>* content) const;
  // Creates the tree on a lazy store's first write.
  Status PrepareForWrite();
  // Keys of live records, reading at most `files` files from `cursor`, stopping early once
  // `max_keys` were found.
  Status ScanRecords(Space space, uint64_t cursor, size_t files, size_t max_keys, int64_t now_ms,
                     ScanPage* page) const;
  Status ClearLeaf(const std::string& leaf_dir) const;
  Status PruneLeaf(Space space, const std::string& leaf_dir, int64_t now_ms,
                   size_t* files_read) const;

  const bool lazy_;
  const std::string prefix_;
  const std::string path_;
  const std::string root_;
  const std::string lock_dir_;

  std::atomic<bool> tree_ready_{false};  // PrepareTree succeeded once
  std::atomic<bool> wanted_{false};      // a lazy store was written to: open it for real
  std::atomic<bool> swept_{false};       // SweepAllTempFiles was started once
  mutable std::atomic<uint64_t> records_read_{0};

  std::mutex prune_mu_;      // PruneBlocking calls never overlap; this orders their state
  size_t prune_space_ = 0;   // GUARDED_BY(prune_mu_)
  uint32_t prune_leaf_ = 0;  // GUARDED_BY(prune_mu_): next leaf directory to visit
};

}  // namespace arvel::drivers
