#include "drivers/null_store.h"

#include <vector>

namespace arvel::drivers {

void NullStore::Read(Space space, std::span<const std::string_view> keys, ReadFn done) {
  if (space == Space::kData || space == Space::kTagged) stats_.misses += keys.size();
  const std::vector<const Entry*> entries(keys.size(), nullptr);
  done(Status::Ok(), entries);
}

void NullStore::Update(Space space, std::span<const std::string_view> keys, UpdateFn fn,
                       DoneFn done) {
  std::vector<KeyUpdate> updates(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) updates[i].key = keys[i];
  fn(updates, NowMs());
  // Erase and Expire of an absent key change nothing; a put "happened" and is gone at once.
  for (const KeyUpdate& update : updates) {
    if (update.action != KeyUpdate::Action::kPut) continue;
    ++stats_.writes;
    KeyWritten(space, update.key);
  }
  done(Status::Ok());
}

void NullStore::Scan(uint64_t cursor, size_t count, ScanFn done) { done(Status::Ok(), 0, {}); }

void NullStore::Flush(DoneFn done) {
  AllKeysWritten();
  done(Status::Ok());
}

}  // namespace arvel::drivers
