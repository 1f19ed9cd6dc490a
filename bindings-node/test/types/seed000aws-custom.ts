// seed 000's custom health checks, unchanged but for the import line ('tripwire/aws').
import { HealthCheck, HealthCheckManager } from 'tripwire/aws';

// Custom database health check
const dbHealthCheck: HealthCheck = {
  name: 'database-connection',
  check: async () => {
    try {
      await db.query('SELECT 1');
      return { healthy: true, message: 'Database connected' };
    } catch (error) {
      return { healthy: false, message: error.message };
    }
  },
  critical: true, // Service is unhealthy if this fails
};

// Custom external API health check
const apiHealthCheck: HealthCheck = {
  name: 'external-api',
  check: async () => {
    try {
      const response = await fetch('https://api.example.com/health');
      return {
        healthy: response.ok,
        message: `API status: ${response.status}`,
      };
    } catch (error) {
      return { healthy: false, message: error.message };
    }
  },
  critical: false, // Service can operate in degraded mode
};

const healthManager = new HealthCheckManager({
  serviceName: 'my-service',
  version: '1.0.0',
});

healthManager.registerCheck(dbHealthCheck);
healthManager.registerCheck(apiHealthCheck);

export { healthManager };
