// The release artifacts install and work where there is no Rust toolchain: in a
// scratch directory, with cargo and rustc off PATH and CARGO_HOME / RUSTUP_HOME empty.
// Only dist/ is used, never the checkout's sources (the checkout lends its tools:
// TypeScript, playwright-core, the pyenv interpreters).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, extname, join, normalize, sep } from 'node:path';
import { artifacts, checkout, platformPackage, version } from './common.mjs';
import { launchBrowser } from '../../bindings-wasm/test/harness.mjs';

let scratch;
let env;

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'tripwire-dist-'));
  const empty = (name) => { const dir = join(scratch, name); mkdirSync(dir); return dir; };
  // PATH without any directory that holds cargo or rustc.
  const path = process.env.PATH.split(delimiter)
    .filter((dir) => dir && !['cargo', 'rustc'].some((tool) => existsSync(join(dir, tool))));
  env = {
    ...process.env,
    PATH: path.join(delimiter),
    CARGO_HOME: empty('cargo-home'),
    RUSTUP_HOME: empty('rustup-home'),
    npm_config_cache: process.env.npm_config_cache ?? join(homedir(), '.npm'),
  };
  for (const key of ['CARGO', 'RUSTC', 'CARGO_TARGET_DIR', 'TRIPWIRE_NODE_ADDON']) delete env[key];
});

after(() => rmSync(scratch, { recursive: true, force: true }));

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { env, encoding: 'utf8', cwd: scratch, maxBuffer: 64 << 20, ...options });
  if (result.error) throw result.error;
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

function ok(command, args, options) {
  const result = run(command, args, options);
  assert.equal(result.status, 0, `${command} ${args.join(' ')}:\n${result.out}`);
  return result.out;
}

test('the scratch environment has no Rust toolchain', () => {
  for (const tool of ['cargo', 'rustc']) {
    assert.equal(spawnSync(tool, ['--version'], { env }).error?.code, 'ENOENT', `${tool} is on PATH`);
  }
});

// ---- Python -------------------------------------------------------------------------

/** CPython 3.9+ interpreters of pyenv, oldest and newest. */
function pythons() {
  const root = join(process.env.PYENV_ROOT ?? join(homedir(), '.pyenv'), 'versions');
  const versions = readdirSync(root)
    .filter((v) => /^3\.\d+\.\d+$/.test(v) && Number(v.split('.')[1]) >= 9)
    .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
  assert.ok(versions.length >= 2, `pyenv has ${versions}`);
  return [versions[0], versions.at(-1)].map((v) => ({ version: v, python: join(root, v, 'bin', 'python') }));
}

const PY_SCRIPT = `
import sys, tripwire
from tripwire import CircuitBreaker, CircuitBreakerOpenError, CircuitBreakerService, CircuitState

breaker = CircuitBreaker("proof", failure_threshold=2)
for _ in range(2):
    try:
        breaker.call(lambda: 1 / 0)
    except ZeroDivisionError:
        pass
assert breaker.state is CircuitState.OPEN, breaker.state
try:
    breaker.call(lambda: "ran")
    raise AssertionError("an open breaker ran the call")
except CircuitBreakerOpenError as refused:
    assert refused.name == "proof" and refused.retry_after is not None

service = CircuitBreakerService()
assert service.execute_external_api("proof-api", "get", lambda: 42, None) == 42
assert [s.state for s in service.get_circuit_breaker_state().values()] == [CircuitState.CLOSED]
assert tripwire.__file__.startswith(sys.prefix), tripwire.__file__
print("python", "%d.%d" % sys.version_info[:2], "tripwire", tripwire.__version__)
`;

for (const { version: pyVersion, python } of pythons()) {
  test(`the wheel installs with pip into a fresh CPython ${pyVersion} venv and works`, () => {
    const venv = join(scratch, `venv-${pyVersion}`);
    ok(python, ['-m', 'venv', venv]);
    // --no-index: the wheel has no dependencies; nothing comes from PyPI.
    ok(join(venv, 'bin', 'python'), ['-m', 'pip', 'install', '--no-index', '--disable-pip-version-check', '-q', artifacts.wheel()]);
    const out = ok(join(venv, 'bin', 'python'), ['-c', PY_SCRIPT]);
    assert.match(out, new RegExp(`^python ${pyVersion.split('.').slice(0, 2).join('\\.')} tripwire ${version}$`, 'm'));
  });
}

// ---- npm ----------------------------------------------------------------------------

/** An empty npm project with the given tarballs installed (from the cache, offline). */
function npmProject(name, tarballs) {
  const project = join(scratch, name);
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  // --offline: tripwire comes from the tarballs, its dependency (uPlot) from npm's cache.
  const log = ok('npm', ['install', '--ignore-scripts=false', '--offline', '--no-audit', '--no-fund', ...tarballs], { cwd: project });
  return { project, log };
}

const JS_BODY = `
const breaker = new CircuitBreaker({ name: 'proof', failureThreshold: 2 });
for (let i = 0; i < 2; i++) await breaker.execute(async () => { throw new Error('down'); }).catch(() => {});
if (breaker.getState() !== CircuitState.OPEN) throw new Error('not open: ' + breaker.getState());
const refused = await breaker.execute(async () => 'ran').then(() => null, (e) => e);
if (!(refused instanceof CircuitBreakerOpenError)) throw new Error('not refused: ' + refused);
const service = new CircuitBreakerService();
if ((await service.execute('proof-api', 'get', async () => 42)) !== 42) throw new Error('service');
console.log('tripwire works from', addon);
`;

