// seed 000's complete service example, unchanged but for the import line ('tripwire/aws').
import {
  CircuitBreaker,
  HealthCheckManager,
  createHealthCheckHandler,
  createServiceDiscovery,
  createDynamoDBHealthCheck,
  createEnvVarHealthCheck,
  stripeCircuitBreaker,
  logger,
} from 'tripwire/aws';

// Initialize health checks
const healthManager = new HealthCheckManager({
  serviceName: 'payments-svc',
  version: process.env.SERVICE_VERSION || '1.0.0',
  checks: [
    createEnvVarHealthCheck(['TABLE_NAME', 'STRIPE_SECRET_KEY']),
    createDynamoDBHealthCheck(process.env.TABLE_NAME!),
  ],
});

// Register with Cloud Map
let serviceDiscovery: any;

async function startup() {
  try {
    serviceDiscovery = await createServiceDiscovery({
      namespaceId: process.env.CLOUD_MAP_NAMESPACE_ID!,
      serviceName: 'payments-svc',
      instanceId: process.env.INSTANCE_ID || `payments-${Date.now()}`,
      healthCheckUrl: '/health/readiness',
    });

    logger.info('Service registered with Cloud Map');
  } catch (error) {
    logger.error('Failed to register service', error);
  }
}

// Health check handlers
const healthHandlers = createHealthCheckHandler(healthManager);

export const liveness = healthHandlers.liveness;
export const readiness = healthHandlers.readiness;
export const health = healthHandlers.health;

// Business logic with circuit breaker
export async function processPayment(paymentData: any) {
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

// Start service
startup();

void CircuitBreaker;
