#include "tests/integration/daemon.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

extern char** environ;

namespace arvel::integration {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxInheritedFd = 4096;

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// argv/envp for execve, built before fork (the child may only make async-signal-safe calls).
struct ExecImage {
  std::vector<std::string> strings_argv, strings_env;
  std::vector<char*> argv, envp;

  ExecImage(const DaemonOptions& options, const std::string& config_path) {
    strings_argv.push_back(ARVEL_BINARY);
    if (!config_path.empty()) {
      strings_argv.push_back("--config");
      strings_argv.push_back(config_path);
    }
    if (options.port_zero) {
      strings_argv.push_back("--port");
      strings_argv.push_back("0");
    }
    for (const std::string& arg : options.args) strings_argv.push_back(arg);
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view var(*e);
      std::string_view name = var.substr(0, var.find('='));
      if (name.rfind("CACHE_", 0) == 0 || options.env.count(std::string(name)) > 0) continue;
      strings_env.emplace_back(var);
    }
    for (const auto& [name, value] : options.env) strings_env.push_back(name + "=" + value);
    if (options.isolate_redis && options.env.count("CACHE_PORT") == 0) {
      strings_env.push_back("CACHE_PORT=1");
    }
    for (std::string& s : strings_argv) argv.push_back(s.data());
    for (std::string& s : strings_env) envp.push_back(s.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);
  }
};

// Forks and execs the binary in `dir` with stdout on `out_fd` and stderr on `err_fd`.
pid_t Spawn(ExecImage& image, const std::string& dir, int out_fd, int err_fd) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) {
    _exit(127);
  }
  for (int fd = 3; fd < kMaxInheritedFd; ++fd) close(fd);
  if (chdir(dir.c_str()) != 0) _exit(127);
  execve(image.argv[0], image.argv.data(), image.envp.data());
  _exit(127);
}

// Reads whatever `fd` has (non-blocking); returns false at end of file.
bool Drain(int fd, std::string* into) {
  char chunk[16384];
  ssize_t n = read(fd, chunk, sizeof(chunk));
  if (n > 0) {
    into->append(chunk, static_cast<size_t>(n));
    return true;
  }
  return n < 0 && (errno == EINTR || errno == EAGAIN);
}

void FromHiredis(const redisReply* r, Reply* out) {
  out->type = r->type;
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
      r->type == REDIS_REPLY_ERROR) {
    out->str.assign(r->str, r->len);
  }
  if (r->type == REDIS_REPLY_INTEGER) out->integer = r->integer;
  for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
    out->elements.emplace_back();
    FromHiredis(r->element[i], &out->elements.back());
  }
}

std::string ConfigPathFor(const DaemonOptions& options, const TempDir& dir) {
  return options.config.empty() ? "" : dir.Write("cache.toml", options.config);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TempDir

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base ? base : "/tmp") + "/arvel-it-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed: " << std::strerror(errno);
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::Write(const std::string& name, std::string_view text) const {
  std::string full = path_ + "/" + name;
  std::ofstream(full, std::ios::binary) << text;
  return full;
}

// ---------------------------------------------------------------------------------------------
// Running to completion

RunResult RunDaemonToCompletion(const DaemonOptions& options, milliseconds timeout) {
  TempDir dir;
  ExecImage image(options, ConfigPathFor(options, dir));
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) return {};
  pid_t pid = Spawn(image, dir.path(), out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  RunResult result;
  auto deadline = Clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0 && Clock::now() < deadline) {
    if (poll(fds, 2, MillisLeft(deadline)) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && fds[i].revents != 0 && !Drain(fds[i].fd, sinks[i])) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) == 0) {
    // Output closed or time is up: give it a moment to exit, then kill it.
    while (Clock::now() < deadline && waitpid(pid, &status, WNOHANG) == 0) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    if (Clock::now() >= deadline && kill(pid, 0) == 0) {
      result.timed_out = true;
      kill(pid, SIGKILL);
    }
    waitpid(pid, &status, 0);
  }
  result.exit_code = ExitCodeOf(status);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Daemon

std::unique_ptr<Daemon> Daemon::Start(const DaemonOptions& options) {
  std::unique_ptr<Daemon> daemon(new Daemon());
  if (!daemon->Launch(options)) {
    ADD_FAILURE() << "arvel-cached did not start listening; its output:\n" << daemon->Stderr();
    daemon->Kill();
    daemon->port_ = 0;
  }
  return daemon;
}

