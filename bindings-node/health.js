// Seed 000's health checks: a manager that runs checks (each with a timeout, a throw
// being a failure), Lambda-style handlers and a node:http handler, ready-made checks.
// The report's status is the core's rule (check_health): any critical check failing
// → unhealthy; only non-critical ones failing → degraded.
'use strict';

const v8 = require('node:v8');
const { performance } = require('node:perf_hooks');
const native = require('./native.js');
const { describe } = require('./shared.js');
const { getAllCircuitBreakerStats } = require('./index.js');


function messageOf(error) {
  if (error !== null && typeof error === 'object' && typeof error.message === 'string') return error.message;
  return String(error);
}

/** A check's answer as `{ healthy, message }`: an object with `healthy`, or a boolean. */
function normalise(result) {
  if (typeof result === 'boolean') return { healthy: result, message: result ? 'OK' : 'Check failed' };
  if (result !== null && typeof result === 'object' && typeof result.healthy === 'boolean') {
    return { healthy: result.healthy, message: result.message === undefined ? (result.healthy ? 'OK' : 'Check failed') : String(result.message) };
  }
  return { healthy: false, message: `the check returned ${describe(result)}, not { healthy, message }` };
}

function checkCheck(check) {
  if (check === null || typeof check !== 'object') throw new TypeError(`a health check must be an object, not ${describe(check)}`);
  if (typeof check.name !== 'string' || check.name === '') throw new TypeError('a health check needs a non-empty string `name`');
  if (typeof check.check !== 'function') throw new TypeError(`health check '${check.name}': \`check\` must be a function, not ${describe(check.check)}`);
  if (check.timeout !== undefined && !(typeof check.timeout === 'number' && check.timeout > 0)) {
    throw new RangeError(`health check '${check.name}': \`timeout\` must be a positive number of milliseconds`);
  }
  return { name: check.name, check: check.check, critical: check.critical !== false, timeout: check.timeout };
}

