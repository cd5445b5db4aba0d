#pragma once
// A store whose backend cannot be used: every call fails fast with
// "ERR store 'NAME' unavailable: REASON". Stands in for drivers this build does not provide yet,
// so the configuration keeps its shape and clients get a clear error instead of a hang.

#include <string>

#include "common/errors.h"
#include "drivers/store.h"

namespace arvel::drivers {

class UnavailableStore : public Store {
 public:
  UnavailableStore(std::string name, std::string driver, std::string reason)
      : Store(std::move(name), std::move(driver)),
        error_(Status::Error(errors::StoreUnavailable(this->name(), reason))) {}

  Status Health() const override { return error_; }
  bool completes_inline() const override { return true; }
  void Read(Space, std::span<const std::string_view>, ReadFn done) override {
    Fail();
    done(error_, {});
  }
  void Update(Space, std::span<const std::string_view>, UpdateFn, DoneFn done) override {
    Fail();
    done(error_);
  }
  void Scan(uint64_t, size_t, ScanFn done) override {
    Fail();
    done(error_, 0, {});
  }
  void ScanSpace(Space, uint64_t, size_t, ScanFn done) override {
    Fail();
    done(error_, 0, {});
  }
  void Count(CountFn done) override {
    Fail();
    done(error_, 0);
  }
  void RandomKey(KeyFn done) override {
    Fail();
    done(error_, std::nullopt);
  }
  void Flush(DoneFn done) override {
    Fail();
    done(error_);
  }

 private:
  void Fail() { stats_.errors++; }
  Status error_;
};

}  // namespace arvel::drivers
