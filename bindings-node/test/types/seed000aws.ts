// seed 000's blocks, unchanged but for the import lines ('@roadcall/utils' →
// 'tripwire/aws'; a name a block uses without importing it is added to its import line).
// Run against moto by test/seed000-aws.test.mjs. Blocks with a top-level `await` are in
// the .mts files beside this one; the custom health checks in seed000aws-custom.ts.
import { stripeCircuitBreaker, weatherApiCircuitBreaker, CircuitBreakerOpenError } from 'tripwire/aws';

// Stripe API call with circuit breaker
async function processPayment(paymentData: PaymentData) {
  try {
    const result = await stripeCircuitBreaker.execute(async () => {
      return await stripe.paymentIntents.create(paymentData);
    });
    return result;
  } catch (error) {
    if (error instanceof CircuitBreakerOpenError) {
      // Circuit is open, payment will be queued
      return { status: 'queued', message: 'Payment queued for processing' };
    }
    throw error;
  }
}

// Weather API call with circuit breaker
async function getWeatherData(location: Location) {
  try {
    const weather = await weatherApiCircuitBreaker.execute(async () => {
      return await weatherApi.getCurrentWeather(location);
    });
    return weather;
  } catch (error) {
    // Fallback returns null, incident can proceed without weather
    return null;
  }
}

import { CircuitBreaker, createExternalServiceCircuitBreaker } from 'tripwire/aws';

// Simple circuit breaker
const myServiceBreaker = new CircuitBreaker({
  name: 'my-service',
  failureThreshold: 0.5,      // 50% failure rate
  minimumRequests: 10,         // Minimum requests before evaluating
  timeout: 30000,              // 30 second timeout
  resetTimeout: 60000,         // 60 seconds before retry
});

// Circuit breaker with fallback
const myServiceWithFallback = createExternalServiceCircuitBreaker(
  'my-service',
  async () => {
    // Fallback logic - return cached data
    return await getCachedData();
  }
);

// Use the circuit breaker
async function callMyService(data: any) {
  return myServiceBreaker.execute(async () => {
    return await myService.call(data);
  });
}

import { CircuitState, logger } from 'tripwire/aws';

const advancedBreaker = new CircuitBreaker({
  name: 'advanced-service',
  failureThreshold: 0.3,       // Open at 30% failure rate
  minimumRequests: 20,         // Need 20 requests before evaluation
  timeout: 15000,              // 15 second timeout
  resetTimeout: 120000,        // 2 minutes before retry
  fallback: async () => {
    // Custom fallback logic
    logger.warn('Using fallback for advanced-service');
    return { degraded: true, data: await getBackupData() };
  },
});

// Monitor circuit breaker state
const stats = advancedBreaker.getStats();
console.log('Circuit State:', stats.state);
console.log('Failure Rate:', stats.failureRate);
console.log('Total Requests:', stats.totalRequests);

// Manual control (for testing/maintenance)
advancedBreaker.open();  // Manually open circuit
advancedBreaker.close(); // Manually close circuit

import {
  HealthCheckManager,
  createHealthCheckHandler,
  createDynamoDBHealthCheck,
  createEnvVarHealthCheck,
  createMemoryHealthCheck,
} from 'tripwire/aws';

const healthManager = new HealthCheckManager({
  serviceName: 'my-service',
  version: '1.0.0',
  checks: [
    // Check required environment variables
    createEnvVarHealthCheck(['TABLE_NAME', 'API_KEY']),
    
    // Check memory usage
    createMemoryHealthCheck(90),
    
    // Check DynamoDB table
    createDynamoDBHealthCheck('MyTable'),
  ],
});

// Create Lambda handlers
const handlers = createHealthCheckHandler(healthManager);

export const liveness = handlers.liveness;
export const readiness = handlers.readiness;
export const health = handlers.health;

const closed: CircuitState = CircuitState.CLOSED;
// For the run (test/seed000-aws.test.mjs).
export const seedFunctions = { processPayment, getWeatherData, myServiceWithFallback, callMyService, closed };
