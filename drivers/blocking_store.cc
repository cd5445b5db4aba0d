#include "drivers/blocking_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "common/errors.h"

namespace arvel::drivers {

namespace {
constexpr int64_t kMaxRetryDelayMs = 5000;
constexpr int64_t kPruneIntervalMs = 1000;

std::vector<std::string> CopyKeys(std::span<const std::string_view> keys) {
  return std::vector<std::string>(keys.begin(), keys.end());
}

// An operation that needs no read, as the state it leaves behind: values[i] under keys[i] with
// `expiry`, or, with `erase`, none of the keys.
struct BlindWrite {
  Space space = Space::kData;
  std::vector<std::string> keys;  // distinct
  std::vector<std::string> values;
  ExpiryChange expiry;
  bool erase = false;
};

// Drops every key that appears again later (with its value), so the last write of a key wins,
// as it does when the generic executor applies the decisions in order.
void KeepLastOfEach(std::vector<std::string>& keys, std::vector<std::string>* values) {
  absl::flat_hash_map<std::string_view, size_t> last;
  for (size_t i = 0; i < keys.size(); ++i) last[keys[i]] = i;
  if (last.size() == keys.size()) return;
  std::vector<bool> keep(keys.size());
  for (const auto& [key, index] : last) keep[index] = true;
  last.clear();  // its views die with the moves below
  size_t kept = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!keep[i]) continue;
    if (kept != i) {
      keys[kept] = std::move(keys[i]);
      if (values) (*values)[kept] = std::move((*values)[i]);
    }
    ++kept;
  }
  keys.resize(kept);
  if (values) values->resize(kept);
}

// The blind write `operation` is, moved out of it; nullopt (operation untouched) when it needs
// the generic executor.
std::optional<BlindWrite> TakeBlindWrite(Operation& operation) {
  BlindWrite write;
  if (auto* remove = std::get_if<op::Delete>(&operation)) {
    if (!remove->prefix.empty()) return std::nullopt;  // presence depends on the value
    write = {remove->space, std::move(remove->keys), {}, {}, true};
  } else if (!IsBlindWrite(operation)) {
    return std::nullopt;
  } else if (auto* set = std::get_if<op::Set>(&operation)) {
    write = {set->space, {std::move(set->key)}, {std::move(set->value)}, set->expiry, false};
  } else if (auto* many = std::get_if<op::SetMany>(&operation)) {
    write = {many->space, std::move(many->keys), std::move(many->values), many->expiry, false};
  } else if (auto* tags = std::get_if<op::ReplaceGenerations>(&operation)) {
    write = {Space::kTagVersion, std::move(tags->tags), std::move(tags->fresh),
             ExpiryChange::Never(), false};
  } else {
    return std::nullopt;
  }
  KeepLastOfEach(write.keys, write.erase ? nullptr : &write.values);
  return write;
}
}  // namespace

BlockingStore::BlockingStore(std::string name, std::string driver, uv_loop_t* loop, size_t threads)
    : Store(std::move(name), std::move(driver)),
      pool_(loop, threads, this->name()),
      threads_(threads) {
  // Files and databases are the backends several daemons share. A driver that learns of other
  // daemons' writes sets notifies_remote_changes itself.
  capabilities_.shared = true;
}

BlockingStore::~BlockingStore() = default;

Status BlockingStore::Unavailable(const std::string& reason) const {
  return Status::Error(errors::StoreUnavailable(name(), reason));
}

Status BlockingStore::Health() const { return down_ ? Unavailable(down_reason_) : Status::Ok(); }

void BlockingStore::MarkDown(const Status& status) {
  stats_.errors++;
  if (down_) return;
  down_ = true;
  down_reason_ = status.message();
  next_retry_ms_ = NowMs() + retry_delay_ms_;
  spdlog::error("store '{}' unavailable: {}", name(), down_reason_);
}

