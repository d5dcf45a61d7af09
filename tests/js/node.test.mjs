// The package imported in plain Node.js — what a server render (Next.js, Remix, …) does when a
// page imports localrank. Importing must work; opening must reject with a LocalRankError of
// code `Unsupported` that says the engine runs in the browser, before any attempt to fetch
// the .wasm (which used to fail with a bare `TypeError: fetch failed`).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { createElement as h } from 'react';
import { renderToString } from 'react-dom/server';
import * as localrank from '../../js/index.js';
import { openInWorker } from '../../js/worker.js';
import { useLocalRank, useRankedPool } from '../../js/react.js';

const fetches = [];
let realFetch;
before(() => {
  realFetch = globalThis.fetch;
  globalThis.fetch = (...args) => {
    fetches.push(String(args[0]));
    return realFetch(...args);
  };
});
after(() => { globalThis.fetch = realFetch; });

async function unsupported(promise, label) {
  const error = await promise.then(() => assert.fail(`${label} resolved in Node`), (e) => e);
  assert.ok(error instanceof Error, `${label}: an Error`);
  assert.equal(error.name, 'LocalRankError', `${label}: name`);
  assert.equal(error.code, 'Unsupported', `${label}: code — ${error.message}`);
  return error;
}

test('open() in Node rejects with Unsupported, saying the engine runs in the browser', async () => {
  const error = await unsupported(localrank.open({ maxEvents: 10 }), 'open()');
  assert.match(error.message, /runs in the shopper's browser \(a page or a Web Worker\)/);
  assert.ok(error.message.includes(`Node.js ${process.version}`), error.message);
  assert.match(error.message, /useEffect/, 'says where to open it instead');
  assert.deepEqual(fetches, [], 'no attempt to fetch the .wasm');
});

test('every entry point says the same: load, version, detectBackend, eventKinds, openInWorker', async () => {
  for (const [label, call] of [
    ['load()', () => localrank.load()],
    ['load(bytes)', () => localrank.load(new Uint8Array(8))],
    ['version()', () => localrank.version()],
    ['detectBackend()', () => localrank.detectBackend()],
    ['eventKinds()', () => localrank.eventKinds()],
    ['openInWorker()', () => openInWorker({})],
  ]) {
    await unsupported(call(), label);
  }
  assert.deepEqual(fetches, []);
});

test('without WebAssembly (node --no-expose-wasm) the reason is WebAssembly', () => {
  const index = new URL('../../js/index.js', import.meta.url).href;
  const script = `const { open } = await import(${JSON.stringify(index)});
    const e = await open().then(() => ({}), (e) => e);
    console.log(JSON.stringify({ wasm: typeof WebAssembly, name: e.name, code: e.code, message: e.message }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['--no-expose-wasm', '--input-type=module', '-e', script], { encoding: 'utf8' }));
  assert.equal(out.wasm, 'undefined', 'the flag removed WebAssembly');
  assert.equal(out.name, 'LocalRankError');
  assert.equal(out.code, 'Unsupported');
  assert.match(out.message, /needs WebAssembly/);
});

test('localrank/react renders the server order on the server, without opening the engine', () => {
  const pool = { dim: 2, items: [{ id: 'a', vector: [1, 0] }, { id: 'b', vector: [0, 1] }, { id: 'c', vector: [1, 1] }] };
  function Shelf() {
    const { engine, error } = useLocalRank({ maxEvents: 10 });
    const { items, personalized, ranking } = useRankedPool(engine, pool);
    return h('ol', { 'data-personalized': String(personalized), 'data-engine': String(engine), 'data-error': String(error), 'data-ranking': String(ranking) },
      items.map((item) => h('li', { key: item.id }, item.id)));
  }
  const html = renderToString(h(Shelf));
  assert.equal(html, '<ol data-personalized="false" data-engine="null" data-error="null" data-ranking="null"><li>a</li><li>b</li><li>c</li></ol>');
  assert.deepEqual(fetches, []);
});
