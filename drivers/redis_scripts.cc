// Conventions of the scripts below (the argument lists are built in redis_commands.cc):
//   - KEYS are upstream keys (redis_keys.h); ARGV are strings, numbers included, so nothing of
//     int64 range passes through a Lua number (a double) on the way in.
//   - `prefix` is the operation's value prefix (tagged items): a record is present only if its
//     value starts with it; written values get it, returned values lose it.
//   - An expiry is a (mode, ms) pair: '' none, 'PX' relative, 'PXAT' absolute, 'KEEP' the key's
//     own, 'PAST' remove the key instead (Redis's rule for an expiry already past).
//   - Numbers that may exceed 2^53 come back as strings ('%.0f' of an integral double is
//     exact), never as Lua numbers converted to integer replies.
//   - Errors that are the command's own (not an integer, overflow…) come back as error replies
//     with our texts (common/errors.h), which Redis passes through unchanged.

#include "drivers/redis_scripts.h"

#include <openssl/evp.h>

#include <array>

namespace arvel::drivers {

namespace {

constexpr std::string_view kPrelude = R"lua(
local function strip(raw, prefix)
  if not raw then return nil end
  if prefix == '' then return raw end
  if string.sub(raw, 1, #prefix) == prefix then return string.sub(raw, #prefix + 1) end
  return nil
end
local function write(key, value, mode, ms, present)
  if mode == 'PAST' then
    if present then redis.call('DEL', key) end
  elseif mode == 'PX' or mode == 'PXAT' then
    redis.call('SET', key, value, mode, ms)
  elseif mode == 'KEEP' and present then
    redis.call('SET', key, value, 'KEEPTTL')
  else
    redis.call('SET', key, value)
  end
end
)lua";

// Values and absolute expiries: a flat array value1, expiry1, … (-2 absent, -1 no expiry).
constexpr std::string_view kRead = R"lua(
local out = {}
for i, key in ipairs(KEYS) do
  out[2 * i - 1] = redis.call('GET', key)
  out[2 * i] = string.format('%.0f', redis.call('PEXPIRETIME', key))
end
return out
)lua";

// ARGV: value, condition ('' | NX | XX), return_old ('1'), prefix, mode, ms.
// Reply: {applied, old value or nil}.
constexpr std::string_view kSet = R"lua(
local old = strip(redis.call('GET', KEYS[1]), ARGV[4])
local present = old ~= nil
local reply_old = false
if ARGV[3] == '1' and present then reply_old = old end
if (ARGV[2] == 'NX' and present) or (ARGV[2] == 'XX' and not present) then
  return {0, reply_old}
end
write(KEYS[1], ARGV[4] .. ARGV[1], ARGV[5], ARGV[6], present)
return {1, reply_old}
)lua";

// ARGV: if_none_exist ('1'), prefix, mode, ms, value1, value2, … Reply: applied.
constexpr std::string_view kSetMany = R"lua(
local present = {}
for i, key in ipairs(KEYS) do
  present[i] = strip(redis.call('GET', key), ARGV[2]) ~= nil
  if ARGV[1] == '1' and present[i] then return 0 end
end
for i, key in ipairs(KEYS) do
  write(key, ARGV[2] .. ARGV[4 + i], ARGV[3], ARGV[4], present[i])
end
return 1
)lua";

// ARGV: prefix. Reply: how many keys were present (and are now gone).
constexpr std::string_view kDelete = R"lua(
local n = 0
for _, key in ipairs(KEYS) do
  if strip(redis.call('GET', key), ARGV[1]) ~= nil then
    redis.call('DEL', key)
    n = n + 1
  end
end
return n
)lua";

// ARGV: prefix. Reply: the value, or nil.
constexpr std::string_view kTake = R"lua(
local value = strip(redis.call('GET', KEYS[1]), ARGV[1])
if value == nil then return false end
redis.call('DEL', KEYS[1])
return value
)lua";

