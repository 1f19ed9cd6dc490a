// `execute` and `fetch` of CircuitBreaker, and the promise plumbing of a call, kept
// in JS so that a call costs two calls into wasm and no Rust closure, future or
// timer: `__acquire(now, fetch)` takes a permit and parks it in a slot (or says the
// call is refused), and `CircuitBreaker.__settle(slot, how, status, now)` records
// how the call ended and answers
//   0: resolve with the value        1: reject with the error
//   2: reject with the handed error  3: resolve with the handed answer (the fallback's)
// (Rust hands them over with `hand(error, answer)`; after a timeout the handed error
// is the timeout error even when the fallback answers, to abort the call with.)
// how: 0 resolved, 1 rejected, 2 timed out (after `h.ms`; 0 = no timeout), 3 aborted
// by the caller's own signal (fetch); status: a fetch response's status. `now` is
// `performance.now()` read here (the acquire's reading also sets the timeout's
// deadline), or NaN when the breaker has a clock of its own, which Rust reads.
// `h` is the breaker's handle `{ perf, ms, name, fallback, fetch, queue }` (`__handle()`).

// The clock: `performance` is looked up once. Reading `globalThis.performance` is a
// DOM getter in browsers and cost as much as `now()` itself, twice per call.
const perf = globalThis.performance;

export function now() {
  return perf.now();
}

// The class (`install`), for its static `__settle` and `__retryAfter`.
let Breaker;

// The value being settled, while `__settle` runs: Rust reads it (`settling()`) only
// when a hook or `stats().lastError` needs it.
let current;
let handedError;
let handedAnswer;

export function settling() {
  return current;
}

export function hand(error, answer) {
  handedError = error;
  handedAnswer = answer;
}

// The value a call's promise resolves with, or throws what it rejects with.
// `state.abort(error)` ends the call's own work after a timeout (its AbortController).
function verdict(h, slot, how, value, status, state) {
  current = value;
  const answer = Breaker.__settle(slot, how, status, h.perf ? perf.now() : NaN);
  current = undefined;
  if (answer === 0) return value;
  if (answer === 1) throw value;
  const error = handedError;
  const fallback = handedAnswer;
  handedError = undefined;
  handedAnswer = undefined;
  if (how === 2) state?.abort(error);
  if (answer === 2) throw error;
  return fallback;
}

// Call timeouts. Calls with the same timeout expire in the order they started, so
// each timeout length keeps a FIFO of calls and one setTimeout for the oldest live
// one: no setTimeout/clearTimeout per call. Settled calls leave the head of the
// queue as they settle (calls usually settle in order), so a queue holds about the
// calls in flight; the rest are dropped when the timer reaches them.
const queues = new Map();

// Drops the settled calls at the head of the queue; keeps the array about as long
// as the calls in flight.
function drop(queue) {
  const { calls } = queue;
  while (queue.head < calls.length && !calls[queue.head].live) queue.head++;
  if (queue.head === calls.length) {
    calls.length = 0;
    queue.head = 0;
    // Node: an idle timer must not keep the process alive (it is not cleared per call).
    if (typeof queue.timer === 'object') queue.timer.unref?.();
  } else if (queue.head > 64 && queue.head * 2 > calls.length) {
    calls.splice(0, queue.head);
    queue.head = 0;
  }
}

function arm(queue) {
  drop(queue);
  const { calls } = queue;
  if (calls.length === 0) {
    queue.timer = undefined;
    return;
  }
  const wait = Math.max(0, calls[queue.head].deadline - perf.now());
  queue.timer = setTimeout(expire, wait, queue);
}

function expire(queue) {
  const t = perf.now();
  const { calls } = queue;
  while (queue.head < calls.length) {
    const call = calls[queue.head];
    if (call.live && call.deadline > t) break;
    queue.head++;
    if (call.live) call.finish(2, undefined);
  }
  arm(queue);
}

// The queue of the breaker's timeout length, kept on its handle.
function queueOf(h) {
  let queue = queues.get(h.ms);
  if (queue === undefined) {
    queue = { calls: [], head: 0, timer: undefined };
    queues.set(h.ms, queue);
  }
  h.queue = queue;
  return queue;
}

