// Every operation of the vocabulary (drivers/operation.h) on the redis driver against the
// reference semantics: the same setup and the same operation run on an ArrayStore (the generic
// executor, local_executor.cc) and on a RedisStore, and both must give the same Status, the
// same OpResult and leave the same records behind (expiries within a clock tolerance, since one
// judges by the daemon's clock and the other by Redis's).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "drivers/array_store.h"
#include "drivers/funnel_logic.h"
#include "drivers/rate_limiter.h"
#include "drivers/redis_commands.h"
#include "tests/unit/drivers/redis_store_test_util.h"

namespace arvel::drivers {
namespace {

using testing::Exec;
using testing::ReadKeys;
using testing::TestLoop;

constexpr int64_t kToleranceMs = 200;

struct Case {
  std::string name;
  std::vector<Operation> setup;
  Operation op;
};

void PrintTo(const Case& c, std::ostream* out) { *out << c.name; }

op::Set Put(std::string key, std::string value, ExpiryChange expiry = ExpiryChange::Never(),
            Space space = Space::kData) {
  return op::Set{space, std::move(key), std::move(value), expiry};
}

op::Set Cond(std::string key, std::string value, op::Condition condition, bool return_old,
             std::string prefix = "", ExpiryChange expiry = ExpiryChange::Never()) {
  return op::Set{Space::kData, std::move(key), std::move(value), expiry, condition, return_old,
                 std::move(prefix)};
}

op::Expire ExpireOp(std::string key, ExpiryChange expiry, std::string flags = "",
                    bool return_value = false, std::string prefix = "") {
  op::Expire e{Space::kData, std::move(key), expiry};
  e.nx = flags.find('N') != std::string::npos;
  e.xx = flags.find('X') != std::string::npos;
  e.gt = flags.find('G') != std::string::npos;
  e.lt = flags.find('L') != std::string::npos;
  e.return_value = return_value;
  e.prefix = std::move(prefix);
  return e;
}

std::vector<Case> Cases() {
  const int64_t now = NowMs();
  const ExpiryChange in100s = ExpiryChange::In(100'000);
  const ExpiryChange huge = ExpiryChange::InSeconds(std::numeric_limits<int64_t>::max());
  const std::string max = "9223372036854775807";
  std::vector<Case> cases = {
      // Set
      {"set_plain", {}, Put("k", "v")},
      {"set_relative", {}, Put("k", "v", ExpiryChange::In(5000))},
      {"set_absolute", {}, Put("k", "v", ExpiryChange::At(now + 60'000))},
      {"set_huge_ttl", {}, Put("k", "v", huge)},
      {"set_keep", {Put("k", "old", in100s)}, Put("k", "v", ExpiryChange::Keep())},
      {"set_keep_absent", {}, Put("k", "v", ExpiryChange::Keep())},
      {"set_past_relative", {Put("k", "old")}, Put("k", "v", ExpiryChange::In(0))},
      {"set_past_absolute", {Put("k", "old")}, Put("k", "v", ExpiryChange::At(now - 1000))},
      {"set_at_zero_is_forever", {}, Put("k", "v", ExpiryChange::At(0))},
      {"set_nx_absent", {}, Cond("k", "v", op::Condition::kIfAbsent, false)},
      {"set_nx_present_get", {Put("k", "old")}, Cond("k", "v", op::Condition::kIfAbsent, true)},
      {"set_nx_absent_get", {}, Cond("k", "v", op::Condition::kIfAbsent, true)},
      {"set_xx_absent", {}, Cond("k", "v", op::Condition::kIfPresent, false)},
      {"set_xx_present_get", {Put("k", "old")}, Cond("k", "v", op::Condition::kIfPresent, true)},
      {"set_get", {Put("k", "old", in100s)}, Cond("k", "v", op::Condition::kAlways, true)},
      {"set_nx_past", {}, Cond("k", "v", op::Condition::kIfAbsent, false, "", ExpiryChange::In(-5))},
      {"set_prefixed", {Put("k", "P|old")}, Cond("k", "v", op::Condition::kAlways, true, "P|")},
      {"set_prefixed_other_prefix",
       {Put("k", "Q|old", in100s)},
       Cond("k", "v", op::Condition::kIfAbsent, true, "P|", ExpiryChange::Keep())},
      {"set_prefixed_keep",
       {Put("k", "P|old", in100s)},
       Cond("k", "v", op::Condition::kIfPresent, true, "P|", ExpiryChange::Keep())},
      {"set_prefixed_past", {Put("k", "P|old")},
       Cond("k", "v", op::Condition::kAlways, false, "P|", ExpiryChange::In(-1))},
      {"set_lock_space", {}, Put("k", "v", in100s, Space::kLock)},
      // SetMany
      {"mset", {Put("a", "0")}, op::SetMany{Space::kData, {"a", "b"}, {"1", "2"}}},
      {"mset_ttl", {}, op::SetMany{Space::kData, {"a", "b"}, {"1", "2"}, in100s}},
      {"mset_past", {Put("a", "0")},
       op::SetMany{Space::kData, {"a", "b"}, {"1", "2"}, ExpiryChange::In(0)}},
      {"msetnx_blocked", {Put("b", "0")},
       op::SetMany{Space::kData, {"a", "b"}, {"1", "2"}, ExpiryChange::Never(), true}},
      {"msetnx", {}, op::SetMany{Space::kData, {"a", "b"}, {"1", "2"}, ExpiryChange::Never(), true}},
      {"msetnx_ttl", {}, op::SetMany{Space::kData, {"a", "b"}, {"1", "2"}, in100s, true}},
      {"mset_prefixed", {Put("a", "Q|x")},
       op::SetMany{Space::kData, {"a", "b"}, {"1", "2"}, in100s, true, "P|"}},
      {"mset_prefixed_blocked", {Put("a", "P|x")},
       op::SetMany{Space::kData, {"a", "b"}, {"1", "2"}, in100s, true, "P|"}},
      // Delete, Take
      {"del", {Put("a", "1"), Put("c", "3")}, op::Delete{Space::kData, {"a", "b", "c"}}},
      {"del_prefixed", {Put("a", "P|1"), Put("b", "Q|2")},
       op::Delete{Space::kData, {"a", "b", "c"}, "P|"}},
      {"take", {Put("k", "v")}, op::Take{Space::kData, "k"}},
      {"take_missing", {}, op::Take{Space::kData, "k"}},
      {"take_prefixed", {Put("k", "P|v")}, op::Take{Space::kData, "k", "P|"}},
      {"take_prefixed_other", {Put("k", "Q|v")}, op::Take{Space::kData, "k", "P|"}},
      // Increment
      {"incr_missing", {}, op::Increment{Space::kData, "n", 5}},
      {"incr_keeps_ttl", {Put("n", "10", in100s)}, op::Increment{Space::kData, "n", -20}},
      {"incr_not_integer", {Put("n", "abc")}, op::Increment{Space::kData, "n", 1}},
      {"incr_leading_zero", {Put("n", "007")}, op::Increment{Space::kData, "n", 1}},
      {"incr_overflow", {Put("n", max)}, op::Increment{Space::kData, "n", 1}},
      {"incr_to_max", {Put("n", "9223372036854775806")}, op::Increment{Space::kData, "n", 1}},
      {"incr_min", {Put("n", "-9223372036854775807")}, op::Increment{Space::kData, "n", -1}},
      {"incr_prefixed", {Put("n", "P|41", in100s)}, op::Increment{Space::kData, "n", 1, "P|"}},
      {"incr_prefixed_missing", {Put("n", "Q|41", in100s)},
       op::Increment{Space::kData, "n", 1, "P|"}},
      {"incr_prefixed_overflow", {Put("n", "P|" + max)},
       op::Increment{Space::kData, "n", 1, "P|"}},
      {"incr_prefixed_not_integer", {Put("n", "P|x")}, op::Increment{Space::kData, "n", 1, "P|"}},
      // IncrementFloat
      {"incrbyfloat", {Put("f", "10.5")}, op::IncrementFloat{"f", 0.1L}},
      {"incrbyfloat_exp", {Put("f", "5.0e3")}, op::IncrementFloat{"f", 200.0L}},
      {"incrbyfloat_new", {}, op::IncrementFloat{"f", 3.0L}},
      {"incrbyfloat_negative", {Put("f", "1", in100s)}, op::IncrementFloat{"f", -2.25L}},
      {"incrbyfloat_not_float", {Put("f", "abc")}, op::IncrementFloat{"f", 1.0L}},
      {"incrbyfloat_inf", {Put("f", "1e4932")}, op::IncrementFloat{"f", 1e4932L}},
      // Append, SetRange
      {"append", {Put("k", "Hello", in100s)}, op::Append{"k", " World", 100}},
      {"append_missing", {}, op::Append{"k", "x", 100}},
      {"append_too_long", {Put("k", "12345")}, op::Append{"k", "678", 7}},
      {"setrange_pad", {}, op::SetRange{"k", 3, "x"}},
      {"setrange", {Put("k", "Hello World", in100s)}, op::SetRange{"k", 6, "Redis"}},
      {"setrange_empty_missing", {}, op::SetRange{"k", 3, ""}},
      // SetBit, Rename, Copy
      {"setbit_missing_zero", {}, op::SetBit{"k", 10, false}},
      {"setbit_grows", {Put("k", "a", in100s)}, op::SetBit{"k", 17, true}},
      {"setbit_clears", {Put("k", "a", in100s)}, op::SetBit{"k", 7, false}},
      {"rename", {Put("a", "1", in100s), Put("b", "2")}, op::Rename{"a", "b"}},
      {"rename_missing", {Put("b", "2")}, op::Rename{"a", "b"}},
      {"rename_onto_itself", {Put("a", "1", in100s)}, op::Rename{"a", "a"}},
      {"rename_onto_itself_missing", {}, op::Rename{"a", "a"}},
      {"renamenx", {Put("a", "1", in100s)}, op::Rename{"a", "b", true}},
      {"renamenx_taken", {Put("a", "1"), Put("b", "2")}, op::Rename{"a", "b", true}},
      {"renamenx_onto_itself", {Put("a", "1")}, op::Rename{"a", "a", true}},
      {"copy", {Put("a", "1", in100s)}, op::Copy{"a", "b"}},
      {"copy_missing", {Put("b", "2")}, op::Copy{"a", "b"}},
      {"copy_taken", {Put("a", "1"), Put("b", "2", in100s)}, op::Copy{"a", "b"}},
      {"copy_replace", {Put("a", "1"), Put("b", "2", in100s)}, op::Copy{"a", "b", true}},
      // Expire
      {"expire", {Put("k", "v")}, ExpireOp("k", ExpiryChange::In(10'000))},
      {"expire_missing", {}, ExpireOp("k", ExpiryChange::In(10'000))},
      {"expire_huge", {Put("k", "v")}, ExpireOp("k", huge)},
      {"expireat", {Put("k", "v")}, ExpireOp("k", ExpiryChange::At(now + 50'000))},
      {"expireat_zero", {Put("k", "v")}, ExpireOp("k", ExpiryChange::At(0))},
      {"expire_negative", {Put("k", "v", in100s)}, ExpireOp("k", ExpiryChange::In(-1))},
      {"expire_nx_none", {Put("k", "v")}, ExpireOp("k", ExpiryChange::In(10'000), "N")},
      {"expire_nx_has", {Put("k", "v", in100s)}, ExpireOp("k", ExpiryChange::In(10'000), "N")},
      {"expire_xx_none", {Put("k", "v")}, ExpireOp("k", ExpiryChange::In(10'000), "X")},
      {"expire_gt_none", {Put("k", "v")}, ExpireOp("k", ExpiryChange::In(10'000), "G")},
      {"expire_gt_later", {Put("k", "v", in100s)}, ExpireOp("k", ExpiryChange::In(200'000), "G")},
      {"expire_gt_earlier", {Put("k", "v", in100s)}, ExpireOp("k", ExpiryChange::In(50'000), "G")},
      {"expire_lt_none", {Put("k", "v")}, ExpireOp("k", ExpiryChange::In(50'000), "L")},
      {"expire_lt_earlier", {Put("k", "v", in100s)}, ExpireOp("k", ExpiryChange::In(50'000), "L")},
      {"expire_xx_gt", {Put("k", "v", in100s)}, ExpireOp("k", ExpiryChange::In(200'000), "XG")},
      {"persist", {Put("k", "v", in100s)}, ExpireOp("k", ExpiryChange::Never(), "X")},
      {"persist_none", {Put("k", "v")}, ExpireOp("k", ExpiryChange::Never(), "X")},
      {"never_no_flags", {Put("k", "v", in100s)}, ExpireOp("k", ExpiryChange::Never())},
      {"never_gt", {Put("k", "v", in100s)}, ExpireOp("k", ExpiryChange::Never(), "G")},
      {"never_lt", {Put("k", "v", in100s)}, ExpireOp("k", ExpiryChange::Never(), "L")},
      {"never_nx_none", {Put("k", "v")}, ExpireOp("k", ExpiryChange::Never(), "N")},
      {"getex", {Put("k", "v")}, ExpireOp("k", ExpiryChange::In(10'000), "", true)},
      {"getex_keep", {Put("k", "v", in100s)}, ExpireOp("k", ExpiryChange::Keep(), "", true)},
      {"getex_keep_lt", {Put("k", "v")}, ExpireOp("k", ExpiryChange::Keep(), "L", true)},
      {"getex_persist", {Put("k", "v", in100s)}, ExpireOp("k", ExpiryChange::Never(), "", true)},
      {"getex_missing", {}, ExpireOp("k", ExpiryChange::Never(), "", true)},
      {"touch_prefixed", {Put("k", "P|v")},
       ExpireOp("k", ExpiryChange::In(10'000), "", false, "P|")},
      {"touch_prefixed_other", {Put("k", "Q|v")},
       ExpireOp("k", ExpiryChange::In(10'000), "", true, "P|")},
      {"touch_prefixed_value", {Put("k", "P|v", in100s)},
       ExpireOp("k", ExpiryChange::At(0), "", true, "P|")},
      // Locks and leases
      {"acquire", {}, op::Acquire{Space::kLock, "l", "t1", 10'000}},
      {"acquire_forever", {}, op::Acquire{Space::kLock, "l", "t1", 0}},
      {"acquire_held", {op::Acquire{Space::kLock, "l", "t1", 10'000}},
       op::Acquire{Space::kLock, "l", "t2", 5'000}},
      {"acquire_held_by_self", {op::Acquire{Space::kLock, "l", "t1", 0}},
       op::Acquire{Space::kLock, "l", "t1", 5'000}},
      {"acquire_after_release",
       {op::Acquire{Space::kLock, "l", "t1", 10'000}, op::ReleaseIf{Space::kLock, "l", "t1"}},
       op::Acquire{Space::kLock, "l", "t2", 10'000}},
      {"release", {op::Acquire{Space::kLock, "l", "t1", 10'000}},
       op::ReleaseIf{Space::kLock, "l", "t1"}},
      {"release_wrong", {op::Acquire{Space::kLock, "l", "t1", 10'000}},
       op::ReleaseIf{Space::kLock, "l", "t2"}},
      {"release_missing", {}, op::ReleaseIf{Space::kLock, "l", "t1"}},
      {"extend", {op::Acquire{Space::kLock, "l", "t1", 10'000}},
       op::ExtendIf{Space::kLock, "l", "t1", 60'000}},
      {"extend_forever", {op::Acquire{Space::kLock, "l", "t1", 10'000}},
       op::ExtendIf{Space::kLock, "l", "t1", 0}},
      {"extend_wrong", {op::Acquire{Space::kLock, "l", "t1", 10'000}},
       op::ExtendIf{Space::kLock, "l", "t2", 60'000}},
      {"lease", {}, op::TakeLease{"k", "", "t1", 10'000}},
      {"lease_held", {op::TakeLease{"k", "", "t1", 10'000}}, op::TakeLease{"k", "", "t2", 10'000}},
      {"lease_handover", {op::TakeLease{"k", "", "t1", 10'000}},
       op::TakeLease{"k", "t1", "t2", 20'000}},
      {"lease_handover_stale", {op::TakeLease{"k", "", "t1", 10'000}},
       op::TakeLease{"k", "t0", "t2", 20'000}},
      // Funnels
      {"funnel_first", {}, op::Funnel{"f", "t1", 2, 10'000}},
      {"funnel_second", {op::Funnel{"f", "t1", 2, 10'000}}, op::Funnel{"f", "t2", 2, 0}},
      {"funnel_full", {op::Funnel{"f", "t1", 2, 10'000}, op::Funnel{"f", "t2", 2, 20'000}},
       op::Funnel{"f", "t3", 2, 10'000}},
      {"funnel_release", {op::Funnel{"f", "t1", 2, 10'000}, op::Funnel{"f", "t2", 2, 20'000}},
       op::Funnel{"f", "t1", 0, 0, true}},
      {"funnel_release_last", {op::Funnel{"f", "t1", 2, 10'000}},
       op::Funnel{"f", "t1", 0, 0, true}},
      {"funnel_release_wrong", {op::Funnel{"f", "t1", 2, 10'000}},
       op::Funnel{"f", "t2", 0, 0, true}},
      {"funnel_release_missing", {}, op::Funnel{"f", "t1", 0, 0, true}},
      {"funnel_prunes",
       {Put("f", "old 1000\nbad\nt1 " + std::to_string(now + 50'000) + "\n", in100s,
            Space::kLock)},
       op::Funnel{"f", "t2", 2, 10'000}},
      // Fixed window
      {"attempt_first", {}, op::WindowHit{"w", 60'000, 1, 2}},
      {"attempt_second", {op::WindowHit{"w", 60'000, 1, 2}}, op::WindowHit{"w", 60'000, 1, 2}},
      {"attempt_limited", {op::WindowHit{"w", 60'000, 1, 2}, op::WindowHit{"w", 60'000, 1, 2}},
       op::WindowHit{"w", 60'000, 1, 2}},
      {"attempt_zero_max", {}, op::WindowHit{"w", 60'000, 1, 0}},
      {"hit", {op::WindowHit{"w", 60'000, 1, 5}}, op::WindowHit{"w", 30'000, 7}},
      {"hit_zero", {}, op::WindowHit{"w", 30'000, 0}},
      {"hit_overflow", {Put("w", max, in100s, Space::kThrottle)}, op::WindowHit{"w", 30'000, 1}},
      {"hit_garbage", {Put("w", "-4", in100s, Space::kThrottle)}, op::WindowHit{"w", 30'000, 3}},
      {"hit_leading_zero", {Put("w", "007", in100s, Space::kThrottle)},
       op::WindowHit{"w", 30'000, 3}},
      {"throttle_clear", {op::WindowHit{"w", 60'000, 1, 5}}, op::Delete{Space::kThrottle, {"w"}}},
      // GCRA
      {"gcra_first", {}, op::CellThrottle{"g", 2, 1, 10, 1}},
      {"gcra_burst",
       {op::CellThrottle{"g", 2, 1, 10, 1}, op::CellThrottle{"g", 2, 1, 10, 1},
        op::CellThrottle{"g", 2, 1, 10, 1}},
       op::CellThrottle{"g", 2, 1, 10, 1}},
      {"gcra_peek", {op::CellThrottle{"g", 2, 1, 10, 1}}, op::CellThrottle{"g", 2, 1, 10, 0}},
      {"gcra_quantity", {op::CellThrottle{"g", 5, 3, 30, 2}}, op::CellThrottle{"g", 5, 3, 30, 4}},
      {"gcra_too_big", {}, op::CellThrottle{"g", 2, 1, 10, 5}},
      // A tolerance of 87e15 ns: beyond 2^53, so the script must not compute in doubles.
      {"gcra_long_period", {op::CellThrottle{"g", 100, 1, 864'000, 1}},
       op::CellThrottle{"g", 100, 1, 864'000, 3}},
      {"gcra_out_of_range", {}, op::CellThrottle{"g", 1000, 1, 31'536'000, 1}},
      {"gcra_fine", {op::CellThrottle{"g", 10, 7, 3, 1}}, op::CellThrottle{"g", 10, 7, 3, 1}},
      {"gcra_bad_count", {}, op::CellThrottle{"g", 2, 0, 10, 1}},
      {"gcra_garbage", {Put("g", "xyz", in100s, Space::kThrottle)},
       op::CellThrottle{"g", 2, 1, 10, 1}},
      // Tag generations
      {"ensure", {op::ReplaceGenerations{{"a"}, {"ga"}}},
       op::EnsureGenerations{{"a", "b"}, {"fa", "fb"}}},
      {"replace", {op::ReplaceGenerations{{"a"}, {"ga"}}},
       op::ReplaceGenerations{{"a", "b"}, {"fa", "fb"}}},
  };
  return cases;
}

std::string Describe(const std::optional<Entry>& entry) {
  if (!entry) return "(absent)";
  return "'" + entry->value + "' @" + std::to_string(entry->expire_at_ms);
}

void ExpectSameExpiry(int64_t local, int64_t remote, const std::string& what) {
  if (local == 0 || remote == 0) {
    EXPECT_EQ(local, remote) << what;
  } else {
    EXPECT_NEAR(static_cast<double>(local), static_cast<double>(remote), kToleranceMs) << what;
  }
}

// Funnel records list expiries of two clocks: the same tokens, expiries within the tolerance.
void ExpectSameSlots(const Entry& local, const Entry& remote, const std::string& what) {
  const std::vector<FunnelSlot> mine = LiveSlots(&local, 0), theirs = LiveSlots(&remote, 0);
  ASSERT_EQ(mine.size(), theirs.size()) << what;
  for (size_t i = 0; i < mine.size(); ++i) {
    EXPECT_EQ(mine[i].token, theirs[i].token) << what;
    ExpectSameExpiry(mine[i].expire_at_ms, theirs[i].expire_at_ms, what);
  }
}

class RedisOperationsTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (!arvel::testing::RedisServerInstalled()) GTEST_SKIP() << arvel::testing::kNoRedisServer;
    redis_ = arvel::testing::SharedRedisServer();
    store_ = testing::OpenRedis(loop_, testing::OptionsFor(redis_->port(), testing::UniquePrefix("ops")));
  }
  void TearDown() override {
    if (store_) testing::CloseRedis(loop_, *store_);
    store_.reset();
  }

  TestLoop loop_;
  arvel::testing::RedisTestServer* redis_ = nullptr;
  std::unique_ptr<RedisStore> store_;
  ArrayStore local_{"array"};
};

TEST_P(RedisOperationsTest, SameOutcomeAsTheLocalExecutor) {
  const Case& c = GetParam();
  for (const Operation& setup : c.setup) {
    auto [remote, remote_result] = Exec(loop_, *store_, setup);
    auto [local, local_result] = Exec(loop_, local_, setup);
    ASSERT_TRUE(remote.ok() && local.ok()) << remote.message() << " / " << local.message();
  }
  auto [remote, remote_result] = Exec(loop_, *store_, c.op);
  auto [local, local_result] = Exec(loop_, local_, c.op);
  EXPECT_EQ(remote.message(), local.message());
  EXPECT_EQ(remote_result.applied, local_result.applied);
  EXPECT_EQ(remote_result.integer, local_result.integer);
  EXPECT_EQ(remote_result.value, local_result.value);
  EXPECT_EQ(remote_result.integers, local_result.integers);
  EXPECT_EQ(remote_result.values, local_result.values);
  ExpectSameExpiry(local_result.expire_at_ms, remote_result.expire_at_ms, "expire_at_ms");

  // The records each left behind.
  const Space space = SpaceOf(c.op);
  std::vector<std::string> keys;
  for (std::string_view key : KeysOf(c.op)) keys.emplace_back(key);
  auto [remote_read, remote_entries] = ReadKeys(loop_, *store_, space, keys);
  auto [local_read, local_entries] = ReadKeys(loop_, local_, space, keys);
  ASSERT_TRUE(remote_read.ok()) << remote_read.message();
  ASSERT_EQ(remote_entries.size(), local_entries.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string what = "key " + keys[i] + ": local " + Describe(local_entries[i]) +
                             ", redis " + Describe(remote_entries[i]);
    ASSERT_EQ(remote_entries[i].has_value(), local_entries[i].has_value()) << what;
    if (!local_entries[i]) continue;
    if (std::holds_alternative<op::Funnel>(c.op)) {
      ExpectSameSlots(*local_entries[i], *remote_entries[i], what);
    } else if (std::holds_alternative<op::CellThrottle>(c.op)) {
      // TATs are nanoseconds of two clocks: compare them as the expiries they imply.
      EXPECT_EQ(remote_entries[i]->value.size(), local_entries[i]->value.size()) << what;
    } else {
      EXPECT_EQ(remote_entries[i]->value, local_entries[i]->value) << what;
    }
    ExpectSameExpiry(local_entries[i]->expire_at_ms, remote_entries[i]->expire_at_ms, what);
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabulary, RedisOperationsTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

// ---- Translation without a server

TEST(RedisTranslationTest, PlainWritesAreNativeCommands) {
  RedisKeys keys("app");
  auto argv = [&](Operation op) { return TranslateOperation(op, keys, NowMs())->argv; };
  using V = std::vector<std::string>;
  EXPECT_EQ(argv(Put("k", "v")), (V{"SET", "app:d:k", "v"}));
  EXPECT_EQ(argv(Put("k", "v", ExpiryChange::In(1500))), (V{"SET", "app:d:k", "v", "PX", "1500"}));
  EXPECT_EQ(argv(Cond("k", "v", op::Condition::kIfAbsent, true)),
            (V{"SET", "app:d:k", "v", "NX", "GET"}));
  EXPECT_EQ(argv(Put("k", "v", ExpiryChange::Keep())), (V{"SET", "app:d:k", "v", "KEEPTTL"}));
  EXPECT_EQ(argv(op::Delete{Space::kData, {"a", "b"}}), (V{"DEL", "app:d:a", "app:d:b"}));
  EXPECT_EQ(argv(op::Take{Space::kData, "k"}), (V{"GETDEL", "app:d:k"}));
  EXPECT_EQ(argv(op::SetBit{"k", 9, true}), (V{"SETBIT", "app:d:k", "9", "1"}));
  EXPECT_EQ(argv(op::Rename{"a", "b"}), (V{"RENAME", "app:d:a", "app:d:b"}));
  EXPECT_EQ(argv(op::Rename{"a", "b", true}), (V{"RENAMENX", "app:d:a", "app:d:b"}));
  EXPECT_EQ(argv(op::Copy{"a", "b", true}), (V{"COPY", "app:d:a", "app:d:b", "REPLACE"}));
  EXPECT_EQ(argv(op::Increment{Space::kData, "k", -3}), (V{"INCRBY", "app:d:k", "-3"}));
  EXPECT_EQ(argv(ExpireOp("k", ExpiryChange::In(5000), "XG")),
            (V{"PEXPIRE", "app:d:k", "5000", "XX", "GT"}));
  EXPECT_EQ(argv(ExpireOp("k", ExpiryChange::Never(), "X")), (V{"PERSIST", "app:d:k"}));
  EXPECT_EQ(argv(op::SetMany{Space::kData, {"a"}, {"1"}}), (V{"MSET", "app:d:a", "1"}));
  EXPECT_EQ(argv(op::SetMany{Space::kData, {"a"}, {"1"}, ExpiryChange::Never(), true}),
            (V{"MSETNX", "app:d:a", "1"}));
}

TEST(RedisTranslationTest, CopyChangesOnlyItsDestination) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(KeysItMayChange(op::Copy{"a", "b"}), (V{"b"}));
  EXPECT_EQ(KeysItMayChange(op::Rename{"a", "b"}), (V{"a", "b"}));
}

TEST(RedisTranslationTest, EverythingElseIsOneScript) {
  RedisKeys keys("app");
  for (Operation op : std::vector<Operation>{
           Cond("k", "v", op::Condition::kAlways, false, "P|"), op::Take{Space::kData, "k", "P|"},
           op::Acquire{Space::kLock, "l", "t", 100}, op::ReleaseIf{Space::kLock, "l", "t"},
           op::WindowHit{"w", 1000, 1, 5}, op::CellThrottle{"g", 1, 1, 1, 1},
           op::EnsureGenerations{{"a"}, {"g"}}, op::Append{"k", "x", 10}}) {
    Result<UpstreamCall> call = TranslateOperation(op, keys, NowMs());
    ASSERT_TRUE(call.ok());
    EXPECT_EQ(call->argv[0], "EVALSHA") << NameOf(op);
    ASSERT_NE(call->script, nullptr);
    EXPECT_EQ(call->argv[1], call->script->sha1);
    EXPECT_EQ(call->script->sha1.size(), 40u);
  }
}

TEST(RedisTranslationTest, ErrorRepliesKeepOurTextsAndFlagUnavailability) {
  EXPECT_EQ(ErrorReplyStatus("ERR value is not an integer or out of range script: abc, on "
                             "@user_script:1.",
                             "s")
                .message(),
            "ERR value is not an integer or out of range");
  EXPECT_EQ(ErrorReplyStatus("LOADING Redis is loading the dataset in memory", "s").message(),
            "ERR store 's' unavailable: LOADING Redis is loading the dataset in memory");
  EXPECT_EQ(ErrorReplyStatus("WRONGTYPE Operation against a key holding the wrong kind of value",
                             "s")
                .message(),
            "WRONGTYPE Operation against a key holding the wrong kind of value");
}

}  // namespace
}  // namespace arvel::drivers
