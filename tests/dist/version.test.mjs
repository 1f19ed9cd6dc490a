// One version number for every package the release makes: the Rust workspace, the npm
// packages (main, platform, browser) and the Python package; CHANGELOG.md describes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkout, tracked, version, platformPackage } from './common.mjs';

test('Cargo.toml, every package.json with a version, and pyproject.toml agree', () => {
  assert.match(version, /^\d+\.\d+\.\d+/);
  const manifests = tracked('.')
    .filter((f) => f.endsWith('package.json') && !f.includes('node_modules/'))
    .map((f) => ({ file: f, json: JSON.parse(readFileSync(join(checkout, f), 'utf8')) }));
  const versioned = manifests.filter((m) => m.json.version !== undefined);
  for (const m of versioned) assert.equal(m.json.version, version, `${m.file} has version ${m.json.version}`);
  // The published ones must carry it (the private dev manifests may leave it out).
  const published = manifests.filter((m) => !m.json.private).map((m) => m.file).sort();
  assert.deepEqual(published, ['npm/linux-x64-gnu/package.json', 'package.json']);
  assert.equal(platformPackage.version, version);

  const pyproject = readFileSync(join(checkout, 'pyproject.toml'), 'utf8');
  assert.equal(/\n\[project\][^[]*?\nversion = "([^"]+)"/.exec(pyproject)?.[1], version, 'pyproject.toml [project] version');
  assert.doesNotMatch(pyproject, /dynamic = \[[^\]]*"version"/, 'the version is written out, not dynamic');
  // The browser package's manifest is written by scripts/build-wasm.sh from Cargo.toml.
  assert.match(readFileSync(join(checkout, 'scripts/build-wasm.sh'), 'utf8'), /"version": "\$version"/);
});

test('CHANGELOG.md has an entry for the version', () => {
  const changelog = readFileSync(join(checkout, 'CHANGELOG.md'), 'utf8');
  assert.match(changelog, new RegExp(`^## ${version.replaceAll('.', '\\.')}\\b`, 'm'));
});
