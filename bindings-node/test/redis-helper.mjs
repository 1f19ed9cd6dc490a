// A real redis-server for the fleet tests: started on a free loopback port with no
// persistence, stopped (and SIGSTOPped, killed, restarted) by its pid, never by name.
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function hasRedis() {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether redis-server is installed (`scripts/setup-redis.sh` installs it). */
export const redisAvailable = hasRedis();

export class RedisServer {
  static async start() {
    const server = new RedisServer(await freePort());
    await server.launch();
    return server;
  }

  constructor(port) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.child = null;
  }

  async launch() {
    this.child = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--protected-mode', 'no', '--loglevel', 'warning',
    ], { stdio: 'ignore' });
    // Ready once it accepts a connection and answers PING.
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`redis-server exited with ${this.child.exitCode}`);
      if (await this.ping()) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends one inline command; its first reply line, or null when nothing answers in time. */
  command(line, timeoutMs = 500) {
    return new Promise((resolve) => {
      const socket = net.connect(this.port, '127.0.0.1');
      let data = '';
      const done = (value) => {
        socket.destroy();
        resolve(value);
      };
      socket.setTimeout(timeoutMs, () => done(null));
      socket.on('error', () => done(null));
      socket.on('connect', () => socket.write(`${line}\r\n`));
      socket.on('data', (chunk) => {
        data += chunk;
        if (data.includes('\r\n')) done(data.slice(0, data.indexOf('\r\n')));
      });
    });
  }

  async ping() {
    return (await this.command('PING', 200)) === '+PONG';
  }

  pause() {
    process.kill(this.child.pid, 'SIGSTOP');
  }

  resume() {
    process.kill(this.child.pid, 'SIGCONT');
  }

  /** kill -9: state and script cache gone (`launch()` starts a new one on the same port). */
  async crash() {
    const child = this.child;
    const exited = once(child, 'exit');
    process.kill(child.pid, 'SIGKILL');
    await exited;
  }

  async stop() {
    const child = this.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    process.kill(child.pid, 'SIGCONT');
    process.kill(child.pid, 'SIGKILL');
    await exited;
  }
}

/**
 * Polls `check` every few ms until it holds; fails after `limitMs` (node --test has no
 * time limit of its own: a wait that never ends hung the whole run once).
 */
export async function until(check, everyMs = 5, limitMs = 30_000) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`still not true after ${limitMs} ms: ${check}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
