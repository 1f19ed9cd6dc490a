// tripwire/dashboard/react through the package's exports: a React component that
// renders <tripwire-dashboard> with its props (server rendering, as frameworks do first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';

const require = createRequire(import.meta.url);

test('the default and the named export render the custom element', async () => {
  const cjs = require('tripwire/dashboard/react');
  const esm = await import('tripwire/dashboard/react');
  assert.equal(cjs.default, cjs);
  assert.equal(cjs.CircuitBreakerDashboard, cjs);
  assert.equal(esm.default, cjs);
  const html = renderToStaticMarkup(React.createElement(cjs, { src: '/ops/api/circuit-breaker', interval: 2000 }));
  assert.equal(html, '<tripwire-dashboard src="/ops/api/circuit-breaker" interval="2000"></tripwire-dashboard>');
  const defaults = renderToStaticMarkup(React.createElement(esm.CircuitBreakerDashboard));
  assert.equal(defaults, '<tripwire-dashboard src="/api/circuit-breaker" interval="5000"></tripwire-dashboard>');
});
