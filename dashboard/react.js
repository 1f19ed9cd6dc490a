'use strict';
// React wrapper of <tripwire-dashboard> (one copy of the element, in the Python
// package's folder so that the wheel carries it too): `import CircuitBreakerDashboard from
// 'tripwire/dashboard/react'` (default and named export). React is a peer: this file
// loads it from the app; the custom element is defined on first mount, in the browser.

const React = require('react');

/**
 * @param {{ src?: string, interval?: number, token?: string } & Record<string, unknown>} props
 */
function CircuitBreakerDashboard({ src = '/api/circuit-breaker', interval = 5000, token, ...rest }) {
  const ref = React.useRef(null);
  React.useEffect(() => {
    require('../bindings-python/python/tripwire/dashboard/tripwire-dashboard.js');
  }, []);
  React.useEffect(() => {
    if (ref.current !== null && token !== undefined) ref.current.token = token;
  }, [token]);
  return React.createElement('tripwire-dashboard', { ...rest, ref, src, interval: String(interval) });
}

module.exports = CircuitBreakerDashboard;
module.exports.default = CircuitBreakerDashboard;
module.exports.CircuitBreakerDashboard = CircuitBreakerDashboard;
