#pragma once
// A private redis-server for tests: started on a free loopback port in a temporary directory
// (no persistence), stopped and removed when the object goes. The child dies with the test
// binary (PR_SET_PDEATHSIG), so no server outlives a run.
//
//   if (!RedisServerInstalled()) GTEST_SKIP() << kNoRedisServer;
//   RedisTestServer redis;              // started; redis.port()
//   redis.Kill(); …; redis.Restart();   // same port
//
// DEBUG (e.g. DEBUG SLEEP, a server that stalls) is allowed from loopback.
//
// SharedRedisServer() is one server for the whole test binary, for tests that only need a
// database of their own keys (give each test a distinct prefix).

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace arvel::testing {

inline constexpr std::string_view kNoRedisServer = "redis-server is not installed";

inline std::string RedisServerPath() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/usr/local/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/redis-server";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

inline bool RedisServerInstalled() { return !RedisServerPath().empty(); }

// A loopback port nobody listens on right now.
inline int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// One blocking hiredis command; the reply as text: "+OK", ":3", "$v", "(nil)", "-ERR …", or
// "[a, b]" for arrays (elements as their text without markers).
// Several commands on one connection (AUTH, SELECT…); the text of the last reply.
inline std::string RedisCommands(int port, const std::vector<std::vector<std::string>>& commands);

inline std::string RedisCommand(int port, const std::vector<std::string>& args) {
  return RedisCommands(port, {args});
}

inline std::string RedisCommands(int port, const std::vector<std::vector<std::string>>& commands) {
  timeval timeout{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (c == nullptr || c->err) {
    if (c) redisFree(c);
    return "-connect failed";
  }
  redisSetTimeout(c, timeout);
  redisReply* r = nullptr;
  for (const auto& args : commands) {
    if (r) freeReplyObject(r);
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r == nullptr) break;
  }
  std::string text;
  std::function<std::string(const redisReply*)> show = [&](const redisReply* x) -> std::string {
    switch (x->type) {
      case REDIS_REPLY_STATUS:
        return "+" + std::string(x->str, x->len);
      case REDIS_REPLY_ERROR:
        return "-" + std::string(x->str, x->len);
      case REDIS_REPLY_INTEGER:
        return ":" + std::to_string(x->integer);
      case REDIS_REPLY_NIL:
        return "(nil)";
      case REDIS_REPLY_STRING:
        return "$" + std::string(x->str, x->len);
      case REDIS_REPLY_ARRAY: {
        std::string out = "[";
        for (size_t i = 0; i < x->elements; ++i) {
          if (i) out += ", ";
          out += show(x->element[i]);
        }
        return out + "]";
      }
    }
    return "?";
  };
  text = r ? show(r) : "-no reply";
  if (r) freeReplyObject(r);
  redisFree(c);
  return text;
}

class RedisTestServer {
 public:
  explicit RedisTestServer(int port = 0) : port_(port ? port : FreeLoopbackPort()) {
    char pattern[] = "/tmp/arvel-redis-XXXXXX";
    if (mkdtemp(pattern) != nullptr) dir_ = pattern;
    Restart();
  }
  ~RedisTestServer() {
    Stop();
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  RedisTestServer(const RedisTestServer&) = delete;
  RedisTestServer& operator=(const RedisTestServer&) = delete;

  int port() const { return port_; }
  bool running() const { return pid_ > 0; }

  // Starts the server (again) on the same port; true once it answers PING (within 5 s).
  bool Restart() {
    Stop();
    const std::string binary = RedisServerPath();
    if (binary.empty()) return false;
    pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      const std::string port = std::to_string(port_);
      execl(binary.c_str(), "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--save",
            "", "--appendonly", "no", "--daemonize", "no", "--dir", dir_.c_str(), "--logfile", "",
            "--enable-debug-command", "local", nullptr);
      _exit(127);
    }
    pid_ = pid;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (RedisCommand(port_, {"PING"}) == "+PONG") return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  // SIGKILL: connections drop at once, nothing is saved.
  void Kill() { Signal(SIGKILL); }
  // SIGSTOP / SIGCONT: the server stops answering without closing connections.
  void Pause() { kill(pid_, SIGSTOP); }
  void Resume() { kill(pid_, SIGCONT); }
  void Stop() { Signal(SIGTERM); }
  std::string Command(const std::vector<std::string>& args) const {
    return RedisCommand(port_, args);
  }

 private:
  void Signal(int signal) {
    if (pid_ <= 0) return;
    kill(pid_, SIGCONT);
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  int port_;
  std::string dir_;
  pid_t pid_ = -1;
};

// One server for the whole binary, started on first use; nullptr when redis-server is missing.
inline RedisTestServer* SharedRedisServer() {
  static std::unique_ptr<RedisTestServer> server = [] {
    return RedisServerInstalled() ? std::make_unique<RedisTestServer>() : nullptr;
  }();
  return server.get();
}

}  // namespace arvel::testing
