// Laravel-style cache helpers over arvel-cached, with ioredis (npm).
//
//   const {ArvelCache} = require('./arvel-cache');
//   const cache = new ArvelCache({host: '127.0.0.1', port: 6380});
//   const report = await cache.remember('report', 600, buildReport);
//   const stats = await cache.flexible('stats', 5, 60, buildStats);   // stale-while-revalidate
//   await cache.withLock('nightly-import', {ttl: 60, wait: 10}, runImport);
//   await cache.withFunnel('renders', {limit: 3, ttl: 60, wait: 30}, render);  // 3 at a time
//   if (!await cache.attempt(`login:${userId}`, 5, 60)) { ... }
//   app.use(cache.rateLimiter({burst: 15, count: 30, period: 60}));   // Express
//
// Safe under concurrency. REMEMBER and LOCK BLOCK wait on the server, and replies leave a
// connection in request order (like BLPOP's): the server still runs the commands sent behind a
// wait, but their replies are held until the wait ends. On one shared connection, a caller
// waiting for a lock held by another process would stall every other caller's GET and PUT for
// up to the whole wait. So quick commands share one pipelined connection, and each wait gets a
// connection of its own from a small pool, returned when the wait ends.
'use strict';

const Redis = require('ioredis');

class LockTimeoutError extends Error {
  constructor(name) {
    super(`lock ${name} is busy`);
    this.name = 'LockTimeoutError';
  }
}

class ArvelCache {
  // `options` go to ioredis (host, port, password, …); `maxIdleWaiters` connections for waits
  // are kept open between waits (more are opened while more waits run at once).
  constructor({maxIdleWaiters = 8, ...options} = {}) {
    this.options = {host: '127.0.0.1', port: 6380, ...options};
    this.redis = new Redis(this.options);
    this.idle = [];
    this.maxIdleWaiters = maxIdleWaiters;
  }

  // A connection no other command uses until release(connection, reusable).
  acquire() {
    return this.idle.pop() || new Redis(this.options);
  }

  release(connection, reusable) {
    if (reusable && connection.status === 'ready' && this.idle.length < this.maxIdleWaiters) {
      this.idle.push(connection);
    } else {
      connection.disconnect();
    }
  }

  // Runs one waiting command on a connection of its own.
  async waitOn(...args) {
    const connection = this.acquire();
    let reusable = false;
    try {
      const reply = await connection.call(...args);
      reusable = true;
      return reply;
    } finally {
      this.release(connection, reusable);
    }
  }

  // The cached value of `key`, or `await compute()` stored for `ttl` seconds. On a miss exactly
  // one caller (in any process) computes; the others wait on the server and get that value as
  // soon as it is stored. If compute() throws, the key is forgotten, which hands the fill lease
  // to the next waiter. compute() returns a string (serialize other values, e.g. JSON.stringify).
  async remember(key, ttl, compute, {lease} = {}) {
    // The lease belongs to the connection that got it: only a FORGET on that same connection
    // hands it on at once, so the holder keeps its connection until it has stored the value.
    const connection = this.acquire();
    let reusable = false;
    try {
      const hit = await connection.call('REMEMBER', key, ...(lease ? ['LEASE', lease] : []));
      if (hit !== null) {
        reusable = true;
        return hit;
      }
      let value;
      try {
        value = await compute();
        if (typeof value !== 'string') {
          throw new TypeError('remember(): compute() must return a string');
        }
      } catch (error) {
        await connection.call('FORGET', key);
        reusable = true;
        throw error;
      }
      await connection.call('PUT', key, value, ttl);
      reusable = true;
      return value;
    } finally {
      this.release(connection, reusable);
    }
  }

