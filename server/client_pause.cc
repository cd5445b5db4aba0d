#include "server/client_pause.h"

#include <algorithm>
#include <utility>

namespace arvel::server {

ClientPause::ClientPause(uv_loop_t* loop, std::function<void(bool)> on_change,
                         std::function<void(uint64_t)> resume)
    : loop_(loop), on_change_(std::move(on_change)), resume_(std::move(resume)) {
  uv_timer_init(loop, &timer_);
  timer_.data = this;
}

void ClientPause::Pause(Mode mode, int64_t duration_ms) {
  if (closed_ || mode == Mode::kOff) return;
  uv_update_time(loop_);
  const uint64_t now = uv_now(loop_);
  const uint64_t until = now + static_cast<uint64_t>(std::max<int64_t>(duration_ms, 0));
  const bool was_active = active();
  mode_ = std::max(mode_, mode);
  until_ms_ = was_active ? std::max(until_ms_, until) : until;
  uv_timer_start(&timer_, OnTimer, until_ms_ - now, 0);
  if (!was_active) on_change_(true);
}

void ClientPause::Unpause() {
  if (!active()) return;
  mode_ = Mode::kOff;
  uv_timer_stop(&timer_);
  on_change_(false);
  std::vector<uint64_t> resumed = std::move(postponed_);
  postponed_.clear();
  for (uint64_t id : resumed) resume_(id);
}

void ClientPause::OnTimer(uv_timer_t* timer) { static_cast<ClientPause*>(timer->data)->Unpause(); }

void ClientPause::Close() {
  if (closed_) return;
  Unpause();
  closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

}  // namespace arvel::server
