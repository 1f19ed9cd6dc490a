// seed 000's CloudWatch block, unchanged but for the import line ('tripwire/aws'); and
// the same job done by tripwire/aws's publisher.
import { getAllCircuitBreakerStats } from 'tripwire/aws';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';

const cloudwatch = new CloudWatchClient({});

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

import { publishCircuitBreakerMetrics } from 'tripwire/aws';

// The same, FailureRate as 0..100, in batches; started and stopped explicitly.
export const publisher = publishCircuitBreakerMetrics({ namespace: 'RoadcallAssistant/CircuitBreakers/tripwire', intervalMs: 60000 });
