// seed 004's snippets, unchanged but for the import line ('./CircuitBreakerService.js'
// → 'tripwire') and the declarations of the seed's own clients below.
import { circuitBreakerService } from 'tripwire';

declare const ollamaProvider: { generate(prompt: string): Promise<string> };
declare const ollama: { generate(prompt: string): Promise<string> };
declare const prompt: string;
declare const redis: { get(key: string): Promise<string | null> };
declare const key: string;
declare const db: { query(sql: string): Promise<Array<{ id: number }>> };
declare const walmartAPI: { getPrice(productId: string): Promise<{ price: number }> };
declare const productId: string;
declare const ws: { broadcast(message: string): Promise<void> };
declare const message: string;
declare const itemId: number;
declare class OllamaProvider {
  generate(prompt: string): Promise<string>;
}

async function basicUsage() {
  // Execute operation with circuit breaker protection
  const result = await circuitBreakerService.executeWithCircuitBreaker(
    'ollama',
    'generate',
    async () => {
      return await ollamaProvider.generate(prompt);
    },
    {
      fallbackOptions: {
        fallbackValue: 'AI service temporarily unavailable',
      },
    }
  );
  const text: string = result;
  return text;
}

async function serviceSpecificMethods() {
  // Ollama LLM operations
  const response = await circuitBreakerService.executeOllamaRequest(
    'generate',
    () => ollama.generate(prompt),
    () => 'Fallback response'
  );

  // Redis operations
  const cachedData = await circuitBreakerService.executeRedisOperation(
    'get',
    () => redis.get(key),
    null // fallback value
  );

  // Database queries
  const results = await circuitBreakerService.executeDatabaseQuery(
    'getUsers',
    () => db.query('SELECT * FROM users'),
    [] // empty array fallback
  );

  // External API calls
  const pricing = await circuitBreakerService.executeExternalAPI(
    'walmart',
    'getPricing',
    () => walmartAPI.getPrice(productId),
    { error: 'PRICING_UNAVAILABLE' } // fallback data
  );

  // WebSocket operations
  await circuitBreakerService.executeWebSocketOperation(
    'broadcast',
    () => ws.broadcast(message),
    true // enable queue fallback
  );
  const r: string = response;
  const c: string | null = cachedData;
  return [r, c, results, pricing];
}

// Enhanced Ollama Provider
export class CircuitBreakerOllamaProvider extends OllamaProvider {
  async generate(prompt: string): Promise<string> {
    return circuitBreakerService.executeOllamaRequest(
      'generate',
      () => super.generate(prompt),
      async () => this.getFallbackResponse(prompt)
    );
  }
  getFallbackResponse(prompt: string): string {
    return `cached answer to ${prompt}`;
  }
}

// Enhanced Walmart API
export class CircuitBreakerWalmartAPI {
  async getProductPrice(productId: string): Promise<any> {
    return circuitBreakerService.executeExternalAPI(
      'walmart',
      'getProductPrice',
      () => this.fetchPrice(productId),
      this.getFallbackPricing(productId)
    );
  }
  fetchPrice(productId: string): Promise<{ price: number }> {
    return walmartAPI.getPrice(productId);
  }
  getFallbackPricing(productId: string) {
    return { productId, price: null };
  }
}

function configuration() {
  // Update circuit breaker configuration
  circuitBreakerService.updateServiceConfig('ollama', {
    config: {
      failureThreshold: 5,
      timeout: 180000,
    },
    bulkhead: {
      maxConcurrent: 5,
    },
  });

  // Reset circuit breaker
  circuitBreakerService.resetCircuitBreaker('ollama', 'generate');

  // Force circuit breaker open (maintenance mode)
  circuitBreakerService.forceCircuitBreakerOpen('ollama');

  circuitBreakerService.updateServiceConfig('custom-service', {
    retryPolicy: {
      retryableErrors: ['CUSTOM_TRANSIENT_ERROR'],
      nonRetryableErrors: ['CUSTOM_PERMANENT_ERROR'],
    },
  });

  // Increase bulkhead capacity
  circuitBreakerService.updateServiceConfig('service-name', {
    bulkhead: { maxConcurrent: 20 }
  });
}

async function monitoring() {
  const health = circuitBreakerService.getSystemHealth();
  console.log(`Overall health: ${health.overall}`);
  console.log(`Services monitored: ${Object.keys(health.services).length}`);

  const states = circuitBreakerService.getCircuitBreakerState();
  Object.entries(states).forEach(([name, stats]) => {
    console.log(`${name}: ${stats.state} (${stats.totalRequests} requests)`);
  });

  const deadLetters = circuitBreakerService.getDeadLetterQueue();
  console.log(`${deadLetters.length} operations in DLQ`);

  // Retry failed operation
  await circuitBreakerService.retryDeadLetterItem(itemId);
}

// The additions: options and alerts are typed.
async function typed() {
  circuitBreakerService.on('alert', (alert) => {
    const t: 'circuit-opened' | 'high-error-rate' | 'bulkhead-full' | 'dead-letter-queue' | 'all-circuits-open' = alert.type;
    void t;
  });
  const n: number = await circuitBreakerService.executeWithCircuitBreaker('svc', 'op', async () => 1, {
    retryPolicy: { maxAttempts: 4, baseDelay: 50, jitter: 0 },
    bulkhead: { maxConcurrent: 2, queueSize: 0, maxQueueWait: 100 },
    config: { failureThreshold: 2 },
    fallbackOptions: { fallbackFunction: () => 0, queue: true },
  });
  // @ts-expect-error: the fallback value has the call's type
  await circuitBreakerService.executeWithCircuitBreaker('svc', 'op', async () => 1, { fallbackOptions: { fallbackValue: 'no' } });
  // @ts-expect-error: presets are the five names
  circuitBreakerService.updateServiceConfig('svc', { preset: 'mainframe' });
  // @ts-expect-error: maxConcurrent is a number
  circuitBreakerService.updateServiceConfig('svc', { bulkhead: { maxConcurrent: 'many' } });
  return n;
}

void [basicUsage, serviceSpecificMethods, configuration, monitoring, typed];
