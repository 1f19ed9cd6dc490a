#!/usr/bin/env node
// Install cost of the release artifacts beside the peers' install of the same kind:
//   pip: the tripwire wheel vs pybreaker's wheel, each from a local file into a fresh
//        venv (`pip install --no-index <wheel>`);
//   npm: the tripwire tarballs (main + platform package; uPlot from npm's cache) and the
//        tripwire-wasm tarball vs opossum's tarball, each into an empty project
//        (`npm install --offline <tarballs>`).
// Rounds interleave the contenders, so machine load hits them alike; medians printed.
// Needs dist/ (make dist); the peers' files are fetched once into target/bench-install/.
//   ROUNDS=n (default 7)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dist = join(root, 'dist');
const cache = join(root, 'target', 'bench-install');
const python = process.env.PYTHON ?? 'python3';
const rounds = Number(process.env.ROUNDS ?? 7);
const PYBREAKER = 'pybreaker==1.4.1';
const OPOSSUM = 'opossum@9.0.0';

const inDist = (re) => {
  const name = readdirSync(dist).find((f) => re.test(f));
  if (!name) throw new Error(`no ${re} in dist/: run make dist`);
  return join(dist, name);
};
mkdirSync(cache, { recursive: true });
const fetched = (re) => readdirSync(cache).find((f) => re.test(f));
if (!fetched(/^pybreaker-.*\.whl$/)) {
  execFileSync(python, ['-m', 'pip', 'download', '--no-deps', '-q', '-d', cache, PYBREAKER], { stdio: 'inherit' });
}
if (!fetched(/^opossum-.*\.tgz$/)) {
  execFileSync('npm', ['pack', OPOSSUM, '--pack-destination', cache, '--silent'], { stdio: 'inherit' });
}

const wheel = inDist(/\.whl$/);
const npmMain = inDist(/^tripwire-\d.*\.tgz$/);
const npmPlatform = inDist(/^tripwire-linux-x64-gnu-.*\.tgz$/);
const npmWasm = inDist(/^tripwire-wasm-.*\.tgz$/);
const pybreaker = join(cache, fetched(/^pybreaker-.*\.whl$/));
const opossum = join(cache, fetched(/^opossum-.*\.tgz$/));

const scratch = mkdtempSync(join(tmpdir(), 'tripwire-bench-install-'));
const du = (dir) => Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);

function timed(fn) {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

let n = 0;
const contenders = {
  'pip tripwire (wheel)': () => pip(wheel, 'tripwire'),
  'pip pybreaker (wheel)': () => pip(pybreaker, 'pybreaker'),
  'npm tripwire + @tripwire/linux-x64-gnu': () => npm([npmMain, npmPlatform]),
  'npm tripwire-wasm': () => npm([npmWasm]),
  'npm opossum': () => npm([opossum]),
};

function pip(file, installed) {
  const venv = join(scratch, `venv-${n++}`);
  execFileSync(python, ['-m', 'venv', venv]);
  const py = join(venv, 'bin', 'python');
  const site = execFileSync(py, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], { encoding: 'utf8' }).trim();
  const ms = timed(() => execFileSync(py, ['-m', 'pip', 'install', '--no-index', '--disable-pip-version-check', '-q', file]));
  return { ms, bytes: du(join(site, installed)) };
}

function npm(tarballs) {
  const project = join(scratch, `npm-${n++}`);
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), '{"name":"app","version":"1.0.0","private":true}');
  const ms = timed(() => execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--silent', ...tarballs], { cwd: project }));
  return { ms, bytes: du(join(project, 'node_modules')) };
}

const results = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
const load = [loadavg()[0]];
try {
  for (let round = 0; round < rounds; round++) {
    for (const [name, fn] of Object.entries(contenders)) results[name].push(fn());
    load.push(loadavg()[0]);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sizes = {
  'pip tripwire (wheel)': statSync(wheel).size,
  'pip pybreaker (wheel)': statSync(pybreaker).size,
  'npm tripwire + @tripwire/linux-x64-gnu': statSync(npmMain).size + statSync(npmPlatform).size,
  'npm tripwire-wasm': statSync(npmWasm).size,
  'npm opossum': statSync(opossum).size,
};
console.log(`install times, median of ${rounds} interleaved rounds; load average ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)} on ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores`);
console.log('| install | artifact bytes | installed bytes | median ms | min ms |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, runs] of Object.entries(results)) {
  const ms = runs.map((r) => r.ms);
  console.log(`| ${name} | ${sizes[name].toLocaleString('en')} | ${runs[0].bytes.toLocaleString('en')} | ${median(ms).toFixed(0)} | ${Math.min(...ms).toFixed(0)} |`);
}
if (!existsSync(join(root, 'target'))) mkdirSync(join(root, 'target'));
writeFileSync(join(root, 'target', 'bench-install.json'), JSON.stringify({ rounds, load, sizes, results }, null, 2));
