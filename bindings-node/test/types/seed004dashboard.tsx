// Seed 004's dashboard integration, with its import line changed to the package.
import CircuitBreakerDashboard from 'tripwire/dashboard/react';
import { CircuitBreakerDashboard as Named } from 'tripwire/dashboard/react';

function MonitoringPage() {
  return (
    <div>
      <h1>System Monitoring</h1>
      <CircuitBreakerDashboard />
    </div>
  );
}

export const tuned = <Named src="/ops/api/circuit-breaker" interval={10000} token="t" />;
export default MonitoringPage;
