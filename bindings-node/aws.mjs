// ESM entry of `tripwire/aws`: the main API (the same objects as `tripwire`) and the
// AWS additions of ./aws.js (one module instance, one registry).
import { createRequire } from 'node:module';

const cjs = createRequire(import.meta.url)('./aws.js');

export * from './index.mjs';
export const {
  createDynamoDBHealthCheck,
  ServiceDiscoveryManager,
  createServiceDiscovery,
  ServiceLocator,
  CircuitBreakerMetricsPublisher,
  publishCircuitBreakerMetrics,
  logBreakerTransitions,
  stripeCircuitBreaker,
  weatherApiCircuitBreaker,
} = cjs;
export default cjs;
