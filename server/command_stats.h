#pragma once
// What INFO commandstats, errorstats and latencystats report, kept as Redis keeps them: per
// command the calls, their run time, and the calls rejected before running (unknown arguments,
// arity, NOAUTH, -BUSY…) or failed while running (an error reply); per error code the error
// replies sent; per command a latency histogram for p50/p99/p99.9. CONFIG RESETSTAT clears it.
// Loop thread only.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

namespace arvel::server {

// Latencies in microseconds, in buckets ~3% wide (16 per power of two), as HdrHistogram does
// with fewer significant digits: a percentile is reported as the top of its bucket.
class LatencyHistogram {
 public:
  void Record(int64_t usec);
  // The latency at or below which `percentile` (0–100) of the recorded calls fall; 0 if none.
  double Percentile(double percentile) const;
  uint64_t count() const { return count_; }

 private:
  static constexpr int kSubBuckets = 16;
  static constexpr int kBuckets = 40 * kSubBuckets;  // up to 2^40 µs
  static int BucketOf(int64_t usec);
  static double TopOf(int bucket);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
};

struct CommandCounters {
  uint64_t calls = 0;
  uint64_t usec = 0;
  uint64_t rejected_calls = 0;
  uint64_t failed_calls = 0;
  LatencyHistogram latency;
};

class CommandStats {
 public:
  // `command` names are the command table's (CommandTable::StatsName): they must outlive the
  // stats.
  // A command ran for `usec` (its handler; a reply that completes later is judged by Failed).
  void Ran(std::string_view command, int64_t usec);
  // The command's reply was an error (`error_reply` "-CODE text…" or "CODE text…").
  void Failed(std::string_view command, std::string_view error_reply);
  // A command was refused before running (`command` empty when it is unknown).
  void Rejected(std::string_view command, std::string_view error_reply);
  // An error reply outside any command (protocol errors).
  void Error(std::string_view error_reply);
  void Reset();

  uint64_t total_error_replies() const { return total_errors_; }
  // By name, in name order (for INFO).
  std::map<std::string_view, const CommandCounters*> commands() const;
  const std::map<std::string, uint64_t>& errors() const { return errors_; }

 private:
  // Redis keeps at most this many error codes; beyond, errors count only in the total.
  static constexpr size_t kMaxErrorCodes = 128;

  // Keyed by the command table's own names (static strings, so nothing is copied per command):
  // one hash lookup on the hot path.
  std::unordered_map<std::string_view, CommandCounters> commands_;
  std::map<std::string, uint64_t> errors_;
  uint64_t total_errors_ = 0;
};

}  // namespace arvel::server
