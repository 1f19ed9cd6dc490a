// A fleet, live (issue 13): its own redis-server, a flaky local HTTP upstream, and three
// workers — two Node processes (demo-fleet-worker.mjs) and one Python process
// (bindings-python/demo-fleet-worker.py) — guarding their calls with the same named
// breaker through a RedisStore. Each worker's transitions are printed as they happen:
// the fleet trips together, sends one trial at a time, and recovers together.
//
//   make demo-fleet        (installs what is missing, builds, then runs this)
//
// TRIPWIRE_PYTHON is the Python interpreter with tripwire installed (make demo-fleet
// installs it into target/venv-python). Bounded: the upstream is healthy for 1 s, down
// for 4 s, then healthy; the demo ends once every worker is closed again (about 8 s).
// redis-server and the workers are stopped by pid, also on Ctrl-C and on errors.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';
import { RedisServer } from './test/redis-helper.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const PYTHON = process.env.TRIPWIRE_PYTHON ?? `${HERE}../target/venv-python/bin/python`;
const NAME = `demo-fleet-${process.pid}`;
const HEALTHY_MS = 1000;
const DOWN_MS = 4000;
// The demo's own guard, so that it always ends: a fleet that has not recovered by then is an error.
const DEADLINE_MS = 40000;

const t0 = Date.now();
const stamp = () => `${String(Date.now() - t0).padStart(6)} ms`;
const log = (line) => console.log(`${stamp()}  ${line}`);

// The flaky upstream: slow 503s while down (so that concurrent trials would overlap),
// a tally per worker and per breaker state the worker saw when its call was admitted.
let down = false;
let trialsNow = 0;
let peakTrials = 0;
const hits = {};
const upstream = createServer((req, res) => {
  const worker = req.headers['x-worker'] ?? '?';
  const state = req.headers['x-state'] ?? '?';
  const tally = (hits[worker] ??= { total: 0, whileDown: 0, byState: {} });
  tally.total++;
  tally.byState[state] = (tally.byState[state] ?? 0) + 1;
  const trial = state === 'HALF_OPEN';
  if (trial) peakTrials = Math.max(peakTrials, ++trialsNow);
  const answer = (status) => {
    if (trial) trialsNow--;
    res.writeHead(status).end(status === 200 ? 'ok' : 'unavailable');
  };
  if (down) {
    tally.whileDown++;
    setTimeout(() => answer(503), 30);
  } else {
    answer(200);
  }
});

const workers = [];
let redis = null;
async function cleanUp() {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  upstream.close();
  if (redis) await redis.stop();
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.log(`\n${signal}: stopping the workers and redis-server (by pid)`);
    cleanUp().finally(() => process.exit(130));
  });
}

function startWorker(label, command, args) {
  const child = spawn(command, args, {
    env: { ...process.env, DEMO_REDIS: redis.url, DEMO_UPSTREAM: upstreamUrl, DEMO_NAME: NAME, DEMO_LABEL: label },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const worker = { label, child, joined: false, state: 'CLOSED', transitions: [], summary: null };
  worker.exited = new Promise((resolve) => child.once('exit', resolve));
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line);
    if (message.event === 'joined') {
      worker.joined = true;
      log(`${label.padEnd(9)} joined the fleet (${message.mode})`);
    } else if (message.event === 'transition') {
      worker.state = message.to;
      worker.transitions.push(message);
      log(`${label.padEnd(9)} ${message.from} -> ${message.to}  (${message.mode})`);
    } else if (message.event === 'summary') {
      worker.summary = message;
    }
  });
  workers.push(worker);
  return worker;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what, check) {
  while (!check()) {
    if (Date.now() - t0 > DEADLINE_MS) throw new Error(`demo-fleet: gave up waiting for ${what}`);
    for (const w of workers) if (w.child.exitCode !== null) throw new Error(`demo-fleet: ${w.label} exited with ${w.child.exitCode}`);
    await sleep(10);
  }
}

let upstreamUrl;
try {
  redis = await RedisServer.start();
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${upstream.address().port}/`;
  log(`redis-server pid ${redis.child.pid} at ${redis.url} (no persistence); upstream at ${upstreamUrl}`);
  log(`breaker "${NAME}": failureThreshold 3, resetTimeout 1000 ms, halfOpenMaxCalls 1, shared by every worker`);
  const nodeWorker = fileURLToPath(new URL('./demo-fleet-worker.mjs', import.meta.url));
  startWorker('node-1', process.execPath, [nodeWorker]);
  startWorker('node-2', process.execPath, [nodeWorker]);
  startWorker('python-1', PYTHON, [`${HERE}../bindings-python/demo-fleet-worker.py`]);
  await until('every worker to join', () => workers.every((w) => w.joined));

  await sleep(HEALTHY_MS);
  down = true;
  const downAt = Date.now();
  log('upstream goes down (slow 503s)');
  await sleep(DOWN_MS);
  down = false;
  const downFor = Date.now() - downAt;
  log('upstream recovers');
  await until('every worker to close again', () => workers.every((w) => w.state === 'CLOSED'));
  await sleep(500);

  for (const w of workers) w.child.stdin.end();
  await Promise.all(workers.map((w) => w.exited));
  for (const w of workers) if (w.summary === null) throw new Error(`demo-fleet: ${w.label} printed no summary`);

  console.log('\nworker     sent   ok  failed  refused  sent while its breaker was OPEN  trials  opened');
  for (const w of workers) {
    const s = w.summary;
    const trials = hits[w.label]?.byState.HALF_OPEN ?? 0;
    const opened = w.transitions.filter((t) => t.to === 'OPEN').length;
    console.log(`${w.label.padEnd(9)} ${String(s.sent).padStart(5)} ${String(s.ok).padStart(4)} ${String(s.failed).padStart(7)} ${String(s.refused).padStart(8)}  ${String(s.sentWhileOpen).padStart(31)}  ${String(trials).padStart(6)}  ${String(opened).padStart(6)}  (${s.mode})`);
  }
  const whileDown = workers.map((w) => `${w.label} ${hits[w.label]?.whileDown ?? 0}`).join(', ');
  const totalDown = workers.reduce((n, w) => n + (hits[w.label]?.whileDown ?? 0), 0);
  const trials = workers.reduce((n, w) => n + (hits[w.label]?.byState.HALF_OPEN ?? 0), 0);
  // Every half-open period ends with one transition out of HALF_OPEN in every worker that
  // saw it (a worker may adopt a period without an OPEN -> HALF_OPEN event of its own).
  const halfOpens = Math.max(...workers.map((w) => w.transitions.filter((t) => t.from === 'HALF_OPEN').length));
  console.log(`\nupstream down ${(downFor / 1000).toFixed(1)} s: it saw ${totalDown} requests (${whileDown}); 3 failures fleet-wide trip every worker`);
  console.log(`half-open trials fleet-wide: ${trials} in ${halfOpens} half-open periods, at most ${peakTrials} at a time (halfOpenMaxCalls 1)`);
  console.log(`fleet: ${workers.map((w) => `${w.label} ${w.summary.state}`).join(', ')}`);
} finally {
  await cleanUp();
}
