#pragma once
// CLIENT PAUSE / UNPAUSE, as Redis 7: while paused, commands of every client (ALL) or only those
// that may write (WRITE: write commands, scripts without the no-writes flag, EXEC of a queue
// holding one) are postponed — left unparsed in the connection's input, the client counted in
// blocked_clients — until the pause ends or CLIENT UNPAUSE; then they run in arrival order.
// While paused, no store removes expired keys (they are only hidden), so a paused daemon
// changes nothing.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace arvel::server {

class ClientPause {
 public:
  enum class Mode { kOff, kWrite, kAll };

  // `on_change(paused)` runs when a pause starts or ends (stores' expiry); `resume(client_id)`
  // for each postponed client when it ends.
  ClientPause(uv_loop_t* loop, std::function<void(bool paused)> on_change,
              std::function<void(uint64_t client_id)> resume);
  ClientPause(const ClientPause&) = delete;
  ClientPause& operator=(const ClientPause&) = delete;

  // Pauses for `duration_ms`. A pause already running keeps the stronger mode and the later
  // end, as Redis combines them.
  void Pause(Mode mode, int64_t duration_ms);
  void Unpause();
  bool active() const { return mode_ != Mode::kOff; }
  // Whether a command that may write (`writes`) or not is postponed now.
  bool Postpones(bool writes) const {
    return mode_ == Mode::kAll || (mode_ == Mode::kWrite && writes);
  }
  // Remembers a client to resume when the pause ends.
  void Postpone(uint64_t client_id) { postponed_.push_back(client_id); }
  // At shutdown: ends the pause and closes the timer.
  void Close();

 private:
  static void OnTimer(uv_timer_t* timer);

  uv_loop_t* loop_;
  uv_timer_t timer_{};
  std::function<void(bool)> on_change_;
  std::function<void(uint64_t)> resume_;
  Mode mode_ = Mode::kOff;
  uint64_t until_ms_ = 0;  // loop time (uv_now)
  std::vector<uint64_t> postponed_;
  bool closed_ = false;
};

}  // namespace arvel::server