/** Sets `key` as an own, enumerable property, whatever the key: any string is a name ('__proto__' too). */
function defineEntry(object, key, value) {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The stats of every registered breaker, as the report lists them. */
function breakerStats() {
  // No prototype: any breaker name is a key (`__proto__` too).
  const out = Object.create(null);
  for (const [name, s] of Object.entries(getAllCircuitBreakerStats())) {
    defineEntry(out, name, {
      state: s.state,
      failureCount: s.failureCount,
      successCount: s.successCount,
      totalRequests: s.totalRequests,
      failureRate: s.failureRate,
      rejectedCount: s.rejectedCount,
      lastFailureTime: s.lastFailureTime,
      nextAttemptTime: s.nextAttemptTime,
    });
  }
  return out;
}

/**
 * Runs a service's health checks: `new HealthCheckManager({ serviceName, version,
 * checks, timeout })` (timeout per check in ms, default 5000; a check may set its own).
 */
class HealthCheckManager {
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, not ${describe(options)}`);
    const { serviceName = 'service', version = '0.0.0', checks = [], timeout = 5000, clock = null } = options;
    if (typeof serviceName !== 'string') throw new TypeError('`serviceName` must be a string');
    if (typeof version !== 'string') throw new TypeError('`version` must be a string');
    if (!(typeof timeout === 'number' && timeout > 0)) throw new RangeError('`timeout` must be a positive number of milliseconds');
    if (!Array.isArray(checks)) throw new TypeError(`\`checks\` must be an array, not ${describe(checks)}`);
    this.serviceName = serviceName;
    this.version = version;
    this.timeout = timeout;
    this._clock = clock;
    this._checks = new Map();
    this._started = Date.now();
    for (const check of checks) this.registerCheck(check);
  }

  /** Adds a check (`{ name, check, critical = true, timeout? }`); a later one with the same name replaces it. */
  registerCheck(check) {
    const c = checkCheck(check);
    this._checks.set(c.name, c);
    return this;
  }

  /** Removes the check named `name`; whether there was one. */
  unregisterCheck(name) {
    return this._checks.delete(name);
  }

  /** The names of the registered checks. */
  get checkNames() {
    return [...this._checks.keys()];
  }

  _timer(fn, ms) {
    const clock = this._clock;
    if (clock !== null && typeof clock.setTimeout === 'function') {
      const t = clock.setTimeout(fn, ms);
      return () => clock.clearTimeout(t);
    }
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  }

  async _run(c) {
    const start = performance.now();
    const timeout = c.timeout ?? this.timeout;
    let cancel = null;
    let outcome;
    try {
      const deadline = new Promise((_, reject) => {
        cancel = this._timer(() => reject(new Error(`Timed out after ${timeout}ms`)), timeout);
      });
      outcome = normalise(await Promise.race([Promise.resolve().then(() => c.check()), deadline]));
    } catch (error) {
      outcome = { healthy: false, message: messageOf(error) };
    } finally {
      if (cancel !== null) cancel();
    }
    const responseTime = Math.round((performance.now() - start) * 100) / 100;
    return { status: outcome.healthy ? 'healthy' : 'unhealthy', message: outcome.message, responseTime, critical: c.critical };
  }

  /**
   * Runs every check at once: `{ status, timestamp, service, version, uptime, checks,
   * circuitBreakers }`. Never rejects: a throwing or slow check is a failed check.
   */
  async executeHealthChecks() {
    const checks = [...this._checks.values()];
    const results = await Promise.all(checks.map((c) => this._run(c)));
    const byName = {};
    checks.forEach((c, i) => {
      defineEntry(byName, c.name, results[i]);
    });
    const status = native.checkHealthOf(results.flatMap((r) => [r.critical, r.status === 'healthy']));
    return {
      status,
      timestamp: new Date().toISOString(),
      service: this.serviceName,
      version: this.version,
      uptime: (Date.now() - this._started) / 1000,
      checks: byName,
      circuitBreakers: breakerStats(),
    };
  }
}

const HEADERS = Object.freeze({ 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });

function respond(statusCode, body) {
  return { statusCode, headers: { ...HEADERS }, body: JSON.stringify(body) };
}

/**
 * Lambda-style handlers, each `async (event?, context?) => { statusCode, headers, body }`
 * (`body` a JSON string): `liveness` (200 while the process runs), `readiness` (checks
 * only) and `health` (the full report), both 200 when healthy or degraded, 503 when unhealthy.
 */
function createHealthCheckHandler(manager) {
  if (!(manager instanceof HealthCheckManager)) throw new TypeError('createHealthCheckHandler() needs a HealthCheckManager');
  return {
    liveness: async () =>
      respond(200, { status: 'alive', service: manager.serviceName, version: manager.version, timestamp: new Date().toISOString() }),
    readiness: async () => {
      const report = await manager.executeHealthChecks();
      const { circuitBreakers, ...ready } = report;
      void circuitBreakers;
      return respond(report.status === 'unhealthy' ? 503 : 200, ready);
    },
    health: async () => {
      const report = await manager.executeHealthChecks();
      return respond(report.status === 'unhealthy' ? 503 : 200, report);
    },
  };
}

/**
 * A `node:http` request handler: `GET <basePath>/liveness`, `<basePath>/readiness`,
 * `<basePath>` (default `/health`). Other paths get 404, or go to `next()` when given
 * (Express/Connect style).
 */
