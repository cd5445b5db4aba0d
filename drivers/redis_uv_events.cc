#include "drivers/redis_uv_events.h"

#include <hiredis/hiredis.h>

namespace arvel::drivers {

namespace {

// The hooks' state: owned by the context until its cleanup hook, then by the two handles'
// close callbacks (the last one frees it).
struct Events {
  redisAsyncContext* context = nullptr;  // nullptr once hiredis let go of us
  uv_poll_t poll;
  uv_prepare_t prepare;
  int watched = 0;       // events `poll` watches now
  bool writing = false;  // inside its own deferred write
  int open_handles = 0;
};

Events* Of(void* privdata) { return static_cast<Events*>(privdata); }

bool Connected(const Events* e) { return (e->context->c.flags & REDIS_CONNECTED) != 0; }

void OnPoll(uv_poll_t* handle, int status, int events);

void Watch(Events* e, int events) {
  if (events == e->watched) return;
  e->watched = events;
  if (events != 0) {
    uv_poll_start(&e->poll, events, OnPoll);
  } else {
    uv_poll_stop(&e->poll);
  }
}

void OnPoll(uv_poll_t* handle, int status, int events) {
  Events* e = Of(handle->data);
  if (e->context == nullptr) return;
  if (status < 0) {
    // libuv stopped the poll; hiredis finds the socket's error with its next read (or, while
    // connecting, in SO_ERROR) and fails the connection.
    e->watched = 0;
    if (Connected(e)) {
      redisAsyncHandleRead(e->context);
    } else {
      redisAsyncHandleWrite(e->context);
    }
    return;
  }
  if (events & UV_READABLE) redisAsyncHandleRead(e->context);
  if (e->context != nullptr && (events & UV_WRITABLE)) redisAsyncHandleWrite(e->context);
}

// True while the loop runs our prepare callbacks: a prepare handle started then would wait for
// the next loop turn, after a poll that may block.
thread_local bool in_prepare_phase = false;

void OnPrepare(uv_prepare_t* handle) {
  Events* e = Of(handle->data);
  uv_prepare_stop(handle);
  if (e->context == nullptr) return;
  e->writing = true;
  in_prepare_phase = true;
  redisAsyncHandleWrite(e->context);  // may end in the cleanup hook: `e` lives on until closed
  in_prepare_phase = false;
  e->writing = false;
}

void AddRead(void* privdata) {
  Events* e = Of(privdata);
  Watch(e, e->watched | UV_READABLE);
}

void DelRead(void* privdata) {
  Events* e = Of(privdata);
  Watch(e, e->watched & ~UV_READABLE);
}

void AddWrite(void* privdata) {
  Events* e = Of(privdata);
  if (e->watched & UV_WRITABLE) return;  // waiting for room in the socket already
  if (!Connected(e) || e->writing || in_prepare_phase) {
    // Connecting (writable = connected), the deferred write left bytes behind, or too late in
    // this loop turn for a deferred write.
    Watch(e, e->watched | UV_WRITABLE);
    return;
  }
  uv_prepare_start(&e->prepare, OnPrepare);  // a no-op when started already
}

void DelWrite(void* privdata) {
  Events* e = Of(privdata);
  uv_prepare_stop(&e->prepare);
  Watch(e, e->watched & ~UV_WRITABLE);
}

void OnClosed(uv_handle_t* handle) {
  Events* e = Of(handle->data);
  if (--e->open_handles == 0) delete e;
}

void Cleanup(void* privdata) {
  Events* e = Of(privdata);
  e->context = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&e->poll), OnClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&e->prepare), OnClosed);
}

}  // namespace

void WriteNow(redisAsyncContext* ac) {
  Events* e = Of(ac->ev.data);
  if (e == nullptr || e->context == nullptr || !Connected(e) || (e->watched & UV_WRITABLE)) {
    return;
  }
  uv_prepare_stop(&e->prepare);
  e->writing = true;
  redisAsyncHandleWrite(ac);  // may end in the cleanup hook: `e` lives on until closed
  e->writing = false;
}

int AttachToLoop(redisAsyncContext* ac, uv_loop_t* loop) {
  if (ac->ev.data != nullptr) return REDIS_ERR;
  auto* e = new Events;
  if (uv_poll_init(loop, &e->poll, ac->c.fd) != 0) {
    delete e;
    return REDIS_ERR;
  }
  uv_prepare_init(loop, &e->prepare);
  e->poll.data = e;
  e->prepare.data = e;
  e->open_handles = 2;
  e->context = ac;
  ac->ev.data = e;
  ac->ev.addRead = AddRead;
  ac->ev.delRead = DelRead;
  ac->ev.addWrite = AddWrite;
  ac->ev.delWrite = DelWrite;
  ac->ev.cleanup = Cleanup;
  return REDIS_OK;
}

}  // namespace arvel::drivers
