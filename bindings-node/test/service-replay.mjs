// Replays a service vector (tests/vectors/service/README.md)
// through the public CircuitBreakerService API on a ManualClock: the same scenarios the
// core engine replays in core/tests/service_vectors.rs and Python in
// bindings-python/tests/test_service_vectors.py. An unknown op or expect key fails.
import assert from 'node:assert/strict';
import { CircuitBreakerService, CircuitBreakerError, BulkheadRejectedError, ManualClock } from 'tripwire';


/** `recovery_timeout_ms` → `recoveryTimeout`: drop `_ms`, camelCase the rest. */
function camel(key) {
  return key.replace(/_ms$/, '').replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

/** Option objects with their keys turned (nested objects too; arrays and names as they are). */
function options(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) out[camel(k)] = options(v);
  return out;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const kScript = Symbol('script');

class VectorClock extends ManualClock {
  /** When the next timer falls due, or undefined. */
  nextAt() {
    return this._timers.length === 0 ? undefined : this._timers[0].at;
  }
}

/** One call's protected function: answers `attempts` in order, counting runs. */
function scripted(attempts, hangs) {
  const script = { attempts, runs: 0 };
  script.fn = () => {
    const i = script.runs++;
    if (i >= script.attempts.length) throw new Error(`the vector's function ran ${i + 1} times; it lists ${script.attempts.length} attempts`);
    const a = script.attempts[i];
    if (a === 'ok') return Promise.resolve('ok');
    if (a === 'hang') return new Promise((resolve, reject) => hangs.push({ script, resolve, reject }));
    return Promise.reject(failure(a, script));
  };
  return script;
}

function failure(a, script) {
  let error;
  if (a === 'fail') error = new Error('fail');
  else if (a !== null && typeof a === 'object') {
    error = new Error(`fail ${JSON.stringify(a)}`);
    for (const [k, v] of Object.entries(a)) {
      if (k !== 'code' && k !== 'status') throw new Error(`unknown attempt field ${k}`);
      error[k] = v;
    }
  } else {
    throw new Error(`unknown attempt ${JSON.stringify(a)}`);
  }
  error[kScript] = script;
  return error;
}

/** Replays `vector`; resolves with its service. */
export async function replay(vector) {
  const clock = new VectorClock(0);
  const svc = new CircuitBreakerService({ clock, ...options(vector.settings ?? {}) });
  const alerts = [];
  svc.on('alert', (a) => alerts.push([a.type, a.service ?? null, a.operation ?? null]));
  const calls = new Map();
  const hangs = [];
  const lastQueued = new Map();

  const start = (step, script, run) => {
    const record = { started: clock.now(), ended: undefined, outcome: undefined, script };
    record.promise = run.then(
      (value) => {
        record.ended = clock.now();
        record.outcome = { value };
      },
      (error) => {
        record.ended = clock.now();
        record.outcome = { error };
      },
    );
    return record;
  };

  /** Runs due work and moves the clock to the next timer until `record` ends. */
  const finish = async (record) => {
    for (let i = 0; i < 100_000; i++) {
      await settle();
      if (record.outcome !== undefined) return;
      const next = clock.nextAt();
      if (next === undefined) {
        await settle();
        if (record.outcome !== undefined) return;
        throw new Error('the call waits on nothing: it would never end');
      }
      clock.set(next);
    }
    throw new Error('the call did not end');
  };

  const check = (record, expect, where) => {
    for (const [key, want] of Object.entries(expect)) {
      const { value, error } = record.outcome;
      switch (key) {
        case 'result': {
          const got = error !== undefined ? 'error' : value === 'fallback' ? 'fallback' : value === 'ok' ? 'ok' : `value ${String(value)}`;
          assert.equal(got, want, `${where}: result (${error && error.message})`);
          break;
        }
        case 'error': {
          let got;
          if (error instanceof BulkheadRejectedError) got = error.reason === 'full' ? 'bulkhead-full' : error.reason;
          else if (error instanceof CircuitBreakerError) got = 'open';
          else if (error !== undefined && error[kScript] !== undefined) got = 'upstream';
          else got = `other: ${error && error.message}`;
          assert.equal(got, want, `${where}: error`);
          break;
        }
        case 'runs':
          assert.equal(record.script.runs, want, `${where}: runs`);
          break;
        case 'elapsed_ms':
          assert.equal(Math.floor(record.ended - record.started), want, `${where}: elapsed_ms`);
          break;
        default:
          throw new Error(`${where}: unknown expect key ${key}`);
      }
    }
  };

  for (const [n, step] of vector.steps.entries()) {
    const where = `step ${n} (${step.op})`;
    switch (step.op) {
      case 'configure': {
        const update = options(step.update);
        if (step.error !== undefined) {
          const before = JSON.stringify(svc.getServiceConfig(step.service));
          const type = { type: TypeError, range: RangeError }[step.error.kind];
          if (type === undefined) throw new Error(`${where}: unknown error kind ${step.error.kind}`);
          const option = camel(step.error.option);
          assert.throws(() => svc.updateServiceConfig(step.service, update), (e) => e instanceof type && e.message.includes(option), `${where}: ${type.name} naming ${option}`);
          assert.equal(JSON.stringify(svc.getServiceConfig(step.service)), before, `${where}: a bad update changes nothing`);
        } else {
          svc.updateServiceConfig(step.service, update);
        }
        break;
      }
      case 'call': {
        const script = scripted(step.attempts, hangs);
        let run;
        if (step.kind === 'execute') {
          const fallback = step.fallback === 'value' ? () => 'fallback' : undefined;
          if (step.fallback !== undefined && step.fallback !== 'value') throw new Error(`${where}: execute takes fallback "value" only`);
          run = svc.execute(step.service, step.operation, script.fn, fallback, step.config === undefined ? undefined : options(step.config));
        } else {
          if (step.kind !== undefined) throw new Error(`${where}: unknown call kind ${step.kind}`);
          const opts = {};
          if (step.fallback !== undefined) {
            const fb = { value: { fallbackValue: 'fallback' }, queue: { queue: true }, 'queue+value': { queue: true, fallbackValue: 'fallback' } }[step.fallback];
            if (fb === undefined) throw new Error(`${where}: unknown fallback ${step.fallback}`);
            opts.fallbackOptions = fb;
            if (fb.queue) lastQueued.set(JSON.stringify([step.service, step.operation]), script);
          }
          if (step.retry_policy !== undefined) opts.retryPolicy = options(step.retry_policy);
          if (step.config !== undefined) opts.config = options(step.config);
          run = svc.executeWithCircuitBreaker(step.service, step.operation, script.fn, opts);
        }
        const record = start(step, script, run);
        if (step.id !== undefined) {
          calls.set(step.id, record);
          await settle();
        } else {
          await finish(record);
          check(record, step.expect ?? {}, where);
        }
        break;
      }
      case 'settle': {
        const record = calls.get(step.id);
        const i = hangs.findIndex((h) => h.script === record.script);
        if (i < 0) throw new Error(`${where}: call ${step.id} has no attempt waiting`);
        const [hang] = hangs.splice(i, 1);
        if (step.outcome === 'ok') hang.resolve('ok');
        else hang.reject(failure(step.outcome, hang.script));
        await settle();
        break;
      }
      case 'await': {
        const record = calls.get(step.id);
        if (record === undefined) throw new Error(`${where}: no call ${step.id}`);
        await finish(record);
        check(record, step.expect ?? {}, where);
        break;
      }
      case 'advance':
        clock.advance(step.ms);
        await settle();
        break;
      case 'get':
        svc.getCircuitBreaker(step.service, step.operation);
        break;
      case 'force_open':
        svc.forceCircuitBreakerOpen(step.service, step.operation);
        break;
      case 'reset':
        svc.resetCircuitBreaker(step.service, step.operation);
        break;
      case 'retry_dead_letter': {
        const item = svc.getDeadLetterQueue()[step.index];
        const script = item.error?.[kScript] ?? lastQueued.get(JSON.stringify([item.service, item.operation]));
        script.attempts = step.attempts;
        script.runs = 0;
        const record = start(step, script, svc.retryDeadLetterItem(item.id));
        await finish(record);
        check(record, step.expect ?? {}, where);
        break;
      }
      case 'remove_dead_letter': {
        const item = svc.getDeadLetterQueue()[step.index];
        assert.equal(svc.removeDeadLetterItem(item.id), true, where);
        break;
      }
      case 'check':
        checkService(svc, step.expect, alerts, where);
        break;
      default:
        throw new Error(`${where}: unknown op ${step.op}`);
    }
    // Then the work the step made due (promise jobs, an admitted call's first attempt).
    await settle();
  }
  return svc;
}

function checkService(svc, expect, alerts, where) {
  for (const [key, want] of Object.entries(expect)) {
    const at = `${where}: ${key}`;
    switch (key) {
      case 'breakers': {
        const got = Object.values(svc.getCircuitBreakerState())
          .map((s) => [s.service, s.operation, s.state])
          .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
        assert.deepEqual(got, want, at);
        break;
      }
      case 'count':
        assert.equal(svc.getSystemHealth().breakers.count, want, at);
        break;
      case 'evictions':
        assert.equal(svc.getSystemHealth().breakers.evictions, want, at);
        break;
      case 'names':
        assert.deepEqual(Object.keys(svc.getCircuitBreakerState()).sort(), [...want].sort(), at);
        break;
      case 'health': {
        const h = JSON.parse(JSON.stringify(svc.getSystemHealth()));
        const services = {};
        // defineProperty: `__proto__` is a name like any other (as JSON.parse makes it).
        for (const [name, s] of Object.entries(h.services)) Object.defineProperty(services, name, { value: s.status, enumerable: true, writable: true, configurable: true });
        assert.deepEqual({ overall: h.overall, services }, want, at);
        break;
      }
      case 'alerts':
        assert.deepEqual(alerts.splice(0), want, at);
        break;
      case 'dead_letters':
        assert.deepEqual(svc.getDeadLetterQueue().map((i) => [i.service, i.operation, i.attempts]), want, at);
        break;
      case 'dead_letter_stats': {
        const s = svc.getDeadLetterStats();
        for (const [k, v] of Object.entries(want)) assert.equal(s[camel(k)], v, `${at}.${k}`);
        break;
      }
      case 'bulkhead': {
        const s = svc.getBulkheadStats(want.service);
        for (const [k, v] of Object.entries(want)) if (k !== 'service') assert.equal(s?.[camel(k)], v, `${at}.${k}`);
        break;
      }
      case 'retries': {
        const r = svc.getServiceStats(want.service).retries;
        for (const [k, v] of Object.entries(want)) if (k !== 'service') assert.equal(r[camel(k)], v, `${at}.${k}`);
        break;
      }
      case 'config': {
        const c = svc.getServiceConfig(want.service);
        const got = { service: want.service, preset: c.preset, max_attempts: c.retryPolicy.maxAttempts, max_concurrent: c.bulkhead.maxConcurrent, failure_threshold: c.config.failureThreshold };
        for (const k of Object.keys(want)) if (!(k in got)) throw new Error(`${at}: unknown config key ${k}`);
        for (const k of Object.keys(got)) if (!(k in want)) delete got[k];
        assert.deepEqual(got, want, at);
        break;
      }
      case 'stats': {
        const s = svc.getCircuitBreakerState()[svc.getCircuitBreaker(want.service, want.operation).name];
        const got = { service: s.service, operation: s.operation, state: s.state, failures: s.failureCount, successes: s.successCount, rejected: s.rejectedCount };
        for (const k of Object.keys(want)) if (!(k in got)) throw new Error(`${at}: unknown stats key ${k}`);
        for (const k of Object.keys(got)) if (!(k in want)) delete got[k];
        assert.deepEqual(got, want, at);
        break;
      }
      default:
        throw new Error(`${at}: unknown expect key`);
    }
  }
}

