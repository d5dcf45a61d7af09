// The demo's lift experiment end to end: the candidate service with its two stand-in DAP
// aggregators (server/src/experiment/), the Vite-built storefront and /lift page, Debian's
// Chromium, the engine in the shop's Web Worker.
//
// Day 1 (the real clock): the shopper sees the homepage, opens the product in slot 1 and buys
// it; the engine tallies the day in IndexedDB and `takeReport()` has nothing yet. Day 2 (the
// browser restarted on the same profile, the engine's clock a day later): the shop's visit
// takes the finished day's report and PUTs it to the demo leader, which opens both shares,
// verifies and aggregates them. /api/lift and the /lift page then show exactly that one
// shopper-day in the browser's arm; a second visit sends nothing; the simulate control adds
// synthetic shoppers through the same upload code. Every request is audited: the report is
// the only one with a body, and nothing in it is readable.
//
// The clock: the engine runs in a Web Worker and reads `Date.now()` there. Playwright's
// `page.clock` fakes the page's clock but not a worker's (microsoft/playwright#31772 for
// service workers; dedicated workers get no init scripts either), so day 2's context serves
// the worker's script with one statement in front that shifts its `Date.now` by a day: the
// same technique as tests/js/experiment-report.test.mjs (which replaces `Date.now` in the
// page), applied where the engine actually runs. (Wrapping `Worker` in a blob: module does not
// work: Vite's worker chunk resolves the .wasm against `self.location`.)
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { CHROMIUM, chromiumArgs } from '../js/browser.mjs';
import { REPORT_PATH, checkReportUpload } from './audit.mjs';
import { writeFixture } from './fixture.mjs';
import { startServer } from './server.mjs';

const DAY_MS = 86_400_000;
const RESULTS = 'test-results';

let server;
let fixtureDir;
before(async () => {
  fixtureDir = mkdtempSync(join(tmpdir(), 'localrank-e2e-lift-'));
  const fixture = writeFixture(join(fixtureDir, 'model'));
  // The default split (0.5): the test reads the arm the browser drew from the page.
  server = await startServer({ modelDir: fixture.dir, catalogue: fixture.catalogue });
  mkdirSync(RESULTS, { recursive: true });
});
after(async () => {
  if (server) assert.equal(await server.stop(), 0, 'graceful exit on SIGTERM');
  if (fixtureDir) rmSync(fixtureDir, { recursive: true, force: true });
});

/** Serves the engine's worker script (Vite's `worker-entry-<hash>.js`) with one statement in
 * front that moves the worker's `Date.now` by `offsetMs`. (Routing also turns off the HTTP
 * cache, so the script is fetched again, not taken from day 1's cache.) */
async function shiftWorkerClock(context, offsetMs) {
  await context.route(/\/assets\/worker-entry-[\w-]{8}\.js$/, async (route) => {
    const response = await route.fetch();
    const shift = `{ const realNow = Date.now.bind(Date); Date.now = () => realNow() + ${offsetMs}; }\n`;
    await route.fulfill({ response, body: shift + (await response.text()) });
  });
}

