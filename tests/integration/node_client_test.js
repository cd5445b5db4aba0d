#!/usr/bin/env node
// Drives arvel-cached with ioredis (npm), as a Node application would.
//
//   npm install --prefix tests/integration      # once: installs ioredis from package.json
//   ARVEL_BINARY=build/arvel-cached node tests/integration/node_client_test.js
//
// Starts the daemon on an ephemeral loopback port in a temporary directory, runs every check,
// prints "N passed, M failed" and exits non-zero on any failure.
'use strict';

const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const Redis = require('ioredis');

const START_TIMEOUT_MS = 10000;
const REPO = path.resolve(__dirname, '..', '..');

// The real binary on port 0; the port comes from the "listening on" log line.
class Daemon {
  static async start(config) {
    const daemon = new Daemon();
    daemon.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arvel-node-'));
    const args = ['--port', '0'];
    if (config !== undefined) {
      const file = path.join(daemon.dir, 'cache.toml');
      fs.writeFileSync(file, config);
      args.push('--config', file);
    }
    const env = Object.fromEntries(
        Object.entries(process.env).filter(([name]) => !name.startsWith('CACHE_')));
    env.CACHE_PORT = '1';  // the implicit redis store points at a closed port
    const binary =
        path.resolve(process.env.ARVEL_BINARY || path.join(REPO, 'build', 'arvel-cached'));
    daemon.proc = childProcess.spawn(
        binary, args, {cwd: daemon.dir, env, stdio: ['ignore', 'ignore', 'pipe']});
    daemon.log = '';
    try {
      daemon.port = await daemon.waitForPort();
    } catch (error) {
      daemon.cleanup();
      throw error;
    }
    return daemon;
  }

  waitForPort() {
    const daemon = this;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no listening line:\n' + daemon.log)),
                               START_TIMEOUT_MS);
      daemon.proc.stderr.on('data', (chunk) => {
        daemon.log += chunk.toString();
        const match = /listening on \S+:(\d+) /.exec(daemon.log);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      daemon.proc.on('error', reject);
      daemon.proc.on('exit', (code) => reject(new Error(`exited with ${code}:\n${daemon.log}`)));
    });
  }

  client(options = {}) {
    return new Redis({
      host: '127.0.0.1',
      port: this.port,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,  // no reconnect loops in tests
      commandTimeout: 10000,
      ...options,
    });
  }

  // SIGTERM; resolves to the exit code (null if it had to be killed).
  stop() {
    if (this.proc.exitCode !== null) return Promise.resolve(this.proc.exitCode);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.proc.kill('SIGKILL');
        resolve(null);
      }, 10000);
      this.proc.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
      this.proc.kill('SIGTERM');
    });
  }

  cleanup() {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    fs.rmSync(this.dir, {recursive: true, force: true});
  }
}

async function withClient(daemon, options, body) {
  const client = daemon.client(options);
  try {
    await body(client);
  } finally {
    client.disconnect();
  }
}

