// tripwire/otel: tripwire's metrics as OpenTelemetry observable instruments, and the
// opt-in tracing of breakers (`tracing: 'events' | 'spans'`), through
// `@opentelemetry/api` only (an optional peer dependency, loaded on first use).
//
// Metrics: one core render per collection feeds every instrument (a batch observable
// callback). Counters become ObservableCounters, gauges ObservableGauges (names
// without `_total`, attributes = the Prometheus labels). `@opentelemetry/api` 1.x has
// no observable histogram: the call-duration histogram is reported as three
// ObservableCounters, `..._bucket` (attribute `le`, cumulative as in Prometheus),
// `..._count` and `..._sum` (seconds); the queue-wait summary as `_count` and `_sum`.
'use strict';

const { metricsText, samples } = require('./metrics.js');

function api() {
  try {
    return require('@opentelemetry/api');
  } catch (error) {
    throw Object.assign(new Error('tripwire: tracing and tripwire/otel need the optional peer dependency @opentelemetry/api (npm install @opentelemetry/api)'), { code: 'ERR_TRIPWIRE_OTEL', cause: error });
  }
}

/** The OpenTelemetry instrument a sample goes to: [name, kind, unit]. */
function instrumentOf(s) {
  const seconds = s.name.includes('_seconds');
  if (s.type === 'counter') return [s.name.replace(/_total$/, ''), 'counter', ''];
  if (s.type === 'histogram' || s.type === 'summary') return [s.name, 'counter', s.name.endsWith('_sum') && seconds ? 's' : ''];
  return [s.name, 'gauge', ''];
}

/**
 * Observable instruments on `meter` (an OpenTelemetry `Meter`) for every tripwire
 * family, read from one core snapshot per collection. Returns `{ instruments, stop() }`
 * (`stop()` removes the callback).
 */
function instrumentTripwire(meter) {
  if (meter === null || typeof meter !== 'object' || typeof meter.createObservableGauge !== 'function' || typeof meter.addBatchObservableCallback !== 'function') {
    throw new TypeError('instrumentTripwire() needs an OpenTelemetry Meter (metrics.getMeter(name))');
  }
  // The families are known from a first render (help text included).
  const instruments = new Map();
  const ensure = (s) => {
    const [name, kind, unit] = instrumentOf(s);
    let instrument = instruments.get(name);
    if (instrument === undefined) {
      const options = { description: s.help, ...(unit ? { unit } : {}) };
      instrument = kind === 'counter' ? meter.createObservableCounter(name, options) : meter.createObservableGauge(name, options);
      instruments.set(name, instrument);
    }
    return instrument;
  };
  const all = samples(metricsText());
  for (const s of all) ensure(s);
  for (const [name, help] of [['tripwire_dead_letter_queue_size', 'Failed calls kept for a retry.'], ['tripwire_dead_letter_queue_capacity', 'Failed calls the dead-letter queue keeps at most.']]) {
    ensure({ name, help, type: 'gauge' });
  }
  for (const [name, help] of [['tripwire_dead_letter_queue_enqueued_total', 'Failed calls ever queued.'], ['tripwire_dead_letter_queue_dropped_total', 'Failed calls dropped (the oldest) to make room.']]) {
    ensure({ name, help, type: 'counter' });
  }
  const callback = (result) => {
    for (const s of samples(metricsText())) {
      const instrument = instruments.get(instrumentOf(s)[0]);
      if (instrument !== undefined && Number.isFinite(s.value)) result.observe(instrument, s.value, s.attributes);
    }
  };
  const list = [...instruments.values()];
  meter.addBatchObservableCallback(callback, list);
  return {
    instruments: Object.fromEntries(instruments),
    stop() {
      meter.removeBatchObservableCallback(callback, list);
    },
  };
}

const MODES = ['events', 'spans'];

/** Checks the `tracing` option: undefined/null/false (off), 'events' or 'spans'. */
function tracingMode(value) {
  if (value === undefined || value === null || value === false) return null;
  if (typeof value !== 'string') throw new TypeError(`invalid option \`tracing\`: must be 'events' or 'spans', not ${typeof value}`);
  if (!MODES.includes(value)) throw new RangeError(`invalid option \`tracing\`: must be 'events' or 'spans', not ${JSON.stringify(value)}`);
  return value;
}

/**
 * Traces `breaker` (a CircuitBreaker): rejections and transitions as events on the
 * active span ('events'), and with 'spans' one span per guarded call too (`execute`
 * and `fire` run inside it; its status is an error when the call fails or is refused).
 */
function traceBreaker(breaker, mode) {
  const otel = api();
  const { trace, SpanStatusCode } = otel;
  const attrs = () => ({ 'tripwire.breaker': breaker.name });
  breaker.on('callRejected', ({ state }) => {
    const span = trace.getActiveSpan();
    if (span !== undefined) span.addEvent('tripwire.rejected', { ...attrs(), 'tripwire.state': state });
  });
  breaker.on('stateChange', (from, to) => {
    const span = trace.getActiveSpan();
    if (span !== undefined) span.addEvent('tripwire.transition', { ...attrs(), 'tripwire.from': from, 'tripwire.to': to });
  });
  if (mode !== 'spans') return;
  const tracer = trace.getTracer('tripwire');
  const execute = breaker.execute;
  const traced = function tracedExecute(...args) {
    return tracer.startActiveSpan(`circuit ${breaker.name}`, { attributes: attrs() }, (span) => {
      let run;
      try {
        run = Promise.resolve(execute.apply(breaker, args));
      } catch (error) {
        run = Promise.reject(error);
      }
      return run.then(
        (value) => {
          span.end();
          return value;
        },
        (error) => {
          span.setStatus({ code: SpanStatusCode.ERROR, message: error && error.message });
          if (error && error.code === 'EOPENBREAKER') span.setAttribute('tripwire.rejected', true);
          span.end();
          throw error;
        },
      );
    });
  };
  Object.defineProperty(breaker, 'execute', { value: traced, configurable: true, writable: true });
  if (typeof breaker.fire === 'function') Object.defineProperty(breaker, 'fire', { value: traced, configurable: true, writable: true });
}

module.exports = { instrumentTripwire, tracingMode, traceBreaker };
