#!/usr/bin/env node
// Builds the native addon from source with cargo and copies it to
// bindings-node/tripwire.node, where native.js loads it.
//
// Runs as the npm `install` script, so `npm install <checkout>` builds the addon.
// Plain Node on purpose: it must work before any dependency is installed.
//
//   TRIPWIRE_NODE_PROFILE=debug|release   (default: release; tests use debug)
//   CARGO_TARGET_DIR                      (honoured, as by cargo)
//   CARGO                                 (the cargo binary; default: cargo)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;
const root = path.resolve(here, '..');
const profile = process.env.TRIPWIRE_NODE_PROFILE || 'release';
if (profile !== 'debug' && profile !== 'release') {
  console.error(`tripwire: TRIPWIRE_NODE_PROFILE must be debug or release, not ${profile}`);
  process.exit(1);
}
const cargo = process.env.CARGO || 'cargo';
const args = ['build', '-p', 'tripwire-node', '--manifest-path', path.join(root, 'Cargo.toml')];
if (profile === 'release') args.push('--release');

const run = spawnSync(cargo, args, { cwd: root, stdio: 'inherit' });
if (run.error) {
  console.error(`tripwire: cannot run ${cargo} (${run.error.message}); a Rust toolchain is needed to build the addon`);
  process.exit(1);
}
if (run.status !== 0) process.exit(run.status || 1);

const targetDir = process.env.CARGO_TARGET_DIR
  ? path.resolve(root, process.env.CARGO_TARGET_DIR)
  : path.join(root, 'target');
const file = { linux: 'libtripwire_node.so', darwin: 'libtripwire_node.dylib', win32: 'tripwire_node.dll' }[process.platform]
  || 'libtripwire_node.so';
const built = path.join(targetDir, profile, file);
const dest = path.join(here, 'tripwire.node');
// Copy to a temporary name, then rename: a process that has the old addon loaded keeps it.
const tmp = `${dest}.${process.pid}.tmp`;
fs.copyFileSync(built, tmp);
fs.renameSync(tmp, dest);
console.error(`tripwire: built ${path.relative(root, dest)} (${profile})`);
