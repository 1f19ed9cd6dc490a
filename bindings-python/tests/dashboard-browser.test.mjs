// The dashboard suite (tests/dashboard/browser.suite.mjs) in headless Chromium against
// the Python server: tripwire.control.serve() in a Python process (dashboard_server.py,
// steered through JSON lines on its stdin). Run by scripts/test-python.sh with
// TRIPWIRE_PYTHON set to the interpreter that has the package installed.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dashboardSuite } from '../../tests/dashboard/browser.suite.mjs';

const SERVER = fileURLToPath(new URL('./dashboard_server.py', import.meta.url));
const PYTHON = process.env.TRIPWIRE_PYTHON || fileURLToPath(new URL('../../target/venv-python/bin/python', import.meta.url));

dashboardSuite({
  name: 'python',
  label: 'Python',
  async start(token, host = '127.0.0.1') {
    // From a directory outside the checkout: `import tripwire` finds the installed package only.
    const child = spawn(PYTHON, [SERVER, token, host], { cwd: tmpdir(), stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout });
    const waiting = [];
    lines.on('line', (line) => waiting.shift()?.resolve(JSON.parse(line)));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.once('exit', (code) => {
      for (const w of waiting.splice(0)) w.reject(new Error(`the Python server exited (${code})`));
    });
    const next = () => new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    /** One command; resolves with its reply line, parsed. */
    const send = (command) => {
      const reply = next();
      child.stdin.write(`${JSON.stringify(command)}\n`);
      return reply;
    };
    const { url } = await next();
    return {
      // Reached through loopback whatever the bind.
      url: url.replace('//0.0.0.0:', '//127.0.0.1:'),
      call: (service, operation, fail = false) => send({ op: 'call', service, operation, fail }),
      state: (service, operation) => send({ op: 'state', service, operation }),
      failMail: async () => (await send({ op: 'mail-fail' })).dead_letters,
      deadLetters: async () => (await send({ op: 'dead-letters' })).dead_letters,
      hold: () => send({ op: 'hold' }),
      release: () => send({ op: 'release' }),
      forced: async (service) => (await send({ op: 'forced', service })).forced,
      async close() {
        child.stdin.end();
        await exited;
      },
    };
  },
});
