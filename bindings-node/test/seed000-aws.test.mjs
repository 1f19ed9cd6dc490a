// Seed 000's TypeScript blocks on tripwire/aws (test/types/seed000aws*.ts, .mts:
// type-checked by tsc --strict in scripts/test-node.sh) compiled to JavaScript and run
// against moto (scripts/with-moto.sh), each in its own process. The seed's own stand-ins
// (stripe, weatherApi, db, ...) are globals set by a preload; the vendor service that the
// discovery block calls is a local HTTP server registered in Cloud Map.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { spawnSync, spawn } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createRequire } from 'node:module';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(ROOT, 'target/seed000-aws-js');
const MOTO = process.env.TRIPWIRE_MOTO_URL;
const skip = MOTO ? false : 'needs moto: run through scripts/with-moto.sh (scripts/test-node.sh does)';
const require = createRequire(import.meta.url);
const uid = () => Math.random().toString(36).slice(2, 10);

const PRELUDE = `
// The seed's own services, as globals (test/types/externals.d.ts declares them).
globalThis.stripe = { paymentIntents: { create: async (data) => ({ id: 'pi_1', amount: data.amount }) } };
globalThis.weatherApi = { getCurrentWeather: async () => { throw new Error('weather down'); } };
globalThis.myService = { call: async (d) => 'called ' + d };
globalThis.getCachedData = async () => 'cached';
globalThis.getBackupData = async () => 'backup';
globalThis.queued = [];
globalThis.queuePaymentForManualProcessing = async (d) => { globalThis.queued.push(d); };
globalThis.db = { query: async () => [1] };
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init) =>
  String(url).startsWith('https://api.example.com/') ? new Response('ok', { status: 200 }) : realFetch(url, init);
if (process.env.SEED_INTERVAL_ONCE) {
  // The seed's 60 s interval runs once, now, and keeps no process alive.
  globalThis.setInterval = (fn) => setTimeout(fn, 0);
}
globalThis.report = (value) => process.stdout.write(JSON.stringify({ report: value }) + '\\n');
globalThis.waitFor = async (predicate) => { for (let i = 0; i < 1000 && !predicate(); i++) await new Promise((r) => setTimeout(r, 10)); };
const write = process.stdout.write.bind(process.stdout);
globalThis.lines = [];
process.stdout.write = (chunk, ...rest) => { globalThis.lines.push(String(chunk)); return write(chunk, ...rest); };
`;

