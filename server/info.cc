#include "server/info.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>

#include "drivers/store.h"
#include "server/client_state.h"
#include "server/connection.h"
#include "server/fill_leases.h"
#include "server/lock_waiters.h"
#include "server/scripting/script_engine.h"
#include "server/server.h"

namespace arvel::server {

namespace {

// What Redis 7.0 reports: clients gate features on redis_version, and every command they use
// here behaves as in 7.0.
constexpr std::string_view kRedisVersion = "7.0.0";
// Rough cost of a connection beyond its buffers: the Connection object, its libuv handle and
// the read buffer it keeps once something was read.
constexpr uint64_t kClientOverheadBytes = sizeof(Connection) + 16 * 1024;

// INFO, INFO default: these; INFO all / everything adds kAllOnlySections (as Redis 7).
constexpr std::string_view kDefaultSections[] = {
    "server", "clients", "memory",   "persistence", "stats", "replication",
    "cpu",    "errorstats", "cluster", "keyspace",    "stores"};
constexpr std::string_view kAllOnlySections[] = {"commandstats", "latencystats"};

// State INFO keeps per server between calls. Only its server's loop thread touches an entry;
// the map itself is shared by the servers of one process (tests run several).
struct InfoState {
  int64_t start_ms = 0;  // tells a new server from an old one at a reused address
  std::string run_id;
  RateMeter rates;
  uint64_t peak_memory = 0;
};

std::string RandomHex(size_t n) {
  std::random_device device;
  std::mt19937_64 rng(device());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n, '0');
  for (char& c : out) c = kHex[rng() % 16];
  return out;
}

InfoState& StateFor(Server& server) {
  static std::mutex mu;
  static std::map<const Server*, InfoState> states;  // GUARDED_BY(mu); nodes never move
  std::lock_guard<std::mutex> lock(mu);
  InfoState& state = states[&server];
  if (state.start_ms != server.stats().start_ms || state.run_id.empty()) {
    state = InfoState{};
    state.start_ms = server.stats().start_ms;
    state.run_id = RandomHex(40);
  }
  return state;
}

// Appends "# Title" and "field:value" lines.
class InfoText {
 public:
  void Section(std::string_view title) {
    if (!text_.empty()) text_ += "\r\n";
    text_ += "# ";
    text_ += title;
    text_ += "\r\n";
  }
  template <typename T>
  void Field(std::string_view name, const T& value) {
    text_ += name;
    text_ += ':';
    if constexpr (std::is_arithmetic_v<T>) {
      text_ += std::to_string(value);
    } else {
      text_ += value;
    }
    text_ += "\r\n";
  }
  void Fixed(std::string_view name, double value, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
    Field(name, std::string_view(buf));
  }
  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

std::string OsName() {
  utsname u{};
  if (uname(&u) != 0) return "unknown";
  return std::string(u.sysname) + " " + u.release + " " + u.machine;
}

std::string ExecutablePath() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "" : path.string();
}

std::string AbsolutePath(const std::string& path) {
  if (path.empty()) return "";
  std::error_code ec;
  auto absolute = std::filesystem::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}


uint64_t SystemMemory() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

double Seconds(const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

struct ClientTotals {
  uint64_t memory = 0;  // buffers, overhead and FAKE stores
  uint64_t max_input = 0;
  uint64_t max_output = 0;
};

ClientTotals TotalClients(const Server& server) {
  ClientTotals totals;
  for (const auto& [id, conn] : server.clients()) {
    uint64_t in = conn->input_buffer_size(), out = conn->output_buffer_size();
    totals.memory += kClientOverheadBytes + in + out;
    if (conn->state().fake) totals.memory += conn->state().fake->used_memory();
    totals.max_input = std::max(totals.max_input, in);
    totals.max_output = std::max(totals.max_output, out);
  }
  return totals;
}

struct StoreTotals {
  uint64_t memory = 0;
  uint64_t hits = 0, misses = 0, evictions = 0, expired = 0;
};

StoreTotals TotalStores(const Server& server) {
  StoreTotals totals;
  for (const auto& store : server.stores()) {
    const drivers::StoreStats& stats = store->stats();
    totals.memory += store->used_memory();
    totals.hits += stats.hits;
    totals.misses += stats.misses;
    totals.evictions += stats.evictions;
    totals.expired += stats.expired;
  }
  return totals;
}

void WriteServer(InfoText& out, Server& server, const InfoState& state, int64_t now_ms) {
  int64_t uptime = (now_ms - server.stats().start_ms) / 1000;
  out.Section("Server");
  out.Field("redis_version", kRedisVersion);
  out.Field("arvel_version", std::string_view(ARVEL_VERSION));
  out.Field("redis_git_sha1", std::string_view("00000000"));
  out.Field("redis_git_dirty", 0);
  out.Field("redis_mode", std::string_view("standalone"));
  out.Field("os", OsName());
  out.Field("arch_bits", static_cast<int>(sizeof(void*) * 8));
  out.Field("multiplexing_api", std::string_view("libuv"));
  out.Field("gcc_version", std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
                               std::to_string(__GNUC_PATCHLEVEL__));
  out.Field("process_id", static_cast<int64_t>(getpid()));
  out.Field("process_supervised", std::string_view("no"));
  out.Field("run_id", state.run_id);
  out.Field("tcp_port", server.port());
  out.Field("server_time_usec", now_ms * 1000);
  out.Field("uptime_in_seconds", uptime);
  out.Field("uptime_in_days", uptime / 86400);
  out.Field("hz", 10);
  out.Field("configured_hz", 10);
  out.Field("executable", ExecutablePath());
  out.Field("config_file", AbsolutePath(server.config().source));
}

void WriteClients(InfoText& out, const Server& server, const ClientTotals& clients,
                  size_t blocked) {
  out.Section("Clients");
  out.Field("connected_clients", server.clients().size());
  out.Field("cluster_connections", 0);
  out.Field("maxclients", server.config().server.max_clients);
  out.Field("client_recent_max_input_buffer", clients.max_input);
  out.Field("client_recent_max_output_buffer", clients.max_output);
  out.Field("blocked_clients", blocked);
  out.Field("tracking_clients", 0);
  out.Field("clients_in_timeout_table", 0);
}

void WriteMemory(InfoText& out, const Server& server, const MemoryFigures& memory) {
  const uint64_t used = memory.used;
  const uint64_t rss = memory.rss;
  uint64_t max_memory = EffectiveMaxMemory(server);
  uint64_t system = SystemMemory();
  out.Section("Memory");
  // used_memory must stay the first field starting with "used_memory": redis-cli --stat finds
  // it with strstr.
  out.Field("used_memory", used);
  out.Field("used_memory_human", BytesToHuman(used));
  out.Field("used_memory_rss", rss);
  out.Field("used_memory_rss_human", BytesToHuman(rss));
  out.Field("used_memory_peak", memory.peak);
  out.Field("used_memory_peak_human", BytesToHuman(memory.peak));
  out.Field("total_system_memory", system);
  out.Field("total_system_memory_human", BytesToHuman(system));
  out.Field("maxmemory", max_memory);
  out.Field("maxmemory_human", BytesToHuman(max_memory));
  out.Field("maxmemory_policy", std::string_view("allkeys-lru"));
  out.Field("mem_clients_normal", memory.clients);
  out.Field("used_memory_lua", memory.lua);
  out.Field("used_memory_lua_human", BytesToHuman(memory.lua));
  out.Field("number_of_cached_scripts", server.scripts().script_count());
  out.Field("mem_allocator", std::string_view("libc"));
}

// The daemon has nothing to persist (file and database stores write through), but monitors
// read these fields: redis-cli --stat's "child" column, exporters' last-save gauges.
void WritePersistence(InfoText& out, Server& server) {
  out.Section("Persistence");
  out.Field("loading", 0);
  out.Field("async_loading", 0);
  out.Field("rdb_changes_since_last_save", 0);
  out.Field("rdb_bgsave_in_progress", 0);
  out.Field("rdb_last_save_time", server.stats().start_ms / 1000);
  out.Field("rdb_last_bgsave_status", std::string_view("ok"));
  out.Field("aof_enabled", 0);
  out.Field("aof_rewrite_in_progress", 0);
  out.Field("aof_rewrite_scheduled", 0);
  out.Field("aof_last_bgrewrite_status", std::string_view("ok"));
  out.Field("aof_last_write_status", std::string_view("ok"));
}

void WriteStats(InfoText& out, Server& server, InfoState& state, const StoreTotals& stores,
                int64_t now_ms) {
  const ServerStats& stats = server.stats();
  RateMeter::Rates rates = state.rates.Sample(now_ms, stats.start_ms, stats.commands_processed,
                                              stats.net_input_bytes, stats.net_output_bytes);
  out.Section("Stats");
  out.Field("total_connections_received", stats.connections_received);
  out.Field("total_commands_processed", stats.commands_processed);
  out.Field("instantaneous_ops_per_sec", static_cast<uint64_t>(rates.ops_per_sec + 0.5));
  out.Field("total_net_input_bytes", stats.net_input_bytes);
  out.Field("total_net_output_bytes", stats.net_output_bytes);
  out.Fixed("instantaneous_input_kbps", rates.input_kbps, 2);
  out.Fixed("instantaneous_output_kbps", rates.output_kbps, 2);
  out.Field("rejected_connections", stats.connections_rejected);
  out.Field("expired_keys", stores.expired);
  out.Field("evicted_keys", stores.evictions);
  out.Field("evicted_clients", 0);
  out.Field("keyspace_hits", stores.hits);
  out.Field("keyspace_misses", stores.misses);
  out.Field("pubsub_channels", 0);
  out.Field("pubsub_patterns", 0);
  out.Field("latest_fork_usec", 0);
  out.Field("total_forks", 0);
  out.Field("total_error_replies", server.command_stats().total_error_replies());
}

void WriteReplication(InfoText& out, const InfoState& state) {
  out.Section("Replication");
  out.Field("role", std::string_view("master"));
  out.Field("connected_slaves", 0);
  out.Field("master_failover_state", std::string_view("no-failover"));
  out.Field("master_replid", state.run_id);
  out.Field("master_repl_offset", 0);
  out.Field("repl_backlog_active", 0);
}

void WriteCpu(InfoText& out) {
  rusage self{}, children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  out.Section("CPU");
  out.Fixed("used_cpu_sys", Seconds(self.ru_stime), 6);
  out.Fixed("used_cpu_user", Seconds(self.ru_utime), 6);
  out.Fixed("used_cpu_sys_children", Seconds(children.ru_stime), 6);
  out.Fixed("used_cpu_user_children", Seconds(children.ru_utime), 6);
}

void WriteKeyspace(InfoText& out, const KeyspaceFigures& keyspace) {
  out.Section("Keyspace");
  if (keyspace.keys <= 0) return;
  // A store that keeps no expiry counts (a shared backend) reports none, as Redis 6 did.
  const drivers::ExpiryStats expiry = keyspace.expiry.value_or(drivers::ExpiryStats{});
  out.Field("db0", "keys=" + std::to_string(keyspace.keys) +
                       ",expires=" + std::to_string(expiry.expires) +
                       ",avg_ttl=" + std::to_string(expiry.avg_ttl_ms));
}

void WriteStores(InfoText& out, const Server& server) {
  out.Section("Stores");
  for (const auto& store : server.stores()) {
    const drivers::StoreStats& stats = store->stats();
    int64_t keys = store->approximate_keys();
    std::string line = "driver=" + store->driver();
    line += store->Health().ok() ? ",status=ok" : ",status=unavailable";
    line += ",hits=" + std::to_string(stats.hits);
    line += ",misses=" + std::to_string(stats.misses);
    // -1: the driver cannot count its keys cheaply (a shared backend); "keys" is left out.
    if (keys >= 0) line += ",keys=" + std::to_string(keys);
    line += ",evictions=" + std::to_string(stats.evictions);
    line += ",errors=" + std::to_string(stats.errors);
    line += ",used_memory=" + std::to_string(store->used_memory());
    // Queries/transactions sent to the backend, where the driver counts them (file, database).
    if (const int64_t calls = store->backend_calls(); calls >= 0) {
      line += ",backend_calls=" + std::to_string(calls);
    }
    if (const drivers::TagReclaimer* reclaimer = server.tag_reclaimer(*store)) {
      const auto& tags = reclaimer->stats();
      if (tags.tags >= 0) line += ",tags=" + std::to_string(tags.tags);
      line += ",tags_reclaimed=" + std::to_string(tags.reclaimed);
    }
    out.Field("store_" + store->name(), line);
  }
  // Waiting clients of this daemon, all stores together.
  out.Field("lock_waiters", std::to_string(server.lock_waiters().waiting()));
  out.Field("contended_locks", std::to_string(server.lock_waiters().contended_locks()));
  out.Field("remember_waiters", std::to_string(server.fill_leases().waiting()));
  out.Field("remember_leases", std::to_string(server.fill_leases().active_leases()));
}

// Commands by name, as Redis lists them: cmdstat_get:calls=…,usec=…,usec_per_call=…,…
void WriteCommandStats(InfoText& out, const CommandStats& stats) {
  out.Section("Commandstats");
  for (const auto& [name, counters] : stats.commands()) {
    const CommandCounters& c = *counters;
    char line[256];
    std::snprintf(line, sizeof(line),
                  "calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,failed_calls=%llu",
                  static_cast<unsigned long long>(c.calls), static_cast<unsigned long long>(c.usec),
                  c.calls == 0 ? 0.0 : static_cast<double>(c.usec) / static_cast<double>(c.calls),
                  static_cast<unsigned long long>(c.rejected_calls),
                  static_cast<unsigned long long>(c.failed_calls));
    out.Field("cmdstat_" + std::string(name), std::string_view(line));
  }
}

void WriteErrorStats(InfoText& out, const CommandStats& stats) {
  out.Section("Errorstats");
  for (const auto& [code, count] : stats.errors()) {
    out.Field("errorstat_" + code, "count=" + std::to_string(count));
  }
}

void WriteLatencyStats(InfoText& out, const CommandStats& stats) {
  out.Section("Latencystats");
  for (const auto& [name, counters] : stats.commands()) {
    const CommandCounters& c = *counters;
    if (c.latency.count() == 0) continue;
    char line[160];
    std::snprintf(line, sizeof(line), "p50=%.3f,p99=%.3f,p99.9=%.3f", c.latency.Percentile(50),
                  c.latency.Percentile(99), c.latency.Percentile(99.9));
    out.Field("latency_percentiles_usec_" + std::string(name), std::string_view(line));
  }
}

}  // namespace

InfoSections InfoSections::Parse(std::span<const std::string_view> names) {
  InfoSections sections;
  bool defaults = names.empty(), every = false;
  for (std::string_view name : names) {
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "default") {
      defaults = true;
    } else if (lower == "all" || lower == "everything") {
      every = true;
    } else {
      sections.names_.insert(std::move(lower));
    }
  }
  if (defaults || every) {
    sections.names_.insert(std::begin(kDefaultSections), std::end(kDefaultSections));
  }
  if (every) sections.names_.insert(std::begin(kAllOnlySections), std::end(kAllOnlySections));
  return sections;
}

