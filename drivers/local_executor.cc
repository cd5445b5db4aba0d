#include "drivers/local_executor.h"

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "drivers/funnel_logic.h"
#include "drivers/lock_logic.h"
#include "drivers/rate_limiter.h"
#include "drivers/store.h"
#include "drivers/tag_set.h"
#include "drivers/value_decisions.h"

namespace arvel::drivers {

namespace {

// The record under a key as the operation sees it when its values carry a prefix (tagged
// items): present only if the stored value starts with the prefix, read without it, and
// written back with it. With an empty prefix it is the record itself.
class PrefixedKey {
 public:
  PrefixedKey(KeyUpdate& record, std::string_view prefix) : record_(record), prefix_(prefix) {
    if (prefix_.empty()) return;
    view_.key = record.key;
    const Entry* current = record.current;
    if (current == nullptr || !std::string_view(current->value).starts_with(prefix_)) return;
    entry_.value = current->value.substr(prefix_.size());
    entry_.expire_at_ms = current->expire_at_ms;
    view_.current = &entry_;
  }
  PrefixedKey(const PrefixedKey&) = delete;
  PrefixedKey& operator=(const PrefixedKey&) = delete;
  ~PrefixedKey() { WriteBack(); }

  KeyUpdate& get() { return prefix_.empty() ? record_ : view_; }

 private:
  void WriteBack() {
    if (prefix_.empty()) return;
    switch (view_.action) {
      case KeyUpdate::Action::kKeep:
        break;
      case KeyUpdate::Action::kPut:
        record_.Put(std::string(prefix_) + view_.value, view_.expire_at_ms);
        break;
      case KeyUpdate::Action::kErase:
        if (record_.current != nullptr) record_.Erase();
        break;
      case KeyUpdate::Action::kExpire:
        if (view_.current != nullptr) record_.Expire(view_.expire_at_ms);
        break;
    }
  }

