#pragma once
// A look ahead into a client's pipeline: the second argument (the key, for most commands) of
// each complete multibulk request at the start of a buffer, without parsing them for real.
// The connection hands these to its store to prefetch their hash buckets before the requests
// run (drivers::Store::Prefetch), so a pipeline's lookups miss the cache in parallel instead of
// one after another. Anything unusual (inline requests, an incomplete request, a malformed
// header) just ends the look; the real parser judges it.

#include <cstddef>
#include <span>
#include <string_view>

namespace arvel::protocol {

// Fills `keys` with the second argument of the complete requests at the start of `buf` (a
// request with fewer than two arguments is skipped); returns how many it found.
size_t PeekKeys(std::string_view buf, std::span<std::string_view> keys);

}  // namespace arvel::protocol
