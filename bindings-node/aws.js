// `tripwire/aws`: seed 000 on AWS. The whole main API, plus the DynamoDB health check,
// Cloud Map service discovery (a manager that registers this instance, a locator that
// finds others), a CloudWatch publisher of every breaker's stats, a structured JSON
// logger and the seed's two ready-made breakers.
//
// The AWS SDK packages are optional peer dependencies, loaded here only, and only when
// a feature that needs one is first used: `require('tripwire')` loads none of them, and
// neither does `require('tripwire/aws')` by itself (a Lambda cold start pays for what it uses).
'use strict';

const os = require('node:os');
const http = require('node:http');
const main = require('./index.js');
const { metricsText, samples } = require('./metrics.js');
const { internal } = require('./internal.js');
const { describe, messageOf, checkObject } = require('../js/log.js');

const { CircuitBreaker, CircuitState, circuitBreakerRegistry, createCircuitBreaker, createExternalServiceCircuitBreaker } = main;

function checkString(value, option, { optional = false } = {}) {
  if (optional && value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new TypeError(`\`${option}\` must be a non-empty string, not ${describe(value)}`);
  return value;
}

function checkMs(value, option) {
  if (typeof value !== 'number') throw new TypeError(`\`${option}\` must be a number of milliseconds, not ${describe(value)}`);
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`\`${option}\` must be a positive, finite number of milliseconds, not ${value}`);
  return value;
}

// ---- the optional AWS SDK packages -------------------------------------------------

const SDK = {
  dynamodb: '@aws-sdk/client-dynamodb',
  servicediscovery: '@aws-sdk/client-servicediscovery',
  cloudwatch: '@aws-sdk/client-cloudwatch',
};

/** Requires an optional peer dependency, or throws an error that names it. */
function loadSdk(pkg) {
  try {
    return require(pkg);
  } catch (error) {
    if (error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes(pkg)) {
      const missing = new Error(`tripwire/aws needs the package ${pkg} for this feature; install it with \`npm install ${pkg}\``, { cause: error });
      missing.code = 'ERR_TRIPWIRE_AWS_SDK_MISSING';
      missing.packageName = pkg;
      throw missing;
    }
    throw error;
  }
}

/** Whether an endpoint other than AWS's own is configured for `service` (moto, LocalStack...). */
function customEndpoint(service, config) {
  if (config && config.endpoint !== undefined) return true;
  return Boolean(process.env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] || process.env.AWS_ENDPOINT_URL);
}

const sharedClients = new Map();

/**
 * A client of `service`, built from `options.client` (used as is), or
 * `options.clientConfig`, or else one shared default client per service (the SDK's
 * default chain: region, credentials and `AWS_ENDPOINT_URL` from the environment).
 */
function checkClientOptions(options) {
  if (options.client !== undefined && (options.client === null || typeof options.client !== 'object' || typeof options.client.send !== 'function')) {
    throw new TypeError(`\`client\` must be an AWS SDK v3 client (with send()), not ${describe(options.client)}`);
  }
  if (options.clientConfig !== undefined) checkObject(options.clientConfig, '`clientConfig`');
  if (options.logger !== undefined && (options.logger === null || typeof options.logger !== 'object' || typeof options.logger.warn !== 'function')) {
    throw new TypeError(`\`logger\` must have debug/info/warn/error methods, not ${describe(options.logger)}`);
  }
  return options;
}

function clientFor(service, options = {}) {
  if (options.client !== undefined) return options.client;
  const config = options.clientConfig;
  if (config === undefined && sharedClients.has(service)) return sharedClients.get(service);
  const sdk = loadSdk(SDK[service]);
  const ctor = { dynamodb: 'DynamoDBClient', servicediscovery: 'ServiceDiscoveryClient', cloudwatch: 'CloudWatchClient' }[service];
  const settings = { ...(config || {}) };
  // Cloud Map's DiscoverInstances goes to `data-<host>`: right on AWS, wrong for a
  // local endpoint (moto), so the prefix is off when an endpoint is configured.
  if (service === 'servicediscovery' && settings.disableHostPrefix === undefined && customEndpoint(service, config)) settings.disableHostPrefix = true;
  const client = new sdk[ctor](settings);
  if (config === undefined) sharedClients.set(service, client);
  return client;
}

