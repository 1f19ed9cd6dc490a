// Seed 000's health checks through the package: aggregation (the core's rule), throwing
// and slow checks, the Lambda-style handlers, the node:http handler, the ready-made
// checks (the HTTP one against a local server on 127.0.0.1).
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import {
  HealthCheckManager,
  createHealthCheckHandler,
  createHealthCheckHttpHandler,
  createEnvVarHealthCheck,
  createMemoryHealthCheck,
  createHttpHealthCheck,
  createCircuitBreaker,
  circuitBreakerRegistry,
  ManualClock,
} from 'tripwire';

const pass = (name, critical = true) => ({ name, critical, check: async () => ({ healthy: true, message: `${name} ok` }) });
const fail = (name, critical = true) => ({ name, critical, check: async () => ({ healthy: false, message: `${name} down` }) });

describe('HealthCheckManager', () => {
  test('critical failures make the report unhealthy, non-critical ones degraded', async () => {
    const cases = [
      [[], 'healthy'],
      [[pass('a'), pass('b', false)], 'healthy'],
      [[pass('a'), fail('b', false)], 'degraded'],
      [[fail('a'), pass('b', false)], 'unhealthy'],
      [[fail('a', false), fail('b')], 'unhealthy'],
    ];
    for (const [checks, expected] of cases) {
      const report = await new HealthCheckManager({ serviceName: 'svc', version: '1.2.3', checks }).executeHealthChecks();
      assert.equal(report.status, expected, JSON.stringify(checks.map((c) => c.name)));
    }
  });

  test('the report: status, timestamp, service, version, checks with status, message, responseTime', async () => {
    const m = new HealthCheckManager({ serviceName: 'payments-svc', version: '1.0.0', checks: [pass('db')] });
    m.registerCheck(fail('cache', false));
    const r = await m.executeHealthChecks();
    assert.equal(r.service, 'payments-svc');
    assert.equal(r.version, '1.0.0');
    assert.ok(!Number.isNaN(Date.parse(r.timestamp)));
    assert.deepEqual(Object.keys(r.checks), ['db', 'cache']);
    assert.equal(r.checks.db.status, 'healthy');
    assert.equal(r.checks.db.message, 'db ok');
    assert.equal(r.checks.cache.status, 'unhealthy');
    assert.equal(typeof r.checks.db.responseTime, 'number');
    assert.equal(r.status, 'degraded');
  });

  test('a throwing check, a bad answer and a check past its timeout are failures, never crashes', async () => {
    const clock = new ManualClock(0);
    const m = new HealthCheckManager({
      clock,
      timeout: 50,
      checks: [
        { name: 'throws', check: () => { throw new Error('kaput'); } },
        { name: 'rejects', critical: false, check: async () => { throw new Error('async kaput'); } },
        { name: 'answers nonsense', critical: false, check: async () => 42 },
        { name: 'hangs', critical: false, check: () => new Promise(() => {}) },
        { name: 'boolean', check: () => true },
      ],
    });
    const running = m.executeHealthChecks();
    await new Promise((r) => setImmediate(r));
    clock.advance(50);
    const r = await running;
    assert.equal(r.status, 'unhealthy');
    assert.equal(r.checks.throws.message, 'kaput');
    assert.equal(r.checks.rejects.message, 'async kaput');
    assert.equal(r.checks['answers nonsense'].status, 'unhealthy');
    assert.equal(r.checks.hangs.status, 'unhealthy');
    assert.equal(r.checks.hangs.message, 'Timed out after 50ms');
    assert.equal(r.checks.boolean.status, 'healthy');
  });

  test('the report lists every registered breaker\'s stats', async () => {
    circuitBreakerRegistry.clear();
    const stripe = createCircuitBreaker('stripe', { timeout: false });
    await stripe.execute(async () => 1);
    const r = await new HealthCheckManager({ serviceName: 's' }).executeHealthChecks();
    assert.deepEqual(Object.keys(r.circuitBreakers), ['stripe']);
    assert.equal(r.circuitBreakers.stripe.state, 'CLOSED');
    assert.equal(r.circuitBreakers.stripe.successCount, 1);
    assert.equal(r.circuitBreakers.stripe.totalRequests, 1);
    assert.equal(r.circuitBreakers.stripe.failureRate, 0);
    circuitBreakerRegistry.clear();
  });

  test('bad checks are refused when registered', () => {
    const m = new HealthCheckManager();
    assert.throws(() => m.registerCheck({ name: 'x' }), TypeError);
    assert.throws(() => m.registerCheck({ check: async () => true }), TypeError);
    assert.throws(() => new HealthCheckManager({ checks: 'no' }), TypeError);
  });
});

