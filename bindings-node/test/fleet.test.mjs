// Fleet-wide breakers (issue 13) through the package, against a real redis-server
// started on a free loopback port (redis-helper.mjs) and real child processes
// (fleet-worker.cjs): trips propagate, exactly N trials fleet-wide, leases of killed
// holders expire, totals are exact, faults leave calls working, TRIPWIRE_STORE_URL
// adopts seed-style code, bad options name the option.
import { test, before, after } from 'node:test';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RedisServer, redisAvailable, until } from './redis-helper.mjs';

const require = createRequire(import.meta.url);
const { CircuitBreaker, CircuitBreakerOpenError, CircuitBreakerService, RedisStore, createCircuitBreaker, circuitBreakerRegistry, createLogger, setLogger } = require('tripwire');
const native = require('../native.js');
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const WORKER = fileURLToPath(new URL('./fleet-worker.cjs', import.meta.url));
const skip = redisAvailable ? false : 'redis-server is not installed (bash scripts/setup-redis.sh)';

let server;
before(async () => {
  if (!skip) server = await RedisServer.start();
});
const children = [];
after(async () => {
  // A failed test leaves its workers: kill them (by pid) so that the run ends.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (server) await server.stop();
});

let names = 0;
const fresh = (what) => `${what}-${process.pid}-${++names}`;

/** A child process holding its own store; `ask(op, args)` resolves with its answer. */
function worker(env = {}) {
  const child = spawn(process.execPath, [WORKER], {
    env: { ...process.env, FLEET_WORKER_URL: server.url, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  const waiting = new Map();
  const events = [];
  let next = 0;
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line);
    if (message.event !== undefined) events.push(message);
    else if (message.started) waiting.get(`${message.id}:started`)?.();
    else {
      const { resolve, reject } = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve(message.result);
    }
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return {
    child,
    events,
    exited,
    ask(op, args = {}) {
      const id = ++next;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        child.stdin.write(`${JSON.stringify({ id, op, ...args })}\n`);
      });
    },
    /** Starts a trial that holds its slot: { started, done } (started: it runs). */
    trial(name) {
      const id = ++next;
      let started;
      const running = new Promise((resolve) => { started = resolve; });
      waiting.set(`${id}:started`, () => started(true));
      const done = new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        child.stdin.write(`${JSON.stringify({ id, op: 'trial', name })}\n`);
      });
      done.then((r) => { if (!r.ran) started(false); }, () => {});
      return { started: running, done };
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        await this.ask('close');
        child.kill();
      }
      await exited;
    },
  };
}

const TRIP = { failureThreshold: 3, resetTimeout: 60000 };

test('a trip in one process is a refusal in the other', { skip }, async () => {
  const name = fresh('trip');
  const [a, b] = [worker(), worker()];
  assert.equal(await a.ask('make', { name, options: TRIP }), 'shared');
  assert.equal(await b.ask('make', { name, options: TRIP }), 'shared');
  await until(async () => (await b.ask('stats', { name })).lastSyncAge !== null);
  assert.deepEqual(await a.ask('run', { name, outcome: 'failure', count: 3 }), { ran: 3, refused: 0 });
  assert.equal(await a.ask('state', { name }), 'OPEN');
  // B learns it in the background (pub/sub), then refuses without running anything
  // (from its event on: see the service test below).
  await until(() => b.events.some((e) => e.name === name && e.to === 'OPEN'));
  assert.deepEqual(await b.ask('run', { name, outcome: 'success', count: 2 }), { ran: 0, refused: 2 });
  assert.ok(b.events.some((e) => e.from === 'CLOSED' && e.to === 'OPEN'), 'B emitted the adopted transition');
  await Promise.all([a.stop(), b.stop()]);
});

