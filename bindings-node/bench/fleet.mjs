// Fleet bench rows (issue 13), against a real redis-server on a free loopback port:
//  1. closed-path overhead per call: local vs shared (Redis healthy) vs shared (Redis
//     SIGSTOPped, local mode), interleaved rounds in one process, median;
//  2. trip propagation: from A's tripping failure to B's first refusal (two stores in
//     one process: two connections and I/O threads, one clock), p50/p99 and the calls
//     B admitted in between;
//  3. peak concurrent trials for P child processes and halfOpenMaxCalls N (counted
//     atomically in Redis by the trials themselves); P = 32 mixes Node and Python
//     children (bindings-python/bench/fleet.py trial-worker, BENCH_PYTHON);
//  4. Redis CPU per breaker per process at the default flush interval (INFO CPU before
//     and after K breakers × P processes of steady traffic, minus an idle interval).
// The closed-path rows include Redis 5 ms away, through testkit's delay proxy
// (BENCH_PROXY: the tripwire-proxy binary).
// Run: scripts/bench-fleet.sh (make bench-fleet).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';
import { RedisServer, until } from '../test/redis-helper.mjs';

const require = createRequire(import.meta.url);
const { CircuitBreaker, RedisStore } = require('tripwire');
const here = fileURLToPath(new URL('.', import.meta.url));

async function main() {
  const server = await RedisServer.start();
  console.log(`node ${process.version}, ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  try {
    await closedPath(server);
    await propagation(server);
    for (const P of [2, 8]) for (const N of [1, 3]) await peakTrials(server, P, N, 0);
    if (process.env.BENCH_PYTHON) for (const N of [1, 3]) await peakTrials(server, 32, N, 16);
    else console.log('  P=32 mixed: skipped (BENCH_PYTHON unset)');
    await redisCpu(server, 4, 25);
  } finally {
    await server.stop();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function loop(fn, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - t0) / n;
}

/** testkit's delay proxy (BENCH_PROXY) in front of `port`, `ms` each way: { port, stop }. */
async function startProxy(port, ms) {
  const child = spawn(process.env.BENCH_PROXY, [String(port), String(ms)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`tripwire-proxy exited with ${code}`)));
  });
  return { port: Number(line), stop: () => child.kill() };
}

async function closedPath(server) {
  const N = 200_000;
  const ROUNDS = 7;
  const store = new RedisStore({ url: server.url });
  const options = { failureThreshold: 1e6, timeout: false };
  const local = new CircuitBreaker({ name: 'bench-local', store: null, ...options });
  const shared = new CircuitBreaker({ name: 'bench-shared', store, ...options });
  const work = async () => 1;
  await until(() => shared.getStats().lastSyncAge !== null);
  const rows = { bare: [], local: [], shared: [] };
  const round = async (into, sharedBreaker = shared) => {
    into.bare.push(await loop(work, N));
    into.local.push(await loop(() => local.execute(work), N));
    into.shared.push(await loop(() => sharedBreaker.execute(work), N));
  };
  for (let r = 0; r < ROUNDS; r++) await round(rows);
  // Redis 5 ms away (each way) through the delay proxy: a store and breaker of their own.
  const away = { bare: [], local: [], shared: [] };
  if (process.env.BENCH_PROXY) {
    const proxy = await startProxy(server.port, 5);
    const farStore = new RedisStore({ url: `redis://127.0.0.1:${proxy.port}` });
    const far = new CircuitBreaker({ name: 'bench-away', store: farStore, ...options });
    try {
      await until(() => far.getStats().lastSyncAge !== null);
      for (let r = 0; r < ROUNDS; r++) await round(away, far);
      if (far.getStats().mode !== 'shared') throw new Error('the 5 ms-away breaker went local');
      await farStore.close();
    } finally {
      proxy.stop();
    }
  }
  const stopped = { bare: [], local: [], shared: [] };
  server.pause();
  try {
    await until(() => shared.getStats().mode === 'local');
    for (let r = 0; r < ROUNDS; r++) await round(stopped);
  } finally {
    server.resume();
  }
  await until(() => shared.getStats().mode === 'shared');
  const line = (label, rs) => {
    const bare = median(rs.bare);
    const l = median(rs.local) - bare;
    const s = median(rs.shared) - bare;
    console.log(`${label.padEnd(28)} local ${l.toFixed(1).padStart(7)} ns  shared ${s.toFixed(1).padStart(7)} ns  shared - local ${(s - l).toFixed(1).padStart(7)} ns  (${(s / l).toFixed(2)}×)`);
  };
  console.log(`\nclosed path, await breaker.execute(async () => 1), overhead over the bare call, median of ${ROUNDS} interleaved rounds of ${N}`);
  line('Redis healthy', rows);
  if (away.bare.length > 0) line('Redis 5 ms away (proxy)', away);
  line('Redis stopped (SIGSTOP)', stopped);
  await store.close();
}

