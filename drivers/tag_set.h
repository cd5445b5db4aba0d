#pragma once
// Tagged items (SPEC §4, Tags) over the Store interface: canonical tag sets, per-tag
// generations, the derived key and record of an item, and the store-level steps every TAGS
// command is made of (resolve the scope, flush). The design — and why a write racing a flush
// can never leave an item a later flush cannot reach — is at the top of tag_set.cc.
//
// The decisions (functions taking KeyUpdate) touch only their arguments: they are safe on a
// driver's worker thread. The store-level steps are called, and complete, on the loop thread.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "drivers/store.h"

namespace arvel::drivers {

// A set of tags, canonical: sorted, without duplicates ("b,a,b" and "a,b" are the same set).
class TagSet {
 public:
  // Parses the comma-separated list of TAGS. Errors (RESP texts): an empty list, an empty tag.
  static Result<TagSet> Parse(std::string_view list);

  const std::vector<std::string>& tags() const { return tags_; }
  size_t size() const { return tags_.size(); }
  // The set's kTagVersion keys (the tags themselves), as views valid while the set lives.
  std::vector<std::string_view> keys() const { return {tags_.begin(), tags_.end()}; }

 private:
  std::vector<std::string> tags_;
};

// ---- Generations (kTagVersion: key = the tag, value = its current generation, no expiry)

// A fresh generation: 128 bits from OpenSSL's CSPRNG as 32 lower-case hex digits, so a
// generation never comes back once replaced, not even after a restart or an eviction of the
// record (a counter would, and would resurrect the items of its earlier life). nullopt when
// the generator has no entropy.
std::optional<std::string> NewGeneration();
// `n` fresh generations, or an error naming the lack of entropy.
Result<std::vector<std::string>> NewGenerations(size_t n);

// Decision over the kTagVersion records of a set (versions[i] is tag i's): keeps every
// generation that exists and records fresh[i] for a tag that has none. Returns the generations
// in effect afterwards. REQUIRES: fresh.size() == versions.size().
std::vector<std::string> EnsureGenerations(std::span<KeyUpdate> versions,
                                           std::span<const std::string> fresh);
// Decision of TAGS FLUSH: replaces every tag's generation with fresh[i].
void ReplaceGenerations(std::span<KeyUpdate> versions, std::span<const std::string> fresh);
// The generations a Read of the set's kTagVersion records found, or nullopt when some tag has
// none (then nothing is stored under the set).
std::optional<std::vector<std::string>> ExistingGenerations(std::span<const Entry* const> versions);

// ---- Items (kTagged)

// A tag set with the generations it has now: the namespace its items live in until one of its
// tags is flushed.
//
// An item's record key is ItemKey(key) = 32 hex digits of SHA-256 over the canonical
// "tag=generation,…" list, then ':' and the user's key. Its record value is Encode(value) =
// "<length>:<tag=generation,…>" followed by the user's value, so a record names the
// generations it was written under (the reclaimer judges staleness from that alone).
class TagScope {
 public:
  // REQUIRES: generations[i] is the generation of tags.tags()[i].
  TagScope(const TagSet& tags, std::span<const std::string> generations);

  std::string ItemKey(std::string_view key) const;
  // What the value of every record of this scope starts with (the operations' `prefix`).
  const std::string& value_prefix() const { return header_; }
  std::string Encode(std::string_view value) const;
  // The user's value in `record` when it was written under this scope; nullopt otherwise (a
  // record of another scope whose key collided, which SHA-256 makes theoretical).
  std::optional<std::string_view> Decode(std::string_view record) const;

 private:
  std::string key_prefix_;  // digest and ':'
  std::string header_;      // "<length>:<canonical list>"
};

// One (tag, generation) pair a record names.
struct Stamp {
  std::string_view tag;
  std::string_view generation;
};
// The first 128 bits of SHA-256(text) as 32 hex digits: names derived from data that every
// daemon derives alike (tag scopes; FLEXIBLE's value versions).
std::string DigestHex(std::string_view text);

// The "<length>:<tag=generation,…>" header `record` starts with (its scope's value_prefix);
// nullopt when it is not an item record.
std::optional<std::string_view> RecordHeader(std::string_view record);
// The pairs `record` was written under; nullopt when it is not an item record.
std::optional<std::vector<Stamp>> ParseStamps(std::string_view record);

// ---- Store-level steps (loop thread; `done` runs on the loop thread)

// `scope` is nullopt when the status is an error, or when some tag has no generation.
using ScopeFn = std::function<void(const Status& status, std::optional<TagScope> scope)>;

// Reads the set's generations (no write): a scope, or nullopt when nothing can be stored under
// the set yet. For reads, and for writes that only remove.
void ReadScope(Store& store, const TagSet& tags, ScopeFn done);
// The set's scope, creating a generation for every tag that has none in one atomic Update
// (two writers racing to create a tag's generation end up with the same one). For writes.
void EnsureScope(Store& store, const TagSet& tags, ScopeFn done);
// Invalidates every item stored under a set containing any of `tags`, in one Update of the
// tags' kTagVersion records, whatever the number of items. Their records are left for the
// TagReclaimer.
void FlushTags(Store& store, const TagSet& tags, DoneFn done);

}  // namespace arvel::drivers
