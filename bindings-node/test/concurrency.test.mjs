// Many calls at once: exact counts, exact half-open admission, no timers or native
// breakers left behind.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { CircuitBreaker, CircuitBreakerOpenError, CircuitState, ManualClock, circuitBreakerRegistry } from 'tripwire';

const require = createRequire(import.meta.url);
const packageDir = require.resolve('tripwire').replace(/[/\\]index\.js$/, '');
const native = require(`${packageDir}/native.js`);

afterEach(() => circuitBreakerRegistry.clear());

for (const timeout of [60_000, false]) {
test(`10,000 concurrent executes with mixed outcomes leave the counts exact (timeout: ${timeout})`, async () => {
  const breaker = new CircuitBreaker({ name: 'crowd', failureThreshold: 1_000_000, timeout });
  const N = 10_000;
  const settle = [];
  const runs = [];
  for (let i = 0; i < N; i++) {
    // Outcome by index: 0 success, 1 failure, 2 synchronous throw, 3 plain value; settled in a shuffled order.
    const kind = (i * 7919) % 4;
    runs.push(
      breaker.execute(() => {
        if (kind === 2) throw new Error(`sync ${i}`);
        if (kind === 3) return i;
        return new Promise((resolve, reject) => {
          settle.push(() => (kind === 0 ? resolve(i) : reject(new Error(`async ${i}`))));
        });
      }),
    );
  }
  // Settle the pending ones in a scrambled order (104729 is prime: a permutation).
  assert.notEqual(settle.length % 104729, 0);
  for (let k = 0; k < settle.length; k++) settle[(k * 104729) % settle.length]();
  const results = await Promise.allSettled(runs);
  const expectedOk = results.filter((_, i) => [0, 3].includes((i * 7919) % 4)).length;
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, expectedOk);
  const stats = breaker.getStats();
  assert.equal(stats.totalRequests, N);
  assert.equal(stats.successCount, expectedOk);
  assert.equal(stats.failureCount, N - expectedOk);
  assert.equal(stats.rejectedCount, 0);
  assert.equal(native.outstanding(breaker._id), 0, 'every permit was handed back');
  if (timeout !== false) assert.equal(breaker._flight.head, null, 'nothing left in flight');
});
}

for (const timeout of [60_000, false]) {
test(`failures in a row below the threshold count exactly, and the one that reaches it trips at once (timeout: ${timeout})`, async () => {
  const breaker = new CircuitBreaker({ name: 'row', failureThreshold: 50, timeout });
  const changes = [];
  let failed = 0;
  breaker.on('failure', () => failed++);
  breaker.on('stateChange', (from, to) => changes.push([to, failed]));
  const boom = () => Promise.reject(new Error('down'));
  for (let round = 0; round < 3; round++) {
    await Promise.all(Array.from({ length: 49 }, () => breaker.execute(boom).catch(() => {})));
    assert.equal(breaker.state, CircuitState.CLOSED);
    assert.equal(breaker.getStats().consecutiveFailures, 49);
    assert.equal(await breaker.execute(async () => 'ok'), 'ok');
    assert.equal(breaker.getStats().consecutiveFailures, 0, 'a success resets the failures in a row');
  }
  // 60 admitted while closed: the 50th failure trips (its transition comes before its
  // failure event), the 10 after it still count.
  failed = 0;
  const results = await Promise.all(Array.from({ length: 60 }, () => breaker.execute(boom).catch((error) => error.message)));
  assert.deepEqual(results, Array(60).fill('down'));
  assert.deepEqual(changes, [['OPEN', 49]]);
  const stats = breaker.getStats();
  assert.equal(stats.totalFailures, 3 * 49 + 60);
  assert.equal(stats.totalSuccesses, 3);
  await assert.rejects(breaker.execute(async () => 'refused'), CircuitBreakerOpenError);
});
}

test('under a failure rate, the failure that reaches it trips at once, whatever was queued before it', async () => {
  const clock = new ManualClock(0);
  const breaker = new CircuitBreaker({ name: 'rate', failureThreshold: 0.5, minimumRequests: 10, monitoringWindow: 10_000, timeout: 60_000, clock });
  const changes = [];
  let failed = 0;
  breaker.on('failure', () => failed++);
  breaker.on('stateChange', (from, to) => changes.push([to, failed]));
  await Promise.all(Array.from({ length: 20 }, () => breaker.execute(async () => 'ok')));
  clock.advance(100);
  // 20 successes: the 20th failure makes 20 of 40, 50 %.
  const results = await Promise.all(Array.from({ length: 30 }, () => breaker.execute(() => Promise.reject(new Error('down'))).catch((error) => error.message)));
  assert.deepEqual(results, Array(30).fill('down'));
  assert.deepEqual(changes, [['OPEN', 19]]);
  const stats = breaker.getStats();
  assert.equal(stats.totalFailures, 30);
  assert.equal(stats.totalSuccesses, 20);
});

