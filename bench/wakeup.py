#!/usr/bin/env python3
"""Wake-up latency across two arvel-cached daemons sharing one store (bench/database.sh --wakeup).

    bench/wakeup.py --a PORT_A --b PORT_B [--rounds N] [--label TEXT]

Two waits, each over N rounds:
  lock      a client of B waits in LOCK BLOCK for a lock held through A; A releases it.
  remember  a client of A holds the REMEMBER fill lease of a key; a client of B waits in
            REMEMBER; A's client PUTs the value.
The latency is the time from A's reply to the waker (RELEASE / PUT) to B's reply to the waiter.
A round wakes the waiter a random 15-65 ms after it parked, so a store that polls (every 50 ms)
shows its average delay rather than one lucky phase. Prints one line per wait: p50, p90, p99, max.
Then one line of what idle waiting costs: the backend calls per second of B while a LOCK BLOCK
and a REMEMBER waiter of B wait on A for --idle seconds with nothing written, next to A's (same
housekeeping, nobody waiting); "n/a" when INFO has no backend_calls (binaries before it).
Standard library only.
"""

import argparse
import math
import random
import socket
import threading
import time


class Resp:
    """A blocking RESP2 connection to 127.0.0.1:port."""

    def __init__(self, port):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def command(self, *args):
        self.send(*args)
        return self.read()

    def send(self, *args):
        out = b"*%d\r\n" % len(args)
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            out += b"$%d\r\n%s\r\n" % (len(data), data)
        self.sock.sendall(out)

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            while len(self.buf) < size + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:size], self.buf[size + 2:]
            return data.decode(errors="replace")
        if kind == b"*":
            return [self.read() for _ in range(int(rest))]
        raise RuntimeError("unexpected reply: %r" % line)


def info_field(conn, field):
    for line in conn.command("INFO", "all").splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1])
    return 0


def measure(b_info, field, wait, wake):
    """Runs wait() on a thread; once B shows it parked, waits a random 15-65 ms, calls wake(),
    and returns ms from wake's reply to wait's reply."""
    replied = {}

    def waiter():
        wait()
        replied["at"] = time.perf_counter()

    thread = threading.Thread(target=waiter)
    thread.start()
    deadline = time.perf_counter() + 5
    while info_field(b_info, field) < 1:
        if time.perf_counter() > deadline:
            raise RuntimeError("the waiter never parked")
        time.sleep(0.002)
    time.sleep(random.uniform(0.015, 0.065))
    wake()
    woken = time.perf_counter()
    thread.join()
    return max(0.0, (replied["at"] - woken) * 1000)


def summary(label, what, samples):
    samples = sorted(samples)
    pick = lambda q: samples[min(len(samples), max(1, math.ceil(q * len(samples)))) - 1]
    print("%-10s %-9s p50 %7.2f ms   p90 %7.2f ms   p99 %7.2f ms   max %7.2f ms   (%d rounds)"
          % (label, what, pick(0.5), pick(0.9), pick(0.99), samples[-1], len(samples)))


def backend_calls(conn):
    """The backend_calls of the first store in INFO's Stores section, or None."""
    for line in conn.command("INFO", "stores").splitlines():
        if line.startswith("store_") and "backend_calls=" in line:
            return int(line.split("backend_calls=", 1)[1].split(",", 1)[0])
    return None


def idle_cost(label, a, b, b_info, run, seconds):
    """Backend calls per second of B with two idle waiters, and of A, over `seconds`."""
    lock, key = "wakeup:idle-lock:" + run, "wakeup:idle-remember:" + run
    token = a.command("LOCK", "ACQUIRE", lock, 60)
    if a.command("REMEMBER", key) is not None:
        raise RuntimeError("REMEMBER of a fresh key hit")
    lock_waiter, remember_waiter = Resp(b.port), Resp(b.port)
    lock_waiter.send("LOCK", "BLOCK", lock, 60, seconds + 30)
    remember_waiter.send("REMEMBER", key)
    deadline = time.perf_counter() + 5
    while (info_field(b_info, "lock_waiters") < 1 or info_field(b_info, "remember_waiters") < 1):
        if time.perf_counter() > deadline:
            raise RuntimeError("the waiters never parked")
        time.sleep(0.002)
    time.sleep(0.3)
    a0, b0 = backend_calls(a), backend_calls(b_info)
    time.sleep(seconds)
    a1, b1 = backend_calls(a), backend_calls(b_info)
    a.command("PUT", key, "value", 60)
    remember_waiter.read()
    a.command("LOCK", "RELEASE", lock, token)
    b.command("LOCK", "RELEASE", lock, lock_waiter.read())
    if None in (a0, b0, a1, b1):
        print("%-10s idle      backend calls/s: n/a (no backend_calls in INFO)" % label)
        return
    print("%-10s idle      backend calls/s: %.1f on B (2 waiters), %.1f on A (none), over %g s"
          % (label, (b1 - b0) / seconds, (a1 - a0) / seconds, seconds))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--a", type=int, required=True)
    parser.add_argument("--b", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--label", default="")
    parser.add_argument("--idle", type=float, default=3.0)
    args = parser.parse_args()
    a, b, b_info = Resp(args.a), Resp(args.b), Resp(args.b)
    run = "%d%d" % (time.time_ns(), random.randrange(1 << 30))

    lock = "wakeup:lock:" + run
    samples = []
    for _ in range(args.rounds):
        token = a.command("LOCK", "ACQUIRE", lock, 60)
        got = {}
        samples.append(measure(
            b_info, "lock_waiters",
            lambda: got.update(token=b.command("LOCK", "BLOCK", lock, 60, 10)),
            lambda: a.command("LOCK", "RELEASE", lock, token)))
        b.command("LOCK", "RELEASE", lock, got["token"])
    summary(args.label, "lock", samples)

    samples = []
    for i in range(args.rounds):
        key = "wakeup:remember:%s:%d" % (run, i)
        if a.command("REMEMBER", key) is not None:
            raise RuntimeError("REMEMBER of a fresh key hit")
        samples.append(measure(b_info, "remember_waiters", lambda: b.command("REMEMBER", key),
                               lambda: a.command("PUT", key, "value", 60)))
    summary(args.label, "remember", samples)

    if args.idle > 0:
        idle_cost(args.label, a, b, b_info, run, args.idle)


if __name__ == "__main__":
    main()
