#pragma once
// One script invocation (EVAL…): its coroutine, its caller, and what it has done so far. Lives in
// ScriptEngine::run_ from the EVAL until the reply is written; redis.call (script_library.cc)
// reads it to know whom it runs for.

#include <lua.hpp>

#include <cstdint>
#include <string>

#include "protocol/resp_writer.h"
#include "server/command.h"

namespace arvel::server::scripting {

class ScriptEngine;

struct ScriptRun {
  ScriptEngine* engine = nullptr;
  uint64_t client_id = 0;
  std::string sha;
  lua_State* co = nullptr;  // the coroutine running the script
  int thread_ref = 0;       // keeps `co` from being collected
  bool read_only = false;   // EVAL_RO, or the shebang's no-writes
  bool wrote = false;       // a write command has run: SCRIPT KILL refuses
  bool kill = false;        // SCRIPT KILL asked (while it yielded)
  bool busy = false;        // ran past busy_reply_threshold: others get -BUSY
  int64_t started_ms = 0;   // steady clock
  protocol::RespVersion resp = protocol::RespVersion::kResp2;  // redis.setresp
  // Set once the script yielded (it ran long): the EVAL's reply slot.
  bool suspended = false;
  PendingReply reply;
  // While the EVAL handler runs: its context, to reply inline.
  CommandContext* ctx = nullptr;
};

// redis.* and the sandbox (script_library.cc).
void OpenScriptLibrary(lua_State* L, ScriptEngine* engine);
// Makes the function on top of L's stack run in the script sandbox (script_library.cc).
void SetScriptEnvironment(lua_State* L);
// The count hook: kills or yields a long script (script_library.cc).
void ScriptHook(lua_State* co, lua_Debug* ar);
int64_t SteadyClockMs();
// The engine set up by OpenScriptLibrary.
ScriptEngine* EngineOf(lua_State* L);

}  // namespace arvel::server::scripting
