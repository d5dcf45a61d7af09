// Product text in the demo storefront end to end (issue 11): the candidate service over a
// fixture model with a text tower, whose item table has two text-only rows (new arrivals the
// model never trained on, tests/e2e/fixture.mjs), the Vite-built site, Chromium, the engine in
// the shop's Web Worker.
//
// Flow: the first visit shows the server's order with both new arrivals on the first page,
// badged "New" → the shopper searches the shelves for "fresh coffee" (which matches no product,
// so the page stays home and re-ranks) → coffee rises from the bottom of the page on that
// search alone, the new cold-brew coffee with it, explained by the search; the hint names the
// search from the local history → the next visit (a reload) is still steered by it → the
// privacy panel lists the search. Every request is audited as in storefront.test.mjs, and the
// query must appear in none of them: not in a URL, a header or a body.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { CHROMIUM, chromiumArgs } from '../js/browser.mjs';
import { checkRequests } from './audit.mjs';
import { NEW_PRODUCTS, writeFixture } from './fixture.mjs';
import { startServer } from './server.mjs';

const QUERY = 'fresh coffee';
const TARGET = 'Coffee';
const RESULTS = 'test-results';

let server;
let fixtureDir;
before(async () => {
  fixtureDir = mkdtempSync(join(tmpdir(), 'localrank-e2e-search-'));
  const fixture = writeFixture(join(fixtureDir, 'model'), { text: true });
  // Split 1: every browser in the personalized arm.
  server = await startServer({ modelDir: fixture.dir, catalogue: fixture.catalogue, args: ['--experiment-split', '1'] });
  mkdirSync(RESULTS, { recursive: true });
});
after(async () => {
  if (server) assert.equal(await server.stop(), 0, 'graceful exit on SIGTERM');
  if (fixtureDir) rmSync(fixtureDir, { recursive: true, force: true });
});

async function waitRanked(page, count) {
  await page.waitForFunction((n) => Number(document.body.dataset.ranked ?? 0) >= n, count, { timeout: 30_000 });
}

async function gridCards(page) {
  return page.$$eval('#grid .card', (cards) => cards.map((c) => ({
    id: c.dataset.id,
    category: c.dataset.category,
    badge: c.querySelector('.badge-new')?.textContent ?? null,
    reason: c.querySelector('.card-reason')?.textContent ?? null,
  })));
}

function meanRank(cards, category) {
  const ranks = cards.map((c, k) => (c.category === category ? k : null)).filter((k) => k !== null);
  return ranks.reduce((a, b) => a + b, 0) / ranks.length;
}

/** The new coffee is placed among the coffees: above every product of another category. */
function assertNewCoffeeRanked(cards, when) {
  const at = cards.findIndex((c) => c.id === 'coffee-new');
  assert.ok(at >= 0, `${when}: the new coffee is on the page, not dropped`);
  const firstOther = cards.findIndex((c) => c.category !== TARGET);
  assert.ok(at < firstOther, `${when}: the new coffee (slot ${at + 1}) is above every non-coffee product (first at slot ${firstOther + 1})`);
  assert.equal(cards[at].badge, 'New');
  return at;
}

