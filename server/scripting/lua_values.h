#pragma once
// Values crossing between a script and the daemon, converted as Redis 7 converts them:
//   reply → Lua (what redis.call returns): integer → number, bulk → string, nil → false,
//     array → table, status → {ok = s}, error → {err = "CODE message"}; RESP3 (redis.setresp(3)):
//     map → {map = t}, set → {set = t}, double → {double = n}, boolean → true/false, null → nil;
//   Lua → reply (what the script returns): string → bulk, number → integer (truncated),
//     true → 1, false → nil, {err = s} → error, {ok = s} → status, {double = n} → double, a
//     table → array of its elements up to the first nil, anything else → nil.

#include <lua.hpp>

#include <string_view>

#include "protocol/resp_writer.h"

namespace arvel::server::scripting {

// Pushes the value of the one reply in `reply`. False (nothing pushed) if it is not one whole
// reply.
bool PushReply(lua_State* L, std::string_view reply);

// Pops the value on top of L's stack and writes it as a reply.
void WriteValue(lua_State* L, protocol::ReplyWriter& out);

// Pushes {err = "CODE message"}: `message` may start with "-CODE"; without a code it gets "ERR".
void PushErrorTable(lua_State* L, std::string_view message);

}  // namespace arvel::server::scripting
