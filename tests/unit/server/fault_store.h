#pragma once
// FaultStore: a Store that forwards every call to another store (any driver) and can be told to
// misbehave — LevelDB's SpecialEnv for our Store interface. It keeps the inner store's name,
// driver, capabilities and inline completion, and passes its key notifications on as its own.
//
// A Fault says what goes wrong and with which calls:
//   kFail        the call completes at once with `status` and never reaches the inner store:
//                nothing was applied (a backend refusing, or down).
//   kLoseResult  the call runs on the inner store; its result is then replaced by `status`. The
//                backend applied it, the client hears that it failed (the connection dropped
//                after the write, before the answer). The other side of a dropped connection —
//                not applied — is kFail.
//   kDelay       the call reaches the inner store `delay` later (a slow backend). Only with
//                `allow_delays`, which also gives up inline completion and keeps_order (a
//                held-back call would complete late, or take effect after a later one).
// Calls: kReads = Read/ReadValues; kWrites = Execute/Update/Flush; kIteration = Scan/ScanSpace/
// Count/RandomKey; kAll. `operation` narrows kWrites to one operation (NameOf: "set",
// "increment"…). The first `skip` matching calls pass (skip = N-1 hits the Nth), then `times`
// matching calls are hit (-1: every one).
//
// The wrapper's own stats() count only the failures it injected; hits and misses are the inner
// store's. Arm/Clear may be called from any thread (the test's); the calls run on the loop thread.

#include <uv.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "drivers/store.h"

namespace arvel::testing {

struct Fault {
  enum class Action { kFail, kLoseResult, kDelay };
  enum class Calls { kReads, kWrites, kIteration, kAll };
  Action action = Action::kFail;
  Calls calls = Calls::kAll;
  std::string operation;  // kWrites only: just this Execute operation (NameOf); empty = any
  int skip = 0;
  int times = -1;
  std::string reason = "injected fault";  // the status is StoreUnavailable(name, reason)
  int delay_ms = 0;
};

class FaultStore : public drivers::Store, private drivers::KeyObserver {
 public:
  FaultStore(std::unique_ptr<drivers::Store> inner, uv_loop_t* loop, bool allow_delays = false)
      : Store(inner->name(), inner->driver()),
        inner_(std::move(inner)),
        loop_(loop),
        allow_delays_(allow_delays) {
    CopyCapabilities();
    inner_->set_observer(this);
  }

  // Replaces the armed fault (one at a time keeps tests obvious).
  void Arm(Fault fault) {
    std::lock_guard lock(mu_);
    fault_ = std::move(fault);
    armed_ = true;
  }
  void Clear() {
    std::lock_guard lock(mu_);
    armed_ = false;
  }
  // Calls the armed fault has hit so far.
  int hits() const {
    std::lock_guard lock(mu_);
    return hits_;
  }
  drivers::Store& inner() { return *inner_; }

  void Open(drivers::DoneFn done) override {
    inner_->Open([this, done = std::move(done)](const Status& status) {
      CopyCapabilities();
      done(status);
    });
  }
  void Close(drivers::DoneFn done) override;
  Status Health() const override { return inner_->Health(); }
  bool completes_inline() const override { return inner_->completes_inline() && !allow_delays_; }
  void WhenIdle(std::function<void()> fn) override;

