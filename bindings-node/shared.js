// What the facade's modules share: the per-call context, and the memory JS shares
// with the native addon, one set per JS environment: every
// copy of the package's modules loaded into the environment (a test runner's module
// registry may load them twice) reads the same arrays the native side writes.
//
// - ticker, [nowMs, ticking, reads]: the process clock, written every millisecond
//   by a native thread while calls read it densely (src/ticker.rs); otherwise a
//   read crosses to readClock();
// - hold, [count, held]: the breakers with calls with a deadline in flight, and
//   whether the addon's check handle holds the event loop for them (src/hold.rs);
// - gates, per breaker id [quietUntilMs, generation, quietFailures,
//   quietFailuresUntilMs]: until then the breaker is quiet (the core's
//   Breaker::quiet_until), so a call is admitted without asking it and a success
//   within its quiet limit is queued in the ring instead of crossing, and so are as
//   many failures ending before the fourth number as the third says cannot trip
//   (Breaker::quiet_failures; queueFailure counts it down); replaced by a longer
//   array (growGates) as ids grow;
// - ring, [runs, (id, generation, startMs, endMs, calls) × capacity]: the queued
//   outcomes, a run of calls with the same readings in one entry (under load the
//   clock ticks once a millisecond, so most are), `calls` negative for failures,
//   applied in order before native code next touches any breaker;
// - service, the service cell: what a resilience service call's native step answers
//   besides its return value (src/protocol.rs, CELL_*).
'use strict';

const native = require('./native.js');
const { P } = require('./internal.js');

const { flush, readClock, holdLoop } = native;
const shared = native.shared();
const { ticker, ring, hold } = shared;
const { RING_ENTRY: ENTRY, GATE, TICKER_NOW, TICKER_TICKING, TICKER_READS, HOLD_COUNT, HOLD_HELD } = P;
const RING_CAPACITY = (ring.length - 1) / ENTRY;

/** Now on the process clock (ms): an array read while the native thread ticks. */
function processNow() {
  if (ticker[TICKER_TICKING] === 1) {
    ticker[TICKER_READS] += 1;
    return ticker[TICKER_NOW];
  }
  return readClock();
}

/**
 * A breaker's calls with a deadline are in flight (`busy`), or none are any more: the
 * event loop stays alive while any breaker's are, without a crossing per call
 * (src/hold.rs). The facade's `host.hold`.
 */
function holdLoopFor(busy) {
  if (!busy) {
    hold[HOLD_COUNT] -= 1;
  } else if ((hold[HOLD_COUNT] += 1) === 1 && hold[HOLD_HELD] === 0) {
    holdLoop();
  }
}

/**
 * Queues the success of a call admitted while breaker `id` was quiet if it ended
 * (`end`) while the breaker still is; false if not, and the facade records it at once:
 * past the horizon outcomes may have left the window, and a success may trip.
 */
function queueSuccess(id, generation, start, end) {
  if (!(end < shared.gates[GATE * id])) return false;
  queue(id, generation, start, end, 1);
  return true;
}

/**
 * Queues the failure of such a call, as queueSuccess, if breaker `id`'s gate counts
 * failures that cannot trip it (one fewer now) and it ended before they could (under
 * a rate, until its window next moves: the successes after it must end before that
 * too, so the quiet horizon comes no later).
 */
function queueFailure(id, generation, start, end) {
  const { gates } = shared;
  const at = GATE * id;
  const until = gates[at + 3];
  if (!(end < gates[at] && end < until && gates[at + 2] >= 1)) return false;
  gates[at + 2] -= 1;
  if (until < gates[at]) gates[at] = until;
  queue(id, generation, start, end, -1);
  return true;
}

/** Adds a call (`one`: 1 a success, -1 a failure) to the last run if alike, else a new run. */
function queue(id, generation, start, end, one) {
  const runs = ring[0];
  const last = 1 + ENTRY * (runs - 1);
  if (runs > 0 && ring[last + 3] === end && ring[last + 2] === start && ring[last] === id && ring[last + 1] === generation && ring[last + 4] * one > 0) {
    ring[last + 4] += one;
  } else {
    // Its own function: what stays here is small enough for V8 to inline into every caller.
    newRun(runs, id, generation, start, end, one);
  }
}

/** Starts a run (after `runs` of them) with one call: the ring is flushed first if full. */
function newRun(runs, id, generation, start, end, one) {
  if (runs === RING_CAPACITY) {
    flush();
    runs = 0;
  }
  const at = 1 + ENTRY * runs;
  ring[at] = id;
  ring[at + 1] = generation;
  ring[at + 2] = start;
  ring[at + 3] = end;
  ring[at + 4] = one;
  ring[0] = runs + 1;
}

// The per-call context, the quiet slot, the checked read of a caller's clock, what an
// error says, how a bad value is named and the longest timer: the shared facade's
// (js/tripwire.js).
const { Call, QUIET, readOwnClock, errorMessage, describe, JS_TIMER_LIMIT_MS } = require('../js/tripwire.js');

module.exports = { shared, processNow, queueSuccess, queueFailure, holdLoopFor, Call, QUIET, readOwnClock, errorMessage, describe, JS_TIMER_LIMIT_MS };
