#include "drivers/value_decisions.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "common/errors.h"
#include "common/numbers.h"

namespace arvel::drivers {

namespace {
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

Status Refuse(std::string_view message) { return Status::Error(std::string(message)); }
}  // namespace

ExpiryChange ExpiryChange::InSeconds(int64_t seconds) {
  if (seconds > kMax / 1000) return In(kMax);
  return In(seconds * 1000);
}

int64_t ExpiryChange::Resolve(int64_t current, int64_t now_ms) const {
  switch (mode) {
    case Mode::kNever:
      return 0;
    case Mode::kRelative:
      return SaturatingAdd(now_ms, ms);
    case Mode::kAbsolute:
      return ms;
    case Mode::kKeep:
      return current;
  }
  return 0;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  if (b > 0 && a > kMax - b) return kMax;
  if (b < 0 && a < kMin - b) return kMin;
  return a + b;
}

void PutOrErase(KeyUpdate& key, std::string value, int64_t expire_at, int64_t now_ms) {
  if (expire_at != 0 && expire_at <= now_ms) {
    if (key.current) key.Erase();
    return;
  }
  key.Put(std::move(value), expire_at);
}

void ExpireOrErase(KeyUpdate& key, int64_t expire_at, int64_t now_ms) {
  if (expire_at != 0 && expire_at <= now_ms) {
    key.Erase();
  } else if (expire_at != key.current->expire_at_ms) {
    key.Expire(expire_at);
  }
}

Result<int64_t> IncrementInteger(KeyUpdate& key, int64_t delta) {
  int64_t value = 0;
  if (key.current) {
    std::optional<int64_t> parsed = ParseInt64(key.current->value);
    if (!parsed) return Refuse(errors::kNotInteger);
    value = *parsed;
  }
  if ((delta < 0 && value < 0 && delta < kMin - value) ||
      (delta > 0 && value > 0 && delta > kMax - value)) {
    return Refuse(errors::kIncrOverflow);
  }
  value += delta;
  key.Put(std::to_string(value), ExpiryOf(key.current));
  return value;
}

Result<std::string> IncrementFloat(KeyUpdate& key, long double delta) {
  long double value = 0;
  if (key.current) {
    std::optional<long double> parsed = ParseLongDouble(key.current->value);
    if (!parsed) return Refuse(errors::kNotFloat);
    value = *parsed;
  }
  value += delta;
  if (std::isnan(value) || std::isinf(value)) return Refuse(errors::kIncrFloatNaN);
  std::string text = FormatLongDouble(value);
  key.Put(text, ExpiryOf(key.current));
  return text;
}

std::string FormatLongDouble(long double value) {
  // 17 digits after the point: with 80-bit long doubles, small decimals typed by a user come
  // back as typed once the trailing zeros go ("10.5" + "0.1" = "10.6"). The largest finite
  // long double needs about 4,950 characters.
  char buf[5 * 1024];
  int n = std::snprintf(buf, sizeof(buf), "%.17Lf", value);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(buf)) return "0";
  std::string_view text(buf, static_cast<size_t>(n));
  if (text.find('.') != std::string_view::npos) {
    while (text.back() == '0') text.remove_suffix(1);
    if (text.back() == '.') text.remove_suffix(1);
  }
  if (text == "-0") return "0";
  return std::string(text);
}

Result<int64_t> AppendValue(KeyUpdate& key, std::string_view suffix, int64_t max_size) {
  const int64_t size = key.current ? std::ssize(key.current->value) : 0;
  if (size > max_size - std::ssize(suffix)) return Refuse(errors::kStringTooLong);
  std::string value = key.current ? key.current->value : std::string();
  value += suffix;
  key.Put(std::move(value), ExpiryOf(key.current));
  return size + std::ssize(suffix);
}

int64_t OverwriteRange(KeyUpdate& key, uint64_t offset, std::string_view patch) {
  // Writing nothing changes nothing, not even a missing key.
  if (patch.empty()) return key.current ? std::ssize(key.current->value) : 0;
  std::string value = key.current ? key.current->value : std::string();
  if (value.size() < offset + patch.size()) value.resize(offset + patch.size());
  value.replace(offset, patch.size(), patch);
  const auto size = std::ssize(value);
  key.Put(std::move(value), ExpiryOf(key.current));
  return size;
}

int SetValueBit(KeyUpdate& key, uint64_t offset, bool bit) {
  std::string value = key.current ? key.current->value : std::string();
  const size_t byte = offset >> 3;
  if (value.size() <= byte) value.resize(byte + 1);
  const auto mask = static_cast<unsigned char>(0x80 >> (offset & 7));
  auto current = static_cast<unsigned char>(value[byte]);
  const int before = (current & mask) ? 1 : 0;
  current = bit ? (current | mask) : (current & ~mask);
  value[byte] = static_cast<char>(current);
  key.Put(std::move(value), ExpiryOf(key.current));
  return before;
}

bool ExpireAllowed(const op::Expire& change, int64_t current, int64_t when) {
  // As in Redis, no expiry counts as an infinite one: GT never passes it and LT always does.
  const int64_t infinite = kMax;
  const int64_t now_at = current == 0 ? infinite : current;
  const int64_t new_at = when == 0 ? infinite : when;
  if (change.nx && current != 0) return false;
  if (change.xx && current == 0) return false;
  if (change.gt && (current == 0 || new_at <= now_at)) return false;
  if (change.lt && current != 0 && new_at >= now_at) return false;
  return true;
}

}  // namespace arvel::drivers
