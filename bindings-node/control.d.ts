// tripwire/control: seed 004's control API (see bindings-node/README.md, "Operating tripwire").
import type { IncomingMessage, ServerResponse, Server } from 'node:http';
import type { CircuitBreakerService, Logger } from './index';

export interface ControlOptions {
  /** The service to read and steer (default: the package's `circuitBreakerService`). */
  service?: CircuitBreakerService;
  /** Bearer token for mutations (default: `TRIPWIRE_CONTROL_TOKEN`); without one, mutations answer 403. */
  token?: string | null;
  /** Where the API answers, below any mount point (default `/api/circuit-breaker`). */
  basePath?: string;
  /**
   * Served on loopback only (default true): reads need no token and the `Host` must be
   * a loopback name. Pass false (with a token) behind a public listener: reads then need
   * the token too.
   */
  loopback?: boolean;
  /** Logs every mutation (action, breaker, status; never the token). Default: tripwire's own (`setLogger()`, `TRIPWIRE_LOG`). */
  logger?: Logger;
}

/** A mutation the API ran (reset, force-open, retry, config). */
export interface ControlEvent {
  action: 'reset' | 'force-open' | 'retry' | 'config';
  service?: string;
  operation?: string;
  itemId?: number;
  /** The HTTP status answered. */
  status: number;
  ok: boolean;
  remoteAddress?: string;
  timestamp: number;
}

/** The `control` audit events of a handler or server. */
export interface ControlEvents {
  on(event: 'control', listener: (event: ControlEvent) => void): this;
  once(event: 'control', listener: (event: ControlEvent) => void): this;
  off(event: 'control', listener: (event: ControlEvent) => void): this;
}

/** node:http / Express / Connect middleware. */
export interface ControlHandler extends ControlEvents {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** The base path it answers under. */
  readonly basePath: string;
  /** Stops following the service's alerts (for the dashboard's feed). */
  close(): void;
}

/** A fetch-style handler (Hono, Bun, Deno, Next route handlers). */
export interface ControlFetchHandler extends ControlEvents {
  (request: Request): Promise<Response>;
  readonly basePath: string;
  close(): void;
}

export interface ServeOptions extends Omit<ControlOptions, 'loopback'> {
  /** Bind address (default `127.0.0.1`); anything but loopback needs a token. */
  host?: string;
  /** Port (default 0: any free port). */
  port?: number;
}

export interface ControlServer extends ControlEvents {
  /** The API's URL (`http://127.0.0.1:<port>/api/circuit-breaker`); the dashboard is at `${url}/dashboard`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  readonly server: Server;
  close(): Promise<void>;
}

export declare function createControlHandler(options?: ControlOptions): ControlHandler;
export declare function createControlFetchHandler(options?: ControlOptions): ControlFetchHandler;
export declare function serve(options?: ServeOptions): Promise<ControlServer>;
/** The largest request body accepted (64 KiB). */
export declare const MAX_BODY: number;
