#!/usr/bin/python3
"""Drives arvel-cached with Debian's python3-redis (redis-py 4.3), as an application would.

Run with /usr/bin/python3 (Debian's interpreter, which has python3-redis), with ARVEL_BINARY
naming the daemon. Starts the daemon on an ephemeral loopback port in a temporary directory,
runs every check, prints "N passed, M failed" and exits non-zero on any failure.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import redis

START_TIMEOUT = 10.0
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Daemon:
    """The real binary on port 0; learns the port from the "listening on" log line."""

    def __init__(self, config=None, env=None):
        self.dir = tempfile.TemporaryDirectory(prefix="arvel-py-")
        binary = os.path.abspath(
            os.environ.get("ARVEL_BINARY", os.path.join(REPO, "build", "arvel-cached")))
        args = [binary, "--port", "0"]
        if config is not None:
            path = os.path.join(self.dir.name, "cache.toml")
            with open(path, "w") as f:
                f.write(config)
            args += ["--config", path]
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("CACHE_")}
        child_env["CACHE_PORT"] = "1"  # the implicit redis store points at a closed port
        child_env.update(env or {})
        self.proc = subprocess.Popen(args, cwd=self.dir.name, env=child_env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.log = []
        self.port = self._wait_for_port()
        threading.Thread(target=self._drain, daemon=True).start()

    def _wait_for_port(self):
        deadline = time.monotonic() + START_TIMEOUT
        port_box = []

        def read():
            for raw in self.proc.stderr:
                line = raw.decode("utf-8", "replace")
                self.log.append(line)
                if "listening on " in line:
                    address = line.split("listening on ", 1)[1].split()[0]
                    port_box.append(int(address.rsplit(":", 1)[1]))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(max(0.0, deadline - time.monotonic()))
        if not port_box:
            self.kill()
            raise RuntimeError("daemon did not start:\n" + "".join(self.log))
        return port_box[0]

    def _drain(self):
        for raw in self.proc.stderr:
            self.log.append(raw.decode("utf-8", "replace"))

    def client(self, **kwargs):
        kwargs.setdefault("socket_timeout", 10)
        return redis.Redis(host="127.0.0.1", port=self.port, **kwargs)

    def stop(self):
        """SIGTERM, and the exit code (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.dir.cleanup()


def expect(actual, expected, what=""):
    if actual != expected:
        raise AssertionError("%s: got %r, expected %r" % (what, actual, expected))


def expect_true(condition, what):
    if not condition:
        raise AssertionError(what)


def expect_error(call, error_type, text):
    try:
        result = call()
    except error_type as e:
        if text not in str(e):
            raise AssertionError("error %r does not contain %r" % (str(e), text))
        return
    raise AssertionError("expected %s(%r), got %r" % (error_type.__name__, text, result))


# ---------------------------------------------------------------------------------------------
# Checks against a daemon without a password


def check_facade_commands(d):
    r = d.client(decode_responses=True, single_connection_client=True)
    x = r.execute_command
    expect(x("GET", "k"), None, "GET miss")
    expect(x("GET", "k", "fallback"), "fallback", "GET default")
    expect(x("PUT", "k", "v"), "OK", "PUT")
    expect(x("GET", "k"), "v", "GET hit")
    expect(x("HAS", "k"), 1, "HAS")
    expect(x("PUT", "t", "v", 60), "OK", "PUT ttl")
    expect_true(59 <= r.ttl("t") <= 60, "TTL after PUT 60 is %r" % r.ttl("t"))
    expect(x("FOREVER", "f", "v"), "OK", "FOREVER")
    expect(r.ttl("f"), -1, "TTL of FOREVER")
    expect(x("FORGET", "f"), 1, "FORGET")
    expect(x("FORGET", "f"), 0, "FORGET again")
    expect(x("ADD", "a", "1"), 1, "ADD")
    expect(x("ADD", "a", "2"), 0, "ADD existing")
    expect(x("INCREMENT", "n"), 1, "INCREMENT")
    expect(x("INCREMENT", "n", 10), 11, "INCREMENT by")
    expect(x("DECREMENT", "n", 3), 8, "DECREMENT by")
    expect(x("PULL", "n"), "8", "PULL")
    expect(x("PULL", "n", "gone"), "gone", "PULL default")
    expect(x("PUTMANY", 60, "m1", "a", "m2", "b"), "OK", "PUTMANY")
    expect(x("MANY", "m1", "nope", "m2"), ["a", None, "b"], "MANY")
    expect(x("FLUSH"), "OK", "FLUSH")
    expect(r.dbsize(), 0, "DBSIZE after FLUSH")
    expect_error(lambda: x("INCREMENT", "k2", "x"), redis.ResponseError,
                 "value is not an integer or out of range")


def check_stores_and_fake(d):
    r = d.client(decode_responses=True, single_connection_client=True)
    x = r.execute_command
    expect(x("STORE"), "array", "STORE")
    r.set("real", "1")
    expect(x("FAKE"), "OK", "FAKE")
    expect(r.get("real"), None, "fake store starts empty")
    x("PUT", "k", "v")
    expect(x("ASSERT", "STORED", "k", "v"), "OK", "ASSERT STORED")
    expect_error(lambda: x("ASSERT", "MISSING", "k"), redis.ResponseError, "assertion failed")
    expect(x("FAKE", "OFF"), "OK", "FAKE OFF")
    expect(r.get("real"), "1", "back to the real store")
    expect(r.get("k"), None, "fake writes stay in the fake")
    expect(x("STORE", "null"), "OK", "STORE null")
    r.set("k", "v")
    expect(r.get("k"), None, "null store forgets")
    expect_true("null" in x("STORE", "LIST"), "STORE LIST")


def check_regular_commands(d):
    r = d.client(decode_responses=True)
    expect(r.ping(), True, "PING")
    expect(r.echo("hi"), "hi", "ECHO")
    expect(r.set("s", "v", ex=100), True, "SET EX")
    expect_true(99 <= r.ttl("s") <= 100, "TTL")
    expect_true(98000 <= r.pttl("s") <= 100000, "PTTL")
    expect(r.set("s", "w", nx=True), None, "SET NX on existing")
    expect(r.set("s", "w", xx=True, keepttl=True), True, "SET XX KEEPTTL")
    expect_true(r.ttl("s") > 0, "KEEPTTL kept the ttl")
    expect(r.get("s"), "w", "GET")
    expect(r.expire("s", 500), True, "EXPIRE")
    expect_true(499 <= r.ttl("s") <= 500, "TTL after EXPIRE")
    expect(r.persist("s"), True, "PERSIST")
    expect(r.ttl("s"), -1, "TTL after PERSIST")
    expect(r.incr("n"), 1, "INCR")
    expect(r.incrby("n", 5), 6, "INCRBY")
    expect(r.decr("n"), 5, "DECR")
    expect(r.incrbyfloat("f", 2.5), 2.5, "INCRBYFLOAT")
    expect(r.mset({"a": "1", "b": "2"}), True, "MSET")
    expect(r.mget(["a", "missing", "b"]), ["1", None, "2"], "MGET")
    expect(r.exists("a", "b", "missing"), 2, "EXISTS")
    expect(r.getdel("a"), "1", "GETDEL")
    expect(r.append("b", "3"), 2, "APPEND")
    expect(r.strlen("b"), 2, "STRLEN")
    expect(r.getrange("b", 0, 0), "2", "GETRANGE")
    expect(r.type("b"), "string", "TYPE")
    expect(r.delete("b", "missing"), 1, "DEL")
    expect(r.setnx("nx", "1"), True, "SETNX")
    expect(r.getset("nx", "2"), "1", "GETSET")
    expect(r.getex("nx", ex=50), "2", "GETEX")
    expect_true(0 < r.ttl("nx") <= 50, "GETEX set the ttl")
    r.set("w", "x")
    expect_error(lambda: r.incr("w"), redis.ResponseError,
                 "value is not an integer or out of range")


def check_scan_iter(d):
    r = d.client(decode_responses=True)
    with r.pipeline(transaction=False) as pipe:
        for i in range(500):
            pipe.set("user:%d" % i, i)
        pipe.set("other", 1)
        pipe.execute()
    found = set(r.scan_iter(match="user:*", count=37))
    expect(len(found), 500, "SCAN found every user key")
    expect(set(r.keys("user:1?")), {"user:%d" % i for i in range(10, 20)}, "KEYS")
    expect_true(r.randomkey() is not None, "RANDOMKEY")
    expect(r.dbsize(), 501, "DBSIZE")


def check_pipeline_without_transaction(d):
    r = d.client(decode_responses=True)
    with r.pipeline(transaction=False) as pipe:
        for i in range(1000):
            pipe.set("p:%d" % i, i)
            pipe.get("p:%d" % i)
        results = pipe.execute()
    expect(len(results), 2000, "pipeline result count")
    for i in range(1000):
        expect(results[2 * i], True, "pipelined SET %d" % i)
        expect(results[2 * i + 1], str(i), "pipelined GET %d" % i)


def check_pipeline_with_transaction(d):
    r = d.client(decode_responses=True)
    with r.pipeline(transaction=True) as pipe:
        pipe.set("t", 1).incr("t").execute_command("PUT", "u", "v", 60).get("t")
        expect(pipe.execute(), [True, 2, "OK", "2"], "MULTI/EXEC results")
    with r.pipeline(transaction=True) as pipe:
        pipe.set("t2", "x").incr("t2")
        results = pipe.execute(raise_on_error=False)
    expect(results[0], True, "first command of a transaction with a runtime error")
    expect_true(isinstance(results[1], redis.ResponseError), "runtime error inside EXEC")
    expect(r.get("t2"), "x", "the rest of the transaction ran")


def check_watch_conflict(d):
    r = d.client(decode_responses=True)
    other = d.client(decode_responses=True)
    r.set("balance", 10)
    with r.pipeline() as pipe:
        pipe.watch("balance")
        current = int(pipe.get("balance"))
        other.set("balance", 100)  # the conflicting writer
        pipe.multi()
        pipe.set("balance", current + 1)
        expect_error(pipe.execute, redis.WatchError, "")
    expect(r.get("balance"), "100", "aborted transaction left the other write")

    calls = []

    def add_one(pipe):
        value = int(pipe.get("balance"))
        if not calls:
            other.incr("balance")  # conflict on the first attempt only
        calls.append(value)
        pipe.multi()
        pipe.set("balance", value + 1)

    r.transaction(add_one, "balance")
    expect(len(calls), 2, "transaction() retried once after the conflict")
    expect(r.get("balance"), "102", "both increments applied")


def check_binary_values(d):
    r = d.client()
    value = bytes(range(256))
    expect(r.set(b"bin\x00key", value), True, "SET binary")
    expect(r.get(b"bin\x00key"), value, "GET binary")
    expect(r.execute_command("PUT", value, value), b"OK", "PUT binary")
    expect(r.execute_command("MANY", value), [value], "MANY binary")
    big = os.urandom(5 * 1024 * 1024)
    expect(r.set("big", big), True, "SET 5 MB")
    expect(r.get("big") == big, True, "GET 5 MB")


def check_server_commands(d):
    r = d.client(decode_responses=True)
    r.client_setname("py-test")
    expect(r.client_getname(), "py-test", "CLIENT GETNAME")
    expect_true(r.client_id() > 0, "CLIENT ID")
    expect_true(any(c.get("name") == "py-test" for c in r.client_list()), "CLIENT LIST")
    info = r.info()
    expect_true("redis_version" in info, "INFO redis_version")
    expect(info["tcp_port"], d.port, "INFO tcp_port")
    stores = r.info("stores")
    expect(stores["store_array"]["driver"], "array", "INFO stores, parsed by redis-py")
    expect(r.config_get("maxclients"), {"maxclients": "10000"}, "CONFIG GET")
    seconds, micros = r.time()
    expect_true(abs(seconds - time.time()) < 5, "TIME")
    expect_true(r.command_count() > 50, "COMMAND COUNT")
    expect_error(lambda: redis.Redis(host="127.0.0.1", port=d.port, db=1).ping(),
                 redis.ResponseError, "DB index is out of range")
    expect(r.flushall(), True, "FLUSHALL")


def read_resp3(sock_file):
    """Reads one RESP3 value from a file-like socket; maps become dicts, nulls None."""
    line = sock_file.readline()
    kind, rest = line[:1], line[1:-2]
    if kind in (b"+", b"("):
        return rest.decode()
    if kind == b"-":
        return Exception(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"_":
        return None
    if kind == b"#":
        return rest == b"t"
    if kind == b",":
        return float(rest)
    if kind in (b"$", b"="):
        n = int(rest)
        if n < 0:
            return None
        data = sock_file.read(n + 2)[:-2]
        return data.decode() if kind == b"$" else data.decode()[4:]
    if kind in (b"*", b"~", b">"):
        n = int(rest)
        return None if n < 0 else [read_resp3(sock_file) for _ in range(n)]
    if kind == b"%":
        return {read_resp3(sock_file): read_resp3(sock_file) for _ in range(int(rest))}
    raise AssertionError("unexpected RESP3 type byte %r in %r" % (kind, line))


def check_resp3(d):
    # redis-py 4.3 has no protocol=3; send HELLO 3 on one of its connections and decode the
    # reply ourselves.
    conn = redis.Connection(host="127.0.0.1", port=d.port, socket_timeout=10)
    conn.connect()
    try:
        reader = conn._sock.makefile("rb")
        conn.send_command("HELLO", "3")
        hello = read_resp3(reader)
        expect_true(isinstance(hello, dict), "HELLO 3 answers a map: %r" % (hello,))
        expect(hello.get("proto"), 3, "HELLO proto")
        expect(hello.get("server"), "redis", "HELLO server")
        conn.send_command("GET", "resp3-missing")
        expect(read_resp3(reader), None, "RESP3 null")
        conn.send_command("CONFIG", "GET", "maxclients")
        expect(read_resp3(reader), {"maxclients": "10000"}, "RESP3 map from CONFIG GET")
        conn.send_command("MANY", "resp3-missing")
        expect(read_resp3(reader), [None], "RESP3 MANY")
    finally:
        conn.disconnect()


# ---------------------------------------------------------------------------------------------
# Checks with a password set


def check_authentication(_):
    d = Daemon(config='[server]\npassword = "py-secret"\n')
    try:
        expect_error(d.client().ping, redis.AuthenticationError, "Authentication required.")
        # redis-py 4.3 raises the plain ResponseError for WRONGPASS during its AUTH handshake.
        expect_error(d.client(password="wrong").ping, redis.ResponseError,
                     "WRONGPASS invalid username-password pair or user is disabled.")
        r = d.client(password="py-secret", decode_responses=True)
        expect(r.ping(), True, "PING after AUTH")
        expect(r.execute_command("PUT", "k", "v"), "OK", "PUT after AUTH")
        expect(d.client(username="default", password="py-secret").ping(), True, "AUTH user pw")
    finally:
        d.stop()
        d.kill()


def check_redis_py_lock(d):
    """redis-py's Lock takes, extends and releases through its own Lua scripts (EVALSHA)."""
    r = d.client()
    lock = r.lock("report", timeout=5)
    expect(lock.acquire(blocking=False), True, "acquire")
    expect(r.lock("report", timeout=5).acquire(blocking=False), False, "held by the first")
    expect(lock.owned(), True, "owned")
    expect(lock.extend(10), True, "extend")
    expect_true(5000 < r.pttl("report") <= 15000, "extend adds to the ttl")
    expect(lock.reacquire(), True, "reacquire")
    expect_true(r.pttl("report") <= 5000, "reacquire restarts the ttl")
    lock.release()
    expect(r.exists("report"), 0, "released")
    expect_error(lock.release, redis.exceptions.LockError, "")
    with r.lock("job", timeout=5, blocking_timeout=1) as held:
        expect(held.locked(), True, "locked inside with")
        stranger = r.lock("job", timeout=5)
        stranger.local.token = b"not-the-owner"
        expect_error(stranger.release, redis.exceptions.LockNotOwnedError, "")
    expect(r.exists("job"), 0, "released at the end of with")


LARAVEL_RELEASE_LOCK = """if redis.call("get",KEYS[1]) == ARGV[1] then
    return redis.call("del",KEYS[1])
else
    return 0
end"""


def check_laravel_lock_script(d):
    """Laravel's RedisLock: SET NX EX to acquire, its release script through EVAL."""
    r = d.client()
    expect(r.set("laravel_lock", "owner-1", ex=10, nx=True), True, "acquire")
    expect(r.set("laravel_lock", "owner-2", ex=10, nx=True), None, "held")
    expect(r.eval(LARAVEL_RELEASE_LOCK, 1, "laravel_lock", "owner-2"), 0, "wrong owner")
    expect(r.get("laravel_lock"), b"owner-1", "still held")
    expect(r.eval(LARAVEL_RELEASE_LOCK, 1, "laravel_lock", "owner-1"), 1, "owner releases")
    expect(r.exists("laravel_lock"), 0, "released")


CHECKS = [
    check_facade_commands,
    check_stores_and_fake,
    check_regular_commands,
    check_scan_iter,
    check_pipeline_without_transaction,
    check_pipeline_with_transaction,
    check_watch_conflict,
    check_binary_values,
    check_server_commands,
    check_resp3,
    check_authentication,
    check_redis_py_lock,
    check_laravel_lock_script,
]


def main():
    passed = failed = 0
    try:
        daemon = Daemon()
    except Exception:
        traceback.print_exc()
        print("0 passed, %d failed" % len(CHECKS))
        return 1
    try:
        for check in CHECKS:
            try:
                daemon.client().flushall()
                check(daemon)
                passed += 1
                print("PASS %s" % check.__name__)
            except Exception:
                failed += 1
                print("FAIL %s" % check.__name__)
                traceback.print_exc(file=sys.stdout)
        code = daemon.stop()
        if code != 0:
            failed += 1
            print("FAIL daemon exit code after SIGTERM: %r" % code)
            print("".join(daemon.log[-20:]))
    finally:
        daemon.kill()
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