test('npm: tripwire and its platform package install with no install script, CJS, ESM and tsc --strict', () => {
  const { project, log } = npmProject('app', [artifacts.npmMain(), artifacts.npmPlatform()]);
  assert.doesNotMatch(log, /install script|allowScripts|gyp/i, log);
  const addon = join(project, 'node_modules', ...platformPackage.name.split('/'), platformPackage.main);
  assert.ok(existsSync(addon), 'npm placed the platform package');

  const resolveAddon = `require.resolve(${JSON.stringify(platformPackage.name)})`;
  writeFileSync(join(project, 'main.cjs'), `
const { CircuitBreaker, CircuitState, CircuitBreakerOpenError, CircuitBreakerService } = require('tripwire');
const addon = ${resolveAddon};
(async () => {${JS_BODY}})().catch((e) => { console.error(e); process.exit(1); });
`);
  writeFileSync(join(project, 'main.mjs'), `
import { createRequire } from 'node:module';
import { CircuitBreaker, CircuitState, CircuitBreakerOpenError, CircuitBreakerService } from 'tripwire';
const require = createRequire(import.meta.url);
const addon = ${resolveAddon};
${JS_BODY}`);
  for (const file of ['main.cjs', 'main.mjs']) {
    assert.equal(ok(process.execPath, [file], { cwd: project }).trim(), `tripwire works from ${addon}`);
  }

  // A seed's snippets (seed 001, as bindings-node/test/types holds them) against the
  // installed .d.ts; @types/node and TypeScript come from the checkout's devDependencies.
  for (const file of ['seed001.ts', 'externals.d.ts']) copyFileSync(join(checkout, 'bindings-node/test/types', file), join(project, file));
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, target: 'es2022', lib: ['es2022', 'dom'], module: 'nodenext', moduleResolution: 'nodenext',
      types: ['node'], typeRoots: [join(checkout, 'node_modules/@types')], skipLibCheck: false, useUnknownInCatchVariables: false,
    },
    files: ['seed001.ts', 'externals.d.ts'],
  }));
  const trace = ok(process.execPath, [join(checkout, 'node_modules/typescript/bin/tsc'), '-p', project, '--traceResolution'], { cwd: project });
  assert.match(trace, new RegExp(`'tripwire' was successfully resolved to '${project.replaceAll(sep, '\\' + sep)}/node_modules/tripwire/bindings-node/index\\.d\\.ts'`));
});

test('npm: without the platform package, requiring tripwire says which package is missing and how to build', () => {
  // The platform package is left out: npm cannot find it offline and skips it, as it
  // does on a platform with no prebuilt addon.
  const { project } = npmProject('app-missing', [artifacts.npmMain()]);
  assert.ok(!existsSync(join(project, 'node_modules', ...platformPackage.name.split('/'))));
  for (const [file, source] of [['missing.cjs', "require('tripwire');"], ['missing.mjs', "await import('tripwire');"]]) {
    writeFileSync(join(project, file), source);
    const { status, out } = run(process.execPath, [file], { cwd: project });
    assert.notEqual(status, 0, out);
    assert.match(out, new RegExp(`Error: tripwire: no native addon for linux-x64\\. The platform package ${platformPackage.name} is not installed`));
    assert.match(out, /run `npm run build` in the checkout \(needs cargo\)/);
    assert.match(out, /code: 'ERR_TRIPWIRE_NATIVE'/);
    assert.doesNotMatch(out, /Require stack|Cannot find module|MODULE_NOT_FOUND/, out);
  }
});

// ---- browser ------------------------------------------------------------------------

test('tripwire-wasm: installed from its tarball, its module loads in Chromium and guards a fetch', async () => {
  const { project } = npmProject('web', [artifacts.npmWasm()]);
  writeFileSync(join(project, 'index.html'), `<!doctype html><script type="module">
    import init, { guardFetch, CircuitBreakerOpenError } from './node_modules/tripwire-wasm/tripwire_wasm.js';
    await init();
    const api = guardFetch({ failureThreshold: 2 });
    const statuses = [];
    for (let i = 0; i < 2; i++) statuses.push((await api('/down')).status);
    const refused = await api('/down').then(() => null, (e) => e);
    window.result = { statuses, state: api.breakerFor(location.origin).state, refused: refused instanceof CircuitBreakerOpenError };
  </script>`);
  let hits = 0;
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/down') {
      hits++;
      res.writeHead(503).end('down');
      return;
    }
    const file = normalize(join(project, path === '/' ? 'index.html' : path));
    if (!file.startsWith(project + sep) || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  let browser;
  try {
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    browser = await launchBrowser();
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const result = await page.waitForFunction(() => window.result, null, { timeout: 30_000 }).then((h) => h.jsonValue());
    assert.deepEqual(errors, []);
    assert.deepEqual(result, { statuses: [503, 503], state: 'OPEN', refused: true });
    assert.equal(hits, 2, 'the refused call never reached the server');
  } finally {
    await browser?.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
