// The bench page in headless Chromium: `bash scripts/bench-wasm.sh` (release build first).
// Prints the figures as JSON and as a Markdown table.
import { startServer, launchBrowser } from './harness.mjs';

const rounds = Number(process.env.ROUNDS ?? 31);
const calls = Number(process.env.CALLS ?? 4000);
const fetchCalls = Number(process.env.FETCH_CALLS ?? 2000);

let server;
let browser;
try {
  server = await startServer();
  browser = await launchBrowser();
  const page = browser.context.pages()[0] ?? await browser.context.newPage();
  page.on('pageerror', (e) => console.error(e));
  await page.goto(`${server.url}/test/bench.html`);
  await page.waitForFunction(() => window.benchReady === true);
  const version = browser.context.browser()?.version() ?? 'chromium';
  const isolated = await page.evaluate(() => window.benchIsolated);
  const results = await page.evaluate((o) => window.runBench(o), { rounds, calls, fetchCalls });
  console.log(JSON.stringify({ chromium: version, crossOriginIsolated: isolated, rounds, calls, fetchCalls, results }, null, 2));
  const f = (x) => x.toFixed(2);
  console.log('\n| scenario | bare µs/call | tripwire overhead µs | opossum overhead µs | ratio |');
  console.log('|---|---|---|---|---|');
  for (const [name, r] of Object.entries(results)) {
    const ratio = r.tripwire.overheadMicros / r.opossum.overheadMicros;
    console.log(`| ${name} | ${f(r.bareMicros)} | ${f(r.tripwire.overheadMicros)}${r.tripwireGuardFetch ? ` (guardFetch ${f(r.tripwireGuardFetch.overheadMicros)})` : ''} | ${f(r.opossum.overheadMicros)} | ${ratio.toFixed(2)}× |`);
  }
} finally {
  await browser?.close();
  await server?.close();
}
