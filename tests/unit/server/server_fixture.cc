#include "tests/unit/server/server_fixture.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <stdexcept>

#include "drivers/array_store.h"
#include "server/info.h"

namespace arvel::testing {

namespace {
Reply Copy(const redisReply* r) {
  Reply out;
  if (r == nullptr) {
    out.type = REDIS_REPLY_ERROR;
    out.str = "connection lost";
    return out;
  }
  out.type = r->type;
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
      r->type == REDIS_REPLY_ERROR) {
    out.str.assign(r->str, r->len);
  }
  out.integer = r->integer;
  for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Copy(r->element[i]));
  return out;
}
}  // namespace

std::string Text(const Reply& reply) {
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
      return "$" + reply.str;
    case REDIS_REPLY_ARRAY: {
      std::string out = "[";
      for (size_t i = 0; i < reply.elements.size(); ++i) {
        out += (i ? ", " : "") + Text(reply.elements[i]);
      }
      return out + "]";
    }
  }
  return "?";
}

Client::Client(int port) : ctx_(redisConnect("127.0.0.1", port)) {
  if (!ctx_ || ctx_->err) throw std::runtime_error("cannot connect to test server");
}

Reply Client::Command(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(ctx_.get(), static_cast<int>(args.size()), argv.data(), lens.data()));
  Reply out = Copy(r);
  if (r) freeReplyObject(r);
  return out;
}

std::vector<Reply> Client::Pipeline(const std::vector<std::vector<std::string>>& commands) {
  for (const auto& args : commands) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(ctx_.get(), static_cast<int>(args.size()), argv.data(), lens.data());
  }
  std::vector<Reply> replies;
  for (size_t i = 0; i < commands.size(); ++i) {
    void* r = nullptr;
    if (redisGetReply(ctx_.get(), &r) != REDIS_OK) {
      replies.push_back(Copy(nullptr));
      break;
    }
    replies.push_back(Copy(static_cast<redisReply*>(r)));
    freeReplyObject(r);
  }
  return replies;
}

Reply Client::Raw(const std::string& bytes) {
  redisAppendFormattedCommand(ctx_.get(), bytes.data(), bytes.size());
  void* r = nullptr;
  if (redisGetReply(ctx_.get(), &r) != REDIS_OK) return Copy(nullptr);
  Reply out = Copy(static_cast<redisReply*>(r));
  freeReplyObject(r);
  return out;
}

namespace {
// Reads a whole reply from a blocking socket, one byte of lookahead at a time where needed.
class SocketReader {
 public:
  explicit SocketReader(int fd) : fd_(fd) {}
  Reply Read() {
    std::string line = Line();
    Reply r;
    char type = line.empty() ? '?' : line[0];
    std::string rest = line.substr(1);
    switch (type) {
      case '+':
        r.type = REDIS_REPLY_STATUS;
        r.str = rest;
        break;
      case '-':
        r.type = REDIS_REPLY_ERROR;
        r.str = rest;
        break;
      case ':':
        r.type = REDIS_REPLY_INTEGER;
        r.integer = std::stoll(rest);
        break;
      case '#':
        r.type = REDIS_REPLY_INTEGER;
        r.integer = rest == "t";
        break;
      case '_':
        r.type = REDIS_REPLY_NIL;
        break;
      case ',':
        r.type = REDIS_REPLY_STRING;
        r.str = rest;
        break;
      case '$':
      case '=': {
        long long n = std::stoll(rest);
        if (n < 0) {
          r.type = REDIS_REPLY_NIL;
          break;
        }
        r.type = REDIS_REPLY_STRING;
        r.str = Bytes(static_cast<size_t>(n) + 2).substr(0, static_cast<size_t>(n));
        break;
      }
      case '*':
      case '~':
      case '%': {
        long long n = std::stoll(rest) * (type == '%' ? 2 : 1);
        if (n < 0) {
          r.type = REDIS_REPLY_NIL;
          break;
        }
        r.type = REDIS_REPLY_ARRAY;
        for (long long i = 0; i < n; ++i) r.elements.push_back(Read());
        break;
      }
      default:
        throw std::runtime_error("unexpected reply line: " + line);
    }
    return r;
  }

 private:
  std::string Line() {
    std::string line;
    while (line.size() < 2 || line.compare(line.size() - 2, 2, "\r\n") != 0) line += Bytes(1);
    return line.substr(0, line.size() - 2);
  }
  std::string Bytes(size_t n) {
    std::string out(n, '\0');
    for (size_t got = 0; got < n;) {
      ssize_t r = recv(fd_, out.data() + got, n - got, 0);
      if (r <= 0) throw std::runtime_error("connection lost");
      got += static_cast<size_t>(r);
    }
    return out;
  }
  int fd_;
};
}  // namespace

Reply DeepCommand(int port, const std::vector<std::string>& args) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    throw std::runtime_error("cannot connect to test server");
  }
  std::string request = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) request += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  send(fd, request.data(), request.size(), 0);
  Reply reply = SocketReader(fd).Read();
  close(fd);
  return reply;
}

int64_t MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

int64_t InfoField(Client& client, const std::string& section, const std::string& name) {
  std::map<std::string, std::string> info =
      server::ParseInfo(client.Command({"INFO", section}).str);
  auto it = info.find(name);
  return it == info.end() ? -1 : std::stoll(it->second);
}

int Blocked(Client& client) {
  return static_cast<int>(InfoField(client, "clients", "blocked_clients"));
}

void WaitForBlocked(Client& client, int n) {
  auto start = std::chrono::steady_clock::now();
  while (Blocked(client) != n && MillisSince(start) < 5000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(Blocked(client), n);
}

config::Config TestConfig() {
  config::CommandLine line;
  line.port = 0;
  auto config = config::LoadConfigText("", "test.toml", line, {});
  if (!config.ok()) throw std::runtime_error(config.status().message());
  return *config;
}

std::unique_ptr<drivers::Store> ClockedArrayStore(const std::string& name, const FakeClock& clock) {
  drivers::ArrayStoreOptions options;
  options.clock = clock.AsFunction();
  return std::make_unique<drivers::ArrayStore>(name, std::move(options));
}

ServerFixture::ServerFixture(config::Config config) : ServerFixture(std::move(config), nullptr) {}

ServerFixture::ServerFixture(config::Config config, std::unique_ptr<drivers::Store> store)
    : server_(std::make_unique<server::Server>(std::move(config))) {
  if (store) server_->AddStoreForTesting(std::move(store));
  Status listening = server_->Listen();
  if (!listening.ok()) throw std::runtime_error(listening.message());
  port_ = server_->port();
  thread_ = std::thread([this] { server_->Run(); });
}

ServerFixture::~ServerFixture() { Stop(); }

void ServerFixture::Stop() {
  if (!thread_.joinable()) return;
  server_->RequestShutdown();
  thread_.join();
}

}  // namespace arvel::testing
