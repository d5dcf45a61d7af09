// The engine status page (www/status.html; the storefront at / needs the candidate service and
// is tested in tests/e2e/): it loads the wasm from the package, shows the engine's status,
// records and erases history, and talks to nothing but its own origin.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { session } from './browser.mjs';

let s;
before(async () => { s = await session(); });
after(async () => { await s?.close(); });

test('the status page shows version, backend and events, and history persists', async () => {
  const context = await s.browser.newContext();
  const page = await context.newPage();
  const requests = [];
  page.on('request', (request) => requests.push(request.url()));
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));

  await page.goto(`${s.url}/www/status.html`);
  await page.waitForSelector('body[data-ready="true"]');
  const field = (name) => page.textContent(`[data-field="${name}"]`);
  assert.match(await field('version'), /^\d+\.\d+\.\d+$/);
  assert.match(await field('backend'), /^WebGPU/);
  assert.match(await field('storage'), /IndexedDB/);
  assert.equal(await field('events'), '0');

  await page.click('#record');
  await page.waitForFunction(() => document.querySelector('[data-field="events"]').textContent === '1');
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await field('events'), '1', 'the event survived a reload');
  assert.equal(await page.locator('#history li').count(), 1);

  mkdirSync('test-results', { recursive: true });
  await page.screenshot({ path: 'test-results/status-page.png', fullPage: true });

  await page.click('#forget');
  await page.waitForFunction(() => document.querySelector('[data-field="events"]').textContent === '0');

  assert.deepEqual(errors, []);
  const foreign = requests.filter((url) => !url.startsWith(s.url));
  assert.deepEqual(foreign, [], 'no request leaves the page’s own origin');
  await context.close();
});
