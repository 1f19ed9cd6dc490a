// tripwire/prometheus: tripwire's metrics in a prom-client registry. Each family of
// the core's exposition (core/src/metrics.rs) is registered as a collector whose
// `get()` reads one snapshot per scrape: `await registry.metrics()` renders once and
// every family appears exactly once. prom-client is an optional peer dependency;
// nothing goes to its global registry unless that is the registry passed, and no
// default (process) metrics are added.
'use strict';

const { metricsText, families } = require('./metrics.js');

const registered = new WeakMap();

/** The core's Prometheus text as prom-client metric objects, by family name. */
function parse(text) {
  const out = new Map();
  for (const f of families(text).values()) {
    const values = f.samples.map((s) => {
      const sample = { labels: s.attributes, value: s.value };
      // Counters are named by their family (prom-client adds `_total` in OpenMetrics).
      if (f.type !== 'counter') sample.metricName = s.name;
      return sample;
    });
    out.set(f.name, { name: f.name, help: f.help, type: f.type, values });
  }
  return out;
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