RateMeter::Rates RateMeter::Sample(int64_t now_ms, int64_t start_ms, uint64_t commands,
                                   uint64_t input_bytes, uint64_t output_bytes) {
  // Counters that went down were reset (CONFIG RESETSTAT): earlier samples mean nothing now.
  if (!samples_.empty() &&
      (samples_.back().commands > commands || samples_.back().input_bytes > input_bytes ||
       samples_.back().output_bytes > output_bytes)) {
    samples_.clear();
  }
  Point base = samples_.empty() ? Point{start_ms, 0, 0, 0} : samples_.front();
  samples_.push_back({now_ms, commands, input_bytes, output_bytes});
  // Keep one sample at or before the window's start, so the rate always spans the window.
  while (samples_.size() > 2 && samples_[1].ms <= now_ms - kWindowMs) samples_.pop_front();
  if (samples_.size() >= 2) base = samples_.front();
  Rates rates;
  double seconds = (now_ms - base.ms) / 1000.0;
  if (seconds <= 0) return rates;
  rates.ops_per_sec = (commands - base.commands) / seconds;
  rates.input_kbps = (input_bytes - base.input_bytes) / 1024.0 / seconds;
  rates.output_kbps = (output_bytes - base.output_bytes) / 1024.0 / seconds;
  return rates;
}