async function propagation(server) {
  const RUNS = 200;
  const a = new RedisStore({ url: server.url, flushInterval: 100 });
  const b = new RedisStore({ url: server.url, flushInterval: 100 });
  const options = { failureThreshold: 1, resetTimeout: 60_000, timeout: false };
  const ba = new CircuitBreaker({ name: 'bench-propagation', store: a, ...options });
  const bb = new CircuitBreaker({ name: 'bench-propagation', store: b, ...options });
  await until(() => ba.getStats().lastSyncAge !== null && bb.getStats().lastSyncAge !== null);
  const latencies = [];
  const admitted = [];
  for (let run = 0; run < RUNS; run++) {
    const t0 = process.hrtime.bigint();
    await ba.execute(async () => { throw new Error('boom'); }).catch(() => {});
    let calls = 0;
    for (;;) {
      const refused = await bb.execute(async () => 1).then(() => false, () => true);
      if (refused) break;
      calls += 1;
      await new Promise((r) => setImmediate(r));
    }
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    admitted.push(calls);
    ba.reset();
    await until(() => bb.getState() === 'CLOSED' && ba.getState() === 'CLOSED', 1);
  }
  console.log(`\ntrip propagation A → B (loopback, ${RUNS} trips; B calls back to back, a setImmediate apart)`);
  console.log(`  ms from A's tripping failure to B's first refusal: p50 ${pct(latencies, 0.5).toFixed(2)}  p99 ${pct(latencies, 0.99).toFixed(2)}  max ${Math.max(...latencies).toFixed(2)}`);
  console.log(`  calls B admitted in between: p50 ${pct(admitted, 0.5)}  p99 ${pct(admitted, 0.99)}  max ${Math.max(...admitted)}`);
  await Promise.all([a.close(), b.close()]);
}

