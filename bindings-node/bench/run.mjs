// Runs every scenario for tripwire, cockatiel and opossum, each in its own process
// (and one-at-a-time.mjs: every contender in one process, interleaved),
// and prints ns/op (overhead over the bare call) and the ratios to cockatiel.
// Results also go to target/bench-node.json. See scripts/bench-node.sh.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const libs = ['tripwire', 'tripwire-notimeout', 'cockatiel', 'cockatiel-timeout', 'opossum'];
// tripwire/opossum runs opossum's bench code with the import changed, right after opossum
// in each per-call scenario (issue 15: fire() ≤ 0.2× opossum's overhead).
const opossumPair = ['opossum', 'tripwire-opossum'];
// `-gc`: a full gc() before every timed loop (the breaker in V8's old generation).
const scenarios = ['success', 'failure', 'failure-full', 'reject', 'success-gc', 'failure-gc', 'failure-full-gc', 'memory', 'timers', 'crossing'];
const perCall = ['success', 'failure', 'failure-full', 'reject', 'success-gc', 'failure-gc', 'failure-full-gc'];

const results = {};
for (const scenario of scenarios) {
  for (const lib of libs) {
    if (scenario === 'crossing' && lib !== 'tripwire') continue;
    if (lib === 'cockatiel-timeout' && !perCall.includes(scenario)) continue;
    const run = spawnSync(process.execPath, ['--expose-gc', join(here, 'scenario.mjs'), lib, scenario], {
      cwd: root,
      encoding: 'utf8',
      env: process.env,
    });
    if (run.status !== 0) {
      console.error(`${lib} ${scenario} failed:\n${run.stderr}`);
      process.exit(1);
    }
    const line = run.stdout.trim().split('\n').at(-1);
    (results[scenario] ??= {})[lib] = JSON.parse(line);
    if (lib === 'opossum' && perCall.includes(scenario)) {
      const again = spawnSync(process.execPath, ['--expose-gc', join(here, 'scenario.mjs'), 'tripwire-opossum', scenario], { cwd: root, encoding: 'utf8', env: process.env });
      if (again.status !== 0) {
        console.error(`tripwire-opossum ${scenario} failed:\n${again.stderr}`);
        process.exit(1);
      }
      results[scenario]['tripwire-opossum'] = JSON.parse(again.stdout.trim().split('\n').at(-1));
    }
  }
}