test('a trip found in the background shuts the quiet path at once: once getState() says OPEN, no call runs', { skip }, async () => {
  // Two stores (two members of the fleet) in this process. The store's thread adopts
  // the trip while the event loop is busy (a synchronous wait on getState()), so its
  // event has not reached JS yet: the next call must still be refused.
  const [mine, other] = [new RedisStore({ url: server.url, flushInterval: 10 }), new RedisStore({ url: server.url, flushInterval: 10 })];
  const name = fresh('gate');
  const breaker = new CircuitBreaker({ name, store: mine, ...TRIP });
  const elsewhere = new CircuitBreaker({ name, store: other, ...TRIP });
  await until(() => breaker.getStats().lastSyncAge !== null && elsewhere.getStats().lastSyncAge !== null);
  assert.equal(await breaker.execute(async () => 'quiet'), 'quiet');
  for (let i = 0; i < 3; i++) await elsewhere.execute(async () => { throw new Error('boom'); }).catch(() => {});
  const deadline = Date.now() + 10_000;
  while (breaker.getState() !== 'OPEN') assert.ok(Date.now() < deadline, 'the trip never reached this member');
  let ran = false;
  const answer = await breaker.execute(async () => { ran = true; }).catch((e) => e);
  assert.ok(answer instanceof CircuitBreakerOpenError, `admitted: ${answer}`);
  assert.equal(ran, false);
  await Promise.all([mine.close(), other.close()]);
});

