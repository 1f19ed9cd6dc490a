// ESM entry: the same objects as the CommonJS entry (one module instance, one registry).
import { createRequire } from 'node:module';

const cjs = createRequire(import.meta.url)('./index.js');

export const {
  CircuitState,
  CircuitBreaker,
  CircuitBreakerError,
  CircuitBreakerOpenError,
  CircuitBreakerTimeoutError,
  ManualClock,
  Permit,
  circuitBreakerRegistry,
  createCircuitBreaker,
  withCircuitBreaker,
  createExternalServiceCircuitBreaker,
  getAllCircuitBreakerStats,
  CircuitBreakerFactory,
  CircuitBreakerMonitor,
  guardFetch,
  RedisStore,
  metricsText,
  metricsContentType,
  CircuitBreakerService,
  circuitBreakerService,
  BulkheadRejectedError,
  RetryPolicy,
  Bulkhead,
  checkHealth,
  serviceHealth,
  errorRateAlert,
  deadLetterAlert,
  allCircuitsOpenAlert,
  SERVICE_PRESETS,
  HealthCheckManager,
  createHealthCheckHandler,
  createHealthCheckHttpHandler,
  createEnvVarHealthCheck,
  createMemoryHealthCheck,
  createHttpHealthCheck,
} = cjs;
export default cjs;
