#pragma once
// FileWatch: tells the loop thread, promptly and coalesced, that some files of one directory were
// written — by this process or by any other on the host. The SQLite store watches its database's
// WAL so to learn that another daemon committed (drivers/sqlite_store.cc). Linux inotify through
// libuv's uv_fs_event, on the directory rather than the files, so files may come and go; events
// for other names are ignored.
//
// Coalescing: the first write after a quiet spell is reported at once; writes during the next
// `interval_ms` are reported once when it ends, and so on, so a steady stream of writes costs at
// most one report per interval. Every burst also gets one report `interval_ms` after it began,
// even without further writes: the event can precede the moment the change becomes visible
// (SQLite publishes a commit in its shared-memory index only after writing it to the WAL), and
// that second look catches a change the first one was too early for.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace arvel::drivers {

class FileWatch {
 public:
  // `changed` runs on the loop thread for each report.
  FileWatch(uv_loop_t* loop, int64_t interval_ms, std::function<void()> changed);
  // Releases the handles (closed by the loop on its next turn). REQUIRES: the loop thread; the
  // loop runs again before it is closed.
  ~FileWatch();
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  // Watches the files `names` (plain names, no '/') in directory `dir`. An error when the
  // directory cannot be watched (missing, unreadable, the inotify watch limit reached); the
  // caller may try again later. Loop thread; a second successful Start replaces the first.
  Status Start(const std::string& dir, std::vector<std::string> names);
  // Stops watching; no report follows, not even one already due. Loop thread.
  void Stop();
  bool watching() const;

  // Reports made so far (tests).
  uint64_t reports() const;

 private:
  struct Handles;
  Handles* handles_;  // owned; freed once libuv has closed both handles
};

}  // namespace arvel::drivers