test('halfOpenMaxCalls: 1 with both processes asking at once runs exactly one trial; a killed holder frees its slot after the lease TTL', { skip }, async () => {
  const name = fresh('trial');
  const options = { failureThreshold: 1, resetTimeout: 200, halfOpenMaxCalls: 1, successThreshold: 1 };
  const env = { FLEET_WORKER_LEASE_TTL: '1500' };
  const [a, b] = [worker(env), worker(env)];
  await a.ask('make', { name, options });
  await b.ask('make', { name, options });
  await a.ask('run', { name, outcome: 'failure', count: 1 });
  await until(async () => (await b.ask('state', { name })) !== 'CLOSED');
  await until(async () => (await a.ask('state', { name })) === 'HALF_OPEN' && (await b.ask('state', { name })) === 'HALF_OPEN');
  // Both ask at once: one lease fleet-wide.
  const [ta, tb] = [a.trial(name), b.trial(name)];
  const started = await Promise.all([ta.started, tb.started]);
  assert.equal(started.filter(Boolean).length, 1, `exactly one trial ran: ${started}`);
  const [holder, other] = started[0] ? [a, b] : [b, a];
  const refusedTrial = started[0] ? tb : ta;
  assert.deepEqual(await refusedTrial.done, { ran: false, refused: true });
  // The holder dies mid-trial: its slot comes back once its lease expires, not before
  // (the other's attempts are refused meanwhile), and then exactly one trial runs again.
  holder.child.kill('SIGKILL');
  await holder.exited;
  let refusals = 0;
  for (;;) {
    const t = other.trial(name);
    if (await t.started) {
      await other.ask('release');
      assert.deepEqual(await t.done, { ran: true, refused: false });
      break;
    }
    refusals += 1;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(refusals > 0, 'the dead holder kept its slot until its lease expired');
  assert.equal(await other.ask('state', { name }), 'CLOSED');
  await other.stop();
});

test('CircuitBreakerService({ store }): a service breaker trips fleet-wide, and exactly one trial runs across processes', { skip }, async () => {
  const name = fresh('service');
  // resetTimeout leaves B time to see the trip and be refused on a loaded machine (CI
  // half-opened a 200 ms breaker before B's call ran).
  const options = { failureThreshold: 2, resetTimeout: 2000, halfOpenMaxCalls: 1, successThreshold: 1 };
  const [a, b] = [worker(), worker()];
  assert.equal(await a.ask('make', { name, options, service: true }), 'shared');
  assert.equal(await b.ask('make', { name, options, service: true }), 'shared');
  assert.deepEqual(await a.ask('run', { name, outcome: 'failure', count: 2 }), { ran: 2, refused: 0 });
  // The trip made by A's service is a refusal by B's, without B's function running
  // (after B's event: that B emitted it is checked too).
  await until(() => b.events.some((e) => e.name === name && e.to === 'OPEN'));
  assert.deepEqual(await b.ask('run', { name, outcome: 'success', count: 1 }), { ran: 0, refused: 1 });
  await until(async () => (await a.ask('state', { name })) === 'HALF_OPEN' && (await b.ask('state', { name })) === 'HALF_OPEN');
  // Both services ask at once: one lease fleet-wide.
  const [ta, tb] = [a.trial(name), b.trial(name)];
  const started = await Promise.all([ta.started, tb.started]);
  assert.equal(started.filter(Boolean).length, 1, `exactly one trial ran: ${started}`);
  const [holder, other] = started[0] ? [a, b] : [b, a];
  assert.deepEqual(await (started[0] ? tb : ta).done, { ran: false, refused: true });
  await holder.ask('release');
  assert.deepEqual(await (started[0] ? ta : tb).done, { ran: true, refused: false });
  await until(async () => (await other.ask('state', { name })) === 'CLOSED');
  assert.equal(await holder.ask('state', { name }), 'CLOSED');
  const stats = await other.ask('stats', { name });
  assert.equal(stats.mode, 'shared');
  await Promise.all([a.stop(), b.stop()]);
});

test('counts after P processes × M outcomes equal the sum exactly', { skip }, async () => {
  const name = fresh('counts');
  const options = { failureThreshold: 100000, countWindow: 1000 };
  const P = 3;
  const M = 40;
  const workers = Array.from({ length: P }, () => worker());
  for (const w of workers) await w.ask('make', { name, options });
  await Promise.all(workers.map((w, i) => w.ask('run', { name, outcome: i === 0 ? 'failure' : 'success', count: M })));
  await Promise.all(workers.map((w) => w.stop()));
  const store = new RedisStore({ url: server.url });
  const reader = new CircuitBreaker({ name, store, ...options });
  await until(() => reader.getStats().lastSyncAge !== null);
  const totals = reader.getStats().fleetTotals;
  assert.equal(totals.successes, (P - 1) * M);
  assert.equal(totals.failures, M);
  await store.close();
});

test('redis SIGSTOP/SIGCONT: calls keep working in local mode, storeDown/storeUp once per episode, the fleet adopted again', { skip }, async () => {
  const name = fresh('stop');
  const store = new RedisStore({ url: server.url, flushInterval: 10, timeout: 50, pollInterval: 100 });
  const seen = [];
  store.on('storeDown', (e) => seen.push(['down', e.message]));
  store.on('storeUp', () => seen.push(['up']));
  const breaker = new CircuitBreaker({ name, store, ...TRIP });
  const breakerSeen = [];
  breaker.on('storeDown', () => breakerSeen.push('down'));
  breaker.on('storeUp', () => breakerSeen.push('up'));
  await until(() => breaker.getStats().lastSyncAge !== null);
  server.pause();
  try {
    let calls = 0;
    while (breaker.getStats().mode !== 'local') {
      assert.equal(await breaker.execute(async () => 'ok'), 'ok');
      calls += 1;
      await new Promise((r) => setTimeout(r, 5));
    }
    for (let i = 0; i < 20; i++) assert.equal(await breaker.execute(async () => 'ok'), 'ok');
    assert.ok(calls > 0);
  } finally {
    server.resume();
  }
  await until(() => breaker.getStats().mode === 'shared' && seen.length === 2);
  assert.deepEqual(seen.map((e) => e[0]), ['down', 'up']);
  assert.match(seen[0][1], /timed out|timeout/);
  await until(() => breakerSeen.length === 2);
  assert.deepEqual(breakerSeen, ['down', 'up']);
  // Shared again: a trip elsewhere reaches this process.
  const other = new RedisStore({ url: server.url, flushInterval: 10 });
  const elsewhere = new CircuitBreaker({ name, store: other, ...TRIP });
  await until(() => elsewhere.getStats().lastSyncAge !== null);
  // Waiting for 'circuitOpened' checks that the event comes too.
  const opened = once(breaker, 'circuitOpened');
  for (let i = 0; i < 3; i++) await elsewhere.execute(async () => { throw new Error('boom'); }).catch(() => {});
  await opened;
  assert.equal(breaker.getState(), 'OPEN');
  assert.ok((await breaker.execute(async () => 1).catch((e) => e)) instanceof CircuitBreakerOpenError);
  await Promise.all([store.close(), other.close()]);
});

test('one log line per outage episode of a store, down and up, however many breakers it serves (redis SIGSTOPped)', { skip }, async () => {
  const lines = [];
  const previous = setLogger(createLogger({ service: 'fleet-test', level: 'debug', destination: { write: (l) => lines.push(JSON.parse(l)) } }));
  const store = new RedisStore({ url: server.url, flushInterval: 10, timeout: 50, pollInterval: 100 });
  try {
    const breakers = Array.from({ length: 4 }, (_, i) => new CircuitBreaker({ name: fresh(`log-${i}`), store, ...TRIP }));
    await until(() => breakers.every((b) => b.getStats().lastSyncAge !== null));
    const heard = [];
    for (const b of breakers) b.on('storeDown', () => heard.push(b.name));
    server.pause();
    try {
      while (!breakers.every((b) => b.getStats().mode === 'local')) {
        for (const b of breakers) assert.equal(await b.execute(async () => 'ok'), 'ok');
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      server.resume();
    }
    await until(() => breakers.every((b) => b.getStats().mode === 'shared') && lines.some((l) => l.event === 'storeUp'));
    // Each breaker's listeners heard it; the log has one line each way.
    await until(() => heard.length === breakers.length);
    const outage = lines.filter((l) => l.event === 'storeDown' || l.event === 'storeUp');
    assert.deepEqual(outage.map((l) => [l.level, l.event]), [['warn', 'storeDown'], ['info', 'storeUp']]);
    assert.match(outage[0].message, /fleet store unreachable \(.*(timed out|timeout).*\)/);
  } finally {
    setLogger(previous);
    await store.close();
  }
});

test('redis kill -9 and restart: calls keep working, one storeDown/storeUp, state re-adopted after recovery', { skip }, async () => {
  const name = fresh('crash');
  const store = new RedisStore({ url: server.url, flushInterval: 10, timeout: 50, pollInterval: 100 });
  const seen = [];
  store.on('storeDown', () => seen.push('down'));
  store.on('storeUp', () => seen.push('up'));
  const breaker = new CircuitBreaker({ name, store, ...TRIP });
  await until(() => breaker.getStats().lastSyncAge !== null);
  await server.crash();
  while (breaker.getStats().mode !== 'local') {
    assert.equal(await breaker.execute(async () => 'ok'), 'ok');
    await new Promise((r) => setTimeout(r, 5));
  }
  for (let i = 0; i < 20; i++) assert.equal(await breaker.execute(async () => 'ok'), 'ok');
  await server.launch();
  await until(() => breaker.getStats().mode === 'shared');
  await until(() => seen.length === 2);
  assert.deepEqual(seen, ['down', 'up']);
  const other = new RedisStore({ url: server.url, flushInterval: 10 });
  const elsewhere = new CircuitBreaker({ name, store: other, ...TRIP });
  await until(() => elsewhere.getStats().lastSyncAge !== null);
  for (let i = 0; i < 3; i++) await elsewhere.execute(async () => { throw new Error('boom'); }).catch(() => {});
  await until(() => breaker.getState() === 'OPEN');
  await Promise.all([store.close(), other.close()]);
});

test('TRIPWIRE_STORE_URL: seed-style code (createCircuitBreaker, no store option) runs fleet-wide', { skip }, async () => {
  const name = fresh('env');
  const env = { FLEET_WORKER_ENV: '1', TRIPWIRE_STORE_URL: server.url };
  const [a, b] = [worker(env), worker(env)];
  assert.equal(await a.ask('make', { name, options: TRIP, seed: true }), 'shared');
  assert.equal(await b.ask('make', { name, options: TRIP, seed: true }), 'shared');
  await until(async () => (await b.ask('stats', { name })).lastSyncAge !== null);
  await a.ask('run', { name, outcome: 'failure', count: 3 });
  await until(async () => (await b.ask('state', { name })) === 'OPEN');
  await Promise.all([a.stop(), b.stop()]);
  // Explicitly local, and without the variable: local breakers as before.
  const local = new CircuitBreaker({ name, store: null });
  assert.equal(local.getStats().mode, undefined);
  assert.equal(createCircuitBreaker(fresh('plain')).getStats().mode, undefined);
});

test('a fleet whose trip rules differ: an error naming the option, the breaker stays local', { skip }, async () => {
  const name = fresh('fingerprint');
  const [s1, s2] = [new RedisStore({ url: server.url }), new RedisStore({ url: server.url })];
  const first = new CircuitBreaker({ name, store: s1, failureThreshold: 3 });
  await until(() => first.getStats().lastSyncAge !== null);
  const second = new CircuitBreaker({ name, store: s2, failureThreshold: 4 });
  const error = await new Promise((resolve) => second.once('error', resolve));
  assert.equal(error.code, 'ERR_TRIPWIRE_FLEET_CONFIG');
  assert.equal(error.option, 'failureThreshold');
  // The core's message, with the option as JS spells it.
  assert.match(error.message, /^tripwire: breaker '.*': option `failureThreshold` differs from the fleet's: this process has 4, the fleet 3;/);
  assert.equal(second.getStats().mode, 'local');
  await Promise.all([s1.close(), s2.close()]);
});

test('shared breakers nobody holds are collected and leave the store, with listeners attached: memory follows the live names', { skip }, async () => {
  // The registry holds breakers by name up to its capacity: a small one evicts them.
  const capacity = circuitBreakerRegistry.capacity;
  circuitBreakerRegistry.capacity = 50;
  const store = new RedisStore({ url: server.url, flushInterval: 10 });
  const storeSize = () => Object.getOwnPropertySymbols(store).map((k) => store[k]).find((v) => v instanceof native.NativeStore).size();
  const live = native.liveBreakers();
  const names = fresh('many');
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 500; i++) {
      const breaker = new CircuitBreaker({ name: `${names}-${round}-${i}`, store, failureThreshold: 3 });
      // Listeners and a call: the background event path must not keep it alive.
      breaker.on('stateChange', () => {});
      breaker.on('storeDown', () => {});
      await breaker.execute(async () => 1);
    }
    // Collected, released (native), and gone from the store at its next flush round.
    await until(async () => {
      gc();
      await new Promise((r) => setImmediate(r));
      return native.liveBreakers() <= live + 50 && storeSize() <= 50;
    }, 20);
  }
  circuitBreakerRegistry.capacity = capacity;
  await store.close();
});

test('checkRules: false: a breaker whose rules differ joins and applies its own rules to the fleet\'s counts', { skip }, async () => {
  const name = fresh('lenient');
  const [strict, lenient] = [new RedisStore({ url: server.url, flushInterval: 10 }), new RedisStore({ url: server.url, flushInterval: 10, checkRules: false })];
  const first = new CircuitBreaker({ name, store: strict, failureThreshold: 5 });
  await until(() => first.getStats().lastSyncAge !== null);
  const second = new CircuitBreaker({ name, store: lenient, failureThreshold: 2 });
  const errors = [];
  second.on('error', (e) => errors.push(e));
  await until(() => second.getStats().lastSyncAge !== null);
  assert.equal(second.getStats().mode, 'shared');
  await first.execute(async () => { throw new Error('boom'); }).catch(() => {});
  await until(() => second.getStats().fleetTotals.failures === 1);
  // Its own threshold (2) over the fleet's consecutive failures: it trips the fleet.
  const opened = once(first, 'circuitOpened');
  await second.execute(async () => { throw new Error('boom'); }).catch(() => {});
  assert.equal(second.getState(), 'OPEN');
  await opened;
  assert.deepEqual(errors, []);
  await Promise.all([strict.close(), lenient.close()]);
});

test('bad store options are errors naming the option', { skip }, () => {
  const url = server.url;
  assert.throws(() => new RedisStore({ url, checkRules: 'no' }), { name: 'TypeError', message: /`checkRules`.*boolean/ });
  assert.throws(() => new RedisStore(), { name: 'TypeError', message: /options must be an object/ });
  assert.throws(() => new RedisStore({}), { name: 'TypeError', message: /`url`.*required/ });
  assert.throws(() => new RedisStore({ url, flushIntervall: 5 }), { name: 'TypeError', message: /`flushIntervall`.*did you mean `flushInterval`/ });
  assert.throws(() => new RedisStore({ url, timeout: '100' }), { name: 'TypeError', message: /`timeout`.*number of milliseconds, not a string/ });
  assert.throws(() => new RedisStore({ url, timeout: 0 }), { name: 'RangeError', message: /`timeout`/ });
  assert.throws(() => new RedisStore({ url, pollInterval: -1 }), { name: 'RangeError', message: /`pollInterval`/ });
  assert.throws(() => new RedisStore({ url, leaseTtl: 0 }), { name: 'RangeError', message: /`leaseTtl`/ });
  assert.throws(() => new RedisStore({ url, prefix: 'a{b' }), { name: 'RangeError', message: /`prefix`/ });
  assert.throws(() => new RedisStore({ url: 'rediss://secret@host' }), (e) => e.name === 'RangeError' && /`url`/.test(e.message) && !/secret/.test(e.message));
  assert.throws(() => new CircuitBreaker({ name: 'x', store: {} }), { name: 'TypeError', message: /`store`: must be a RedisStore/ });
  const store = new RedisStore({ url });
  assert.throws(() => new CircuitBreaker({ name: 'x', store, clock: () => 0 }), { name: 'TypeError', message: /`clock`/ });
  assert.throws(() => new CircuitBreaker({ name: 'a{b}', store }), { name: 'RangeError', message: /`name`/ });
  // CircuitBreakerService's `store`: the same checks; a name the store refuses makes no breaker.
  assert.throws(() => new CircuitBreakerService({ store: 'redis://x' }), { name: 'TypeError', message: /`store`: must be a RedisStore/ });
  assert.throws(() => new CircuitBreakerService({ stor: store }), { name: 'TypeError', message: /`stor`.*did you mean `store`/ });
  assert.throws(() => new CircuitBreakerService({ store, clock: { now: () => 0 } }), { name: 'TypeError', message: /`clock`/ });
  const service = new CircuitBreakerService({ store });
  for (let i = 0; i < 2; i++) {
    assert.throws(() => service.getCircuitBreaker('a{b}', 'op'), { name: 'RangeError', message: /`name`/ });
  }
  assert.deepEqual(Object.keys(service.getAllCircuitBreakerStats()), []);
});

test('a bad TRIPWIRE_STORE_URL names the variable', { skip }, async () => {
  const child = spawn(process.execPath, ['-e', "const { CircuitBreaker } = require('tripwire'); try { new CircuitBreaker({ name: 'x' }); } catch (e) { console.log(e.name + ': ' + e.message); }"], {
    env: { ...process.env, TRIPWIRE_STORE_URL: 'http://nope' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  await new Promise((resolve) => child.on('exit', resolve));
  assert.match(out, /RangeError: .*TRIPWIRE_STORE_URL/);
});