  void Read(drivers::Space space, std::span<const std::string_view> keys,
            drivers::ReadFn done) override {
    Route(Fault::Calls::kReads, "", done, [=, this, owned = Own(keys)](drivers::ReadFn done) {
      inner_->Read(space, Views(owned), std::move(done));
    });
  }
  void ReadValues(drivers::Space space, std::span<const std::string_view> keys,
                  drivers::ReadFn done) override {
    Route(Fault::Calls::kReads, "", done, [=, this, owned = Own(keys)](drivers::ReadFn done) {
      inner_->ReadValues(space, Views(owned), std::move(done));
    });
  }
  void Execute(drivers::Operation operation, drivers::OpDone done) override {
    std::string name(drivers::NameOf(operation));
    Route(Fault::Calls::kWrites, name, done,
          [this, operation = std::move(operation)](drivers::OpDone done) mutable {
            inner_->Execute(std::move(operation), std::move(done));
          });
  }
  void Update(drivers::Space space, std::span<const std::string_view> keys, drivers::UpdateFn fn,
              drivers::DoneFn done) override {
    Route(Fault::Calls::kWrites, "", done,
          [=, this, owned = Own(keys), fn = std::move(fn)](drivers::DoneFn done) mutable {
            inner_->Update(space, Views(owned), std::move(fn), std::move(done));
          });
  }
  void Scan(uint64_t cursor, size_t count, drivers::ScanFn done) override {
    Route(Fault::Calls::kIteration, "", done,
          [=, this](drivers::ScanFn done) { inner_->Scan(cursor, count, std::move(done)); });
  }
  void ScanSpace(drivers::Space space, uint64_t cursor, size_t count,
                 drivers::ScanFn done) override {
    Route(Fault::Calls::kIteration, "", done, [=, this](drivers::ScanFn done) {
      inner_->ScanSpace(space, cursor, count, std::move(done));
    });
  }
  void Count(drivers::CountFn done) override {
    Route(Fault::Calls::kIteration, "", done,
          [this](drivers::CountFn done) { inner_->Count(std::move(done)); });
  }
  void RandomKey(drivers::KeyFn done) override {
    Route(Fault::Calls::kIteration, "", done,
          [this](drivers::KeyFn done) { inner_->RandomKey(std::move(done)); });
  }
  void Flush(drivers::DoneFn done) override {
    Route(Fault::Calls::kWrites, "", done,
          [this](drivers::DoneFn done) { inner_->Flush(std::move(done)); });
  }

  void Tick(int64_t now_ms) override { inner_->Tick(now_ms); }
  size_t used_memory() const override { return inner_->used_memory(); }
  size_t max_memory() const override { return inner_->max_memory(); }
  int64_t approximate_keys() const override { return inner_->approximate_keys(); }
  int64_t backend_calls() const override { return inner_->backend_calls(); }

 private:
  // The inner store's, except that calls held back by a delay reach it out of order.
  void CopyCapabilities() {
    capabilities_ = inner_->capabilities();
    if (allow_delays_) capabilities_.keeps_order = false;
  }

  // What the armed fault does to one call (decided, and counted, once per call).
  struct Decision {
    bool hit = false;
    Fault fault;
  };
  Decision Decide(Fault::Calls calls, const std::string& operation);

  // Completes `done` with `status` and an empty result, whatever its signature.
  static void Complete(const drivers::ReadFn& done, const Status& s) { done(s, {}); }
  static void Complete(const drivers::OpDone& done, const Status& s) { done(s, {}); }
  static void Complete(const drivers::DoneFn& done, const Status& s) { done(s); }
  static void Complete(const drivers::ScanFn& done, const Status& s) { done(s, 0, {}); }
  static void Complete(const drivers::CountFn& done, const Status& s) { done(s, 0); }
  static void Complete(const drivers::KeyFn& done, const Status& s) { done(s, std::nullopt); }

  // Keys are copied, so a delayed call still has them; Views lends them to the inner store.
  static std::vector<std::string> Own(std::span<const std::string_view> keys) {
    return {keys.begin(), keys.end()};
  }
  static std::vector<std::string_view> Views(const std::vector<std::string>& owned) {
    return {owned.begin(), owned.end()};
  }

  // Runs `call` (which forwards to the inner store with the completion it is given) as the armed
  // fault says.
  template <typename Done, typename Call>
  void Route(Fault::Calls calls, const std::string& operation, Done& done, Call call);

