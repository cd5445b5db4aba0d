#pragma once
// Hands freed heap memory back to the system after a burst. glibc's malloc keeps the pages a
// burst of connections or of expiring keys freed — the daemon's RSS stays at its peak — where
// Redis's jemalloc returns them. Once a second the cron asks malloc how much it holds free
// (mallinfo2's fordblks); from kMinFree on, it asks malloc to return those pages (malloc_trim).
// One trim does not always return every page of a burst, so trims go on each second while they
// return something; once one returns less than kMinReturned (a heap too fragmented to shrink),
// the next waits twice as long, up to kMaxIntervalTicks. Loop thread only.

#include <cstdint>

namespace arvel::server {

class HeapTrimmer {
 public:
  static constexpr uint64_t kMinFree = 8u << 20;
  static constexpr uint64_t kMinReturned = 1u << 20;
  static constexpr int kMaxIntervalTicks = 64;

  // Called once a second. Returns whether it trimmed.
  bool Tick();

 private:
  int interval_ = 1;   // ticks between trims
  int countdown_ = 1;  // ticks until the next trim may run
};

}  // namespace arvel::server
