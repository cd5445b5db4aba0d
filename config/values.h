#pragma once
// Checking one value against its option, whatever source it came from. Every source first turns
// what it read into a RawValue; CheckValue then applies the option's kind, range, choices and
// extra check, so the three sources report problems in the same words.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "common/status.h"
#include "config/options.h"

namespace arvel::config {

struct RawValue {
  // monostate: a TOML type no option takes (float, table, ...) or an integer that
  // overflowed 64 bits.
  std::variant<std::monostate, int64_t, std::string, bool> data;
  std::string shown;     // how a message quotes it: 70000, "abc", true, a table
  bool is_text = false;  // environment/default text: integer options parse the string
};

// An environment variable's value or a default_text.
RawValue TextValue(std::string_view text);

// The value `raw` gives `option`, or the problem as "expected ..., got ..." without the key.
Result<Value> CheckValue(const Option& option, const RawValue& raw);

// `text` in double quotes, with quotes, backslashes and control characters escaped and long
// text shortened, so that any value fits in a one-line message.
std::string Quote(std::string_view text);

// `text` with control characters escaped and long text shortened, for keys in messages.
std::string Printable(std::string_view text);

}  // namespace arvel::config