  // Runs `fn` on the loop `ms` from now.
  struct Timer {
    uv_timer_t handle;
    FaultStore* store;
    std::function<void()> fn;
  };
  void Delay(int ms, std::function<void()> fn);
  static void Fire(uv_timer_t* handle);
  void OnKeyWritten(Store&, drivers::Space space, std::string_view key, bool all) override {
    if (all) {
      AllKeysWritten();
    } else {
      KeyWritten(space, key);
    }
  }
  void OnRemoteChange(Store&) override { SomeKeysChanged(); }

  std::unique_ptr<drivers::Store> inner_;
  uv_loop_t* loop_;
  const bool allow_delays_;
  mutable std::mutex mu_;
  Fault fault_;         // GUARDED_BY(mu_)
  bool armed_ = false;  // GUARDED_BY(mu_)
  int seen_ = 0;        // GUARDED_BY(mu_): matching calls since Arm
  int hits_ = 0;        // GUARDED_BY(mu_)
  // Loop thread only: delayed calls not yet forwarded, and WhenIdle callbacks waiting for them.
  std::vector<uv_timer_t*> delayed_;
  std::vector<std::function<void()>> idle_waiters_;
};

inline FaultStore::Decision FaultStore::Decide(Fault::Calls calls, const std::string& operation) {
  std::lock_guard lock(mu_);
  if (!armed_) return {};
  const bool kind = fault_.calls == Fault::Calls::kAll || fault_.calls == calls;
  const bool op = fault_.operation.empty() || fault_.operation == operation;
  if (!kind || !op) return {};
  const int index = seen_++;
  if (index < fault_.skip) return {};
  if (fault_.times >= 0 && index >= fault_.skip + fault_.times) return {};
  ++hits_;
  return {true, fault_};
}

template <typename Done, typename Call>
void FaultStore::Route(Fault::Calls calls, const std::string& operation, Done& done, Call call) {
  Decision decision = Decide(calls, operation);
  if (!decision.hit) return call(std::move(done));
  const Status status = Status::Error(errors::StoreUnavailable(name(), decision.fault.reason));
  switch (decision.fault.action) {
    case Fault::Action::kFail:
      stats_.errors++;
      return Complete(done, status);
    case Fault::Action::kLoseResult:
      return call(Done([this, status, done = std::move(done)](auto&&...) {
        stats_.errors++;
        Complete(done, status);
      }));
    case Fault::Action::kDelay:
      if (!allow_delays_)
        return Complete(done, Status::Error("ERR FaultStore: delays not allowed"));
      return Delay(
          decision.fault.delay_ms,
          [call = std::move(call), done = std::move(done)]() mutable { call(std::move(done)); });
  }
}

inline void FaultStore::Delay(int ms, std::function<void()> fn) {
  auto* timer = new Timer{{}, this, std::move(fn)};
  uv_timer_init(loop_, &timer->handle);
  timer->handle.data = timer;
  delayed_.push_back(&timer->handle);
  uv_timer_start(&timer->handle, Fire, static_cast<uint64_t>(ms), 0);
}

inline void FaultStore::Fire(uv_timer_t* handle) {
  auto* timer = static_cast<Timer*>(handle->data);
  FaultStore* self = timer->store;
  std::erase(self->delayed_, handle);
  std::function<void()> fn = std::move(timer->fn);
  uv_timer_stop(handle);
  uv_close(reinterpret_cast<uv_handle_t*>(handle),
           [](uv_handle_t* h) { delete static_cast<Timer*>(h->data); });
  fn();
  if (self->delayed_.empty()) {
    std::vector<std::function<void()>> waiters = std::move(self->idle_waiters_);
    for (auto& waiter : waiters) self->inner_->WhenIdle(std::move(waiter));
  }
}

inline void FaultStore::WhenIdle(std::function<void()> fn) {
  if (delayed_.empty()) return inner_->WhenIdle(std::move(fn));
  idle_waiters_.push_back(std::move(fn));
}

inline void FaultStore::Close(drivers::DoneFn done) {
  // Delayed calls go to the inner store now, before it closes.
  while (!delayed_.empty()) {
    Fire(delayed_.front());
  }
  inner_->Close(std::move(done));
}

}  // namespace arvel::testing
