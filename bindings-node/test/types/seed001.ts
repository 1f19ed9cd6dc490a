// seed 001's snippets, unchanged but for the import lines ('@/lib/circuit-breaker' → 'tripwire').
import {
  CircuitBreakerError,
  CircuitState,
  circuitBreakerRegistry,
  createCircuitBreaker,
  withCircuitBreaker,
} from 'tripwire';

declare const baseUrl: string;
declare const agentId: string;
declare const apiKey: string;

export async function basic() {
  // Wrap external API call with circuit breaker
  const result = await withCircuitBreaker("my-external-service", async () => {
    return fetch("https://api.example.com/data");
  });
  const response: Response = result;
  return response;
}

export async function customOptions() {
  const result = await withCircuitBreaker(
    "my-external-service",
    async () => {
      return fetch("https://api.example.com/data");
    },
    {
      failureThreshold: 5, // Open after 5 failures
      recoveryTimeout: 60000, // Wait 1 minute before testing recovery
      successThreshold: 2, // Close after 2 successful tests
      requestTimeout: 30000, // Timeout individual requests after 30 seconds
    }
  );
  return result.status;
}

export async function instance() {
  const breaker = createCircuitBreaker("my-service", {
    failureThreshold: 3,
    recoveryTimeout: 30000,
  });

  // Execute multiple requests with the same breaker
  const result1 = await breaker.execute(async () => {
    return fetch("https://api.example.com/endpoint1");
  });

  const result2 = await breaker.execute(async () => {
    return fetch("https://api.example.com/endpoint2");
  });

  // Check circuit state
  console.log(breaker.getState()); // CLOSED, OPEN, or HALF_OPEN

  // Get statistics
  console.log(breaker.getStats());
  return [result1.ok, result2.ok];
}

export function callbacks() {
  const breaker = createCircuitBreaker("my-service", {
    onStateChange: (oldState, newState) => {
      console.log(`Circuit transitioned: ${oldState} -> ${newState}`);
    },
    onOpen: () => {
      console.error("Circuit opened! Service is failing.");
      // Send alert, log to monitoring system, etc.
    },
    onClose: () => {
      console.log("Circuit closed! Service has recovered.");
    },
  });
  const state: CircuitState = breaker.getState();
  return state;
}

export function registry() {
  // Get all circuit breakers
  const allBreakers = circuitBreakerRegistry.getAll();

  // Get statistics for all breakers
  const allStats = circuitBreakerRegistry.getAllStats();

  // Reset all breakers (useful for testing)
  circuitBreakerRegistry.resetAll();

  // Get a specific breaker
  const breaker = circuitBreakerRegistry.get("my-service");
  return [allBreakers, allStats, breaker];
}

export async function errorHandling() {
  try {
    const result = await withCircuitBreaker("my-service", async () => {
      return fetch("https://api.example.com/data");
    });
    return result;
  } catch (error) {
    if (error instanceof CircuitBreakerError) {
      console.error("Circuit is open:", error.message);
      console.error("Circuit state:", error.state);
      // Provide fallback response or cached data
    } else {
      // Handle other errors
      console.error("Request failed:", error);
    }
  }
}

export async function integrations() {
  const tokenResponse = await withCircuitBreaker(
    "google-oauth-token-exchange",
    async () => {
      return fetch("https://oauth2.googleapis.com/token", {
        method: "POST",
        // ... request config
      });
    },
    {
      failureThreshold: 3,
      recoveryTimeout: 30000,
      requestTimeout: 10000,
    }
  );

  const response = await withCircuitBreaker(
    "mlsgrid-api",
    async () => {
      return fetch(`${baseUrl}/listings?agentId=${agentId}`, {
        headers: {
          Authorization: `Bearer ${apiKey}`,
          // ... headers
        },
      });
    },
    {
      failureThreshold: 5,
      recoveryTimeout: 60000,
      requestTimeout: 30000,
    }
  );
  return [tokenResponse, response];
}

export function monitoring() {
  // Get all stats for monitoring dashboard
  const stats = circuitBreakerRegistry.getAllStats();
  const first: { name: string; state: string; failureCount: number; successCount: number; nextAttemptTime: number; options: object } | undefined = stats[0];
  return first;
}

export function testing() {
  const breaker = createCircuitBreaker("test-service");

  // Manually open the circuit
  breaker.open();

  // Manually reset the circuit
  breaker.reset();

  // Clear all breakers between tests
  circuitBreakerRegistry.clear();
}
