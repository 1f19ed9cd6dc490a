// tripwire/prometheus (prom-client), tripwire/otel (observable instruments, tracing)
// and seed 002's CircuitBreakerMonitor seeing every breaker (issue 12).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import {
  CircuitBreaker, CircuitBreakerService, CircuitBreakerFactory, CircuitBreakerMonitor, ManualClock, metricsText,
} from 'tripwire';
import { registerTripwireMetrics } from 'tripwire/prometheus';
import { instrumentTripwire } from 'tripwire/otel';

const require = createRequire(import.meta.url);

/** The family names of an exposition (HELP lines). */
const familiesOf = (text) => text.split('\n').filter((l) => l.startsWith('# HELP ')).map((l) => l.split(' ')[2]);

test('prom-client: tripwire families exactly once, no default metrics, the global registry untouched', async () => {
  const client = require('prom-client');
  const svc = new CircuitBreakerService();
  await svc.executeWithCircuitBreaker('db', 'query', async () => 'ok');
  const registry = new client.Registry();
  const names = registerTripwireMetrics(registry);
  assert.deepEqual(registerTripwireMetrics(registry), names, 'twice: nothing more');
  new client.Counter({ name: 'app_requests_total', help: 'the app\'s own', registers: [registry] }).inc();
  const text = await registry.metrics();
  const families = familiesOf(text);
  assert.equal(new Set(families).size, families.length, 'each family once');
  for (const f of familiesOf(metricsText())) assert.ok(families.includes(f), `has ${f}`);
  assert.ok(families.includes('app_requests_total'));
  assert.ok(!families.some((f) => f.startsWith('process_') || f.startsWith('nodejs_')), 'no default metrics');
  assert.match(text, /tripwire_circuitbreaker_calls_total\{name="db:query",service="db",operation="query",kind="successful"\} 1/);
  assert.match(text, /tripwire_circuitbreaker_call_duration_seconds_bucket\{name="db:query",service="db",operation="query",le="\+Inf"\} 1/);
  assert.equal((await client.register.metrics()).includes('tripwire_'), false, 'the global registry holds nothing of tripwire');
  registry.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE);
  const om = await registry.metrics();
  assert.ok(om.endsWith('# EOF\n'));
  assert.match(om, /# TYPE tripwire_circuitbreaker_calls counter\n/);
  assert.throws(() => registerTripwireMetrics({}), TypeError);
});

