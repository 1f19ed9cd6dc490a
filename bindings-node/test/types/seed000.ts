// seed 000's circuit-breaker snippets, unchanged but for the import lines
// ('@roadcall/utils' → 'tripwire'; its two pre-configured breakers built here).
import {
  CircuitBreaker,
  CircuitBreakerOpenError,
  CircuitState,
  createExternalServiceCircuitBreaker,
  getAllCircuitBreakerStats,
} from 'tripwire';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';

const cloudwatch = new CloudWatchClient({});

const stripeCircuitBreaker = createExternalServiceCircuitBreaker('stripe');
const weatherApiCircuitBreaker = createExternalServiceCircuitBreaker('weather-api', async () => null);

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

// Business logic with circuit breaker
export async function processPayment2(paymentData: any) {
  try {
    const result = await stripeCircuitBreaker.execute(async () => {
      return await stripe.paymentIntents.create(paymentData);
    });

    return { success: true, result };
  } catch (error) {
    logger.error('Payment processing failed', error);

    // Queue for manual processing if circuit is open
    if (error.name === 'CircuitBreakerOpenError') {
      await queuePaymentForManualProcessing(paymentData);
      return { success: false, queued: true };
    }

    throw error;
  }
}

// Publish circuit breaker metrics every minute
setInterval(async () => {
  const stats = getAllCircuitBreakerStats();

  for (const [name, stat] of Object.entries(stats)) {
    await cloudwatch.send(new PutMetricDataCommand({
      Namespace: 'RoadcallAssistant/CircuitBreakers',
      MetricData: [
        {
          MetricName: 'FailureRate',
          Value: stat.failureRate,
          Unit: 'Percent',
          Dimensions: [
            { Name: 'Service', Value: name },
            { Name: 'State', Value: stat.state },
          ],
        },
        {
          MetricName: 'TotalRequests',
          Value: stat.totalRequests,
          Unit: 'Count',
          Dimensions: [{ Name: 'Service', Value: name }],
        },
      ],
    }));
  }
}, 60000);

const closed: CircuitState = CircuitState.CLOSED;
void [processPayment, getWeatherData, myServiceWithFallback, callMyService, closed];
