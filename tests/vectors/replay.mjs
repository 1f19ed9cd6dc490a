// One conformance vector (README.md) replayed through a JavaScript package: the step
// loop and the expectations, shared by the Node package (bindings-node/test/
// vectors.test.mjs) and the wasm package (bindings-wasm/test/replay.mjs, run in Node
// and in Chromium). A plain ES module without imports, so that it runs in a page.
//
// Each package passes an adapter over its own API (may return promises):
//   now(), setTime(ms)        its manual clock, in milliseconds; setTime returns the
//                             transitions timers reported on the way ('FROM->TO'[])
//   acquire()                 { granted: true, permit, transition }, or
//                             { granted: false, rejected, retryAfter, transition: null }
//   end(permit, outcome)      outcome: success | failure | timeout | ignore | cancel;
//                             returns the transition
//   execute(outcome, ms)      a call through execute() that succeeds or fails after ms:
//                             { granted, transition } (+ rejected, retryAfter if refused),
//                             the transition being the record's, else the acquire's
//   manual(op)                force_open | trip | half_open | close | reset | disable | enable;
//                             the transition
//   snapshotRestore()         carries on with a breaker restored from a snapshot
//   state()                   'CLOSED' | 'OPEN' | 'HALF_OPEN'
//   stats()                   the stats under the vector's names (README, `stats`)
//   windowStats()             the windowed statistics under the vector's names
//                             (README, `window_stats`), or null
// Transitions are 'FROM->TO' strings or null. A mismatch throws an Error naming the
// vector, the step and the field.

const check = {
  ok(value, message) {
    if (!value) throw new Error(message);
  },
  equal(actual, expected, message) {
    if (!Object.is(actual, expected)) {
      throw new Error(`${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    }
  },
};

/** Rates compare with a tolerance of 1e-9, everything else exactly; lists item by item. */
function same(want, got) {
  if (Array.isArray(want)) return Array.isArray(got) && want.length === got.length && want.every((w, i) => same(w, got[i]));
  return typeof want === 'number' && typeof got === 'number' ? Math.abs(want - got) <= 1e-9 : want === got;
}

/**
 * Whether replaying `vector` needs what the browser build leaves out: snapshots, or
 * windowed statistics.
 */
export const leftOutOfBrowser = (vector) =>
  vector.steps.some((step) => step.op === 'snapshot_restore') || vector.config.window_stats === true;

/** Replays `vector` through `adapter`; resolves when every step matched. */
export async function replayVector(vector, adapter) {
  const permits = new Map();
  for (const [i, step] of vector.steps.entries()) {
    const ctx = `${vector.name} (step ${i}: ${step.op} at ${step.at})`;
    check.ok(step.at >= adapter.now(), `${ctx}: goes back in time`);
    const timers = (await adapter.setTime(step.at)) ?? [];
    let seen = {};
    switch (step.op) {
      case 'acquire':
        seen = await adapter.acquire();
        if (seen.granted && step.id !== undefined) permits.set(step.id, seen.permit);
        break;
      case 'success': case 'failure': case 'timeout': case 'ignore': case 'cancel': {
        const permit = permits.get(step.id);
        check.ok(permit, `${ctx}: no permit ${step.id}`);
        permits.delete(step.id);
        seen.transition = await adapter.end(permit, step.op);
        break;
      }
      case 'call':
        if (step.outcome === 'success' || step.outcome === 'failure') {
          seen = await adapter.execute(step.outcome, step.duration ?? 0);
          break;
        }
        seen = await adapter.acquire();
        if (seen.granted) {
          await adapter.setTime(step.at + (step.duration ?? 0));
          seen.transition = (await adapter.end(seen.permit, step.outcome)) ?? seen.transition;
        }
        break;
      case 'force_open': case 'trip': case 'half_open': case 'close': case 'reset': case 'disable': case 'enable':
        seen.transition = await adapter.manual(step.op);
        break;
      case 'snapshot_restore':
        await adapter.snapshotRestore();
        permits.clear();
        break;
      case 'check':
        break;
      default:
        throw new Error(`${ctx}: unknown op ${step.op}`);
    }
    for (const [key, want] of Object.entries(step.expect ?? {})) {
      switch (key) {
        case 'permit':
          check.ok('granted' in seen, `${ctx}: no acquire in this step`);
          check.equal(seen.granted, want, `${ctx}: permit`);
          break;
        case 'rejected':
          check.equal(seen.rejected ?? null, want, `${ctx}: rejected`);
          break;
        case 'retry_after_ms':
          check.ok(same(want, seen.retryAfter ?? null), `${ctx}: retry_after_ms expected ${want}, got ${seen.retryAfter}`);
          break;
        case 'transition':
          check.ok('transition' in seen, `${ctx}: step reports no transition`);
          check.equal(seen.transition, want, `${ctx}: transition`);
          break;
        case 'window_stats': {
          const got = await adapter.windowStats();
          if (want === null || got === null) {
            check.equal(got, want, `${ctx}: window_stats`);
            break;
          }
          for (const [name, value] of Object.entries(want)) {
            check.ok(same(value, got[name]), `${ctx}: window_stats.${name} expected ${JSON.stringify(value)}, got ${JSON.stringify(got[name])}`);
          }
          break;
        }
        case 'timer':
          check.equal(timers.at(-1) ?? null, want, `${ctx}: timer`);
          break;
        case 'state':
          check.equal(await adapter.state(), want, `${ctx}: state`);
          break;
        case 'stats': {
          const stats = await adapter.stats();
          for (const [name, value] of Object.entries(want)) {
            check.ok(name in stats, `${ctx}: no stat ${name}`);
            check.ok(same(value, stats[name]), `${ctx}: stats.${name} expected ${value}, got ${stats[name]}`);
          }
          break;
        }
        default:
          throw new Error(`${ctx}: unknown expectation ${key}`);
      }
    }
  }
}