  KeyUpdate& record_;
  std::string_view prefix_;
  Entry entry_;
  KeyUpdate view_;
};

// A decision: fills `result` from the keys (as the store holds them at `now_ms`); a non-OK
// Status refuses the operation (the decision then leaves every key alone). Any callable of
// this shape; stored as a Decision only when the store completes later.
using Decision = std::function<Status(std::span<KeyUpdate>, int64_t now_ms, OpResult& result)>;

struct Outcome {
  Status status;
  OpResult result;
};

// A store that completes inline (array, null) has called back before Update returns, so the
// decision and its outcome stay on this stack: the callbacks capture one pointer each, which
// std::function holds without allocating. This is the hot path of every array-store write.
template <typename Decide>
void RunInline(Store& store, Space space, std::span<const std::string_view> keys, Decide& decide,
               OpDone& done) {
  struct State {
    Decide* decide;
    Outcome outcome;
    Status store_status;
    bool completed = false;
  } state{&decide};
  State* s = &state;
  store.Update(
      space, keys,
      [s](std::span<KeyUpdate> updates, int64_t now_ms) {
        s->outcome.status = (*s->decide)(updates, now_ms, s->outcome.result);
      },
      [s](const Status& status) {
        s->store_status = status;
        s->completed = true;
      });
  if (!state.completed) {
    return done(Status::Error("ERR internal: store '" + store.name() + "' did not complete inline"),
                OpResult{});
  }
  if (!state.store_status.ok()) return done(state.store_status, OpResult{});
  done(state.outcome.status, std::move(state.outcome.result));
}

template <typename Decide>
void Run(Store& store, Space space, std::span<const std::string_view> keys, Decide decide,
         OpDone done) {
  if (store.completes_inline()) return RunInline(store, space, keys, decide, done);
  // The decision may run on a worker thread: its outcome travels back through `outcome`.
  auto outcome = std::make_shared<Outcome>();
  store.Update(
      space, keys,
      [outcome, decide = Decision(std::move(decide))](std::span<KeyUpdate> updates,
                                                      int64_t now_ms) {
        outcome->status = decide(updates, now_ms, outcome->result);
      },
      [outcome, done = std::move(done)](const Status& status) {
        if (!status.ok()) return done(status, OpResult{});
        done(outcome->status, std::move(outcome->result));
      });
}

// One key: the decision sees the key through its prefix.
template <typename Decide>
void RunOne(Store& store, Space space, std::string_view key, std::string prefix, Decide decide,
            OpDone done) {
  Run(
      store, space, std::span<const std::string_view>(&key, 1),
      [prefix = std::move(prefix), decide = std::move(decide)](
          std::span<KeyUpdate> updates, int64_t now_ms, OpResult& result) mutable {
        PrefixedKey record(updates[0], prefix);
        return decide(record.get(), now_ms, result);
      },
      std::move(done));
}

std::vector<std::string_view> Views(const std::vector<std::string>& keys) {
  return {keys.begin(), keys.end()};
}

// ---- One function per operation: the decision, and the keys it runs over.

void Execute(Store& store, op::Set op, OpDone done) {
  // Copied out first: the decision takes the operation itself.
  const std::string key = op.key;
  std::string prefix = op.prefix;
  RunOne(
      store, op.space, key, std::move(prefix),
      [op = std::move(op)](KeyUpdate& k, int64_t now_ms, OpResult& result) mutable {
        if (op.return_old && k.current) result.value = k.current->value;
        const bool present = k.current != nullptr;
        if ((op.condition == op::Condition::kIfAbsent && present) ||
            (op.condition == op::Condition::kIfPresent && !present)) {
          return Status::Ok();
        }
        result.applied = true;
        PutOrErase(k, std::move(op.value), op.expiry.Resolve(ExpiryOf(k.current), now_ms), now_ms);
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::SetMany op, OpDone done) {
  const std::vector<std::string> keys = op.keys;
  Run(
      store, op.space, Views(keys),
      [op = std::move(op)](std::span<KeyUpdate> updates, int64_t now_ms, OpResult& result) mutable {
        std::vector<std::unique_ptr<PrefixedKey>> records;
        for (KeyUpdate& update : updates) {
          records.push_back(std::make_unique<PrefixedKey>(update, op.prefix));
          if (op.if_none_exist && records.back()->get().current) return Status::Ok();
        }
        for (size_t i = 0; i < records.size(); ++i) {
          KeyUpdate& k = records[i]->get();
          PutOrErase(k, std::move(op.values[i]), op.expiry.Resolve(ExpiryOf(k.current), now_ms),
                     now_ms);
        }
        result.applied = true;
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::Delete op, OpDone done) {
  const std::vector<std::string> keys = op.keys;
  Run(
      store, op.space, Views(keys),
      [prefix = std::move(op.prefix)](std::span<KeyUpdate> updates, int64_t, OpResult& result) {
        for (KeyUpdate& update : updates) {
          PrefixedKey record(update, prefix);
          if (!record.get().current) continue;
          record.get().Erase();
          ++result.integer;
        }
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::Take op, OpDone done) {
  RunOne(
      store, op.space, op.key, std::move(op.prefix),
      [](KeyUpdate& k, int64_t, OpResult& result) {
        if (!k.current) return Status::Ok();
        result.value = k.current->value;
        k.Erase();
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::Increment op, OpDone done) {
  RunOne(
      store, op.space, op.key, std::move(op.prefix),
      [delta = op.delta](KeyUpdate& k, int64_t, OpResult& result) {
        Result<int64_t> value = IncrementInteger(k, delta);
        if (!value.ok()) return value.status();
        result.integer = *value;
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::IncrementFloat op, OpDone done) {
  RunOne(
      store, Space::kData, op.key, {},
      [delta = op.delta](KeyUpdate& k, int64_t, OpResult& result) {
        Result<std::string> value = IncrementFloat(k, delta);
        if (!value.ok()) return value.status();
        result.value = std::move(*value);
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::Append op, OpDone done) {
  RunOne(
      store, Space::kData, op.key, {},
      [suffix = std::move(op.suffix), max = op.max_size](KeyUpdate& k, int64_t, OpResult& result) {
        Result<int64_t> size = AppendValue(k, suffix, max);
        if (!size.ok()) return size.status();
        result.integer = *size;
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::SetRange op, OpDone done) {
  RunOne(
      store, Space::kData, op.key, {},
      [offset = op.offset, patch = std::move(op.patch)](KeyUpdate& k, int64_t, OpResult& result) {
        result.integer = OverwriteRange(k, offset, patch);
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::SetBit op, OpDone done) {
  RunOne(
      store, Space::kData, op.key, {},
      [offset = op.offset, bit = op.bit](KeyUpdate& k, int64_t, OpResult& result) {
        result.integer = SetValueBit(k, offset, bit);
        return Status::Ok();
      },
      std::move(done));
}

// RENAME onto itself: Update takes each key once.
void RenameOntoItself(Store& store, op::Rename op, OpDone done) {
  RunOne(
      store, Space::kData, op.from, {},
      [if_absent = op.if_absent](KeyUpdate& k, int64_t, OpResult& result) {
        if (!k.current) return Status::Error(std::string(errors::kNoSuchKey));
        result.applied = !if_absent;
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::Rename op, OpDone done) {
  if (op.from == op.to) return RenameOntoItself(store, std::move(op), std::move(done));
  const std::string_view keys[] = {op.from, op.to};
  Run(
      store, Space::kData, keys,
      [if_absent = op.if_absent](std::span<KeyUpdate> updates, int64_t, OpResult& result) {
        KeyUpdate& from = updates[0];
        KeyUpdate& to = updates[1];
        if (!from.current) return Status::Error(std::string(errors::kNoSuchKey));
        if (if_absent && to.current) return Status::Ok();
        to.Put(from.current->value, from.current->expire_at_ms);
        from.Erase();
        result.applied = true;
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::Copy op, OpDone done) {
  const std::string_view keys[] = {op.from, op.to};
  Run(
      store, Space::kData, keys,
      [replace = op.replace](std::span<KeyUpdate> updates, int64_t, OpResult& result) {
        const KeyUpdate& from = updates[0];
        KeyUpdate& to = updates[1];
        if (!from.current || (to.current && !replace)) return Status::Ok();
        to.Put(from.current->value, from.current->expire_at_ms);
        result.applied = true;
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::Expire op, OpDone done) {
  // Copied out first: the decision takes the operation itself.
  const std::string key = op.key;
  std::string prefix = op.prefix;
  RunOne(
      store, op.space, key, std::move(prefix),
      [op = std::move(op)](KeyUpdate& k, int64_t now_ms, OpResult& result) {
        if (!k.current) return Status::Ok();
        if (op.return_value) result.value = k.current->value;
        const int64_t current = k.current->expire_at_ms;
        int64_t when = op.expiry.Resolve(current, now_ms);
        // A timed expiry that lands on 0 (EXPIREAT key 0) is in the past, not "never".
        const bool timed = op.expiry.mode == ExpiryChange::Mode::kRelative ||
                           op.expiry.mode == ExpiryChange::Mode::kAbsolute;
        if (timed && when == 0) when = -1;
        if (!ExpireAllowed(op, current, when)) return Status::Ok();
        result.applied = true;
        ExpireOrErase(k, when, now_ms);
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::Acquire op, OpDone done) {
  const std::string keys[] = {op.key, FenceKey(op.key)};
  const std::string_view views[] = {keys[0], keys[1]};
  Run(
      store, op.space, views,
      [token = std::move(op.token), ttl = op.ttl_ms](std::span<KeyUpdate> updates, int64_t now_ms,
                                                     OpResult& result) {
        LockAttempt attempt = TryAcquireFencedLock(updates[0], updates[1], token, ttl, now_ms);
        result.applied = attempt.acquired;
        result.expire_at_ms = attempt.expire_at_ms;
        result.integer = attempt.fence;
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::ReleaseIf op, OpDone done) {
  RunOne(
      store, op.space, op.key, {},
      [token = std::move(op.token)](KeyUpdate& k, int64_t, OpResult& result) {
        result.applied = TryReleaseLock(k, token);
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::ExtendIf op, OpDone done) {
  RunOne(
      store, op.space, op.key, {},
      [token = std::move(op.token), ttl = op.ttl_ms](KeyUpdate& k, int64_t now_ms,
                                                     OpResult& result) {
        result.applied = TryExtendLock(k, token, ttl, now_ms);
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::TakeLease op, OpDone done) {
  const std::string key = op.key;  // copied out first: the decision takes the operation
  RunOne(
      store, Space::kLease, key, {},
      [op = std::move(op)](KeyUpdate& k, int64_t now_ms, OpResult& result) {
        result.applied = TryTakeLease(k, op.previous, op.token, op.ttl_ms, now_ms);
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::Funnel op, OpDone done) {
  const std::string key = op.key;  // copied out first: the decision takes the operation
  RunOne(
      store, Space::kLock, key, {},
      [op = std::move(op)](KeyUpdate& k, int64_t now_ms, OpResult& result) {
        const FunnelOutcome outcome = op.release
                                          ? ReleaseSlot(k, op.token, now_ms)
                                          : TryTakeSlot(k, op.token, op.limit, op.ttl_ms, now_ms);
        result.applied = outcome.applied;
        result.integer = outcome.held;
        result.expire_at_ms = outcome.next_expiry;
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::WindowHit op, OpDone done) {
  RunOne(
      store, Space::kThrottle, op.key, {},
      [op](KeyUpdate& k, int64_t now_ms, OpResult& result) {
        if (op.give_back) {
          result.applied = k.current != nullptr;
          result.integer = FixedWindowLimiter::GiveBack(k, op.amount);
          return Status::Ok();
        }
        if (op.max_attempts) {
          const int64_t before = FixedWindowLimiter::Attempts(k.current);
          result.applied = FixedWindowLimiter::Attempt(k, *op.max_attempts, op.decay_ms, now_ms);
          result.integer = before + (result.applied ? 1 : 0);
          return Status::Ok();
        }
        std::optional<int64_t> count = FixedWindowLimiter::Hit(k, op.decay_ms, op.amount, now_ms);
        if (!count) return Status::Error(std::string(errors::kIncrOverflow));
        result.applied = true;
        result.integer = *count;
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::CellThrottle op, OpDone done) {
  RunOne(
      store, Space::kThrottle, op.key, {},
      [op](KeyUpdate& k, int64_t now_ms, OpResult& result) {
        Result<Gcra> gcra = Gcra::Make(op.max_burst, op.count, op.period_s, op.quantity);
        if (!gcra.ok()) return gcra.status();
        GcraReply reply = gcra->Decide(k, now_ms);
        result.applied = !reply.limited;
        result.integers = {reply.limited ? 1 : 0, reply.limit, reply.remaining, reply.retry_after,
                           reply.reset_after};
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::EnsureGenerations op, OpDone done) {
  const std::vector<std::string> tags = op.tags;
  Run(
      store, Space::kTagVersion, Views(tags),
      [fresh = std::move(op.fresh)](std::span<KeyUpdate> versions, int64_t, OpResult& result) {
        result.values = EnsureGenerations(versions, fresh);
        return Status::Ok();
      },
      std::move(done));
}

void Execute(Store& store, op::ReplaceGenerations op, OpDone done) {
  const std::vector<std::string> tags = op.tags;
  Run(
      store, Space::kTagVersion, Views(tags),
      [fresh = std::move(op.fresh)](std::span<KeyUpdate> versions, int64_t, OpResult& result) {
        ReplaceGenerations(versions, fresh);
        result.applied = true;
        return Status::Ok();
      },
      std::move(done));
}

}  // namespace

void ExecuteLocally(Store& store, Operation operation, OpDone done) {
  std::visit([&](auto&& op) { Execute(store, std::move(op), std::move(done)); },
             std::move(operation));
}

}  // namespace arvel::drivers