/** Runs `driver` in a child process (async: the parent serves the vendor stand-in meanwhile). */
async function run(driver, env = {}, { esm = false } = {}) {
  const child = spawn(process.execPath, ['--require', path.join(OUT, 'prelude.cjs'), ...(esm ? ['--input-type=module'] : []), '-e', driver], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const status = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(status, 0, stderr);
  const lines = stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const report = lines.find((l) => l.report !== undefined);
  return { report: report && report.report, logs: lines.filter((l) => l.report === undefined) };
}

describe('seed 000 blocks on tripwire/aws, against moto', { skip }, () => {
  let sd;
  let client;
  let namespaceId;
  let services;
  let vendor;
  let vendorHits = 0;
  const orders = `orders-${uid()}`;

  before(async () => {
    // The same sources tsc --strict checks, emitted as JavaScript.
    const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'bindings-node/test/types/tsconfig.seed000aws.json')], { encoding: 'utf8' });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
    mkdirSync(OUT, { recursive: true });
    writeFileSync(path.join(OUT, 'prelude.cjs'), PRELUDE);

    const ddb = require('@aws-sdk/client-dynamodb');
    const dynamo = new ddb.DynamoDBClient({});
    for (const TableName of ['MyTable', orders]) {
      try {
        await dynamo.send(new ddb.CreateTableCommand({
          TableName, KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST',
        }));
      } catch (error) {
        if (error.name !== 'ResourceInUseException') throw error;
      }
    }
    sd = require('@aws-sdk/client-servicediscovery');
    client = new sd.ServiceDiscoveryClient({ disableHostPrefix: true });
    const nsName = `roadcall-${uid()}`;
    await client.send(new sd.CreateHttpNamespaceCommand({ Name: nsName }));
    namespaceId = (await client.send(new sd.ListNamespacesCommand({}))).Namespaces.find((n) => n.Name === nsName).Id;
    services = {};
    for (const Name of ['payments-svc', 'vendor-svc', 'my-service']) {
      services[Name] = (await client.send(new sd.CreateServiceCommand({ Name, NamespaceId: namespaceId, HealthCheckCustomConfig: { FailureThreshold: 1 } }))).Service.Id;
    }
    vendor = await new Promise((resolve) => {
      const s = createServer((req, res) => {
        if (req.url === '/vendors/search') vendorHits++;
        res.end('[]');
      });
      s.listen(0, '127.0.0.1', () => resolve(s));
    });
    await client.send(new sd.RegisterInstanceCommand({
      ServiceId: services['vendor-svc'], InstanceId: 'vendor-1', Attributes: { AWS_INSTANCE_IPV4: '127.0.0.1', AWS_INSTANCE_PORT: String(vendor.address().port) },
    }));
    await client.send(new sd.RegisterInstanceCommand({ ServiceId: services['my-service'], InstanceId: 'my-1', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.9' } }));
  });
  after(() => vendor && new Promise((resolve) => vendor.close(resolve)));

  test('breakers and health-check setup (seed000aws.ts)', async () => {
    const { report } = await run(`
      const m = require(${JSON.stringify(path.join(OUT, 'seed000aws.js'))});
      (async () => {
        const health = await m.health();
        const s = m.seedFunctions;
        report({ status: health.statusCode, body: JSON.parse(health.body), pay: await s.processPayment({ amount: 5 }),
          weather: await s.getWeatherData({}), call: await s.callMyService('x'), closed: s.closed });
      })();`, { TABLE_NAME: orders, API_KEY: 'k' });
    assert.equal(report.status, 200);
    assert.equal(report.body.checks['dynamodb:MyTable'].status, 'healthy');
    assert.equal(report.body.checks['environment-variables'].status, 'healthy');
    assert.deepEqual(report.pay, { id: 'pi_1', amount: 5 });
    assert.equal(report.weather, null);
    assert.equal(report.call, 'called x');
    assert.equal(report.closed, 'CLOSED');
    // The ready-made breakers exist from their first use on (after this report).
    assert.equal(report.body.circuitBreakers.stripe, undefined);
    assert.ok(report.body.circuitBreakers['advanced-service']);
  });

  test('custom health checks (seed000aws-custom.ts)', async () => {
    const { report } = await run(`
      const m = require(${JSON.stringify(path.join(OUT, 'seed000aws-custom.js'))});
      m.healthManager.executeHealthChecks().then((r) => report(r));`);
    assert.equal(report.status, 'healthy');
    assert.deepEqual(Object.keys(report.checks).sort(), ['database-connection', 'external-api']);
  });

  test('register and discover (seed000aws-register.mts)', async () => {
    const { report, logs } = await run(`
      const m = await import(${JSON.stringify(path.join(OUT, 'seed000aws-register.mjs'))});
      report({ registered: m.serviceDiscovery.registered, instance: m.instance, n: m.instances.length });`,
    { CLOUD_MAP_NAMESPACE_ID: namespaceId, INSTANCE_ID: 'payments-1' }, { esm: true });
    assert.equal(report.registered, true);
    assert.equal(report.n, 1);
    assert.equal(report.instance.ipv4, '127.0.0.1');
    assert.equal(report.instance.port, vendor.address().port);
    assert.equal(vendorHits, 1);
    assert.ok(logs.some((l) => l.message === 'Registered with Cloud Map'));
    const listed = await client.send(new sd.ListInstancesCommand({ ServiceId: services['payments-svc'] }));
    const mine = listed.Instances.find((i) => i.Id === 'payments-1');
    assert.equal(mine.Attributes.version, '1.0.0');
    assert.equal(mine.Attributes.HEALTH_CHECK_URL, '/health/readiness');
  });

  test('update health status from the checks (seed000aws-health-status.mts)', async () => {
    await client.send(new sd.UpdateInstanceCustomHealthStatusCommand({ ServiceId: services['my-service'], InstanceId: 'my-1', Status: 'UNHEALTHY' }));
    const { report } = await run(`
      const m = await import(${JSON.stringify(path.join(OUT, 'seed000aws-health-status.mjs'))});
      report(m.healthResult.status);`, { CLOUD_MAP_NAMESPACE_ID: namespaceId, INSTANCE_ID: 'my-1', TABLE_NAME: orders, API_KEY: 'k' }, { esm: true });
    assert.equal(report, 'healthy');
    const status = await client.send(new sd.GetInstancesHealthStatusCommand({ ServiceId: services['my-service'] }));
    assert.deepEqual(status.Status, { 'my-1': 'HEALTHY' });
  });

  test('the complete service example (seed000aws-service.ts)', async () => {
    const { report, logs } = await run(`
      const m = require(${JSON.stringify(path.join(OUT, 'seed000aws-service.js'))});
      const { stripeCircuitBreaker } = require('tripwire/aws');
      (async () => {
        await waitFor(() => lines.some((l) => l.includes('Service registered with Cloud Map')));
        const liveness = await m.liveness();
        const health = await m.health();
        const paid = await m.processPayment({ amount: 3 });
        stripeCircuitBreaker.open();
        const queuedAnswer = await m.processPayment({ amount: 4 });
        report({ liveness: liveness.statusCode, health: health.statusCode, checks: JSON.parse(health.body).checks, paid, queuedAnswer, queued });
        process.exit(0);
      })();`, { CLOUD_MAP_NAMESPACE_ID: namespaceId, INSTANCE_ID: 'payments-2', TABLE_NAME: orders, STRIPE_SECRET_KEY: 'sk_test' });
    assert.equal(report.liveness, 200);
    assert.equal(report.health, 200);
    assert.equal(report.checks[`dynamodb:${orders}`].status, 'healthy');
    assert.deepEqual(report.paid, { success: true, result: { id: 'pi_1', amount: 3 } });
    assert.deepEqual(report.queuedAnswer, { success: false, queued: true });
    assert.deepEqual(report.queued, [{ amount: 4 }]);
    const failed = logs.find((l) => l.message === 'Payment processing failed');
    assert.equal(failed.level, 'error');
    assert.equal(failed.error.name, 'CircuitBreakerOpenError');
    const listed = await client.send(new sd.ListInstancesCommand({ ServiceId: services['payments-svc'] }));
    assert.ok(listed.Instances.some((i) => i.Id === 'payments-2' && i.Attributes.HEALTH_CHECK_URL === '/health/readiness'));
  });

  test('CloudWatch: the seed block and the publisher (seed000aws-metrics.ts)', async () => {
    const name = `seed-${uid()}`;
    const { report } = await run(`
      const { CircuitBreaker } = require('tripwire/aws');
      const b = new CircuitBreaker({ name: ${JSON.stringify(name)}, timeout: false });
      b.execute(async () => 1).then(async () => {
        const m = require(${JSON.stringify(path.join(OUT, 'seed000aws-metrics.js'))});
        report(await m.publisher.publish());
      });`, { SEED_INTERVAL_ONCE: '1' });
    assert.deepEqual(report, { metrics: 3, requests: 1 });
    const cw = require('@aws-sdk/client-cloudwatch');
    const c = new cw.CloudWatchClient({});
    const seedMetrics = (await c.send(new cw.ListMetricsCommand({ Namespace: 'RoadcallAssistant/CircuitBreakers', Dimensions: [{ Name: 'Service', Value: name }] }))).Metrics;
    assert.deepEqual(seedMetrics.map((m) => m.MetricName).sort(), ['FailureRate', 'TotalRequests']);
    const ours = (await c.send(new cw.ListMetricsCommand({ Namespace: 'RoadcallAssistant/CircuitBreakers/tripwire', Dimensions: [{ Name: 'Service', Value: name }] }))).Metrics;
    assert.deepEqual(ours.map((m) => m.MetricName).sort(), ['FailureRate', 'State', 'TotalRequests']);
  });
});
