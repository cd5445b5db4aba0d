#pragma once
// Only the loop thread receives process signals. The kernel hands a signal sent to the process
// to any thread that does not block it; libuv's uv_signal_t then forwards it to the loop, which
// works, except that a signal landing on a busy worker thread can be held back (ThreadSanitizer
// defers it until that thread next enters an intercepted call) or lost. So every thread the
// daemon starts blocks the signals the loop watches: create threads inside a
// LoopSignalsBlocked scope (a new thread inherits its creator's mask), which includes any libuv
// call that may start libuv's threadpool (uv_getaddrinfo, uv_queue_work, uv_fs_* with a callback).

#include <pthread.h>
#include <signal.h>
#include <time.h>

namespace arvel {

// The signals the loop watches (server/server.cc: uv_signal_start for each).
inline constexpr int kLoopSignals[] = {SIGTERM, SIGINT};

// While alive, the calling thread blocks kLoopSignals; the destructor restores its previous mask.
class LoopSignalsBlocked {
 public:
  LoopSignalsBlocked() {
    sigset_t blocked;
    sigemptyset(&blocked);
    for (int signum : kLoopSignals) sigaddset(&blocked, signum);
    pthread_sigmask(SIG_BLOCK, &blocked, &previous_);
  }
  ~LoopSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  LoopSignalsBlocked(const LoopSignalsBlocked&) = delete;
  LoopSignalsBlocked& operator=(const LoopSignalsBlocked&) = delete;

 private:
  sigset_t previous_;
};

// Call on the loop thread before the loop watches signals. ThreadSanitizer (as in GCC 12; later
// LLVM fixed it with a compare-and-swap in SigCtx) allocates a thread's signal state lazily, on
// its first blocking call, and drops a signal that arrives during that allocation. For the loop
// thread that first call is the first epoll_wait, right after the "listening" line, just when a
// supervisor may send SIGTERM; one blocking call here, before any signal is watched, closes the
// window. Does nothing in other builds.
inline void PrepareThreadForSignals() {
#if defined(__SANITIZE_THREAD__)
  const timespec none{0, 0};
  nanosleep(&none, nullptr);  // a blocking call to ThreadSanitizer
#endif
}

}  // namespace arvel
