#!/usr/bin/env node
// Tests examples/node/arvel-cache.js against the real daemon ($ARVEL_BINARY, default
// build/arvel-cached) with many concurrent callers on ONE ArvelCache (as an app shares one):
// remember() computes once, withLock() excludes, waits end at the release and not at the
// timeout, attempt() and the rate limiter count exactly. Prints "N passed, M failed".
'use strict';

const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {ArvelCache, LockTimeoutError} = require('./arvel-cache');

const REPO = path.resolve(__dirname, '..', '..');
const CALLERS = 50;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls `condition` (async) every 10 ms until it holds; throws after `timeoutMs`.
async function waitUntil(condition, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(10);
  }
}

function startDaemon() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arvel-example-node-'));
  const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('CACHE_')));
  const binary = path.resolve(process.env.ARVEL_BINARY || path.join(REPO, 'build', 'arvel-cached'));
  const proc = childProcess.spawn(binary, ['--port', '0'],
                                  {cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe']});
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error('did not start:\n' + log)), 10000);
    proc.stderr.on('data', (chunk) => {
      log += chunk;
      const match = /listening on \S+:(\d+) /.exec(log);
      if (match && timer) {
        clearTimeout(timer);
        resolve({proc, dir, port: Number(match[1])});
      }
    });
    proc.on('exit', (code) => reject(new Error(`exited with ${code}:\n${log}`)));
  });
}

