// The script environment, as Redis 7.0 sets it up: the base, table, string and math libraries
// (no loadfile/dofile), the `redis` table, a pcall that hands redis errors back as strings, and
// globals protection. Lua reports errors with longjmp, so every function here finishes its C++
// work (and destroys its objects) in a nested scope before it may raise.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <lua.hpp>
extern "C" {  // Debian's lua-bitop and lua-cjson headers need lua.h first, and give no linkage
#include <lua-bitop.h>
#include <lua-cjson.h>
}

#include "drivers/redis_scripts.h"
#include "server/command_table.h"
#include "server/connection.h"
#include "server/scripting/lua_values.h"
#include "server/scripting/script_engine.h"
#include "server/scripting/script_run.h"
#include "server/server.h"

namespace arvel::server::scripting {

namespace {

const char kEngineKey = 0;  // its address keys the engine in the registry

// Runs the command redis.call asked for, pushing its reply (or an error table). True when an
// error table was pushed.
bool RunCommand(lua_State* co) {
  ScriptEngine* engine = EngineOf(co);
  ScriptRun* run = engine->running();
  const int argc = lua_gettop(co);
  if (run == nullptr) {
    lua_settop(co, 0);
    PushErrorTable(co, "redis.call/pcall can only be called inside a script invocation");
    return true;
  }
  if (argc == 0) {
    PushErrorTable(co, "Please specify at least one argument for this redis lib call");
    return true;
  }
  std::vector<std::string> args;
  args.reserve(static_cast<size_t>(argc));
  for (int i = 1; i <= argc; ++i) {
    if (lua_type(co, i) == LUA_TNUMBER) {
      // Not lua_tolstring: its %.14g loses precision.
      char buf[64];
      const int n = std::snprintf(buf, sizeof(buf), "%.17g", lua_tonumber(co, i));
      args.emplace_back(buf, static_cast<size_t>(n));
      continue;
    }
    size_t len = 0;
    const char* s = lua_type(co, i) == LUA_TSTRING ? lua_tolstring(co, i, &len) : nullptr;
    if (s == nullptr) {
      lua_settop(co, 0);
      PushErrorTable(co, "Lua redis lib command arguments must be strings or integers");
      return true;
    }
    args.emplace_back(s, len);
  }
  lua_settop(co, 0);
  const CommandSpec* spec = CommandTable::Default().Find(args[0]);
  std::string_view refusal;
  if (spec == nullptr) {
    refusal = "Unknown Redis command called from script";
  } else if (!CommandTable::ArityOk(*spec, args.size())) {
    refusal = "Wrong number of args calling Redis command from script";
  } else if (spec->flags & (kNoMulti | kConnectionState | kAdmin)) {
    refusal = "This Redis command is not allowed from script";
  } else if (run->read_only && (spec->flags & kWrite)) {
    refusal = "Write commands are not allowed from read-only scripts.";
  }
  Connection* conn = engine->server().FindClient(run->client_id);
  if (refusal.empty() && conn == nullptr) refusal = "the client running the script went away";
  if (!refusal.empty()) {
    PushErrorTable(co, refusal);
    return true;
  }
  if (spec->flags & kWrite) run->wrote = true;
  std::vector<std::string_view> views(args.begin(), args.end());
  std::string reply;
  if (!conn->ExecuteCaptured(*spec, views, run->resp, reply)) {
    PushErrorTable(co, "command did not complete at once, which a script needs");
    return true;
  }
  // Our handlers check variable argument counts themselves; say it as Redis's table check does.
  if (reply.starts_with("-ERR wrong number of arguments")) {
    PushErrorTable(co, "Wrong number of args calling Redis command from script");
    return true;
  }
  if (!PushReply(co, reply)) {
    PushErrorTable(co, "unreadable reply from " + args[0]);
    return true;
  }
  return reply[0] == '-';
}

int Call(lua_State* co) {
  if (RunCommand(co)) return lua_error(co);
  return 1;
}

int PCall(lua_State* co) {
  RunCommand(co);
  return 1;
}

// pcall(f, …) as Redis 7 has it: a redis error table comes back as its message string.
int ProtectedCall(lua_State* L) {
  luaL_checkany(L, 1);
  lua_pushboolean(L, 1);
  lua_insert(L, 1);
  if (lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 0) != 0) {
    lua_remove(L, 1);
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "err");
      if (lua_isstring(L, -1)) {
        lua_replace(L, -2);
      } else {
        lua_pop(L, 1);
      }
    }
    lua_pushboolean(L, 0);
    lua_insert(L, 1);
  }
  return lua_gettop(L);
}

