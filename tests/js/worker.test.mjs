// localrank/worker: the same API from a dedicated Web Worker, errors included.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { blankPage, session } from './browser.mjs';

let s;
before(async () => { s = await session(); });
after(async () => { await s?.close(); });

test('the engine runs in a worker with the same API and typed errors', async () => {
  const { page, logs } = await blankPage(s.browser, s.url);
  const result = await page.evaluate(async () => {
    const { openInWorker } = await import('/js/worker.js');
    const engine = await openInWorker({ database: `worker-${Date.now()}` });
    await engine.record({ kind: 'view', item: 'tent', vector: [0, 1] });
    let error;
    try {
      await engine.record({ kind: 'teleport', item: 'x' });
    } catch (e) {
      error = { name: e.name, code: e.code, field: e.field, isError: e instanceof Error };
    }
    const pool = { dim: 2, items: [{ id: 'kettle', vector: [1, 0], score: 2 }, { id: 'stove', vector: [0.1, 0.9], score: 1 }] };
    const ranking = await engine.rank(pool);
    const history = await engine.history();
    const status = await engine.status();
    const inWorker = typeof (await engine.exportHistory()) === 'string';
    await engine.terminate();
    return { error, order: ranking.order, personalized: ranking.personalized, history, storage: status.storage, inWorker };
  });
  assert.deepEqual(result.error, { name: 'LocalRankError', code: 'InvalidEvent', field: 'kind', isError: true });
  assert.deepEqual(result.order, ['stove', 'kettle']);
  assert.equal(result.personalized, true);
  assert.equal(result.history.length, 1);
  assert.equal(result.storage, 'indexeddb');
  assert.ok(result.inWorker);
  assert.deepEqual(logs.filter((l) => l.startsWith('pageerror')), []);
});

test('a pool object is sent to the worker once, and again when it changed or was let go', async () => {
  const { page } = await blankPage(s.browser, s.url);
  const result = await page.evaluate(async () => {
    const { openInWorker } = await import('/js/worker.js');
    const worker = new Worker(new URL('/js/worker-entry.js', location.href), { type: 'module' });
    // Count what crosses to the worker: the pool itself, or only its key.
    const sent = [];
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (message) => {
      if (message.method?.startsWith('rank')) sent.push(message.method);
      post(message);
    };
    const engine = await openInWorker({ storage: 'memory' }, { worker });
    await engine.record({ kind: 'view', item: 'stove', vector: [0, 1] });
    const pool = { dim: 2, items: [{ id: 'kettle', vector: [1, 0], score: 2 }, { id: 'stove', vector: [0.1, 0.9], score: 1 }, { id: 'pan', vector: [0, 1], score: 0 }] };
    const first = await engine.rank(pool);
    const again = await engine.rank(pool);
    pool.items[2].available = false;
    const changed = await engine.rank(pool);
    // Nine other pools push the first out of the worker's few held pools: it is sent again.
    for (let i = 0; i < 9; i += 1) await engine.rank({ dim: 2, items: [{ id: `x${i}`, vector: [1, 1] }] });
    const evicted = await engine.rank(pool);
    await engine.terminate();
    return { sent, first: first.order, again: again.order, changed: changed.order, dropped: changed.dropped, evicted: evicted.order };
  });
  assert.equal(result.first.length, 3);
  assert.deepEqual(result.again, result.first);
  assert.deepEqual(result.changed, result.first.filter((id) => id !== 'pan'));
  assert.deepEqual(result.dropped, ['pan']);
  assert.deepEqual(result.evicted, ['stove', 'kettle']);
  assert.deepEqual(result.sent, [
    'rankAndHold', 'rankHeld', 'rankAndHold',
    ...Array(9).fill('rankAndHold'),
    'rankHeld', 'rankAndHold',
  ]);
});

test('after terminate() calls reject with LocalRankError and rank() still gives the server order', async () => {
  const { page } = await blankPage(s.browser, s.url);
  const result = await page.evaluate(async () => {
    const { openInWorker } = await import('/js/worker.js');
    const engine = await openInWorker({ storage: 'memory' });
    await engine.terminate();
    let error;
    try {
      await engine.record({ kind: 'view', item: 'tent' });
    } catch (e) {
      error = { name: e.name, code: e.code };
    }
    const pool = { dim: 2, items: [{ id: 'kettle', vector: [1, 0], score: 2 }, { id: 'stove', vector: [0.1, 0.9], score: 1 }] };
    const ranking = await engine.rank(pool);
    return { error, order: ranking.order, personalized: ranking.personalized, code: ranking.error, reason: ranking.reason };
  });
  assert.deepEqual(result.error, { name: 'LocalRankError', code: 'Internal' });
  assert.deepEqual(result.order, ['kettle', 'stove'], 'the server order');
  assert.equal(result.personalized, false);
  assert.equal(result.code, 'Internal');
  assert.match(result.reason, /terminated/);
});
