// tripwire/control: seed 004's control API over a CircuitBreakerService, for node:http,
// Express/Connect (`createControlHandler`), fetch runtimes (`createControlFetchHandler`)
// and a loopback server of its own (`serve`). Every decision (routes, token, Host,
// Origin, body, rate limit, problem+json bodies) is the core's (core/src/control.rs,
// through src/control.rs); this file reads requests, runs routes against the service
// and writes responses. Loaded on demand: the main entry never loads node:http.
'use strict';

const { EventEmitter } = require('node:events');
const fs = require('node:fs');
const path = require('node:path');
const native = require('./native.js');
const tripwire = require('./index.js');
const { metricsText, metricsContentType, version } = require('./metrics.js');
const { errorMessage, describe } = require('./shared.js');

const MAX_BODY = 64 * 1024;
const DASHBOARD_DIR = path.join(__dirname, '..', 'bindings-python', 'python', 'tripwire', 'dashboard');
const PROBLEM = 'application/problem+json';
const JSON_TYPE = 'application/json; charset=utf-8';

/** The dashboard's files: where each comes from and its type (read once, on first use). */
const ASSETS = {
  'tripwire-dashboard.js': [() => path.join(DASHBOARD_DIR, 'tripwire-dashboard.js'), 'text/javascript; charset=utf-8'],
  'dashboard.css': [() => path.join(DASHBOARD_DIR, 'dashboard.css'), 'text/css; charset=utf-8'],
  'uPlot.iife.min.js': [() => require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
  'uPlot.min.css': [() => require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
  '': [() => path.join(DASHBOARD_DIR, 'index.html'), 'text/html; charset=utf-8'],
};
const assetCache = new Map();

function asset(name) {
  let found = assetCache.get(name);
  if (found === undefined) {
    const [file, type] = ASSETS[name];
    found = { body: fs.readFileSync(file()), type };
    assetCache.set(name, found);
  }
  return found;
}


const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** Whether a bind address is loopback only. */
function isLoopback(host) {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The options every entry point shares, checked (TypeError/RangeError naming the option). */
function settingsOf(options, where) {
  if (options === null || typeof options !== 'object') throw new TypeError(`${where}() needs an options object, not ${describe(options)}`);
  const service = options.service === undefined ? tripwire.circuitBreakerService : options.service;
  if (!(service instanceof tripwire.CircuitBreakerService)) {
    throw new TypeError(`invalid option \`service\`: must be a CircuitBreakerService, not ${describe(service)}`);
  }
  let token = options.token;
  let what = 'option `token`';
  if (token === undefined || token === null) {
    token = process.env.TRIPWIRE_CONTROL_TOKEN || null;
    what = 'TRIPWIRE_CONTROL_TOKEN';
  } else if (typeof token !== 'string') {
    throw new TypeError(`invalid option \`token\`: must be a string, not ${describe(token)}`);
  }
  const problem = token === null ? null : native.controlTokenProblem(token);
  if (problem !== null) throw new RangeError(`invalid ${what}: ${problem}`);
  const basePath = options.basePath === undefined ? '/api/circuit-breaker' : options.basePath;
  if (typeof basePath !== 'string') throw new TypeError(`invalid option \`basePath\`: must be a string, not ${describe(basePath)}`);
  if (basePath !== '' && !basePath.startsWith('/')) throw new RangeError(`invalid option \`basePath\`: must start with "/", not ${JSON.stringify(basePath)}`);
  const loopback = options.loopback === undefined ? true : options.loopback;
  if (typeof loopback !== 'boolean') throw new TypeError(`invalid option \`loopback\`: must be a boolean, not ${describe(loopback)}`);
  const logger = options.logger ?? null;
  if (logger !== null && (typeof logger !== 'object' || typeof logger.info !== 'function' || typeof logger.warn !== 'function')) {
    throw new TypeError(`invalid option \`logger\`: must be an object with debug/info/warn/error methods, not ${describe(logger)}`);
  }
  return { service, token, basePath, loopback, logger };
}

/**
 * One control API: the core's decisions (a NativeControl), the service, the audit
 * events. `handle(request)` answers a runtime-neutral request:
 * `{ method, path, header(name) → string|undefined, body() → Promise<Buffer|null> }`
 * (`body()` resolves null when the body passed MAX_BODY) with
 * `{ status, headers: [[name, value]], body: string|Buffer }`, or null when the path
 * is outside the base path.
 */
class ControlCore {
  constructor(settings, emitter) {
    this.service = settings.service;
    this.emitter = emitter;
    // Mutations are logged through it (else tripwire's own: setLogger() / TRIPWIRE_LOG).
    this.logger = settings.logger;
    this.control = new native.NativeControl(settings.basePath, settings.token ?? undefined, settings.loopback);
    this.common = this.control.headers();
    // The dashboard's alert feed: the service's alerts from now on.
    this.onAlert = (a) => this.control.pushAlert(a.type, a.service ?? undefined, a.operation ?? undefined, a.message, a.timestamp ?? Date.now());
    this.service.on('alert', this.onAlert);
  }

  close() {
    this.service.off('alert', this.onAlert);
  }

  respond(status, type, body, extra = []) {
    const headers = [['Content-Type', type], ...this.common, ...extra];
    return { status, headers, body };
  }

  problem(native) {
    return this.respond(native.status, PROBLEM, native.body, native.headers.map(([k, v]) => [k, v]));
  }

  json(value, status = 200) {
    return this.respond(status, JSON_TYPE, JSON.stringify(value));
  }

  async handle(request) {
    const header = (name) => {
      const v = request.header(name);
      return v === undefined || v === null ? undefined : String(v);
    };
    const length = header('content-length');
    const decision = this.control.route({
      method: request.method,
      path: request.path,
      host: header('host'),
      origin: header('origin'),
      authorization: header('authorization'),
      contentType: header('content-type'),
      contentLength: length === undefined || !/^\d+$/.test(length) ? undefined : Number(length),
      accept: header('accept'),
    });
    if (decision.kind === 'not-mine') return null;
    if (decision.kind === 'respond') {
      // A refused mutation (token, Host, Origin, rate limit...) is logged too.
      if (MUTATING.has(request.method)) this.log({ action: 'refused', method: request.method, path: request.path, status: decision.response.status, ok: false });
      return this.problem(decision.response);
    }
    const route = decision.route;
    let body = null;
    if (route.mutation) {
      body = await request.body();
      if (body === null) return this.problem(this.control.tooLarge());
    }
    let response;
    try {
      response = await this.run(route, body);
    } catch (error) {
      response = this.problem(this.control.error(error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError ? 400 : 500, errorMessage(error)));
    }
    if (route.mutation) this.audit(route, response.status, request);
    if (request.method === 'HEAD') response.body = '';
    return response;
  }

  audit(route, status, request) {
    const event = {
      action: route.name,
      service: route.service ?? undefined,
      operation: route.operation ?? undefined,
      itemId: route.id ?? undefined,
      status,
      ok: status < 400,
      remoteAddress: request.remoteAddress,
      timestamp: Date.now(),
    };
    for (const k of Object.keys(event)) if (event[k] === undefined) delete event[k];
    try {
      this.emitter.emit('control', event);
    } catch (error) {
      process.emitWarning(`tripwire: a 'control' listener threw: ${errorMessage(error)}`);
    }
    this.log(event);
  }

  /** One line per mutation: what, on which breaker, the outcome (never the token). */
  log(event) {
    const logger = this.logger ?? tripwire.getLogger();
    if (logger === null) return;
    const target = event.path ?? [event.service, event.operation].filter((v) => v !== undefined).join('/');
    // `service` is the log line's own key (the logging process): the breaker's is `serviceName`.
    const { timestamp, service, ...fields } = event;
    if (service !== undefined) fields.serviceName = service;
    const message = `Control API: ${event.action}${event.method === undefined ? '' : ` ${event.method}`}${target === '' ? '' : ` ${target}`}${event.itemId === undefined ? '' : ` item ${event.itemId}`} answered ${event.status}`;
    try {
      if (event.ok) logger.info(message, { event: 'control', ...fields });
      else logger.warn(message, { event: 'control', ...fields });
    } catch {
      // A logger's failure is not the request's.
    }
  }

  async run(route, body) {
    const svc = this.service;
    switch (route.kind) {
      case 'health':
        return this.json(svc.getSystemHealth());
      case 'state': {
        const all = svc.getCircuitBreakerState();
        const out = {};
        for (const [name, s] of Object.entries(all)) {
          if (route.service != null && s.service !== route.service) continue;
          if (route.operation != null && s.operation !== route.operation) continue;
          Object.defineProperty(out, name, { value: s, enumerable: true, writable: true, configurable: true });
        }
        if (route.service != null && Object.keys(out).length === 0) {
          const what = route.operation == null ? `service ${JSON.stringify(route.service)}` : `breaker ${JSON.stringify(route.service)}/${JSON.stringify(route.operation)}`;
          return this.problem(this.control.error(404, `no ${what}`));
        }
        return this.json(out);
      }
      case 'reset':
        svc.resetCircuitBreaker(route.service, route.operation ?? undefined);
        return this.json({ action: 'reset', service: route.service, operation: route.operation ?? null });
      case 'force-open':
        svc.forceCircuitBreakerOpen(route.service, route.operation ?? undefined);
        return this.json({ action: 'force-open', service: route.service, operation: route.operation ?? null });
      case 'dead-letter-queue':
        return this.json({ ...svc.getDeadLetterStats(), items: this.letters().map((l) => ({ ...l, timestamp: l.time })) });
      case 'retry': {
        if (!svc.getDeadLetterQueue().some((d) => d.id === route.id)) {
          return this.problem(this.control.error(404, `no dead-letter item ${route.id}`));
        }
        try {
          await svc.retryDeadLetterItem(route.id);
          return this.json({ id: route.id, succeeded: true });
        } catch (error) {
          if (error instanceof RangeError) return this.problem(this.control.error(404, errorMessage(error)));
          if (/already being retried/.test(errorMessage(error))) return this.problem(this.control.error(409, errorMessage(error)));
          return this.json({ id: route.id, succeeded: false, error: errorMessage(error) });
        }
      }
      case 'config': {
        let update = {};
        if (body !== null && body.length > 0) {
          try {
            update = JSON.parse(body.toString('utf8'));
          } catch (error) {
            return this.problem(this.control.error(400, `the body is not JSON: ${errorMessage(error)}`));
          }
        }
        if (update === null || typeof update !== 'object' || Array.isArray(update)) {
          return this.problem(this.control.error(400, `the body must be a JSON object (as updateServiceConfig takes), not ${Array.isArray(update) ? 'an array' : describe(update)}`));
        }
        svc.updateServiceConfig(route.service, update);
        return this.json(svc.getServiceConfig(route.service));
      }
      case 'metrics': {
        const format = route.openMetrics ? 'openmetrics' : 'prometheus';
        return this.respond(200, metricsContentType(format), metricsText({ format }), [['Vary', 'Accept']]);
      }
      case 'snapshot': {
        const now = svc._clock === null ? NaN : svc._clock.now();
        return this.respond(200, JSON_TYPE, this.control.snapshot(svc._id, now, Date.now(), this.letters(), version));
      }
      case 'dashboard': {
        const page = asset('');
        return this.respond(200, page.type, page.body);
      }
      case 'asset': {
        const file = asset(route.asset);
        return this.respond(200, file.type, file.body);
      }
      default:
        return this.problem(this.control.error(404, 'no such control endpoint'));
    }
  }

  /** The dead letters as the dashboard lists them. */
  letters() {
    return this.service.getDeadLetterQueue().map((d) => ({
      id: d.id,
      service: d.service,
      operation: d.operation ?? '',
      attempts: d.attempts,
      error: d.error === undefined ? '' : errorMessage(d.error),
      time: typeof d.timestamp === 'number' ? d.timestamp : 0,
    }));
  }
}

/** Reads a node:http body, at most MAX_BODY bytes; null past that. */
function readNodeBody(req) {
  if (req.body !== undefined && req.readableEnded) {
    // A body parser ran first (express.json()): use what it read, held to the same
    // limit (the parser's own may be larger).
    const parsed = req.body;
    let body = Buffer.alloc(0);
    if (Buffer.isBuffer(parsed)) body = parsed;
    else if (typeof parsed === 'string') body = Buffer.from(parsed);
    else if (parsed !== null && typeof parsed === 'object' && Object.keys(parsed).length > 0) body = Buffer.from(JSON.stringify(parsed));
    return Promise.resolve(body.length > MAX_BODY ? null : body);
  }
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk) => {
      if (over) return;
      size += chunk.length;
      if (size > MAX_BODY) {
        over = true;
        chunks.length = 0;
        resolve(null);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function writeNode(req, res, response) {
  res.statusCode = response.status;
  for (const [k, v] of response.headers) res.setHeader(k, v);
  // Refused before its body was read: close rather than read (and keep) the rest of it.
  if (response.status >= 400 && !req.readableEnded) res.setHeader('Connection', 'close');
  res.end(response.body);
}

/** The emitter methods a handler or server object exposes for `control` events. */
function emitterOf(target, emitter) {
  for (const method of ['on', 'once', 'off', 'addListener', 'removeListener', 'removeAllListeners', 'listenerCount', 'emit']) {
    Object.defineProperty(target, method, {
      value(...args) {
        const out = emitter[method](...args);
        return out === emitter ? target : out;
      },
      configurable: true,
      writable: true,
    });
  }
  return target;
}

/**
 * A `(req, res, next?)` handler for node:http and Express/Connect: answers under
 * `basePath` (default `/api/circuit-breaker`, relative to where it is mounted), calls
 * `next()` elsewhere (or answers 404 without `next`). Emits `control` after every
 * mutation it ran (an audit event), and logs it (`logger`, default tripwire's own:
 * setLogger() / TRIPWIRE_LOG). Options: `service` (default: the package's
 * `circuitBreakerService`), `token` (default: `TRIPWIRE_CONTROL_TOKEN`), `basePath`, `logger`,
 * `loopback` (default true: reads need no token, the Host must be a loopback name;
 * false off loopback, where reads need the token too).
 */
function createControlHandler(options = {}) {
  const settings = settingsOf(options, 'createControlHandler');
  const emitter = new EventEmitter();
  const core = new ControlCore(settings, emitter);
  const handler = function tripwireControl(req, res, next) {
    const request = {
      method: req.method,
      // Express and Connect strip the mount point from req.url (it is in req.baseUrl):
      // the base path is matched below the mount point.
      path: req.url,
      header: (name) => req.headers[name],
      body: () => readNodeBody(req),
      remoteAddress: req.socket && req.socket.remoteAddress,
    };
    core.handle(request).then(
      (response) => {
        if (response !== null) writeNode(req, res, response);
        else if (typeof next === 'function') next();
        else writeNode(req, res, core.problem(core.control.error(404, 'no such control endpoint')));
      },
      (error) => {
        if (typeof next === 'function') next(error);
        else writeNode(req, res, core.problem(core.control.error(500, errorMessage(error))));
      },
    );
  };
  Object.defineProperty(handler, 'basePath', { value: core.control.basePath, enumerable: true });
  Object.defineProperty(handler, 'close', { value: () => core.close() });
  return emitterOf(handler, emitter);
}

/** Reads a fetch Request's body, at most MAX_BODY bytes; null past that. */
async function readFetchBody(request) {
  if (request.body === null) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  return Buffer.concat(chunks);
}

/**
 * A `(request: Request) => Promise<Response>` handler for fetch runtimes (Hono, Bun,
 * Deno, Next route handlers). Paths outside the base path answer 404. The returned
 * function is an EventEmitter for `control` audit events, like createControlHandler's.
 */
function createControlFetchHandler(options = {}) {
  const settings = settingsOf(options, 'createControlFetchHandler');
  const emitter = new EventEmitter();
  const core = new ControlCore(settings, emitter);
  const handler = async function tripwireControlFetch(request) {
    const url = new URL(request.url);
    const response = await core.handle({
      method: request.method,
      path: url.pathname + url.search,
      header: (name) => {
        // A fetch Request carries no Host header of its own: the URL's host is it.
        if (name === 'host') return request.headers.get('host') ?? url.host;
        return request.headers.get(name) ?? undefined;
      },
      body: () => readFetchBody(request),
    });
    const out = response ?? core.problem(core.control.error(404, 'no such control endpoint'));
    return new Response(request.method === 'HEAD' || out.status === 204 ? null : out.body, { status: out.status, headers: out.headers });
  };
  Object.defineProperty(handler, 'basePath', { value: core.control.basePath, enumerable: true });
  Object.defineProperty(handler, 'close', { value: () => core.close() });
  return emitterOf(handler, emitter);
}

/**
 * Serves the control API on its own node:http server: `host` (default 127.0.0.1;
 * a non-loopback host needs a token), `port` (default 0: any free port). Resolves
 * with `{ url, port, host, server, close() }`, an EventEmitter of `control` events;
 * `url` is the base path's URL.
 */
async function serve(options = {}) {
  if (options === null || typeof options !== 'object') throw new TypeError(`serve() needs an options object, not ${describe(options)}`);
  const host = options.host === undefined ? '127.0.0.1' : options.host;
  if (typeof host !== 'string' || host === '') throw new TypeError(`invalid option \`host\`: must be a host name or address, not ${describe(host)}`);
  const port = options.port === undefined ? 0 : options.port;
  if (typeof port !== 'number') throw new TypeError(`invalid option \`port\`: must be a number, not ${describe(port)}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`invalid option \`port\`: must be a whole number in 0..65535, not ${port}`);
  const loopback = isLoopback(host);
  const settings = settingsOf({ ...options, loopback }, 'serve');
  if (!loopback && settings.token === null) {
    throw new RangeError(`invalid option \`host\`: ${host} is not a loopback address; serving beyond loopback needs a \`token\` (or TRIPWIRE_CONTROL_TOKEN)`);
  }
  const http = require('node:http');
  const handler = createControlHandler({ ...options, ...settings });
  const server = http.createServer((req, res) => handler(req, res));
  // A request and its body (64 KiB at most) arrive within 15 s, not Node's 300 s.
  server.requestTimeout = 15_000;
  server.headersTimeout = 15_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const shown = address.family === 'IPv6' || address.family === 6 ? `[${address.address}]` : address.address;
  const result = {
    url: `http://${shown}:${address.port}${handler.basePath}`,
    port: address.port,
    host: address.address,
    server,
    close() {
      handler.close();
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  const emitter = new EventEmitter();
  handler.on('control', (event) => result.emit('control', event));
  return emitterOf(result, emitter);
}

module.exports = { createControlHandler, createControlFetchHandler, serve, MAX_BODY };
