// Shared by the service*.test.mjs suites: a ManualClock that records the delays asked
// of it, and a driver that moves it until a promise settles (no real sleeping).
import { ManualClock } from 'tripwire';

export class RecordingClock extends ManualClock {
  constructor(start = 0) {
    super(start);
    this.requested = [];
  }

  setTimeout(fn, ms = 0) {
    this.requested.push(ms);
    return super.setTimeout(fn, ms);
  }
}

export const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Advances `clock` by `step` ms at a time, letting callbacks run between steps, until `promise` settles. */
export async function drive(clock, promise, step = 1, limit = 100_000) {
  let done = false;
  const watched = promise.then(
    (value) => {
      done = true;
      return { value };
    },
    (error) => {
      done = true;
      return { error };
    },
  );
  for (let i = 0; i < limit && !done; i++) {
    await settle();
    if (!done) clock.advance(step);
  }
  if (!done) throw new Error('drive(): the promise did not settle');
  return watched;
}

/** An error with a code and/or an HTTP status, as clients throw them. */
export function failure(fields) {
  return Object.assign(new Error(`failed: ${JSON.stringify(fields)}`), fields);
}
