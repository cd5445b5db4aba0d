#pragma once
// EVAL and friends: one Lua 5.1 interpreter for the daemon, set up as Redis 7 sets up its own
// (KEYS/ARGV, redis.call/pcall through our command table, redis.error_reply/status_reply/
// sha1hex/log/setresp, no new globals), with scripts cached by SHA-1.
//
// Atomicity. A script runs on the loop thread, and each redis.call runs its command through the
// calling connection at once (Connection::ExecuteCaptured), so no other client's command can
// come between two of its calls. That holds only on stores whose commands complete inline
// (array, null, FAKE): on a store whose commands complete later (file, database, redis) the
// script is refused with an error that says why, rather than run without isolation.
//
// Long scripts. Each script runs as a coroutine; a count hook checks the clock, and once the
// script has run for busy_reply_threshold ms it yields between instructions (never across a C
// call such as pcall, which Lua 5.1 cannot yield through) and is resumed on the next loop turns.
// Meanwhile other clients are served — with -BUSY, except for the commands Redis allows then
// (kAllowBusy: SCRIPT KILL, SHUTDOWN, AUTH, HELLO…) — so SCRIPT KILL can stop a script that has
// written nothing.

#include <uv.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "server/command.h"

struct lua_State;

namespace arvel::server {
class Server;
}

namespace arvel::server::scripting {

class ScriptRun;

class ScriptEngine {
 public:
  explicit ScriptEngine(Server& server);
  ~ScriptEngine();
  ScriptEngine(const ScriptEngine&) = delete;
  ScriptEngine& operator=(const ScriptEngine&) = delete;

  // EVAL/EVALSHA/EVAL_RO/EVALSHA_RO: ctx.args() = name, script or sha, numkeys, keys…, args….
  void Eval(CommandContext& ctx, bool by_sha, bool read_only);
  // SCRIPT LOAD: compiles and caches; replies with the SHA-1 or the compile error.
  void Load(CommandContext& ctx, std::string_view body);
  // `sha` in any case, as EVALSHA and SCRIPT EXISTS take it.
  bool Has(std::string_view sha) const;
  // Whether the script EVAL (`by_sha` false: args[1] is its body) or EVALSHA names may write:
  // false only when its shebang declares no-writes (CLIENT PAUSE WRITE lets it run). A script
  // not loaded, or whose shebang is invalid, counts as a writer.
  bool MayWrite(std::string_view body_or_sha, bool by_sha) const;
  // SCRIPT FLUSH: forgets every script (a running one finishes).
  void Flush();
  // SCRIPT KILL.
  void Kill(CommandContext& ctx);

  // A script has run past busy_reply_threshold: clients other than `client_id` get -BUSY.
  bool BusyFor(uint64_t client_id) const;
  ScriptRun* running() const { return run_.get(); }
  Server& server() { return server_; }
  int64_t busy_threshold_ms() const;
  size_t script_count() const { return scripts_.size(); }
  int64_t memory_bytes() const;
  // At shutdown: stops a running script and closes the loop handle.
  void Close();

 private:
  struct Script {
    std::string body;
    int function_ref;  // the compiled chunk, in the registry
    bool shebang;      // starts with "#!lua": flags are declared (EVAL_RO needs no-writes)
    bool no_writes;    // shebang flag no-writes
  };

  void OpenLibraries();
  // Compiles `body` (cached by its SHA-1); nullptr and an error reply text on failure.
  const Script* Compile(std::string_view body, std::string& sha, std::string& error);
  void Step();
  // Ends the run: `write` writes its reply (inline or into the suspended slot), after the
  // engine and the connection are ready for the client's next command.
  template <typename WriteFn>
  void Finish(WriteFn&& write);
  static void OnIdle(uv_idle_t* idle);

  Server& server_;
  lua_State* L_ = nullptr;
  absl::flat_hash_map<std::string, Script> scripts_;
  std::unique_ptr<ScriptRun> run_;  // the script running now, if any
  uv_idle_t resume_idle_{};
  bool closed_ = false;
  int64_t runs_ = 0;

  friend class ScriptRun;
};

}  // namespace arvel::server::scripting
