#pragma once
// Every error text a client may see, in one place. Texts follow Redis 7 where Redis has the same
// error, because client libraries match on them.

#include <string>
#include <string_view>

namespace arvel::errors {

inline constexpr std::string_view kSyntax = "ERR syntax error";
inline constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kIncrOverflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view kIncrFloatNaN = "ERR increment would produce NaN or Infinity";
inline constexpr std::string_view kDbIndex = "ERR DB index is out of range";
inline constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kNoAuth = "NOAUTH Authentication required.";
inline constexpr std::string_view kWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";
inline constexpr std::string_view kAuthNoPassword =
    "ERR AUTH <password> called without any password configured for the default user. Are you "
    "sure your configuration is correct?";
inline constexpr std::string_view kMaxClients = "ERR max number of clients reached";
inline constexpr std::string_view kProtectedMode =
    "DENIED Redis is running in protected mode because protected mode is enabled and no password "
    "is set for the default user. In this mode connections are only accepted from the loopback "
    "interface. If you want to connect from external computers, you may adopt one of the "
    "following solutions: 1) Set a password: [server] password in cache.toml, or "
    "CACHE_PASSWORD. 2) Disable protected mode, if the network around the daemon is trusted: "
    "protected_mode = false in [server], or CACHE_PROTECTED_MODE=false, and restart. NOTE: You "
    "only need to do one of the above things in order for the server to start accepting "
    "connections from the outside.";
inline constexpr std::string_view kNestedMulti = "ERR MULTI calls can not be nested";
inline constexpr std::string_view kExecWithoutMulti = "ERR EXEC without MULTI";
inline constexpr std::string_view kDiscardWithoutMulti = "ERR DISCARD without MULTI";
inline constexpr std::string_view kNotInMulti = "ERR Command not allowed inside a transaction";
inline constexpr std::string_view kWatchInMulti = "ERR WATCH inside MULTI is not allowed";
inline constexpr std::string_view kExecAbort =
    "EXECABORT Transaction discarded because of previous errors.";
inline constexpr std::string_view kStringTooLong =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
inline constexpr std::string_view kOffsetOutOfRange = "ERR offset is out of range";
inline constexpr std::string_view kOom = "OOM command not allowed when used memory > 'maxmemory'.";
inline constexpr std::string_view kBadClientName =
    "ERR Client names cannot contain spaces, newlines or special characters.";
inline constexpr std::string_view kNoSuchClient = "ERR No such client";
inline constexpr std::string_view kNoLeaseToken = "ERR cannot generate a lease token: no entropy";
inline constexpr std::string_view kBadTimeout = "ERR timeout is not a float or out of range";
inline constexpr std::string_view kNegativeTimeout = "ERR timeout is negative";
inline constexpr std::string_view kEmptyOwner = "ERR OWNER token must not be empty";
inline constexpr std::string_view kBadFunnelLimit = "ERR limit must be a positive integer";
inline constexpr std::string_view kNoLockToken = "ERR cannot generate a lock token: no entropy";
inline constexpr std::string_view kBadLease = "ERR LEASE must be a positive integer";
inline constexpr std::string_view kBadFlexibleWindow =
    "ERR FLEXIBLE fresh and stale must be whole seconds with 0 <= fresh <= stale and stale > 0";
inline constexpr std::string_view kTravelWithoutFake =
    "ERR FAKE TRAVEL moves the clock of a fake store: call FAKE first";
inline constexpr std::string_view kBadTravel =
    "ERR FAKE TRAVEL seconds must be a non-negative integer";
inline constexpr std::string_view kNegativeBurst = "ERR max_burst must be a non-negative integer";
inline constexpr std::string_view kBadCount = "ERR count must be a positive integer";
inline constexpr std::string_view kBadPeriod = "ERR period must be a positive integer";
inline constexpr std::string_view kNegativeQuantity = "ERR quantity must be a non-negative integer";
inline constexpr std::string_view kRateOutOfRange =
    "ERR rate limit out of range: count / period or max_burst is too large";
inline constexpr std::string_view kEmptyTagList = "ERR the tag list is empty";
inline constexpr std::string_view kEmptyTag = "ERR empty tag in the tag list";
inline constexpr std::string_view kNoTagGeneration =
    "ERR cannot generate a tag generation: no entropy";
inline constexpr std::string_view kBusyScript =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
inline constexpr std::string_view kNoScript = "NOSCRIPT No matching script. Please use EVAL.";
// OBJECT FREQ: eviction here is by recency (Redis's reply under an LRU policy).
inline constexpr std::string_view kNoLfuPolicy =
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
    "that when switching between policies at runtime LRU and LFU data will take some time to "
    "adjust.";
inline constexpr std::string_view kNotBusy = "NOTBUSY No scripts in execution right now.";
inline constexpr std::string_view kUnkillable =
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can "
    "either wait the script termination or kill the server in a hard way using the SHUTDOWN "
    "NOSAVE command.";
inline constexpr std::string_view kNoProto = "NOPROTO unsupported protocol version";
// String, key and cache commands (Redis 7 texts).
inline constexpr std::string_view kDecrOverflow = "ERR decrement would overflow";
inline constexpr std::string_view kExpireNxConflict =
    "ERR NX and XX, GT or LT options at the same time are not compatible";
inline constexpr std::string_view kExpireGtLtConflict =
    "ERR GT and LT options at the same time are not compatible";
inline constexpr std::string_view kInvalidCursor = "ERR invalid cursor";
// Bitmap, LCS, RENAME and COPY (Redis 7 texts).
inline constexpr std::string_view kBitOffset = "ERR bit offset is not an integer or out of range";
inline constexpr std::string_view kBitValue = "ERR bit is not an integer or out of range";
inline constexpr std::string_view kBitArgument = "ERR The bit argument must be 1 or 0.";
inline constexpr std::string_view kLcsLenAndIdx =
    "ERR If you want both the length and indexes, please just use IDX.";
inline constexpr std::string_view kLcsTooLong = "ERR String too long for LCS";
inline constexpr std::string_view kLcsTooMuchMemory =
    "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
inline constexpr std::string_view kNoSuchKey = "ERR no such key";
inline constexpr std::string_view kSameObject = "ERR source and destination objects are the same";
inline constexpr std::string_view kNotInt32 =
    "ERR value is out of range, value must between -2147483648 and 2147483647";

// Server, store and testing commands.
// CONFIG SET of a parameter that is fixed at start-up.
inline std::string ConfigSetUnsupported(std::string_view parameter) {
  return "ERR CONFIG SET of '" + std::string(parameter) +
         "' is not supported (only busy-reply-threshold, lua-time-limit, "
         "slowlog-log-slower-than and slowlog-max-len change at run time); edit cache.toml and "
         "restart";
}
inline constexpr std::string_view kConfigRewriteUnsupported =
    "ERR CONFIG REWRITE is not supported; edit cache.toml and restart";
inline constexpr std::string_view kNoShutdownInProgress = "ERR No shutdown in progress.";
inline constexpr std::string_view kGetKeysUnknownCommand = "ERR Invalid command specified";
inline constexpr std::string_view kGetKeysArity =
    "ERR Invalid number of arguments specified for command";
inline constexpr std::string_view kGetKeysNoKeys = "ERR The command has no key arguments";

// "ERR unknown command 'X', with args beginning with: 'a' 'b' "
std::string UnknownCommand(std::string_view name, const std::string_view* args, size_t nargs);
// "ERR wrong number of arguments for 'x' command"
std::string WrongArity(std::string_view name);
// "ERR unknown subcommand 'x'. Try Y HELP."
std::string UnknownSubcommand(std::string_view sub, std::string_view command);
// "ERR store 'NAME' unavailable: reason"
std::string StoreUnavailable(std::string_view store, std::string_view reason);
// The second command touching keys queued in MULTI on a shared store (store.h, "shared").
std::string SharedStoreTransaction(std::string_view store);
// WATCH on a shared store.
std::string SharedStoreWatch(std::string_view store);
// EVAL on a store whose commands complete later: a script could not hold other clients off.
std::string ScriptNeedsInlineStore(std::string_view store);
// OBJECT IDLETIME on a store that keeps no access times (file, database, redis).
std::string NoAccessTimes(std::string_view store);
// "ERR invalid expire time in 'set' command"
std::string InvalidExpire(std::string_view command);
// "ERR Unsupported option X" (EXPIRE and friends)
std::string UnsupportedOption(std::string_view option);
// "ERR no such store 'x'"
std::string NoSuchStore(std::string_view name);
// "ERR assertion failed: DETAIL" (ASSERT STORED/MISSING)
std::string AssertionFailed(std::string_view detail);

}  // namespace arvel::errors
