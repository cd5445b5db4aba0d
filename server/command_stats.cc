#include "server/command_stats.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace arvel::server {

int LatencyHistogram::BucketOf(int64_t usec) {
  const uint64_t v = static_cast<uint64_t>(std::max<int64_t>(usec, 1));
  const int magnitude = std::bit_width(v) - 1;  // v in [2^m, 2^(m+1))
  if (magnitude < 4) return static_cast<int>(v);  // exact below 16 µs
  const int sub = static_cast<int>((v >> (magnitude - 4)) & (kSubBuckets - 1));
  return std::min((magnitude - 3) * kSubBuckets + sub, kBuckets - 1);
}

double LatencyHistogram::TopOf(int bucket) {
  if (bucket < kSubBuckets) return bucket;
  const int magnitude = bucket / kSubBuckets + 3;
  const int sub = bucket % kSubBuckets;
  const double step = std::ldexp(1.0, magnitude - 4);
  return std::ldexp(1.0, magnitude) + (sub + 1) * step - 1;
}

void LatencyHistogram::Record(int64_t usec) {
  ++counts_[static_cast<size_t>(BucketOf(usec))];
  ++count_;
}

double LatencyHistogram::Percentile(double percentile) const {
  if (count_ == 0) return 0;
  const auto wanted = static_cast<uint64_t>(std::ceil(percentile / 100.0 * static_cast<double>(count_)));
  uint64_t seen = 0;
  for (int bucket = 0; bucket < kBuckets; ++bucket) {
    seen += counts_[static_cast<size_t>(bucket)];
    if (seen >= std::max<uint64_t>(wanted, 1)) return TopOf(bucket);
  }
  return TopOf(kBuckets - 1);
}

void CommandStats::Ran(std::string_view command, int64_t usec) {
  CommandCounters& counters = commands_[command];
  ++counters.calls;
  counters.usec += static_cast<uint64_t>(std::max<int64_t>(usec, 0));
  counters.latency.Record(usec);
}

void CommandStats::Failed(std::string_view command, std::string_view error_reply) {
  ++commands_[command].failed_calls;
  Error(error_reply);
}

void CommandStats::Rejected(std::string_view command, std::string_view error_reply) {
  if (!command.empty()) ++commands_[command].rejected_calls;
  Error(error_reply);
}

void CommandStats::Error(std::string_view error_reply) {
  ++total_errors_;
  if (!error_reply.empty() && error_reply[0] == '-') error_reply.remove_prefix(1);
  const std::string code(error_reply.substr(0, std::min(error_reply.find_first_of(" \r\n"),
                                                         error_reply.size())));
  auto it = errors_.find(code);
  if (it != errors_.end()) {
    ++it->second;
  } else if (errors_.size() < kMaxErrorCodes) {
    errors_.emplace(code, 1);
  }
}

std::map<std::string_view, const CommandCounters*> CommandStats::commands() const {
  std::map<std::string_view, const CommandCounters*> sorted;
  for (const auto& [name, counters] : commands_) sorted.emplace(name, &counters);
  return sorted;
}

void CommandStats::Reset() {
  commands_.clear();
  errors_.clear();
  total_errors_ = 0;
}

}  // namespace arvel::server
