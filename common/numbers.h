#pragma once
// Redis's rules for reading numbers out of arguments and stored values.

#include <cstdint>
#include <optional>
#include <string_view>

namespace arvel {

// Redis's string2ll: an optional '-', digits, no spaces, no leading '+', no leading zeros
// except "0", fits in int64.
std::optional<int64_t> ParseInt64(std::string_view s);
// Redis's string2ld for INCRBYFLOAT: a finite or infinite long double, no spaces.
std::optional<long double> ParseLongDouble(std::string_view s);
// Case-insensitive ASCII comparison.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace arvel