async function openBrowser(profile, requests, errors, workerClockOffsetMs) {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: chromiumArgs({ webgpu: false }),
    viewport: { width: 1280, height: 900 },
  });
  if (workerClockOffsetMs) await shiftWorkerClock(context, workerClockOffsetMs);
  context.on('request', (request) => {
    requests.push({ url: request.url(), method: request.method(), body: request.postDataBuffer(), headers: request.headers() });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  return { context, page };
}

/** Waits until the shop's visit has asked the engine for a report (and sent it, if any). */
async function reportOutcome(page) {
  await page.waitForFunction(() => document.body.dataset.report !== undefined, null, { timeout: 60_000 });
  return page.getAttribute('body', 'data-report');
}

async function lift() {
  const response = await fetch(`${server.url}/api/lift`);
  assert.equal(response.status, 200);
  return response.json();
}

test('a browser day is tallied, sealed, uploaded, aggregated, and shown on /lift', async () => {
  const profile = mkdtempSync(join(tmpdir(), 'localrank-e2e-lift-profile-'));
  const requests = [];
  const errors = [];
  let context, page;
  try {
    // ---- day 1: homepage, first click on slot 1, a purchase
    ({ context, page } = await openBrowser(profile, requests, errors, 0));
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => Number(document.body.dataset.ranked ?? 0) >= 1, null, { timeout: 60_000 });
    assert.equal(await reportOutcome(page), 'none', 'nothing to report on the first day');
    await page.waitForFunction(() => document.body.dataset.arm !== undefined);
    const arm = await page.getAttribute('body', 'data-arm');
    assert.ok(arm === 'control' || arm === 'personalized', arm);
    assert.match(await page.textContent('[data-field="experiment"]'), new RegExp(`^Experiment: ${arm}`));
    const first = await page.$eval('#grid .card', (card) => card.dataset.id);
    await page.click(`#grid .card[data-id="${first}"] .card-title a`);
    await page.waitForSelector(`#product .product[data-id="${first}"]`);
    await page.click('#buy-now');
    await page.waitForSelector('#toast:not([hidden])');
    await page.click('#product a.back');
    await page.waitForFunction(() => Number(document.body.dataset.ranked ?? 0) >= 2);
    await context.close();
    assert.equal((await lift()).view.reports, 0, 'nothing aggregated before the day is over');

    // ---- day 2: the engine's clock a day later; the visit sends day 1's report
    ({ context, page } = await openBrowser(profile, requests, errors, DAY_MS + 60_000));
    await page.goto(`${server.url}/`);
    assert.equal(await reportOutcome(page), 'sent', 'the leader accepted the report');
    const after = await lift();
    assert.equal(after.view.reports, 1);
    assert.equal(after.view.uploaded, 1);
    assert.equal(after.view.rejected, 0);
    // Bucket (arm · 12 + first click) · 2 + converted: slot 1 is first_click 0 (docs/measurement.md).
    const bucket = ((arm === 'personalized' ? 1 : 0) * 12 + 0) * 2 + 1;
    const expected = Array.from({ length: 48 }, (_, b) => (b === bucket ? 1 : 0));
    assert.deepEqual(after.view.buckets, expected, 'exactly the browser\'s day: its arm, slot 1, a purchase');
    const summary = after.view.estimate.arms[arm];
    assert.deepEqual([summary.reports, summary.first_clicks[0], summary.conversions], [1, 1, 1]);

    // A second visit the same day: the day was marked when it was taken, nothing more is sent.
    await page.reload();
    assert.equal(await reportOutcome(page), 'none');

    // ---- the lift page shows that one report
    await page.goto(`${server.url}/lift`);
    await page.waitForSelector('body[data-ready="true"]');
    const text = (name) => page.textContent(`[data-field="${name}"]`);
    assert.equal(await text('reports'), '1');
    assert.equal(await text('uploaded'), '1');
    assert.equal(await text('simulated'), '0');
    assert.equal(await text(`${arm}-reports`), '1');
    assert.equal(await text(`${arm === 'personalized' ? 'control' : 'personalized'}-reports`), '0');
    assert.equal(await text(`${arm}-ctr`), '100.00%');
    assert.match(await text(`${arm}-conversion`), /^100\.00% \(1 days with a purchase\)$/);
    assert.match(await text('lift-conversion'), /^not defined yet/, 'one arm is empty');
    assert.match(await page.textContent('.demo-warning'), /Demo stand-in/);
    assert.match(await page.textContent('.caveat'), /Minimum batch/);
    await page.screenshot({ path: `${RESULTS}/lift-one-report.png`, fullPage: true });

    // ---- simulated shoppers through the same upload code, labelled as such
    await page.fill('#shoppers', '400');
    await page.click('#simulate button');
    await page.waitForFunction(() => document.querySelector('[data-field="reports"]').textContent === '401', null, { timeout: 120_000 });
    assert.equal(await text('simulated'), '400');
    assert.equal(await text('uploaded'), '1');
    assert.match(await text('lift-conversion'), /^[+−]\d+\.\d% \(95% interval [+−]\d+\.\d% to [+−]\d+\.\d%\)$/);
    assert.match(await text('power'), /shopper-days per arm/);
    const simulated = await lift();
    assert.equal(simulated.view.buckets.reduce((a, b) => a + b, 0), 401);
    assert.equal(simulated.view.buckets[bucket] >= 1, true);
    console.log(`# aggregation: ${simulated.view.mean_aggregate_ms.toFixed(2)} ms per report (open both shares, Prio3 prepare in both roles, add)`);
    await page.screenshot({ path: `${RESULTS}/lift-simulated.png`, fullPage: true });
    assert.deepEqual(errors, []);
    await context.close();

    // ---- the network: the report is the only request with a body, and it is opaque
    const origin = new URL(server.url).origin;
    const uploads = requests.filter((r) => r.method === 'PUT');
    assert.equal(uploads.length, 1, 'one report for one finished day');
    assert.ok(REPORT_PATH.test(new URL(uploads[0].url).pathname), uploads[0].url);
    assert.ok(uploads[0].url.includes(after.task_id), 'to the demo task');
    checkReportUpload(uploads[0], new Set([first]));
    for (const r of requests) {
      if (r.url.startsWith('blob:') || r.url.startsWith('data:') || r.method === 'PUT') continue;
      const url = new URL(r.url);
      assert.equal(url.origin, origin, r.url);
      const path = url.pathname + url.search;
      if (r.method === 'POST') {
        assert.equal(path, '/api/lift/simulate?shoppers=400', 'only the lift page\'s own control posts');
        continue;
      }
      assert.equal(r.method, 'GET', `${r.method} ${r.url}`);
      assert.ok(!r.body, `no body: ${r.url}`);
      const allowed = ['/', '/lift', '/api/pool?context=home&n=200', '/api/experiment', '/api/lift', '/model/model.json', '/model/model.safetensors'].includes(path) ||
        (/^\/assets\/[\w.-]+$/.test(url.pathname) && url.search === '');
      assert.ok(allowed, `unexpected request ${path}`);
      assert.ok(!decodeURIComponent(r.url).includes(first), `${r.url} names the product the shopper bought`);
    }
  } finally {
    await context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
});

test('the shop still works when the experiment endpoint fails', async () => {
  // The same page against a server whose /api/experiment answers 404: played by routing the
  // request in the browser, so no special server is needed.
  const profile = mkdtempSync(join(tmpdir(), 'localrank-e2e-noexp-profile-'));
  const errors = [];
  let context, page;
  try {
    ({ context, page } = await openBrowser(profile, [], errors, 0));
    await page.route('**/api/experiment', (route) => route.fulfill({ status: 503, body: 'down' }));
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => Number(document.body.dataset.ranked ?? 0) >= 1, null, { timeout: 60_000 });
    assert.equal(await reportOutcome(page), 'no-experiment');
    assert.equal(await page.getAttribute('body', 'data-arm'), null);
    assert.equal(await page.locator('#grid .card').count(), 48, 'the homepage renders');
    // The failed fetch itself is logged by Chromium as a console error; nothing else.
    assert.deepEqual(errors.filter((e) => !e.includes('503')), []);
  } finally {
    await context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
});

test('a failed upload never breaks the shop, and the day is not sent again', async () => {
  const profile = mkdtempSync(join(tmpdir(), 'localrank-e2e-lift-fail-profile-'));
  const errors = [];
  const before = (await lift()).view;
  let context, page;
  try {
    // Day 1: the homepage is shown (that alone makes a day worth reporting).
    ({ context, page } = await openBrowser(profile, [], errors, 0));
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => Number(document.body.dataset.ranked ?? 0) >= 1, null, { timeout: 60_000 });
    assert.equal(await reportOutcome(page), 'none');
    await context.close();
    // Day 2: the leader is unreachable.
    ({ context, page } = await openBrowser(profile, [], errors, DAY_MS + 60_000));
    await context.route(/\/dap\/leader\//, (route) => route.abort('connectionrefused'));
    await page.goto(`${server.url}/`);
    assert.equal(await reportOutcome(page), 'failed');
    await page.waitForFunction(() => Number(document.body.dataset.ranked ?? 0) >= 1);
    assert.equal(await page.locator('#grid .card').count(), 48, 'the homepage renders');
    // The leader is back: the day was marked when taken, so it is lost, never sent twice.
    await context.unroute(/\/dap\/leader\//);
    await page.reload();
    assert.equal(await reportOutcome(page), 'none');
    const after = (await lift()).view;
    assert.equal(after.reports, before.reports, 'nothing arrived');
    // Only the refused connection's own console line, nothing from the page's code.
    assert.deepEqual(errors.filter((e) => !e.includes('ERR_CONNECTION_REFUSED')), []);
  } finally {
    await context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
});
