// Design. Tags are namespaces, as in Laravel's TaggedCache, with generations instead of counters.
//
// Every tag has one record in Space::kTagVersion holding its current generation, a random
// 128-bit id. A tag set's items live in Space::kTagged under a key derived from the set's
// (tag, generation) pairs and the user's key, so
//   - reading an item = Read the tags' generations, then Read the derived key;
//   - writing an item = one Update that creates the generation of any tag that has none (fresh
//     ids are drawn before the Update, so the decision stays pure), then one Update of the
//     derived key;
//   - TAGS t FLUSH = one Update that gives t a fresh generation. Every item stored under a set
//     containing t now has a key nobody derives any more: it is invalidated without being
//     visited, in time independent of the number of items. Its record stays until the
//     TagReclaimer (drivers/tag_reclaimer.h) walks past it, sees a generation that is no longer
//     current, and erases it — items with no expiry included.
// A record names the generations it was written under (TagScope::Encode), which is all the
// reclaimer needs to judge it, and lets a read check that the record under a derived key is
// really of its scope.
//
// Why a write racing a flush can never leave an item that a later flush cannot reach. The
// invariant is: an item is readable if and only if every generation its record names is still
// its tag's current generation (reads derive keys from current generations, and Decode checks
// the names). Take a write W that read generation g of tag t, and a flush F that replaces g
// with g'.
//   - If W's item Update comes before F's, the item was written under g and F hides it, like
//     any other item of g.
//   - If it comes after, the item is written under g, which is already not current: no read
//     that starts after F ever derives its key. W and F overlapped (W read g before F ran), so
//     "W, then F" is a legal order of the two, and this is exactly its outcome.
// In both cases the record names (t, g). Generations are random and never reused, so g never
// becomes current again — not after later flushes, not after the tag's record is evicted or
// lost in a restart (a new random generation is drawn then, where a counter would restart and
// resurrect old items). The record therefore stays unreadable for good, the reclaimer judges it
// stale from its own bytes, and a later flush only has to hide what is under the then-current
// generation, which it does the same way. Nothing depends on the timing of the two Updates.
//
// The record key uses a digest of the (tag, generation) list rather than the list itself so
// that keys stay short whatever the tags; the generation names in the record make a digest
// collision harmless (Decode would refuse the record).

#include "drivers/tag_set.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <memory>

#include "common/errors.h"

namespace arvel::drivers {

namespace {

constexpr size_t kGenerationBytes = 16;  // 128 bits
constexpr size_t kDigestHexDigits = 32;  // 128 of SHA-256's bits are plenty for a key

std::string Hex(const unsigned char* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    hex[2 * i] = kDigits[bytes[i] >> 4];
    hex[2 * i + 1] = kDigits[bytes[i] & 0x0f];
  }
  return hex;
}

// "tag=generation,tag=generation": unambiguous because tags hold no ',' and generations are
// hex digits (so the last '=' of a pair ends its tag).
std::string CanonicalList(const TagSet& tags, std::span<const std::string> generations) {
  std::string list;
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i > 0) list += ',';
    list += tags.tags()[i];
    list += '=';
    list += generations[i];
  }
  return list;
}

// Splits "<length>:<list>" off the front of a record: the list, and the rest in `value`.
std::optional<std::string_view> SplitHeader(std::string_view record, std::string_view& value) {
  size_t length = 0;
  const char* end = record.data() + record.size();
  auto [colon, ec] = std::from_chars(record.data(), end, length);
  if (ec != std::errc() || colon == end || *colon != ':') return std::nullopt;
  const size_t list_at = static_cast<size_t>(colon - record.data()) + 1;
  if (length > record.size() - list_at) return std::nullopt;
  value = record.substr(list_at + length);
  return record.substr(list_at, length);
}

std::optional<Stamp> ParseStamp(std::string_view pair) {
  const size_t eq = pair.rfind('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == pair.size()) return std::nullopt;
  return Stamp{pair.substr(0, eq), pair.substr(eq + 1)};
}

}  // namespace

std::string DigestHex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  return Hex(digest, size).substr(0, kDigestHexDigits);
}

Result<TagSet> TagSet::Parse(std::string_view list) {
  if (list.empty()) return Status::Error(std::string(errors::kEmptyTagList));
  TagSet set;
  size_t start = 0;
  while (true) {
    const size_t comma = std::min(list.find(',', start), list.size());
    if (comma == start) return Status::Error(std::string(errors::kEmptyTag));
    set.tags_.emplace_back(list.substr(start, comma - start));
    if (comma == list.size()) break;
    start = comma + 1;
  }
  std::sort(set.tags_.begin(), set.tags_.end());
  set.tags_.erase(std::unique(set.tags_.begin(), set.tags_.end()), set.tags_.end());
  return set;
}

