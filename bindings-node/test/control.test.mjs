// tripwire/control (issue 12): seed 004's endpoints over a CircuitBreakerService, the
// security defaults (token, Host, Origin, body, rate limit), problem+json errors,
// node:http, Express (mounted), Fastify and fetch handlers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { CircuitBreakerService } from 'tripwire';
import { createControlHandler, createControlFetchHandler, serve } from 'tripwire/control';

const require = createRequire(import.meta.url);
const BASE = '/api/circuit-breaker';

/** One HTTP request through node:http (so Host can be anything); resolves { status, headers, body, json }. */
function request(port, method, path, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, body: text, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** A service with a breaker, a tripped breaker and a dead letter. */
async function busyService() {
  const svc = new CircuitBreakerService();
  svc.updateServiceConfig('db', { config: { failureThreshold: 2 }, retryPolicy: { maxAttempts: 1 } });
  await svc.executeWithCircuitBreaker('db', 'query', async () => 'ok');
  let flaky = true;
  const write = async () => { if (flaky) throw new Error('disk full'); return 'ok'; };
  await svc.executeWithCircuitBreaker('db', 'write', write, { fallbackOptions: { queue: true } }).catch(() => {});
  await svc.executeWithCircuitBreaker('db', 'write', write).catch(() => {});
  flaky = false;
  return svc;
}

async function withServer(options, fn) {
  const server = await serve(options);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

const bearer = (t) => ({ authorization: `Bearer ${t}` });

test('the main entry does not load node:http', () => {
  const run = spawnSync(process.execPath, ['-e', "require('tripwire'); console.log(process.moduleLoadList.filter((m) => /^NativeModule (http|_http_server|net)$/.test(m)).join(','))"], { encoding: 'utf8', cwd: new URL('..', import.meta.url).pathname });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), '', 'node:http, node:net stay unloaded');
});

test('auth: no token → 403 for mutations; wrong → 401 with WWW-Authenticate; right → 200; audited', async () => {
  const svc = await busyService();
  const previous = process.env.TRIPWIRE_CONTROL_TOKEN;
  delete process.env.TRIPWIRE_CONTROL_TOKEN;
  try {
    await withServer({ service: svc }, async ({ port }) => {
      const r = await request(port, 'POST', `${BASE}/reset/db`, { headers: bearer('anything') });
      assert.equal(r.status, 403);
      assert.match(r.headers['content-type'], /^application\/problem\+json/);
      assert.equal(r.json.status, 403);
      assert.equal((await request(port, 'GET', `${BASE}/health`)).status, 200, 'reads stay open on loopback');
    });
  } finally {
    if (previous !== undefined) process.env.TRIPWIRE_CONTROL_TOKEN = previous;
  }
  await withServer({ service: svc, token: 's3cret' }, async (server) => {
    const events = [];
    server.on('control', (e) => events.push(e));
    const missing = await request(server.port, 'POST', `${BASE}/force-open/db/query`);
    assert.equal(missing.status, 401);
    assert.match(missing.headers['www-authenticate'], /^Bearer/);
    const wrong = await request(server.port, 'POST', `${BASE}/force-open/db/query`, { headers: bearer('s3cre') });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers['www-authenticate'], /^Bearer/);
    assert.equal(svc.getCircuitBreaker('db', 'query').getState(), 'CLOSED', 'refused: nothing changed');
    const right = await request(server.port, 'POST', `${BASE}/force-open/db/query`, { headers: bearer('s3cret') });
    assert.equal(right.status, 200);
    assert.equal(svc.getCircuitBreaker('db', 'query').getState(), 'OPEN');
    assert.equal(events.length, 1);
    assert.deepEqual({ ...events[0], timestamp: 0, remoteAddress: 0 }, { action: 'force-open', service: 'db', operation: 'query', status: 200, ok: true, timestamp: 0, remoteAddress: 0 });
  });
  process.env.TRIPWIRE_CONTROL_TOKEN = 'from-env';
  try {
    await withServer({ service: svc }, async ({ port }) => {
      assert.equal((await request(port, 'POST', `${BASE}/reset/db`, { headers: bearer('from-env') })).status, 200, 'the token from TRIPWIRE_CONTROL_TOKEN');
    });
  } finally {
    if (previous === undefined) delete process.env.TRIPWIRE_CONTROL_TOKEN;
    else process.env.TRIPWIRE_CONTROL_TOKEN = previous;
  }
});