test('half-open admits exactly halfOpenMaxCalls trials under concurrency', async () => {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker({ name: 'trials', failureThreshold: 1, recoveryTimeout: 100, halfOpenMaxCalls: 3, successThreshold: 3, clock });
  await breaker.execute(async () => { throw new Error('down'); }).catch(() => {});
  clock.advance(100);
  let started = 0;
  const release = [];
  const runs = Array.from({ length: 50 }, () =>
    breaker.execute(() => {
      started++;
      return new Promise((resolve) => release.push(resolve));
    }),
  );
  assert.equal(started, 3);
  release.forEach((r) => r('ok'));
  const results = await Promise.allSettled(runs);
  const refused = results.filter((r) => r.status === 'rejected');
  assert.equal(refused.length, 47);
  assert.ok(refused.every((r) => r.reason instanceof CircuitBreakerOpenError && r.reason.state === CircuitState.HALF_OPEN));
  assert.equal(breaker.getState(), CircuitState.CLOSED, 'three trial successes close it');
  assert.equal(breaker.getStats().rejectedCount, 47);
});

function runChild(source, extraArgs = []) {
  // The timeout only guards against a hang; the assertions are on the outcome.
  return spawnSync(process.execPath, [...extraArgs, '--input-type=commonjs', '-e', source], {
    cwd: packageDir,
    encoding: 'utf8',
    timeout: 120_000,
  });
}

test('a process with 1,000 idle breakers (and finished calls) exits on its own', () => {
  // One-hour call timeouts: a timer left referenced would hold the process for an
  // hour, and the spawn guard would kill it.
  const child = runChild(`
    const { CircuitBreaker } = require('./index.js');
    const breakers = Array.from({ length: 1000 }, (_, i) => new CircuitBreaker({ name: 'idle-' + i, timeout: 3600000 }));
    Promise.all(breakers.slice(0, 100).map((b) => b.execute(async () => 1))).then(() => {
      // Timers are released once the current run of promise jobs is over.
      process.nextTick(() => {
        const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
        console.log('done ' + timers);
      });
    });
  `);
  assert.equal(child.signal, null, `killed: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), 'done 0', 'no referenced timer once calls finish');
});

test('a call in flight times out even when nothing else holds the process', () => {
  // The breaker's timer is unref'd; once the event loop is otherwise empty, the calls
  // in flight hold the process until their timeout.
  const child = runChild(`
    const { CircuitBreaker } = require('./index.js');
    const breaker = new CircuitBreaker({ name: 'hangs', timeout: 300 });
    breaker.execute(() => new Promise(() => {})).catch((e) => console.log(e.name + ' ' + breaker.getStats().totalTimeouts));
  `);
  assert.equal(child.signal, null, `killed: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), 'CircuitBreakerTimeoutError 1');
});

test('a call that held the process releases it when it ends before its timeout', () => {
  // The function's own timer is unref'd, so only the call holds the process; once it
  // resolves, a one-hour call timeout must not keep the process (the spawn guard would kill it).
  const child = runChild(`
    const { CircuitBreaker } = require('./index.js');
    const breaker = new CircuitBreaker({ name: 'slow', timeout: 3600000 });
    const slow = () => new Promise((resolve) => setTimeout(() => resolve('done'), 100).unref());
    breaker.execute(slow).then((v) => console.log(v));
  `);
  assert.equal(child.signal, null, `killed: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), 'done');
});

test('a call that ends in a timer callback releases the process at once, not at its deadline', () => {
  // Settled as the loop runs its timers: the next turn must not wait in the poll for
  // the breaker's (unreferenced) one-hour timer (the spawn guard would kill it).
  const child = runChild(`
    const { CircuitBreaker } = require('./index.js');
    const breaker = new CircuitBreaker({ name: 'slept', timeout: 3600000 });
    breaker.execute(() => new Promise((resolve) => setTimeout(() => resolve('done'), 50))).then((v) => console.log(v));
  `);
  assert.equal(child.signal, null, `killed: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), 'done');
});