async function peakTrials(server, P, N, pythons) {
  const name = `bench-trials-${P}-${N}`;
  const counter = `bench-live-${P}-${N}`;
  const ms = P > 8 ? 3000 : 1500;
  const env = { ...process.env, BENCH_URL: server.url, BENCH_PORT: String(server.port), BENCH_NAME: name, BENCH_N: String(N), BENCH_COUNTER: counter, BENCH_MS: String(ms) };
  const python = fileURLToPath(new URL('../../bindings-python/bench/', import.meta.url));
  const children = Array.from({ length: P }, (_, i) => (i < pythons
    ? spawn(process.env.BENCH_PYTHON, ['fleet.py', 'trial-worker'], { cwd: python, env, stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(process.execPath, [fileURLToPath(import.meta.url), 'trial-worker'], { env, stdio: ['ignore', 'pipe', 'inherit'] })));
  const outputs = Promise.all(children.map((c) => new Promise((resolve) => {
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    c.on('exit', () => resolve(JSON.parse(out.trim().split('\n').at(-1))));
  })));
  // Every child joined before any trips: the trials overlap across all of them.
  await until(async () => Number((await server.command(`INCRBY ${counter}-ready 0`, 1000))?.slice(1) ?? 0) === P || false, 120);
  await server.command(`SET ${counter}-go 1`);
  const results = await outputs;
  const peak = Math.max(...results.map((o) => o.peak));
  const trials = results.reduce((s, o) => s + o.trials, 0);
  const mix = pythons > 0 ? ` (${P - pythons} Node + ${pythons} Python)` : '';
  console.log(`${P === 2 && N === 1 ? `\npeak concurrent trials fleet-wide (child processes, every one asking for trials for ${ms / 1000} s)\n` : ''}  P=${P}${mix} N=${N}: peak ${peak} (trials run: ${trials})`);
}

/** Sums INFO CPU's used_cpu_sys + used_cpu_user (seconds). */
async function redisCpuSeconds(server) {
  const net = await import('node:net');
  const info = await new Promise((resolve) => {
    const sock = net.connect(server.port, '127.0.0.1', () => sock.write('INFO CPU\r\n'));
    let data = '';
    sock.on('data', (d) => {
      data += d;
      if (data.includes('used_cpu_user_children')) {
        sock.destroy();
        resolve(data);
      }
    });
  });
  const field = (k) => Number(new RegExp(`^${k}:([0-9.]+)`, 'm').exec(info)[1]);
  return field('used_cpu_sys') + field('used_cpu_user');
}

async function redisCpu(server, P, K) {
  const SECONDS = 10;
  const counter = `bench-cpu-${P}-${K}`;
  const idle0 = await redisCpuSeconds(server);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const idle = (await redisCpuSeconds(server)) - idle0;
  const env = { ...process.env, BENCH_URL: server.url, BENCH_PORT: String(server.port), BENCH_K: String(K), BENCH_COUNTER: counter };
  const children = Array.from({ length: P }, () => spawn(process.execPath, [fileURLToPath(import.meta.url), 'cpu-worker'], { env, stdio: ['pipe', 'inherit', 'inherit'] }));
  await until(async () => Number((await server.command(`INCRBY ${counter}-ready 0`, 1000))?.slice(1) ?? 0) === P || false, 120);
  // Past the joins: steady traffic only.
  await new Promise((r) => setTimeout(r, 1000));
  const busy0 = await redisCpuSeconds(server);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const busy = (await redisCpuSeconds(server)) - busy0;
  for (const c of children) c.stdin.end();
  await Promise.all(children.map((c) => once(c, 'exit')));
  const perBreakerProcess = ((busy - idle) * 1000) / SECONDS / (K * P);
  console.log(`\nRedis CPU at the default flushInterval (100 ms): ${P} processes × ${K} breakers, each breaker called every 10 ms, ${SECONDS} s`);
  console.log(`  redis-server CPU: ${((busy * 1000) / SECONDS).toFixed(1)} ms/s busy, ${((idle * 1000) / SECONDS).toFixed(1)} ms/s idle; per breaker per process ${perBreakerProcess.toFixed(3)} CPU-ms/s (${(perBreakerProcess / 10).toFixed(3)}% of a core)`);
}

// A child of peakTrials: trips the shared breaker, then asks for trials as fast as it
// can; each trial INCRs a Redis counter (the number of trials running fleet-wide),
// holds 5 ms, and DECRs it. Prints its peak.
async function trialWorker() {
  const net = await import('node:net');
  const port = Number(process.env.BENCH_PORT);
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const replies = [];
  let buf = '';
  sock.on('data', (d) => {
    buf += d;
    let at;
    while ((at = buf.indexOf('\r\n')) >= 0) {
      replies.shift()(buf.slice(0, at));
      buf = buf.slice(at + 2);
    }
  });
  const cmd = (line) => new Promise((resolve) => { replies.push(resolve); sock.write(`${line}\r\n`); });
  const store = new RedisStore({ url: process.env.BENCH_URL, flushInterval: 5, leaseTtl: 5000 });
  const breaker = new CircuitBreaker({ name: process.env.BENCH_NAME, store, failureThreshold: 1, resetTimeout: 50, halfOpenMaxCalls: Number(process.env.BENCH_N), successThreshold: 1e6, timeout: false });
  await until(() => breaker.getStats().lastSyncAge !== null);
  await cmd(`INCR ${process.env.BENCH_COUNTER}-ready`);
  while ((await cmd(`EXISTS ${process.env.BENCH_COUNTER}-go`)) === ":0") await new Promise((r) => setTimeout(r, 10));
  await breaker.execute(async () => { throw new Error('trip'); }).catch(() => {});
  let peak = 0;
  let trials = 0;
  const end = Date.now() + Number(process.env.BENCH_MS);
  const asker = async () => {
    while (Date.now() < end) {
      await breaker.execute(async () => {
        trials += 1;
        const live = Number((await cmd(`INCR ${process.env.BENCH_COUNTER}`)).slice(1));
        peak = Math.max(peak, live);
        await new Promise((r) => setTimeout(r, 5));
        await cmd(`DECR ${process.env.BENCH_COUNTER}`);
      }).catch(() => new Promise((r) => setTimeout(r, 1)));
    }
  };
  await Promise.all([asker(), asker(), asker(), asker()]);
  await store.close();
  sock.end();
  console.log(JSON.stringify({ peak, trials }));
}

// A child of redisCpu: K shared breakers on one store (default flushInterval), each
// called every 10 ms, until the parent closes stdin.
async function cpuWorker() {
  const net = await import('node:net');
  const K = Number(process.env.BENCH_K);
  const store = new RedisStore({ url: process.env.BENCH_URL });
  const breakers = Array.from({ length: K }, (_, i) => new CircuitBreaker({ name: `bench-cpu-${i}`, store, failureThreshold: 1e6, timeout: false }));
  await until(() => breakers.every((b) => b.getStats().lastSyncAge !== null));
  const sock = net.connect(Number(process.env.BENCH_PORT), '127.0.0.1', () => sock.end(`INCR ${process.env.BENCH_COUNTER}-ready\r\n`));
  sock.resume();
  const tick = setInterval(() => {
    for (const b of breakers) b.execute(async () => 1);
  }, 10);
  process.stdin.resume();
  await once(process.stdin, 'end');
  clearInterval(tick);
  await store.close();
}

// Last: the helpers above are initialised by now.
if (process.argv[2] === 'trial-worker') {
  await trialWorker();
} else if (process.argv[2] === 'cpu-worker') {
  await cpuWorker();
} else {
  await main();
}
