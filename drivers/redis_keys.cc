#include "drivers/redis_keys.h"

namespace arvel::drivers {

namespace {
constexpr char kTags[kSpaceCount] = {'d', 't', 'v', 'l', 'r', 'e'};
}  // namespace

char SpaceTag(Space space) { return kTags[static_cast<size_t>(space)]; }

std::string EscapeGlob(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

RedisKeys::RedisKeys(std::string prefix)
    : base_(prefix.empty() ? std::string() : prefix + ":"), escaped_base_(EscapeGlob(base_)) {}

std::string RedisKeys::Key(Space space, std::string_view key) const {
  std::string upstream;
  upstream.reserve(base_.size() + 2 + key.size());
  upstream += base_;
  upstream += SpaceTag(space);
  upstream += ':';
  upstream += key;
  return upstream;
}

std::optional<std::pair<Space, std::string_view>> RedisKeys::Parse(
    std::string_view upstream) const {
  if (!upstream.starts_with(base_)) return std::nullopt;
  upstream.remove_prefix(base_.size());
  if (upstream.size() < 2 || upstream[1] != ':') return std::nullopt;
  for (int i = 0; i < kSpaceCount; ++i) {
    if (kTags[i] == upstream[0]) return std::make_pair(static_cast<Space>(i), upstream.substr(2));
  }
  return std::nullopt;
}

std::string RedisKeys::Pattern(Space space) const {
  return escaped_base_ + SpaceTag(space) + ":*";
}

std::string RedisKeys::AllPattern() const {
  return escaped_base_ + "[" + std::string(kTags, kSpaceCount) + "]:*";
}

std::string RedisKeys::ScratchKey() const { return base_ + "#scratch"; }

}  // namespace arvel::drivers
