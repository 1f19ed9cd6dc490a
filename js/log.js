// tripwire's structured logger, for Node and the browser: one JSON object per line
// (timestamp, level, message, service, then the fields). The call path
// (js/tripwire.js) takes any `{ debug, info, warn, error }` logger and never imports
// this module (the browser package's size); the Node package exports it from
// `tripwire` (and `tripwire/aws`), and `TRIPWIRE_LOG=1` makes it tripwire's own logger.
//
// Environment (read where there is a `process`): LOG_LEVEL (the default level),
// SERVICE_NAME / AWS_LAMBDA_FUNCTION_NAME (the default `service`), TRIPWIRE_LOG.

import { storeEpisode } from './tripwire.js';

const env = (globalThis.process && globalThis.process.env) || {};

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** How a bad value is named in an error message ('null', 'an array', 'a number', ...). */
export function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

/** An error's text for a log line or message: `Name: message`. */
export function messageOf(error) {
  if (error !== null && typeof error === 'object') {
    const name = typeof error.name === 'string' && error.name !== 'Error' ? `${error.name}: ` : '';
    if (typeof error.message === 'string' && error.message !== '') return name + error.message;
    if (name !== '') return error.name;
  }
  return String(error);
}

/** `value` if it is a plain object, else a TypeError naming `what`. */
export function checkObject(value, what) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`${what} must be an object, not ${describe(value)}`);
  return value;
}

function levelOf(value, option) {
  const level = String(value).toLowerCase();
  if (level === 'warning') return 'warn';
  if (!Object.prototype.hasOwnProperty.call(LEVELS, level)) throw new RangeError(`\`${option}\` must be one of debug, info, warn, error, silent, not ${JSON.stringify(value)}`);
  return level;
}

function envLevel() {
  try {
    return levelOf(env.LOG_LEVEL || 'info', 'LOG_LEVEL');
  } catch {
    return 'info';
  }
}

function errorFields(error) {
  const out = { name: error.name, message: error.message };
  if (error.code !== undefined) out.code = error.code;
  if (typeof error.stack === 'string') out.stack = error.stack;
  return out;
}

/** JSON.stringify that never throws: cycles, BigInts and errors are written as text. */
function safeJson(value) {
  const seen = new WeakSet();
  return JSON.stringify(value, (key, v) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Error) return errorFields(v);
    if (v !== null && typeof v === 'object') {
      if (seen.has(v)) return '[Circular]';
      seen.add(v);
    }
    return v;
  });
}

/** Where lines go by default: stdout in Node, the console elsewhere. */
function defaultDestination() {
  const stdout = globalThis.process && globalThis.process.stdout;
  if (stdout && typeof stdout.write === 'function') return stdout;
  return { write: (line) => console.log(line.slice(0, -1)) };
}

/**
 * A structured logger: one JSON object per line (`timestamp`, `level`, `message`,
 * `service`, then the fields). `fields` may be an object (merged), an Error (as
 * `error: { name, message, code, stack }`) or any other value (as `data`).
 */
export class StructuredLogger {
  constructor(options = {}) {
    checkObject(options, 'logger options');
    const { service = env.SERVICE_NAME || env.AWS_LAMBDA_FUNCTION_NAME || 'tripwire', level, fields = {}, destination = defaultDestination() } = options;
    if (typeof service !== 'string' || service === '') throw new TypeError(`\`service\` must be a non-empty string, not ${describe(service)}`);
    this.service = service;
    // An option is checked; LOG_LEVEL is read leniently (a typo there means info).
    this._level = level !== undefined ? levelOf(level, 'level') : envLevel();
    this._fields = { ...checkObject(fields, '`fields`') };
    if (destination === null || typeof destination !== 'object' || typeof destination.write !== 'function') {
      throw new TypeError(`\`destination\` must have a write(line) method, not ${describe(destination)}`);
    }
    this._destination = destination;
  }

  get level() {
    return this._level;
  }