std::optional<std::string> NewGeneration() {
  unsigned char bytes[kGenerationBytes];
  if (RAND_bytes(bytes, kGenerationBytes) != 1) return std::nullopt;
  return Hex(bytes, kGenerationBytes);
}

Result<std::vector<std::string>> NewGenerations(size_t n) {
  std::vector<std::string> generations;
  generations.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::optional<std::string> generation = NewGeneration();
    if (!generation) return Status::Error(std::string(errors::kNoTagGeneration));
    generations.push_back(std::move(*generation));
  }
  return generations;
}

std::vector<std::string> EnsureGenerations(std::span<KeyUpdate> versions,
                                           std::span<const std::string> fresh) {
  std::vector<std::string> generations;
  generations.reserve(versions.size());
  for (size_t i = 0; i < versions.size(); ++i) {
    if (versions[i].current != nullptr) {
      generations.push_back(versions[i].current->value);
    } else {
      generations.push_back(fresh[i]);
      versions[i].Put(fresh[i], 0);
    }
  }
  return generations;
}

void ReplaceGenerations(std::span<KeyUpdate> versions, std::span<const std::string> fresh) {
  for (size_t i = 0; i < versions.size(); ++i) versions[i].Put(fresh[i], 0);
}

std::optional<std::vector<std::string>> ExistingGenerations(
    std::span<const Entry* const> versions) {
  std::vector<std::string> generations;
  generations.reserve(versions.size());
  for (const Entry* version : versions) {
    if (version == nullptr) return std::nullopt;
    generations.push_back(version->value);
  }
  return generations;
}

TagScope::TagScope(const TagSet& tags, std::span<const std::string> generations) {
  const std::string list = CanonicalList(tags, generations);
  key_prefix_ = DigestHex(list) + ":";
  header_ = std::to_string(list.size()) + ":" + list;
}

std::string TagScope::ItemKey(std::string_view key) const {
  std::string item_key;
  item_key.reserve(key_prefix_.size() + key.size());
  item_key += key_prefix_;
  item_key += key;
  return item_key;
}

std::string TagScope::Encode(std::string_view value) const {
  std::string record;
  record.reserve(header_.size() + value.size());
  record += header_;
  record += value;
  return record;
}

std::optional<std::string_view> TagScope::Decode(std::string_view record) const {
  if (record.substr(0, header_.size()) != header_) return std::nullopt;
  return record.substr(header_.size());
}

std::optional<std::string_view> RecordHeader(std::string_view record) {
  std::string_view value;
  if (!ParseStamps(record) || !SplitHeader(record, value)) return std::nullopt;
  return record.substr(0, record.size() - value.size());
}

std::optional<std::vector<Stamp>> ParseStamps(std::string_view record) {
  std::string_view value;
  std::optional<std::string_view> list = SplitHeader(record, value);
  if (!list || list->empty()) return std::nullopt;
  std::vector<Stamp> stamps;
  size_t start = 0;
  while (start <= list->size()) {
    const size_t comma = std::min(list->find(',', start), list->size());
    std::optional<Stamp> stamp = ParseStamp(list->substr(start, comma - start));
    if (!stamp) return std::nullopt;
    stamps.push_back(*stamp);
    start = comma + 1;
  }
  return stamps;
}

void ReadScope(Store& store, const TagSet& tags, ScopeFn done) {
  const std::vector<std::string_view> keys = tags.keys();
  store.Read(
      Space::kTagVersion, keys,
      [tags, done = std::move(done)](const Status& status, std::span<const Entry* const> versions) {
        if (!status.ok()) return done(status, std::nullopt);
        std::optional<std::vector<std::string>> generations = ExistingGenerations(versions);
        if (!generations) return done(status, std::nullopt);
        done(status, TagScope(tags, *generations));
      });
}

void EnsureScope(Store& store, const TagSet& tags, ScopeFn done) {
  Result<std::vector<std::string>> fresh = NewGenerations(tags.size());
  if (!fresh.ok()) return done(fresh.status(), std::nullopt);
  store.Execute(op::EnsureGenerations{tags.tags(), std::move(*fresh)},
                [tags, done = std::move(done)](const Status& status, OpResult result) {
                  if (!status.ok()) return done(status, std::nullopt);
                  done(status, TagScope(tags, result.values));
                });
}

void FlushTags(Store& store, const TagSet& tags, DoneFn done) {
  Result<std::vector<std::string>> fresh = NewGenerations(tags.size());
  if (!fresh.ok()) return done(fresh.status());
  store.Execute(op::ReplaceGenerations{tags.tags(), std::move(*fresh)},
                [done = std::move(done)](const Status& status, OpResult) { done(status); });
}

}  // namespace arvel::drivers