void BlockingStore::Open(DoneFn done) {
  auto first_error = std::make_shared<Status>();
  auto mu = std::make_shared<std::mutex>();
  reopening_ = true;
  pool_.SubmitToEach(
      [this, first_error, mu](size_t worker) {
        Status status = OpenBackend(worker);
        std::lock_guard lock(*mu);
        if (!status.ok() && first_error->ok()) *first_error = status;
      },
      [this, first_error, done = std::move(done)] {
        reopening_ = false;
        if (first_error->ok()) {
          if (down_) spdlog::info("store '{}' is available again", name());
          down_ = false;
          retry_delay_ms_ = 500;
        } else {
          down_ = false;  // let MarkDown record the reason and schedule the retry
          MarkDown(*first_error);
          retry_delay_ms_ = std::min(retry_delay_ms_ * 2, kMaxRetryDelayMs);
        }
        if (done) done(first_error->ok() ? Status::Ok() : Unavailable(first_error->message()));
      });
}

void BlockingStore::Reopen() {
  pool_.SubmitToEach([this](size_t worker) { CloseBackend(worker); }, nullptr);
  Open(nullptr);
}

void BlockingStore::Close(DoneFn done) {
  pool_.SubmitToEach([this](size_t worker) { CloseBackend(worker); }, nullptr);
  pool_.Stop([done = std::move(done)] { done(Status::Ok()); });
}

void BlockingStore::Dispatch(std::function<Status(size_t)> work,
                             std::function<void(const Status&)> after) {
  if (down_) {
    stats_.errors++;
    after(Unavailable(down_reason_));
    return;
  }
  ++backend_calls_;
  auto status = std::make_shared<Status>();
  pool_.Submit([status, work = std::move(work)](size_t worker) { *status = work(worker); },
               [this, status, after = std::move(after)] {
                 if (status->ok()) return after(*status);
                 MarkDown(*status);
                 after(Unavailable(status->message()));
               });
}

void BlockingStore::Read(Space space, std::span<const std::string_view> keys, ReadFn done) {
  auto entries = std::make_shared<std::vector<std::optional<Entry>>>();
  Dispatch(
      [this, space, entries, copied = CopyKeys(keys)](size_t worker) {
        return ReadBlocking(worker, space, copied, NowMs(), entries.get());
      },
      [this, space, entries, done = std::move(done)](const Status& status) {
        std::vector<const Entry*> found;
        for (const auto& entry : *entries) found.push_back(entry ? &*entry : nullptr);
        if (status.ok() && (space == Space::kData || space == Space::kTagged)) {
          for (const Entry* e : found) (e ? stats_.hits : stats_.misses)++;
        }
        done(status, found);
      });
}

int64_t BlockingStore::ReportWrites(Space space, const std::vector<std::string>& keys,
                                    const std::vector<bool>& changed) {
  int64_t count = 0;
  for (size_t i = 0; i < changed.size() && i < keys.size(); ++i) {
    if (!changed[i]) continue;
    ++count;
    stats_.writes++;
    KeyWritten(space, keys[i]);
  }
  return count;
}

void BlockingStore::Update(Space space, std::span<const std::string_view> keys, UpdateFn fn,
                           DoneFn done) {
  auto changed = std::make_shared<std::vector<bool>>();
  auto copied = std::make_shared<std::vector<std::string>>(CopyKeys(keys));
  Dispatch(
      [this, space, changed, copied, fn = std::move(fn)](size_t worker) {
        return UpdateBlocking(worker, space, *copied, fn, NowMs(), changed.get());
      },
      [this, space, changed, copied, done = std::move(done)](const Status& status) {
        if (status.ok()) ReportWrites(space, *copied, *changed);
        done(status);
      });
}

