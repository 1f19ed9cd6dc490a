// Every code block of README.md and bindings-node/README.md runs, or is marked as
// not runnable, by its fence:
//   js esm   written to an .mjs file and run with node (`import ... from 'tripwire'`)
//   js cjs   written to a .cjs file and run with node (`require('tripwire')`)
//   rust     (root README only) compiled and run as a doctest of tripwire-core
//            (core/src/lib.rs includes the README): checked here to stay so
//   sh, text shown, never run (shell commands, directory trees)
// Any other fence fails the test: nothing is skipped silently.
//
// The files are written inside the checkout (target/readme-node/), where the
// package's own name resolves to this package (package.json `exports`
// self-reference), and padded with blank lines so that line numbers in a stack trace
// are the README's. Each runs in its own process with a time limit.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RedisServer, redisAvailable } from './redis-helper.mjs';

const checkout = resolve(fileURLToPath(import.meta.url), '../../..');
const LIMIT_MS = 20_000;

/**
 * The fenced blocks of a Markdown file: `{ info, line, code }`, `line` being the
 * README line of the block's first line of code. An unclosed fence throws.
 */
export function fencedBlocks(text, file) {
  const blocks = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(.*)$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body = [];
    for (i++; i < lines.length && lines[i] !== open[1]; i++) body.push(lines[i]);
    if (i === lines.length) throw new Error(`${file}:${start + 1}: unclosed code fence`);
    blocks.push({ info: open[2].trim(), line: start + 2, code: body.join('\n') + '\n' });
  }
  return blocks;
}

const READMES = {
  'README.md': ['rust', 'sh'],
  'bindings-node/README.md': ['js esm', 'js cjs', 'sh', 'text'],
};

const scratch = join(checkout, 'target', 'readme-node');
mkdirSync(scratch, { recursive: true });
const dir = mkdtempSync(join(scratch, 'run-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// The fleet example's Redis (REDIS_URL): its own server on a free port, stopped by pid.
let redis = null;
const redisReady = redisAvailable ? RedisServer.start().then((server) => { redis = server; }) : Promise.resolve();
after(async () => {
  await redisReady;
  if (redis !== null) await redis.stop();
});

/** Runs one block in its own node process; resolves with { code, signal, output }. */
function run(file) {
  return new Promise((resolvePromise, reject) => {
    const env = redis === null ? process.env : { ...process.env, REDIS_URL: redis.url };
    const child = spawn(process.execPath, [file], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; });
    child.stderr.on('data', (chunk) => { output += chunk; });
    const timer = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, output });
    });
  });
}

for (const [readme, allowed] of Object.entries(READMES)) {
  const text = readFileSync(join(checkout, readme), 'utf8');
  const blocks = fencedBlocks(text, readme);

  test(`${readme}: every fence is one this test knows`, () => {
    for (const { info, line } of blocks) {
      assert.ok(allowed.includes(info),
        `${readme}:${line - 1}: fence \`\`\`${info}: use one of ${allowed.map((a) => `\`\`\`${a}`).join(', ')}`);
    }
  });

  if (allowed.includes('rust')) {
    test(`${readme}: its rust blocks are tripwire-core doctests`, () => {
      assert.ok(blocks.some((b) => b.info === 'rust'), 'a rust example');
      const lib = readFileSync(join(checkout, 'core/src/lib.rs'), 'utf8');
      assert.match(lib, /#\[doc = include_str!\("\.\.\/\.\.\/README\.md"\)\]/);
    });
  }

  const runnable = blocks.filter((b) => b.info === 'js esm' || b.info === 'js cjs');
  if (allowed.includes('js esm')) {
    test(`${readme}: has runnable examples`, () => {
      assert.ok(runnable.length >= 5, `${runnable.length} runnable blocks`);
    });
  }
  for (const { info, line, code } of runnable) {
    const ext = info === 'js esm' ? 'mjs' : 'cjs';
    test(`${readme}:${line} (${info}) runs`, async () => {
      const name = `${readme.replace(/[^A-Za-z0-9]+/g, '-')}-L${line}.${ext}`;
      const file = join(dir, name);
      // Blank lines first: the block's lines keep their README line numbers.
      writeFileSync(file, '\n'.repeat(line - 1) + code);
      await redisReady;
      const started = performance.now();
      const { code: exit, signal, output } = await run(file);
      const where = `${readme}:${line} (${relative(checkout, file)})`;
      assert.ok(signal === null, `${where}: killed by ${signal} after ${Math.round(performance.now() - started)} ms ` +
        `(limit ${LIMIT_MS} ms): the example must end by itself\n${output}`);
      assert.equal(exit, 0, `${where}: exited with ${exit}\n${output}`);
    });
  }
}
