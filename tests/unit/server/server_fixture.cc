#include "tests/unit/server/server_fixture.h"

#include <gtest/gtest.h>

#include <stdexcept>

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

Reply Client::Raw(const std::string& bytes) {
  redisAppendFormattedCommand(ctx_.get(), bytes.data(), bytes.size());
  void* r = nullptr;
  if (redisGetReply(ctx_.get(), &r) != REDIS_OK) return Copy(nullptr);
  Reply out = Copy(static_cast<redisReply*>(r));
  freeReplyObject(r);
  return out;
}

config::Config TestConfig() {
  config::CommandLine line;
  line.port = 0;
  auto config = config::LoadConfigText("", "test.toml", line, {});
  if (!config.ok()) throw std::runtime_error(config.status().message());
  return *config;
}

ServerFixture::ServerFixture(config::Config config)
    : server_(std::make_unique<server::Server>(std::move(config))) {
  Status listening = server_->Listen();
  if (!listening.ok()) throw std::runtime_error(listening.message());
  port_ = server_->port();
  thread_ = std::thread([this] { server_->Run(); });
}

ServerFixture::~ServerFixture() {
  server_->RequestShutdown();
  thread_.join();
}

}  // namespace arvel::testing
