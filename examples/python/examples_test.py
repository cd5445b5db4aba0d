#!/usr/bin/python3
"""Tests examples/python against the real daemon ($ARVEL_BINARY, default build/arvel-cached):
many concurrent callers of remember(), lock(), funnel() and attempt(), and the example app over
HTTP. Asserts one computation per miss and mutual exclusion. Prints "N passed, M failed".
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from arvel_cache import ArvelCache, LockTimeout  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
CALLERS = 50


class Daemon:
    """arvel-cached on a free loopback port, in a temporary directory, with no CACHE_* set."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="arvel-example-py-")
        binary = os.path.abspath(
            os.environ.get("ARVEL_BINARY", os.path.join(REPO, "build", "arvel-cached")))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CACHE_")}
        self.proc = subprocess.Popen([binary, "--port", "0"], cwd=self.dir.name, env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        self.port = None
        for line in self.proc.stderr:
            if "listening on " in line:
                self.port = int(line.split("listening on ", 1)[1].split()[0].rsplit(":", 1)[1])
                break
            if time.monotonic() > deadline:
                break
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("arvel-cached did not start")
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        self.dir.cleanup()


def run_concurrently(count, fn):
    """fn(i) for i in range(count), all at once; returns results or exceptions in order."""
    start = threading.Barrier(count)

    def call(i):
        start.wait()
        try:
            return fn(i)
        except Exception as error:  # noqa: BLE001 - collected for the assertions
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(call, range(count)))


