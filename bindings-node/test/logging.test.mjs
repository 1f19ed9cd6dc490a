// tripwire's own logging through the public API: the structured JSON logger as
// tripwire's logger (setLogger(), TRIPWIRE_LOG=1, a breaker's / service's / control
// API's `logger`), one line per transition (breaker, from, to, cause), per control-API
// mutation (never the token) and per store outage (storeDown / storeUp, emitted here
// synthetically: the fleet store emits them). Lines are captured and parsed as JSON.
import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { EventEmitter } from 'node:events';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as tripwire from 'tripwire';
import * as aws from 'tripwire/aws';
import { serve } from 'tripwire/control';

const {
  CircuitBreaker, CircuitBreakerService, ManualClock, createLogger, StructuredLogger, logger, setLogger, getLogger, logStoreEvents,
} = tripwire;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const uid = () => Math.random().toString(36).slice(2, 10);

/** A logger writing into an array; entries() parses every line. */
function sink(options = {}) {
  const lines = [];
  const log = createLogger({ service: 'test-svc', level: 'debug', ...options, destination: { write: (s) => lines.push(s) } });
  return { log, lines, entries: () => lines.map((l) => JSON.parse(l)) };
}

const fail = async () => {
  throw new Error('upstream down');
};

afterEach(() => setLogger(null));

describe('the logger lives in the main package', () => {
  test('tripwire and tripwire/aws export the same logger, class and factory', () => {
    assert.equal(aws.logger, logger);
    assert.equal(aws.StructuredLogger, StructuredLogger);
    assert.equal(aws.createLogger, createLogger);
    assert.equal(require('tripwire').logger, require('tripwire/aws').logger);
    assert.ok(logger instanceof StructuredLogger);
  });
});

