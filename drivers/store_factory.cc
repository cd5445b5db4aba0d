#include "drivers/store_factory.h"

#include "drivers/array_store.h"
#include "drivers/database_store.h"
#include "drivers/file_store.h"
#include "drivers/null_store.h"
#include "drivers/redis_store.h"
#include "drivers/unavailable_store.h"

namespace arvel::drivers {

namespace {

std::unique_ptr<Store> MakeDriver(const config::StoreConfig& config, uv_loop_t* loop) {
  if (config.driver == "array") {
    ArrayStoreOptions options;
    options.max_memory = config.max_memory;
    return std::make_unique<ArrayStore>(config.name, options);
  }
  if (config.driver == "null") return std::make_unique<NullStore>(config.name);
  if (config.driver == "database") return MakeDatabaseStore(config, loop);
  if (config.driver == "file") {
    FileStoreOptions options;
    options.path = config.path;
    options.prefix = config.prefix;
    options.lazy = config.implicit;  // like the database driver: configured stores open eagerly
    return std::make_unique<FileStore>(config.name, loop, std::move(options));
  }
  if (config.driver == "redis") {
    RedisStoreOptions options;
    options.host = config.host;
    options.port = config.port;
    options.password = config.password;
    options.db = config.db;
    options.prefix = config.prefix;
    options.default_ttl_s = config.ttl;
    options.pool_size = static_cast<size_t>(config.pool_size);
    options.connect_timeout_ms = config.connect_timeout_ms;
    options.timeout_ms = config.timeout_ms;
    options.lazy = config.implicit;  // an implicit store connects when first used
    return std::make_unique<RedisStore>(config.name, loop, std::move(options));
  }
  return std::make_unique<UnavailableStore>(
      config.name, config.driver,
      "the '" + config.driver + "' driver is not available in this build");
}

}  // namespace

std::unique_ptr<Store> MakeStore(const config::StoreConfig& config, uv_loop_t* loop) {
  std::unique_ptr<Store> store = MakeDriver(config, loop);
  if (config.daemons == "one") store->DeclareExclusive();
  return store;
}

}  // namespace arvel::drivers
