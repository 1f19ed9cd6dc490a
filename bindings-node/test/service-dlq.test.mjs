// The dead-letter queue through the package: items, bounding (oldest dropped and
// counted), retry (removed on success, kept on failure), removal and clearing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreakerService } from 'tripwire';
import { RecordingClock, drive, failure } from './service-helpers.mjs';

const queued = { fallbackOptions: { queue: true, fallbackValue: 'queued' }, retryPolicy: { maxAttempts: 1 }, config: { timeout: false, failureThreshold: 1000 } };

describe('dead-letter queue', () => {
  test('items carry id, service, operation, error, attempts, timestamp', async () => {
    const svc = new CircuitBreakerService();
    const error = failure({ status: 400 });
    const before = Date.now();
    assert.equal(await svc.executeWithCircuitBreaker('ws', 'broadcast', async () => { throw error; }, queued), 'queued');
    const [item] = svc.getDeadLetterQueue();
    assert.deepEqual(Object.keys(item), ['id', 'service', 'operation', 'error', 'attempts', 'timestamp']);
    assert.equal(item.service, 'ws');
    assert.equal(item.operation, 'broadcast');
    assert.equal(item.error, error);
    assert.equal(item.attempts, 1);
    assert.ok(item.timestamp >= before && item.timestamp <= Date.now());
    assert.equal(typeof item.id, 'number');
  });

  test('bounded: the oldest is dropped and counted', async () => {
    const svc = new CircuitBreakerService({ deadLetterQueueSize: 3 });
    for (let i = 0; i < 5; i++) await svc.executeWithCircuitBreaker('s', `op${i}`, async () => { throw failure({ n: i }); }, queued);
    assert.deepEqual(svc.getDeadLetterQueue().map((i) => i.operation), ['op2', 'op3', 'op4']);
    assert.deepEqual(svc.getDeadLetterStats(), { size: 3, capacity: 3, dropped: 2 });
    assert.deepEqual(svc.getSystemHealth().deadLetterQueue, { size: 3, capacity: 3, dropped: 2 });
  });

  test('retryDeadLetterItem re-runs the operation and removes it on success; a failure keeps it', async () => {
    const svc = new CircuitBreakerService();
    let up = false;
    let runs = 0;
    const fn = async () => {
      runs++;
      if (!up) throw failure({ status: 404 });
      return 'delivered';
    };
    await svc.executeWithCircuitBreaker('ws', 'send', fn, queued);
    await svc.executeWithCircuitBreaker('ws', 'other', async () => { throw failure({}); }, queued);
    const [first, second] = svc.getDeadLetterQueue();
    await assert.rejects(svc.retryDeadLetterItem(first.id), (e) => e.status === 404);
    assert.equal(svc.getDeadLetterQueue()[0].attempts, 2, 'attempts accumulate');
    assert.equal(svc.getDeadLetterQueue().length, 2);
    up = true;
    assert.equal(await svc.retryDeadLetterItem(first.id), 'delivered');
    assert.equal(runs, 3);
    assert.deepEqual(svc.getDeadLetterQueue().map((i) => i.id), [second.id]);
    await assert.rejects(svc.retryDeadLetterItem(first.id), RangeError);
    assert.equal(svc.removeDeadLetterItem(second.id), true);
    assert.equal(svc.removeDeadLetterItem(second.id), false);
    assert.deepEqual(svc.getDeadLetterQueue(), []);
  });

  test('a retry uses the failed call\'s own retry policy', async () => {
    const clock = new RecordingClock(0);
    const svc = new CircuitBreakerService({ clock });
    svc.updateServiceConfig('s', { retryPolicy: { maxAttempts: 5, baseDelay: 10, jitter: 0 } });
    let runs = 0;
    const fn = async () => {
      runs++;
      throw failure({ code: 'ECONNRESET' });
    };
    const first = await drive(clock, svc.executeWithCircuitBreaker('s', 'op', fn, { ...queued, retryPolicy: { maxAttempts: 2 } }), 10);
    assert.equal(first.value, 'queued');
    assert.equal(runs, 2);
    const [item] = svc.getDeadLetterQueue();
    assert.equal(item.attempts, 2);
    const { error } = await drive(clock, svc.retryDeadLetterItem(item.id), 10);
    assert.equal(error.code, 'ECONNRESET');
    assert.equal(runs, 4, 'two attempts, as the call had, not the service\'s five');
    assert.equal(svc.getDeadLetterQueue()[0].attempts, 4);
  });

  test('clearDeadLetterQueue empties it and reports how many it held', async () => {
    const svc = new CircuitBreakerService();
    for (let i = 0; i < 4; i++) await svc.executeWithCircuitBreaker('s', 'op', async () => { throw failure({}); }, queued);
    assert.equal(svc.clearDeadLetterQueue(), 4);
    assert.deepEqual(svc.getDeadLetterQueue(), []);
    assert.equal(svc.getDeadLetterStats().dropped, 0);
  });

  test('items returned are copies: changing one does not change the queue', async () => {
    const svc = new CircuitBreakerService();
    await svc.executeWithCircuitBreaker('s', 'op', async () => { throw failure({}); }, queued);
    svc.getDeadLetterQueue()[0].service = 'tampered';
    assert.equal(svc.getDeadLetterQueue()[0].service, 's');
  });
});