function createHealthCheckHttpHandler(manager, options = {}) {
  const handlers = createHealthCheckHandler(manager);
  const basePath = (options.basePath ?? '/health').replace(/\/+$/, '');
  const routes = new Map([
    [`${basePath}/liveness`, handlers.liveness],
    [`${basePath}/readiness`, handlers.readiness],
    [basePath === '' ? '/' : basePath, handlers.health],
  ]);
  return (req, res, next = undefined) => {
    const path = (req.url || '/').split('?')[0].replace(/(.)\/+$/, '$1');
    const handler = routes.get(path);
    if (handler === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      if (typeof next === 'function') return next();
      res.writeHead(handler === undefined ? 404 : 405, HEADERS);
      res.end(JSON.stringify({ error: handler === undefined ? 'Not Found' : 'Method Not Allowed' }));
      return undefined;
    }
    return handler().then(
      (r) => {
        res.writeHead(r.statusCode, r.headers);
        res.end(req.method === 'HEAD' ? undefined : r.body);
      },
      (error) => {
        res.writeHead(500, HEADERS);
        res.end(JSON.stringify({ error: messageOf(error) }));
      },
    );
  };
}

function checkOptions(options) {
  if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, not ${describe(options)}`);
  return options;
}

/** Healthy when every named environment variable is set and non-empty. */
function createEnvVarHealthCheck(names, options = {}) {
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new TypeError('createEnvVarHealthCheck() needs an array of variable names');
  const { name = 'environment-variables', critical = true } = checkOptions(options);
  const list = [...names];
  return {
    name,
    critical,
    check: async () => {
      const missing = list.filter((n) => process.env[n] === undefined || process.env[n] === '');
      return missing.length === 0
        ? { healthy: true, message: 'All required variables present' }
        : { healthy: false, message: `Missing environment variables: ${missing.join(', ')}` };
    },
  };
}

/** Healthy while the V8 heap in use is below `maxPercent` % of the heap limit. */
function createMemoryHealthCheck(maxPercent = 90, options = {}) {
  if (!(typeof maxPercent === 'number' && maxPercent > 0 && maxPercent <= 100)) throw new RangeError('createMemoryHealthCheck() needs a percentage in (0, 100]');
  const { name = 'memory-usage', critical = true } = checkOptions(options);
  return {
    name,
    critical,
    check: async () => {
      const heap = v8.getHeapStatistics();
      const percent = (heap.used_heap_size / heap.heap_size_limit) * 100;
      return { healthy: percent < maxPercent, message: `Memory usage at ${percent.toFixed(2)}%` };
    },
  };
}

/**
 * Healthy when `url` answers with an expected status (`expectedStatus`: a number, an
 * array, or any 2xx by default) within `timeout` ms (default 5000). Options: `name`,
 * `method` (GET), `headers`, `timeout`, `expectedStatus`, `critical`.
 */
function createHttpHealthCheck(url, options = {}) {
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new TypeError(`createHttpHealthCheck() needs an http(s) URL, not ${target.protocol}`);
  const { name = `http:${target.host}`, method = 'GET', headers = {}, timeout = 5000, expectedStatus, critical = true } = checkOptions(options);
  const expected = (status) =>
    expectedStatus === undefined
      ? status >= 200 && status < 300
      : Array.isArray(expectedStatus)
        ? expectedStatus.includes(status)
        : status === expectedStatus;
  // Loaded on first use: the package's main entry does not load node:http.
  const client = target.protocol === 'https:' ? require('node:https') : require('node:http');
  return {
    name,
    critical,
    timeout: timeout + 1000,
    check: () =>
      new Promise((resolve) => {
        const req = client.request(target, { method, headers, agent: false, timeout }, (res) => {
          res.resume();
          res.on('end', () => {
            const ok = expected(res.statusCode);
            resolve({ healthy: ok, message: `${method} ${target.href}: HTTP ${res.statusCode}` });
          });
        });
        req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout}ms`)));
        req.on('error', (error) => resolve({ healthy: false, message: `${method} ${target.href}: ${messageOf(error)}` }));
        req.end();
      }),
  };
}

module.exports = {
  HealthCheckManager,
  createHealthCheckHandler,
  createHealthCheckHttpHandler,
  createEnvVarHealthCheck,
  createMemoryHealthCheck,
  createHttpHealthCheck,
};
