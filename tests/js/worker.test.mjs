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
