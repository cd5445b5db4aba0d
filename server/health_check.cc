#include "server/health_check.h"

#include <hiredis/hiredis.h>

#include <cstdio>
#include <memory>
#include <string>

namespace arvel::server {
namespace {

constexpr timeval kTimeout = {2, 0};

struct ContextFree {
  void operator()(redisContext* context) const { redisFree(context); }
};
struct ReplyFree {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

std::string LoopbackFor(const std::string& bind) {
  if (bind == "0.0.0.0" || bind.empty()) return "127.0.0.1";
  if (bind == "::" || bind == "[::]") return "::1";
  return bind;
}

int Fail(const std::string& address, const std::string& why) {
  std::fprintf(stderr, "arvel-cached: ping %s: %s\n", address.c_str(), why.c_str());
  return 1;
}

}  // namespace

int Ping(const config::Config& config) {
  std::string host = LoopbackFor(config.server.bind);
  std::string address = host + ":" + std::to_string(config.server.port);
  std::unique_ptr<redisContext, ContextFree> context(
      redisConnectWithTimeout(host.c_str(), config.server.port, kTimeout));
  if (!context) return Fail(address, "out of memory");
  if (context->err) return Fail(address, context->errstr);
  redisSetTimeout(context.get(), kTimeout);
  if (!config.server.password.empty()) {
    const std::string& password = config.server.password;
    ReplyPtr reply(static_cast<redisReply*>(
        redisCommand(context.get(), "AUTH %b", password.data(), password.size())));
    if (!reply) return Fail(address, context->errstr);
    if (reply->type == REDIS_REPLY_ERROR) return Fail(address, reply->str);
  }
  ReplyPtr reply(static_cast<redisReply*>(redisCommand(context.get(), "PING")));
  if (!reply) return Fail(address, context->errstr);
  if (reply->type != REDIS_REPLY_STATUS || std::string(reply->str) != "PONG") {
    return Fail(address, reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
  }
  return 0;
}

}  // namespace arvel::server
