#include "drivers/file_watch.h"

#include <algorithm>
#include <utility>

namespace arvel::drivers {

// Both handles and the state they share live here, so that the closing handles never point into
// a destroyed FileWatch; the struct is freed when the second handle's close completes.
struct FileWatch::Handles {
  uv_fs_event_t event{};
  uv_timer_t timer{};
  int64_t interval_ms = 0;
  std::function<void()> changed;
  std::vector<std::string> names;
  bool watching = false;
  bool cooling = false;  // the timer runs: reports wait for it
  bool pending = false;  // a write (or the burst's second look) is due when the timer fires
  uint64_t reports = 0;
  int open_handles = 2;

  void Report() {
    ++reports;
    cooling = true;
    uv_timer_start(&timer, OnTimer, static_cast<uint64_t>(interval_ms), 0);
    if (changed) changed();  // last: it may Stop the watch
  }
  void Written() {
    if (cooling) {
      pending = true;
      return;
    }
    pending = true;  // the burst's second look
    Report();
  }

  static void OnEvent(uv_fs_event_t* event, const char* filename, int, int status) {
    auto* self = static_cast<Handles*>(event->data);
    if (!self->watching) return;
    // Without a name (or on an error) it may have been any file: look.
    if (status == 0 && filename != nullptr &&
        std::find(self->names.begin(), self->names.end(), filename) == self->names.end()) {
      return;
    }
    self->Written();
  }
  static void OnTimer(uv_timer_t* timer) {
    auto* self = static_cast<Handles*>(timer->data);
    self->cooling = false;
    if (!self->pending || !self->watching) return;
    self->pending = false;
    self->Report();
  }
  static void OnClose(uv_handle_t* handle) {
    auto* self = static_cast<Handles*>(handle->data);
    if (--self->open_handles == 0) delete self;
  }
};

FileWatch::FileWatch(uv_loop_t* loop, int64_t interval_ms, std::function<void()> changed)
    : handles_(new Handles) {
  handles_->interval_ms = std::max<int64_t>(interval_ms, 1);
  handles_->changed = std::move(changed);
  uv_fs_event_init(loop, &handles_->event);
  uv_timer_init(loop, &handles_->timer);
  handles_->event.data = handles_;
  handles_->timer.data = handles_;
}

FileWatch::~FileWatch() {
  Stop();
  // `changed` stays: this may be running inside it, and the handles free it once closed.
  uv_close(reinterpret_cast<uv_handle_t*>(&handles_->event), Handles::OnClose);
  uv_close(reinterpret_cast<uv_handle_t*>(&handles_->timer), Handles::OnClose);
}

Status FileWatch::Start(const std::string& dir, std::vector<std::string> names) {
  Stop();
  handles_->names = std::move(names);
  const int rc = uv_fs_event_start(&handles_->event, Handles::OnEvent, dir.c_str(), 0);
  if (rc != 0) {
    return Status::Error("cannot watch " + dir + ": " + uv_strerror(rc));
  }
  handles_->watching = true;
  return Status::Ok();
}

void FileWatch::Stop() {
  if (handles_->watching) uv_fs_event_stop(&handles_->event);
  handles_->watching = false;
  handles_->pending = false;
  handles_->cooling = false;
  uv_timer_stop(&handles_->timer);
}

bool FileWatch::watching() const { return handles_->watching; }

uint64_t FileWatch::reports() const { return handles_->reports; }

}  // namespace arvel::drivers