describe('breaker transitions', () => {
  test('setLogger(): every breaker without a logger of its own logs open, half-open, closed with their cause', async () => {
    const out = sink();
    assert.equal(setLogger(out.log), null);
    assert.equal(getLogger(), out.log);
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: `tx-${uid()}`, failureThreshold: 2, resetTimeout: 1000, successThreshold: 1, timeout: false, clock });
    await breaker.execute(async () => 1); // a success logs nothing
    await assert.rejects(breaker.execute(fail));
    assert.equal(out.lines.length, 0);
    await assert.rejects(breaker.execute(fail));
    clock.advance(1000);
    await breaker.execute(async () => 2);
    breaker.open();
    breaker.reset();
    const lines = out.entries();
    assert.deepEqual(lines.map((l) => [l.level, l.from, l.to, l.cause, l.outcome]), [
      ['warn', 'CLOSED', 'OPEN', 'tripped', 'failure'],
      ['info', 'OPEN', 'HALF_OPEN', 'openElapsed', undefined],
      ['info', 'HALF_OPEN', 'CLOSED', 'trialsSucceeded', 'success'],
      ['warn', 'CLOSED', 'OPEN', 'forcedOpen', undefined],
      ['info', 'OPEN', 'CLOSED', 'reset', undefined],
    ]);
    for (const l of lines) {
      assert.deepEqual(Object.keys(l).slice(0, 4), ['timestamp', 'level', 'message', 'service']);
      assert.equal(l.service, 'test-svc');
      assert.equal(l.event, 'transition');
      assert.equal(l.breaker, breaker.name);
    }
    assert.match(lines[0].message, /opened/);
    // Off again: nothing more.
    assert.equal(setLogger(null), out.log);
    breaker.open();
    assert.equal(out.lines.length, 5);
  });

  test('the outcome that tripped it: a timeout, a slow call; a failed trial', async () => {
    const out = sink();
    setLogger(out.log);
    const timed = new CircuitBreaker({ name: `to-${uid()}`, failureThreshold: 1, timeout: 5 });
    await assert.rejects(timed.execute(() => new Promise((resolve) => setTimeout(resolve, 200))));
    const clock = new ManualClock();
    const slow = new CircuitBreaker({ name: `slow-${uid()}`, failureThreshold: 1, slowCallDuration: 10, timeout: false, clock });
    await slow.execute(async () => clock.advance(50));
    clock.advance(60_000);
    await assert.rejects(slow.execute(fail));
    assert.deepEqual(out.entries().map((l) => [l.breaker, l.cause, l.outcome]), [[timed.name, 'tripped', 'timeout'], [slow.name, 'tripped', 'slowCall'], [slow.name, 'openElapsed', undefined], [slow.name, 'trialFailed', 'failure']]);
  });

  test("a breaker's own logger (seed 002's second argument) wins; its lines carry the same fields", async () => {
    const global = sink();
    const own = sink();
    setLogger(global.log);
    const breaker = new CircuitBreaker({ name: `own-${uid()}`, failureThreshold: 1, timeout: false }, own.log);
    await assert.rejects(breaker.execute(fail));
    assert.equal(global.lines.length, 0);
    const transition = own.entries().find((l) => l.event === 'transition');
    assert.deepEqual([transition.from, transition.to, transition.cause], ['CLOSED', 'OPEN', 'tripped']);
  });

  test('manual operations log the core\'s cause of each (carried by the transition code)', () => {
    const out = sink();
    const breaker = new CircuitBreaker({ name: `manual-${uid()}`, failureThreshold: 1, timeout: false }, out.log);
    breaker.trip();
    breaker.forceHalfOpen();
    breaker.close();
    breaker.open();
    breaker.reset();
    const lines = out.entries().filter((l) => l.event === 'transition');
    assert.deepEqual(lines.map((l) => [l.from, l.to, l.cause, l.outcome]), [
      ['CLOSED', 'OPEN', 'opened', undefined],
      ['OPEN', 'HALF_OPEN', 'halfOpened', undefined],
      ['HALF_OPEN', 'CLOSED', 'closed', undefined],
      ['CLOSED', 'OPEN', 'forcedOpen', undefined],
      ['OPEN', 'CLOSED', 'reset', undefined],
    ]);
  });

  test('a logger that throws never breaks the call; a bad logger is a TypeError naming it', async () => {
    setLogger({ info() { throw new Error('disk full'); }, warn() { throw new Error('disk full'); } });
    const breaker = new CircuitBreaker({ name: `throwing-${uid()}`, failureThreshold: 1, timeout: false });
    await assert.rejects(breaker.execute(fail), /upstream down/);
    assert.equal(breaker.state, 'OPEN');
    assert.throws(() => setLogger(42), (e) => e instanceof TypeError && /`logger`/.test(e.message));
    assert.throws(() => setLogger({ info() {} }), (e) => e instanceof TypeError && /warn\(\)/.test(e.message));
  });

  test('TRIPWIRE_LOG=1 makes the JSON logger (stdout, LOG_LEVEL) tripwire\'s own', () => {
    const script = `
      const { CircuitBreaker } = require('tripwire');
      const b = new CircuitBreaker({ name: 'env-logged', failureThreshold: 1, timeout: false });
      b.execute(async () => { throw new Error('x'); }).catch(() => { b.close(); });`;
    const run = (env) => spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SERVICE_NAME: 'orders', ...env } });
    const on = run({ TRIPWIRE_LOG: '1', LOG_LEVEL: 'info' });
    assert.equal(on.status, 0, on.stderr);
    const lines = on.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.level, l.to, l.cause, l.service, l.breaker]), [
      ['warn', 'OPEN', 'tripped', 'orders', 'env-logged'],
      ['info', 'CLOSED', 'closed', 'orders', 'env-logged'],
    ]);
    const warnOnly = run({ TRIPWIRE_LOG: '1', LOG_LEVEL: 'warn' });
    assert.deepEqual(warnOnly.stdout.trim().split('\n').map((l) => JSON.parse(l).to), ['OPEN']);
    const off = run({ TRIPWIRE_LOG: '0' });
    assert.equal(off.stdout, '');
  });
});

describe('CircuitBreakerService', () => {
  test('its `logger` option logs its breakers\' transitions; a typo is a TypeError with "did you mean"', async () => {
    const out = sink();
    const svc = new CircuitBreakerService({ logger: out.log, services: { pay: { config: { failureThreshold: 1 }, retryPolicy: { maxAttempts: 1 } } } });
    await assert.rejects(svc.executeWithCircuitBreaker('pay', 'charge', fail));
    svc.resetCircuitBreaker('pay', 'charge');
    const lines = out.entries().filter((l) => l.event === 'transition');
    assert.deepEqual(lines.map((l) => [l.from, l.to, l.cause, l.outcome]), [['CLOSED', 'OPEN', 'tripped', 'failure'], ['OPEN', 'CLOSED', 'reset', undefined]]);
    assert.match(lines[0].breaker, /pay/);
    assert.throws(() => new CircuitBreakerService({ loger: out.log }), (e) => e instanceof TypeError && /did you mean `logger`/.test(e.message));
    assert.throws(() => new CircuitBreakerService({ logger: 'stdout' }), (e) => e instanceof TypeError && /`logger`/.test(e.message));
  });
});