bool Daemon::Launch(const DaemonOptions& options) {
  ExecImage image(options, ConfigPathFor(options, dir_));
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return false;
  pid_ = Spawn(image, dir_.path(), err_pipe[1], err_pipe[1]);
  close(err_pipe[1]);
  if (pid_ < 0) {
    close(err_pipe[0]);
    return false;
  }
  reader_ = std::thread([this, fd = err_pipe[0]] { ReadStderr(fd); });
  std::unique_lock lock(mu_);
  changed_.wait_for(lock, options.start_timeout,
                    [this] { return stderr_closed_ || ListeningPort(stderr_) != 0; });
  port_ = ListeningPort(stderr_);
  return port_ != 0;
}

void Daemon::ReadStderr(int fd) {
  char chunk[16384];
  while (true) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lock(mu_);
    if (n <= 0) {
      stderr_closed_ = true;
      changed_.notify_all();
      break;
    }
    stderr_.append(chunk, static_cast<size_t>(n));
    changed_.notify_all();
  }
  close(fd);
}

Daemon::~Daemon() {
  Kill();
  if (reader_.joinable()) reader_.join();
}

void Daemon::Kill() {
  if (pid_ > 0 && !exit_code_) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    exit_code_ = ExitCodeOf(status);
  }
}

void Daemon::Signal(int signum) {
  if (pid_ > 0 && !exit_code_) kill(pid_, signum);
}

std::optional<int> Daemon::WaitExit(milliseconds timeout) {
  if (exit_code_) return exit_code_;
  if (pid_ <= 0) return std::nullopt;
  auto deadline = Clock::now() + timeout;
  do {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = ExitCodeOf(status);
      return exit_code_;
    }
    std::this_thread::sleep_for(milliseconds(5));
  } while (Clock::now() < deadline);
  return std::nullopt;
}

bool Daemon::running() { return pid_ > 0 && !WaitExit(milliseconds(0)); }

int Daemon::Stop(milliseconds timeout) {
  Signal(SIGTERM);
  std::optional<int> code = WaitExit(timeout);
  if (code) return *code;
  Kill();
  return -1;
}

std::string Daemon::Stderr() const {
  std::lock_guard lock(mu_);
  return stderr_;
}

bool Daemon::WaitForStderr(std::string_view needle, milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout,
                           [&] { return stderr_.find(needle) != std::string::npos; });
}

// ---------------------------------------------------------------------------------------------
// Client

Client::Client(int port, milliseconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ctx_.reset(redisConnectWithTimeout("127.0.0.1", port, tv));
  if (ctx_ != nullptr && ctx_->err == 0) redisSetTimeout(ctx_.get(), tv);
}

std::string Client::error() const {
  if (ctx_ == nullptr) return "no context";
  return ctx_->err == 0 ? "" : ctx_->errstr;
}

void Client::Append(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(ctx_.get(), static_cast<int>(args.size()), argv.data(), lens.data());
}

Reply Client::GetReply() {
  Reply reply;
  if (!connected()) {
    reply.str = error();
    return reply;
  }
  void* raw = nullptr;
  if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr) {
    reply.str = error();
    return reply;
  }
  FromHiredis(static_cast<redisReply*>(raw), &reply);
  freeReplyObject(raw);
  return reply;
}

Reply Client::Command(const std::vector<std::string>& args) {
  if (!connected()) {
    Reply reply;
    reply.str = error();
    return reply;
  }
  Append(args);
  return GetReply();
}

std::string Show(const Reply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_STATUS:
      return "+" + reply.str;
    case REDIS_REPLY_ERROR:
      return "-" + reply.str;
    case REDIS_REPLY_INTEGER:
      return ":" + std::to_string(reply.integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    case REDIS_REPLY_STRING:
      return "\"" + reply.str + "\"";
    case REDIS_REPLY_ARRAY: {
      std::string out = "[";
      for (size_t i = 0; i < reply.elements.size(); ++i) {
        out += (i ? ", " : "") + Show(reply.elements[i]);
      }
      return out + "]";
    }
    default:
      return "(no reply: " + reply.str + ")";
  }
}

// ---------------------------------------------------------------------------------------------
// RawConnection

RawConnection::RawConnection(int port, milliseconds timeout) : timeout_(timeout) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

RawConnection::RawConnection(RawConnection&& other) noexcept
    : fd_(other.fd_), timeout_(other.timeout_), buf_(std::move(other.buf_)), pos_(other.pos_) {
  other.fd_ = -1;
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

bool RawConnection::Send(std::string_view bytes) {
  auto deadline = Clock::now() + timeout_;
  while (!bytes.empty() && fd_ >= 0) {
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, MillisLeft(deadline)) <= 0) return false;
    ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return bytes.empty() && fd_ >= 0;
}

void RawConnection::ShutdownWrite() {
  if (fd_ >= 0) shutdown(fd_, SHUT_WR);
}