const checks = {
  async facadeCommands(daemon) {
    await withClient(daemon, {}, async (r) => {
      assert.equal(await r.call('GET', 'k', 'fallback'), 'fallback');
      assert.equal(await r.call('PUT', 'k', 'v', '60'), 'OK');
      assert.equal(await r.get('k'), 'v');
      const ttl = await r.ttl('k');
      assert.ok(ttl >= 59 && ttl <= 60, `ttl ${ttl}`);
      assert.equal(await r.call('HAS', 'k'), 1);
      assert.equal(await r.call('ADD', 'k', 'other'), 0);
      assert.equal(await r.call('INCREMENT', 'n', '5'), 5);
      assert.equal(await r.call('DECREMENT', 'n'), 4);
      assert.equal(await r.call('PULL', 'n'), '4');
      assert.equal(await r.call('PUTMANY', '60', 'a', '1', 'b', '2'), 'OK');
      assert.deepEqual(await r.call('MANY', 'a', 'missing', 'b'), ['1', null, '2']);
      assert.equal(await r.call('FOREVER', 'f', 'v'), 'OK');
      assert.equal(await r.call('FORGET', 'f'), 1);
      await assert.rejects(r.call('INCREMENT', 'k'), /value is not an integer or out of range/);
    });
  },

  async fakeStore(daemon) {
    await withClient(daemon, {}, async (r) => {
      await r.set('real', '1');
      assert.equal(await r.call('FAKE'), 'OK');
      assert.equal(await r.get('real'), null);
      await r.call('PUT', 'k', 'v');
      assert.equal(await r.call('ASSERT', 'STORED', 'k', 'v'), 'OK');
      await assert.rejects(r.call('ASSERT', 'MISSING', 'k'), /assertion failed/);
      assert.equal(await r.call('FAKE', 'OFF'), 'OK');
      assert.equal(await r.get('real'), '1');
    });
  },

  async regularCommands(daemon) {
    await withClient(daemon, {connectionName: 'node-test'}, async (r) => {
      assert.equal(await r.set('s', 'v', 'EX', 100), 'OK');
      assert.equal(await r.set('s', 'w', 'NX'), null);
      assert.equal(await r.incr('c'), 1);
      assert.equal(await r.incrby('c', 9), 10);
      assert.equal(await r.expire('c', 50), 1);
      assert.ok((await r.pttl('c')) > 49000);
      assert.deepEqual(await r.mget('s', 'missing', 'c'), ['v', null, '10']);
      assert.equal(await r.exists('s', 'c', 'missing'), 2);
      assert.equal(await r.client('GETNAME'), 'node-test');
      assert.equal(await r.del('s', 'c'), 2);
      assert.equal(await r.dbsize(), 0);
    });
  },

  async scanStream(daemon) {
    await withClient(daemon, {}, async (r) => {
      const pipe = r.pipeline();
      for (let i = 0; i < 300; i++) pipe.set(`user:${i}`, i);
      await pipe.exec();
      const seen = new Set();
      await new Promise((resolve, reject) => {
        r.scanStream({match: 'user:*', count: 25})
            .on('data', (keys) => keys.forEach((k) => seen.add(k)))
            .on('end', resolve)
            .on('error', reject);
      });
      assert.equal(seen.size, 300);
    });
  },

  async pipelineAndMulti(daemon) {
    await withClient(daemon, {}, async (r) => {
      const pipe = r.pipeline();
      for (let i = 0; i < 1000; i++) pipe.call('PUT', `p:${i}`, `${i}`).get(`p:${i}`);
      const results = await pipe.exec();
      assert.equal(results.length, 2000);
      results.forEach(([err], i) => assert.equal(err, null, `reply ${i}`));
      assert.equal(results[1999][1], '999');
      const exec = await r.multi().set('t', '1').incr('t').call('PUT', 'u', 'v').get('t').exec();
      assert.deepEqual(exec, [[null, 'OK'], [null, 2], [null, 'OK'], [null, '2']]);
    });
  },

  async watchConflict(daemon) {
    const other = daemon.client();
    try {
      await withClient(daemon, {}, async (r) => {
        await r.set('balance', '10');
        await r.watch('balance');
        const current = Number(await r.get('balance'));
        await other.set('balance', '100');
        assert.equal(await r.multi().set('balance', String(current + 1)).exec(), null);
        assert.equal(await r.get('balance'), '100');
      });
    } finally {
      other.disconnect();
    }
  },

  async binaryValues(daemon) {
    await withClient(daemon, {}, async (r) => {
      const bytes = Buffer.from(Array.from({length: 256}, (_, i) => i));
      assert.equal(await r.set(Buffer.from('bin\0key'), bytes), 'OK');
      assert.ok(bytes.equals(await r.getBuffer(Buffer.from('bin\0key'))));
      const big = Buffer.alloc(4 * 1024 * 1024, 7);
      await r.call('PUT', 'big', big);
      assert.ok(big.equals(await r.getBuffer('big')));
    });
  },

  async authentication() {
    const daemon = await Daemon.start('[server]\npassword = "node-secret"\n');
    try {
      await withClient(daemon, {enableReadyCheck: false}, async (r) => {
        await assert.rejects(r.get('k'), /NOAUTH Authentication required/);
      });
      await withClient(daemon, {password: 'node-secret'}, async (r) => {
        assert.equal(await r.ping(), 'PONG');
      });
      await withClient(daemon, {password: 'wrong', lazyConnect: true}, async (r) => {
        // ioredis reports a failed AUTH handshake as an 'error' event, then closes.
        const failure = new Promise((resolve) => r.once('error', resolve));
        r.connect().catch(() => {});
        assert.match(String(await failure), /WRONGPASS invalid username-password pair/);
      });
    } finally {
      await daemon.stop();
      daemon.cleanup();
    }
  },
};

async function main() {
  let passed = 0;
  let failed = 0;
  const daemon = await Daemon.start();
  try {
    for (const [name, check] of Object.entries(checks)) {
      try {
        await withClient(daemon, {}, (r) => r.flushall());
        await check(daemon);
        passed++;
        console.log(`PASS ${name}`);
      } catch (error) {
        failed++;
        console.log(`FAIL ${name}\n${error.stack}`);
      }
    }
    const code = await daemon.stop();
    if (code !== 0) {
      failed++;
      console.log(`FAIL daemon exit code after SIGTERM: ${code}\n${daemon.log}`);
    }
  } finally {
    daemon.cleanup();
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

main().catch((error) => {
  console.log(`${error.stack}\n0 passed, 1 failed`);
  process.exitCode = 1;
});