const f = (x) => (typeof x === 'number' ? x.toFixed(1).padStart(9) : String(x).padStart(9));
const ratio = (a, b) => (b > 0 ? (a / b).toFixed(2) + '×' : 'n/a');
console.log(`node ${process.version}, ${process.platform}-${process.arch}`);
console.log('\nns per call, overhead over the bare call (median of 5 rounds)');
console.log('like for like: tripwire (30 s call timeout, its default) / cockatiel wrap(timeout(30 s), circuitBreaker);');
console.log('               tripwire timeout: false / cockatiel circuitBreaker alone');
console.log(`${'scenario'.padEnd(16)}${libs.map((l) => l.padStart(20)).join('')}   timed ratio  untimed ratio`);
for (const scenario of perCall) {
  const row = results[scenario];
  console.log(
    `${scenario.padEnd(16)}${libs.map((l) => f(row[l].overhead).padStart(20)).join('')}   ${ratio(row.tripwire.overhead, row['cockatiel-timeout'].overhead).padStart(11)}  ${ratio(row['tripwire-notimeout'].overhead, row.cockatiel.overhead).padStart(13)}`,
  );
}
{
  // The issue's goals, in the old-generation loop: tripwire's default (30 s timeout)
  // against cockatiel's breaker with no timeout at all; `timeout: false` against it.
  const g = (s, l) => results[s][l].overhead;
  console.log('\nold generation (-gc rows): tripwire default / cockatiel (no timeout), timeout: false / cockatiel');
  for (const s of ['success-gc', 'failure-gc', 'failure-full-gc']) {
    console.log(`  ${s.padEnd(16)} default ${ratio(g(s, 'tripwire'), g(s, 'cockatiel')).padStart(7)}   timeout: false ${ratio(g(s, 'tripwire-notimeout'), g(s, 'cockatiel')).padStart(7)}`);
  }
}
console.log('\ntripwire/opossum beside opossum 9 (the same bench code, the import changed; 30 s timeout), ns overhead per call');
console.log(`${'scenario'.padEnd(16)}${opossumPair.map((l) => l.padStart(20)).join('')}   ratio (goal ≤ 0.2×)`);
for (const scenario of perCall) {
  const row = results[scenario];
  console.log(`${scenario.padEnd(16)}${opossumPair.map((l) => f(row[l].overhead).padStart(20)).join('')}   ${ratio(row['tripwire-opossum'].overhead, row.opossum.overhead).padStart(8)}`);
}
const breakerLibs = libs.filter((l) => l !== 'cockatiel-timeout');
console.log('\nmemory per breaker (10,000 breakers), bytes; ratio = tripwire / cockatiel');
console.log(`${''.padEnd(16)}${breakerLibs.map((l) => l.padStart(20)).join('')}`);
for (const key of ['heapPerBreaker', 'rssPerBreaker']) {
  const row = results.memory;
  console.log(`${key.padEnd(16)}${breakerLibs.map((l) => f(row[l][key]).padStart(20)).join('')}   ${ratio(row.tripwire[key], row.cockatiel[key]).padStart(12)}`);
}
console.log(`nativeRss (tripwire's core breakers alone): ${results.memory.tripwire.nativeRssPerBreaker.toFixed(0)} B`);
console.log('\nreferenced timers per idle breaker (1,000 breakers after one call each)');
console.log(`${''.padEnd(16)}${breakerLibs.map((l) => f(results.timers[l].timersPerIdleBreaker).padStart(20)).join('')}`);
console.log('\nthe native crossing (tripwire), ns per call');
for (const [k, v] of Object.entries(results.crossing.tripwire)) {
  if (typeof v === 'number') console.log(`  ${k.padEnd(32)}${f(v)}`);
}

// One request at a time in V8's old generation, every contender in one process,
// interleaved round by round, in CPU time (what the machine's load does not move) and
// wall time; the calls back to back, and each in its own turn of the event loop as a
// request handler makes them (one-at-a-time.mjs).
results.oneAtATime = {};
/** One run of one-at-a-time.mjs: its JSON line, or the process ends with its error. */
function oneAtATime(shape, calls, contenders) {
  const run = spawnSync(process.execPath, ['--expose-gc', join(here, 'one-at-a-time.mjs'), shape, '9', calls, ...contenders], { cwd: root, encoding: 'utf8', env: process.env });
  if (run.status !== 0) {
    console.error(`one-at-a-time ${shape} ${contenders.join(' ')} failed:\n${run.stderr}`);
    process.exit(1);
  }
  return JSON.parse(run.stdout.trim().split('\n').at(-1));
}
{
  const contenders = ['tripwire', 'tripwire-notimeout', 'cockatiel', 'service', 'service-notimeout', 'cockatiel-stack'];
  console.log('\none request at a time, old generation, one process: median overhead (ns), CPU / wall');
  console.log(`${'loop'.padEnd(10)}${contenders.map((l) => l.padStart(20)).join('')}   default/cockatiel  untimed/cockatiel  service untimed/stack (CPU)`);
  for (const [shape, calls] of [['microtask', '100000'], ['macrotask', '20000']]) {
    const r = (results.oneAtATime[shape] = oneAtATime(shape, calls, contenders));
    const cpu = (l) => r[l].cpu;
    console.log(
      `${shape.padEnd(10)}${contenders.map((l) => `${r[l].cpu} / ${r[l].wall}`.padStart(20)).join('')}   ${ratio(cpu('tripwire'), cpu('cockatiel')).padStart(17)}  ${ratio(cpu('tripwire-notimeout'), cpu('cockatiel')).padStart(17)}  ${ratio(cpu('service-notimeout'), cpu('cockatiel-stack')).padStart(26)}`,
    );
  }
  // Failures the same way (separate processes per library measured ±50 % run to run).
  const failing = ['tripwire-failure', 'tripwire-failure-full', 'cockatiel-failure'];
  const r = (results.oneAtATime.failures = oneAtATime('microtask', '50000', failing));
  console.log(
    `failures  ${failing.map((l) => `${r[l].cpu} / ${r[l].wall}`.padStart(24)).join('')}   fresh/cockatiel ${ratio(r['tripwire-failure'].cpu, r['cockatiel-failure'].cpu)}  10,000 in window/cockatiel ${ratio(r['tripwire-failure-full'].cpu, r['cockatiel-failure'].cpu)}`,
  );
}

