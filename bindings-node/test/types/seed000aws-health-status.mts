// seed 000's "Update Health Status" block, unchanged but for the import line
// ('tripwire/aws'), after the health-check setup block it reads `healthManager` from.
import {
  HealthCheckManager,
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

import { ServiceDiscoveryManager } from 'tripwire/aws';

const serviceDiscovery = new ServiceDiscoveryManager({
  namespaceId: process.env.CLOUD_MAP_NAMESPACE_ID!,
  serviceName: 'my-service',
  instanceId: process.env.INSTANCE_ID!,
});

// Update health status based on checks
const healthResult = await healthManager.executeHealthChecks();

if (healthResult.status === 'unhealthy') {
  await serviceDiscovery.updateHealthStatus('UNHEALTHY');
} else {
  await serviceDiscovery.updateHealthStatus('HEALTHY');
}

export { healthResult };
