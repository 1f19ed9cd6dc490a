// Fleet-wide breakers (issue 13): RedisStore and the facade's `fleet` hooks.
//
// The store client is the native one (tripwire-store: its own I/O and pub/sub threads),
// the rules the core's; this file gives the store an EventEmitter and turns background
// events into the breakers' usual ones. Native code names a store or breaker by a
// token; `targets` maps tokens to WeakRefs, so no event path keeps either alive.
'use strict';

const { EventEmitter } = require('node:events');
const { describe } = require('./shared.js');
const native = require('./native.js');
const log = require('../js/log.js');

const EVENT_TRANSITION = 0;
const EVENT_STORE_DOWN = 1;
const EVENT_STORE_UP = 2;
const EVENT_FLEET_ERROR = 3;

const targets = new Map();
const forget = new FinalizationRegistry((token) => targets.delete(token));
let nextToken = 0;

// Native code calls it with one array: [token, kind, code, message].
function dispatch([token, kind, code, message]) {
  const target = targets.get(token)?.deref();
  if (target !== undefined) target[kEvent](kind, code, message);
}

/** A new token for native events, bound to no target yet (the first one binds the dispatcher). */
function reserve() {
  if (nextToken === 0) native.bindFleet(dispatch);
  nextToken += 1;
  return nextToken;
}

/** Binds `token` to `target`, held weakly. */
function bind(token, target) {
  targets.set(token, new WeakRef(target));
  forget.register(target, token);
  return token;
}

/** A token naming `target` in native events. */
function track(target) {
  return bind(reserve(), target);
}

const kEvent = Symbol('tripwire.fleetEvent');
const kNative = Symbol('tripwire.nativeStore');
const kFromEnv = Symbol('tripwire.storeFromEnv');
// The store's flushInterval (ms): how often the ring is drained for its breakers.
const kInterval = Symbol('tripwire.flushInterval');

// tripwire's own logger at the time of an outage (index.js binds the facade's getLogger).
const logging = { getLogger: () => null };

/** A store's native half and flush interval; it logs its own outages, one line each. */
function init(store, nativeStore, flushInterval) {
  store[kNative] = nativeStore;
  store[kInterval] = flushInterval;
  store._closing = null;
  log.logStoreEvents(store, undefined, () => logging.getLogger());
}


/**
 * A process's connection to Redis or Valkey, shared by every breaker made with
 * `{ store }`: `new RedisStore({ url, prefix, flushInterval, timeout, leaseTtl, pollInterval, checkRules })`
 * (milliseconds). Nothing connects until a breaker uses it. Emits `storeDown`
 * ({ message }) and `storeUp` once per outage episode, and logs each through
 * tripwire's logger (one line down, one up, however many breakers it serves).
 */
class RedisStore extends EventEmitter {
  constructor(options) {
    super();
    if (options === kFromEnv) return;
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new TypeError(`RedisStore: options must be an object like { url: 'redis://127.0.0.1:6379' }, not ${describe(options)}`);
    }
    init(this, new native.NativeStore(options, track(this)), options.flushInterval ?? 100);
  }

  /** Flushes what is pending and stops the store's threads (off the event loop). Breakers keep working, alone. */
  close() {
    // Quiet successes still queued in the ring go to the engine first.
    native.flush();
    if (this._closing === null) this._closing = this[kNative].close();
    return this._closing;
  }

  [kEvent](kind, code, message) {
    if (kind === EVENT_STORE_DOWN) this.emit('storeDown', { message });
    else if (kind === EVENT_STORE_UP) this.emit('storeUp', {});
  }
}

// TRIPWIRE_STORE_URL's store: made once, at the first breaker that would use it.
let envStore;

function storeFromEnv() {
  if (envStore === undefined) {
    // Unset or empty: local breakers, nothing native made (read once per process).
    if (!process.env.TRIPWIRE_STORE_URL?.trim()) return (envStore = null);
    const store = new RedisStore(kFromEnv);
    const made = native.storeFromEnv(track(store));
    if (made === null) {
      envStore = null;
    } else {
      init(store, made, 100);
      envStore = store;
    }
  }
  return envStore;
}

/** The facade's hooks (js/tripwire.js, `host.fleet`). */
const fleet = {
  /**
   * The store a new breaker shares through: its `store` option, else (no `clock`, not
   * restored from a snapshot) TRIPWIRE_STORE_URL's; null for a local breaker.
   */
  storeOf(options, clock, restored) {
    const store = options.store;
    if (store === null) return null;
    if (store === undefined) return clock === null && !restored ? storeFromEnv() : null;
    if (!(store instanceof RedisStore)) {
      throw new TypeError(`invalid option \`store\`: must be a RedisStore (or null for a local breaker), not ${describe(store)}`);
    }
    if (clock !== null) throw new TypeError("invalid option `clock`: a shared breaker runs on the store's clock; leave `clock` out with `store`");
    if (restored) throw new TypeError('invalid option `store`: a shared breaker takes the fleet\'s state, not a snapshot');
    return store;
  },

  /** Registers `breaker` with `store`; its engine id. */
  create(breaker, options, store) {
    const id = native.createShared(options, store[kNative], track(breaker));
    drainEvery(store[kInterval]);
    return id;
  },

  /**
   * For a service's breaker that joins `store`'s fleet as it is made: the native store
   * and a token for its events; `adopt(breaker, store, token)` binds the facade then.
   */
  reserve(store) {
    return { nativeStore: store[kNative], token: reserve() };
  },

  /** The facade of a service's shared breaker (see `reserve`). */
  adopt(breaker, store, token) {
    bind(token, breaker);
    breaker._store = store;
    drainEvery(store[kInterval]);
  },

  /** What getStats() adds for a shared breaker. */
  stats(id) {
    const view = native.fleetView(id);
    const [successes, failures, timeouts, slowCalls, rejected, ignored] = view.fleetTotals;
    return {
      mode: view.mode,
      lastSyncAge: view.lastSyncAge ?? null,
      fleetTotals: { successes, failures, timeouts, slowCalls, rejected, ignored },
    };
  },
};

// Quiet successes wait in the ring (shared.js) until native code next runs; a shared
// breaker's must reach its store's flushes. An unref'd timer applies them as often as
// the most frequent store flushes (none while no shared breaker exists).
let drainTimer = null;
let drainMs = Infinity;
function drainEvery(ms) {
  const every = Math.max(ms, 1);
  if (every >= drainMs) return;
  drainMs = every;
  if (drainTimer !== null) clearInterval(drainTimer);
  drainTimer = setInterval(native.flush, every);
  drainTimer.unref();
}

// A shared breaker's background events (the facade's CircuitBreaker gets this method).
function breakerEvent(kind, code, message) {
  // The state may have changed under the quiet gate: publish it again first.
  native.republish(this._id);
  if (kind === EVENT_TRANSITION) {
    this._transition(code);
  } else if (kind === EVENT_STORE_DOWN) {
    this._emit('storeDown', { name: this.name });
  } else if (kind === EVENT_STORE_UP) {
    this._emit('storeUp', { name: this.name });
  } else if (kind === EVENT_FLEET_ERROR) {
    const [option, reason] = message.split('\0');
    const error = new Error(`tripwire: breaker '${this.name}': ${reason}`);
    error.code = 'ERR_TRIPWIRE_FLEET_CONFIG';
    error.option = option;
    // An 'error' event nobody listens to would throw from the event loop.
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(error);
  }
}

module.exports = { RedisStore, fleet, breakerEvent, kEvent, logging };
