// tripwire/aws against moto's local AWS server (scripts/with-moto.sh starts it on a free
// loopback port and sets AWS_ENDPOINT_URL, dummy credentials and TRIPWIRE_MOTO_URL):
// the DynamoDB health check, Cloud Map registration / discovery / health / signals, the
// locator's cache and stale-on-error path, the CloudWatch publisher, the JSON logger,
// the ready-made breakers, and which SDK packages get loaded. No internet, no account.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as aws from 'tripwire/aws';
import * as mainApi from 'tripwire';

const {
  createDynamoDBHealthCheck,
  ServiceDiscoveryManager,
  createServiceDiscovery,
  ServiceLocator,
  publishCircuitBreakerMetrics,
  createLogger,
  logBreakerTransitions,
  stripeCircuitBreaker,
  weatherApiCircuitBreaker,
  HealthCheckManager,
  CircuitBreaker,
  ManualClock,
  circuitBreakerRegistry,
  CircuitBreakerOpenError,
} = aws;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MOTO = process.env.TRIPWIRE_MOTO_URL;
const skip = MOTO ? false : 'needs moto: run through scripts/with-moto.sh (scripts/test-node.sh does)';
const require = createRequire(import.meta.url);
const uid = () => Math.random().toString(36).slice(2, 10);