  // Stale-while-revalidate, as Laravel's Cache::flexible(key, [fresh, stale], compute). A value
  // younger than `fresh` seconds is returned as is. Between `fresh` and `stale` seconds old,
  // exactly one caller (in any process) recomputes it and returns the new value while every other
  // caller gets the old one at once. Missing or older than `stale`: computed once, the others
  // wait, as in remember(). If compute() throws, a fill hands its lease on (FORGET) and a refresh
  // leaves the old value in place.
  async flexible(key, fresh, stale, compute, {lease} = {}) {
    // As in remember(): a fill lease belongs to the connection that got it.
    const connection = this.acquire();
    let reusable = false;
    try {
      const args = ['FLEXIBLE', key, fresh, stale, ...(lease ? ['LEASE', lease] : [])];
      const [current, state] = await connection.call(...args);
      if (state === 'fresh' || state === 'stale') {
        reusable = true;
        return current;
      }
      let value;
      try {
        value = await compute();  // we hold the fill or the refresh lease
        if (typeof value !== 'string') {
          throw new TypeError('flexible(): compute() must return a string');
        }
      } catch (error) {
        if (state === 'fill') await connection.call('FORGET', key);
        reusable = true;
        throw error;
      }
      // Written with `stale` as its TTL: the server reads the value's age from it.
      await connection.call('PUT', key, value, stale);
      reusable = true;
      return value;
    } finally {
      this.release(connection, reusable);
    }
  }

  // Runs `fn(token)` holding lock `name`, waiting up to `wait` seconds for it; the lock expires
  // after `ttl` seconds even if this process dies (0 = never). Throws LockTimeoutError when it
  // stays busy. Returns what fn returns; releases the lock however fn ends.
  async withLock(name, {ttl = 10, wait = 5, owner} = {}, fn) {
    const token = await this.waitOn('LOCK', 'BLOCK', name, ttl, wait,
                                    ...(owner ? ['OWNER', owner] : []));
    if (token === null) throw new LockTimeoutError(name);
    try {
      return await fn(token);
    } finally {
      await this.redis.call('LOCK', 'RELEASE', name, token);
    }
  }

  // Runs `fn(token)` holding one of `limit` slots of funnel `name` (Laravel's Redis::funnel),
  // waiting up to `wait` seconds for one, first come first served: at most `limit` callers run
  // at once, across every process. The slot is given back however fn ends, or after `ttl`
  // seconds if this process dies (0 = never). Throws LockTimeoutError when every slot stays busy.
  async withFunnel(name, {limit, ttl = 60, wait = 5}, fn) {
    const token = await this.waitOn('FUNNEL', 'ACQUIRE', name, limit, ttl, 'BLOCK', wait);
    if (token === null) throw new LockTimeoutError(name);
    try {
      return await fn(token);
    } finally {
      await this.redis.call('FUNNEL', 'RELEASE', name, token);
    }
  }

  // true (and counted) while `key` has had fewer than `maxAttempts` hits in its window of
  // `decay` seconds; false when limited. Check and count are one atomic step.
  async attempt(key, maxAttempts, decay) {
    return (await this.redis.call('THROTTLE', 'ATTEMPT', key, maxAttempts, decay)) === 1;
  }

  // Seconds until the window of `key` resets (0 if none).
  async availableIn(key) {
    return this.redis.call('THROTTLE', 'AVAILABLEIN', key);
  }

  // GCRA (redis-cell's CL.THROTTLE): {allowed, limit, remaining, retryAfter, resetAfter}.
  async throttle(key, maxBurst, count, period, quantity = 1) {
    const [limited, limit, remaining, retryAfter, resetAfter] =
        await this.redis.call('CL.THROTTLE', key, maxBurst, count, period, quantity);
    return {allowed: limited === 0, limit, remaining, retryAfter, resetAfter};
  }

  // Express middleware: `count` requests per `period` seconds per client, bursts of `burst`.
  rateLimiter({burst = 15, count = 30, period = 60, key = (req) => `api:${req.ip}`} = {}) {
    return async (req, res, next) => {
      try {
        const t = await this.throttle(key(req), burst, count, period);
        res.set({'X-RateLimit-Limit': t.limit, 'X-RateLimit-Remaining': t.remaining,
                 'X-RateLimit-Reset': t.resetAfter});
        if (!t.allowed) return res.set('Retry-After', t.retryAfter).status(429).end();
        next();
      } catch (error) {
        next(error);
      }
    };
  }

  async close() {
    const connections = [this.redis, ...this.idle.splice(0)];
    await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
  }
}

module.exports = {ArvelCache, LockTimeoutError};
