// Promise plumbing for the breaker, kept in JS so a call costs no Rust closure,
// no future and no timer of its own. Rust acquires the permit and parks it in a
// slot; this settles the call and reports how it ended through the breaker's
// `ctx.done(slot, how, value, status)`, which records the outcome and answers
//   0: resolve with the value        1: reject with the error
//   2: reject with ctx.take()        3: resolve with ctx.answer() (the fallback's)
// ctx.take() is a timeout error, or what a hook threw; after a timeout it holds the
// timeout error even when the fallback answers, to abort the call with.
// how: 0 resolved, 1 rejected, 2 timed out (after `ms`; 0 = no timeout), 3 aborted
// by the caller's own signal (fetch); status: a fetch response's status.

// The clock: `performance` is looked up once. Reading `globalThis.performance` is a
// DOM getter in browsers and cost as much as `now()` itself, twice per call.
const perf = globalThis.performance;

export function now() {
  return perf.now();
}

// The value a call's promise resolves with, or throws what it rejects with.
// `state.abort(error)` ends the call's own work after a timeout (its AbortController).
function verdict(ctx, slot, how, value, status, state) {
  const answer = ctx.done(slot, how, value, status);
  if (answer === 0) return value;
  if (answer === 1) throw value;
  if (answer === 2) {
    const error = ctx.take();
    if (how === 2) state?.abort(error);
    throw error;
  }
  if (how === 2) state?.abort(ctx.take());
  return ctx.answer();
}

function settledNow(ctx, slot, how, value) {
  try {
    return Promise.resolve(verdict(ctx, slot, how, value, 0, undefined));
  } catch (error) {
    return Promise.reject(error);
  }
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

function watch(ms, call) {
  let queue = queues.get(ms);
  if (queue === undefined) {
    queue = { calls: [], head: 0, timer: undefined };
    queues.set(ms, queue);
  }
  call.deadline = perf.now() + ms;
  queue.calls.push(call);
  if (queue.timer === undefined) arm(queue);
  else if (typeof queue.timer === 'object') queue.timer.ref?.();
  return queue;
}

class Call {
  constructor(slot, ctx, report, state, resolve, reject) {
    this.live = true;
    this.slot = slot;
    this.ctx = ctx;
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
      this.resolve(this.report(this.ctx, this.slot, how, value, this.state));
    } catch (error) {
      this.reject(error);
    }
  }
}

// Settles `value` (a promise or not): `report(ctx, slot, how, value, state)` is
// `plain` or `fetched`; `state` is the call's CallContext or FetchState.
function settle(value, ms, slot, ctx, report, state) {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function') || typeof value.then !== 'function') {
    try {
      return Promise.resolve(report(ctx, slot, 0, value, state));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  if (!(ms > 0)) {
    return Promise.resolve(value).then((v) => report(ctx, slot, 0, v, state), (e) => report(ctx, slot, 1, e, state));
  }
  let call;
  const promise = new Promise((resolve, reject) => {
    call = new Call(slot, ctx, report, state, resolve, reject);
  });
  call.queue = watch(ms, call);
  Promise.resolve(value).then((v) => call.finish(0, v), (e) => call.finish(1, e));
  return promise;
}

const plain = (ctx, slot, how, value, state) => verdict(ctx, slot, how, value, 0, state);

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

export function run(fn, ms, slot, ctx) {
  const call = new CallContext();
  let value;
  try {
    value = fn(call);
  } catch (error) {
    return settledNow(ctx, slot, 1, error);
  }
  return settle(value, ms, slot, ctx, plain, call);
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

// A fetch's report: a response's status for Rust; an error is the caller's abort
// (3) if their signal fired.
function fetched(ctx, slot, how, value, state) {
  if (how === 0) return verdict(ctx, slot, 0, value, value?.status ?? 0, state);
  if (how === 1 && state.theirs?.aborted) how = 3;
  return verdict(ctx, slot, how, value, 0, state);
}

// fetch under the breaker. With a timeout, the request gets a signal of our own
// (joined with the caller's, from init or the Request) so that the timeout really
// aborts it; the caller's abort is reported as such, not as a failure.
export function fetchCall(fetchFn, input, init, ms, slot, ctx) {
  const theirs = init?.signal ?? (typeof input === 'object' && input !== null ? input.signal : undefined) ?? undefined;
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
    promise = fetchFn === undefined ? fetch(input, init) : fetchFn(input, init);
  } catch (error) {
    promise = Promise.reject(error);
  }
  return settle(promise, ms, slot, ctx, fetched, new FetchState(theirs, controller));
}

// guardFetch: one breaker per origin. `create(origin)` (Rust) builds a breaker from
// the guard's options. Origins of absolute URLs are cached by URL (bounded), and a
// relative path resolves against the document's base URL, as fetch resolves it.
export function guard(create) {
  const breakers = new Map();
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
  const originOf = (target) => {
    const href = typeof target === 'string' ? target : typeof target?.url === 'string' ? target.url : String(target);
    const base = globalThis.document?.baseURI ?? globalThis.location?.href;
    if (href.charCodeAt(0) === 47 /* / */ && href.charCodeAt(1) !== 47 && base !== undefined) {
      if (base !== lastBase) {
        lastBaseOrigin = parse(base, undefined);
        lastBase = base;
      }
      return lastBaseOrigin;
    }
    let origin = origins.get(href);
    if (origin === undefined) {
      origin = parse(href, base);
      if (origins.size >= 256) origins.clear();
      // Only absolute URLs: a relative one's origin depends on the base.
      if (/^[a-z][a-z0-9+.-]*:/i.test(href)) origins.set(href, origin);
    }
    return origin;
  };
  const breakerFor = (target) => {
    const origin = originOf(target);
    let breaker = breakers.get(origin);
    if (breaker === undefined) {
      breaker = create(origin);
      breakers.set(origin, breaker);
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
