// Types of `tripwire/aws`: the whole main API, plus seed 000's AWS pieces. The AWS SDK
// packages are optional: these types name none of them (a client is anything with send()).
import type { CircuitBreaker, HealthCheck, Logger } from './index.js';

export * from './index.js';

/** An AWS SDK for JavaScript v3 client, as tripwire/aws uses it. */
export interface AwsClient {
  send(command: any, options?: { abortSignal?: AbortSignal }): Promise<any>;
}

/** How a feature gets its SDK client: one you give, or one made with `clientConfig`, or a shared default one. */
export interface AwsClientOptions {
  /** An SDK v3 client of the right service, used as is. */
  client?: AwsClient;
  /** The config of the client to make (region, endpoint, credentials, maxAttempts...). */
  clientConfig?: Record<string, unknown>;
}

// ---- logger --------------------------------------------------------------------

// StructuredLogger, createLogger and logger are the main package's (re-exported above).

/** Logs a breaker's transitions (OPEN as a warning); returns a function that stops it. */
export declare function logBreakerTransitions(breaker: CircuitBreaker, logger?: Pick<Logger, 'info' | 'warn'>): () => void;

// ---- DynamoDB --------------------------------------------------------------------

export interface DynamoDBHealthCheckOptions extends AwsClientOptions {
  /** Default `dynamodb:<table>`. */
  name?: string;
  /** Default true. */
  critical?: boolean;
  /** ms before the request is aborted and the check is unhealthy (default 3000). */
  timeout?: number;
}

/** `DescribeTable`: healthy when the table is ACTIVE. */
export declare function createDynamoDBHealthCheck(tableName: string, options?: DynamoDBHealthCheckOptions): HealthCheck & { timeout: number };

// ---- Cloud Map -------------------------------------------------------------------

export type InstanceHealthStatus = 'HEALTHY' | 'UNHEALTHY';

export interface ServiceDiscoveryOptions extends AwsClientOptions {
  namespaceId: string;
  serviceName: string;
  instanceId: string;
  /** Custom attributes (strings). */
  attributes?: Record<string, string>;
  /** Registered as the HEALTH_CHECK_URL attribute. */
  healthCheckUrl?: string;
  /** The Cloud Map service id; default: found by name in the namespace. */
  serviceId?: string;
  /** Default: ECS task metadata, else (not on Lambda) the host's first external IPv4. */
  ipv4?: string;
  /** Default: PORT from the environment. */
  port?: number;
  logger?: Logger;
}

export declare class ServiceDiscoveryManager {
  constructor(options: ServiceDiscoveryOptions);
  readonly namespaceId: string;
  readonly serviceName: string;
  readonly instanceId: string;
  readonly registered: boolean;
  serviceId(): Promise<string>;
  instanceAttributes(): Promise<Record<string, string>>;
  /** RegisterInstance; the operation id. */
  register(): Promise<string | undefined>;
  /** DeregisterInstance; the operation id. */
  deregister(): Promise<string | undefined>;
  /** UpdateInstanceCustomHealthStatus (the service needs a custom health check config). */
  updateHealthStatus(status: InstanceHealthStatus): Promise<void>;
  /** Set by createServiceDiscovery when it handles SIGTERM/SIGINT. */
  stopHandlingSignals?: () => void;
}

/** Registers, and deregisters on SIGTERM/SIGINT unless `handleSignals: false`. */
export declare function createServiceDiscovery(options: ServiceDiscoveryOptions & { handleSignals?: boolean }): Promise<ServiceDiscoveryManager>;

export interface ServiceInstance {
  instanceId: string;
  namespaceName: string;
  serviceName: string;
  healthStatus: string;
  attributes: Record<string, string>;
  /** AWS_INSTANCE_IPV4 */
  ipv4?: string;
  /** AWS_INSTANCE_PORT */
  port?: number;
}

export interface ServiceLocatorOptions extends AwsClientOptions {
  logger?: Logger;
  /** The breaker guarding lookups (default 'cloud-map-discovery'). */
  breakerName?: string;
  breakerOptions?: import('./index.js').CircuitBreakerOptions;
  /** Time for the cache, in ms (default Date.now). */
  clock?: { now(): number };
}

export declare class ServiceLocator {
  /** @param cacheTtlMs default 60000 */
  constructor(cacheTtlMs?: number, options?: ServiceLocatorOptions);
  readonly cacheTtlMs: number;
  readonly breaker: CircuitBreaker;
  /** Healthy instances (cached; the stale list, with a warning, when Cloud Map fails). */
  getServiceInstances(serviceName: string, namespaceId: string): Promise<ServiceInstance[]>;
  /** One healthy instance in turn, or null. */
  getServiceInstance(serviceName: string, namespaceId: string): Promise<ServiceInstance | null>;
  clearCache(serviceName?: string, namespaceId?: string): void;
}

// ---- CloudWatch ------------------------------------------------------------------

export interface CircuitBreakerMetricsOptions extends AwsClientOptions {
  namespace: string;
  /** For start(): ms between publications (default 60000). */
  intervalMs?: number;
  /** Extra dimensions on every metric. */
  dimensions?: Record<string, string>;
  /** Metric data per PutMetricData request, 1..1000 (default 1000). */
  maxBatchSize?: number;
  logger?: Logger;
}

export interface CloudWatchMetricDatum {
  MetricName: 'State' | 'FailureRate' | 'TotalRequests';
  Value: number;
  Unit: 'None' | 'Percent' | 'Count';
  Dimensions: { Name: string; Value: string }[];
  Timestamp: Date;
}

export declare class CircuitBreakerMetricsPublisher {
  constructor(options: CircuitBreakerMetricsOptions);
  readonly namespace: string;
  readonly intervalMs: number;
  readonly running: boolean;
  collect(): CloudWatchMetricDatum[];
  publish(): Promise<{ metrics: number; requests: number }>;
  start(): this;
  stop(): this;
}

/** A publisher of every breaker's State, FailureRate (Percent) and TotalRequests; not started. */
export declare function publishCircuitBreakerMetrics(options: CircuitBreakerMetricsOptions): CircuitBreakerMetricsPublisher;

// ---- ready-made breakers --------------------------------------------------------

/** Seed 000's Stripe breaker (made on first use). */
export declare const stripeCircuitBreaker: CircuitBreaker;
/** Seed 000's weather breaker, whose fallback answers null (made on first use). */
export declare const weatherApiCircuitBreaker: CircuitBreaker;
