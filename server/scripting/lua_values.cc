#include "server/scripting/lua_values.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <cstdlib>
#include <string>

namespace arvel::server::scripting {

namespace {

// Replies nest at most this deep in either direction (Redis stops at the Lua stack's limit).
constexpr int kMaxDepth = 200;

class ReplyReader {
 public:
  ReplyReader(lua_State* L, std::string_view reply) : L_(L), p_(reply.data()), end_(p_ + reply.size()) {}

  bool PushAll() { return Push(0) && p_ == end_; }

 private:
  // The rest of the current line (without \r\n); advances past it.
  bool Line(std::string_view& line) {
    const char* cr = p_;
    while (cr + 1 < end_ && !(cr[0] == '\r' && cr[1] == '\n')) ++cr;
    if (cr + 1 >= end_) return false;
    line = std::string_view(p_, static_cast<size_t>(cr - p_));
    p_ = cr + 2;
    return true;
  }
  bool Number(std::string_view text, long long& n) {
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    return ec == std::errc() && ptr == text.data() + text.size();
  }
  void PushField(const char* field, std::string_view value) {
    lua_newtable(L_);
    lua_pushstring(L_, field);
    lua_pushlstring(L_, value.data(), value.size());
    lua_settable(L_, -3);
  }
  // `count` values (pairs when `pairs`) into a new table: an array, or a map from key to value
  // (set: from member to true).
  bool PushAggregate(long long count, int depth, char kind) {
    if (count < 0) {  // nil array
      lua_pushboolean(L_, 0);
      return true;
    }
    if (!lua_checkstack(L_, 4)) return false;
    lua_newtable(L_);
    for (long long i = 1; i <= count; ++i) {
      if (kind == '*') {
        if (!Push(depth + 1)) return false;
        lua_rawseti(L_, -2, static_cast<int>(i));
      } else if (kind == '%') {
        if (!Push(depth + 1) || !Push(depth + 1)) return false;
        lua_settable(L_, -3);
      } else {
        if (!Push(depth + 1)) return false;
        lua_pushboolean(L_, 1);
        lua_settable(L_, -3);
      }
    }
    if (kind == '*') return true;
    lua_newtable(L_);
    lua_pushstring(L_, kind == '%' ? "map" : "set");
    lua_pushvalue(L_, -3);
    lua_settable(L_, -3);
    lua_remove(L_, -2);
    return true;
  }

  bool Push(int depth) {
    if (p_ >= end_ || depth > kMaxDepth) return false;
    const char type = *p_++;
    std::string_view line;
    if (!Line(line)) return false;
    long long n = 0;
    switch (type) {
      case '+':
        PushField("ok", line);
        return true;
      case '-':
        PushErrorTable(L_, std::string("-").append(line));
        return true;
      case ':':
        if (!Number(line, n)) return false;
        lua_pushnumber(L_, static_cast<lua_Number>(n));
        return true;
      case '$':
        if (!Number(line, n)) return false;
        if (n < 0) {
          lua_pushboolean(L_, 0);
          return true;
        }
        if (end_ - p_ < n + 2) return false;
        lua_pushlstring(L_, p_, static_cast<size_t>(n));
        p_ += n + 2;
        return true;
      case '*':
      case '%':
      case '~':
        return Number(line, n) && PushAggregate(n, depth, type);
      case '_':
        lua_pushnil(L_);
        return true;
      case '#':
        lua_pushboolean(L_, line == "t");
        return true;
      case ',': {
        lua_newtable(L_);
        lua_pushstring(L_, "double");
        lua_pushnumber(L_, std::strtod(std::string(line).c_str(), nullptr));
        lua_settable(L_, -3);
        return true;
      }
      case '(':
        PushField("big_number", line);
        return true;
      case '=': {  // verbatim: "txt:" then the text
        if (!Number(line, n) || n < 4 || end_ - p_ < n + 2) return false;
        std::string_view body(p_, static_cast<size_t>(n));
        p_ += n + 2;
        lua_newtable(L_);
        lua_pushstring(L_, "verbatim_string");
        lua_newtable(L_);
        lua_pushstring(L_, "format");
        lua_pushlstring(L_, body.data(), 3);
        lua_settable(L_, -3);
        lua_pushstring(L_, "string");
        lua_pushlstring(L_, body.data() + 4, body.size() - 4);
        lua_settable(L_, -3);
        lua_settable(L_, -3);
        return true;
      }
      default:
        return false;
    }
  }

