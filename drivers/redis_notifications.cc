#include "drivers/redis_notifications.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace arvel::drivers {

namespace {
constexpr std::string_view kInvalidateChannel = "__redis__:invalidate";
}  // namespace

RedisChangeListener::RedisChangeListener(uv_loop_t* loop, const RedisKeys& keys,
                                         std::string store_name, KeyFn on_key, FlushFn on_flush)
    : connection_(loop),
      keys_(keys),
      store_name_(std::move(store_name)),
      on_key_(std::move(on_key)),
      on_flush_(std::move(on_flush)) {}

void RedisChangeListener::Start(const std::string& ip, int port, const RedisLogin& login,
                                StateFn on_state) {
  on_state_ = std::move(on_state);
  subscribed_ = false;
  connection_.Connect(ip, port, login, {}, [this](const Status& status) {
    if (!status.ok()) return Fail(status, false);
    AskClientId();
  });
}

void RedisChangeListener::Stop() {
  subscribed_ = false;
  on_state_ = nullptr;
  connection_.Abort(Status::Error("stopped"));
}

void RedisChangeListener::Fail(const Status& status, bool refused) {
  subscribed_ = false;
  auto on_state = std::move(on_state_);
  if (refused) connection_.Abort(status);
  if (on_state) on_state(status, refused, 0);
}

void RedisChangeListener::AskClientId() {
  connection_.Send({"CLIENT", "ID"}, [this](const Status& status, const redisReply* reply) {
    if (!status.ok()) return;  // the connection failed: reported through Connect's callback
    if (reply->type != REDIS_REPLY_INTEGER) {
      spdlog::warn("store '{}': CLIENT ID refused ({}); waits across daemons will poll",
                   store_name_,
                   reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len)
                                                    : "unexpected reply");
      return Fail(Status::Error("change notifications unavailable"), true);
    }
    Subscribe(reply->integer);
  });
}

void RedisChangeListener::Subscribe(int64_t client_id) {
  connection_.Subscribe(
      std::string(kInvalidateChannel),
      [this, client_id] {
        subscribed_ = true;
        if (on_state_) on_state_(Status::Ok(), false, client_id);
      },
      [this](std::string_view channel, const redisReply& payload) {
        if (channel == kInvalidateChannel) Deliver(payload);
      });
}

void RedisChangeListener::Deliver(const redisReply& payload) {
  if (payload.type == REDIS_REPLY_NIL) {  // FLUSHALL, FLUSHDB
    if (on_flush_) on_flush_();
    return;
  }
  if (payload.type != REDIS_REPLY_ARRAY) return;
  for (size_t i = 0; i < payload.elements; ++i) {
    const redisReply* key = payload.element[i];
    if (key->type != REDIS_REPLY_STRING) continue;
    if (auto parsed = keys_.Parse(std::string_view(key->str, key->len))) {
      on_key_(parsed->first, parsed->second);
    }
  }
}

std::vector<std::vector<std::string>> RedisChangeListener::TrackingCommands(
    int64_t client_id) const {
  std::vector<std::string> on = {"CLIENT", "TRACKING", "on", "REDIRECT", std::to_string(client_id),
                                 "BCAST"};
  for (Space space : kWatchedSpaces) {
    on.push_back("PREFIX");
    on.push_back(keys_.base() + SpaceTag(space) + ":");
  }
  on.push_back("NOLOOP");
  return {{"CLIENT", "TRACKING", "off"}, std::move(on)};
}

}  // namespace arvel::drivers