test('a worker thread is held by its call in flight until the timeout, then exits cleanly', () => {
  // In a child: a handle left open as a worker's loop closes aborts the whole process.
  const child = runChild(`
    const { Worker } = require('node:worker_threads');
    const source = [
      "const { CircuitBreaker } = require(require('node:worker_threads').workerData);",
      "const hangs = new CircuitBreaker({ name: 'hangs', timeout: 200 });",
      "const quick = new CircuitBreaker({ name: 'quick', timeout: 3600000 });",
      "quick.execute(async () => 1).then(() => hangs.execute(() => new Promise(() => {})))",
      "  .catch((e) => console.log(e.name + ' ' + hangs.getStats().totalTimeouts));",
    ].join('\\n');
    const started = Date.now();
    const worker = new Worker(source, { eval: true, workerData: require.resolve('./index.js') });
    worker.on('exit', (code) => console.log('exit ' + code + ' ' + (Date.now() - started < 60000)));
  `);
  assert.equal(child.signal, null, `killed: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(child.stdout.trim().split('\n'), ['CircuitBreakerTimeoutError 1', 'exit 0 true']);
});

test('native breakers are freed when their JS objects are collected', () => {
  const child = runChild(`
    const native = require('./native.js');
    const { CircuitBreaker, circuitBreakerRegistry } = require('./index.js');
    const before = native.liveBreakers();
    for (let i = 0; i < 2000; i++) new CircuitBreaker({ name: 'tmp-' + i });
    const made = native.liveBreakers() - before;
    circuitBreakerRegistry.clear();
    (async () => {
      for (let i = 0; i < 10 && native.liveBreakers() > before; i++) {
        globalThis.gc();
        await new Promise((r) => setImmediate(r));
      }
      console.log(made + ' ' + (native.liveBreakers() - before));
    })();
  `, ['--expose-gc']);
  assert.equal(child.status, 0, child.stderr);
  const [made, left] = child.stdout.trim().split(' ').map(Number);
  assert.equal(made, 2000);
  assert.equal(left, 0);
});

test('breakers work in worker threads, each with its own native state', async () => {
  const { Worker } = await import('node:worker_threads');
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { CircuitBreaker, CircuitState } = require(workerData);
    const b = new CircuitBreaker({ name: 'in-worker', failureThreshold: 2 });
    (async () => {
      await b.execute(async () => 1);
      for (let i = 0; i < 2; i++) await b.execute(async () => { throw new Error('x'); }).catch(() => {});
      const s = b.getStats();
      parentPort.postMessage([b.getState(), s.successCount, s.failureCount]);
    })();
  `;
  const run = () => new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData: `${packageDir}/index.js` });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const results = await Promise.all([run(), run()]);
  assert.deepEqual(results, [['OPEN', 1, 2], ['OPEN', 1, 2]]);
  // The main thread's breaker of the same name is untouched.
  const here = new CircuitBreaker({ name: 'in-worker' });
  assert.equal(here.getState(), CircuitState.CLOSED);
});

test('two copies of the package in one process (a test runner reloading modules) both stay exact', async () => {
  // Drop the package's modules from the require cache so the next require makes a
  // second instance of every one of them, addon loader included.
  const reload = () => {
    for (const key of Object.keys(require.cache)) if (key.startsWith(packageDir)) delete require.cache[key];
    return require(`${packageDir}/index.js`);
  };
  const first = require(`${packageDir}/index.js`);
  const second = reload();
  assert.notEqual(first.CircuitBreaker, second.CircuitBreaker);
  const ok = async () => 1;
  const boom = async () => {
    throw new Error('boom');
  };
  const check = async (copy, name, extra = 0) => {
    const breaker = new copy.CircuitBreaker({ name, failureThreshold: 2, timeout: false });
    for (let i = 0; i < 5 + extra; i++) await breaker.execute(ok);
    await breaker.execute(boom).catch(() => {});
    await breaker.execute(boom).catch(() => {});
    assert.equal(breaker.getState(), CircuitState.OPEN, name);
    await assert.rejects(breaker.execute(ok), { name: 'CircuitBreakerOpenError' });
    const stats = breaker.getStats();
    assert.deepEqual([stats.successCount, stats.failureCount, stats.rejectedCount], [5 + extra, 2, 1], name);
    return breaker;
  };
  const keep = [await check(first, 'copy-1'), await check(second, 'copy-2')];
  // Enough breakers in the second copy to replace the shared gates with a longer array.
  for (let i = 0; i < 300; i++) keep.push(new second.CircuitBreaker({ name: `copy-many-${i}` }));
  keep.push(await check(first, 'copy-3', 600), await check(second, 'copy-4', 600));
  // The resilience service reads the bulkhead's answers from shared memory too.
  for (const copy of [first, second, first]) {
    const service = new copy.CircuitBreakerService();
    const calls = Array.from({ length: 5 }, (_, i) => service.executeWithCircuitBreaker('copies', 'op', async () => i));
    assert.deepEqual(await Promise.all(calls), [0, 1, 2, 3, 4]);
  }
  first.circuitBreakerRegistry.clear();
  second.circuitBreakerRegistry.clear();
});

test('garbage in the memory shared with the addon cannot crash the process', () => {
  // The arrays are internal (shared.js), but nothing a JS program writes there may
  // make native code panic: at worst a breaker's counts are wrong.
  const child = runChild(`
    const native = require('./native.js');
    const { CircuitBreaker } = require('./index.js');
    const { shared } = require('./shared.js');
    const breaker = new CircuitBreaker({ name: 'garbage', timeout: false });
    const garbage = [NaN, -1, Infinity, -Infinity, 1e300, 2 ** 53, 4294967295, 0.5];
    (async () => {
      for (let round = 0; round < 50; round++) {
        for (let i = 0; i < shared.ring.length; i++) shared.ring[i] = garbage[(i * 7 + round) % garbage.length];
        for (let i = 0; i < shared.gates.length; i++) shared.gates[i] = garbage[(i * 3 + round) % garbage.length];
        shared.ring[0] = garbage[round % garbage.length];
        breaker.getStats();
        native.flush();
        await breaker.execute(async () => 1).catch(() => {});
        await breaker.execute(async () => { throw new Error('x'); }).catch(() => {});
      }
      shared.ring[0] = 0;
      console.log('alive ' + native.liveBreakers());
    })();
  `);
  assert.equal(child.signal, null, `killed: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  assert.match(child.stdout, /^alive \d+/);
});
