#include "drivers/fake_store.h"

namespace arvel::drivers {

const FakeStore::Record* FakeStore::Find(std::string_view key) const {
  auto it = records_.find(key);
  return it == records_.end() ? nullptr : &it->second;
}

const std::string* FakeStore::LastWrite(std::string_view key) const {
  const Record* record = Find(key);
  return record != nullptr && record->written ? &record->last_value : nullptr;
}

bool FakeStore::WasWritten(std::string_view key) const {
  const Record* record = Find(key);
  return record != nullptr && record->written;
}

bool FakeStore::WasErased(std::string_view key) const {
  const Record* record = Find(key);
  return record != nullptr && record->erased;
}

void FakeStore::OnKeyChanged(Space space, std::string_view key, KeyUpdate::Action action,
                             const Entry* entry) {
  if (space != Space::kData) return;
  ++write_count_;
  auto it = records_.find(key);
  if (it == records_.end()) it = records_.emplace(std::string(key), Record()).first;
  Record& record = it->second;
  if (entry == nullptr) {
    record.erased = true;
  } else if (action == KeyUpdate::Action::kPut) {
    record.written = true;
    record.last_value = entry->value;
  }
}

}  // namespace arvel::drivers
