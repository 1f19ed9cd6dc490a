// Metrics at scrape time: one snapshot of every breaker in circuitBreakerRegistry and
// of every live CircuitBreakerService, rendered by the core (core/src/metrics.rs) as
// Prometheus text 0.0.4 or OpenMetrics 1.0. Nothing is counted per call for this:
// the core's counters are read when scraped.
'use strict';

const native = require('./native.js');
const { describe } = require('./shared.js');
const { live } = require('./internal.js');
const { version } = require('../package.json');

const FORMATS = ['prometheus', 'openmetrics'];
const [PROMETHEUS_CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE] = native.metricsContentTypes();


/** `options.format` checked: 'prometheus' (default) or 'openmetrics'. */
function formatOf(options, where = 'metricsText') {
  if (options === undefined || options === null) return 'prometheus';
  if (typeof options !== 'object') throw new TypeError(`${where}() options must be an object, not ${describe(options)}`);
  const { format = 'prometheus' } = options;
  if (typeof format !== 'string') throw new TypeError(`invalid option \`format\`: must be 'prometheus' or 'openmetrics', not ${describe(format)}`);
  if (!FORMATS.includes(format)) throw new RangeError(`invalid option \`format\`: must be 'prometheus' or 'openmetrics', not ${JSON.stringify(format)}`);
  return format;
}

/** The registry's breakers and the live services, as the native renderer takes them. */
function gather() {
  const ids = [];
  const names = [];
  const nows = [];
  for (const [name, breaker] of live.registry()) {
    ids.push(breaker._id);
    names.push(name);
    // NaN: the process clock, read once natively.
    nows.push(breaker._profile.clock === null ? NaN : breaker._now());
  }
  const services = [];
  const serviceNows = [];
  for (const [id, ref] of live.services) {
    const svc = ref.deref();
    if (svc === undefined || svc._id !== id) {
      if (svc === undefined) live.services.delete(id);
      continue;
    }
    services.push(id);
    serviceNows.push(svc._clock === null ? NaN : svc._clock.now());
  }
  return [ids, names, nows, services, serviceNows];
}

/**
 * Every breaker's and service's metrics now, as Prometheus text (`format:
 * 'prometheus'`, the default) or OpenMetrics (`'openmetrics'`). A breaker both in the
 * registry and a service appears once, with its service's labels.
 */
function metricsText(options = undefined) {
  const format = formatOf(options);
  return native.metricsText(format === 'openmetrics', ...gather(), version);
}

// dotAll (`s`): a label value may hold \r, U+2028 or U+2029 as they are (only \n is
// escaped), and JavaScript's `.` stops at those.
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/s;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/gs;
const unescape = (v) => v.replace(/\\(.)/gs, (_, c) => (c === 'n' ? '\n' : c));

/**
 * The core's Prometheus text, parsed (the prom-client, OpenTelemetry and CloudWatch
 * adapters read it): family name → `{ name, help, type, samples: [{ name, attributes,
 * value }] }`, every family whether it has samples or not.
 */
function families(text) {
  const out = new Map();
  let current = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('# HELP ')) {
      const rest = line.slice(7);
      const space = rest.indexOf(' ');
      current = { name: rest.slice(0, space), help: rest.slice(space + 1), type: 'untyped', samples: [] };
      out.set(current.name, current);
    } else if (line.startsWith('# TYPE ')) {
      if (current !== null) current.type = line.slice(7).split(' ')[1];
    } else if (line !== '' && !line.startsWith('#') && current !== null) {
      const m = SAMPLE.exec(line);
      if (m === null) continue;
      const attributes = {};
      for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) attributes[k] = unescape(v);
      current.samples.push({ name: m[1], attributes, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
    }
  }
  return out;
}

/** Every sample of the core's Prometheus text, with its family's name, type and help: [{ family, type, help, name, attributes, value }]. */
function samples(text) {
  const out = [];
  for (const f of families(text).values()) {
    for (const s of f.samples) out.push({ family: f.name, type: f.type, help: f.help, name: s.name, attributes: s.attributes, value: s.value });
  }
  return out;
}

/** The `Content-Type` of a format's text. */
function metricsContentType(format = 'prometheus') {
  return formatOf({ format }, 'metricsContentType') === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
}

module.exports = { metricsText, metricsContentType, families, samples, version };
