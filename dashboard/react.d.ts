/** Props of the dashboard: the control API's base URL, the refresh period, the token. */
export interface CircuitBreakerDashboardProps {
  /** The control API's base URL (default `/api/circuit-breaker`). */
  src?: string;
  /** Milliseconds between refreshes (default 5000). */
  interval?: number;
  /** The control token; without it (and without `#token=` in the URL) the dashboard is read-only. */
  token?: string;
  className?: string;
  id?: string;
}

/** `<tripwire-dashboard>` for React. */
export declare function CircuitBreakerDashboard(props: CircuitBreakerDashboardProps): import('react').ReactElement;
export default CircuitBreakerDashboard;
