"""Laravel-style cache helpers over arvel-cached, with Debian's python3-redis (redis-py).

    from arvel_cache import ArvelCache
    cache = ArvelCache(host="127.0.0.1", port=6380)
    report = cache.remember("report", 600, build_report)
    stats = cache.flexible("stats", 5, 60, build_stats)  # stale-while-revalidate
    with cache.lock("nightly-import", ttl=60, wait=10):
        run_import()
    with cache.funnel("pdf-render", limit=3, ttl=120, wait=30):
        render_pdf()
    if not cache.attempt(f"login:{user_id}", 5, 60):
        ...  # too many attempts; cache.available_in(f"login:{user_id}") seconds to wait

Safe from many threads at once: every call takes a connection from redis-py's pool for its own
duration. That matters because REMEMBER and LOCK BLOCK wait on the server, and replies leave a
connection in request order: on one shared connection, a thread waiting for a lock held by
another process would hold back every other thread's replies for up to the whole wait.
"""

import contextlib

import redis


class LockTimeout(Exception):
    """LOCK BLOCK gave up: another owner held the lock for the whole wait."""


class ArvelCache:
    def __init__(self, host="127.0.0.1", port=6380, password=None, client=None, **kwargs):
        # redis.Redis keeps a thread-safe connection pool: one connection per call in flight.
        kwargs.setdefault("decode_responses", True)
        self.redis = client or redis.Redis(host=host, port=port, password=password, **kwargs)

    def remember(self, key, ttl, compute, lease=None):
        """The cached value of `key`, or compute() stored for `ttl` seconds.

        On a miss exactly one caller (in any process) computes; the others wait on the server
        and get that value as soon as it is stored. If compute() raises, the key is forgotten,
        which hands the fill lease to the next waiter. compute() returns a str (serialize other
        values, e.g. with json.dumps); so does remember().
        """
        args = ["LEASE", lease] if lease else []
        # The lease belongs to the connection that got it: only a FORGET on that connection
        # hands it on at once, so this call keeps one connection from the pool throughout.
        conn = redis.Redis(connection_pool=self.redis.connection_pool,
                           single_connection_client=True)
        try:
            value = conn.execute_command("REMEMBER", key, *args)
            if value is not None:
                return value  # a hit, or the value another caller just stored
            try:
                value = compute()  # we hold the fill lease
                if not isinstance(value, str):
                    raise TypeError("remember(): compute() must return a str")
            except BaseException:
                conn.execute_command("FORGET", key)
                raise
            conn.execute_command("PUT", key, value, ttl)
            return value
        finally:
            conn.close()  # the connection goes back to the pool

    def flexible(self, key, fresh, stale, compute, lease=None):
        """Stale-while-revalidate, as Laravel's Cache::flexible(key, [fresh, stale], compute).

        A value younger than `fresh` seconds is returned as is. Between `fresh` and `stale`
        seconds old, exactly one caller (in any process) recomputes it and returns the new
        value, while every other caller gets the old one at once, without waiting. Missing or
        older than `stale`: computed once, the others wait, as in remember(). If compute()
        raises, a fill hands its lease on (FORGET) and a refresh leaves the old value in place.
        """
        args = ["LEASE", lease] if lease else []
        # As in remember(): a fill lease belongs to the connection that got it.
        conn = redis.Redis(connection_pool=self.redis.connection_pool,
                           single_connection_client=True)
        try:
            value, state = conn.execute_command("FLEXIBLE", key, fresh, stale, *args)
            if state in ("fresh", "stale"):
                return value
            try:
                value = compute()  # we hold the fill or the refresh lease
                if not isinstance(value, str):
                    raise TypeError("flexible(): compute() must return a str")
            except BaseException:
                if state == "fill":
                    conn.execute_command("FORGET", key)
                raise
            # Written with `stale` as its TTL: the server reads the value's age from it.
            conn.execute_command("PUT", key, value, stale)
            return value
        finally:
            conn.close()

    @contextlib.contextmanager
    def lock(self, name, ttl=10, wait=5, owner=None):
        """Holds lock `name` for the `with` block, waiting up to `wait` seconds for it.

        The lock expires after `ttl` seconds even if the holder dies (0 = never). Raises
        LockTimeout when it stays busy. Yields the owner token.
        """
        args = ["OWNER", owner] if owner else []
        token = self.redis.execute_command("LOCK", "BLOCK", name, ttl, wait, *args)
        if token is None:
            raise LockTimeout(f"lock {name!r} is busy")
        try:
            yield token
        finally:
            self.redis.execute_command("LOCK", "RELEASE", name, token)

    @contextlib.contextmanager
    def funnel(self, name, limit, ttl=60, wait=5):
        """Holds one of `limit` slots of funnel `name` for the `with` block (Laravel's
        Redis::funnel), waiting up to `wait` seconds, first come first served.

        At most `limit` holders run at once, across every process. The slot is given back after
        the block, or when `ttl` seconds run out if the holder dies (0 = never). Raises
        LockTimeout when every slot stays busy. Yields the slot token.
        """
        token = self.redis.execute_command("FUNNEL", "ACQUIRE", name, limit, ttl, "BLOCK", wait)
        if token is None:
            raise LockTimeout(f"funnel {name!r} is full")
        try:
            yield token
        finally:
            self.redis.execute_command("FUNNEL", "RELEASE", name, token)

    def attempt(self, key, max_attempts, decay):
        """True (and counted) if `key` has had fewer than `max_attempts` hits in its window of
        `decay` seconds; False when limited. Check and count are one atomic step."""
        return self.redis.execute_command("THROTTLE", "ATTEMPT", key, max_attempts, decay) == 1

    def available_in(self, key):
        """Seconds until the window of `key` resets (0 if none)."""
        return self.redis.execute_command("THROTTLE", "AVAILABLEIN", key)

    def throttle(self, key, max_burst, count, period, quantity=1):
        """GCRA (redis-cell's CL.THROTTLE): (allowed, limit, remaining, retry_after, reset_after)."""
        limited, limit, remaining, retry_after, reset_after = self.redis.execute_command(
            "CL.THROTTLE", key, max_burst, count, period, quantity)
        return limited == 0, limit, remaining, retry_after, reset_after
