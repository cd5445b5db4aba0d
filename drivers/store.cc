#include "drivers/store.h"

#include <chrono>

#include "drivers/local_executor.h"

namespace arvel::drivers {

namespace {
// Bytes a stored record costs beside its key and value, in the default Inspect estimate.
constexpr size_t kRecordOverhead = 48;

thread_local bool no_touch = false;
}  // namespace

void Store::Execute(Operation operation, OpDone done) {
  ExecuteLocally(*this, std::move(operation), std::move(done));
}

int64_t Store::now_ms() const { return NowMs(); }

void Store::Inspect(std::string_view key, InspectFn done) {
  Read(Space::kData, std::span<const std::string_view>(&key, 1),
       [done = std::move(done), key_size = key.size()](const Status& status,
                                                        std::span<const Entry* const> entries) {
         const Entry* entry = status.ok() ? entries[0] : nullptr;
         KeyFacts facts;
         // The key and value bytes plus what a record costs beside them (Redis's own estimate
         // for a string key is of the same order).
         if (entry != nullptr) facts.bytes = key_size + entry->value.size() + kRecordOverhead;
         done(status, entry, facts);
       });
}

NoTouchScope::NoTouchScope(bool active) : was_(no_touch) { no_touch = no_touch || active; }
NoTouchScope::~NoTouchScope() { no_touch = was_; }
bool NoTouchScope::active() { return no_touch; }

int64_t NowMs() {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  using std::chrono::system_clock;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace arvel::drivers
