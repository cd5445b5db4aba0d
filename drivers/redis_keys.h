#pragma once
// Where the redis driver keeps a store's keys inside a shared Redis/Valkey database.
//
// Upstream key = "PREFIX:" + space tag + ":" + key, e.g. "arvel_cache:d:user1" for kData and
// t/v/l/r/e for kTagged, kTagVersion, kLock, kThrottle, kLease. Several applications (prefixes)
// and the cache model's own records (spaces) share one database without colliding, and every key
// of a store matches one glob pattern, so FLUSH, DBSIZE and SCAN never touch another prefix.
// An empty prefix drops "PREFIX:" altogether ("d:user1").

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "drivers/store_types.h"

namespace arvel::drivers {

class RedisKeys {
 public:
  explicit RedisKeys(std::string prefix);

  // The upstream key of `key` in `space`.
  std::string Key(Space space, std::string_view key) const;
  // The space and store key of an upstream key of this store; nullopt for any other key.
  std::optional<std::pair<Space, std::string_view>> Parse(std::string_view upstream) const;
  // SCAN MATCH pattern of one space, and of every space of this store.
  std::string Pattern(Space space) const;
  std::string AllPattern() const;
  // A key scripts may use as scratch space within one call (written and deleted by the same
  // script, so nobody ever sees it). Outside every space's pattern.
  std::string ScratchKey() const;
  // The base every key starts with ("PREFIX:" or "").
  const std::string& base() const { return base_; }

 private:
  std::string base_;          // "PREFIX:" or ""
  std::string escaped_base_;  // base_ with glob metacharacters escaped
};

// The one-letter tag of a space in upstream keys.
char SpaceTag(Space space);
// `text` with the glob metacharacters of Redis's stringmatchlen (* ? [ ] \) escaped.
std::string EscapeGlob(std::string_view text);

}  // namespace arvel::drivers