void BlockingStore::Execute(Operation operation, OpDone done) {
  std::optional<BlindWrite> blind = TakeBlindWrite(operation);
  if (!blind) return Store::Execute(std::move(operation), std::move(done));
  auto write = std::make_shared<BlindWrite>(std::move(*blind));
  auto changed = std::make_shared<std::vector<bool>>();
  Dispatch(
      [this, write, changed](size_t worker) {
        const int64_t now_ms = NowMs();
        const int64_t expire_at = write->expiry.Resolve(0, now_ms);
        // An expiry already past removes the key instead (PutOrErase).
        if (write->erase || (expire_at != 0 && expire_at <= now_ms)) {
          return EraseBlocking(worker, write->space, write->keys, now_ms, changed.get());
        }
        Status status =
            WriteBlocking(worker, write->space, write->keys, write->values, expire_at, now_ms);
        changed->assign(status.ok() ? write->keys.size() : 0, true);
        return status;
      },
      [this, write, changed, done = std::move(done)](const Status& status) {
        if (!status.ok()) return done(status, OpResult{});
        // As the generic executor: a write reports `applied`, a delete how many it removed.
        OpResult result;
        const int64_t count = ReportWrites(write->space, write->keys, *changed);
        if (write->erase) {
          result.integer = count;
        } else {
          result.applied = true;
        }
        done(Status::Ok(), std::move(result));
      });
}

Status BlockingStore::WriteBlocking(size_t worker, Space space,
                                    const std::vector<std::string>& keys,
                                    const std::vector<std::string>& values, int64_t expire_at_ms,
                                    int64_t now_ms) {
  std::vector<bool> changed;
  return UpdateBlocking(
      worker, space, keys,
      [&](std::span<KeyUpdate> updates, int64_t) {
        for (size_t i = 0; i < updates.size(); ++i) updates[i].Put(values[i], expire_at_ms);
      },
      now_ms, &changed);
}

Status BlockingStore::EraseBlocking(size_t worker, Space space,
                                    const std::vector<std::string>& keys, int64_t now_ms,
                                    std::vector<bool>* removed) {
  return UpdateBlocking(
      worker, space, keys,
      [](std::span<KeyUpdate> updates, int64_t) {
        for (KeyUpdate& update : updates) {
          if (update.current) update.Erase();
        }
      },
      now_ms, removed);
}

void BlockingStore::Scan(uint64_t cursor, size_t count, ScanFn done) {
  ScanSpace(Space::kData, cursor, count, std::move(done));
}

void BlockingStore::ScanSpace(Space space, uint64_t cursor, size_t count, ScanFn done) {
  if (space != Space::kData && !CanScanSpace(space)) {
    return Store::ScanSpace(space, cursor, count, std::move(done));
  }
  auto page = std::make_shared<ScanPage>();
  Dispatch(
      [this, space, cursor, count, page](size_t worker) {
        return ScanSpaceBlocking(worker, space, cursor, count, NowMs(), page.get());
      },
      [page, done = std::move(done)](const Status& status) {
        done(status, status.ok() ? page->next_cursor : 0, std::move(page->keys));
      });
}

void BlockingStore::Count(CountFn done) {
  auto count = std::make_shared<int64_t>(0);
  Dispatch([this, count](size_t worker) { return CountBlocking(worker, NowMs(), count.get()); },
           [count, done = std::move(done)](const Status& status) { done(status, *count); });
}

void BlockingStore::RandomKey(KeyFn done) {
  auto key = std::make_shared<std::optional<std::string>>();
  Dispatch([this, key](size_t worker) { return RandomKeyBlocking(worker, NowMs(), key.get()); },
           [key, done = std::move(done)](const Status& status) { done(status, std::move(*key)); });
}

void BlockingStore::Flush(DoneFn done) {
  Dispatch([this](size_t worker) { return FlushBlocking(worker); },
           [this, done = std::move(done)](const Status& status) {
             if (status.ok()) AllKeysWritten();
             done(status);
           });
}

void BlockingStore::Tick(int64_t now_ms) {
  if (down_) {
    if (!reopening_ && now_ms >= next_retry_ms_) Reopen();
    return;
  }
  if (pruning_ || now_ms < next_prune_ms_) return;
  pruning_ = true;
  next_prune_ms_ = now_ms + kPruneIntervalMs;
  Dispatch([this, now_ms](size_t worker) { return PruneBlocking(worker, now_ms); },
           [this](const Status&) { pruning_ = false; });
}

}  // namespace arvel::drivers
