// seed 000's service discovery blocks (register, discover), unchanged but for the import
// lines ('tripwire/aws'). ESM: they use a top-level `await`.
import { createServiceDiscovery } from 'tripwire/aws';

// Register service on startup
const serviceDiscovery = await createServiceDiscovery({
  namespaceId: process.env.CLOUD_MAP_NAMESPACE_ID!,
  serviceName: 'payments-svc',
  instanceId: process.env.INSTANCE_ID || `instance-${Date.now()}`,
  attributes: {
    version: '1.0.0',
    region: process.env.AWS_REGION || 'us-east-1',
  },
  healthCheckUrl: '/health/readiness',
});

// Service will automatically deregister on shutdown (SIGTERM/SIGINT)

import { ServiceLocator } from 'tripwire/aws';

const serviceLocator = new ServiceLocator(60000); // 60 second cache TTL

// Get a single instance (load balanced)
const instance = await serviceLocator.getServiceInstance(
  'vendor-svc',
  process.env.CLOUD_MAP_NAMESPACE_ID!
);

if (instance) {
  const url = `http://${instance.ipv4}:${instance.port}`;
  const response = await fetch(`${url}/vendors/search`);
}

// Get all instances
const instances = await serviceLocator.getServiceInstances(
  'vendor-svc',
  process.env.CLOUD_MAP_NAMESPACE_ID!
);

console.log(`Found ${instances.length} healthy instances`);

export { serviceDiscovery, instance, instances };