describe('handlers', () => {
  test('liveness 200; readiness and health 200 when healthy or degraded, 503 when unhealthy', async () => {
    for (const [checks, code] of [[[pass('a')], 200], [[fail('a', false)], 200], [[fail('a')], 503]]) {
      const h = createHealthCheckHandler(new HealthCheckManager({ serviceName: 'svc', version: '1', checks }));
      const live = await h.liveness();
      assert.equal(live.statusCode, 200);
      assert.equal(JSON.parse(live.body).status, 'alive');
      for (const handler of [h.readiness, h.health]) {
        const r = await handler({}, {});
        assert.equal(r.statusCode, code);
        assert.equal(r.headers['Content-Type'], 'application/json');
        assert.equal(typeof r.body, 'string');
        const body = JSON.parse(r.body);
        assert.equal(body.service, 'svc');
        assert.ok(['healthy', 'degraded', 'unhealthy'].includes(body.status));
      }
      assert.ok('circuitBreakers' in JSON.parse((await h.health()).body));
    }
  });

  test('a node:http handler on 127.0.0.1', async () => {
    let healthy = true;
    const m = new HealthCheckManager({ serviceName: 'svc', checks: [{ name: 'flag', check: async () => ({ healthy, message: String(healthy) }) }] });
    const server = createServer(createHealthCheckHttpHandler(m));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const get = (path) =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.address().port, path, agent: false }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      assert.equal((await get('/health/liveness')).status, 200);
      assert.equal((await get('/health/readiness')).status, 200);
      const full = await get('/health');
      assert.equal(full.status, 200);
      assert.equal(JSON.parse(full.body).checks.flag.status, 'healthy');
      healthy = false;
      assert.equal((await get('/health/readiness')).status, 503);
      assert.equal((await get('/health/')).status, 503);
      assert.equal((await get('/elsewhere')).status, 404);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('ready-made checks', () => {
  test('environment variables', async () => {
    process.env.TRIPWIRE_TEST_PRESENT = 'yes';
    delete process.env.TRIPWIRE_TEST_MISSING;
    const ok = createEnvVarHealthCheck(['TRIPWIRE_TEST_PRESENT']);
    assert.equal(ok.name, 'environment-variables');
    assert.equal(ok.critical, true);
    assert.deepEqual(await ok.check(), { healthy: true, message: 'All required variables present' });
    const missing = await createEnvVarHealthCheck(['TRIPWIRE_TEST_PRESENT', 'TRIPWIRE_TEST_MISSING']).check();
    assert.equal(missing.healthy, false);
    assert.match(missing.message, /TRIPWIRE_TEST_MISSING/);
    assert.doesNotMatch(missing.message, /TRIPWIRE_TEST_PRESENT/);
    assert.equal(createEnvVarHealthCheck([], { critical: false }).critical, false);
  });

  test('memory: heap used as a percentage of the heap limit', async () => {
    const roomy = await createMemoryHealthCheck(100).check();
    assert.equal(roomy.healthy, true);
    const percent = Number(/Memory usage at ([\d.]+)%/.exec(roomy.message)[1]);
    assert.ok(percent > 0 && percent < 100);
    const tight = await createMemoryHealthCheck(percent / 1000).check();
    assert.equal(tight.healthy, false);
    assert.throws(() => createMemoryHealthCheck(0), RangeError);
  });

  describe('http', () => {
    let server;
    let base;
    before(async () => {
      server = createServer((req, res) => {
        if (req.url === '/ok') res.writeHead(200).end('fine');
        else if (req.url === '/teapot') res.writeHead(418).end();
        else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end(), 2000).unref();
        else res.writeHead(503).end();
      });
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${server.address().port}`;
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    test('2xx is healthy, anything else is not, unless expected', async () => {
      assert.equal((await createHttpHealthCheck(`${base}/ok`).check()).healthy, true);
      const down = await createHttpHealthCheck(`${base}/down`).check();
      assert.equal(down.healthy, false);
      assert.match(down.message, /HTTP 503/);
      assert.equal((await createHttpHealthCheck(`${base}/teapot`, { expectedStatus: 418 }).check()).healthy, true);
      assert.equal((await createHttpHealthCheck(`${base}/teapot`, { expectedStatus: [200, 204] }).check()).healthy, false);
    });

    test('a refused connection and a timeout are failures', async () => {
      const closed = createServer();
      await new Promise((r) => closed.listen(0, '127.0.0.1', r));
      const port = closed.address().port;
      await new Promise((r) => closed.close(r));
      const refused = await createHttpHealthCheck(`http://127.0.0.1:${port}/`).check();
      assert.equal(refused.healthy, false);
      assert.match(refused.message, /ECONNREFUSED/);
      const slow = await createHttpHealthCheck(`${base}/slow`, { timeout: 20 }).check();
      assert.equal(slow.healthy, false);
      assert.match(slow.message, /no answer within 20ms/);
    });

    test('in a manager, critical unless created with { critical: false }', async () => {
      const m = new HealthCheckManager({ checks: [createHttpHealthCheck(`${base}/down`, { name: 'upstream', critical: false })] });
      const r = await m.executeHealthChecks();
      assert.equal(r.status, 'degraded');
      assert.equal(createHttpHealthCheck(`${base}/ok`).critical, true);
    });
  });
});
