#include "server/scripting/script_engine.h"

#include <lua.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "common/numbers.h"
#include "drivers/redis_scripts.h"
#include "drivers/store.h"
#include "server/connection.h"
#include "server/scripting/lua_values.h"
#include "server/scripting/script_run.h"
#include "server/server.h"

namespace arvel::server::scripting {

namespace {

// The count hook fires every this many instructions (as in Redis): cheap, and ~1 ms apart.
constexpr int kHookInstructions = 100000;
// A garbage-collection step every this many scripts, so no full cycle lands on one of them.
constexpr int kGcPeriod = 50;

constexpr std::string_view kShebangFlags[] = {"no-writes", "allow-oom", "allow-stale",
                                              "no-cluster", "allow-cross-slot-keys"};

// Splits "#!lua flags=a,b" into its flags. Empty on success, else the error text.
std::string ParseShebang(std::string_view line, bool& no_writes) {
  std::vector<std::string_view> parts;
  for (size_t pos = 0; pos < line.size();) {
    const size_t end = std::min(line.find(' ', pos), line.size());
    if (end > pos) parts.push_back(line.substr(pos, end - pos));
    pos = end + 1;
  }
  if (parts.empty()) return "ERR Invalid engine in script shebang";
  if (parts[0] != "#!lua") {
    return "ERR Unexpected engine in script shebang: " + std::string(parts[0]);
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].substr(0, 6) != "flags=") {
      return "ERR Unknown lua shebang option: " + std::string(parts[i]);
    }
    std::string_view flags = parts[i].substr(6);
    for (size_t pos = 0; pos < flags.size();) {
      const size_t end = std::min(flags.find(',', pos), flags.size());
      std::string_view flag = flags.substr(pos, end - pos);
      if (std::find(std::begin(kShebangFlags), std::end(kShebangFlags), flag) ==
          std::end(kShebangFlags)) {
        return "ERR Unexpected flag in script shebang: " + std::string(flag);
      }
      if (flag == "no-writes") no_writes = true;
      pos = end + 1;
    }
  }
  return "";
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The error a failed script replies with, as Redis 7: "CODE message script: SHA, on
// @user_script:LINE." — the line of the script where it failed (under a C function such as
// redis.call, the line that called it).
std::string ErrorText(lua_State* co, std::string_view sha) {
  std::string message = "ERR execution failure";
  if (lua_istable(co, -1)) {
    lua_getfield(co, -1, "err");
    if (lua_isstring(co, -1)) message = lua_tostring(co, -1);
    lua_pop(co, 1);
  } else if (lua_isstring(co, -1)) {
    message = std::string("ERR ") + lua_tostring(co, -1);
  }
  lua_Debug ar;
  for (int level = 0; lua_getstack(co, level, &ar) != 0; ++level) {
    if (lua_getinfo(co, "Sl", &ar) == 0 || ar.what[0] == 'C') continue;
    if (ar.currentline > 0) {
      message += " script: " + std::string(sha) + ", on " + ar.source + ":" +
                 std::to_string(ar.currentline) + ".";
    }
    break;
  }
  return message;
}

}  // namespace

ScriptEngine::ScriptEngine(Server& server) : server_(server), L_(luaL_newstate()) {
  OpenScriptLibrary(L_, this);
  uv_idle_init(server.loop(), &resume_idle_);
  resume_idle_.data = this;
}

ScriptEngine::~ScriptEngine() { lua_close(L_); }

int64_t ScriptEngine::busy_threshold_ms() const {
  return server_.config().server.busy_reply_threshold;
}

bool ScriptEngine::BusyFor(uint64_t client_id) const {
  return run_ != nullptr && run_->busy && run_->client_id != client_id;
}

int64_t ScriptEngine::memory_bytes() const {
  return static_cast<int64_t>(lua_gc(L_, LUA_GCCOUNT, 0)) * 1024 + lua_gc(L_, LUA_GCCOUNTB, 0);
}

