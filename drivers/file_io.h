#pragma once
// The POSIX file operations of the `file` driver (drivers/file_store.h), as Status values whose
// text names the operation, the path and the errno text, e.g.
//   "cannot create directory '/dev/null/x': Not a directory"
// — the reason a client reads after "store 'NAME' unavailable: ". Blocking: worker threads only.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace arvel::drivers::file_io {

// Names of files being written: never a record name, so walks skip them; a crash may leave
// some behind, which the file store removes (FileStore::SweepTempFile).
inline constexpr std::string_view kTempPrefix = ".tmp-";
inline bool IsTempFileName(std::string_view name) { return name.starts_with(kTempPrefix); }

// "cannot WHAT 'PATH': strerror(err)".
Status Failure(std::string_view what, const std::string& path, int err);

// mkdir -p. Each directory it creates must be made durable (its parent fsynced) before a file
// renamed into it can be called durable: done here, or, with `unsynced`, left to the caller,
// who gets the parents to sync appended (a multi-key write syncs each directory once).
Status MakeDirectories(const std::string& path, std::vector<std::string>* unsynced = nullptr);

// The whole content of `path`, or nullopt if there is no such file. Does not follow a symbolic
// link in the last component.
Status ReadFile(const std::string& path, std::optional<std::string>* content);

// Creates a new file in `dir` (named ".tmp-" + `label` + a name unique on the host, never a
// record name), writes `content`, fsyncs and closes it, and sets `temp_path`. Creates `dir` if
// needed (see MakeDirectories for `unsynced`), also when a concurrent flush or prune removes it
// in between. Nothing is left behind on failure.
Status WriteTempFile(const std::string& dir, std::string_view content, std::string* temp_path,
                     std::vector<std::string>* unsynced = nullptr, std::string_view label = {});

// rename(2), then the caller fsyncs the directory.
Status Rename(const std::string& from, const std::string& to);
// unlink(2); a missing file is not an error. Sets `removed` (when given) if it existed.
Status RemoveFile(const std::string& path, bool* removed = nullptr);
// rmdir(2): true when the directory is gone (or was never there), false when it is not empty
// or cannot be removed.
bool RemoveEmptyDirectory(const std::string& path);
// Makes the directory's entries (renames, unlinks) durable. A directory that no longer exists
// (removed by a concurrent flush, with what it held) has nothing left to make durable.
Status SyncDirectory(const std::string& path);

// Names in `dir` that `keep` accepts, sorted; empty when `dir` does not exist.
template <typename Predicate>
Status ListDirectory(const std::string& dir, Predicate keep, std::vector<std::string>* names);
Status ListDirectoryNames(const std::string& dir, std::vector<std::string>* names);

// Age of the file's last modification in ms, or nullopt if it is gone.
std::optional<int64_t> AgeMs(const std::string& path, int64_t now_ms);

template <typename Predicate>
Status ListDirectory(const std::string& dir, Predicate keep, std::vector<std::string>* names) {
  std::vector<std::string> all;
  Status status = ListDirectoryNames(dir, &all);
  if (!status.ok()) return status;
  names->clear();
  for (std::string& name : all) {
    if (keep(std::string_view(name))) names->push_back(std::move(name));
  }
  return Status::Ok();
}

}  // namespace arvel::drivers::file_io