  set level(value) {
    this._level = levelOf(value, 'level');
  }

  /** Whether a line of `level` would be written. */
  isLevelEnabled(level) {
    return LEVELS[levelOf(level, 'level')] >= LEVELS[this._level] && this._level !== 'silent';
  }

  /** A logger that adds `fields` to every line (same destination and level). */
  child(fields) {
    return new StructuredLogger({ service: this.service, level: this._level, fields: { ...this._fields, ...checkObject(fields, '`fields`') }, destination: this._destination });
  }

  _write(level, message, fields) {
    if (LEVELS[level] < LEVELS[this._level]) return;
    const entry = { timestamp: new Date().toISOString(), level, message: typeof message === 'string' ? message : messageOf(message), service: this.service };
    const add = (extra) => {
      // The base keys win over fields of the same name.
      for (const [k, v] of Object.entries(extra)) if (!Object.prototype.hasOwnProperty.call(entry, k)) entry[k] = v;
    };
    add(this._fields);
    if (fields instanceof Error) entry.error = errorFields(fields);
    else if (fields !== null && typeof fields === 'object' && !Array.isArray(fields)) add(fields);
    else if (fields !== undefined) entry.data = fields;
    try {
      this._destination.write(`${safeJson(entry)}\n`);
    } catch {
      // A logger never breaks the caller.
    }
  }

  debug(message, fields) {
    this._write('debug', message, fields);
  }

  info(message, fields) {
    this._write('info', message, fields);
  }

  warn(message, fields) {
    this._write('warn', message, fields);
  }

  error(message, fields) {
    this._write('error', message, fields);
  }
}

/** A new StructuredLogger. */
export function createLogger(options = {}) {
  return new StructuredLogger(options);
}

let shared = null;

/** The shared logger (made on first use, from LOG_LEVEL and SERVICE_NAME). */
export function defaultLogger() {
  if (shared === null) shared = new StructuredLogger();
  return shared;
}

/** The shared logger, as a value that can be imported before it is made. */
export const logger = new Proxy(Object.create(StructuredLogger.prototype), {
  get(_, key) {
    const l = defaultLogger();
    const value = Reflect.get(l, key, l);
    return typeof value === 'function' ? value.bind(l) : value;
  },
  set: (_, key, value) => Reflect.set(defaultLogger(), key, value),
  getPrototypeOf: () => StructuredLogger.prototype,
});

/** Whether TRIPWIRE_LOG asks tripwire's own components to log (anything but '', '0', 'false'). */
export function loggingRequested() {
  const v = env.TRIPWIRE_LOG;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * Logs a store's `storeDown` / `storeUp` events, one line per outage, through `logger`
 * (default: `fallback()`, tripwire's own logger at the time). The fleet store calls it
 * on itself; returns a function that stops it.
 */
export function logStoreEvents(store, logger = undefined, fallback = () => null) {
  if (store === null || typeof store !== 'object' || typeof store.on !== 'function') {
    throw new TypeError(`logStoreEvents() needs an event emitter (a store), not ${describe(store)}`);
  }
  if (logger !== undefined && logger !== null && (typeof logger !== 'object' || typeof logger.info !== 'function' || typeof logger.warn !== 'function')) {
    throw new TypeError(`invalid option \`logger\`: must be an object with debug/info/warn/error methods, not ${describe(logger)}`);
  }
  const log = (level, message, fields) => {
    const target = logger ?? fallback();
    if (target === null || target === undefined || typeof target[level] !== 'function') return;
    try {
      target[level](message, fields);
    } catch {
      // A logger's failure is not the store's.
    }
  };
  const down = (details) => storeEpisode(store, 'storeDown', details, log);
  const up = (details) => storeEpisode(store, 'storeUp', details, log);
  store.on('storeDown', down);
  store.on('storeUp', up);
  return () => {
    store.off('storeDown', down);
    store.off('storeUp', up);
  };
}
