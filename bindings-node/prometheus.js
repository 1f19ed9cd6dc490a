// tripwire/prometheus: tripwire's metrics in a prom-client registry. Each family of
// the core's exposition (core/src/metrics.rs) is registered as a collector whose
// `get()` reads one snapshot per scrape: `await registry.metrics()` renders once and
// every family appears exactly once. prom-client is an optional peer dependency;
// nothing goes to its global registry unless that is the registry passed, and no
// default (process) metrics are added.
'use strict';

const { metricsText } = require('./metrics.js');

const registered = new WeakMap();

/** Label values as the core escapes them (`\\`, `\"`, `\n`), unescaped. */
function unescape(value) {
  return value.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The core's Prometheus text as prom-client metric objects, by family name. */
function parse(text) {
  const families = new Map();
  let current = null;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      const rest = line.slice(7);
      const space = rest.indexOf(' ');
      current = { name: rest.slice(0, space), help: rest.slice(space + 1), type: 'untyped', values: [] };
      families.set(current.name, current);
    } else if (line.startsWith('# TYPE ')) {
      current.type = line.slice(7).split(' ')[1];
    } else if (!line.startsWith('#')) {
      const m = SAMPLE.exec(line);
      if (m === null || current === null) continue;
      const labels = {};
      for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k] = unescape(v);
      const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
      const sample = { labels, value };
      // Counters are named by their family (prom-client adds `_total` in OpenMetrics).
      if (current.type !== 'counter') sample.metricName = m[1];
      current.values.push(sample);
    }
  }
  return families;
}

/** Families every scrape has (help and type as the core writes them in Prometheus text). */
function familyList() {
  return [...parse(metricsText()).values()].map(({ name, help, type }) => ({ name, help, type }));
}

// The families that appear only with a service that has a dead-letter queue.
const DEAD_LETTER_FAMILIES = [
  ['tripwire_dead_letter_queue_size', 'Failed calls kept for a retry.', 'gauge'],
  ['tripwire_dead_letter_queue_capacity', 'Failed calls the dead-letter queue keeps at most.', 'gauge'],
  ['tripwire_dead_letter_queue_enqueued_total', 'Failed calls ever queued.', 'counter'],
  ['tripwire_dead_letter_queue_dropped_total', 'Failed calls dropped (the oldest) to make room.', 'counter'],
];

/**
 * Registers tripwire's families in `registry` (a prom-client `Registry`): one
 * collector per family, all fed by one core render per scrape. Registering twice in
 * the same registry does nothing more. Returns the family names.
 */
function registerTripwireMetrics(registry) {
  if (registry === null || typeof registry !== 'object' || typeof registry.registerMetric !== 'function') {
    throw new TypeError('registerTripwireMetrics() needs a prom-client Registry (e.g. new client.Registry())');
  }
  const done = registered.get(registry);
  if (done !== undefined) return done;
  let scrape = null;
  const read = () => {
    if (scrape === null) {
      scrape = parse(metricsText());
      // prom-client asks every collector in the same tick: render once for all of them.
      queueMicrotask(() => {
        scrape = null;
      });
    }
    return scrape;
  };
  const families = familyList();
  const seen = new Set(families.map((f) => f.name));
  for (const [name, help, type] of DEAD_LETTER_FAMILIES) if (!seen.has(name)) families.splice(families.length - 1, 0, { name, help, type });
  for (const family of families) {
    const metric = {
      name: family.name,
      help: family.help,
      type: family.type,
      aggregator: 'sum',
      get() {
        const f = read().get(family.name);
        return { name: metric.name, help: family.help, type: family.type, aggregator: 'sum', values: f === undefined ? [] : f.values };
      },
      reset() {},
    };
    registry.registerMetric(metric);
  }
  const names = families.map((f) => f.name);
  registered.set(registry, names);
  return names;
}

module.exports = { registerTripwireMetrics };
