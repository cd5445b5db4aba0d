#pragma once
// How the redis driver executes each operation (operation.h): as ONE upstream command where
// Redis has a native one with the same meaning (SET with NX/XX/GET/PX/PXAT/KEEPTTL, MSET,
// MSETNX, DEL, GETDEL, INCRBY, INCRBYFLOAT, SETRANGE, PEXPIRE/PEXPIREAT with NX/XX/GT/LT,
// PERSIST), else as ONE script (redis_scripts.h): tagged items (a value prefix), locks, leases,
// throttling, tag generations, APPEND's size limit, anything that needs "now". Either way the
// operation is one atomic round trip, so atomicity across daemons is Redis's own.
//
// Pure translation: no I/O, no state; tested without a server.

#include <hiredis/hiredis.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "drivers/operation.h"
#include "drivers/redis_keys.h"
#include "drivers/redis_scripts.h"

namespace arvel::drivers {

// One upstream call and how its reply becomes the operation's result.
struct UpstreamCall {
  std::vector<std::string> argv;
  // Set when argv is EVALSHA of this script (a NOSCRIPT reply is retried with EVAL).
  const RedisScript* script = nullptr;
  // Fills `result` from a reply that is not an error reply; an error Status when the reply does
  // not have the expected shape.
  std::function<Status(const redisReply& reply, OpResult& result)> decode;
};

// The call executing `operation` on the keys of `keys`. `now_ms` (the daemon's clock) only
// decides when a huge relative expiry must become an absolute one to avoid Redis's overflow
// check; every "now" an operation depends on is Redis's. Errors: an operation refused before
// it reaches Redis (CL.THROTTLE's argument checks), with the executor's text.
Result<UpstreamCall> TranslateOperation(const Operation& operation, const RedisKeys& keys,
                                        int64_t now_ms);

// An EVALSHA call of `script` with `keys` and `args`.
std::vector<std::string> EvalShaArgv(const RedisScript& script, std::vector<std::string> keys,
                                     std::vector<std::string> args);

// Whether an operation that succeeded with `result` may have changed its keys (then the
// observer is told, for WATCH and waiters). Errs on the side of "changed".
bool MayHaveChanged(const Operation& operation, const OpResult& result);
// The keys such an operation may have changed: its keys (KeysOf), but only the destination of a
// Copy.
std::vector<std::string_view> KeysItMayChange(const Operation& operation);

// The Status for an error reply of Redis. Errors of the command itself (texts of
// common/errors.h such as "ERR value is not an integer or out of range", WRONGTYPE, OOM) pass
// through, without the " script: …" suffix Redis 7 adds inside scripts; errors that mean the
// server cannot serve now (LOADING, BUSY, READONLY, MASTERDOWN, NOAUTH…) become
// "store 'NAME' unavailable: …".
Status ErrorReplyStatus(std::string_view error, std::string_view store_name);
// True when the server must be told who we are again, or has lost its scripts.
inline bool IsNoScript(std::string_view error) { return error.starts_with("NOSCRIPT"); }

// An integer in a reply, integer or bulk string (scripts return int64 values as strings);
// out-of-range digit strings clamp to the int64 range. nullopt for anything else.
std::optional<int64_t> ReplyInteger(const redisReply& reply);

}  // namespace arvel::drivers