/** One request to the control server; resolves the status. */
function post(port, urlPath, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: urlPath, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('control API', () => {
  test('every mutation logs its action, breaker and outcome; refused ones too; the token never appears', async () => {
    const out = sink();
    const svc = new CircuitBreakerService({ services: { db: { config: { failureThreshold: 1 } } } });
    await svc.executeWithCircuitBreaker('db', 'query', async () => 1);
    const token = `tok-${uid()}-secret`;
    const server = await serve({ service: svc, token, logger: out.log });
    try {
      assert.equal(await post(server.port, '/api/circuit-breaker/force-open/db/query', { authorization: `Bearer ${token}` }), 200);
      assert.equal(await post(server.port, '/api/circuit-breaker/reset/db', { authorization: 'Bearer wrong' }), 401);
      assert.equal(await post(server.port, '/api/circuit-breaker/reset/db', { authorization: `Bearer ${token}` }), 200);
    } finally {
      await server.close();
    }
    const control = out.entries().filter((l) => l.event === 'control');
    assert.deepEqual(control.map((l) => [l.level, l.action, l.serviceName, l.operation, l.status, l.ok]), [
      ['info', 'force-open', 'db', 'query', 200, true],
      ['warn', 'refused', undefined, undefined, 401, false],
      ['info', 'reset', 'db', undefined, 200, true],
    ]);
    assert.equal(control[1].path, '/api/circuit-breaker/reset/db');
    assert.ok(out.lines.every((l) => !l.includes(token) && !l.includes('wrong')), 'no token in the log');
  });

  test('without a `logger` option it logs through setLogger()\'s', async () => {
    const out = sink();
    setLogger(out.log);
    const svc = new CircuitBreakerService();
    await svc.executeWithCircuitBreaker('inv', 'get', async () => 1);
    const server = await serve({ service: svc, token: 't0k' });
    try {
      assert.equal(await post(server.port, '/api/circuit-breaker/reset/inv/get', { authorization: 'Bearer t0k' }), 200);
    } finally {
      await server.close();
    }
    assert.deepEqual(out.entries().filter((l) => l.event === 'control').map((l) => [l.action, l.serviceName, l.operation]), [['reset', 'inv', 'get']]);
    await assert.rejects(serve({ service: svc, logger: 3 }), (e) => e instanceof TypeError && /`logger`/.test(e.message));
  });
});

describe('store outages (the fleet store emits storeDown / storeUp)', () => {
  test('on a breaker: its listeners hear storeDown / storeUp, the store logs the outage (a breaker logs nothing)', () => {
    const out = sink();
    setLogger(out.log);
    const breaker = new CircuitBreaker({ name: `shared-${uid()}`, timeout: false });
    let heard = 0;
    breaker.on('storeDown', () => heard++);
    breaker.emit('storeDown', { error: new Error('ECONNREFUSED 127.0.0.1:6379') });
    breaker.emit('storeUp', {});
    breaker.emit('storeDown', {});
    assert.equal(heard, 2);
    assert.deepEqual(out.entries(), []);
  });

  test('on a store: logStoreEvents(store) subscribes, one line per outage, until stopped', () => {
    const out = sink();
    const store = Object.assign(new EventEmitter(), { name: 'redis://127.0.0.1:6379' });
    const stop = logStoreEvents(store, out.log);
    store.emit('storeUp'); // up while up: nothing
    store.emit('storeDown', { error: new Error('timeout') });
    store.emit('storeDown', {});
    store.emit('storeUp');
    stop();
    store.emit('storeDown', {});
    const lines = out.entries();
    assert.deepEqual(lines.map((l) => [l.level, l.event, l.store]), [['warn', 'storeDown', store.name], ['info', 'storeUp', store.name]]);
    assert.match(lines[0].error, /timeout/);
    assert.match(lines[0].message, /fleet store 'redis:\/\/127\.0\.0\.1:6379' unreachable \(timeout\)/);
    assert.throws(() => logStoreEvents({}), (e) => e instanceof TypeError && /emitter/.test(e.message));
  });
});