// ---- logger ------------------------------------------------------------------------

// The structured JSON logger is the main package's (js/log.js): `logger`,
// `StructuredLogger` and `createLogger` come with `...main`, and TRIPWIRE_LOG=1 makes
// it the logger of every breaker, store and control API (index.js).
const theLogger = () => main.logger;

/**
 * Logs `breaker`'s transitions through `log` (default: `logger`): OPEN as a warning,
 * HALF_OPEN and CLOSED as info. Returns a function that stops it.
 */
function logBreakerTransitions(breaker, log = undefined) {
  if (!(breaker instanceof CircuitBreaker)) throw new TypeError(`logBreakerTransitions() needs a CircuitBreaker, not ${describe(breaker)}`);
  const target = log === undefined ? theLogger() : log;
  if (target === null || typeof target !== 'object' || typeof target.info !== 'function' || typeof target.warn !== 'function') {
    throw new TypeError('`logger` must have info() and warn() methods');
  }
  const listener = (from, to) => {
    const fields = { breaker: breaker.name, from, to };
    if (to === CircuitState.OPEN) target.warn(`Circuit breaker '${breaker.name}' opened`, fields);
    else target.info(`Circuit breaker '${breaker.name}' is ${to}`, fields);
  };
  breaker.on('stateChange', listener);
  return () => breaker.off('stateChange', listener);
}

// ---- DynamoDB health check ---------------------------------------------------------

/**
 * A health check for a DynamoDB table: `DescribeTable`, healthy when the table is
 * ACTIVE. Options: `name` (default `dynamodb:<table>`), `critical` (true), `timeout`
 * (ms, default 3000: the request is aborted then), `client` / `clientConfig`.
 * The SDK is loaded when the check is created, the client on the first check.
 */
function createDynamoDBHealthCheck(tableName, options = {}) {
  checkString(tableName, 'tableName');
  checkClientOptions(checkObject(options, 'options'));
  const { name = `dynamodb:${tableName}`, critical = true, timeout = 3000 } = options;
  checkString(name, 'name');
  if (typeof critical !== 'boolean') throw new TypeError(`\`critical\` must be a boolean, not ${describe(critical)}`);
  checkMs(timeout, 'timeout');
  const sdk = loadSdk(SDK.dynamodb);
  let client = null;
  return {
    name,
    critical,
    // The manager's own deadline, a little after the request's: the check answers first.
    timeout: timeout + 1000,
    check: async () => {
      if (client === null) client = clientFor('dynamodb', options);
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), timeout);
      try {
        const out = await client.send(new sdk.DescribeTableCommand({ TableName: tableName }), { abortSignal: abort.signal });
        const status = out.Table && out.Table.TableStatus;
        return status === 'ACTIVE'
          ? { healthy: true, message: `Table ${tableName} is ACTIVE` }
          : { healthy: false, message: `Table ${tableName} is ${status || 'in an unknown state'}` };
      } catch (error) {
        if (abort.signal.aborted) return { healthy: false, message: `Table ${tableName}: no answer within ${timeout}ms` };
        return { healthy: false, message: `Table ${tableName}: ${messageOf(error)}` };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

// ---- Cloud Map: this instance ------------------------------------------------------

const HEALTH = new Set(['HEALTHY', 'UNHEALTHY']);

/** The first non-internal IPv4 address of this host (EC2, ECS awsvpc, a plain host). */
function hostIpv4() {
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses || []) {
      if ((a.family === 'IPv4' || a.family === 4) && !a.internal) return a.address;
    }
  }
  return undefined;
}

