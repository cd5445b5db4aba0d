#include "server/heap_trimmer.h"

#include <malloc.h>

#include <algorithm>

#include "server/info.h"

namespace arvel::server {

bool HeapTrimmer::Tick() {
  if (mallinfo2().fordblks < kMinFree) {
    interval_ = countdown_ = 1;
    return false;
  }
  if (--countdown_ > 0) return false;
  const uint64_t before = ResidentBytes();
  malloc_trim(0);
  const uint64_t after = ResidentBytes();
  const bool returned = before > after && before - after >= kMinReturned;
  interval_ = returned ? 1 : std::min(interval_ * 2, kMaxIntervalTicks);
  countdown_ = interval_;
  return true;
}

}  // namespace arvel::server