namespace {
// The memory figures from totals the caller already has (INFO computes them for other sections).
MemoryFigures CollectMemory(Server& server, const StoreTotals& stores, const ClientTotals& clients) {
  InfoState& state = StateFor(server);
  MemoryFigures memory;
  memory.stores = stores.memory;
  memory.clients = clients.memory;
  memory.used = memory.stores + memory.clients;
  state.peak_memory = std::max(state.peak_memory, memory.used);
  memory.peak = state.peak_memory;
  memory.rss = ResidentBytes();
  memory.lua = static_cast<uint64_t>(server.scripts().memory_bytes());
  for (const auto& store : server.stores()) {
    memory.keys += std::max<int64_t>(0, store->approximate_keys());
  }
  return memory;
}
}  // namespace

MemoryFigures CollectMemory(Server& server) {
  return CollectMemory(server, TotalStores(server), TotalClients(server));
}

std::string ComposeInfo(Server& server, const InfoSections& sections,
                        const KeyspaceFigures& keyspace, size_t blocked_clients) {
  InfoState& state = StateFor(server);
  int64_t now_ms = drivers::NowMs();
  ClientTotals clients = TotalClients(server);
  StoreTotals stores = TotalStores(server);
  InfoText out;
  if (sections.Has("server")) WriteServer(out, server, state, now_ms);
  if (sections.Has("clients")) WriteClients(out, server, clients, blocked_clients);
  if (sections.Has("memory")) {
    WriteMemory(out, server, CollectMemory(server, stores, clients));
  }
  if (sections.Has("persistence")) WritePersistence(out, server);
  if (sections.Has("stats")) WriteStats(out, server, state, stores, now_ms);
  if (sections.Has("replication")) WriteReplication(out, state);
  if (sections.Has("cpu")) WriteCpu(out);
  if (sections.Has("cluster")) {
    out.Section("Cluster");
    out.Field("cluster_enabled", 0);
  }
  if (sections.Has("commandstats")) WriteCommandStats(out, server.command_stats());
  if (sections.Has("errorstats")) WriteErrorStats(out, server.command_stats());
  if (sections.Has("latencystats")) WriteLatencyStats(out, server.command_stats());
  if (sections.Has("keyspace")) WriteKeyspace(out, keyspace);
  if (sections.Has("stores")) WriteStores(out, server);
  return out.Take();
}