def wait_until(condition, timeout=5):
    """Polls `condition` every 10 ms until it holds; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def test_remember_computes_once(cache):
    computed = []

    def compute():
        computed.append(1)
        time.sleep(0.3)  # the expensive part
        return "the report"

    began = time.monotonic()
    results = run_concurrently(CALLERS, lambda i: cache.remember("report", 60, compute))
    elapsed = time.monotonic() - began
    assert results == ["the report"] * CALLERS, results
    assert len(computed) == 1, f"computed {len(computed)} times"
    # Waiters got the value when it was stored, not when the 10 s fill lease ran out.
    assert elapsed < 5, f"took {elapsed:.1f} s"
    assert cache.remember("report", 60, compute) == "the report" and len(computed) == 1


def test_flexible_refreshes_once_and_serves_stale_without_waiting(cache):
    computed = []

    def compute():
        computed.append(1)
        time.sleep(1.0)  # the expensive part
        return f"version {len(computed)}"

    results = run_concurrently(CALLERS, lambda i: cache.flexible("stats", 5, 60, compute))
    assert results == ["version 1"] * CALLERS, results  # a miss: one fill, the others wait
    assert len(computed) == 1, f"computed {len(computed)} times"

    # Pretend version 1 was written 30 s ago: 30 s of its 60 left, older than `fresh`.
    cache.redis.execute_command("PUT", "stats", "version 1", 30)

    def timed(i):
        began = time.monotonic()
        value = cache.flexible("stats", 5, 60, compute)
        return value, time.monotonic() - began

    results = run_concurrently(CALLERS, timed)
    assert len(computed) == 2, f"computed {len(computed)} times"
    values = [value for value, _ in results]
    assert values.count("version 2") == 1 and values.count("version 1") == CALLERS - 1, values
    # Nobody waited for the refresher's 1 s.
    stale_waits = [took for value, took in results if value == "version 1"]
    assert max(stale_waits) < 0.8, stale_waits
    assert cache.flexible("stats", 5, 60, compute) == "version 2"


def test_remember_failure_hands_the_lease_on(cache):
    calls = []

    def compute():
        calls.append(1)
        time.sleep(0.1)  # the expensive part
        if len(calls) == 1:
            raise ValueError("first computation fails")
        return "second try"

    began = time.monotonic()
    results = run_concurrently(20, lambda i: cache.remember("flaky", 60, compute))
    elapsed = time.monotonic() - began
    # The failed holder's FORGET handed the lease on at once, not after the 10 s lease.
    assert elapsed < 5, f"took {elapsed:.1f} s"
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(calls) == 2, f"computed {len(calls)} times"
    assert len(errors) == 1 and isinstance(errors[0], ValueError), errors
    assert results.count("second try") == 19, results


def test_lock_is_mutually_exclusive(cache):
    inside = []
    overlaps = []
    entered = []

    def job(i):
        with cache.lock("nightly", ttl=10, wait=30):
            inside.append(i)
            if len(inside) > 1:
                overlaps.append(list(inside))
            entered.append(i)
            time.sleep(0.02)  # an overlap would show
            inside.remove(i)

    results = run_concurrently(CALLERS, job)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert not overlaps, f"held by several at once: {overlaps}"
    assert sorted(entered) == list(range(CALLERS))


def test_funnel_lets_limit_callers_in_at_once(cache):
    inside = []
    most = []
    entered = []

    def job(i):
        with cache.funnel("renders", limit=3, ttl=10, wait=30):
            inside.append(i)
            most.append(len(inside))
            entered.append(i)
            time.sleep(0.02)  # an excess would show
            inside.remove(i)

    results = run_concurrently(CALLERS, job)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert max(most) <= 3, f"{max(most)} holders at once"
    assert sorted(entered) == list(range(CALLERS))
    assert cache.redis.execute_command("FUNNEL", "COUNT", "renders") == 0


def test_lock_waits_for_release_not_for_timeout(cache):
    held = threading.Event()

    def holder():
        with cache.lock("shared", ttl=10, wait=1):
            held.set()
            time.sleep(0.5)  # holding the lock

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(timeout=5), "the holder never got the lock"
    began = time.monotonic()
    with cache.lock("shared", ttl=10, wait=2):
        waited = time.monotonic() - began
    thread.join()
    assert 0.2 < waited < 1.5, f"waited {waited:.2f} s"


def test_lock_times_out(cache):
    with cache.lock("busy", ttl=10, wait=0):
        began = time.monotonic()
        try:
            with cache.lock("busy", ttl=10, wait=0.3):
                raise AssertionError("acquired a held lock")
        except LockTimeout:
            pass
        assert time.monotonic() - began >= 0.25
    with cache.lock("busy", ttl=10, wait=0):  # released by the with block
        pass


def test_quick_commands_are_not_held_behind_a_wait(cache):
    # Another process holds the lock; one thread's wait for it must not delay the others.
    other = ArvelCache(port=cache.redis.connection_pool.connection_kwargs["port"])
    other.redis.execute_command("LOCK", "ACQUIRE", "elsewhere", 10)
    outcome = []

    def waiter():
        try:
            with cache.lock("elsewhere", ttl=10, wait=3):
                outcome.append("acquired")
        except LockTimeout as error:
            outcome.append(error)

    thread = threading.Thread(target=waiter)
    thread.start()
    wait_until(lambda: other.redis.info("stores")["lock_waiters"] >= 1)  # the waiter is parked
    began = time.monotonic()
    cache.redis.execute_command("PUT", "k", "v", 60)
    assert cache.redis.get("k") == "v"
    took = time.monotonic() - began
    thread.join()
    other.redis.close()
    assert isinstance(outcome[0], LockTimeout), outcome
    assert took < 1.5, f"PUT + GET took {took:.2f} s behind the wait"


def test_attempt_allows_exactly_max(cache):
    results = run_concurrently(CALLERS, lambda i: cache.attempt("login:42", 10, 60))
    assert results.count(True) == 10 and results.count(False) == CALLERS - 10, results
    assert 0 < cache.available_in("login:42") <= 60


def test_throttle_gcra(cache):
    results = run_concurrently(30, lambda i: cache.throttle("api:1", 9, 10, 60)[0])
    assert results.count(True) == 10, results  # a burst of max_burst + 1


def http(port, method, path):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_example_app(cache, daemon):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        app_port = s.getsockname()[1]
    env = dict(os.environ, ARVEL_CACHE_PORT=str(daemon.port), APP_PORT=str(app_port),
               REPORT_SECONDS="0.5", IMPORT_SECONDS="0.1")
    app = subprocess.Popen([sys.executable, os.path.join(HERE, "app.py")], env=env,
                           stdout=subprocess.PIPE, text=True)
    try:
        assert "listening" in app.stdout.readline()
        reports = run_concurrently(20, lambda i: http(app_port, "GET", "/report"))
        assert all(status == 200 for status, _, _ in reports), reports
        assert len({json.dumps(body) for _, _, body in reports}) == 1, reports
        assert reports[0][2]["build"] == 1
        logins = [http(app_port, "GET", "/login?user=7") for _ in range(7)]
        assert [status for status, _, _ in logins] == [200] * 5 + [429] * 2, logins
        assert int(logins[-1][1]["Retry-After"]) > 0
        imports = run_concurrently(8, lambda i: http(app_port, "POST", "/import"))
        assert all(status == 200 for status, _, _ in imports), imports
        spans = sorted((body["started"], body["finished"]) for _, _, body in imports)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), spans
    finally:
        app.terminate()
        app.wait(timeout=10)


def main():
    daemon = Daemon()
    passed = failed = 0
    try:
        tests = [(name, fn) for name, fn in globals().items() if name.startswith("test_")]
        for name, fn in tests:
            cache = ArvelCache(port=daemon.port, socket_timeout=30)
            cache.redis.flushall()
            try:
                if "daemon" in fn.__code__.co_varnames[:fn.__code__.co_argcount]:
                    fn(cache, daemon)
                else:
                    fn(cache)
                passed += 1
                print(f"PASS {name}")
            except Exception:  # noqa: BLE001
                failed += 1
                print(f"FAIL {name}")
                traceback.print_exc()
            finally:
                cache.redis.close()
    finally:
        daemon.stop()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
