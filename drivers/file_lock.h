#pragma once
// Advisory locks for the `file` driver (drivers/file_store.h): a fixed set of stripe files
// ("00.lock" … "ff.lock") in the store's lock directory, each key mapping to one stripe. Every
// thread of every process that opens the same tree locks the same files, so exclusion holds
// between worker threads of one daemon and between daemons on one host alike (flock(2), see the
// design note in file_store.cc). Blocking: worker threads only.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace arvel::drivers {

class StripeLocks {
 public:
  static constexpr uint32_t kStripes = 256;
  enum class Mode { kShared, kExclusive };

  StripeLocks() = default;
  ~StripeLocks() { Release(); }
  StripeLocks(StripeLocks&& other) noexcept : fds_(std::move(other.fds_)) { other.fds_.clear(); }
  StripeLocks& operator=(StripeLocks&&) = delete;
  StripeLocks(const StripeLocks&) = delete;
  StripeLocks& operator=(const StripeLocks&) = delete;

  // Locks each of `stripes` (taken modulo kStripes; duplicates allowed) in ascending order, so two
  // callers wanting overlapping sets never wait on each other in a cycle. Waits as long as it
  // takes. On failure nothing stays locked. REQUIRES: this object holds no lock yet.
  Status Acquire(const std::string& dir, std::vector<uint32_t> stripes, Mode mode);
  // Locks one stripe if nobody holds it in a conflicting mode, without waiting; sets `acquired`
  // to whether it did. REQUIRES: this object holds no lock yet.
  Status TryAcquire(const std::string& dir, uint32_t stripe, Mode mode, bool* acquired);
  // Unlocks everything (also done by the destructor).
  void Release();

 private:
  std::vector<int> fds_;
};

}  // namespace arvel::drivers
