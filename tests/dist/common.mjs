// Shared by the release-artifact tests: where the checkout and dist/ are, the one
// version, and each artifact's path (scripts/dist.sh makes them).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const checkout = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const dist = join(checkout, 'dist');

/** The workspace version (`[workspace.package] version` in Cargo.toml). */
export const version = /\[workspace\.package\][^[]*?\nversion = "([^"]+)"/.exec(
  readFileSync(join(checkout, 'Cargo.toml'), 'utf8'),
)[1];

export const platformPackage = JSON.parse(readFileSync(join(checkout, 'npm/linux-x64-gnu/package.json'), 'utf8'));

/** The one file of dist/ whose name matches, or a failure naming what is there. */
export function artifact(pattern) {
  const names = existsSync(dist) ? readdirSync(dist) : [];
  const found = names.filter((name) => pattern.test(name));
  if (found.length !== 1) throw new Error(`dist/ should hold one file matching ${pattern}, has [${names.join(', ')}]: run make dist`);
  return join(dist, found[0]);
}

export const artifacts = {
  wheel: () => artifact(new RegExp(`^tripwire-${version}-cp39-abi3-manylinux2014_x86_64\\.manylinux_2_17_x86_64\\.whl$`)),
  sdist: () => artifact(new RegExp(`^tripwire-${version}\\.tar\\.gz$`)),
  npmMain: () => artifact(new RegExp(`^tripwire-${version}\\.tgz$`)),
  npmPlatform: () => artifact(new RegExp(`^tripwire-linux-x64-gnu-${version}\\.tgz$`)),
  npmWasm: () => artifact(new RegExp(`^tripwire-wasm-${version}\\.tgz$`)),
};

/** The file list of a .tgz / .tar.gz (directories left out), sorted. */
export function tarList(file) {
  return execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n').filter((f) => f && !f.endsWith('/')).sort();
}

/** One file of a .tgz, as text (or a Buffer with encoding 'buffer'). */
export function tarRead(file, member, encoding = 'utf8') {
  return execFileSync('tar', ['-xzOf', file, member], { encoding, maxBuffer: 64 << 20 });
}

/** The file list of a wheel (a zip), sorted; Python's zipfile reads it. */
export function zipList(file) {
  const script = 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))';
  return execFileSync('python3', ['-c', script, file], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
}

export function zipRead(file, member) {
  const script = 'import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())';
  return execFileSync('python3', ['-c', script, file, member], { encoding: 'utf8' });
}

/** Tracked files under `dir` of the checkout (git ls-files), relative to `dir`. */
export function tracked(dir) {
  return execFileSync('git', ['ls-files', dir], { cwd: checkout, encoding: 'utf8' })
    .split('\n').filter(Boolean).map((f) => (dir === '.' ? f : f.slice(dir.length + 1)));
}
