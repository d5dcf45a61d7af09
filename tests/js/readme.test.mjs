// The README's usage sample, run as written (bar the bare import, which a bundler resolves)
// in a real browser on real IndexedDB.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { blankPage, session } from './browser.mjs';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const sample = readme.match(/<!-- usage-sample -->\s*```js\n([\s\S]*?)```/)?.[1];

let s;
before(async () => { s = await session(); });
after(async () => { await s?.close(); });

test('the README has a usage sample of about ten lines', () => {
  assert.ok(sample, 'README.md has a ```js block after <!-- usage-sample -->');
  const lines = sample.trim().split('\n').length;
  assert.ok(lines >= 8 && lines <= 16, `sample is ${lines} lines`);
});

test('the README usage sample works in the browser', async () => {
  const { page, logs } = await blankPage(s.browser, s.url);
  const body = sample.replace(/^import \{([^}]*)\} from 'localrank';$/m, "const {$1} = await import('/js/index.js');");
  assert.notEqual(body, sample, 'the sample imports from localrank');
  const result = await page.evaluate(`(async () => {
    ${body}
    return { history, exported: JSON.parse(json), remaining: await engine.history() };
  })()`);
  assert.deepEqual(result.history.map((e) => e.kind), ['view', 'search']);
  assert.equal(result.history[0].item, 'sku-42');
  assert.equal(result.exported.format, 'localrank-history');
  assert.equal(result.exported.events.length, 2);
  assert.deepEqual(result.remaining, [], 'forget() erased everything');
  assert.ok(logs.includes('InvalidEvent item'), `the rejected event is explained; console: ${logs.join(' | ')}`);
});

const rankSample = readme.match(/<!-- rank-sample -->\s*```js\n([\s\S]*?)```/)?.[1];

/**
 * Runs the README's ranking sample in a page whose own "server" answers the pool endpoint with
 * `pool`, as a storefront's would, after one recorded view; returns the tiles it rendered as
 * [id, reason or null].
 */
async function renderedTiles(pool) {
  const { page } = await blankPage(s.browser, s.url);
  await page.route('**/api/pool?context=home', (route) => route.fulfill({ json: pool }));
  return page.evaluate(`(async () => {
    const { open } = await import('/js/index.js');
    const engine = await open({ storage: 'memory' });
    await engine.record({ kind: 'view', item: 'sleeping-bag', vector: [0, 1] });
    const tiles = [];
    const renderTile = (id, reason) => tiles.push([id, reason ?? null]);
    ${rankSample}
    return tiles;
  })()`);
}

test('the README ranking sample works against a pool served over HTTP', async () => {
  assert.ok(rankSample, 'README.md has a ```js block after <!-- rank-sample -->');
  const result = await renderedTiles({
    dim: 2,
    items: [
      { id: 'kettle', vector: [1, 0], score: 3, category: 'kitchen' },
      { id: 'tent', vector: [0, 1], score: 2, category: 'outdoor' },
      { id: 'stove', vector: [0.1, 0.95], score: 1, category: 'outdoor' },
    ],
  });
  assert.deepEqual(result[0], ['tent', 'Because you viewed sleeping-bag']);
  assert.equal(result.length, 3);
});

test('the README ranking sample still shows every tile when ranking falls back to the server order', async () => {
  // A pool the engine must refuse (a vector of the wrong size): the server's order, as sent.
  const result = await renderedTiles({
    dim: 2,
    items: [
      { id: 'kettle', vector: [1, 0], score: 3 },
      { id: 'tent', vector: [0, 1, 0], score: 2 },
      { id: 'stove', vector: [0.1, 0.95], score: 1 },
    ],
  });
  assert.deepEqual(result, [['kettle', null], ['tent', null], ['stove', null]]);
});
