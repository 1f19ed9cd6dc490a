// Loads the native addon that build.js builds into bindings-node/tripwire.node.
//
// `npm install <checkout>` runs build.js as the package's install script. Should the
// addon be missing all the same (install scripts skipped, e.g. with
// --ignore-scripts or an npm that blocks them), the first require builds it here,
// once, when cargo is available.
//
'use strict';
const fs = require('node:fs');
const path = require('node:path');

// TRIPWIRE_NODE_ADDON: load this addon file instead (the bench loads a release
// build there, out of reach of test runs that rebuild the debug one).
const file = process.env.TRIPWIRE_NODE_ADDON || path.join(__dirname, 'tripwire.node');

if (!process.env.TRIPWIRE_NODE_ADDON && !fs.existsSync(file) && fs.existsSync(path.join(__dirname, 'src', 'lib.rs'))) {
  const { spawnSync } = require('node:child_process');
  const built = spawnSync(process.execPath, [path.join(__dirname, 'build.js')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (built.status !== 0) {
    throw Object.assign(new Error('tripwire: building the native addon failed (see the cargo output above)'), {
      code: 'ERR_TRIPWIRE_NATIVE',
    });
  }
}

try {
  module.exports = require(file);
} catch (error) {
  throw Object.assign(
    new Error(`tripwire: cannot load the native addon ${file}: ${error.message}\n` +
      'build it with `node bindings-node/build.js` in the package (needs cargo)'),
    { code: 'ERR_TRIPWIRE_NATIVE', cause: error },
  );
}