// KEYS: the key, a scratch key. ARGV: prefix, delta. Reply: the new value as a string.
// INCRBY on the scratch key gives Redis's own parsing and overflow checks, exact over the whole
// int64 range, which Lua's doubles are not.
constexpr std::string_view kIncrement = R"lua(
local value = strip(redis.call('GET', KEYS[1]), ARGV[1])
redis.call('SET', KEYS[2], value or '0')
local result = redis.pcall('INCRBY', KEYS[2], ARGV[2])
local text = redis.call('GET', KEYS[2])
redis.call('DEL', KEYS[2])
if type(result) == 'table' and result.err then return result end
write(KEYS[1], ARGV[1] .. text, 'KEEP', '', value ~= nil)
return text
)lua";

// ARGV: suffix, max_size. Reply: the new length.
constexpr std::string_view kAppend = R"lua(
local size = redis.call('STRLEN', KEYS[1])
if size > tonumber(ARGV[2]) - #ARGV[1] then
  return redis.error_reply('ERR string exceeds maximum allowed size (proto-max-bulk-len)')
end
return redis.call('APPEND', KEYS[1], ARGV[1])
)lua";

// ARGV: prefix, return_value ('1'), mode (PX | PXAT | NEVER | KEEP), ms, flags (NX XX GT LT)…
// Reply: {applied, value or nil}. Timed expiries go through PEXPIRE/PEXPIREAT with the flags,
// whose rules are the executor's; without a timed expiry the flags reduce to whether the key
// has one (no expiry counts as infinite).
constexpr std::string_view kExpire = R"lua(
local value = strip(redis.call('GET', KEYS[1]), ARGV[1])
if value == nil then return {0, false} end
if ARGV[2] ~= '1' then value = false end
local mode = ARGV[3]
if mode == 'PX' or mode == 'PXAT' then
  local args = {KEYS[1], ARGV[4]}
  for i = 5, #ARGV do args[#args + 1] = ARGV[i] end
  local command = 'PEXPIREAT'
  if mode == 'PX' then command = 'PEXPIRE' end
  return {redis.call(command, unpack(args)), value}
end
local has = redis.call('PEXPIRETIME', KEYS[1]) > 0
local allowed = true
for i = 5, #ARGV do
  local flag = ARGV[i]
  if flag == 'NX' or flag == 'LT' then allowed = allowed and not has end
  if flag == 'XX' then allowed = allowed and has end
  if flag == 'GT' then allowed = allowed and has and mode == 'NEVER' end
end
if not allowed then return {0, value} end
if mode == 'NEVER' and has then redis.call('PERSIST', KEYS[1]) end
return {1, value}
)lua";

// KEYS: the lock, its fencing counter. ARGV: token, mode ('' | PX | PXAT), ms.
// Reply: {acquired, the lock's expiry (-1 never), the new fencing number or ''}.
constexpr std::string_view kAcquire = R"lua(
local acquired
if ARGV[2] == '' then
  acquired = redis.call('SET', KEYS[1], ARGV[1], 'NX')
else
  acquired = redis.call('SET', KEYS[1], ARGV[1], 'NX', ARGV[2], ARGV[3])
end
local at = string.format('%.0f', redis.call('PEXPIRETIME', KEYS[1]))
if not acquired then return {0, at, ''} end
return {1, at, string.format('%.0f', redis.call('INCR', KEYS[2]))}
)lua";

// ARGV: token. Reply: 1 released / 0.
constexpr std::string_view kReleaseIf = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
)lua";

// ARGV: token, mode ('' never | PX | PXAT), ms. Reply: 1 extended / 0.
constexpr std::string_view kExtendIf = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('PERSIST', KEYS[1])
elseif ARGV[2] == 'PX' then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
else
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
end
return 1
)lua";

