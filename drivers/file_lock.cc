#include "drivers/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "drivers/file_io.h"

namespace arvel::drivers {

namespace {

std::string StripePath(const std::string& dir, uint32_t stripe) {
  char name[16];
  std::snprintf(name, sizeof(name), "/%02x.lock", stripe);
  return dir + name;
}

// Opens (creating if needed) the stripe file; recreates the directory if it went missing.
Status OpenStripe(const std::string& dir, uint32_t stripe, int* fd) {
  const std::string path = StripePath(dir, stripe);
  for (int attempt = 0; attempt < 2; ++attempt) {
    *fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (*fd >= 0) return Status::Ok();
    if (errno != ENOENT || attempt > 0) break;
    Status made = file_io::MakeDirectories(dir);
    if (!made.ok()) return made;
  }
  return file_io::Failure("open lock file", path, errno);
}

// Waits for the lock, or with `wait` false gives up at once: sets `*busy` when someone holds it.
Status Lock(int fd, StripeLocks::Mode mode, const std::string& path, bool wait = true,
            bool* busy = nullptr) {
  const int operation =
      (mode == StripeLocks::Mode::kExclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  while (flock(fd, operation) != 0) {
    if (!wait && errno == EWOULDBLOCK) {
      *busy = true;
      return Status::Ok();
    }
    if (errno != EINTR) return file_io::Failure("lock", path, errno);
  }
  return Status::Ok();
}

}  // namespace

Status StripeLocks::Acquire(const std::string& dir, std::vector<uint32_t> stripes, Mode mode) {
  for (uint32_t& stripe : stripes) stripe %= kStripes;
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  for (uint32_t stripe : stripes) {
    // A second open of a stripe this thread already holds would wait on itself (flock locks
    // belong to the open file description), hence the deduplication above.
    int fd = -1;
    Status status = OpenStripe(dir, stripe, &fd);
    if (status.ok()) {
      status = Lock(fd, mode, StripePath(dir, stripe));
      if (!status.ok()) close(fd);
    }
    if (!status.ok()) {
      Release();
      return status;
    }
    fds_.push_back(fd);
  }
  return Status::Ok();
}

Status StripeLocks::TryAcquire(const std::string& dir, uint32_t stripe, Mode mode, bool* acquired) {
  *acquired = false;
  stripe %= kStripes;
  int fd = -1;
  Status status = OpenStripe(dir, stripe, &fd);
  if (!status.ok()) return status;
  bool busy = false;
  status = Lock(fd, mode, StripePath(dir, stripe), /*wait=*/false, &busy);
  if (!status.ok() || busy) {
    close(fd);
    return status;
  }
  fds_.push_back(fd);
  *acquired = true;
  return Status::Ok();
}

void StripeLocks::Release() {
  // Closing the only descriptor of an open file description drops its flock.
  for (int fd : fds_) close(fd);
  fds_.clear();
}

}  // namespace arvel::drivers
