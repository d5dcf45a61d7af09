// Storage faults in a real browser: the page keeps working on an in-memory history and the
// engine says why.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { blankPage, session } from './browser.mjs';

let s;
before(async () => { s = await session(); });
after(async () => { await s?.close(); });

async function openWithBrokenStorage(page, breakStorage) {
  await page.evaluate(breakStorage);
  return page.evaluate(async () => {
    const { open } = await import('/js/index.js');
    const engine = await open();
    await engine.record({ kind: 'view', item: 'still-works' });
    const status = await engine.status();
    return { storage: status.storage, warnings: status.warnings, events: (await engine.history()).length };
  });
}

test('IndexedDB that throws (blocked storage) falls back to memory with a warning', async () => {
  const { page } = await blankPage(s.browser, s.url);
  const result = await openWithBrokenStorage(page, () => {
    IDBFactory.prototype.open = () => { throw new DOMException('The user denied permission to access the database.', 'SecurityError'); };
  });
  assert.equal(result.storage, 'memory');
  assert.equal(result.events, 1);
  assert.equal(result.warnings[0].code, 'StorageUnavailable');
  assert.match(result.warnings[0].message, /SecurityError|denied/);
});

test('no IndexedDB at all falls back to memory with a warning', async () => {
  const { page } = await blankPage(s.browser, s.url);
  const result = await openWithBrokenStorage(page, () => {
    Object.defineProperty(globalThis, 'indexedDB', { value: undefined, configurable: true });
  });
  assert.equal(result.storage, 'memory');
  assert.equal(result.events, 1);
  assert.equal(result.warnings[0].code, 'StorageUnavailable');
});

test('a broken IndexedDB implementation (open returns no usable request) falls back to memory', async () => {
  const { page } = await blankPage(s.browser, s.url);
  const result = await openWithBrokenStorage(page, () => {
    IDBFactory.prototype.open = function () {
      const request = new EventTarget();
      Object.assign(request, { result: undefined, error: new DOMException('private mode', 'InvalidStateError'), readyState: 'done' });
      setTimeout(() => { request.onerror?.(new Event('error')); });
      return request;
    };
  });
  assert.equal(result.storage, 'memory');
  assert.equal(result.warnings[0].code, 'StorageUnavailable');
});

test('after an internal error (a wasm trap) the engine fails open and says so once', async () => {
  const { page, logs } = await blankPage(s.browser, s.url);
  const result = await page.evaluate(async () => {
    const { open } = await import('/js/index.js');
    const pkg = await import('/pkg/localrank.js'); // the same module instance index.js uses
    const engine = await open({ storage: 'memory' });
    await engine.record({ kind: 'view', item: 'b', vector: [0, 1] });
    const pool = { dim: 2, items: [{ id: 'a', vector: [1, 0] }, { id: 'b', vector: [0, 1] }, { id: 'c', vector: [0.2, 0.9] }] };
    const before = await engine.rank(pool);
    // What a Rust panic looks like from JS: the instance traps.
    // (rank() calls rankPrepared for pool objects it has validated, rank for the rest.)
    const trap = function () { throw new WebAssembly.RuntimeError('unreachable executed'); };
    pkg.Engine.prototype.rank = trap;
    pkg.Engine.prototype.rankPrepared = trap;
    const during = await engine.rank(pool);
    const after = await engine.rank(JSON.stringify(pool));
    let recordError;
    try {
      await engine.record({ kind: 'view', item: 'x' });
    } catch (error) {
      recordError = { name: error.name, code: error.code };
    }
    return { before: before.personalized, during, after, recordError };
  });
  assert.equal(result.before, true);
  assert.deepEqual(result.during.order, ['a', 'b', 'c'], 'the server order, as sent');
  assert.equal(result.during.personalized, false);
  assert.equal(result.during.error, 'Internal');
  assert.match(result.during.reason, /internal error/);
  assert.deepEqual(result.after.order, ['a', 'b', 'c'], 'later calls fail open too (JSON text pool)');
  assert.deepEqual(result.recordError, { name: 'LocalRankError', code: 'Internal' });
  assert.equal(logs.filter((l) => l.includes('localrank stopped')).length, 1, 'reported once');
});

test('plain-number vectors are packed for speed, and bad ones are still named precisely', async () => {
  const { page } = await blankPage(s.browser, s.url);
  const result = await page.evaluate(async () => {
    const { open } = await import('/js/index.js');
    const engine = await open({ storage: 'memory' });
    await engine.record({ kind: 'view', item: 'b', vector: [0, 1] });
    const items = [{ id: 'a', vector: [1, 0], score: 2 }, { id: 'b', vector: [0, 1], score: 1 }, { id: 'c', vector: [0.2, 0.9] }];
    const packed = await engine.rank({ dim: 2, items });
    const matrix = await engine.rank({ dim: 2, items: items.map(({ vector, ...rest }) => rest), vectors: new Float32Array([1, 0, 0, 1, 0.2, 0.9]) });
    const bad = await engine.rank({ dim: 2, items: [items[0], { id: 'x', vector: [1, 'a'] }] });
    const short = await engine.rank({ dim: 2, items: [items[0], { id: 'y', vector: [1] }] });
    return { packed: packed.order, matrix: matrix.order, untouched: items[0].vector, bad: [bad.error, bad.reason], short: short.reason };
  });
  assert.deepEqual(result.packed, result.matrix);
  assert.deepEqual(result.untouched, [1, 0], 'the caller’s pool is not modified');
  assert.equal(result.bad[0], 'InvalidPool');
  assert.match(result.bad[1], /items\[1\]\.vector/);
  assert.match(result.short, /items\[1\]\.vector/);
});

test('a .wasm that cannot be fetched is a LocalRankError, and a later call retries', async () => {
  const { page } = await blankPage(s.browser, s.url);
  const result = await page.evaluate(async () => {
    const { load, open } = await import('/js/index.js');
    let error;
    try {
      await load('/pkg/no-such-file.wasm');
    } catch (e) {
      error = { name: e.name, code: e.code, message: e.message };
    }
    const engine = await open({ storage: 'memory' }); // the default file, fetched this time
    await engine.record({ kind: 'view', item: 'after-retry' });
    return { error, events: (await engine.history()).length };
  });
  assert.equal(result.error?.name, 'LocalRankError');
  assert.equal(result.error?.code, 'Internal');
  assert.match(result.error?.message, /could not load localrank's WebAssembly/);
  assert.equal(result.events, 1);
});
