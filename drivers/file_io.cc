#include "drivers/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace arvel::drivers::file_io {

namespace {

// Temp names differ between processes (pid) and between calls (counter); O_EXCL settles the
// rest.
std::atomic<uint64_t> temp_counter{0};

// Closes a descriptor on every path out of a function.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error close(2) may carry (deferred write errors on some file
  // systems).
  int Close() {
    int rc = close(fd_);
    fd_ = -1;
    return rc == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

std::string Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

int WriteAll(int fd, std::string_view content) {
  while (!content.empty()) {
    ssize_t n = write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    content.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

int ReadAll(int fd, std::string* out) {
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return 0;
    out->append(buffer, static_cast<size_t>(n));
  }
}

int Fsync(int fd) {
  while (fsync(fd) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

// Creates one directory: 0 when it exists now (`created` tells whether we made it), else the
// errno.
int MakeDirectory(const std::string& path, bool* created) {
  *created = false;
  if (mkdir(path.c_str(), 0755) == 0) {
    *created = true;
    return 0;
  }
  int err = errno;
  struct stat st {};
  if (err == EEXIST) return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
  return err;
}

}  // namespace

Status Failure(std::string_view what, const std::string& path, int err) {
  char buffer[256];
  // GNU strerror_r returns the text (possibly not in `buffer`); thread-safe unlike strerror.
  const char* text = strerror_r(err, buffer, sizeof(buffer));
  return Status::Error("cannot " + std::string(what) + " '" + path + "': " + text);
}

Status MakeDirectories(const std::string& path, std::vector<std::string>* unsynced) {
  bool created = false;
  int err = MakeDirectory(path, &created);
  const std::string parent = Parent(path);
  if (err == ENOENT && parent != path) {
    // Create the parents, then this one; errors name the deepest directory that failed.
    Status status = MakeDirectories(parent, unsynced);
    if (!status.ok()) return status;
    err = MakeDirectory(path, &created);
  }
  if (err != 0) return Failure("create directory", path, err);
  if (!created) return Status::Ok();
  if (unsynced == nullptr) return SyncDirectory(parent);
  unsynced->push_back(parent);
  return Status::Ok();
}

Status ReadFile(const std::string& path, std::optional<std::string>* content) {
  content->reset();
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Status::Ok();
    return Failure("read", path, errno);
  }
  std::string data;
  struct stat st {};
  if (fstat(fd.get(), &st) == 0 && st.st_size > 0) data.reserve(static_cast<size_t>(st.st_size));
  if (int err = ReadAll(fd.get(), &data); err != 0) {
    // A directory where a record should be is garbage, not an outage.
    if (err == EISDIR) {
      *content = std::string();
      return Status::Ok();
    }
    return Failure("read", path, err);
  }
  *content = std::move(data);
  return Status::Ok();
}

Status WriteTempFile(const std::string& dir, std::string_view content, std::string* temp_path,
                     std::vector<std::string>* unsynced, std::string_view label) {
  // A flush or prune of another thread or process may remove an empty directory between our
  // mkdir and our create; a few rounds always win, since a directory holding our file stays.
  constexpr int kAttempts = 5;
  std::string path;
  int raw = -1;
  for (int attempt = 0; attempt < kAttempts && raw < 0; ++attempt) {
    Status made = MakeDirectories(dir, unsynced);
    if (!made.ok()) return made;
    do {
      path = dir + "/" + std::string(kTempPrefix) + std::string(label) + std::to_string(getpid()) +
             "-" + std::to_string(temp_counter.fetch_add(1, std::memory_order_relaxed));
      raw = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    } while (raw < 0 && errno == EEXIST);
    if (raw < 0 && errno != ENOENT) break;
  }
  if (raw < 0) return Failure("create", path, errno);
  Fd fd(raw);
  int err = WriteAll(fd.get(), content);
  if (err == 0) err = Fsync(fd.get());
  if (err == 0) err = fd.Close();
  if (err != 0) {
    unlink(path.c_str());
    return Failure("write", path, err);
  }
  *temp_path = std::move(path);
  return Status::Ok();
}

Status Rename(const std::string& from, const std::string& to) {
  if (rename(from.c_str(), to.c_str()) == 0) return Status::Ok();
  return Failure("rename to", to, errno);
}

Status RemoveFile(const std::string& path, bool* removed) {
  if (removed) *removed = false;
  if (unlink(path.c_str()) == 0) {
    if (removed) *removed = true;
    return Status::Ok();
  }
  if (errno == ENOENT) return Status::Ok();
  return Failure("remove", path, errno);
}

bool RemoveEmptyDirectory(const std::string& path) {
  return rmdir(path.c_str()) == 0 || errno == ENOENT;
}

Status SyncDirectory(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 && errno == ENOENT) return Status::Ok();
  if (fd.get() < 0) return Failure("open directory", path, errno);
  if (int err = Fsync(fd.get()); err != 0) return Failure("sync directory", path, err);
  return Status::Ok();
}

Status ListDirectoryNames(const std::string& dir, std::vector<std::string>* names) {
  names->clear();
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) {
    if (errno == ENOENT) return Status::Ok();
    return Failure("list directory", dir, errno);
  }
  int err = 0;
  for (;;) {
    errno = 0;  // readdir returns nullptr both at the end and on error; errno tells which
    dirent* entry = readdir(handle);
    if (entry == nullptr) {
      err = errno;
      break;
    }
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names->emplace_back(name);
  }
  closedir(handle);
  if (err != 0) return Failure("list directory", dir, err);
  std::sort(names->begin(), names->end());
  return Status::Ok();
}

std::optional<int64_t> AgeMs(const std::string& path, int64_t now_ms) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return std::nullopt;
  int64_t modified_ms =
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
  return now_ms - modified_ms;
}

}  // namespace arvel::drivers::file_io
