// rank() through the package's fast path: a pool is validated once per pool object and kept in
// the engine while the object is unchanged, and the result comes back packed (typed arrays)
// and is unpacked in JS. These tests hold that path to the engine's plain rank() — the same
// Ranking, field for field — and check that a changed pool is noticed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { blankPage, session } from './browser.mjs';

let s;
before(async () => {
  s = await session({ webgpu: false });
});
after(async () => {
  await s?.close();
});

/** In the page: a package engine and a raw wasm engine with the same history, and a pool. */
const SETUP = `
  const pkg = await import('/js/index.js');
  const raw = await import('/pkg/localrank.js');
  const engine = await pkg.open({ storage: 'memory' });
  const plain = await raw.open({ storage: 'memory' });
  const items = [];
  for (let i = 0; i < 80; i += 1) {
    const vector = Array.from({ length: 16 }, (_, d) => Math.sin(i * 0.7 + d * 1.3));
    const item = { id: 'sku-' + i, vector, score: 80 - i, category: 'c' + (i % 5), price: 1 + i };
    if (i === 4) item.pinned = 0;
    if (i === 9) item.sponsored = true;
    if (i === 12) item.available = false;
    if (i === 20) item.repeat = true;
    items.push(item);
  }
  const pool = { dim: 16, items };
  await engine.rank(pool);
  await plain.rank(pool);
  // sku-20 is a staple bought every 10 days; the rankings below all run at one fixed time
  // (\`now\`), 10 days after its last purchase, so both engines see the same purchase ages.
  const DAY = 86400000;
  const T0 = Date.now() - 40 * DAY;
  const events = [['purchase', 'sku-20', 0], ['view', 'sku-3', 5], ['purchase', 'sku-20', 10], ['view', 'sku-17', 11], ['purchase', 'sku-31', 12],
    ['purchase', 'sku-20', 20], ['view', 'sku-8', 29], ['cart', 'sku-17', 29.5], ['purchase', 'sku-20', 30]];
  for (const [kind, item, day] of events) {
    await engine.record({ kind, item, timestamp: T0 + day * DAY });
    await plain.record({ kind, item, timestamp: T0 + day * DAY });
  }
  const now = T0 + 40 * DAY;
`;

/** Numbers compared as the f32 values the engine computed (JSON text writes their shortest form). */
function f32Equal(a, b, path = '') {
  if (typeof a === 'number' && typeof b === 'number') {
    assert.ok(Object.is(Math.fround(a), Math.fround(b)), `${path}: ${a} vs ${b}`);
    return;
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    assert.deepEqual(a, b, path);
    return;
  }
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${path}: keys`);
  for (const key of Object.keys(a)) f32Equal(a[key], b[key], `${path}.${key}`);
}

test('the fast path returns the same Ranking as the engine’s plain rank(), every field', async () => {
  const { page } = await blankPage(s.browser, s.url);
  const results = await page.evaluate(new Function(`return (async () => {
    ${SETUP}
    const out = [];
    for (const options of [{ now, explainTop: 80 }, { now, diversity: 0.7 }, { now, explainTop: 3, weights: { neighbour: 0.5 } }, { now, diversity: 2 }]) {
      out.push([await engine.rank(pool, options), await plain.rank(pool, options)]);
      out.push([await engine.rank(JSON.stringify(pool), options), await plain.rank(JSON.stringify(pool), options)]);
    }
    return out;
  })()`));
  for (const [fast, reference] of results) {
    delete fast.elapsedMs;
    delete reference.elapsedMs;
    f32Equal(fast, reference, 'ranking');
  }
  const [first] = results[0];
  assert.equal(first.personalized, true);
  assert.equal(first.order[0], 'sku-4', 'the pinned item holds slot 0');
  assert.ok(first.items.some((item) => item.rule === 'sponsored'));
  assert.ok(first.items.some((item) => item.rule === 'purchased'), 'a bought item sank');
  assert.ok(first.items.some((item) => item.because && !item.repeat), 'explanations came through');
  const staple = first.items.find((item) => item.id === 'sku-20');
  assert.ok(staple.parts.repeat > 0.9, `bought every 10 days, due now: ${JSON.stringify(staple.parts)}`);
  assert.deepEqual(staple.repeat, { purchases: 4, everyDays: 10, daysSince: 10 }, 'the rhythm, through the packed path');
  assert.equal(staple.because, 'sku-20');
  assert.equal(staple.becauseKind, 'purchase');
  assert.deepEqual(first.dropped, ['sku-12']);
  for (const [invalidOptions] of results.slice(6)) {
    assert.equal(invalidOptions.personalized, false);
    assert.equal(invalidOptions.error, 'InvalidOptions');
    assert.equal(invalidOptions.field, 'diversity');
    assert.equal(invalidOptions.order.length, 80, 'the server order comes back, for a pool object and for JSON text');
  }
});

test('a pool is prepared once and prepared again when it changes', async () => {
  const { page } = await blankPage(s.browser, s.url);
  const log = await page.evaluate(new Function(`return (async () => {
    ${SETUP}
    // Every preparation reads the ids once: count them to see when the pool was re-read.
    let prepared = 0;
    const ids = raw.PreparedPool.prototype.ids;
    raw.PreparedPool.prototype.ids = function () { prepared += 1; return ids.call(this); };
    const step = async (what) => {
      const before = prepared;
      const ranking = await engine.rank(pool);
      return { what, prepared: prepared - before, order: ranking.order, dropped: ranking.dropped, personalized: ranking.personalized };
    };
    const log = [await step('first'), await step('same object again')];
    pool.items[0].available = false;
    log.push(await step('an item became unavailable'));
    pool.items[1].score = 1000;
    log.push(await step('a score changed'));
    log.push(await step('unchanged again'));
    pool.items[1].rebuyRate = 0.5;
    log.push(await step('a re-buy rate was set'));
    pool.items[1].text = 'oat milk 1 l';
    log.push(await step('a text was set'));
    pool.items[2].vector = pool.items[2].vector.map((x) => -x);
    log.push(await step('a vector was replaced'));
    pool.items.push({ id: 'sku-new', vector: pool.items[3].vector, score: 0 });
    log.push(await step('an item was added'));
    pool.items[5].id = 'sku-3';
    log.push(await step('an id now duplicates another'));
    return log;
  })()`));
  const at = (what) => log.find((entry) => entry.what === what);
  assert.equal(at('first').prepared, 0, 'the setup ranked this pool object already');
  assert.equal(at('same object again').prepared, 0, 'an unchanged pool is not converted again');
  assert.deepEqual(at('same object again').order, at('first').order);
  assert.equal(at('an item became unavailable').prepared, 1);
  assert.ok(at('an item became unavailable').dropped.includes('sku-0'));
  assert.equal(at('a score changed').prepared, 1);
  assert.equal(at('unchanged again').prepared, 0);
  assert.equal(at('a re-buy rate was set').prepared, 1);
  assert.equal(at('a text was set').prepared, 1, 'an item\'s text is part of the pool');
  assert.equal(at('a vector was replaced').prepared, 1);
  assert.equal(at('an item was added').prepared, 1);
  assert.ok(at('an item was added').order.includes('sku-new'));
  // An invalid pool is not prepared: rank() answers with the server order and the reason.
  assert.equal(at('an id now duplicates another').prepared, 0);
  assert.equal(at('an id now duplicates another').personalized, false);
});