  lua_State* L_;
  const char* p_;
  const char* end_;
};

// A Lua number as Redis replies it: truncated toward zero; beyond the 64-bit range (and NaN) what
// x86's conversion gives, without the undefined behaviour of a plain cast.
int64_t ToInteger(lua_Number n) {
  constexpr lua_Number kLimit = 9223372036854775808.0;  // 2^63
  if (!(n > -kLimit && n < kLimit)) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(n);
}

// The string field `name` of the table on top, if it has one.
bool StringField(lua_State* L, const char* name, std::string_view& value) {
  lua_pushstring(L, name);
  lua_rawget(L, -2);
  size_t len = 0;
  const char* s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : nullptr;
  if (s != nullptr) value = std::string_view(s, len);  // the table keeps the string alive
  lua_pop(L, 1);
  return s != nullptr;
}

void WriteTable(lua_State* L, protocol::ReplyWriter& out, int depth) {
  std::string_view text;
  if (StringField(L, "err", text)) return out.Error(text);
  if (StringField(L, "ok", text)) return out.Simple(text);
  lua_pushstring(L, "double");
  lua_rawget(L, -2);
  if (lua_type(L, -1) == LUA_TNUMBER) {
    out.Double(lua_tonumber(L, -1));
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  size_t count = 0;
  while (true) {
    lua_rawgeti(L, -1, static_cast<int>(count + 1));
    const bool present = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (!present) break;
    ++count;
  }
  if (depth >= kMaxDepth || !lua_checkstack(L, 4)) return out.Error("ERR reached lua stack limit");
  out.ArrayHeader(count);
  for (size_t i = 1; i <= count; ++i) {
    lua_rawgeti(L, -1, static_cast<int>(i));
    if (lua_type(L, -1) == LUA_TTABLE) {
      WriteTable(L, out, depth + 1);
      lua_pop(L, 1);
    } else {
      WriteValue(L, out);
    }
  }
}

}  // namespace

bool PushReply(lua_State* L, std::string_view reply) {
  const int top = lua_gettop(L);
  ReplyReader reader(L, reply);
  if (reader.PushAll() && lua_gettop(L) == top + 1) return true;
  lua_settop(L, top);
  return false;
}

void WriteValue(lua_State* L, protocol::ReplyWriter& out) {
  switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
      size_t len = 0;
      const char* s = lua_tolstring(L, -1, &len);
      out.Bulk(std::string_view(s, len));
      break;
    }
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, -1)) {
        out.Integer(1);
      } else {
        out.Null();
      }
      break;
    case LUA_TNUMBER:
      out.Integer(ToInteger(lua_tonumber(L, -1)));
      break;
    case LUA_TTABLE:
      WriteTable(L, out, 0);
      break;
    default:
      out.Null();
  }
  lua_pop(L, 1);
}

void PushErrorTable(lua_State* L, std::string_view message) {
  std::string code = "ERR";
  if (!message.empty() && message[0] == '-') {
    message.remove_prefix(1);
    const size_t space = message.find(' ');
    if (space == std::string_view::npos) {
      code = "ERR";
    } else {
      code.assign(message.substr(0, space));
      message.remove_prefix(space + 1);
    }
  }
  while (!message.empty() && (message.back() == '\r' || message.back() == '\n')) {
    message.remove_suffix(1);
  }
  std::string full = code + " " + std::string(message);
  lua_newtable(L);
  lua_pushstring(L, "err");
  lua_pushlstring(L, full.data(), full.size());
  lua_settable(L, -3);
}

}  // namespace arvel::server::scripting