int ErrorReply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
    PushErrorTable(L, "wrong number or type of arguments");
    return 1;
  }
  {
    const std::string text = lua_tostring(L, -1);
    PushErrorTable(L, text.starts_with('-') ? text : "-" + text);
  }
  return 1;
}

int StatusReply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
    PushErrorTable(L, "wrong number or type of arguments");
    return 1;
  }
  lua_newtable(L);
  lua_pushstring(L, "ok");
  lua_pushvalue(L, -3);
  lua_settable(L, -3);
  return 1;
}

int Sha1(lua_State* L) {
  if (lua_gettop(L) != 1) {
    PushErrorTable(L, "wrong number of arguments");
    return lua_error(L);
  }
  {
    size_t len = 0;
    const char* s = lua_tolstring(L, 1, &len);
    const std::string hex = drivers::Sha1Hex(std::string_view(s == nullptr ? "" : s, len));
    lua_pushlstring(L, hex.data(), hex.size());
  }
  return 1;
}

// Raises `message` as a redis error table.
int Raise(lua_State* L, const char* message) {
  PushErrorTable(L, message);
  return lua_error(L);
}

int Log(lua_State* L) {
  const int argc = lua_gettop(L);
  if (argc < 2) return Raise(L, "redis.log() requires two arguments or more.");
  if (!lua_isnumber(L, 1)) return Raise(L, "First argument must be a number (log level).");
  const lua_Number level_number = lua_tonumber(L, 1);
  if (!(level_number >= 0 && level_number < 4)) return Raise(L, "Invalid debug level.");
  const int level = static_cast<int>(level_number);
  {
    std::string line;
    for (int i = 2; i <= argc; ++i) {
      size_t len = 0;
      const char* s = lua_tolstring(L, i, &len);
      if (s == nullptr) continue;
      if (!line.empty()) line += ' ';
      line.append(s, len);
    }
    static constexpr spdlog::level::level_enum kLevels[] = {
        spdlog::level::debug, spdlog::level::debug, spdlog::level::info, spdlog::level::warn};
    spdlog::log(kLevels[level], "script: {}", line);
  }
  return 0;
}

int SetResp(lua_State* L) {
  ScriptRun* run = EngineOf(L)->running();
  if (run == nullptr) return Raise(L, "redis.setresp can only be called inside a script invocation");
  if (lua_gettop(L) != 1) return Raise(L, "redis.setresp() requires one argument.");
  const lua_Number resp = lua_tonumber(L, 1);
  if (resp != 2 && resp != 3) return Raise(L, "RESP version must be 2 or 3.");
  run->resp = resp == 3 ? protocol::RespVersion::kResp3 : protocol::RespVersion::kResp2;
  return 0;
}

int SetRepl(lua_State* L) {
  if (lua_gettop(L) != 1) return Raise(L, "redis.set_repl() requires two arguments.");
  const lua_Number flags = lua_tonumber(L, 1);
  if (!(flags >= 0 && flags <= 3)) {
    return Raise(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
  }
  return 0;  // nothing is replicated: every flag means the same here
}

int ReturnTrue(lua_State* L) {
  lua_pushboolean(L, 1);
  return 1;
}

int ReturnFalse(lua_State* L) {
  lua_pushboolean(L, 0);
  return 1;
}

// The sandbox. Redis 7 makes the globals and library tables read-only with a patched Lua; Debian's
// stock Lua 5.1 has no such flag, so scripts run with a proxy as their environment: reads go
// through to the real globals (a missing one is an error, so a typo does not read nil), writes
// fail; library tables are proxies too, and their metatables are locked.
constexpr const char* kReadonly = "Attempt to modify a readonly table";
const char kProxyKey = 0;  // the script environment, in the registry

int ReadonlyWrite(lua_State* L) { return luaL_error(L, kReadonly); }

bool CalledFromC(lua_State* L) {
  lua_Debug ar;
  return lua_getstack(L, 1, &ar) != 0 && lua_getinfo(L, "S", &ar) != 0 && ar.what[0] == 'C';
}

// __index of the script environment: the real global, or an error for a missing one (except
// for C code probing for optional names).
int GlobalRead(lua_State* L) {
  lua_pushvalue(L, 2);
  lua_rawget(L, LUA_GLOBALSINDEX);
  if (!lua_isnil(L, -1) || CalledFromC(L)) return 1;
  return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                    luaL_optstring(L, 2, "?"));
}