// ARGV: previous, token, mode, ms. Reply: 1 taken / 0.
constexpr std::string_view kTakeLease = R"lua(
local current = redis.call('GET', KEYS[1])
if current and (ARGV[1] == '' or current ~= ARGV[1]) then return 0 end
write(KEYS[1], ARGV[2], ARGV[3], ARGV[4], true)
return 1
)lua";

// FUNNEL (funnel_logic.cc), judged by Redis's clock as its expiries are. KEYS: the funnel record.
// ARGV: token, limit ('' gives back token's slot), ttl ms ('0' never, '-1' as late as can be).
// Reply: {applied, slots held afterwards, their earliest expiry ('0' none)}.
constexpr std::string_view kFunnel = R"lua(
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local slots, changed, applied = {}, false, 0
for line in string.gmatch(redis.call('GET', KEYS[1]) or '', '([^\n]*)\n') do
  local token, at = string.match(line, '^(.*) (%d+)$')
  if token and (at == '0' or tonumber(at) > now) then
    slots[#slots + 1] = {token, at}
  else
    changed = true
  end
end
if ARGV[2] == '' then
  for i, slot in ipairs(slots) do
    if slot[1] == ARGV[1] then
      table.remove(slots, i)
      applied, changed = 1, true
      break
    end
  end
elseif #slots < tonumber(ARGV[2]) then
  local at = '0'
  if ARGV[3] == '-1' then
    at = '9223372036854775807'
  elseif ARGV[3] ~= '0' then
    at = string.format('%.0f', now + tonumber(ARGV[3]))
  end
  slots[#slots + 1] = {ARGV[1], at}
  applied, changed = 1, true
end
local lines, latest, earliest = {}, '', '0'
for i, slot in ipairs(slots) do
  lines[i] = slot[1] .. ' ' .. slot[2] .. '\n'
  local at = slot[2]
  if at == '0' then
    latest = nil
  elseif latest and (latest == '' or tonumber(at) > tonumber(latest)) then
    latest = at
  end
  if at ~= '0' and (earliest == '0' or tonumber(at) < tonumber(earliest)) then earliest = at end
end
if changed then
  if #slots == 0 then
    redis.call('DEL', KEYS[1])
  elseif latest then
    redis.call('SET', KEYS[1], table.concat(lines), 'PXAT', latest)
  else
    redis.call('SET', KEYS[1], table.concat(lines))
  end
end
return {applied, #slots, earliest}
)lua";

// THROTTLE ATTEMPT/HIT. ARGV: max_attempts ('' for HIT), amount, mode (PX | PXAT), ms.
// Reply: {counted, attempts in the window afterwards (a string)}.
constexpr std::string_view kWindowHit = R"lua(
local current = redis.call('GET', KEYS[1])
local attempts = 0
if current and string.match(current, '^%-?%d+$') then
  attempts = math.max(0, tonumber(current))
end
if ARGV[1] ~= '' and attempts >= tonumber(ARGV[1]) then
  return {0, string.format('%.0f', attempts)}
end
if not current then
  redis.call('SET', KEYS[1], ARGV[2], ARGV[3], ARGV[4])
  return {1, ARGV[2]}
end
if current == '0' or string.match(current, '^[1-9]%d*$') then
  local result = redis.pcall('INCRBY', KEYS[1], ARGV[2])
  if type(result) == 'table' and result.err then return result end
  return {1, redis.call('GET', KEYS[1])}
end
local text = string.format('%.0f', attempts + tonumber(ARGV[2]))
redis.call('SET', KEYS[1], text, 'KEEPTTL')
return {1, text}
)lua";

// THROTTLE DECREMENT. ARGV: amount. Reply: {had a window, attempts left (a string)}.
constexpr std::string_view kWindowGiveBack = R"lua(
local current = redis.call('GET', KEYS[1])
if not current then return {0, '0'} end
local attempts = 0
if string.match(current, '^%-?%d+$') then attempts = math.max(0, tonumber(current)) end
local text = string.format('%.0f', math.max(0, attempts - tonumber(ARGV[1])))
redis.call('SET', KEYS[1], text, 'KEEPTTL')
return {1, text}
)lua";

