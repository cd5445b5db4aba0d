#include "drivers/store.h"

#include <chrono>

#include "drivers/local_executor.h"

namespace arvel::drivers {

void Store::Execute(Operation operation, OpDone done) {
  ExecuteLocally(*this, std::move(operation), std::move(done));
}

int64_t Store::now_ms() const { return NowMs(); }

int64_t NowMs() {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  using std::chrono::system_clock;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace arvel::drivers
