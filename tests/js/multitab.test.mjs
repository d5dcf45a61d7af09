// Two tabs of one storefront recording at the same time: every event from both is kept, in
// time order, both tabs see all of them, and the retention policy holds on the combined history.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { session } from './browser.mjs';

let s;
before(async () => { s = await session(); });
after(async () => { await s?.close(); });

async function tab(context) {
  const page = await context.newPage();
  await page.goto(`${s.url}/tests/js/pages/blank.html`);
  return page;
}

/**
 * Opens the engine in the page, waits until `startAt` (so both tabs start together, whatever
 * their load times), and records `count` views named `${prefix}-${i}`.
 */
function recordMany(page, { database, prefix, count, maxEvents, startAt }) {
  return page.evaluate(async ({ database, prefix, count, maxEvents, startAt }) => {
    const { open } = await import('/js/index.js');
    const engine = await open({ database, maxEvents });
    window.engine = engine;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
    for (let i = 0; i < count; i += 1) {
      await engine.record({ kind: 'view', item: `${prefix}-${i}` });
      // Yield to the event loop now and then, as a page busy with other work would.
      if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }, { database, prefix, count, maxEvents, startAt });
}

const historyOf = (page) => page.evaluate(() => window.engine.history());

function assertTimeOrdered(events) {
  for (let i = 1; i < events.length; i += 1) {
    const [a, b] = [events[i - 1], events[i]];
    assert.ok(a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.seq < b.seq), `out of order at ${i}`);
  }
}

test('two tabs recording 1,000 events each both see all 2,000, in order', async () => {
  const context = await s.browser.newContext();
  const [a, b] = [await tab(context), await tab(context)];
  const database = `multitab-${Date.now()}`;
  const startAt = Date.now() + 2000;
  await Promise.all([
    recordMany(a, { database, prefix: 'a', count: 1000, maxEvents: 5000, startAt }),
    recordMany(b, { database, prefix: 'b', count: 1000, maxEvents: 5000, startAt }),
  ]);
  for (const page of [a, b]) {
    const events = await historyOf(page);
    assert.equal(events.length, 2000);
    assertTimeOrdered(events);
    const items = new Set(events.map((e) => e.item));
    assert.ok(items.has('a-0') && items.has('a-999') && items.has('b-0') && items.has('b-999'));
    assert.equal(items.size, 2000);
  }
  // Both tabs' events interleave in time, so the test really ran them concurrently.
  const events = await historyOf(a);
  const switches = events.filter((e, i) => i > 0 && e.item[0] !== events[i - 1].item[0]).length;
  console.log(`  interleaving: ${switches} switches between tabs in 2,000 events`);
  assert.ok(switches > 2, `the tabs' events interleave (${switches} switches)`);
  await context.close();
});

test('retention holds across tabs: 500 newest of 2,000 concurrent events', async () => {
  const context = await s.browser.newContext();
  const [a, b] = [await tab(context), await tab(context)];
  const database = `multitab-retention-${Date.now()}`;
  const startAt = Date.now() + 2000;
  await Promise.all([
    recordMany(a, { database, prefix: 'a', count: 1000, maxEvents: 500, startAt }),
    recordMany(b, { database, prefix: 'b', count: 1000, maxEvents: 500, startAt }),
  ]);
  const seen = [await historyOf(a), await historyOf(b)];
  for (const events of seen) {
    assert.equal(events.length, 500);
    assertTimeOrdered(events);
  }
  assert.deepEqual(seen[0], seen[1], 'both tabs agree');
  // A fresh tab sees the same 500 on disk, and they are the newest ones from both tabs.
  const c = await tab(context);
  const fresh = await c.evaluate(async (database) => {
    const { open } = await import('/js/index.js');
    return (await open({ database, maxEvents: 500 })).history();
  }, database);
  assert.deepEqual(fresh, seen[0]);
  // Only the oldest went: what is left of each tab's events is an unbroken run up to its last.
  for (const prefix of ['a', 'b']) {
    const kept = fresh.filter((e) => e.item.startsWith(`${prefix}-`)).map((e) => Number(e.item.slice(2)));
    if (kept.length === 0) continue;
    assert.equal(kept.at(-1), 999, `tab ${prefix} keeps its newest event`);
    assert.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => 1000 - kept.length + i), `tab ${prefix} lost only its oldest`);
  }
  await context.close();
});
