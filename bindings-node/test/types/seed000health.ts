// seed 000's health-check snippets, unchanged but for the import lines
// ('@roadcall/utils' → 'tripwire'). createDynamoDBHealthCheck is AWS-specific and out
// of scope: it is written here as a custom check, as bindings-node/README.md shows.
import {
  HealthCheckManager,
  createHealthCheckHandler,
  createEnvVarHealthCheck,
  createMemoryHealthCheck,
  createHttpHealthCheck,
  createHealthCheckHttpHandler,
  type HealthCheck,
} from 'tripwire';
import { createServer } from 'node:http';

declare const db: { query(sql: string): Promise<unknown> };
declare const dynamo: { describeTable(name: string): Promise<{ TableStatus?: string }> };

function createDynamoDBHealthCheck(tableName: string): HealthCheck {
  return {
    name: `dynamodb:${tableName}`,
    critical: true,
    check: async () => {
      const { TableStatus } = await dynamo.describeTable(tableName);
      return { healthy: TableStatus === 'ACTIVE', message: `Table ${tableName}: ${TableStatus}` };
    },
  };
}

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

const healthManager2 = new HealthCheckManager({
  serviceName: 'my-service',
  version: '1.0.0',
});

healthManager2.registerCheck(dbHealthCheck);
healthManager2.registerCheck(apiHealthCheck);
healthManager2.registerCheck(createHttpHealthCheck('http://127.0.0.1:8080/health', { critical: false, timeout: 2000 }));

async function updateStatus(serviceDiscovery: { updateHealthStatus(s: 'HEALTHY' | 'UNHEALTHY'): Promise<void> }) {
  // Update health status based on checks
  const healthResult = await healthManager.executeHealthChecks();

  if (healthResult.status === 'unhealthy') {
    await serviceDiscovery.updateHealthStatus('UNHEALTHY');
  } else {
    await serviceDiscovery.updateHealthStatus('HEALTHY');
  }
}

// A plain node:http server.
const server = createServer(createHealthCheckHttpHandler(healthManager));

async function typedReport() {
  const r = await health();
  const code: number = r.statusCode;
  const body: string = r.body;
  const report = await healthManager.executeHealthChecks();
  const ms: number = report.checks['memory-usage'].responseTime;
  // @ts-expect-error: the status is one of three strings
  const wrong: 'ok' = report.status;
  return [code, body, ms, wrong];
}

void [updateStatus, server, typedReport];
