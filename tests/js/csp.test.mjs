// The package under a strict Content Security Policy: `script-src 'self' 'wasm-unsafe-eval'`,
// no 'unsafe-eval', in the page and in the worker.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { session } from './browser.mjs';

let s;
before(async () => { s = await session(); });
after(async () => { await s?.close(); });

test('works under script-src self + wasm-unsafe-eval, page and worker', async () => {
  const page = await s.browser.newPage();
  const console = [];
  page.on('console', (message) => console.push(message.text()));
  await page.goto(`${s.url}/tests/js/pages/csp.html`);
  await page.waitForFunction(() => document.body.dataset.done === 'true');
  const outcome = JSON.parse(await page.textContent('#result'));
  assert.equal(outcome.error, undefined, `${outcome.error} | console: ${console.join(' | ')}`);
  assert.deepEqual(outcome.page, ['b', 'a']);
  assert.deepEqual(outcome.worker, ['b', 'a']);
  assert.deepEqual(outcome.violations, []);
  assert.equal(outcome.evalRefused, true, 'the policy is in force: eval is refused on that page');
});
