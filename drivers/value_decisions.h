#pragma once
// The decisions behind the value operations (operation.h) as functions over one KeyUpdate, for
// the generic executor: expiry arithmetic, counters, appends and ranges. Pure: they touch only
// their arguments, so they are safe on a driver's worker thread. A refusal leaves the key as it
// was.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "drivers/operation.h"
#include "drivers/store_types.h"

namespace arvel::drivers {

// a + b, clamped to the int64 range.
int64_t SaturatingAdd(int64_t a, int64_t b);
// The expiry of `entry` (0 = never, or no entry).
inline int64_t ExpiryOf(const Entry* entry) { return entry ? entry->expire_at_ms : 0; }

// Writes `value` expiring at `expire_at` (0 = never), or removes the key if that time has
// already passed (Redis deletes a key whose new expiry is in the past).
void PutOrErase(KeyUpdate& key, std::string value, int64_t expire_at, int64_t now_ms);
// Changes an existing key's expiry to `expire_at` (0 = never), or removes it if already past.
// REQUIRES: key.current.
void ExpireOrErase(KeyUpdate& key, int64_t expire_at, int64_t now_ms);

// Adds `delta` to the key's integer (0 when absent), keeping its expiry: the new value, or
// kNotInteger / kIncrOverflow.
Result<int64_t> IncrementInteger(KeyUpdate& key, int64_t delta);
// The same with a long double, stored as FormatLongDouble writes it: the stored text, or
// kNotFloat / kIncrFloatNaN.
Result<std::string> IncrementFloat(KeyUpdate& key, long double delta);
// Redis's human-friendly long double form: "%.17Lf" without trailing zeros or dot ("10.6",
// "5200", "0").
std::string FormatLongDouble(long double value);
// APPEND: the new length, or kStringTooLong past `max_size`.
Result<int64_t> AppendValue(KeyUpdate& key, std::string_view suffix, int64_t max_size);
// SETRANGE: writes `patch` at `offset` (zero padding), keeping the expiry; the new length.
int64_t OverwriteRange(KeyUpdate& key, uint64_t offset, std::string_view patch);
// SETBIT: sets the bit at `offset` to `bit`, growing the value with zero bytes (a missing key
// too), keeping the expiry; the bit before.
int SetValueBit(KeyUpdate& key, uint64_t offset, bool bit);
// Whether the EXPIRE conditions of `change` allow a key expiring at `current` (0 = never) to
// get the expiry `when` (0 = never).
bool ExpireAllowed(const op::Expire& change, int64_t current, int64_t when);

}  // namespace arvel::drivers