test('prom-client: label values round-trip (quotes, backslashes, newlines, non-ASCII)', async () => {
  const client = require('prom-client');
  const name = 'a"b\\c\nλ';
  const breaker = new CircuitBreaker({ name, clock: new ManualClock(0) });
  const registry = new client.Registry();
  registerTripwireMetrics(registry);
  const json = await registry.getMetricsAsJSON();
  const state = json.find((m) => m.name === 'tripwire_circuitbreaker_state');
  assert.ok(state.values.some((v) => v.labels.name === name && v.labels.state === 'closed' && v.value === 1));
  assert.match(await registry.metrics(), /name="a\\"b\\\\c\\nλ"/);
  assert.ok(breaker);
});

test('prom-client: a name holding \\r, U+2028 or U+2029 (left as they are in the text) keeps its series', async () => {
  const client = require('prom-client');
  const names = ['cr\rname', 'ls\u2028name', 'ps\u2029name'];
  const breakers = names.map((name) => new CircuitBreaker({ name, clock: new ManualClock(0) }));
  const registry = new client.Registry();
  registerTripwireMetrics(registry);
  const state = (await registry.getMetricsAsJSON()).find((m) => m.name === 'tripwire_circuitbreaker_state');
  for (const name of names) assert.ok(state.values.some((v) => v.labels.name === name && v.labels.state === 'closed'), JSON.stringify(name));
  assert.equal(breakers.length, 3);
});

/** A Meter that records what instrumentTripwire asks of it, and collects on demand. */
function fakeMeter() {
  const made = new Map();
  const callbacks = [];
  const instrument = (kind) => (name, options) => {
    const i = { kind, name, options };
    made.set(name, i);
    return i;
  };
  return {
    made,
    createObservableGauge: instrument('gauge'),
    createObservableCounter: instrument('counter'),
    createObservableUpDownCounter: instrument('updown'),
    addBatchObservableCallback(cb, list) {
      callbacks.push([cb, list]);
    },
    removeBatchObservableCallback(cb) {
      callbacks.splice(callbacks.findIndex(([c]) => c === cb), 1);
    },
    collect() {
      const seen = [];
      for (const [cb] of callbacks) cb({ observe: (i, value, attributes) => seen.push({ name: i.name, kind: i.kind, value, attributes }) });
      return seen;
    },
  };
}

test('OpenTelemetry: observable instruments, one render per collection', async () => {
  const svc = new CircuitBreakerService();
  await svc.executeWithCircuitBreaker('otel', 'op', async () => 'ok');
  const meter = fakeMeter();
  const { instruments, stop } = instrumentTripwire(meter);
  assert.equal(instruments.tripwire_circuitbreaker_calls.kind, 'counter');
  assert.equal(instruments.tripwire_circuitbreaker_state.kind, 'gauge');
  assert.equal(instruments.tripwire_circuitbreaker_call_duration_seconds_sum.options.unit, 's');
  const seen = meter.collect();
  const calls = seen.find((s) => s.name === 'tripwire_circuitbreaker_calls' && s.attributes.name === 'otel:op' && s.attributes.kind === 'successful');
  assert.equal(calls.value, 1);
  assert.ok(seen.some((s) => s.name === 'tripwire_circuitbreaker_call_duration_seconds_bucket' && s.attributes.le === '0.001048575'));
  stop();
  assert.equal(meter.collect().length, 0, 'stopped');
  assert.throws(() => instrumentTripwire({}), TypeError);
});

/** A tracer provider and context manager recording spans and their events (no SDK needed). */
function recordingOtel() {
  const api = require('@opentelemetry/api');
  const storage = new AsyncLocalStorage();
  api.context.setGlobalContextManager({
    active: () => storage.getStore() ?? api.ROOT_CONTEXT,
    with: (ctx, fn, thisArg, ...args) => storage.run(ctx, () => fn.call(thisArg, ...args)),
    bind: (ctx, target) => target,
    enable() { return this; },
    disable() { return this; },
  });
  const spans = [];
  const tracer = {
    startSpan(name, options = {}) {
      const span = {
        name, attributes: { ...(options.attributes ?? {}) }, events: [], status: null, ended: false,
        spanContext: () => ({ traceId: '1'.repeat(32), spanId: String(spans.length + 1).padStart(16, '0'), traceFlags: 1 }),
        addEvent(n, a) { span.events.push([n, a]); return span; },
        setAttribute(k, v) { span.attributes[k] = v; return span; },
        setAttributes(a) { Object.assign(span.attributes, a); return span; },
        setStatus(s) { span.status = s; return span; },
        recordException() {}, updateName() { return span; }, isRecording: () => true,
        end() { span.ended = true; },
      };
      spans.push(span);
      return span;
    },
    startActiveSpan(name, ...rest) {
      const fn = rest.pop();
      const span = this.startSpan(name, rest[0]);
      return api.context.with(api.trace.setSpan(api.context.active(), span), () => fn(span));
    },
  };
  api.trace.setGlobalTracerProvider({ getTracer: () => tracer });
  return { api, tracer, spans };
}

test('tracing: off by default; events on the active span; one span per call', async () => {
  const { api, tracer, spans } = recordingOtel();
  const clock = new ManualClock(0);
  const plain = new CircuitBreaker({ name: 'untraced', clock, failureThreshold: 1 });
  await plain.execute(async () => 'ok');
  assert.equal(spans.length, 0, 'off by default');

  const b = new CircuitBreaker({ name: 'traced-events', clock, failureThreshold: 1, tracing: 'events' });
  await tracer.startActiveSpan('request', async (span) => {
    await b.execute(async () => { throw new Error('down'); }).catch(() => {});
    await b.execute(async () => 'never').catch(() => {});
    span.end();
  });
  const request = spans.find((s) => s.name === 'request');
  assert.deepEqual(request.events.map(([n, a]) => [n, a['tripwire.breaker']]), [['tripwire.transition', 'traced-events'], ['tripwire.rejected', 'traced-events']]);
  assert.equal(request.events[0][1]['tripwire.to'], 'OPEN');

  const s = new CircuitBreaker({ name: 'traced-spans', clock, failureThreshold: 1, tracing: 'spans' });
  assert.equal(await s.execute(async () => 'ok'), 'ok');
  await s.execute(async () => { throw new Error('down'); }).catch(() => {});
  await s.execute(async () => 'never').catch(() => {});
  const calls = spans.filter((x) => x.name === 'circuit traced-spans');
  assert.equal(calls.length, 3);
  assert.ok(calls.every((x) => x.ended));
  assert.equal(calls[0].status, null);
  assert.equal(calls[1].status.code, api.SpanStatusCode.ERROR);
  assert.equal(calls[2].attributes['tripwire.rejected'], true);
  assert.deepEqual(calls[1].events.map(([n]) => n), ['tripwire.transition'], 'the transition is an event of the call\'s own span');

  assert.throws(() => new CircuitBreaker({ name: 'x', tracing: 'all' }), (e) => e instanceof RangeError && /tracing/.test(e.message));
  assert.throws(() => new CircuitBreaker({ name: 'x', tracing: 1 }), (e) => e instanceof TypeError && /tracing/.test(e.message));
});

test('CircuitBreakerMonitor reports every breaker, not only its factory\'s', async () => {
  const factory = new CircuitBreakerFactory();
  factory.create({ name: 'from-factory' });
  new CircuitBreaker({ name: 'standalone-for-monitor' });
  const svc = new CircuitBreakerService();
  svc.getCircuitBreaker('monitored', 'op');
  const streamed = [];
  const monitor = new CircuitBreakerMonitor(factory, { streamMetrics: (m) => streamed.push(...m) });
  await monitor.reportMetrics();
  const names = streamed.map((m) => m.breakerName);
  for (const n of ['from-factory', 'standalone-for-monitor', 'monitored:op']) assert.ok(names.includes(n), n);
  assert.equal(new Set(names).size, names.length, 'each once');
  assert.equal(names[0], 'from-factory', 'the factory\'s first');
});
