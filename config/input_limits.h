#pragma once
// Limits on the text of a cache.toml that keep toml11 safe and fast (see input_limits.cc).

#include <cstddef>
#include <string_view>

#include "common/status.h"

namespace arvel::config {

// Larger files are refused before parsing: a cache.toml is a few hundred bytes.
inline constexpr size_t kMaxConfigBytes = 64 << 10;

// OK, or "FILE: larger than ..." / "FILE:LINE: not valid UTF-8" / "FILE:LINE: line longer than
// ..." / "FILE:LINE: nested more than 64 levels deep" for the first problem found.
Status CheckInputLimits(std::string_view text, std::string_view file_name);

}  // namespace arvel::config
