// The engine status page (/status.html, the demo site's second page, built by Vite with the
// storefront): it opens the engine in the page from the package's main entry point
// (`import { open } from 'localrank'`), shows the engine's status, records and erases
// history, and talks to nothing but its own origin.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch } from '../js/browser.mjs';
import { writeFixture } from './fixture.mjs';
import { startServer } from './server.mjs';

let server;
let browser;
let fixtureDir;
before(async () => {
  fixtureDir = mkdtempSync(join(tmpdir(), 'localrank-e2e-status-'));
  const fixture = writeFixture(join(fixtureDir, 'model'));
  server = await startServer({ modelDir: fixture.dir, catalogue: fixture.catalogue });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  if (server) assert.equal(await server.stop(), 0);
  if (fixtureDir) rmSync(fixtureDir, { recursive: true, force: true });
});

test('the status page shows version, backend and events, and history persists', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests = [];
  page.on('request', (request) => requests.push(request.url()));
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));

  await page.goto(`${server.url}/status.html`);
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
  const foreign = requests.filter((url) => !url.startsWith(server.url));
  assert.deepEqual(foreign, [], 'no request leaves the page’s own origin');
  const paths = requests.map((url) => new URL(url).pathname);
  assert.ok(paths.some((p) => /^\/assets\/status-[\w-]{8}\.js$/.test(p)), `the page's bundle: ${paths.join(' ')}`);
  assert.ok(paths.some((p) => /^\/assets\/localrank_simd_bg-[\w-]{8}\.wasm$/.test(p)), `the wasm from the build: ${paths.join(' ')}`);
  await context.close();
});
