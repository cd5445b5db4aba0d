#pragma once
// INFO's text, in Redis's format so redis_exporter, `redis-cli --stat` and client libraries
// read it unchanged: "# Section" headers, "field:value" lines ending in \r\n, a blank line
// between sections. Redis's sections the daemon has something to say about, then "# Stores"
// with one line per store (SPEC §5).
//
// Rates (instantaneous_ops_per_sec, …) are measured between INFO calls: each call records a
// sample and the rate is taken over the last couple of seconds of samples, which is what a
// monitor polling once a second (redis-cli --stat, exporters) sees as "instantaneous". The
// first call reports the average since start-up.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "drivers/store.h"

namespace arvel::server {

class Server;

// Which sections an INFO call asked for.
class InfoSections {
 public:
  // From INFO's arguments, any case. None, "default", "all" or "everything": every section.
  // Names of sections the daemon does not have select nothing (Redis answers those with "").
  static InfoSections Parse(std::span<const std::string_view> names);
  bool Has(std::string_view section) const { return names_.count(std::string(section)) > 0; }

 private:
  std::set<std::string> names_;
};

// Per-second rates of the server's counters between samples.
class RateMeter {
 public:
  struct Rates {
    double ops_per_sec = 0;
    double input_kbps = 0;
    double output_kbps = 0;
  };
  // Records the counters at `now_ms` and returns the rates over about the last kWindowMs.
  // With no earlier sample, the averages since `start_ms`.
  Rates Sample(int64_t now_ms, int64_t start_ms, uint64_t commands, uint64_t input_bytes,
               uint64_t output_bytes);
  void Reset() { samples_.clear(); }

  static constexpr int64_t kWindowMs = 2000;

 private:
  struct Point {
    int64_t ms;
    uint64_t commands, input_bytes, output_bytes;
  };
  std::deque<Point> samples_;
};

// The calling connection's store as INFO's Keyspace line shows it (db0).
struct KeyspaceFigures {
  int64_t keys = -1;  // live keys; -1 (or 0) leaves the line out, as Redis does for an empty db
  std::optional<drivers::ExpiryStats> expiry;  // unknown: expires=0,avg_ttl=0
};

// The INFO text for `sections`. `blocked_clients`: clients parked on something, the caller
// excluded. Loop thread only.
std::string ComposeInfo(Server& server, const InfoSections& sections,
                        const KeyspaceFigures& keyspace, size_t blocked_clients);

// What INFO memory and MEMORY STATS report, in bytes.
struct MemoryFigures {
  uint64_t used = 0;     // stores' data plus clients
  uint64_t peak = 0;     // the most `used` any INFO or MEMORY STATS saw
  uint64_t rss = 0;      // resident set of the process
  uint64_t stores = 0;   // the stores' data (the dataset)
  uint64_t clients = 0;  // connections: buffers, overhead, FAKE stores
  uint64_t lua = 0;      // the script engine
  int64_t keys = 0;      // keys the stores hold, where they can tell
};
MemoryFigures CollectMemory(Server& server);

// Zeroes the counters INFO reports (CONFIG RESETSTAT): the server's, every store's, the rates.
void ResetInfoStats(Server& server);

// The memory limit reported as maxmemory: the stores' limits added up, or 0 (unlimited) when an
// in-process store has none.
uint64_t EffectiveMaxMemory(const Server& server);

// Redis's bytesToHuman: "512B", "1.50K", "256.00M".
std::string BytesToHuman(uint64_t bytes);

// Resident set size of this process in bytes (0 if unknown).
uint64_t ResidentBytes();

// Rough cost of a connection beyond its buffers (INFO mem_clients_normal, CLIENT LIST tot-mem).
uint64_t ClientOverheadBytes();

// INFO text as field → value ("# …" headers and blank lines skipped). For tests and tools.
std::map<std::string, std::string> ParseInfo(std::string_view text);

}  // namespace arvel::server
