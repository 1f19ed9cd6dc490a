// seed 002's usage code, unchanged but for the import lines: the factory and the
// monitor in use, and its vitest tests of CircuitBreaker (inversify decorators and
// the container wiring are the application's, left out).
import {
  CircuitBreaker,
  CircuitBreakerFactory,
  CircuitBreakerMonitor,
  CircuitState,
  type Logger,
} from 'tripwire';

type NewRelicConfig = { apiKey: string };
type StreamerConfig = { ingestKey: string };
type Entity = { id: string };
interface MetricStreamer {
  streamMetrics(metrics: any[]): Promise<void>;
}

export class NerdGraphClient {
  private circuitBreaker: CircuitBreaker;
  private apiUrl = 'https://api.newrelic.com/graphql';

  constructor(
    private config: NewRelicConfig,
    private logger: Logger,
    circuitBreakerFactory: CircuitBreakerFactory
  ) {
    this.circuitBreaker = circuitBreakerFactory.create({
      name: 'nerdgraph-api',
      failureThreshold: 5,
      successThreshold: 2,
      timeout: 30000,
      retryDelay: 5000,
      monitoringWindow: 60000
    });
  }

  async query<T>(query: string): Promise<T> {
    return this.circuitBreaker.execute(async () => {
      const response = await fetch(this.apiUrl, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'API-Key': this.config.apiKey,
        },
        body: JSON.stringify({ query }),
      });

      if (!response.ok) {
        throw new Error(`NerdGraph API error: ${response.status} ${response.statusText}`);
      }

      const data = await response.json();

      if (data.errors) {
        throw new Error(`GraphQL errors: ${JSON.stringify(data.errors)}`);
      }

      return data;
    });
  }
}

export class EntityStreamer {
  private circuitBreaker: CircuitBreaker;

  constructor(
    private config: StreamerConfig,
    private logger: Logger,
    circuitBreakerFactory: CircuitBreakerFactory
  ) {
    this.circuitBreaker = circuitBreakerFactory.create({
      name: 'event-api',
      failureThreshold: 3,
      successThreshold: 2,
      timeout: 20000,
      retryDelay: 10000,
      monitoringWindow: 60000
    });
  }

  async streamEntities(entities: Entity[]): Promise<void> {
    const batches = this.createBatches(entities);

    for (const batch of batches) {
      await this.circuitBreaker.execute(async () => {
        await this.sendBatch(batch);
      });
    }
  }

  private createBatches(entities: Entity[]): Entity[][] {
    return [entities];
  }

  private getEventApiUrl(): string {
    return 'https://insights-collector.newrelic.com/v1/accounts/1/events';
  }

  private async sendBatch(batch: Entity[]): Promise<void> {
    const response = await fetch(this.getEventApiUrl(), {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'Api-Key': this.config.ingestKey,
      },
      body: JSON.stringify(batch),
    });

    if (!response.ok) {
      throw new Error(`Event API error: ${response.status}`);
    }
  }
}

export function monitoring(factory: CircuitBreakerFactory, metricStreamer: MetricStreamer) {
  const circuitBreakerMonitor = new CircuitBreakerMonitor(factory, metricStreamer);
  // Start monitoring
  circuitBreakerMonitor.startMonitoring(60000); // Report every minute
  void circuitBreakerMonitor.reportMetrics();
  factory.getAll().forEach((breaker, name) => {
    const stats = breaker.getStats();
    console.log(name, stats.totalCalls, stats.totalFailures, stats.totalSuccesses, stats.totalTimeouts, stats.averageResponseTime);
  });
  const one: CircuitBreaker | undefined = factory.get('nerdgraph-api');
  factory.reset('nerdgraph-api');
  factory.resetAll();
  return one;
}

describe('CircuitBreaker', () => {
  const config = {
    name: 'test-breaker',
    failureThreshold: 3,
    successThreshold: 2,
    timeout: 1000,
    retryDelay: 5000,
    monitoringWindow: 60000
  };

  it('should start in CLOSED state', () => {
    const breaker = new CircuitBreaker(config, createMockLogger());
    expect(breaker.getStats().state).toBe(CircuitState.CLOSED);
  });

  it('should open after failure threshold', async () => {
    const breaker = new CircuitBreaker(config, createMockLogger());
    const failingFn = vi.fn().mockRejectedValue(new Error('Test error'));

    // Fail 3 times
    for (let i = 0; i < 3; i++) {
      try {
        await breaker.execute(failingFn);
      } catch (e) {
        // Expected
      }
    }

    expect(breaker.getStats().state).toBe(CircuitState.OPEN);
  });

  it('should reject calls when OPEN', async () => {
    const breaker = new CircuitBreaker(config, createMockLogger());
    const failingFn = vi.fn().mockRejectedValue(new Error('Test error'));

    // Open the circuit
    for (let i = 0; i < 3; i++) {
      try {
        await breaker.execute(failingFn);
      } catch (e) {
        // Expected
      }
    }

    // Should reject without calling function
    await expect(breaker.execute(failingFn)).rejects.toThrow('Circuit breaker');
    expect(failingFn).toHaveBeenCalledTimes(3); // Not 4
  });

  it('should move to HALF_OPEN after retry delay', async () => {
    const breaker = new CircuitBreaker({
      ...config,
      retryDelay: 100 // Short delay for testing
    }, createMockLogger());

    const failingFn = vi.fn().mockRejectedValue(new Error('Test error'));
    const successFn = vi.fn().mockResolvedValue('success');

    // Open the circuit
    for (let i = 0; i < 3; i++) {
      try {
        await breaker.execute(failingFn);
      } catch (e) {
        // Expected
      }
    }

    // Wait for retry delay
    await new Promise(resolve => setTimeout(resolve, 150));

    // Should try again (HALF_OPEN)
    const result = await breaker.execute(successFn);
    expect(result).toBe('success');
  });
});

// Events (seed 002's emitter API).
const evented = new CircuitBreaker({ name: 'evented' });
evented.on('circuitOpened', ({ failureCount }) => console.log(failureCount));
evented.on('callRejected', ({ error, state }) => console.log(error.breakerName, state));
evented.on('success', ({ responseTime }) => console.log(responseTime));
evented.on('reset', () => undefined);
