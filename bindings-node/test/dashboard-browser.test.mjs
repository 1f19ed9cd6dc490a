// The dashboard suite (tests/dashboard/browser.suite.mjs) in headless Chromium against
// the Node server: tripwire/control's serve() over a CircuitBreakerService in this process.
import { CircuitBreakerService } from 'tripwire';
import { serve } from 'tripwire/control';
import { dashboardSuite } from '../../tests/dashboard/browser.suite.mjs';

const fail = async () => {
  throw new Error('connection refused');
};

dashboardSuite({
  name: 'node',
  label: 'Node',
  async start(token, host = undefined) {
    const svc = new CircuitBreakerService();
    svc.updateServiceConfig('db', { config: { failureThreshold: 2 }, retryPolicy: { maxAttempts: 1 } });
    svc.updateServiceConfig('slow', { bulkhead: { maxConcurrent: 1, queueSize: 2 } });
    const server = await serve({ service: svc, token, host });
    let release;
    let running;
    return {
      // Reached through loopback whatever the bind.
      url: server.url.replace('//0.0.0.0:', '//127.0.0.1:'),
      call: (service, operation, failing = false) => svc.executeWithCircuitBreaker(service, operation, failing ? fail : async () => 'ok').catch(() => {}),
      state(service, operation) {
        const stats = svc.getCircuitBreaker(service, operation).getStats();
        return { state: stats.state, forced: stats.forcedOpen };
      },
      async failMail() {
        let down = true;
        await svc.executeWithCircuitBreaker('mail', 'send', async () => {
          if (down) throw new Error('smtp down');
          return 'sent';
        }, { fallbackOptions: { queue: true }, retryPolicy: { maxAttempts: 1 } }).catch(() => {});
        down = false;
        return svc.getDeadLetterQueue().length;
      },
      deadLetters: () => svc.getDeadLetterQueue().length,
      async hold() {
        running = svc.executeWithCircuitBreaker('slow', 'op', () => new Promise((resolve) => { release = resolve; }));
        // Let the bulkhead admit it (a turn of the event loop, no timer).
        await new Promise((resolve) => setImmediate(resolve));
      },
      async release() {
        release('done');
        await running;
      },
      forced: (service) => svc.getSystemHealth().services[service].forcedOpen,
      close: () => server.close(),
    };
  },
});