const ScriptEngine::Script* ScriptEngine::Compile(std::string_view body, std::string& sha,
                                                  std::string& error) {
  sha = drivers::Sha1Hex(body);
  if (auto it = scripts_.find(sha); it != scripts_.end()) return &it->second;
  Script script{std::string(body), LUA_NOREF, false, false};
  size_t skip = 0;
  if (body.substr(0, 2) == "#!") {
    const size_t newline = body.find('\n');
    if (newline == std::string_view::npos) {
      error = "ERR Invalid script shebang";
      return nullptr;
    }
    error = ParseShebang(body.substr(0, newline), script.no_writes);
    if (!error.empty()) return nullptr;
    script.shebang = true;
    skip = newline;  // keep the newline: line numbers stay the user's
  }
  if (luaL_loadbuffer(L_, body.data() + skip, body.size() - skip, "@user_script") != 0) {
    error = std::string("ERR Error compiling script (new function): ") + lua_tostring(L_, -1);
    lua_pop(L_, 1);
    return nullptr;
  }
  SetScriptEnvironment(L_);
  script.function_ref = luaL_ref(L_, LUA_REGISTRYINDEX);
  return &scripts_.emplace(sha, std::move(script)).first->second;
}

bool ScriptEngine::Has(std::string_view sha) const { return scripts_.contains(Lower(sha)); }

bool ScriptEngine::MayWrite(std::string_view body_or_sha, bool by_sha) const {
  auto it = scripts_.find(by_sha ? Lower(body_or_sha) : drivers::Sha1Hex(body_or_sha));
  if (it != scripts_.end()) return !it->second.no_writes;
  if (by_sha || body_or_sha.substr(0, 2) != "#!") return true;
  const size_t newline = body_or_sha.find('\n');
  bool no_writes = false;
  if (newline == std::string_view::npos) return true;
  return !ParseShebang(body_or_sha.substr(0, newline), no_writes).empty() || !no_writes;
}

void ScriptEngine::Load(CommandContext& ctx, std::string_view body) {
  std::string sha, error;
  if (Compile(body, sha, error) == nullptr) return ctx.reply().Error(error);
  ctx.reply().Bulk(sha);
}

void ScriptEngine::Flush() {
  for (auto& [sha, script] : scripts_) luaL_unref(L_, LUA_REGISTRYINDEX, script.function_ref);
  scripts_.clear();
  lua_gc(L_, LUA_GCCOLLECT, 0);
}

void ScriptEngine::Eval(CommandContext& ctx, bool by_sha, bool read_only) {
  const std::optional<int64_t> numkeys = ParseInt64(ctx.arg(2));
  if (!numkeys) return ctx.reply().Error(errors::kNotInteger);
  if (*numkeys > static_cast<int64_t>(ctx.argc()) - 3) {
    return ctx.reply().Error("ERR Number of keys can't be greater than number of args");
  }
  if (*numkeys < 0) return ctx.reply().Error("ERR Number of keys can't be negative");
  if (run_ != nullptr || closed_) return ctx.reply().Error(errors::kBusyScript);

  const Script* script = nullptr;
  std::string sha;
  if (by_sha) {
    sha = Lower(ctx.arg(1));
    auto it = scripts_.find(sha);
    if (it == scripts_.end()) return ctx.reply().Error(errors::kNoScript);
    script = &it->second;
  } else {
    std::string error;
    script = Compile(ctx.arg(1), sha, error);
    if (script == nullptr) return ctx.reply().Error(error);
  }
  drivers::Store& store = ctx.store();
  if (!store.completes_inline()) return ctx.reply().Error(errors::ScriptNeedsInlineStore(store.name()));
  if (read_only && script->shebang && !script->no_writes) {
    return ctx.reply().Error("ERR Can not execute a script with write flag using *_ro command.");
  }

  run_ = std::make_unique<ScriptRun>();
  ScriptRun& run = *run_;
  run.engine = this;
  run.client_id = ctx.client().id;
  run.sha = sha;
  run.read_only = read_only || script->no_writes;
  run.started_ms = SteadyClockMs();
  run.ctx = &ctx;
  run.co = lua_newthread(L_);
  run.thread_ref = luaL_ref(L_, LUA_REGISTRYINDEX);
  lua_rawgeti(run.co, LUA_REGISTRYINDEX, script->function_ref);
  const size_t first_arg = 3 + static_cast<size_t>(*numkeys);
  for (auto [name, from, to] : {std::tuple{"KEYS", size_t{3}, first_arg},
                                std::tuple{"ARGV", first_arg, ctx.argc()}}) {
    lua_pushstring(run.co, name);
    lua_createtable(run.co, static_cast<int>(to - from), 0);
    for (size_t i = from; i < to; ++i) {
      lua_pushlstring(run.co, ctx.arg(i).data(), ctx.arg(i).size());
      lua_rawseti(run.co, -2, static_cast<int>(i - from + 1));
    }
    lua_rawset(run.co, LUA_GLOBALSINDEX);  // past the globals protection
  }
  lua_sethook(run.co, ScriptHook, LUA_MASKCOUNT, kHookInstructions);
  ctx.conn().BeginScript();
  Step();
}