function listen(handler) {
  return new Promise((resolve) => {
    const server = createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
const close = (server) => new Promise((resolve) => server.close(resolve));
const urlOf = (server) => `http://127.0.0.1:${server.address().port}`;

/** A line collector for the logger. */
function sink() {
  const lines = [];
  return { lines, write: (s) => lines.push(s), entries: () => lines.map((l) => JSON.parse(l)) };
}

describe('loading', () => {
  test("require('tripwire') loads no AWS SDK package; neither does require('tripwire/aws') alone", () => {
    const out = spawnSync(process.execPath, ['-e', `
      require('tripwire');
      const a = Object.keys(require.cache).filter((k) => k.includes('@aws-sdk')).length;
      const aws = require('tripwire/aws');
      const b = Object.keys(require.cache).filter((k) => k.includes('@aws-sdk')).length;
      aws.createLogger({ destination: { write() {} } }).info('x');
      const c = Object.keys(require.cache).filter((k) => k.includes('@aws-sdk')).length;
      aws.createDynamoDBHealthCheck('t');
      const d = Object.keys(require.cache).filter((k) => k.includes('@aws-sdk/client-dynamodb')).length;
      console.log(JSON.stringify([a, b, c, d > 0]));`], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout), [0, 0, 0, true]);
  });

  test('a missing SDK package is an error that names it', () => {
    // A preload makes @aws-sdk/client-cloudwatch unresolvable, as when it is not installed.
    const out = spawnSync(process.execPath, ['-e', `
      const Module = require('module');
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (request === '@aws-sdk/client-cloudwatch') {
          const e = new Error("Cannot find module '@aws-sdk/client-cloudwatch'"); e.code = 'MODULE_NOT_FOUND'; throw e;
        }
        return resolve.call(this, request, ...rest);
      };
      const aws = require('tripwire/aws');
      try { aws.publishCircuitBreakerMetrics({ namespace: 'N' }); console.log('no error'); }
      catch (e) { console.log(JSON.stringify({ message: e.message, code: e.code, pkg: e.packageName })); }`], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const e = JSON.parse(out.stdout);
    assert.equal(e.code, 'ERR_TRIPWIRE_AWS_SDK_MISSING');
    assert.equal(e.pkg, '@aws-sdk/client-cloudwatch');
    assert.match(e.message, /npm install @aws-sdk\/client-cloudwatch/);
  });

  test('tripwire/aws re-exports the whole main API (same objects)', () => {
    for (const [name, value] of Object.entries(mainApi)) {
      if (name === 'default') continue;
      assert.equal(aws[name], value, name);
    }
    const cjs = require('tripwire/aws');
    for (const name of Object.keys(require('tripwire'))) assert.equal(cjs[name], require('tripwire')[name], name);
    assert.equal(cjs.createServiceDiscovery, aws.createServiceDiscovery);
  });
});

describe('logger', () => {
  test('one JSON object per line: timestamp, level, message, service, fields', () => {
    const out = sink();
    const log = createLogger({ service: 'payments-svc', level: 'debug', destination: out });
    log.debug('d');
    log.info('Service registered with Cloud Map', { instanceId: 'i-1', level: 'not-mine' });
    log.warn('w', 42);
    log.error('Payment processing failed', Object.assign(new Error('card declined'), { code: 'E_CARD' }));
    const cyc = { a: 1 };
    cyc.self = cyc;
    log.info('cyclic', { cyc, big: 10n });
    assert.equal(out.lines.length, 5);
    assert.ok(out.lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')));
    const [d, i, w, e, c] = out.entries();
    assert.deepEqual(Object.keys(i).slice(0, 4), ['timestamp', 'level', 'message', 'service']);
    assert.ok(!Number.isNaN(Date.parse(i.timestamp)));
    assert.equal(d.level, 'debug');
    assert.equal(i.level, 'info'); // a field never overrides a base key
    assert.equal(i.instanceId, 'i-1');
    assert.equal(i.service, 'payments-svc');
    assert.equal(w.data, 42);
    assert.equal(e.error.message, 'card declined');
    assert.equal(e.error.code, 'E_CARD');
    assert.equal(e.error.name, 'Error');
    assert.equal(c.cyc.self, '[Circular]');
    assert.equal(c.big, '10');
  });

  test('the level filters; LOG_LEVEL sets the default; bad options are errors naming them', () => {
    const out = sink();
    const log = createLogger({ level: 'warn', destination: out });
    log.info('no');
    log.warn('yes');
    assert.deepEqual(out.entries().map((x) => x.message), ['yes']);
    const child = log.child({ requestId: 'r1' });
    child.error('c');
    assert.equal(out.entries()[1].requestId, 'r1');
    const env = spawnSync(process.execPath, ['-e', `
      const { logger } = require('tripwire/aws');
      logger.debug('hidden'); logger.info('hidden too'); logger.error('shown', { n: 1 });`], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'ERROR', SERVICE_NAME: 'svc-x' },
    });
    const lines = env.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 1);
    assert.equal(lines[0].service, 'svc-x');
    assert.equal(lines[0].n, 1);
    assert.throws(() => createLogger({ level: 'loud' }), (e) => e instanceof RangeError && /`level`/.test(e.message));
    assert.throws(() => createLogger({ destination: {} }), (e) => e instanceof TypeError && /`destination`/.test(e.message));
    assert.throws(() => createLogger({ service: 3 }), (e) => e instanceof TypeError && /`service`/.test(e.message));
  });

  test('breaker transitions log through it', async () => {
    const out = sink();
    const log = createLogger({ destination: out });
    const breaker = new CircuitBreaker({ name: `logged-${uid()}`, failureThreshold: 1, timeout: false });
    const stop = logBreakerTransitions(breaker, log);
    await assert.rejects(breaker.execute(async () => { throw new Error('x'); }));
    breaker.close();
    stop();
    breaker.open();
    const entries = out.entries();
    assert.deepEqual(entries.map((x) => [x.level, x.to]), [['warn', 'OPEN'], ['info', 'CLOSED']]);
    assert.equal(entries[0].breaker, breaker.name);
    // seed 002's shape: a breaker given the logger logs through it too.
    const out2 = sink();
    const b2 = new CircuitBreaker({ name: `given-${uid()}`, failureThreshold: 1, timeout: false }, createLogger({ destination: out2 }));
    await assert.rejects(b2.execute(async () => { throw new Error('y'); }));
    assert.ok(out2.entries().length > 0);
    assert.ok(out2.entries().every((x) => typeof x.message === 'string'));
  });
});

describe('ready-made breakers', () => {
  test('created on first use, registered under their names, with seed 000 presets', async () => {
    // A fresh process: nothing else has touched them.
    const out = spawnSync(process.execPath, ['-e', `
      const aws = require('tripwire/aws');
      const before = [aws.circuitBreakerRegistry.has('stripe'), aws.circuitBreakerRegistry.has('weather-api')];
      const isBreaker = aws.stripeCircuitBreaker instanceof aws.CircuitBreaker;
      const still = aws.circuitBreakerRegistry.has('stripe');
      (async () => {
        const v = await aws.stripeCircuitBreaker.execute(async () => 7);
        const o = aws.stripeCircuitBreaker.getStats().options;
        console.log(JSON.stringify({ before, isBreaker, still, v, after: aws.circuitBreakerRegistry.get('stripe').getStats().totalRequests,
          weather: aws.circuitBreakerRegistry.has('weather-api'), name: aws.stripeCircuitBreaker.name }));
      })();`], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const r = JSON.parse(out.stdout);
    assert.deepEqual(r.before, [false, false]);
    assert.equal(r.isBreaker, true);
    assert.equal(r.still, false);
    assert.equal(r.v, 7);
    assert.equal(r.after, 1);
    assert.equal(r.weather, false);
    assert.equal(r.name, 'stripe');
  });

  test('the weather breaker answers null when the call fails or the circuit is open; stripe refuses', async () => {
    assert.equal(await weatherApiCircuitBreaker.execute(async () => { throw new Error('down'); }), null);
    weatherApiCircuitBreaker.open();
    assert.equal(await weatherApiCircuitBreaker.execute(async () => 1), null);
    weatherApiCircuitBreaker.reset();
    stripeCircuitBreaker.open();
    await assert.rejects(stripeCircuitBreaker.execute(async () => 1), CircuitBreakerOpenError);
    stripeCircuitBreaker.reset();
    assert.equal(circuitBreakerRegistry.get('stripe'), circuitBreakerRegistry.get('stripe'));
    assert.equal(stripeCircuitBreaker.getState(), 'CLOSED');
  });
});

describe('DynamoDB health check', { skip }, () => {
  let ddb;
  let sdk;
  const table = `orders-${uid()}`;
  before(async () => {
    sdk = require('@aws-sdk/client-dynamodb');
    ddb = new sdk.DynamoDBClient({});
    await ddb.send(new sdk.CreateTableCommand({
      TableName: table,
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
  });

  test('healthy for an existing ACTIVE table, through a HealthCheckManager', async () => {
    const check = createDynamoDBHealthCheck(table);
    assert.equal(check.name, `dynamodb:${table}`);
    assert.equal(check.critical, true);
    assert.deepEqual(await check.check(), { healthy: true, message: `Table ${table} is ACTIVE` });
    const manager = new HealthCheckManager({ serviceName: 'svc', checks: [check] });
    const report = await manager.executeHealthChecks();
    assert.equal(report.status, 'healthy');
  });

  test('unhealthy for a missing table', async () => {
    const r = await createDynamoDBHealthCheck('no-such-table').check();
    assert.equal(r.healthy, false);
    assert.match(r.message, /no-such-table.*ResourceNotFound/);
    const manager = new HealthCheckManager({ checks: [createDynamoDBHealthCheck('no-such-table', { critical: false })] });
    assert.equal((await manager.executeHealthChecks()).status, 'degraded');
  });

  test('unhealthy for an unreachable endpoint: refused, or silent past the timeout', async () => {
    const dead = await listen(() => {});
    const port = dead.address().port;
    await close(dead);
    const refused = createDynamoDBHealthCheck(table, { timeout: 2000, clientConfig: { endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 } });
    const r1 = await refused.check();
    assert.equal(r1.healthy, false);
    assert.match(r1.message, /ECONNREFUSED|connect/i);
    // A server that accepts and never answers: the check gives up at its timeout.
    const silent = await listen(() => {});
    try {
      const check = createDynamoDBHealthCheck(table, { timeout: 200, clientConfig: { endpoint: urlOf(silent) } });
      const r2 = await check.check();
      assert.deepEqual(r2, { healthy: false, message: `Table ${table}: no answer within 200ms` });
      assert.equal(check.timeout, 1200);
    } finally {
      silent.closeAllConnections();
      await close(silent);
    }
  });

  test('bad input is an error naming the option', () => {
    assert.throws(() => createDynamoDBHealthCheck(undefined), (e) => e instanceof TypeError && /`tableName`/.test(e.message));
    assert.throws(() => createDynamoDBHealthCheck('t', { timeout: -1 }), (e) => e instanceof RangeError && /`timeout`/.test(e.message));
    assert.throws(() => createDynamoDBHealthCheck('t', { critical: 'yes' }), (e) => e instanceof TypeError && /`critical`/.test(e.message));
    assert.throws(() => createDynamoDBHealthCheck('t', { client: {} }), (e) => e instanceof TypeError && /`client`/.test(e.message));
  });
});

/** A namespace and a service (with a custom health check config) made in moto. */
async function cloudMap(serviceNames) {
  const sd = require('@aws-sdk/client-servicediscovery');
  const client = new sd.ServiceDiscoveryClient({ disableHostPrefix: true });
  const nsName = `ns-${uid()}`;
  await client.send(new sd.CreateHttpNamespaceCommand({ Name: nsName }));
  const ns = (await client.send(new sd.ListNamespacesCommand({}))).Namespaces.find((n) => n.Name === nsName);
  const services = {};
  for (const name of serviceNames) {
    const out = await client.send(new sd.CreateServiceCommand({ Name: name, NamespaceId: ns.Id, HealthCheckCustomConfig: { FailureThreshold: 1 } }));
    services[name] = out.Service.Id;
  }
  return { sd, client, namespaceId: ns.Id, namespaceName: nsName, services };
}

describe('Cloud Map', { skip }, () => {
  test('register, discover, update health, deregister', async () => {
    const { sd, client, namespaceId, services } = await cloudMap(['payments-svc', 'vendor-svc']);
    const out = sink();
    const log = createLogger({ destination: out });
    const manager = await createServiceDiscovery({
      namespaceId,
      serviceName: 'vendor-svc',
      instanceId: 'vendor-1',
      attributes: { version: '1.0.0', region: 'us-east-1' },
      healthCheckUrl: '/health/readiness',
      ipv4: '10.0.0.7',
      port: 8080,
      handleSignals: false,
      logger: log,
    });
    assert.ok(manager instanceof ServiceDiscoveryManager);
    assert.equal(manager.registered, true);
    assert.equal(await manager.serviceId(), services['vendor-svc']);
    const listed = await client.send(new sd.ListInstancesCommand({ ServiceId: services['vendor-svc'] }));
    assert.deepEqual(listed.Instances.map((i) => [i.Id, i.Attributes]), [[
      'vendor-1',
      { AWS_INSTANCE_IPV4: '10.0.0.7', AWS_INSTANCE_PORT: '8080', HEALTH_CHECK_URL: '/health/readiness', version: '1.0.0', region: 'us-east-1' },
    ]]);
    assert.equal(out.entries()[0].message, 'Registered with Cloud Map');

    const second = new ServiceDiscoveryManager({ namespaceId, serviceName: 'vendor-svc', instanceId: 'vendor-2', ipv4: '10.0.0.8', port: 8080 });
    await second.register();

    const locator = new ServiceLocator(60000, { breakerName: `cm-${uid()}` });
    const found = await locator.getServiceInstances('vendor-svc', namespaceId);
    assert.deepEqual(found.map((i) => [i.instanceId, i.ipv4, i.port, i.healthStatus]).sort(), [
      ['vendor-1', '10.0.0.7', 8080, 'HEALTHY'],
      ['vendor-2', '10.0.0.8', 8080, 'HEALTHY'],
    ]);
    // getServiceInstance spreads the load over the healthy instances.
    const picks = new Set();
    for (let i = 0; i < 4; i++) picks.add((await locator.getServiceInstance('vendor-svc', namespaceId)).instanceId);
    assert.deepEqual([...picks].sort(), ['vendor-1', 'vendor-2']);

    await manager.updateHealthStatus('UNHEALTHY');
    locator.clearCache();
    assert.deepEqual((await locator.getServiceInstances('vendor-svc', namespaceId)).map((i) => i.instanceId), ['vendor-2']);
    await manager.updateHealthStatus('HEALTHY');
    await second.deregister();
    locator.clearCache('vendor-svc', namespaceId);
    assert.deepEqual((await locator.getServiceInstances('vendor-svc', namespaceId)).map((i) => i.instanceId), ['vendor-1']);
    await manager.deregister();
    assert.equal(manager.registered, false);
    locator.clearCache();
    assert.deepEqual(await locator.getServiceInstances('vendor-svc', namespaceId), []);
    assert.equal(await locator.getServiceInstance('vendor-svc', namespaceId), null);
    assert.equal((await client.send(new sd.ListInstancesCommand({ ServiceId: services['vendor-svc'] }))).Instances.length, 0);
  });

  test('an unknown service name is an error naming it; bad input names the option', async () => {
    const { namespaceId } = await cloudMap([]);
    const m = new ServiceDiscoveryManager({ namespaceId, serviceName: 'ghost', instanceId: 'i' });
    await assert.rejects(m.register(), /no service 'ghost'/);
    assert.throws(() => new ServiceDiscoveryManager({ namespaceId, serviceName: 'x' }), (e) => e instanceof TypeError && /`instanceId`/.test(e.message));
    assert.throws(() => new ServiceDiscoveryManager({ namespaceId, serviceName: 'x', instanceId: 'i', port: 0 }), (e) => e instanceof RangeError && /`port`/.test(e.message));
    assert.throws(() => new ServiceDiscoveryManager({ namespaceId, serviceName: 'x', instanceId: 'i', attributes: { a: 1 } }), (e) => e instanceof TypeError && /`attributes.a`/.test(e.message));
    await assert.rejects(m.updateHealthStatus('healthy'), (e) => e instanceof RangeError && /`status`/.test(e.message));
    await assert.rejects(m.updateHealthStatus(1), (e) => e instanceof TypeError && /`status`/.test(e.message));
    assert.throws(() => new ServiceLocator(0), (e) => e instanceof RangeError && /`cacheTtlMs`/.test(e.message));
    assert.throws(() => new ServiceLocator('60'), (e) => e instanceof TypeError && /`cacheTtlMs`/.test(e.message));
    await assert.rejects(createServiceDiscovery({ namespaceId, serviceName: 'x', instanceId: 'i', handleSignals: 1 }), TypeError);
  });

  test('the address: given, from ECS task metadata (a local stand-in), none on Lambda', async () => {
    const ecs = await listen((req, res) => {
      assert.equal(req.url, '/v4/abc/task');
      res.end(JSON.stringify({ Containers: [{ Networks: [{ IPv4Addresses: ['10.1.2.3'] }] }] }));
    });
    const saved = { ...process.env };
    try {
      process.env.ECS_CONTAINER_METADATA_URI_V4 = `${urlOf(ecs)}/v4/abc`;
      process.env.PORT = '3000';
      const m = new ServiceDiscoveryManager({ namespaceId: 'ns-1', serviceName: 's', instanceId: 'i' });
      assert.deepEqual(await m.instanceAttributes(), { AWS_INSTANCE_IPV4: '10.1.2.3', AWS_INSTANCE_PORT: '3000' });
      delete process.env.ECS_CONTAINER_METADATA_URI_V4;
      delete process.env.PORT;
      process.env.AWS_LAMBDA_FUNCTION_NAME = 'payments-fn';
      process.env.AWS_LAMBDA_FUNCTION_VERSION = '$LATEST';
      assert.deepEqual(await m.instanceAttributes(), { AWS_LAMBDA_FUNCTION_NAME: 'payments-fn', AWS_LAMBDA_FUNCTION_VERSION: '$LATEST' });
      const given = new ServiceDiscoveryManager({ namespaceId: 'ns-1', serviceName: 's', instanceId: 'i', ipv4: '10.9.9.9', port: 1, attributes: { AWS_INSTANCE_PORT: '2' } });
      assert.deepEqual(await given.instanceAttributes(), { AWS_LAMBDA_FUNCTION_NAME: 'payments-fn', AWS_LAMBDA_FUNCTION_VERSION: '$LATEST', AWS_INSTANCE_IPV4: '10.9.9.9', AWS_INSTANCE_PORT: '2' });
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      await close(ecs);
    }
  });

  test('SIGTERM deregisters the instance, then the process ends by the signal', async () => {
    const { sd, client, namespaceId, services } = await cloudMap(['payments-svc']);
    const child = spawn(process.execPath, ['-e', `
      const { createServiceDiscovery, createLogger } = require('tripwire/aws');
      createServiceDiscovery({ namespaceId: ${JSON.stringify(namespaceId)}, serviceName: 'payments-svc', instanceId: 'p-1', ipv4: '10.0.0.1',
        logger: createLogger({ destination: process.stderr }) })
        .then(() => { console.log('registered'); setInterval(() => {}, 1000); });`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => String(d).includes('registered') && resolve());
      child.on('exit', () => reject(new Error(`child exited early: ${stderr}`)));
    });
    assert.equal((await client.send(new sd.ListInstancesCommand({ ServiceId: services['payments-svc'] }))).Instances.length, 1);
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    child.kill('SIGTERM');
    assert.deepEqual(await exited, { code: null, signal: 'SIGTERM' });
    assert.match(stderr, /Deregistered from Cloud Map/);
    assert.equal((await client.send(new sd.ListInstancesCommand({ ServiceId: services['payments-svc'] }))).Instances.length, 0);
  });
});

describe('ServiceLocator cache and stale-on-error', { skip }, () => {
  let standIn;
  let mode = 'up';
  let calls = 0;
  before(async () => {
    // A stand-in for Cloud Map in front of moto: forwards, or fails with a 500.
    const moto = new URL(MOTO);
    standIn = await listen((req, res) => {
      calls++;
      if (mode === 'down') {
        req.resume();
        res.writeHead(500, { 'Content-Type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: 'InternalServiceError', message: 'stand-in is down' }));
        return;
      }
      const fwd = request({ host: moto.hostname, port: moto.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode, up.headers);
        up.pipe(res);
      });
      req.pipe(fwd);
    });
  });
  after(() => close(standIn));

  test('cached for the TTL, refreshed on expiry, stale list served with a warning while Cloud Map fails; the lookup has a breaker', async () => {
    const { namespaceId } = await cloudMap(['vendor-svc']);
    await new ServiceDiscoveryManager({ namespaceId, serviceName: 'vendor-svc', instanceId: 'v-1', ipv4: '10.0.0.1', port: 80 }).register();
    const clock = new ManualClock();
    const out = sink();
    const locator = new ServiceLocator(60000, {
      clock,
      logger: createLogger({ destination: out }),
      breakerName: `cm-stale-${uid()}`,
      breakerOptions: { failureThreshold: 2, minimumRequests: 1, resetTimeout: 1000000 },
      clientConfig: { endpoint: urlOf(standIn), maxAttempts: 1, disableHostPrefix: true },
    });
    const first = await locator.getServiceInstances('vendor-svc', namespaceId);
    assert.deepEqual(first.map((i) => i.instanceId), ['v-1']);
    const afterFirst = calls; // GetNamespace + DiscoverInstances
    assert.equal(afterFirst, 2);
    // Concurrent and repeated lookups within the TTL: from the cache.
    await Promise.all([locator.getServiceInstances('vendor-svc', namespaceId), locator.getServiceInstance('vendor-svc', namespaceId)]);
    clock.advance(59999);
    await locator.getServiceInstances('vendor-svc', namespaceId);
    assert.equal(calls, afterFirst);
    // Expired: one new DiscoverInstances (the namespace name is kept).
    clock.advance(1);
    await new ServiceDiscoveryManager({ namespaceId, serviceName: 'vendor-svc', instanceId: 'v-2', ipv4: '10.0.0.2', port: 80 }).register();
    assert.deepEqual((await locator.getServiceInstances('vendor-svc', namespaceId)).map((i) => i.instanceId).sort(), ['v-1', 'v-2']);
    assert.equal(calls, afterFirst + 1);
    // Cloud Map fails: the stale list, with a warning.
    mode = 'down';
    clock.advance(60000);
    const stale = await locator.getServiceInstances('vendor-svc', namespaceId);
    assert.deepEqual(stale.map((i) => i.instanceId).sort(), ['v-1', 'v-2']);
    const warning = out.entries().at(-1);
    assert.equal(warning.level, 'warn');
    assert.equal(warning.serviceName, 'vendor-svc');
    assert.match(warning.error, /stand-in is down|InternalServiceError/);
    assert.equal(calls, afterFirst + 2);
    await locator.getServiceInstances('vendor-svc', namespaceId);
    assert.equal(calls, afterFirst + 3);
    // Two failures opened the breaker: the next lookup does not reach Cloud Map.
    assert.equal(locator.breaker.getState(), 'OPEN');
    assert.equal((await locator.getServiceInstances('vendor-svc', namespaceId)).length, 2);
    assert.equal(calls, afterFirst + 3);
    assert.match(out.entries().at(-1).error, /OPEN/);
    // Without a cached list the error reaches the caller.
    await assert.rejects(locator.getServiceInstances('other-svc', namespaceId), CircuitBreakerOpenError);
    mode = 'up';
  });
});

describe('CloudWatch publisher', { skip }, () => {
  test('every breaker: State, FailureRate (Percent 0..100), TotalRequests; batched; read back', async () => {
    const cw = require('@aws-sdk/client-cloudwatch');
    const client = new cw.CloudWatchClient({});
    circuitBreakerRegistry.clear();
    const names = ['pay', 'ship', 'mail', 'auth'];
    for (const name of names) new CircuitBreaker({ name, failureThreshold: 0.9, minimumRequests: 100, timeout: false });
    const pay = circuitBreakerRegistry.get('pay');
    await pay.execute(async () => 1);
    await assert.rejects(pay.execute(async () => { throw new Error('x'); }));
    circuitBreakerRegistry.get('auth').open();

    const sent = [];
    const counting = { send: (command) => { sent.push(command.input.MetricData.length); return client.send(command); } };
    const namespace = `Roadcall/CB-${uid()}`;
    const publisher = publishCircuitBreakerMetrics({ namespace, client: counting, maxBatchSize: 5, dimensions: { Environment: 'test' } });
    assert.equal(publisher.running, false);
    assert.deepEqual(await publisher.publish(), { metrics: 12, requests: 3 });
    assert.deepEqual(sent, [5, 5, 2]);

    const metrics = [];
    let NextToken;
    do {
      const page = await client.send(new cw.ListMetricsCommand({ Namespace: namespace, NextToken }));
      metrics.push(...page.Metrics);
      NextToken = page.NextToken;
    } while (NextToken);
    const key = (m) => `${m.MetricName} ${m.Dimensions.map((d) => `${d.Name}=${d.Value}`).sort().join(',')}`;
    const keys = metrics.map(key).sort();
    assert.equal(keys.length, 12);
    assert.ok(keys.includes('FailureRate Environment=test,Service=pay,State=CLOSED'));
    assert.ok(keys.includes('FailureRate Environment=test,Service=auth,State=OPEN'));
    assert.ok(keys.includes('TotalRequests Environment=test,Service=mail'));
    assert.ok(keys.includes('State Environment=test,Service=auth'));

    const now = Date.now();
    const q = (Id, MetricName, dims) => ({ Id, MetricStat: { Metric: { Namespace: namespace, MetricName, Dimensions: dims }, Period: 60, Stat: 'Maximum' } });
    const env = { Name: 'Environment', Value: 'test' };
    const data = await client.send(new cw.GetMetricDataCommand({
      StartTime: new Date(now - 600000),
      EndTime: new Date(now + 600000),
      MetricDataQueries: [
        q('rate', 'FailureRate', [{ Name: 'Service', Value: 'pay' }, { Name: 'State', Value: 'CLOSED' }, env]),
        q('total', 'TotalRequests', [{ Name: 'Service', Value: 'pay' }, env]),
        q('state', 'State', [{ Name: 'Service', Value: 'auth' }, env]),
      ],
    }));
    const value = (id) => data.MetricDataResults.find((r) => r.Id === id).Values[0];
    assert.equal(value('rate'), 50);
    assert.equal(value('total'), 2);
    assert.equal(value('state'), 2);
    circuitBreakerRegistry.clear();
  });

  test('no timer unless started; start() and stop(); bad options name themselves', () => {
    const p = publishCircuitBreakerMetrics({ namespace: 'N', intervalMs: 1000 });
    assert.equal(p.running, false);
    assert.equal(p.start(), p);
    assert.equal(p.running, true);
    p.stop();
    assert.equal(p.running, false);
    assert.throws(() => publishCircuitBreakerMetrics({}), (e) => e instanceof TypeError && /`namespace`/.test(e.message));
    assert.throws(() => publishCircuitBreakerMetrics({ namespace: 'N', intervalMs: 0 }), (e) => e instanceof RangeError && /`intervalMs`/.test(e.message));
    assert.throws(() => publishCircuitBreakerMetrics({ namespace: 'N', maxBatchSize: 1001 }), (e) => e instanceof RangeError && /`maxBatchSize`/.test(e.message));
    assert.throws(() => publishCircuitBreakerMetrics({ namespace: 'N', client: {} }), (e) => e instanceof TypeError && /`client`/.test(e.message));
    assert.throws(() => new ServiceLocator(1000, { logger: 1 }), (e) => e instanceof TypeError && /`logger`/.test(e.message));
  });

  test('a batch stays within 1000 metric data and about 1 MB', async () => {
    circuitBreakerRegistry.clear();
    for (let i = 0; i < 700; i++) new CircuitBreaker({ name: `b${i}-${'x'.repeat(200)}`, timeout: false });
    const sizes = [];
    const p = publishCircuitBreakerMetrics({ namespace: 'N', client: { send: async (c) => sizes.push(c.input.MetricData.length) } });
    assert.deepEqual(await p.publish(), { metrics: 2100, requests: sizes.length });
    assert.ok(sizes.every((n) => n <= 1000));
    assert.equal(sizes.reduce((a, b) => a + b), 2100);
    circuitBreakerRegistry.clear();
  });
});
