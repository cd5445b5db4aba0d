#pragma once
// The Lua scripts of the redis driver: every operation (operation.h) that Redis has no single
// native command for runs as one of these, through EVALSHA, so it stays one atomic round trip.
// Each reproduces the decision of the generic executor (local_executor.cc) on the upstream
// records; redis_commands.cc says which operation uses which script and with what arguments.
//
// The SHA-1 digests are computed here, so a connection can EVALSHA without waiting for SCRIPT
// LOAD's answer; connections load every script when they connect, and a NOSCRIPT reply (the
// server restarted or ran SCRIPT FLUSH) is retried once with EVAL and the source.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace arvel::drivers {

enum class ScriptId : size_t {
  kRead,
  kSet,
  kSetMany,
  kDelete,
  kTake,
  kIncrement,
  kAppend,
  kExpire,
  kAcquire,
  kReleaseIf,
  kExtendIf,
  kTakeLease,
  kFunnel,
  kWindowHit,
  kWindowGiveBack,
  kGcra,
  kEnsureGenerations,
};

struct RedisScript {
  std::string_view name;
  std::string source;
  std::string sha1;  // 40 lower-case hex digits of SHA-1(source), as Redis names scripts
};

const RedisScript& Script(ScriptId id);
// Every script, for SCRIPT LOAD at connect.
std::span<const RedisScript> AllScripts();
// 40 lower-case hex digits of SHA-1(text): how Redis names a script (EVALSHA, SCRIPT LOAD).
std::string Sha1Hex(std::string_view text);

}  // namespace arvel::drivers