// Pushes a read-only view of the table at `index`, whose __index is `read` (or the table).
void PushReadonlyView(lua_State* L, int index, lua_CFunction read) {
  if (index < 0 && index > LUA_REGISTRYINDEX) index = lua_gettop(L) + index + 1;
  lua_newtable(L);  // the view
  lua_newtable(L);  // its metatable
  if (read != nullptr) {
    lua_pushcfunction(L, read);
  } else {
    lua_pushvalue(L, index);
  }
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ReadonlyWrite);
  lua_setfield(L, -2, "__newindex");
  // getmetatable() answers with this (itself read-only), so the metatable cannot be reached.
  lua_newtable(L);
  lua_newtable(L);
  lua_pushcfunction(L, ReadonlyWrite);
  lua_setfield(L, -2, "__newindex");
  lua_setmetatable(L, -2);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
}

void PushScriptEnvironment(lua_State* L) {
  lua_pushlightuserdata(L, const_cast<char*>(&kProxyKey));
  lua_rawget(L, LUA_REGISTRYINDEX);
}

// setmetatable on a locked table fails with Redis's text rather than Lua's.
int SetMetatable(lua_State* L) {
  if (lua_getmetatable(L, 1) != 0) {
    lua_getfield(L, -1, "__metatable");
    if (!lua_isnil(L, -1)) return luaL_error(L, kReadonly);
    lua_pop(L, 2);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

// loadstring(s [, name]): text only (bytecode could crash the VM), run in the script
// environment.
int LoadString(lua_State* L) {
  size_t len = 0;
  const char* code = luaL_checklstring(L, 1, &len);
  const char* name = luaL_optstring(L, 2, code);
  if (len > 0 && code[0] == LUA_SIGNATURE[0]) {
    lua_pushnil(L);
    lua_pushstring(L, "binary code is not allowed");
    return 2;
  }
  if (luaL_loadbuffer(L, code, len, name) != 0) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  PushScriptEnvironment(L);
  lua_setfenv(L, -2);
  return 1;
}

// load(reader [, name]): the pieces joined, then as loadstring.
int Load(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  const char* name = luaL_optstring(L, 2, "=(load)");
  luaL_Buffer buffer;
  luaL_buffinit(L, &buffer);
  while (true) {
    lua_pushvalue(L, 1);
    lua_call(L, 0, 1);
    if (lua_isnil(L, -1) || (lua_isstring(L, -1) && lua_objlen(L, -1) == 0)) {
      lua_pop(L, 1);
      break;
    }
    if (!lua_isstring(L, -1)) return luaL_error(L, "reader function must return a string");
    luaL_addvalue(&buffer);
  }
  luaL_pushresult(&buffer);
  lua_pushcfunction(L, LoadString);
  lua_insert(L, -2);
  lua_pushstring(L, name);
  lua_call(L, 2, 2);
  return 2;
}

// unpack(t [, i [, j]]) without stock Lua 5.1's overflow: a range like (-2147483648, -2) passes
// its stack check and crashes the interpreter (Redis patches its copy the same way).
int Unpack(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const int64_t first = luaL_optint(L, 2, 1);
  const int64_t last = lua_isnoneornil(L, 3) ? luaL_getn(L, 1) : luaL_checkint(L, 3);
  if (first > last) return 0;
  const int64_t count = last - first + 1;
  if (count > LUAI_MAXCSTACK || !lua_checkstack(L, static_cast<int>(count))) {
    return luaL_error(L, "too many results to unpack");
  }
  for (int64_t i = first; i <= last; ++i) lua_rawgeti(L, 1, static_cast<int>(i));
  return static_cast<int>(count);
}

// Redis 7.0's allow list of builtins (minus the deprecated setfenv/getfenv/newproxy, which could
// reach the real globals).
constexpr std::string_view kAllowedGlobals[] = {
    "xpcall", "tostring", "setmetatable", "next", "assert", "tonumber", "rawequal",
    "collectgarbage", "getmetatable", "rawset", "pcall", "coroutine", "type", "_G", "select",
    "unpack", "gcinfo", "pairs", "rawget", "loadstring", "ipairs", "_VERSION", "load", "error",
    "string", "math", "table", "redis", "cjson", "bit"};

void RemoveUnlistedGlobals(lua_State* L) {
  std::vector<std::string> unlisted;
  lua_pushnil(L);
  while (lua_next(L, LUA_GLOBALSINDEX) != 0) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) continue;
    std::string_view name = lua_tostring(L, -1);
    if (std::find(std::begin(kAllowedGlobals), std::end(kAllowedGlobals), name) ==
        std::end(kAllowedGlobals)) {
      unlisted.emplace_back(name);
    }
  }
  for (const std::string& name : unlisted) {
    lua_pushnil(L);
    lua_setglobal(L, name.c_str());
  }
}

