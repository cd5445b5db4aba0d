#include "drivers/fake_store.h"

#include <cstdint>
#include <functional>
#include <utility>

namespace arvel::drivers {

namespace {
// `options` with a clock that runs `*lead` ms ahead of the one they give (the wall clock if
// none). The clock is read only after construction, when `*lead` exists.
ArrayStoreOptions Ahead(ArrayStoreOptions options, const int64_t* lead) {
  std::function<int64_t()> base = options.clock ? std::move(options.clock) : NowMs;
  options.clock = [base = std::move(base), lead] { return base() + *lead; };
  return options;
}
}  // namespace

FakeStore::FakeStore(std::string name, ArrayStoreOptions options)
    : ArrayStore(std::move(name), Ahead(std::move(options), &travelled_ms_)) {}

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