/** ECS task metadata (v4): the task's first IPv4 address. */
function ecsIpv4(uri, timeout = 1000) {
  return new Promise((resolve) => {
    const req = http.get(`${uri.replace(/\/+$/, '')}/task`, { timeout }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        try {
          const task = JSON.parse(body);
          for (const c of task.Containers || []) {
            for (const n of c.Networks || []) {
              if (n.IPv4Addresses && n.IPv4Addresses[0]) return resolve(n.IPv4Addresses[0]);
            }
          }
        } catch {
          // fall through
        }
        resolve(undefined);
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/**
 * Registers this instance in a Cloud Map service and keeps its health status.
 * `new ServiceDiscoveryManager({ namespaceId, serviceName, instanceId, attributes?,
 * healthCheckUrl?, serviceId?, ipv4?, port?, client?, clientConfig?, logger? })`.
 */
class ServiceDiscoveryManager {
  constructor(options) {
    checkClientOptions(checkObject(options, 'ServiceDiscoveryManager options'));
    this.namespaceId = checkString(options.namespaceId, 'namespaceId');
    this.serviceName = checkString(options.serviceName, 'serviceName');
    this.instanceId = checkString(options.instanceId, 'instanceId');
    const attributes = options.attributes === undefined ? {} : checkObject(options.attributes, '`attributes`');
    for (const [k, v] of Object.entries(attributes)) {
      if (typeof v !== 'string') throw new TypeError(`\`attributes.${k}\` must be a string, not ${describe(v)}`);
    }
    this.attributes = { ...attributes };
    this.healthCheckUrl = checkString(options.healthCheckUrl, 'healthCheckUrl', { optional: true });
    this._serviceId = checkString(options.serviceId, 'serviceId', { optional: true }) ?? null;
    this.ipv4 = checkString(options.ipv4, 'ipv4', { optional: true });
    if (options.port !== undefined && !(Number.isInteger(options.port) && options.port > 0 && options.port < 65536)) {
      throw new RangeError(`\`port\` must be a whole number in 1..65535, not ${String(options.port)}`);
    }
    this.port = options.port;
    this._options = options;
    this._client = null;
    this._sdk = loadSdk(SDK.servicediscovery);
    this._log = options.logger === undefined ? theLogger() : options.logger;
    this.registered = false;
  }

  get client() {
    if (this._client === null) this._client = clientFor('servicediscovery', this._options);
    return this._client;
  }

  /** The Cloud Map service id: given, or found by name in the namespace. */
  async serviceId() {
    if (this._serviceId !== null) return this._serviceId;
    let NextToken;
    do {
      const page = await this.client.send(
        new this._sdk.ListServicesCommand({ Filters: [{ Name: 'NAMESPACE_ID', Values: [this.namespaceId], Condition: 'EQ' }], NextToken }),
      );
      // The namespace is checked here too (a local endpoint may ignore the filter, and a
      // service summary carries no NamespaceId): GetService tells.
      for (const s of page.Services || []) {
        if (s.Name !== this.serviceName) continue;
        let namespaceId = s.NamespaceId;
        if (namespaceId === undefined) namespaceId = (await this.client.send(new this._sdk.GetServiceCommand({ Id: s.Id }))).Service.NamespaceId;
        if (namespaceId === this.namespaceId) {
          this._serviceId = s.Id;
          return s.Id;
        }
      }
      NextToken = page.NextToken;
    } while (NextToken);
    const error = new Error(`Cloud Map has no service '${this.serviceName}' in namespace ${this.namespaceId}`);
    error.code = 'ServiceNotFound';
    throw error;
  }

  /** The attributes registered: the address (given or found), the port, the health URL, yours. */
  async instanceAttributes() {
    const out = {};
    const env = process.env;
    let ipv4 = this.ipv4;
    if (ipv4 === undefined && env.ECS_CONTAINER_METADATA_URI_V4) ipv4 = await ecsIpv4(env.ECS_CONTAINER_METADATA_URI_V4);
    if (env.AWS_LAMBDA_FUNCTION_NAME) {
      // A Lambda function has no address of its own: it is found by name.
      out.AWS_LAMBDA_FUNCTION_NAME = env.AWS_LAMBDA_FUNCTION_NAME;
      if (env.AWS_LAMBDA_FUNCTION_VERSION) out.AWS_LAMBDA_FUNCTION_VERSION = env.AWS_LAMBDA_FUNCTION_VERSION;
    } else if (ipv4 === undefined) {
      ipv4 = hostIpv4();
    }
    if (ipv4 !== undefined) out.AWS_INSTANCE_IPV4 = ipv4;
    const port = this.port ?? (env.PORT && /^\d+$/.test(env.PORT) ? Number(env.PORT) : undefined);
    if (port !== undefined) out.AWS_INSTANCE_PORT = String(port);
    if (this.healthCheckUrl !== undefined) out.HEALTH_CHECK_URL = this.healthCheckUrl;
    return { ...out, ...this.attributes };
  }

  /** `RegisterInstance`; resolves to the operation id. */
  async register() {
    const ServiceId = await this.serviceId();
    const Attributes = await this.instanceAttributes();
    const out = await this.client.send(new this._sdk.RegisterInstanceCommand({ ServiceId, InstanceId: this.instanceId, Attributes }));
    this.registered = true;
    this._log.info('Registered with Cloud Map', { serviceName: this.serviceName, instanceId: this.instanceId, serviceId: ServiceId });
    return out.OperationId;
  }

  /** `DeregisterInstance`; resolves to the operation id. */
  async deregister() {
    const ServiceId = await this.serviceId();
    const out = await this.client.send(new this._sdk.DeregisterInstanceCommand({ ServiceId, InstanceId: this.instanceId }));
    this.registered = false;
    this._log.info('Deregistered from Cloud Map', { serviceName: this.serviceName, instanceId: this.instanceId, serviceId: ServiceId });
    return out.OperationId;
  }

  /** `UpdateInstanceCustomHealthStatus` ('HEALTHY' | 'UNHEALTHY'): the service needs a custom health check config. */
  async updateHealthStatus(status) {
    if (typeof status !== 'string') throw new TypeError(`\`status\` must be 'HEALTHY' or 'UNHEALTHY', not ${describe(status)}`);
    if (!HEALTH.has(status)) throw new RangeError(`\`status\` must be 'HEALTHY' or 'UNHEALTHY', not ${JSON.stringify(status)}`);
    const ServiceId = await this.serviceId();
    await this.client.send(new this._sdk.UpdateInstanceCustomHealthStatusCommand({ ServiceId, InstanceId: this.instanceId, Status: status }));
  }
}

const SIGNALS = ['SIGTERM', 'SIGINT'];

/**
 * Registers this instance (see ServiceDiscoveryManager) and deregisters it on SIGTERM
 * or SIGINT (then the signal takes its default course, unless you listen to it too).
 * `handleSignals: false` leaves signals alone. Resolves to the manager.
 */
async function createServiceDiscovery(options) {
  checkObject(options, 'createServiceDiscovery options');
  const { handleSignals = true } = options;
  if (typeof handleSignals !== 'boolean') throw new TypeError(`\`handleSignals\` must be a boolean, not ${describe(handleSignals)}`);
  const manager = new ServiceDiscoveryManager(options);
  await manager.register();
  if (handleSignals) {
    const onSignal = (signal) => {
      for (const s of SIGNALS) process.off(s, onSignal);
      const done = () => {
        // Nobody else listens: the signal's default (the process ends by it).
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      };
      manager.deregister().then(done, (error) => {
        manager._log.error('Failed to deregister from Cloud Map', error);
        done();
      });
    };
    for (const s of SIGNALS) process.on(s, onSignal);
    manager.stopHandlingSignals = () => {
      for (const s of SIGNALS) process.off(s, onSignal);
    };
  }
  return manager;
}

// ---- Cloud Map: other services -------------------------------------------------

/**
 * Finds healthy instances of other services (`DiscoverInstances`), cached for
 * `cacheTtlMs` (default 60000). When Cloud Map fails (or its breaker is open) the
 * stale list is served with a warning. Options: `client`, `clientConfig`, `logger`,
 * `breakerName` (default 'cloud-map-discovery'), `breakerOptions`, `clock` ({ now() } in ms).
 */
class ServiceLocator {
  constructor(cacheTtlMs = 60000, options = {}) {
    this.cacheTtlMs = checkMs(cacheTtlMs, 'cacheTtlMs');
    checkClientOptions(checkObject(options, 'options'));
    const { breakerName = 'cloud-map-discovery', breakerOptions = {}, clock = null } = options;
    checkString(breakerName, 'breakerName');
    checkObject(breakerOptions, '`breakerOptions`');
    if (clock !== null && (typeof clock !== 'object' || typeof clock.now !== 'function')) throw new TypeError(`\`clock\` must have a now() method, not ${describe(clock)}`);
    this._options = options;
    this._sdk = loadSdk(SDK.servicediscovery);
    this._client = null;
    this._clock = clock;
    this._log = options.logger === undefined ? theLogger() : options.logger;
    this._cache = new Map();
    this._inflight = new Map();
    this._next = new Map();
    this._namespaces = new Map();
    /** The breaker guarding Cloud Map lookups (shared by locators with the same `breakerName`). */
    const known = circuitBreakerRegistry.has(breakerName);
    this.breaker = createCircuitBreaker(breakerName, { failureThreshold: 0.5, minimumRequests: 5, timeout: 5000, resetTimeout: 30000, ...breakerOptions });
    // Its transitions log through the locator's `logger` when one is given (else
    // through tripwire's own: setLogger() / TRIPWIRE_LOG).
    if (!known && options.logger !== undefined) this.breaker[internal.kLogger] = options.logger;
  }

  get client() {
    if (this._client === null) this._client = clientFor('servicediscovery', this._options);
    return this._client;
  }

  _now() {
    return this._clock === null ? Date.now() : this._clock.now();
  }

  async _namespaceName(namespaceId) {
    let name = this._namespaces.get(namespaceId);
    if (name === undefined) {
      const out = await this.client.send(new this._sdk.GetNamespaceCommand({ Id: namespaceId }));
      name = out.Namespace.Name;
      this._namespaces.set(namespaceId, name);
    }
    return name;
  }

  async _lookup(serviceName, namespaceId) {
    return this.breaker.execute(async () => {
      const NamespaceName = await this._namespaceName(namespaceId);
      const out = await this.client.send(new this._sdk.DiscoverInstancesCommand({ NamespaceName, ServiceName: serviceName, HealthStatus: 'HEALTHY' }));
      return (out.Instances || []).map((i) => {
        const attributes = { ...(i.Attributes || {}) };
        const port = attributes.AWS_INSTANCE_PORT === undefined ? undefined : Number(attributes.AWS_INSTANCE_PORT);
        return {
          instanceId: i.InstanceId,
          namespaceName: i.NamespaceName ?? NamespaceName,
          serviceName: i.ServiceName ?? serviceName,
          healthStatus: i.HealthStatus ?? 'HEALTHY',
          attributes,
          ipv4: attributes.AWS_INSTANCE_IPV4,
          port: Number.isFinite(port) ? port : undefined,
        };
      });
    });
  }

  /** Every healthy instance of `serviceName` in the namespace `namespaceId` (cached). */
  async getServiceInstances(serviceName, namespaceId) {
    checkString(serviceName, 'serviceName');
    checkString(namespaceId, 'namespaceId');
    const key = `${namespaceId}\u0000${serviceName}`;
    const cached = this._cache.get(key);
    if (cached !== undefined && this._now() - cached.at < this.cacheTtlMs) return [...cached.instances];
    let pending = this._inflight.get(key);
    if (pending === undefined) {
      pending = this._lookup(serviceName, namespaceId).then(
        (instances) => {
          this._cache.set(key, { at: this._now(), instances });
          return instances;
        },
        (error) => {
          const stale = this._cache.get(key);
          if (stale === undefined) throw error;
          this._log.warn('Cloud Map lookup failed; serving the cached instances', {
            serviceName,
            namespaceId,
            ageMs: this._now() - stale.at,
            error: messageOf(error),
          });
          return stale.instances;
        },
      );
      this._inflight.set(key, pending);
      const clear = () => this._inflight.delete(key);
      pending.then(clear, clear);
    }
    return [...(await pending)];
  }

  /** One healthy instance, in turn among them (round robin), or null when there is none. */
  async getServiceInstance(serviceName, namespaceId) {
    const instances = await this.getServiceInstances(serviceName, namespaceId);
    if (instances.length === 0) return null;
    const key = `${namespaceId}\u0000${serviceName}`;
    const n = this._next.get(key) ?? Math.floor(Math.random() * instances.length);
    this._next.set(key, (n + 1) % 0x7fffffff);
    return instances[n % instances.length];
  }

  /** Forgets the cached lists (of one service, or all). */
  clearCache(serviceName = undefined, namespaceId = undefined) {
    if (serviceName === undefined) this._cache.clear();
    else this._cache.delete(`${checkString(namespaceId, 'namespaceId')}\u0000${serviceName}`);
  }
}

// ---- CloudWatch ----------------------------------------------------------------------

const STATE_VALUE = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 };
// The snapshot's state labels as the three states (forced open is open; disabled
// lets every call through, as closed does).
const SNAPSHOT_STATE = { closed: 'CLOSED', open: 'OPEN', half_open: 'HALF_OPEN', forced_open: 'OPEN', disabled: 'CLOSED' };
// The calls that ran, in the snapshot's calls_total kinds (ignored calls do not count).
const RAN = new Set(['successful', 'failed', 'timeout']);

/**
 * Each breaker's `{ state, failureRate (0..1), totalRequests }` from the metrics
 * snapshot (the one metricsText() renders: the registry's breakers and every live
 * service's), by breaker name.
 */
function snapshotStats() {
  const stats = new Map();
  const of = (name) => {
    let s = stats.get(name);
    if (s === undefined) stats.set(name, (s = { state: 'CLOSED', failureRate: 0, totalRequests: 0 }));
    return s;
  };
  for (const sample of samples(metricsText())) {
    const { name } = sample.attributes;
    if (name === undefined) continue;
    if (sample.name === 'tripwire_circuitbreaker_state') {
      if (sample.value === 1) of(name).state = SNAPSHOT_STATE[sample.attributes.state] ?? 'CLOSED';
    } else if (sample.name === 'tripwire_circuitbreaker_failure_ratio') {
      of(name).failureRate = sample.value;
    } else if (sample.name === 'tripwire_circuitbreaker_calls_total') {
      if (RAN.has(sample.attributes.kind)) of(name).totalRequests += sample.value;
    }
  }
  return stats;
}
// PutMetricData takes at most 1000 metric data and 1 MB per request.
const MAX_DATA = 1000;
const MAX_BYTES = 900 * 1024;

function metricDataOf(stats, extra, timestamp) {
  const data = [];
  for (const [name, stat] of stats) {
    const service = [{ Name: 'Service', Value: name || '(empty)' }, ...extra];
    data.push(
      { MetricName: 'State', Value: STATE_VALUE[stat.state] ?? 0, Unit: 'None', Dimensions: service, Timestamp: timestamp },
      {
        MetricName: 'FailureRate',
        Value: Number.isFinite(stat.failureRate) ? stat.failureRate * 100 : 0,
        Unit: 'Percent',
        Dimensions: [service[0], { Name: 'State', Value: stat.state }, ...extra],
        Timestamp: timestamp,
      },
      { MetricName: 'TotalRequests', Value: stat.totalRequests, Unit: 'Count', Dimensions: service, Timestamp: timestamp },
    );
  }
  return data;
}

/** Splits metric data into requests within PutMetricData's limits. */
function batchesOf(data, maxBatchSize) {
  const batches = [];
  let batch = [];
  let bytes = 0;
  for (const datum of data) {
    // The query encoding is larger than JSON: twice the JSON length is a safe bound.
    const size = 2 * JSON.stringify(datum).length;
    if (batch.length > 0 && (batch.length >= maxBatchSize || bytes + size > MAX_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(datum);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * Publishes every breaker's `State` (0 closed, 1 half-open, 2 open),
 * `FailureRate` (Percent, 0..100; dimensions Service and State, as seed 000) and
 * `TotalRequests` (Count) to CloudWatch. Nothing runs until `start()` or `publish()`.
 */
class CircuitBreakerMetricsPublisher {
  constructor(options) {
    checkClientOptions(checkObject(options, 'publishCircuitBreakerMetrics options'));
    const { namespace, intervalMs = 60000, dimensions = {}, maxBatchSize = MAX_DATA } = options;
    this.namespace = checkString(namespace, 'namespace');
    this.intervalMs = checkMs(intervalMs, 'intervalMs');
    checkObject(dimensions, '`dimensions`');
    this._dimensions = Object.entries(dimensions).map(([Name, Value]) => {
      if (typeof Value !== 'string') throw new TypeError(`\`dimensions.${Name}\` must be a string, not ${describe(Value)}`);
      return { Name, Value };
    });
    if (this._dimensions.length > 28) throw new RangeError('`dimensions` may hold at most 28 entries (CloudWatch allows 30 per metric)');
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > MAX_DATA) throw new RangeError(`\`maxBatchSize\` must be a whole number in 1..${MAX_DATA}, not ${String(maxBatchSize)}`);
    this.maxBatchSize = maxBatchSize;
    this._options = options;
    this._sdk = loadSdk(SDK.cloudwatch);
    this._client = null;
    this._timer = null;
    this._log = options.logger === undefined ? theLogger() : options.logger;
  }

  get client() {
    if (this._client === null) this._client = clientFor('cloudwatch', this._options);
    return this._client;
  }

  /** Whether the timer runs. */
  get running() {
    return this._timer !== null;
  }

  /** The metric data of every breaker now, from the metrics snapshot (see metricsText()). */
  collect() {
    return metricDataOf(snapshotStats(), this._dimensions, new Date());
  }

  /** Sends the metrics once now; resolves to `{ metrics, requests }`. */
  async publish() {
    const batches = batchesOf(this.collect(), this.maxBatchSize);
    for (const MetricData of batches) {
      await this.client.send(new this._sdk.PutMetricDataCommand({ Namespace: this.namespace, MetricData }));
    }
    return { metrics: batches.reduce((n, b) => n + b.length, 0), requests: batches.length };
  }

  /** Publishes every `intervalMs` (an unref'd timer: it keeps no process alive). */
  start() {
    if (this._timer !== null) return this;
    this._timer = setInterval(() => {
      this.publish().catch((error) => this._log.error('Failed to publish circuit breaker metrics', error));
    }, this.intervalMs);
    this._timer.unref();
    return this;
  }

  /** Stops the timer started by start(). */
  stop() {
    if (this._timer !== null) {
      clearInterval(this._timer);
      this._timer = null;
    }
    return this;
  }
}

/** A CloudWatch publisher of every breaker's stats (not started: call start() or publish()). */
function publishCircuitBreakerMetrics(options) {
  return new CircuitBreakerMetricsPublisher(options);
}

// ---- the seed's ready-made breakers ------------------------------------------------

/**
 * A stand-in that becomes the breaker on first use: the breaker is created (and
 * registered) the first time a property is read, so importing costs nothing.
 */
function lazyBreaker(create) {
  let real = null;
  const bound = new Map();
  const get = () => {
    if (real === null) real = create();
    return real;
  };
  return new Proxy(Object.create(CircuitBreaker.prototype), {
    get(_, key) {
      const breaker = get();
      const value = Reflect.get(breaker, key, breaker);
      if (typeof value !== 'function') return value;
      let fn = bound.get(key);
      if (fn === undefined || fn.original !== value) {
        fn = Object.assign(value.bind(breaker), { original: value });
        bound.set(key, fn);
      }
      return fn;
    },
    set: (_, key, value) => Reflect.set(get(), key, value),
    has: (_, key) => Reflect.has(get(), key),
    ownKeys: () => Reflect.ownKeys(get()),
    getOwnPropertyDescriptor(_, key) {
      const d = Reflect.getOwnPropertyDescriptor(get(), key);
      return d === undefined ? undefined : { ...d, configurable: true };
    },
    defineProperty: (_, key, d) => Reflect.defineProperty(get(), key, d),
    deleteProperty: (_, key) => Reflect.deleteProperty(get(), key),
    getPrototypeOf: () => CircuitBreaker.prototype,
  });
}

function readyMade(name, fallback) {
  return () => {
    const existing = circuitBreakerRegistry.get(name);
    if (existing !== undefined) return existing;
    return createExternalServiceCircuitBreaker(name, fallback);
  };
}

/** Seed 000's Stripe breaker: rate 0.5 over ≥ 10 calls, 30 s timeout, 60 s open. */
const stripeCircuitBreaker = lazyBreaker(readyMade('stripe'));
/** Seed 000's weather breaker: the same, with a fallback answering null. */
const weatherApiCircuitBreaker = lazyBreaker(readyMade('weather-api', async () => null));

module.exports = {
  ...main,
  createDynamoDBHealthCheck,
  ServiceDiscoveryManager,
  createServiceDiscovery,
  ServiceLocator,
  CircuitBreakerMetricsPublisher,
  publishCircuitBreakerMetrics,
  logBreakerTransitions,
  stripeCircuitBreaker,
  weatherApiCircuitBreaker,
};