const tests = {
  async rememberComputesOnce(cache) {
    let computed = 0;
    const began = Date.now();
    const results = await Promise.all(Array.from({length: CALLERS}, () =>
      cache.remember('report', 60, async () => {
        computed++;
        await sleep(300);  // the expensive part
        return 'the report';
      })));
    const elapsed = Date.now() - began;
    assert.deepEqual(results, Array(CALLERS).fill('the report'));
    assert.equal(computed, 1, `computed ${computed} times`);
    // The waiters got the value when it was stored, not when the 10 s fill lease ran out.
    assert.ok(elapsed < 5000, `took ${elapsed} ms`);
  },

  async flexibleRefreshesOnceAndServesStaleWithoutWaiting(cache) {
    let computed = 0;
    const compute = async () => {
      computed++;
      await sleep(1000);  // the expensive part
      return `version ${computed}`;
    };
    const first = await Promise.all(Array.from({length: CALLERS}, () =>
      cache.flexible('stats', 5, 60, compute)));
    assert.deepEqual(first, Array(CALLERS).fill('version 1'));  // a miss: one fill
    assert.equal(computed, 1, `computed ${computed} times`);

    // Pretend version 1 was written 30 s ago: 30 s of its 60 left, older than `fresh`.
    await cache.redis.call('PUT', 'stats', 'version 1', 30);
    const timed = await Promise.all(Array.from({length: CALLERS}, async () => {
      const began = Date.now();
      const value = await cache.flexible('stats', 5, 60, compute);
      return {value, took: Date.now() - began};
    }));
    assert.equal(computed, 2, `computed ${computed} times`);
    const values = timed.map(({value}) => value);
    assert.equal(values.filter((v) => v === 'version 2').length, 1, values.join());
    assert.equal(values.filter((v) => v === 'version 1').length, CALLERS - 1, values.join());
    // Nobody waited for the refresher's 1000 ms.
    const staleWaits = timed.filter(({value}) => value === 'version 1').map(({took}) => took);
    assert.ok(Math.max(...staleWaits) < 800, staleWaits.join());
  },

  async rememberFailureHandsTheLeaseOn(cache) {
    let calls = 0;
    const began = Date.now();
    const results = await Promise.allSettled(Array.from({length: 20}, () =>
      cache.remember('flaky', 60, async () => {
        calls++;
        await sleep(100);  // the expensive part
        if (calls === 1) throw new Error('first computation fails');
        return 'second try';
      })));
    // The failed holder's FORGET handed the lease on at once, not after the 10 s lease.
    const elapsed = Date.now() - began;
    assert.ok(elapsed < 5000, `took ${elapsed} ms`);
    assert.equal(calls, 2, `computed ${calls} times`);
    assert.equal(results.filter((r) => r.status === 'rejected').length, 1);
    assert.equal(results.filter((r) => r.value === 'second try').length, 19);
  },

  async withLockIsMutuallyExclusive(cache) {
    let inside = 0;
    let most = 0;
    const entered = [];
    await Promise.all(Array.from({length: CALLERS}, (_, i) =>
      cache.withLock('nightly', {ttl: 10, wait: 30}, async () => {
        inside++;
        most = Math.max(most, inside);
        entered.push(i);
        await sleep(10);  // an overlap would show
        inside--;
      })));
    assert.equal(most, 1, `${most} holders at once`);
    assert.equal(entered.length, CALLERS);
  },

  async withFunnelLetsLimitCallersInAtOnce(cache) {
    let inside = 0;
    let most = 0;
    let entered = 0;
    await Promise.all(Array.from({length: CALLERS}, () =>
      cache.withFunnel('renders', {limit: 3, ttl: 10, wait: 30}, async () => {
        inside++;
        most = Math.max(most, inside);
        entered++;
        await sleep(20);  // an excess would show
        inside--;
      })));
    assert.ok(most <= 3, `${most} holders at once`);
    assert.equal(most, 3, 'the funnel let fewer than its limit in at once');
    assert.equal(entered, CALLERS);
    assert.equal(await cache.redis.call('FUNNEL', 'COUNT', 'renders'), 0);
  },

  async withLockWaitsForTheReleaseNotTheTimeout(cache) {
    let held;
    const acquired = new Promise((resolve) => { held = resolve; });
    const holder = cache.withLock('shared', {ttl: 10, wait: 1}, () => {
      held();
      return sleep(500);  // holding the lock
    });
    await Promise.race([acquired, holder]);
    const began = Date.now();
    await cache.withLock('shared', {ttl: 10, wait: 2}, async () => {});
    const waited = Date.now() - began;
    await holder;
    assert.ok(waited > 200 && waited < 1500, `waited ${waited} ms`);
  },

  async withLockTimesOut(cache) {
    await cache.withLock('busy', {ttl: 10, wait: 0}, async () => {
      await assert.rejects(cache.withLock('busy', {ttl: 10, wait: 0.3}, async () => {}),
                           LockTimeoutError);
    });
    assert.equal(await cache.withLock('busy', {ttl: 10, wait: 0}, async () => 'free'), 'free');
  },

  async quickCommandsAreNotHeldBehindAWait(cache) {
    // Another process holds the lock; our wait for it must not delay our other commands, as it
    // would if they shared the waiting connection (replies leave a connection in order).
    const other = new ArvelCache({port: cache.options.port});
    try {
      await other.redis.call('LOCK', 'ACQUIRE', 'elsewhere', 10);
      const waiting = cache.withLock('elsewhere', {ttl: 10, wait: 3}, async () => {})
          .then(() => 'acquired', (error) => error);
      await waitUntil(async () =>  // the waiter is parked
        Number(/lock_waiters:(\d+)/.exec(await other.redis.call('INFO', 'stores'))[1]) >= 1);
      const began = Date.now();
      await cache.redis.call('PUT', 'k', 'v', 60);
      assert.equal(await cache.redis.call('GET', 'k'), 'v');
      const took = Date.now() - began;
      assert.ok((await waiting) instanceof LockTimeoutError);
      assert.ok(took < 1500, `PUT + GET took ${took} ms behind the wait`);
    } finally {
      await other.close();
    }
  },

  async attemptAllowsExactlyMax(cache) {
    const results = await Promise.all(
        Array.from({length: CALLERS}, () => cache.attempt('login:42', 10, 60)));
    assert.equal(results.filter(Boolean).length, 10);
    const wait = await cache.availableIn('login:42');
    assert.ok(wait > 0 && wait <= 60, `available in ${wait}`);
  },

  async rateLimiterMiddleware(cache) {
    const limiter = cache.rateLimiter({burst: 4, count: 5, period: 60});
    const outcomes = await Promise.all(Array.from({length: 12}, () => new Promise((resolve) => {
      const headers = {};
      const res = {
        set(fields, value) {
          Object.assign(headers, typeof fields === 'string' ? {[fields]: value} : fields);
          return this;
        },
        status(code) {
          return {end: () => resolve({code, headers})};
        },
      };
      limiter({ip: '10.0.0.7'}, res, () => resolve({code: 200, headers}));
    })));
    assert.equal(outcomes.filter((o) => o.code === 200).length, 5);  // burst 4 + 1
    const limited = outcomes.find((o) => o.code === 429);
    assert.ok(limited.headers['Retry-After'] > 0);
    assert.equal(limited.headers['X-RateLimit-Remaining'], 0);
  },

  async waitConnectionsArePooled(cache) {
    await Promise.all(Array.from({length: 20}, (_, i) => cache.remember(`k${i}`, 60, async () => 'v')));
    assert.ok(cache.idle.length <= cache.maxIdleWaiters);
    assert.ok(cache.idle.length > 0);
  },
};

async function main() {
  const daemon = await startDaemon();
  let passed = 0;
  let failed = 0;
  try {
    for (const [name, test] of Object.entries(tests)) {
      const cache = new ArvelCache({port: daemon.port});
      try {
        await cache.redis.flushall();
        await test(cache);
        passed++;
        console.log(`PASS ${name}`);
      } catch (error) {
        failed++;
        console.log(`FAIL ${name}\n${error.stack}`);
      } finally {
        await cache.close();
      }
    }
  } finally {
    daemon.proc.kill('SIGTERM');
    fs.rmSync(daemon.dir, {recursive: true, force: true});
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