// `now`: the acquire's performance.now(), or NaN (a breaker with its own clock).
function watch(h, now, call) {
  const queue = h.queue ?? queueOf(h);
  const ms = h.ms;
  call.deadline = (now === now ? now : perf.now()) + ms;
  queue.calls.push(call);
  if (queue.timer === undefined) arm(queue);
  else if (typeof queue.timer === 'object') queue.timer.ref?.();
  return queue;
}

class Call {
  constructor(h, slot, report, state, resolve, reject) {
    this.live = true;
    this.h = h;
    this.slot = slot;
    this.report = report;
    this.state = state;
    this.resolve = resolve;
    this.reject = reject;
    this.deadline = 0;
    this.queue = undefined;
  }

  finish(how, value) {
    if (!this.live) return;
    this.live = false;
    const queue = this.queue;
    if (queue.calls[queue.head] === this) drop(queue);
    try {
      this.resolve(this.report(this.h, this.slot, how, value, this.state));
    } catch (error) {
      this.reject(error);
    }
  }
}

// Settles `value` (a promise or not): `report(h, slot, how, value, state)` is
// `plain` or `fetched`; `state` is the call's CallContext or FetchState; `now` the
// acquire's reading.
function settle(value, h, slot, now, report, state) {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function') || typeof value.then !== 'function') {
    try {
      return Promise.resolve(report(h, slot, 0, value, state));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  const ms = h.ms;
  if (!(ms > 0)) {
    return Promise.resolve(value).then((v) => report(h, slot, 0, v, state), (e) => report(h, slot, 1, e, state));
  }
  let call;
  const promise = new Promise((resolve, reject) => {
    call = new Call(h, slot, report, state, resolve, reject);
  });
  call.queue = watch(h, now, call);
  Promise.resolve(value).then((v) => call.finish(0, v), (e) => call.finish(1, e));
  return promise;
}

const plain = (h, slot, how, value, state) => verdict(h, slot, how, value, 0, state);

// What execute's function receives, as in the Node package: `signal` is aborted
// (with the CircuitBreakerTimeoutError) when the call times out. Made on first use.
class CallContext {
  constructor() {
    this.controller = undefined;
  }

  get signal() {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  abort(error) {
    this.controller?.abort(error);
  }
}

// A fetch in flight: the caller's signal (to tell their abort from a failure) and
// ours (to abort the request on timeout).
class FetchState {
  constructor(theirs, controller) {
    this.theirs = theirs;
    this.controller = controller;
  }

  abort(error) {
    this.controller?.abort(error);
  }
}

// A fetch with neither signal (no timeout, none of the caller's) needs no state of its own.
const NO_SIGNALS = new FetchState(undefined, undefined);

// A fetch's report: a response's status for Rust; an error is the caller's abort
// (3) if their signal fired.
function fetched(h, slot, how, value, state) {
  if (how === 0) return verdict(h, slot, 0, value, value?.status ?? 0, state);
  if (how === 1 && state.theirs?.aborted) how = 3;
  return verdict(h, slot, how, value, 0, state);
}

// guardFetch: one breaker per origin. `create(origin)` (Rust) builds a breaker from
// the guard's options. Origins of absolute URLs are cached by URL (bounded), and a
// relative path resolves against the document's base URL, as fetch resolves it.
// The origins are bounded too: `index` (the core's eviction index, Rust) picks an
// idle origin to evict when a new one would go past `maxOrigins`.
export function guard(create, index) {
  const breakers = new Map();
  // The origin in each slot of the index, and each breaker's slot.
  const slotOrigins = [];
  const listeners = [];
  const probe = (slot) => {
    const breaker = breakers.get(slotOrigins[slot]);
    return breaker === undefined ? -1 : breaker.__idle();
  };
  const admit = (origin, breaker) => {
    const [slot, ...gone] = index.admit(probe);
    for (const s of gone) {
      const name = slotOrigins[s];
      const evicted = breakers.get(name);
      breakers.delete(name);
      slotOrigins[s] = undefined;
      if (evicted === undefined) continue;
      for (const [listener] of listeners.slice()) {
        try {
          listener({ name, breaker: evicted });
        } catch {
          // A listener's failure is not the fetch's.
        }
      }
      for (let i = listeners.length - 1; i >= 0; i--) if (listeners[i][1]) listeners.splice(i, 1);
    }
    slotOrigins[slot] = origin;
    breakers.set(origin, breaker);
  };
  const origins = new Map();
  let lastBase;
  let lastBaseOrigin;
  const parse = (href, base) => {
    try {
      return new URL(href, base).origin;
    } catch {
      throw new TypeError(`guardFetch: cannot tell the origin of ${JSON.stringify(href)}`);
    }
  };
  // The document's base URL (a DOM getter): read only for URLs that are not cached.
  const baseURL = () => globalThis.document?.baseURI ?? globalThis.location?.href;
  const originOf = (target) => {
    const href = typeof target === 'string' ? target : typeof target?.url === 'string' ? target.url : String(target);
    let origin = origins.get(href);
    if (origin !== undefined) return origin;
    const base = baseURL();
    if (href.charCodeAt(0) === 47 /* / */ && href.charCodeAt(1) !== 47 && base !== undefined) {
      if (base !== lastBase) {
        lastBaseOrigin = parse(base, undefined);
        lastBase = base;
      }
      return lastBaseOrigin;
    }
    origin = parse(href, base);
    if (origins.size >= 256) origins.clear();
    // Only absolute URLs: a relative one's origin depends on the base.
    if (/^[a-z][a-z0-9+.-]*:/i.test(href)) origins.set(href, origin);
    return origin;
  };
  const breakerFor = (target) => {
    const origin = originOf(target);
    let breaker = breakers.get(origin);
    if (breaker === undefined) {
      breaker = create(origin);
      admit(origin, breaker);
    }
    return breaker;
  };
  const guarded = (input, init) => {
    let breaker;
    try {
      breaker = breakerFor(input);
    } catch (error) {
      return Promise.reject(error);
    }
    return breaker.fetch(input, init);
  };
  guarded.breakerFor = breakerFor;
  // The bound, as the Node package's registry reports it: `evict` events ({ name, breaker }).
  Object.defineProperties(guarded, {
    capacity: { get: () => index.capacity() },
    evictions: { get: () => index.evictions() },
    size: { get: () => breakers.size },
  });
  guarded.on = (type, listener) => {
    if (type === 'evict' && typeof listener === 'function') listeners.push([listener, false]);
    return guarded;
  };
  guarded.once = (type, listener) => {
    if (type === 'evict' && typeof listener === 'function') listeners.push([listener, true]);
    return guarded;
  };
  guarded.off = (type, listener) => {
    const i = listeners.findIndex(([l]) => l === listener);
    if (type === 'evict' && i >= 0) listeners.splice(i, 1);
    return guarded;
  };
  return guarded;
}

// The errors a breaker makes, as in the Node package (name, code, fields, message).
// Made here rather than in Rust: no message formatting or property setting across
// the wasm boundary on the fail-fast path.
class CircuitBreakerOpenError extends Error {
  constructor(breakerName, state, retryAfter) {
    super(`Circuit breaker '${breakerName}' is ${state}`);
    this.state = state;
    this.breakerName = breakerName;
    this.code = 'EOPENBREAKER';
    this.retryAfter = retryAfter;
  }
}
CircuitBreakerOpenError.prototype.name = 'CircuitBreakerOpenError';

class CircuitBreakerTimeoutError extends Error {
  constructor(timeout, breakerName) {
    super(`Timeout after ${timeout}ms`);
    this.code = 'ETIMEDOUT';
    this.timeout = timeout;
    this.breakerName = breakerName;
  }
}
CircuitBreakerTimeoutError.prototype.name = 'CircuitBreakerTimeoutError';

// As the Node package does: no stack trace (it would only show this module, and
// capturing it is most of the cost of failing fast). V8 reads Error.stackTraceLimit;
// other engines ignore it.
function withoutStack(make) {
  const limit = Error.stackTraceLimit;
  if (typeof limit !== 'number') return make();
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function openError(breakerName, state, retryAfter) {
  return withoutStack(() => new CircuitBreakerOpenError(breakerName, state, retryAfter));
}

export function timeoutError(timeout, breakerName) {
  return withoutStack(() => new CircuitBreakerTimeoutError(timeout, breakerName));
}

// A refused call: the fallback's answer, or a CircuitBreakerOpenError. The error is
// made, and the promise rejected, one microtask later, once the caller has had the
// chance to attach a handler: Chromium tracks a promise rejected with no handler
// (an unhandled rejection, and a stack capture for DevTools) and that, with making
// the error under wasm frames, was most of the cost of failing fast. A caller that
// never handles it still gets the unhandledrejection.
class Refusal {
  constructor(name, state, retryAfter) {
    this.name = name;
    this.state = state;
    this.retryAfter = retryAfter;
  }

  then(_, reject) {
    reject(openError(this.name, this.state, this.retryAfter));
  }
}

function refuse(h, code) {
  // -4: the breaker's own clock threw or read garbage; the call rejects with that.
  if (code === -4) return Promise.reject(Breaker.__clockError());
  const state = code === -3 ? 'HALF_OPEN' : 'OPEN';
  const retry = Breaker.__retryAfter();
  const retryAfter = retry === retry ? retry : null;
  if (h.fallback === undefined) return Promise.resolve(new Refusal(h.name, state, retryAfter));
  try {
    return Promise.resolve(h.fallback(openError(h.name, state, retryAfter)));
  } catch (error) {
    return Promise.reject(error);
  }
}

// The breaker's handle, asked from Rust once and kept on the object.
const HANDLE = Symbol('tripwire.handle');

function handleOf(breaker) {
  const h = breaker.__handle();
  breaker[HANDLE] = h;
  return h;
}

function execute(fn) {
  const h = this[HANDLE] ?? handleOf(this);
  // A caller's mistake, not the upstream's: refused before asking for a permit.
  if (typeof fn !== 'function') return Promise.reject(new TypeError('execute: the argument must be a function'));
  const now = h.perf ? perf.now() : NaN;
  const slot = this.__acquire(now, false);
  if (slot < 0) return refuse(h, slot);
  const call = new CallContext();
  let value;
  try {
    value = fn(call);
  } catch (error) {
    try {
      return Promise.resolve(verdict(h, slot, 1, error, 0, call));
    } catch (thrown) {
      return Promise.reject(thrown);
    }
  }
  return settle(value, h, slot, now, plain, call);
}

// fetch under the breaker. With a timeout, the request gets a signal of our own
// (joined with the caller's, from init or the Request) so that the timeout really
// aborts it; the caller's abort is reported as such, not as a failure. Without a
// timeout, no AbortController is made.
function guardedFetch(input, init) {
  const h = this[HANDLE] ?? handleOf(this);
  const now = h.perf ? perf.now() : NaN;
  const slot = this.__acquire(now, true);
  if (slot < 0) return refuse(h, slot);
  const theirs = init?.signal ?? (typeof input === 'object' && input !== null ? input.signal : undefined) ?? undefined;
  const ms = h.ms;
  let controller;
  if (ms > 0) {
    controller = new AbortController();
    let signal = controller.signal;
    // Without AbortSignal.any (older engines) the caller's signal stays: the timeout
    // still rejects and counts, but cannot abort the request itself.
    if (theirs !== undefined) signal = typeof AbortSignal.any === 'function' ? AbortSignal.any([theirs, signal]) : theirs;
    init = init == null ? { signal } : { ...init, signal };
  }
  let promise;
  try {
    promise = h.fetch === undefined ? fetch(input, init) : h.fetch(input, init);
  } catch (error) {
    promise = Promise.reject(error);
  }
  return settle(promise, h, slot, now, fetched, controller === undefined && theirs === undefined ? NO_SIGNALS : new FetchState(theirs, controller));
}

// Called once by the module's start with a CircuitBreaker: puts `execute` and
// `fetch` on its class (methods, as the generated ones are), then frees it.
export function install(breaker) {
  const proto = Object.getPrototypeOf(breaker);
  Breaker = proto.constructor;
  for (const [name, value] of [['execute', execute], ['fetch', guardedFetch]]) {
    Object.defineProperty(proto, name, { value, writable: true, configurable: true, enumerable: false });
  }
  breaker.free();
}
