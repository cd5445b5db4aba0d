#pragma once
// Who sees the commands that run: SLOWLOG's entries (commands slower than
// slowlog_log_slower_than) and MONITOR's clients, each command as one line. Loop thread only.

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace arvel::server {

struct ClientState;

struct SlowlogEntry {
  int64_t id = 0;
  int64_t unix_seconds = 0;
  int64_t usec = 0;
  std::vector<std::string> args;  // at most 32, each at most 128 bytes (as Redis trims them)
  std::string client_address;
  std::string client_name;
};

class Slowlog {
 public:
  // Adds the command if it ran for at least `threshold_usec` (negative: never), keeping the
  // newest `max_len`.
  void Record(int64_t threshold_usec, int64_t max_len, int64_t usec,
              std::span<const std::string_view> args, const ClientState& client);
  const std::deque<SlowlogEntry>& entries() const { return entries_; }  // newest first
  void Reset() { entries_.clear(); }

 private:
  std::deque<SlowlogEntry> entries_;
  int64_t next_id_ = 0;
};

// The arguments as a log shows them: AUTH's password and HELLO's AUTH credentials redacted.
std::vector<std::string> RedactedArgs(std::span<const std::string_view> args);

// One MONITOR line (without the leading '+'): `1339518083.107412 [0 127.0.0.1:60866] "set" "k"`,
// arguments quoted and escaped as Redis does; `client` "lua" for a script's commands.
std::string MonitorLine(int64_t unix_micros, std::string_view client,
                        std::span<const std::string_view> args);

}  // namespace arvel::server