void Wrap(lua_State* L, const char* name, lua_CFunction wrapper) {
  lua_getglobal(L, name);
  lua_pushcclosure(L, wrapper, 1);
  lua_setglobal(L, name);
}

// bit.tohex(x, n) with n clamped to ±8: LuaBitOp 1.0.2 negates n, and -(-2147483648) overflows
// into a buffer overrun (Redis patches its copy the same way).
int ToHex(lua_State* L) {
  if (!lua_isnoneornil(L, 2)) {
    const lua_Number n = luaL_checknumber(L, 2);
    lua_pushnumber(L, n < -8 ? -8 : n > 8 ? 8 : n);
    lua_replace(L, 2);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

void LockLibraries(lua_State* L) {
  lua_getglobal(L, "bit");
  lua_getfield(L, -1, "tohex");
  lua_pushcclosure(L, ToHex, 1);
  lua_setfield(L, -2, "tohex");
  lua_pop(L, 1);
  for (const char* name : {"string", "math", "table", "coroutine", "redis", "cjson", "bit"}) {
    lua_getglobal(L, name);
    PushReadonlyView(L, -1, nullptr);
    lua_setglobal(L, name);
    lua_pop(L, 1);
  }
  // Strings' metatable reaches the string library: getmetatable('') answers an empty read-only
  // table instead.
  lua_pushstring(L, "");
  lua_getmetatable(L, -1);
  lua_newtable(L);
  PushReadonlyView(L, -1, nullptr);
  lua_setfield(L, -3, "__metatable");
  lua_pop(L, 3);
}

void SetFunction(lua_State* L, const char* name, lua_CFunction fn) {
  lua_pushstring(L, name);
  lua_pushcfunction(L, fn);
  lua_settable(L, -3);
}

void SetNumber(lua_State* L, const char* name, lua_Number value) {
  lua_pushstring(L, name);
  lua_pushnumber(L, value);
  lua_settable(L, -3);
}

void OpenRedisTable(lua_State* L) {
  lua_newtable(L);
  SetFunction(L, "call", Call);
  SetFunction(L, "pcall", PCall);
  SetFunction(L, "error_reply", ErrorReply);
  SetFunction(L, "status_reply", StatusReply);
  SetFunction(L, "sha1hex", Sha1);
  SetFunction(L, "log", Log);
  SetFunction(L, "setresp", SetResp);
  SetFunction(L, "set_repl", SetRepl);
  SetFunction(L, "replicate_commands", ReturnTrue);
  SetFunction(L, "breakpoint", ReturnFalse);
  SetFunction(L, "debug", ReturnFalse);
  SetNumber(L, "LOG_DEBUG", 0);
  SetNumber(L, "LOG_VERBOSE", 1);
  SetNumber(L, "LOG_NOTICE", 2);
  SetNumber(L, "LOG_WARNING", 3);
  SetNumber(L, "REPL_NONE", 0);
  SetNumber(L, "REPL_AOF", 1);
  SetNumber(L, "REPL_SLAVE", 2);
  SetNumber(L, "REPL_REPLICA", 2);
  SetNumber(L, "REPL_ALL", 3);
  lua_pushstring(L, "REDIS_VERSION");
  lua_pushstring(L, "7.0.15");
  lua_settable(L, -3);
  SetNumber(L, "REDIS_VERSION_NUM", 0x07000f);
  lua_setglobal(L, "redis");
}

// In a count hook, yielding is possible only if no C function (pcall, table.sort, string.gsub
// with a function…) and no metamethod or for-iterator call lies between the hook and the
// coroutine's entry: Lua 5.1 cannot yield across them.
bool CanYield(lua_State* co) {
  lua_Debug ar;
  for (int level = 0; lua_getstack(co, level, &ar) != 0; ++level) {
    if (lua_getinfo(co, "Sn", &ar) == 0) return false;
    if (ar.what[0] == 'C') return false;
    if (ar.namewhat != nullptr &&
        (std::string_view(ar.namewhat) == "metamethod" ||
         std::string_view(ar.namewhat) == "for iterator")) {
      return false;
    }
  }
  return true;
}

}  // namespace

ScriptEngine* EngineOf(lua_State* L) {
  lua_pushlightuserdata(L, const_cast<char*>(&kEngineKey));
  lua_rawget(L, LUA_REGISTRYINDEX);
  auto* engine = static_cast<ScriptEngine*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return engine;
}

void OpenScriptLibrary(lua_State* L, ScriptEngine* engine) {
  lua_pushlightuserdata(L, const_cast<char*>(&kEngineKey));
  lua_pushlightuserdata(L, engine);
  lua_rawset(L, LUA_REGISTRYINDEX);

  // Each opener returns its table (base: _G), which becomes the global of that name.
  const std::pair<const char*, lua_CFunction> libraries[] = {
      {"_G", luaopen_base},           {LUA_TABLIBNAME, luaopen_table},
      {LUA_STRLIBNAME, luaopen_string}, {LUA_MATHLIBNAME, luaopen_math},
      {"cjson", luaopen_cjson},       {"bit", luaopen_bit}};
  for (const auto& [name, open] : libraries) {
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    lua_setglobal(L, name);
  }
  lua_pushcfunction(L, ProtectedCall);
  lua_setglobal(L, "pcall");
  lua_pushcfunction(L, Unpack);
  lua_setglobal(L, "unpack");
  OpenRedisTable(L);
  RemoveUnlistedGlobals(L);
  Wrap(L, "setmetatable", SetMetatable);
  lua_pushcfunction(L, LoadString);
  lua_setglobal(L, "loadstring");
  lua_pushcfunction(L, Load);
  lua_setglobal(L, "load");
  LockLibraries(L);

  lua_pushlightuserdata(L, const_cast<char*>(&kProxyKey));
  PushReadonlyView(L, LUA_GLOBALSINDEX, GlobalRead);
  lua_pushvalue(L, -1);
  lua_setglobal(L, "_G");  // scripts see the view as _G too
  lua_rawset(L, LUA_REGISTRYINDEX);
}

void SetScriptEnvironment(lua_State* L) {
  PushScriptEnvironment(L);
  lua_setfenv(L, -2);
}

void ScriptHook(lua_State* co, lua_Debug*) {
  ScriptRun* run = EngineOf(co)->running();
  if (run == nullptr) return;
  if (SteadyClockMs() - run->started_ms < run->engine->busy_threshold_ms()) return;
  if (!run->busy) {
    run->busy = true;
    spdlog::warn("a script (sha {}) has run {} ms: other clients get -BUSY until it ends",
                 run->sha, SteadyClockMs() - run->started_ms);
  }
  if (CanYield(co)) lua_yield(co, 0);
}

int64_t SteadyClockMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace arvel::server::scripting
