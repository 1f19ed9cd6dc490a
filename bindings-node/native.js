// Loads the native addon, napi-rs style, from the first of:
//   1. TRIPWIRE_NODE_ADDON, a file (the bench loads its own release build there);
//   2. the platform package, e.g. @tripwire/linux-x64-gnu: an optional dependency of
//      the published `tripwire`, holding only the prebuilt addon (scripts/dist.sh);
//   3. bindings-node/tripwire.node, built from source by `npm run build` in a checkout.
// Otherwise it throws an Error naming the platform package it looked for and how to
// build from source. Nothing here runs cargo: installing tripwire runs no script.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** `@tripwire/<platform>-<arch>[-<libc>]`: the package npm picks by `os`, `cpu`, `libc`. */
function platformPackage() {
  let abi = '';
  if (process.platform === 'linux') {
    // glibc reports its version in the process report; musl does not.
    const { glibcVersionRuntime } = process.report.getReport().header;
    abi = glibcVersionRuntime ? '-gnu' : '-musl';
  } else if (process.platform === 'win32') {
    abi = '-msvc';
  }
  return `@tripwire/${process.platform}-${process.arch}${abi}`;
}

function loadError(message, cause) {
  return Object.assign(new Error(message), { code: 'ERR_TRIPWIRE_NATIVE' }, cause ? { cause } : {});
}

function load() {
  if (process.env.TRIPWIRE_NODE_ADDON) return require(process.env.TRIPWIRE_NODE_ADDON);
  const pkg = platformPackage();
  try {
    return require(pkg);
  } catch (error) {
    // Only "that package is not installed" falls through; a package that is there but
    // cannot load (a newer glibc than this machine's, say) is an error of its own.
    const missing = error.code === 'MODULE_NOT_FOUND' && String(error.message).includes(`'${pkg}'`);
    if (!missing) throw loadError(`tripwire: ${pkg} is installed but its addon does not load: ${error.message}`, error);
  }
  const local = path.join(__dirname, 'tripwire.node');
  if (fs.existsSync(local)) {
    try {
      return require(local);
    } catch (error) {
      throw loadError(`tripwire: cannot load the locally built addon ${local}: ${error.message}`, error);
    }
  }
  throw loadError(
    `tripwire: no native addon for ${process.platform}-${process.arch}. ` +
      `The platform package ${pkg} is not installed (npm installs it as an optional ` +
      'dependency of tripwire: check that optional dependencies were not omitted, and that ' +
      `${pkg} exists for this platform), and there is no locally built addon at ${local}. ` +
      'To build from source: clone tripwire and run `npm run build` in the checkout (needs cargo).',
  );
}

module.exports = load();