// CL.THROTTLE (GCRA, rate_limiter.cc). The record holds the TAT in Unix nanoseconds; the
// decision depends only on D = clamp(TAT - now, 0, max span), which the script computes
// exactly as (milliseconds, nanosecond remainder) pairs — every part stays far below 2^53.
// ARGV: threshold ms, threshold remainder (limited when D > tolerance - increment), increment
// ms, increment remainder, max span ms. Reply: {limited, D ms, D remainder}; the caller turns D
// into redis-cell's reply with the same code the local executor uses.
constexpr std::string_view kGcra = R"lua(
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local d_ms, d_rem = 0, 0
local current = redis.call('GET', KEYS[1])
if current and string.match(current, '^%d+$') and
   (#current < 19 or (#current == 19 and current <= '9223372036854775807')) then
  local tat_ms = 0
  if #current > 6 then tat_ms = tonumber(string.sub(current, 1, -7)) end
  d_ms = tat_ms - now_ms
  d_rem = tonumber(string.sub(current, -6))
  if d_ms < 0 then d_ms, d_rem = 0, 0 end
  local max_ms = tonumber(ARGV[5])
  if d_ms >= max_ms then d_ms, d_rem = max_ms, 0 end
end
local t_ms, t_rem = tonumber(ARGV[1]), tonumber(ARGV[2])
local limited = d_ms > t_ms or (d_ms == t_ms and d_rem > t_rem)
local inc_ms, inc_rem = tonumber(ARGV[3]), tonumber(ARGV[4])
if not limited and (inc_ms > 0 or inc_rem > 0) then
  local f_rem = d_rem + inc_rem
  local f_ms = d_ms + inc_ms + math.floor(f_rem / 1000000)
  f_rem = f_rem % 1000000
  local expire_at = now_ms + f_ms
  if f_rem > 0 then expire_at = expire_at + 1 end
  redis.call('SET', KEYS[1], string.format('%.0f%06d', now_ms + f_ms, f_rem), 'PXAT',
             string.format('%.0f', expire_at))
end
if limited then return {1, d_ms, d_rem} end
return {0, d_ms, d_rem}
)lua";

// ARGV: a fresh generation per tag. Reply: the generations in effect.
constexpr std::string_view kEnsureGenerations = R"lua(
local out = {}
for i, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if not current then
    redis.call('SET', key, ARGV[i])
    current = ARGV[i]
  end
  out[i] = current
end
return out
)lua";

RedisScript Make(std::string_view name, std::string_view body) {
  RedisScript script;
  script.name = name;
  script.source = std::string(kPrelude) + std::string(body);
  script.sha1 = Sha1Hex(script.source);
  return script;
}

const std::array<RedisScript, 17>& Scripts() {
  // In ScriptId order.
  static const std::array<RedisScript, 17> scripts = {
      Make("read", kRead),
      Make("set", kSet),
      Make("setmany", kSetMany),
      Make("delete", kDelete),
      Make("take", kTake),
      Make("increment", kIncrement),
      Make("append", kAppend),
      Make("expire", kExpire),
      Make("acquire", kAcquire),
      Make("releaseif", kReleaseIf),
      Make("extendif", kExtendIf),
      Make("takelease", kTakeLease),
      Make("funnel", kFunnel),
      Make("windowhit", kWindowHit),
      Make("windowgiveback", kWindowGiveBack),
      Make("gcra", kGcra),
      Make("ensuregenerations", kEnsureGenerations),
  };
  return scripts;
}

}  // namespace

std::string Sha1Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kDigits[digest[i] >> 4];
    hex += kDigits[digest[i] & 0x0f];
  }
  return hex;
}

const RedisScript& Script(ScriptId id) { return Scripts()[static_cast<size_t>(id)]; }

std::span<const RedisScript> AllScripts() { return Scripts(); }

}  // namespace arvel::drivers
