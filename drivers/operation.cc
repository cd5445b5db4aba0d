#include "drivers/operation.h"

namespace arvel::drivers {

namespace {

// What each operation is called, which space it acts on and which keys it touches.
struct Describe {
  std::string_view name;
  Space space;
  std::vector<std::string_view> keys;
};

std::vector<std::string_view> Views(const std::vector<std::string>& keys) {
  return {keys.begin(), keys.end()};
}

Describe Of(const op::Set& o) { return {"set", o.space, {o.key}}; }
Describe Of(const op::SetMany& o) { return {"setmany", o.space, Views(o.keys)}; }
Describe Of(const op::Delete& o) { return {"delete", o.space, Views(o.keys)}; }
Describe Of(const op::Take& o) { return {"take", o.space, {o.key}}; }
Describe Of(const op::Increment& o) { return {"increment", o.space, {o.key}}; }
Describe Of(const op::IncrementFloat& o) { return {"incrementfloat", Space::kData, {o.key}}; }
Describe Of(const op::Append& o) { return {"append", Space::kData, {o.key}}; }
Describe Of(const op::SetRange& o) { return {"setrange", Space::kData, {o.key}}; }
Describe Of(const op::SetBit& o) { return {"setbit", Space::kData, {o.key}}; }
Describe Of(const op::Rename& o) { return {"rename", Space::kData, {o.from, o.to}}; }
Describe Of(const op::Copy& o) { return {"copy", Space::kData, {o.from, o.to}}; }
Describe Of(const op::Expire& o) { return {"expire", o.space, {o.key}}; }
Describe Of(const op::Acquire& o) { return {"acquire", o.space, {o.key}}; }
Describe Of(const op::ReleaseIf& o) { return {"releaseif", o.space, {o.key}}; }
Describe Of(const op::ExtendIf& o) { return {"extendif", o.space, {o.key}}; }
Describe Of(const op::TakeLease& o) { return {"takelease", Space::kLease, {o.key}}; }
Describe Of(const op::Funnel& o) { return {"funnel", Space::kLock, {o.key}}; }
Describe Of(const op::WindowHit& o) { return {"windowhit", Space::kThrottle, {o.key}}; }
Describe Of(const op::CellThrottle& o) { return {"cellthrottle", Space::kThrottle, {o.key}}; }
Describe Of(const op::EnsureGenerations& o) {
  return {"ensuregenerations", Space::kTagVersion, Views(o.tags)};
}
Describe Of(const op::ReplaceGenerations& o) {
  return {"replacegenerations", Space::kTagVersion, Views(o.tags)};
}

Describe DescribeOf(const Operation& operation) {
  return std::visit([](const auto& o) { return Of(o); }, operation);
}

}  // namespace

Space SpaceOf(const Operation& operation) { return DescribeOf(operation).space; }

std::vector<std::string_view> KeysOf(const Operation& operation) {
  return DescribeOf(operation).keys;
}

std::string_view NameOf(const Operation& operation) { return DescribeOf(operation).name; }

bool IsBlindWrite(const Operation& operation) {
  if (const auto* set = std::get_if<op::Set>(&operation)) {
    return set->condition == op::Condition::kAlways && !set->return_old &&
           set->expiry.mode != ExpiryChange::Mode::kKeep && set->prefix.empty();
  }
  if (const auto* many = std::get_if<op::SetMany>(&operation)) {
    return !many->if_none_exist && many->expiry.mode != ExpiryChange::Mode::kKeep &&
           many->prefix.empty();
  }
  return std::holds_alternative<op::ReplaceGenerations>(operation);
}

}  // namespace arvel::drivers