test('new arrivals are badged and ranked by their text; a search steers the homepage and never leaves the page', async () => {
  const pool = await (await fetch(`${server.url}/api/pool?context=home&n=200`)).json();
  // The service: the two text-only rows, flagged, at the first page's slots 6 and 12.
  const flagged = pool.items.map((item, k) => [k, item.id, item.isNew]).filter(([, , isNew]) => isNew);
  assert.deepEqual(flagged, [[5, 'coffee-new', true], [11, 'bakery-new', true]], 'the department the pool shows first (Grocery), then another category');
  assert.equal(pool.items.length, 48 + NEW_PRODUCTS.length);
  const newCoffee = pool.items[5];
  assert.equal(newCoffee.score, pool.items[4].score, 'scored like the product before it, so the server order keeps its slot');
  assert.ok(newCoffee.neighbours === undefined && newCoffee.rebuyRate === undefined);
  // Its vector is the text tower's: "Cold brew coffee, 32 oz Coffee" is 6 words, 2 of them the
  // coffee word, so 1/3 in the coffee direction and nothing else.
  assert.deepEqual(newCoffee.vector.map((v) => Math.round(v * 1e6) / 1e6), [0, 0, 0, 0, 0, 0.333333, 0, 0]);

  const profile = mkdtempSync(join(tmpdir(), 'localrank-e2e-search-profile-'));
  const requests = [];
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: chromiumArgs({ webgpu: false }),
      viewport: { width: 1280, height: 900 },
    });
    context.on('request', (request) => {
      requests.push({ url: request.url(), method: request.method(), body: request.postDataBuffer(), headers: request.headers() });
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });

    // ---- first visit: server order, both new arrivals on the first page with the badge
    await page.goto(`${server.url}/`);
    await waitRanked(page, 1);
    assert.equal(await page.getAttribute('body', 'data-personalized'), 'false', 'no history yet: server order');
    const before = await gridCards(page);
    assert.deepEqual(before.map((c) => c.id), pool.items.slice(0, 48).map((i) => i.id), 'the grid is the pool in server order');
    assert.deepEqual(before.filter((c) => c.badge).map((c) => [c.id, c.badge]), [['coffee-new', 'New'], ['bakery-new', 'New']]);
    const rankBefore = meanRank(before, TARGET);
    assert.ok(rankBefore > 30, `coffee starts low on the page (mean rank ${rankBefore})`);

    // ---- a search that matches no product title: recorded locally, the page re-ranks at once
    await page.fill('#search', QUERY);
    await page.press('#search', 'Enter');
    await waitRanked(page, 2);
    assert.equal(await page.getAttribute('body', 'data-personalized'), 'true', 'the search alone personalizes');
    const afterSearch = await gridCards(page);
    const rankAfter = meanRank(afterSearch, TARGET);
    assert.ok(rankAfter < 10, `coffee rose on the search: mean rank ${rankBefore.toFixed(1)} → ${rankAfter.toFixed(1)}`);
    const slot = assertNewCoffeeRanked(afterSearch, 'after the search');
    assert.equal(afterSearch[slot].reason, `Because you searched “${QUERY}”`);
    // The new bread's text says nothing of coffee: it ranks below every coffee (or off the page).
    const bread = afterSearch.findIndex((c) => c.id === 'bakery-new');
    const lastCoffee = afterSearch.findLastIndex((c) => c.category === TARGET);
    assert.ok(bread === -1 || bread > lastCoffee, `the new bread (slot ${bread + 1}) is not lifted by a coffee search (last coffee at ${lastCoffee + 1})`);
    assert.match(await page.textContent('[data-field="home-hint"]'), new RegExp(`results reflect your search for “${QUERY}”`));
    await page.screenshot({ path: `${RESULTS}/storefront-search.png` });

    // ---- the next visit: the stored search still steers the homepage
    await page.reload();
    await waitRanked(page, 1);
    assert.equal(await page.getAttribute('body', 'data-personalized'), 'true', 'the search persisted');
    const nextVisit = await gridCards(page);
    assert.ok(meanRank(nextVisit, TARGET) < 10, `coffee stays up on the next visit (mean rank ${meanRank(nextVisit, TARGET).toFixed(1)})`);
    assertNewCoffeeRanked(nextVisit, 'on the next visit');
    assert.match(await page.textContent('[data-field="home-hint"]'), /results reflect your search for/);

    // ---- the privacy panel lists the search with the rest of the local history
    await page.click('#open-privacy');
    await page.waitForFunction(() => Number(document.querySelector('[data-field="events"]').textContent) > 0);
    assert.equal(await page.textContent('[data-field="events"]'), '1', 'one event stored: the search');
    assert.ok((await page.textContent('#history')).includes(QUERY));
    await page.keyboard.press('Escape');
    assert.deepEqual(errors, []);
    await context.close();

    // ---- the network: the query, like the history and the vectors, never left the page
    checkRequests(requests, { origin: new URL(server.url).origin, pool, queries: [QUERY] });
  } finally {
    await context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
});
