// The service's bulkhead through the package: peak concurrency, FIFO queueing,
// rejection with BulkheadRejectedError, maxQueueWait on a ManualClock, one slot for a
// whole retry sequence, runtime limits.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreakerService, BulkheadRejectedError, CircuitBreakerError } from 'tripwire';
import { RecordingClock, drive, failure, settle } from './service-helpers.mjs';

const NO_TIMEOUT = { timeout: false };

function setup(bulkhead) {
  const clock = new RecordingClock(0);
  const svc = new CircuitBreakerService({ clock });
  svc.updateServiceConfig('pool', { bulkhead, config: NO_TIMEOUT });
  let running = 0;
  let peak = 0;
  const started = [];
  const gates = [];
  const call = (label) =>
    svc.executeWithCircuitBreaker('pool', 'op', () => {
      running++;
      peak = Math.max(peak, running);
      started.push(label);
      return new Promise((resolve) => gates.push(() => {
        running--;
        resolve(label);
      }));
    });
  return { clock, svc, call, started, gates, peak: () => peak, running: () => running };
}

describe('bulkhead', () => {
  test('at most maxConcurrent run; the queue is FIFO; beyond it calls are refused at once', async () => {
    const b = setup({ maxConcurrent: 3, queueSize: 4 });
    const calls = Array.from({ length: 7 }, (_, i) => b.call(i));
    const refused = await b.call('extra').catch((e) => e);
    assert.ok(refused instanceof BulkheadRejectedError);
    assert.equal(refused.name, 'BulkheadRejectedError');
    assert.match(refused.message, /Bulkhead 'pool' is full/);
    assert.equal(refused.code, 'EBULKHEAD');
    assert.equal(refused.reason, 'full');
    assert.ok(!(refused instanceof CircuitBreakerError));
    await settle();
    assert.deepEqual(b.started, [0, 1, 2]);
    let stats = b.svc.getBulkheadStats('pool');
    assert.deepEqual([stats.running, stats.queued, stats.rejected, stats.saturated], [3, 4, 1, true]);
    while (b.gates.length > 0) {
      b.gates.shift()();
      await settle();
      assert.ok(b.running() <= 3);
    }
    assert.deepEqual(await Promise.all(calls), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(b.started, [0, 1, 2, 3, 4, 5, 6], 'admitted in arrival order');
    assert.equal(b.peak(), 3);
    stats = b.svc.getBulkheadStats('pool');
    assert.deepEqual([stats.running, stats.queued, stats.admitted, stats.peakRunning, stats.saturated], [0, 0, 7, 3, false]);
  });

  test('100 concurrent calls through maxConcurrent 5: peak 5, all complete', async () => {
    const b = setup({ maxConcurrent: 5, queueSize: 100 });
    const calls = Array.from({ length: 100 }, (_, i) => b.call(i));
    for (let i = 0; i < 100; i++) {
      await settle();
      b.gates.shift()();
    }
    assert.equal((await Promise.all(calls)).length, 100);
    assert.equal(b.peak(), 5);
    assert.deepEqual(b.started, Array.from({ length: 100 }, (_, i) => i));
  });

  test('a queued call waits no longer than maxQueueWait (ManualClock), and wait times are reported', async () => {
    const b = setup({ maxConcurrent: 1, queueSize: 5, maxQueueWait: 100 });
    const first = b.call('first');
    b.clock.advance(10);
    const waiting = b.call('waiting');
    const late = b.call('late');
    b.clock.advance(60);
    b.gates.shift()();
    assert.equal(await first, 'first');
    await settle();
    assert.deepEqual(b.started, ['first', 'waiting']);
    const { error } = await drive(b.clock, late, 10);
    assert.ok(error instanceof BulkheadRejectedError);
    assert.equal(error.reason, 'queue-timeout');
    assert.equal(b.clock.now(), 120, 'refused just after 100 ms of waiting');
    b.gates.shift()();
    assert.equal(await waiting, 'waiting');
    const stats = b.svc.getBulkheadStats('pool');
    assert.equal(stats.maxWait, 60);
    assert.equal(stats.meanWait, 60);
    assert.equal(stats.rejected, 1);
  });

  test('a call queued with no maxQueueWait hears of one set later: refused once it waited that long', async () => {
    const b = setup({ maxConcurrent: 1, queueSize: 5 });
    const first = b.call('first');
    const waiting = b.call('waiting');
    await settle();
    b.clock.advance(10);
    b.svc.updateServiceConfig('pool', { bulkhead: { maxConcurrent: 1, queueSize: 5, maxQueueWait: 100 } });
    const { error } = await drive(b.clock, waiting, 10);
    assert.ok(error instanceof BulkheadRejectedError, String(error));
    assert.equal(error.reason, 'queue-timeout');
    assert.equal(b.clock.now(), 110, 'refused once it had waited 100 ms');
    b.gates.shift()();
    assert.equal(await first, 'first');
    // And the other way: a limit removed leaves a waiting call waiting (no busy timer).
    const held = b.call('held');
    const patient = b.call('patient');
    await settle();
    b.svc.updateServiceConfig('pool', { bulkhead: { maxConcurrent: 1, queueSize: 5, maxQueueWait: null } });
    b.clock.advance(1_000_000);
    b.gates.shift()();
    assert.equal(await held, 'held');
    await settle();
    b.gates.shift()();
    assert.equal(await patient, 'patient');
    const stats = b.svc.getBulkheadStats('pool');
    assert.deepEqual([stats.running, stats.queued], [0, 0]);
  });

  test('a whole retry sequence holds one slot', async () => {
    const clock = new RecordingClock(0);
    const svc = new CircuitBreakerService({ clock });
    svc.updateServiceConfig('pool', { bulkhead: { maxConcurrent: 1, queueSize: 1 }, config: { ...NO_TIMEOUT, failureThreshold: 10 }, retryPolicy: { baseDelay: 100, jitter: 0 } });
    const log = [];
    let n = 0;
    const retried = svc.executeWithCircuitBreaker('pool', 'a', async () => {
      log.push(`a${++n}@${clock.now()}`);
      if (n < 3) throw failure({ code: 'ECONNRESET' });
      return 'a';
    });
    const other = svc.executeWithCircuitBreaker('pool', 'b', async () => {
      log.push(`b@${clock.now()}`);
      return 'b';
    });
    const { value } = await drive(clock, retried, 50);
    assert.equal(value, 'a');
    assert.equal(await other, 'b');
    assert.deepEqual(log, ['a1@0', 'a2@100', 'a3@300', 'b@300']);
    assert.equal(svc.getBulkheadStats('pool').peakRunning, 1);
  });

  test('raising maxConcurrent at runtime admits waiting calls; a per-call bulkhead sets the limits', async () => {
    const b = setup({ maxConcurrent: 1, queueSize: 10 });
    const calls = [b.call(0), b.call(1), b.call(2)];
    await settle();
    assert.deepEqual(b.started, [0]);
    b.svc.updateServiceConfig('pool', { bulkhead: { maxConcurrent: 20 } });
    await settle();
    assert.deepEqual(b.started, [0, 1, 2]);
    assert.deepEqual(b.svc.getServiceConfig('pool').bulkhead, { maxConcurrent: 20, queueSize: 10, maxQueueWait: null });
    b.gates.splice(0).forEach((g) => g());
    await Promise.all(calls);
    await b.svc.executeWithCircuitBreaker('pool', 'op', async () => 1, { bulkhead: { maxConcurrent: 2, queueSize: 0 } });
    assert.deepEqual(b.svc.getServiceConfig('pool').bulkhead, { maxConcurrent: 2, queueSize: 0, maxQueueWait: null });
  });

  test('bulkheads are per service', async () => {
    const b = setup({ maxConcurrent: 1, queueSize: 0 });
    const held = b.call('held');
    await assert.rejects(b.call('refused'), BulkheadRejectedError);
    assert.equal(await b.svc.executeWithCircuitBreaker('elsewhere', 'op', async () => 'free'), 'free');
    b.gates.shift()();
    assert.equal(await held, 'held');
  });
});