// Issue 6: a successful call through executeWithCircuitBreaker (retry and bulkhead
// configured) against cockatiel's wrap(retry, circuitBreaker, bulkhead); service.mjs.
results.service = {};
for (const lib of ['tripwire', 'tripwire-notimeout', 'cockatiel', 'cockatiel-timeout']) {
  const run = spawnSync(process.execPath, [join(here, 'service.mjs'), lib], { cwd: root, encoding: 'utf8', env: process.env });
  if (run.status !== 0) {
    console.error(`${lib} service failed:\n${run.stderr}`);
    process.exit(1);
  }
  results.service[lib] = JSON.parse(run.stdout.trim().split('\n').at(-1));
}
const svc = results.service;
console.log('\nseed 004 service: one successful call with retry + bulkhead, ns overhead over the bare call');
console.log(`  tripwire executeWithCircuitBreaker (30 s timeout)  ${f(svc.tripwire.overhead)}   ratio ${ratio(svc.tripwire.overhead, svc['cockatiel-timeout'].overhead)} to the cockatiel stack with a timeout`);
console.log(`  tripwire executeWithCircuitBreaker, timeout: false ${f(svc['tripwire-notimeout'].overhead)}   ratio ${ratio(svc['tripwire-notimeout'].overhead, svc.cockatiel.overhead)} to the cockatiel stack without`);
console.log(`  cockatiel wrap(retry, circuitBreaker, bulkhead)    ${f(svc.cockatiel.overhead)}`);
console.log(`  cockatiel wrap(retry, circuitBreaker, timeout(30 s), bulkhead) ${f(svc['cockatiel-timeout'].overhead)}`);

// Issue 10: 1,000,000 distinct service names, default maxBreakers; service-memory.mjs.
{
  const run = spawnSync(process.execPath, ['--expose-gc', join(here, 'service-memory.mjs')], { cwd: root, encoding: 'utf8', env: process.env });
  if (run.status !== 0) {
    console.error(`service memory failed:\n${run.stderr}`);
    process.exit(1);
  }
  results.serviceMemory = JSON.parse(run.stdout.trim().split('\n').at(-1));
  const m = results.serviceMemory;
  console.log(`\nservice memory: ${m.names} distinct service names, default maxBreakers`);
  console.log(`  RSS growth ${m.rssGrowthMB} MB (peak ${m.peakRssGrowthMB} MB), heap growth ${m.heapGrowthMB} MB, ${m.breakers} breakers live, ${m.evictions} evicted, ${m.seconds} s`);
}

// Issue 11, item 1: 3,000,000 throwaway breakers, one call each, the event loop turning
// (goal: peak RSS under 300 MB); churn.mjs.
{
  const run = spawnSync(process.execPath, [join(here, 'churn.mjs'), '3000000', 'turning'], { cwd: root, encoding: 'utf8', env: process.env });
  if (run.status !== 0) {
    console.error(`churn failed:\n${run.stderr}`);
    process.exit(1);
  }
  results.churn = JSON.parse(run.stdout.trim().split('\n').at(-1));
  const c = results.churn;
  console.log(`\nchurn: ${c.breakers} throwaway breakers, one call each (default 30 s timeout), event loop turning every 1,024`);
  console.log(`  peak RSS ${c.peakRssMB} MB (${c.rssBeforeMB} MB before), ${c.seconds} s`);
}

mkdirSync(join(root, 'target'), { recursive: true });
writeFileSync(join(root, 'target', 'bench-node.json'), JSON.stringify({ node: process.version, results }, null, 2));
console.log('\nwritten: target/bench-node.json');
