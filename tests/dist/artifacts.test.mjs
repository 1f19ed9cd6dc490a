// What each release artifact holds (scripts/dist.sh, `make dist`): exact file lists
// where the list is ours, and the manifest fields npm and pip act on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { artifacts, checkout, platformPackage, tarList, tarRead, tracked, version, zipList, zipRead } from './common.mjs';

const noLeftovers = (files) => {
  for (const f of files) {
    assert.doesNotMatch(f, /(^|\/)(target|node_modules|__pycache__|\.pytest_cache|\.mypy_cache)\/|\.pyc$|\.tmp$/, `${f} is a build leftover`);
  }
};

/** A shared library needs no glibc symbol newer than 2.17 (manylinux2014's promise). */
function assertGlibc217(bytes) {
  const minors = [...new Set(bytes.toString('latin1').match(/GLIBC_2\.\d+/g))].map((v) => Number(v.split('.')[1]));
  assert.ok(minors.length > 0 && Math.max(...minors) <= 17, `needs GLIBC_2.${Math.max(...minors)}`);
}

/** Every `exports` entry that is a condition object names `types` first. */
function assertTypesFirst(pkg) {
  for (const [key, entry] of Object.entries(pkg.exports)) {
    if (typeof entry === 'object' && 'types' in entry) assert.equal(Object.keys(entry)[0], 'types', `exports["${key}"]`);
  }
}

test('the wheel: abi3 for CPython 3.9+, manylinux2014, the facade, stubs, py.typed, dashboard assets', () => {
  const wheel = artifacts.wheel();
  const files = zipList(wheel);
  const info = `tripwire-${version}.dist-info`;
  // Every tracked file of the Python package, the compiled module, and pip's metadata.
  const expected = [
    ...tracked('bindings-python/python'),
    'tripwire/_core.abi3.so',
    `${info}/METADATA`, `${info}/WHEEL`, `${info}/RECORD`,
    // maturin's CycloneDX bill of materials of the compiled module's crates.
    `${info}/sboms/tripwire-python.cyclonedx.json`,
  ].sort();
  assert.deepEqual(files, expected);
  noLeftovers(files);
  // tripwire.pybreaker (pybreaker's API, typed inline) ships in the same wheel.
  for (const f of ['tripwire/py.typed', 'tripwire/_core.pyi', 'tripwire/pybreaker.py', 'tripwire/dashboard/vendor/uPlot.iife.min.js']) {
    assert.ok(files.includes(f), f);
  }
  const tags = zipRead(wheel, `${info}/WHEEL`).split('\n').filter((l) => l.startsWith('Tag: ')).sort();
  assert.deepEqual(tags, ['Tag: cp39-abi3-manylinux2014_x86_64', 'Tag: cp39-abi3-manylinux_2_17_x86_64']);
  const metadata = zipRead(wheel, `${info}/METADATA`);
  assert.match(metadata, new RegExp(`^Version: ${version}$`, 'm'));
  assert.match(metadata, /^Requires-Python: >=3\.9$/m);
  // maturin's auditwheel pass checked this too.
  const so = execFileSync('python3', ['-c',
    'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("tripwire/_core.abi3.so"))', wheel],
  { maxBuffer: 64 << 20 });
  assertGlibc217(so);
});

