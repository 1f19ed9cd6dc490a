// The bench page in headless Chromium: `bash scripts/bench-wasm.sh` (release build first).
// Runs it twice: driven by playwright (a DevTools connection attached, as in the
// tests), then in a plain headless Chromium process with no DevTools connection,
// where making an Error or rejecting a promise costs what it costs on a user's page
// (PLAIN=0 skips that run). Prints the figures as JSON and as Markdown tables.
import { startServer, launchBrowser, launchPlainBrowser } from './harness.mjs';

const rounds = Number(process.env.ROUNDS ?? 31);
const calls = Number(process.env.CALLS ?? 4000);
const fetchCalls = Number(process.env.FETCH_CALLS ?? 2000);
const plainRun = process.env.PLAIN !== '0';

function table(title, results) {
  const f = (x) => x.toFixed(2);
  console.log(`\n${title}\n`);
  console.log('| scenario | bare µs/call | tripwire overhead µs | opossum overhead µs | ratio |');
  console.log('|---|---|---|---|---|');
  for (const [name, r] of Object.entries(results)) {
    const ratio = r.tripwire.overheadMicros / r.opossum.overheadMicros;
    console.log(`| ${name} | ${f(r.bareMicros)} | ${f(r.tripwire.overheadMicros)}${r.tripwireGuardFetch ? ` (guardFetch ${f(r.tripwireGuardFetch.overheadMicros)})` : ''} | ${f(r.opossum.overheadMicros)} | ${ratio.toFixed(2)}× |`);
  }
}

let server;
let browser;
let plain;
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
  await browser.close();
  browser = undefined;
  let plainReport;
  if (plainRun) {
    const options = encodeURIComponent(JSON.stringify({ rounds, calls, fetchCalls }));
    plain = await launchPlainBrowser(`${server.url}/test/bench.html?report=${options}`);
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('the plain Chromium run sent no report within 10 minutes')), 600_000);
    });
    plainReport = JSON.parse(await Promise.race([server.nextReport(), timeout]));
    clearTimeout(timer);
    if (plainReport.error) throw new Error(`the plain Chromium run failed: ${plainReport.error}`);
  }
  console.log(JSON.stringify({ chromium: version, crossOriginIsolated: isolated, rounds, calls, fetchCalls, results, withoutDevTools: plainReport }, null, 2));
  table('With a DevTools connection attached (playwright):', results);
  if (plainReport) table(`Without DevTools (a plain headless Chromium process; cross-origin isolated: ${plainReport.crossOriginIsolated}):`, plainReport.results);
} finally {
  await browser?.close();
  await plain?.close();
  await server?.close();
}