test('Host must be loopback, cross-site mutations are refused, bodies ≤ 64 KiB, mutations rate-limited', async () => {
  const svc = await busyService();
  await withServer({ service: svc, token: 't' }, async ({ port }) => {
    const rebound = await request(port, 'GET', `${BASE}/health`, { headers: { host: 'attacker.example' } });
    assert.equal(rebound.status, 403, 'DNS rebinding: a foreign Host is refused');
    assert.equal((await request(port, 'GET', `${BASE}/health`, { headers: { host: `localhost:${port}` } })).status, 200);

    const cross = await request(port, 'POST', `${BASE}/reset/db`, { headers: { ...bearer('t'), origin: 'http://evil.example' } });
    assert.equal(cross.status, 403);
    assert.equal(cross.json.title, 'Cross-origin request');
    const same = await request(port, 'POST', `${BASE}/reset/db`, { headers: { ...bearer('t'), origin: `http://127.0.0.1:${port}` } });
    assert.equal(same.status, 200);

    const big = JSON.stringify({ config: { pad: 'x'.repeat(70 * 1024) } });
    const declared = await request(port, 'PUT', `${BASE}/config/db`, { headers: { ...bearer('t'), 'content-type': 'application/json', 'content-length': Buffer.byteLength(big) }, body: big });
    assert.equal(declared.status, 413);
    const chunked = await request(port, 'PUT', `${BASE}/config/db`, { headers: { ...bearer('t'), 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body: big });
    assert.equal(chunked.status, 413, 'a chunked body is counted as it is read');
    const form = await request(port, 'POST', `${BASE}/reset/db`, { headers: { ...bearer('t'), 'content-type': 'text/plain' }, body: 'hi' });
    assert.equal(form.status, 415);

    let limited;
    for (let i = 0; i < 60 && limited === undefined; i++) {
      const r = await request(port, 'POST', `${BASE}/reset/db`, { headers: bearer('t') });
      if (r.status === 429) limited = r;
      else assert.equal(r.status, 200);
    }
    assert.ok(limited, 'the token bucket empties');
    assert.match(limited.headers['retry-after'], /^\d+$/);
    assert.match(limited.headers['content-type'], /^application\/problem\+json/);
  });
});

test('every endpoint', async () => {
  const svc = await busyService();
  await withServer({ service: svc, token: 't' }, async ({ port, url }) => {
    assert.equal(url, `http://127.0.0.1:${port}${BASE}`);
    const health = await request(port, 'GET', `${BASE}/health`);
    assert.equal(health.status, 200);
    assert.equal(health.headers['content-security-policy'], "default-src 'self'; frame-ancestors 'none'");
    assert.equal(health.headers['x-content-type-options'], 'nosniff');
    assert.equal(health.json.overall, 'degraded');

    assert.deepEqual(Object.keys((await request(port, 'GET', `${BASE}/state`)).json).sort(), ['db:query', 'db:write']);
    assert.deepEqual(Object.keys((await request(port, 'GET', `${BASE}/state/db/write`)).json), ['db:write']);
    assert.equal((await request(port, 'GET', `${BASE}/state/db/write`)).json['db:write'].state, 'OPEN');
    const nobody = await request(port, 'GET', `${BASE}/state/nobody`);
    assert.equal(nobody.status, 404);
    assert.match(nobody.headers['content-type'], /^application\/problem\+json/);

    assert.equal((await request(port, 'POST', `${BASE}/reset/db/write`, { headers: bearer('t') })).status, 200);
    assert.equal(svc.getCircuitBreaker('db', 'write').getState(), 'CLOSED');
    assert.equal((await request(port, 'POST', `${BASE}/force-open/db`, { headers: bearer('t') })).status, 200);
    assert.equal(svc.getSystemHealth().services.db.forcedOpen, true);
    assert.equal((await request(port, 'POST', `${BASE}/reset/db`, { headers: bearer('t') })).status, 200);
    assert.equal(svc.getSystemHealth().services.db.forcedOpen, false);

    const dlq = (await request(port, 'GET', `${BASE}/dead-letter-queue`)).json;
    assert.equal(dlq.size, 1);
    assert.equal(dlq.items[0].error, 'disk full');
    const retried = await request(port, 'POST', `${BASE}/retry/${dlq.items[0].id}`, { headers: bearer('t') });
    assert.equal(retried.status, 200);
    assert.equal(retried.json.succeeded, true);
    assert.equal(svc.getDeadLetterQueue().length, 0);
    assert.equal((await request(port, 'POST', `${BASE}/retry/999`, { headers: bearer('t') })).status, 404);

    const put = (body) => request(port, 'PUT', `${BASE}/config/db`, { headers: { ...bearer('t'), 'content-type': 'application/json' }, body });
    const ok = await put(JSON.stringify({ bulkhead: { maxConcurrent: 3 } }));
    assert.equal(ok.status, 200);
    assert.equal(svc.getServiceConfig('db').bulkhead.maxConcurrent, 3);
    const bad = await put(JSON.stringify({ config: { failureThreshold: -1 } }));
    assert.equal(bad.status, 400);
    assert.match(bad.json.detail, /failureThreshold/, 'the core\'s message names the option');
    const unknown = await put(JSON.stringify({ config: { failureTreshold: 2 } }));
    assert.equal(unknown.status, 400);
    assert.match(unknown.json.detail, /failureTreshold/);
    assert.equal((await put('{not json')).status, 400);
    assert.equal((await put('[1]')).status, 400);

    const prom = await request(port, 'GET', `${BASE}/metrics`);
    assert.equal(prom.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(prom.body, /^# HELP tripwire_circuitbreaker_state /);
    const om = await request(port, 'GET', `${BASE}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
    assert.equal(om.headers['content-type'], 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    assert.ok(om.body.endsWith('# EOF\n'));

    const snap = (await request(port, 'GET', `${BASE}/snapshot`)).json;
    assert.equal(snap.runtime, 'node');
    assert.deepEqual(snap.breakers.map((b) => b.name).sort(), ['db:query', 'db:write']);

    const page = await request(port, 'GET', `${BASE}/dashboard`);
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /^text\/html/);
    for (const file of ['tripwire-dashboard.js', 'uPlot.iife.min.js', 'uPlot.min.css', 'dashboard.css']) {
      const r = await request(port, 'GET', `${BASE}/dashboard/${file}`);
      assert.equal(r.status, 200, file);
    }
    assert.equal((await request(port, 'GET', `${BASE}/dashboard/../../package.json`)).status, 404);

    const missing = await request(port, 'GET', `${BASE}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json.type, 'about:blank');
    const method = await request(port, 'GET', `${BASE}/reset/db`);
    assert.equal(method.status, 405);
    assert.equal(method.headers.allow, 'POST');
    assert.equal((await request(port, 'GET', '/elsewhere')).status, 404, 'outside the base path, no next(): 404');
  });
});

test('serve() refuses a non-loopback host without a token; options are checked', async () => {
  const previous = process.env.TRIPWIRE_CONTROL_TOKEN;
  delete process.env.TRIPWIRE_CONTROL_TOKEN;
  try {
    await assert.rejects(serve({ host: '0.0.0.0' }), (e) => e instanceof RangeError && /token/.test(e.message));
  } finally {
    if (previous !== undefined) process.env.TRIPWIRE_CONTROL_TOKEN = previous;
  }
  await assert.rejects(serve({ port: 'x' }), (e) => e instanceof TypeError && /port/.test(e.message));
  await assert.rejects(serve({ port: 70000 }), (e) => e instanceof RangeError && /port/.test(e.message));
  assert.throws(() => createControlHandler({ service: {} }), (e) => e instanceof TypeError && /service/.test(e.message));
  assert.throws(() => createControlHandler({ token: 5 }), (e) => e instanceof TypeError && /token/.test(e.message));
  assert.throws(() => createControlHandler({ basePath: 'ops' }), (e) => e instanceof RangeError && /basePath/.test(e.message));
});

test('a mutation refused before its body arrives closes the connection instead of reading the rest', async () => {
  const server = await serve({ service: new CircuitBreakerService(), token: 't' });
  try {
    const socket = net.connect(server.port, '127.0.0.1');
    let reply = '';
    socket.on('data', (d) => { reply += d; });
    const closed = new Promise((resolve) => socket.once('close', resolve));
    // Announces a body it never sends: without the token the answer is 401, at once.
    socket.write(`POST /api/circuit-breaker/reset/db HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{`);
    await closed;
    assert.match(reply, /^HTTP\/1\.1 401 /);
    assert.match(reply, /\r\nConnection: close\r\n/i);
  } finally {
    await server.close();
  }
});

test('a token no client could send is refused when the handler is made, naming where it came from', () => {
  // node:http trims header values and reads them as Latin-1; long headers get 431.
  for (const token of ['', 'secret ', 'sec ret', 'sécret', 'x'.repeat(1025)]) {
    assert.throws(() => createControlHandler({ token }), (e) => e instanceof RangeError && /option `token`/.test(e.message), JSON.stringify(token));
  }
  const previous = process.env.TRIPWIRE_CONTROL_TOKEN;
  process.env.TRIPWIRE_CONTROL_TOKEN = 'from env ';
  try {
    assert.throws(() => createControlHandler({}), (e) => e instanceof RangeError && /TRIPWIRE_CONTROL_TOKEN: must be visible ASCII/.test(e.message));
  } finally {
    if (previous === undefined) delete process.env.TRIPWIRE_CONTROL_TOKEN;
    else process.env.TRIPWIRE_CONTROL_TOKEN = previous;
  }
  assert.doesNotThrow(() => createControlHandler({ token: 'x'.repeat(1024) }));
});

test('Express: mounted with app.use("/ops", handler); other paths reach next()', async () => {
  const express = require('express');
  const svc = await busyService();
  const app = express();
  const handler = createControlHandler({ service: svc, token: 't' });
  const audit = [];
  handler.on('control', (e) => audit.push(e.action));
  app.use('/ops', handler);
  app.get('/ops/other', (req, res) => res.send('mine'));
  const server = app.listen(0, '127.0.0.1');
  try {
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address();
    const health = await request(port, 'GET', `/ops${BASE}/health`);
    assert.equal(health.status, 200);
    assert.equal(health.json.overall, 'degraded');
    assert.equal((await request(port, 'POST', `/ops${BASE}/force-open/db`, { headers: { ...bearer('t'), origin: `http://127.0.0.1:${port}` } })).status, 200);
    assert.equal(svc.getSystemHealth().services.db.forcedOpen, true);
    assert.deepEqual(audit, ['force-open']);
    const other = await request(port, 'GET', '/ops/other');
    assert.equal(other.body, 'mine', 'next() for paths outside the base path');
    assert.equal((await request(port, 'GET', `${BASE}/health`)).status, 404, 'not mounted at the root');
    const page = await request(port, 'GET', `/ops${BASE}/dashboard`);
    assert.match(page.body, /src="dashboard\/tripwire-dashboard.js"/, 'relative URLs: the page works below the mount point');
    assert.equal((await request(port, 'GET', `/ops${BASE}/dashboard/tripwire-dashboard.js`)).status, 200);
  } finally {
    handler.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('Express with express.json() first: the parsed body is used', async () => {
  const express = require('express');
  const svc = new CircuitBreakerService();
  const app = express();
  // A parser whose own limit is larger than the control API's 64 KiB.
  app.use(express.json({ limit: '1mb' }));
  app.use(createControlHandler({ service: svc, token: 't' }));
  const server = app.listen(0, '127.0.0.1');
  try {
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address();
    const r = await request(port, 'PUT', `${BASE}/config/api`, { headers: { ...bearer('t'), 'content-type': 'application/json' }, body: JSON.stringify({ preset: 'llm' }) });
    assert.equal(r.status, 200, r.body);
    assert.equal(svc.getServiceConfig('api').preset, 'llm');
    // Past the limit once parsed, whatever the parser allowed (and chunked: no Content-Length).
    const big = JSON.stringify({ preset: 'llm', config: { failureThreshold: 5 }, padding: 'x'.repeat(70_000) });
    const over = await request(port, 'PUT', `${BASE}/config/api`, { headers: { ...bearer('t'), 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body: big });
    assert.equal(over.status, 413, over.body);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('Fastify: the raw request and response, with reply.hijack()', async () => {
  const Fastify = require('fastify');
  const svc = await busyService();
  const handler = createControlHandler({ service: svc, token: 't' });
  const app = Fastify();
  // Fastify parses JSON bodies itself: leave them raw for the handler.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (req, payload, done) => done(null));
  app.all(`${BASE}/*`, (req, reply) => {
    reply.hijack();
    handler(req.raw, reply.raw);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const { port } = app.server.address();
    assert.equal((await request(port, 'GET', `${BASE}/health`)).json.overall, 'degraded');
    assert.equal((await request(port, 'POST', `${BASE}/force-open/db/query`, { headers: bearer('t') })).status, 200);
    assert.equal(svc.getCircuitBreaker('db', 'query').getState(), 'OPEN');
    const r = await request(port, 'PUT', `${BASE}/config/db`, { headers: { ...bearer('t'), 'content-type': 'application/json' }, body: JSON.stringify({ bulkhead: { maxConcurrent: 7 } }) });
    assert.equal(r.status, 200, r.body);
    assert.equal(svc.getServiceConfig('db').bulkhead.maxConcurrent, 7);
    assert.equal((await request(port, 'POST', `${BASE}/reset/db`)).status, 401);
  } finally {
    handler.close();
    await app.close();
  }
});

test('fetch handler: real Request objects in, Response out', async () => {
  const svc = await busyService();
  const handle = createControlFetchHandler({ service: svc, token: 't', basePath: '/cb' });
  const audit = [];
  handle.on('control', (e) => audit.push(e));
  const health = await handle(new Request('http://localhost:3000/cb/health'));
  assert.ok(health instanceof Response);
  assert.equal(health.status, 200);
  assert.equal((await health.json()).overall, 'degraded');
  const refused = await handle(new Request('http://localhost:3000/cb/reset/db', { method: 'POST' }));
  assert.equal(refused.status, 401);
  assert.match(refused.headers.get('www-authenticate'), /^Bearer/);
  assert.equal(refused.headers.get('content-type'), 'application/problem+json');
  const rebound = await handle(new Request('http://evil.example/cb/health'));
  assert.equal(rebound.status, 403, 'the URL host is the Host');
  const put = await handle(new Request('http://localhost:3000/cb/config/db', { method: 'PUT', headers: { ...bearer('t'), 'content-type': 'application/json' }, body: JSON.stringify({ retryPolicy: { maxAttempts: 5 } }) }));
  assert.equal(put.status, 200);
  assert.equal(svc.getServiceConfig('db').retryPolicy.maxAttempts, 5);
  const huge = await handle(new Request('http://localhost:3000/cb/config/db', { method: 'PUT', headers: { ...bearer('t'), 'content-type': 'application/json' }, body: new ReadableStream({ start(c) { c.enqueue(new Uint8Array(65 * 1024)); c.close(); } }), duplex: 'half' }));
  assert.equal(huge.status, 413, 'a streamed body past 64 KiB');
  const cross = await handle(new Request('http://localhost:3000/cb/force-open/db', { method: 'POST', headers: { ...bearer('t'), origin: 'https://evil.example' } }));
  assert.equal(cross.status, 403);
  const om = await handle(new Request('http://localhost:3000/cb/metrics', { headers: { accept: 'application/openmetrics-text' } }));
  assert.match(om.headers.get('content-type'), /^application\/openmetrics-text/);
  assert.equal((await handle(new Request('http://localhost:3000/elsewhere'))).status, 404);
  assert.deepEqual(audit.map((e) => [e.action, e.status]), [['config', 200]], 'mutations that ran are audited');
  handle.close();
});
