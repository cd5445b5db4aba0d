#include "server/command_log.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "common/numbers.h"
#include "server/client_state.h"

namespace arvel::server {

namespace {
constexpr size_t kMaxArgs = 32;
constexpr size_t kMaxArgBytes = 128;

}  // namespace

std::vector<std::string> RedactedArgs(std::span<const std::string_view> args) {
  std::vector<std::string> out(args.begin(), args.end());
  if (out.empty()) return out;
  const bool auth = EqualsIgnoreCase(args[0], "auth");
  for (size_t i = 1; i < out.size(); ++i) {
    if (auth) out[i] = "(redacted)";
  }
  if (EqualsIgnoreCase(args[0], "hello")) {
    for (size_t i = 1; i < out.size(); ++i) {
      if (!EqualsIgnoreCase(args[i], "auth")) continue;
      for (size_t j = i + 1; j < std::min(i + 3, out.size()); ++j) out[j] = "(redacted)";
    }
  }
  return out;
}

void Slowlog::Record(int64_t threshold_usec, int64_t max_len, int64_t usec,
                     std::span<const std::string_view> args, const ClientState& client) {
  if (threshold_usec < 0 || usec < threshold_usec) return;
  SlowlogEntry entry;
  entry.id = next_id_++;
  entry.unix_seconds = static_cast<int64_t>(std::time(nullptr));
  entry.usec = usec;
  std::vector<std::string> shown = RedactedArgs(args);
  const size_t kept = shown.size() > kMaxArgs ? kMaxArgs - 1 : shown.size();
  for (size_t i = 0; i < kept; ++i) {
    std::string arg = std::move(shown[i]);
    if (arg.size() > kMaxArgBytes) {
      const size_t more = arg.size() - kMaxArgBytes;
      arg.resize(kMaxArgBytes);
      arg += "... (" + std::to_string(more) + " more bytes)";
    }
    entry.args.push_back(std::move(arg));
  }
  if (kept < shown.size()) {
    entry.args.push_back("... (" + std::to_string(shown.size() - kept) + " more arguments)");
  }
  entry.client_address = client.address;
  entry.client_name = client.name;
  entries_.push_front(std::move(entry));
  while (static_cast<int64_t>(entries_.size()) > std::max<int64_t>(max_len, 0)) {
    entries_.pop_back();
  }
}

std::string MonitorLine(int64_t unix_micros, std::string_view client,
                        std::span<const std::string_view> args) {
  char stamp[64];
  std::snprintf(stamp, sizeof(stamp), "%lld.%06lld [0 ",
                static_cast<long long>(unix_micros / 1000000),
                static_cast<long long>(unix_micros % 1000000));
  std::string line = stamp;
  line.append(client);
  line += ']';
  for (const std::string& arg : RedactedArgs(args)) {
    line += " \"";
    for (unsigned char c : arg) {
      switch (c) {
        case '\\': line += "\\\\"; break;
        case '"': line += "\\\""; break;
        case '\n': line += "\\n"; break;
        case '\r': line += "\\r"; break;
        case '\t': line += "\\t"; break;
        case '\a': line += "\\a"; break;
        case '\b': line += "\\b"; break;
        default:
          if (c >= 0x20 && c < 0x7f) {
            line += static_cast<char>(c);
          } else {
            char hex[8];
            std::snprintf(hex, sizeof(hex), "\\x%02x", c);
            line += hex;
          }
      }
    }
    line += '"';
  }
  return line;
}

}  // namespace arvel::server
