#include "drivers/redis_notifications.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace arvel::drivers {

namespace {

constexpr std::string_view kNeeded = "Kg$xe";
// Classes that 'A' stands for (Redis 7: g$lshzxetd).
constexpr std::string_view kAllAlias = "g$lshzxetd";

}  // namespace

std::string NotifyFlagsToSet(std::string_view current) {
  const bool all = current.find('A') != std::string_view::npos;
  std::string missing;
  for (char c : kNeeded) {
    if (current.find(c) != std::string_view::npos) continue;
    if (all && kAllAlias.find(c) != std::string_view::npos) continue;
    missing += c;
  }
  if (missing.empty()) return {};
  return std::string(current) + missing;
}

RedisKeyspaceListener::RedisKeyspaceListener(uv_loop_t* loop, const RedisKeys& keys, int db,
                                             std::string store_name, KeyFn on_key)
    : connection_(loop),
      keys_(keys),
      channel_prefix_("__keyspace@" + std::to_string(db) + "__:"),
      store_name_(std::move(store_name)),
      on_key_(std::move(on_key)) {}

void RedisKeyspaceListener::Start(const std::string& ip, int port, const RedisLogin& login,
                                  StateFn on_state) {
  on_state_ = std::move(on_state);
  listening_ = false;
  connection_.Connect(ip, port, login, {}, [this](const Status& status) {
    if (!status.ok()) return Fail(status, false);
    EnableEvents();
  });
}

void RedisKeyspaceListener::Stop() {
  listening_ = false;
  on_state_ = nullptr;
  connection_.Abort(Status::Error("stopped"));
}

void RedisKeyspaceListener::Fail(const Status& status, bool refused) {
  listening_ = false;
  auto on_state = std::move(on_state_);
  if (refused) connection_.Abort(status);
  if (on_state) on_state(status, refused);
}

void RedisKeyspaceListener::EnableEvents() {
  connection_.Send(
      {"CONFIG", "GET", "notify-keyspace-events"},
      [this](const Status& status, const redisReply* reply) {
        if (!status.ok()) return;  // the connection failed: reported through Connect's callback
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
          spdlog::warn("store '{}': CONFIG GET notify-keyspace-events refused ({}); waits "
                       "across daemons will poll",
                       store_name_,
                       reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len)
                                                        : "unexpected reply");
          return Fail(Status::Error("keyspace notifications unavailable"), true);
        }
        std::string flags = NotifyFlagsToSet({reply->element[1]->str, reply->element[1]->len});
        if (flags.empty()) return Subscribe();
        connection_.Send({"CONFIG", "SET", "notify-keyspace-events", flags},
                         [this](const Status& status, const redisReply* reply) {
                           if (!status.ok()) return;
                           if (reply->type == REDIS_REPLY_ERROR) {
                             spdlog::warn("store '{}': CONFIG SET notify-keyspace-events refused "
                                          "({}); waits across daemons will poll",
                                          store_name_, std::string(reply->str, reply->len));
                             return Fail(Status::Error("keyspace notifications unavailable"),
                                         true);
                           }
                           Subscribe();
                         });
      });
}

void RedisKeyspaceListener::Subscribe() {
  const std::string pattern = EscapeGlob(channel_prefix_) + keys_.AllPattern();
  connection_.Subscribe(
      pattern,
      [this] {
        listening_ = true;
        if (on_state_) on_state_(Status::Ok(), false);
      },
      [this](std::string_view channel, std::string_view) {
        if (!channel.starts_with(channel_prefix_)) return;
        channel.remove_prefix(channel_prefix_.size());
        if (auto parsed = keys_.Parse(channel)) on_key_(parsed->first, parsed->second);
      });
}

}  // namespace arvel::drivers
