#pragma once
// The generic executor: runs any Operation (operation.h) on a store with local atomicity, as one
// decision inside Store::Update. Array, null, file and database stores execute every operation
// through it (Store::Execute's default), so each operation has exactly one meaning, written once
// here, whatever the driver. Update's atomicity makes every operation atomic.

#include "drivers/operation.h"

namespace arvel::drivers {

class Store;

// Executes `operation` through `store.Update` and hands its result to `done` on the loop thread.
void ExecuteLocally(Store& store, Operation operation, OpDone done);

}  // namespace arvel::drivers
