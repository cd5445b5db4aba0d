#pragma once
// NullStore: the `null` driver (SPEC §6). Reads miss; writes succeed and vanish. The UpdateFn
// still runs (against absent keys) so callers compute their replies as on any other store, and
// observers hear about puts so WATCH and REMEMBER waiters behave as if the write happened.
// Synchronous: every completion runs before the method returns.

#include <span>
#include <string>
#include <string_view>

#include "drivers/store.h"

namespace arvel::drivers {

class NullStore : public Store {
 public:
  explicit NullStore(std::string name) : Store(std::move(name), "null") {
    capabilities_.keeps_nothing = true;
  }

  // Every entry is nullptr; counts misses (kData and kTagged).
  bool completes_inline() const override { return true; }
  void Read(Space space, std::span<const std::string_view> keys, ReadFn done) override;
  // Runs `fn` with every key absent, keeps nothing, completes OK. A kPut counts as a write.
  void Update(Space space, std::span<const std::string_view> keys, UpdateFn fn,
              DoneFn done) override;
  // Always complete and empty: cursor 0, no keys.
  void Scan(uint64_t cursor, size_t count, ScanFn done) override;
  // The same in every space.
  void ScanSpace(Space space, uint64_t cursor, size_t count, ScanFn done) override {
    done(Status::Ok(), 0, {});
  }
  void Count(CountFn done) override { done(Status::Ok(), 0); }
  void RandomKey(KeyFn done) override { done(Status::Ok(), std::nullopt); }
  void Flush(DoneFn done) override;

  int64_t approximate_keys() const override { return 0; }
};

}  // namespace arvel::drivers