void ScriptEngine::Step() {
  ScriptRun& run = *run_;
  if (run.kill) {
    return Finish([](protocol::ReplyWriter& out) {
      out.Error("ERR Script killed by user with SCRIPT KILL...");
    });
  }
  if (server_.FindClient(run.client_id) == nullptr) {
    spdlog::warn("script {} stopped: its client went away", run.sha);
    return Finish([](protocol::ReplyWriter&) {});
  }
  const int status = lua_resume(run.co, 0);
  if (status == LUA_YIELD) {  // ran long: let the loop serve others, resume on its next turn
    if (!run.suspended) {
      run.reply = run.ctx->Suspend();
      run.suspended = true;
      run.ctx = nullptr;
    }
    uv_idle_start(&resume_idle_, OnIdle);
    return;
  }
  if (status != 0) {
    std::string error = ErrorText(run.co, run.sha);
    return Finish([&error](protocol::ReplyWriter& out) { out.Error(error); });
  }
  lua_settop(run.co, 1);  // the first value returned, or nil
  lua_State* co = run.co;
  Finish([co](protocol::ReplyWriter& out) { WriteValue(co, out); });
}

template <typename WriteFn>
void ScriptEngine::Finish(WriteFn&& write) {
  std::unique_ptr<ScriptRun> run = std::move(run_);
  uv_idle_stop(&resume_idle_);
  lua_sethook(run->co, nullptr, 0, 0);
  if (Connection* conn = server_.FindClient(run->client_id)) conn->EndScript();
  if (run->suspended) {
    run->reply.Finish(write);
  } else if (run->ctx != nullptr) {
    write(run->ctx->reply());
  }
  luaL_unref(L_, LUA_REGISTRYINDEX, run->thread_ref);  // after `write` read its stack
  if (++runs_ % kGcPeriod == 0) lua_gc(L_, LUA_GCSTEP, kGcPeriod);
}

void ScriptEngine::OnIdle(uv_idle_t* idle) {
  auto* engine = static_cast<ScriptEngine*>(idle->data);
  uv_idle_stop(idle);
  if (engine->run_ != nullptr) engine->Step();
}

void ScriptEngine::Kill(CommandContext& ctx) {
  if (run_ == nullptr || !run_->busy) return ctx.reply().Error(errors::kNotBusy);
  if (run_->wrote) return ctx.reply().Error(errors::kUnkillable);
  run_->kill = true;
  ctx.reply().Ok();
}

void ScriptEngine::Close() {
  if (closed_) return;
  closed_ = true;
  if (run_ != nullptr) {
    Finish([](protocol::ReplyWriter& out) {
      out.Error("ERR script stopped: the server is shutting down");
    });
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&resume_idle_), nullptr);
}

}  // namespace arvel::server::scripting
