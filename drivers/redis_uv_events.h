#pragma once
// hiredis's event hooks on the daemon's libuv loop, in place of hiredis 0.14's
// adapters/libuv.h, which costs a proxy its throughput and its failure detection:
//   - it calls uv_poll_start for every command queued, and uv_poll_start first removes the fd
//     from epoll: one (failing) epoll_ctl system call per command;
//   - it writes only once epoll reports the socket writable, a loop turn after the command;
//   - it ignores poll errors, so a reset connection or a refused connect goes unnoticed until
//     the store's timeout fires.
// Here the commands queued during a loop turn — by every client the turn served — are written
// together just before the loop next waits for I/O (a uv_prepare handle): one write per
// connection per turn. Only while the socket is still connecting, or full, does the connection
// wait for writability. The poll is touched
// only when its event mask changes, and a poll error is handed to hiredis as a read (as a write
// while connecting), so hiredis reports the error and the connection fails at once.
//
// Loop thread only.

#include <hiredis/async.h>
#include <uv.h>

namespace arvel::drivers {

// Attaches `ac` to `loop` (as redisLibuvAttach does). REDIS_ERR if `ac` is attached already or
// the handles cannot be set up; the context is then unchanged.
int AttachToLoop(redisAsyncContext* ac, uv_loop_t* loop);

// Writes what `ac` has buffered now instead of at the end of the loop turn (a large pipeline:
// Redis can start on it while the rest is still being read from the clients). Does nothing
// while connecting or while the socket is full. Not from inside a hiredis callback.
void WriteNow(redisAsyncContext* ac);

}  // namespace arvel::drivers
