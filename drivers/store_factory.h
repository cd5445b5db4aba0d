#pragma once
// Builds a store from its configuration.

#include <uv.h>

#include <memory>

#include "config/config.h"
#include "drivers/store.h"

namespace arvel::drivers {

// Always returns a store: a driver this build cannot provide yields a store that answers every
// call with "store 'NAME' unavailable: …", so the daemon still serves the others.
std::unique_ptr<Store> MakeStore(const config::StoreConfig& config, uv_loop_t* loop);

}  // namespace arvel::drivers