void ResetInfoStats(Server& server) {
  ServerStats& stats = server.stats();
  int64_t start_ms = stats.start_ms;
  stats = ServerStats{};
  stats.start_ms = start_ms;
  for (const auto& store : server.stores()) store->mutable_stats() = drivers::StoreStats{};
  server.command_stats().Reset();
  StateFor(server).rates.Reset();
}

uint64_t EffectiveMaxMemory(const Server& server) {
  uint64_t total = 0;
  for (const auto& store : server.stores()) {
    // An in-process store without a limit can take all the memory there is.
    const drivers::StoreCapabilities& can = store->capabilities();
    if (!can.shared && !can.keeps_nothing && store->max_memory() == 0) return 0;
    total += store->max_memory();
  }
  return total;
}

uint64_t ClientOverheadBytes() { return kClientOverheadBytes; }

uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

std::string BytesToHuman(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"K", "M", "G", "T", "P", "E"};
  if (bytes < 1024) return std::to_string(bytes) + "B";
  double value = bytes / 1024.0;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f%s", value, kUnits[unit]);
  return buf;
}

std::map<std::string, std::string> ParseInfo(std::string_view text) {
  std::map<std::string, std::string> fields;
  while (!text.empty()) {
    size_t end = text.find("\r\n");
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 2);
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    fields[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 1));
  }
  return fields;
}

}  // namespace arvel::server