bool RawConnection::Fill(size_t n) {
  auto deadline = Clock::now() + timeout_;
  char chunk[65536];
  while (buf_.size() - pos_ < n) {
    if (fd_ < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int ready = poll(&p, 1, MillisLeft(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    ssize_t got = recv(fd_, chunk, sizeof(chunk), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(got));
  }
  return true;
}

std::string RawConnection::ReadExactly(size_t n) {
  Fill(n);
  size_t take = std::min(n, buf_.size() - pos_);
  std::string out = buf_.substr(pos_, take);
  pos_ += take;
  return out;
}

std::optional<std::string> RawConnection::Line() {
  size_t scanned = pos_;
  while (true) {
    size_t crlf = buf_.find("\r\n", scanned);
    if (crlf != std::string::npos) {
      std::string line = buf_.substr(pos_, crlf - pos_);
      pos_ = crlf + 2;
      return line;
    }
    scanned = buf_.empty() ? pos_ : std::max(pos_, buf_.size() - 1);
    if (!Fill(buf_.size() - pos_ + 1)) return std::nullopt;
  }
}

bool RawConnection::ParseValue(RespValue* value, std::string* raw) {
  size_t start = pos_;
  std::optional<std::string> line = Line();
  if (!line || line->empty()) return false;
  value->type = (*line)[0];
  std::string rest = line->substr(1);
  switch (value->type) {
    case '+':
    case '-':
    case ':':
    case ',':
    case '(':
    case '#':
      value->text = rest;
      break;
    case '_':
      value->null = true;
      break;
    case '$':
    case '=':
    case '!': {
      long long len = std::atoll(rest.c_str());
      if (len < 0) {
        value->null = true;
        break;
      }
      if (!Fill(static_cast<size_t>(len) + 2)) return false;
      value->text = buf_.substr(pos_, static_cast<size_t>(len));
      pos_ += static_cast<size_t>(len) + 2;
      break;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      long long count = std::atoll(rest.c_str());
      if (count < 0) {
        value->null = true;
        break;
      }
      if (value->type == '%' || value->type == '|') count *= 2;
      for (long long i = 0; i < count; ++i) {
        value->elements.emplace_back();
        if (!ParseValue(&value->elements.back(), nullptr)) return false;
      }
      break;
    }
    default:
      return false;
  }
  if (raw != nullptr) *raw = buf_.substr(start, pos_ - start);
  return true;
}

RespValue RawConnection::ReadValue() {
  RespValue value;
  size_t start = pos_;
  if (!ParseValue(&value, nullptr)) {
    pos_ = start;
    return RespValue{};
  }
  buf_.erase(0, pos_);
  pos_ = 0;
  return value;
}

std::string RawConnection::ReadRawValue() {
  RespValue value;
  std::string raw;
  size_t start = pos_;
  if (!ParseValue(&value, &raw)) {
    pos_ = start;
    return "";
  }
  buf_.erase(0, pos_);
  pos_ = 0;
  return raw;
}

std::string RawConnection::ReadUntilClose(milliseconds timeout, bool* closed) {
  auto deadline = Clock::now() + timeout;
  std::string out = buf_.substr(pos_);
  buf_.clear();
  pos_ = 0;
  *closed = false;
  char chunk[65536];
  while (fd_ >= 0 && Clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    int ready = poll(&p, 1, MillisLeft(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    ssize_t got = recv(fd_, chunk, sizeof(chunk), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {  // orderly close, or a reset (the server closed with input unread)
      *closed = true;
      break;
    }
    out.append(chunk, static_cast<size_t>(got));
  }
  return out;
}

bool RawConnection::WaitClosed(milliseconds timeout) {
  bool closed = false;
  ReadUntilClose(timeout, &closed);
  return closed;
}

std::string Resp(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Helpers

int ListeningPort(std::string_view log) {
  constexpr std::string_view kMarker = "listening on ";
  size_t at = log.find(kMarker);
  if (at == std::string_view::npos) return 0;
  std::string_view rest = log.substr(at + kMarker.size());
  std::string_view address = rest.substr(0, rest.find_first_of(" \t\r\n\""));
  // The line must be complete, so a port split across two reads is not taken half-read.
  if (address.size() == rest.size()) return 0;
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return 0;
  int port = std::atoi(std::string(address.substr(colon + 1)).c_str());
  return port > 0 && port < 65536 ? port : 0;
}

std::map<std::string, std::string> ParseInfo(std::string_view info) {
  std::map<std::string, std::string> fields;
  while (!info.empty()) {
    size_t end = info.find('\n');
    std::string_view line = info.substr(0, end);
    info = end == std::string_view::npos ? std::string_view() : info.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    fields[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 1));
  }
  return fields;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace arvel::integration