test('the sdist: the Python package and the crates it builds from, nothing built', () => {
  const sdist = artifacts.sdist();
  const files = tarList(sdist).map((f) => f.slice(`tripwire-${version}/`.length));
  noLeftovers(files);
  for (const f of ['PKG-INFO', 'pyproject.toml', 'Cargo.toml', 'Cargo.lock', 'core/src/lib.rs', 'bindings-python/Cargo.toml',
    'bindings-python/src/lib.rs', 'bindings-python/python/tripwire/py.typed', 'bindings-python/python/tripwire/_core.pyi',
    'bindings-python/python/tripwire/pybreaker.py']) {
    assert.ok(files.includes(f), `${f} is in the sdist`);
  }
  for (const f of files) assert.doesNotMatch(f, /\.(so|node|wasm|whl|tgz)$|^bindings-(node|wasm)\//, `${f} does not belong in the sdist`);
});

test('npm tripwire: the JavaScript package, no install script, the platform packages as optional dependencies', () => {
  const tarball = artifacts.npmMain();
  const files = tarList(tarball).map((f) => f.replace(/^package\//, ''));
  const pkg = JSON.parse(tarRead(tarball, 'package/package.json'));
  assert.equal(pkg.name, 'tripwire');
  assert.equal(pkg.version, version);
  // The checkout's `files` whitelist, as npm expands it, and nothing else.
  const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--silent'], { cwd: checkout, encoding: 'utf8' }));
  assert.deepEqual(files, packed[0].files.map((f) => f.path).sort());
  noLeftovers(files);
  for (const f of files) assert.doesNotMatch(f, /\.(node|rs|wasm|so)$|^binding\.gyp$|Cargo\.(toml|lock)$/, `${f} does not belong here`);
  assert.equal(pkg.scripts, undefined, 'no scripts at all: nothing runs on install');
  assert.equal(pkg.devDependencies, undefined);
  assert.deepEqual(pkg.optionalDependencies, { [platformPackage.name]: version });
  assert.ok(Array.isArray(pkg.files));
  assertTypesFirst(pkg);
  for (const entry of [pkg.main, pkg.types]) assert.ok(files.includes(entry), entry);
  // Every subpath export resolves to a packed file (tripwire/opossum's three included).
  for (const [key, entry] of Object.entries(pkg.exports)) {
    for (const target of typeof entry === 'string' ? [entry] : Object.values(entry)) {
      assert.ok(files.includes(target.replace(/^\.\//, '')), `exports["${key}"] → ${target} is packed`);
    }
  }
  for (const f of ['bindings-node/opossum.js', 'bindings-node/opossum.mjs', 'bindings-node/opossum.d.ts']) assert.ok(files.includes(f), f);
  // Every relative require/import of a packed module is packed too (a new module left
  // out of `files` fails here, not on a user's machine).
  assertImportsPacked(tarball, files);
});

/**
 * Every relative require/import of a packed module or declaration file is packed too
 * (a `.d.ts` importing `./x.js` or `./x` needs `x.d.ts`).
 */
function assertImportsPacked(tarball, files) {
  for (const f of files.filter((name) => /\.(c|m)?js$|\.d\.ts$/.test(name))) {
    const source = tarRead(tarball, `package/${f}`);
    for (const [, spec] of source.matchAll(/(?:require\(|from |import\()\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(f), spec));
      // A declaration's `./x.js` or `./x` is `x.d.ts` (TypeScript's resolution).
      const candidates = f.endsWith('.d.ts') ? [target.replace(/\.js$/, '.d.ts'), `${target}.d.ts`] : [target];
      assert.ok(candidates.some((c) => files.includes(c)), `${f} loads ${spec}: ${candidates.join(' or ')} is packed`);
    }
  }
}

test('npm @tripwire/linux-x64-gnu: the prebuilt addon only, for linux x64 glibc', () => {
  const tarball = artifacts.npmPlatform();
  assert.deepEqual(tarList(tarball), ['package/README.md', 'package/package.json', 'package/tripwire.linux-x64-gnu.node']);
  const pkg = JSON.parse(tarRead(tarball, 'package/package.json'));
  assert.deepEqual(pkg, platformPackage);
  assert.deepEqual([pkg.os, pkg.cpu, pkg.libc], [['linux'], ['x64'], ['glibc']]);
  assert.equal(pkg.main, 'tripwire.linux-x64-gnu.node');
  assert.equal(pkg.scripts, undefined);
  // Linked against glibc 2.17, as the wheel: it loads wherever the wheel does.
  assertGlibc217(tarRead(tarball, 'package/tripwire.linux-x64-gnu.node', 'buffer'));
});

test('npm tripwire-wasm: the release build of the browser package, at most 40 KB gzipped', () => {
  const tarball = artifacts.npmWasm();
  const pkg = JSON.parse(tarRead(tarball, 'package/package.json'));
  assert.equal(pkg.name, 'tripwire-wasm');
  assert.equal(pkg.version, version);
  assert.deepEqual(tarList(tarball), ['package.json', ...pkg.files].map((f) => `package/${f}`).sort());
  assertImportsPacked(tarball, pkg.files);
  assertTypesFirst(pkg);
  // What a page loads, each file gzipped at level 9 (as bindings-wasm/test/size.test.mjs).
  const loaded = pkg.files.filter((f) => !f.endsWith('.d.ts'));
  const gzipped = loaded.reduce((sum, f) => sum + gzipSync(tarRead(tarball, `package/${f}`, 'buffer'), { level: 9 }).length, 0);
  assert.ok(gzipped <= 40_000, `${gzipped} B gzipped`);
  console.log(`tripwire-wasm: ${gzipped} B gzipped as loaded`);
});
