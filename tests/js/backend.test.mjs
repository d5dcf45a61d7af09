// Backend detection in a real browser: WebGPU when Chromium offers an adapter, the CPU (with
// the reason) when it does not. wasm-pack's browser tests cover the first case too; the second
// needs a browser started without the WebGPU flag, which only this harness controls.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { blankPage, session } from './browser.mjs';

const detect = (page) => page.evaluate(async () => (await import('/js/index.js')).detectBackend());

let withGpu, withoutGpu;
before(async () => {
  withGpu = await session({ webgpu: true });
  withoutGpu = await session({ webgpu: false });
});
after(async () => {
  await withGpu?.close();
  await withoutGpu?.close();
});

test('reports WebGPU and the adapter when Chromium exposes one', async () => {
  const { page } = await blankPage(withGpu.browser, withGpu.url);
  const info = await detect(page);
  console.log('  adapter:', JSON.stringify(info));
  assert.equal(info.backend, 'webgpu');
  assert.equal(typeof info.adapter.isFallbackAdapter, 'boolean');
});

test('reports the CPU, with the reason, when there is no adapter', async () => {
  const { page } = await blankPage(withoutGpu.browser, withoutGpu.url);
  const info = await detect(page);
  assert.equal(info.backend, 'cpu');
  assert.equal(info.adapter, undefined);
  assert.match(info.reason, /WebGPU|adapter/);
  const status = await page.evaluate(async () => {
    const engine = await (await import('/js/index.js')).open({ storage: 'memory' });
    return engine.status();
  });
  assert.equal(status.backend.backend, 'cpu', 'the engine status agrees');
});

/** Records the same history and ranks the same pool in the page; returns the ranking. */
async function rankInPage(page) {
  return page.evaluate(async () => {
    const { open } = await import('/js/index.js');
    const engine = await open({ storage: 'memory' });
    const items = [];
    for (let i = 0; i < 60; i += 1) {
      const vector = Array.from({ length: 16 }, (_, d) => Math.sin(i * 0.7 + d * 1.3));
      items.push({ id: `sku-${i}`, vector, score: 60 - i, category: `c${i % 5}` });
    }
    const pool = { dim: 16, items };
    await engine.rank(pool);
    for (const id of ['sku-3', 'sku-17', 'sku-31', 'sku-8']) await engine.record({ kind: 'view', item: id });
    await engine.record({ kind: 'cart', item: 'sku-17' });
    return engine.rank(pool);
  });
}

test('rank() gives the same order with WebGPU on and off', async () => {
  const on = await rankInPage((await blankPage(withGpu.browser, withGpu.url)).page);
  const off = await rankInPage((await blankPage(withoutGpu.browser, withoutGpu.url)).page);
  assert.equal(on.personalized, true, on.reason);
  assert.equal(off.personalized, true, off.reason);
  assert.deepEqual(on.order, off.order);
  assert.notDeepEqual(on.order, Array.from({ length: 60 }, (_, i) => `sku-${i}`), 'the order was personalized');
});

test('Chromium loads the SIMD128 build of the engine', async () => {
  const page = await withGpu.browser.newPage();
  const wasm = [];
  page.on('request', (request) => { if (request.url().endsWith('.wasm')) wasm.push(new URL(request.url()).pathname); });
  await page.goto(`${withGpu.url}/tests/js/pages/blank.html`);
  await page.evaluate(async () => (await import('/js/index.js')).version());
  assert.deepEqual(wasm, ['/pkg/localrank_simd_bg.wasm']);
});

test('the WebGPU module is fetched only when the engine first uses WebGPU; a failed fetch leaves the CPU, with the reason', async () => {
  const page = await withGpu.browser.newPage();
  const wasm = [];
  page.on('request', (request) => { if (request.url().endsWith('.wasm')) wasm.push(new URL(request.url()).pathname); });
  let failures = 1;
  await page.route('**/localrank_gpu_bg.wasm', (route) => (failures-- > 0 ? route.abort() : route.continue()));
  await page.goto(`${withGpu.url}/tests/js/pages/blank.html`);
  const ranked = await page.evaluate(async () => {
    const { open } = await import('/js/index.js');
    const { randomModel } = await import('/benches/browser/cases.js');
    const engine = await open({ storage: 'memory' });
    const items = Array.from({ length: 40 }, (_, i) => ({ id: `sku-${i}`, vector: Array.from({ length: 16 }, (_, d) => Math.cos(i * 0.9 + d)), score: 40 - i }));
    window.fixture = { engine, pool: { dim: 16, items }, model: () => randomModel({ dim: 16, heads: 2, blocks: 1, maxLen: 8, ffnDim: 32 }) };
    const { bytes, config } = window.fixture.model();
    await engine.loadModel(bytes, config, { cache: false });
    for (const id of ['sku-4', 'sku-9', 'sku-22']) await engine.record({ kind: 'view', item: id });
    return engine.rank(window.fixture.pool); // backend auto, no warm-up: the CPU
  });
  assert.equal(ranked.intent, 'model', ranked.reason);
  assert.equal(ranked.backend, 'cpu');
  assert.deepEqual(wasm, ['/pkg/localrank_simd_bg.wasm'], 'ranking on the CPU fetched no WebGPU module');

  const failed = await page.evaluate(() => window.fixture.engine.warmup());
  assert.equal(failed.backend, 'cpu');
  assert.match(failed.reason, /could not load localrank's WebGPU module \(pkg\/localrank_gpu_bg\.wasm\)/);
  const still = await page.evaluate(() => window.fixture.engine.rank(window.fixture.pool, { backend: 'webgpu' }));
  assert.equal(still.backend, 'cpu', 'the model keeps ranking, on the CPU');
  assert.deepEqual(still.order, ranked.order);

  // The next model tries again, and the module loads this time.
  const warm = await page.evaluate(async () => {
    const { bytes, config } = window.fixture.model();
    await window.fixture.engine.loadModel(bytes, config, { cache: false });
    return window.fixture.engine.warmup();
  });
  assert.equal(warm.backend, 'webgpu', warm.reason);
  const gpu = await page.evaluate(() => window.fixture.engine.rank(window.fixture.pool, { backend: 'webgpu' }));
  assert.equal(gpu.backend, 'webgpu', gpu.backendReason);
  assert.equal(gpu.intent, 'model');
  // The same items; not necessarily the same order: WebGPU equals the CPU within 1e-4
  // (browser_runtime.rs), and this pool's periodic vectors have near-ties that such a
  // difference may swap.
  assert.deepEqual([...gpu.order].sort(), [...ranked.order].sort());
  assert.deepEqual(wasm, ['/pkg/localrank_simd_bg.wasm', '/pkg/localrank_gpu_bg.wasm', '/pkg/localrank_gpu_bg.wasm']);
});

/**
 * Records 30 events one by one, ranking after each with a model whose widths leave scalar
 * edges (dim 20: 8-column tiles plus 4 columns), so the model runs full passes and incremental
 * ones (one or two new rows per block); returns every ranking's items with their scores.
 */
async function modelRankingsInPage(page, wasm) {
  return page.evaluate(async (wasm) => {
    const { load, open } = await import('/js/index.js');
    const { randomModel } = await import('/benches/browser/cases.js');
    await load(wasm);
    const engine = await open({ storage: 'memory' });
    const { bytes, config } = randomModel({ dim: 20, heads: 2, blocks: 2, maxLen: 12, ffnDim: 44, seed: 5 });
    await engine.loadModel(bytes, config, { cache: false });
    const items = Array.from({ length: 50 }, (_, i) => ({ id: `sku-${i}`, vector: Array.from({ length: 20 }, (_, d) => Math.sin(i * 1.3 + d * 0.7)), score: 50 - i }));
    const pool = { dim: 20, items };
    await engine.rank(pool, { backend: 'cpu' });
    const rankings = [];
    // Two days ago, 90 s apart: the newest event's gap to the ranking's clock stays in one
    // time-gap bucket (1 to 3 days) in both pages, whatever the milliseconds between them.
    const start = Date.now() - 2 * 86_400_000;
    for (let k = 0; k < 30; k += 1) {
      await engine.record({ kind: k % 4 === 0 ? 'cart' : 'view', item: `sku-${(k * 17) % 50}`, timestamp: start + k * 90_000 });
      const ranking = await engine.rank(pool, { backend: 'cpu' });
      if (ranking.intent !== 'model') throw new Error(`the model did not run: ${ranking.reason}`);
      rankings.push(ranking.items.map((item) => [item.id, item.score, item.parts.intent]));
    }
    return rankings;
  }, wasm);
}

test('the SIMD128 and scalar builds rank bit-identically with a model, on full and incremental passes', async () => {
  const simd = await modelRankingsInPage((await blankPage(withoutGpu.browser, withoutGpu.url)).page, '/pkg/localrank_simd_bg.wasm');
  const scalar = await modelRankingsInPage((await blankPage(withoutGpu.browser, withoutGpu.url)).page, '/pkg/localrank_bg.wasm');
  assert.equal(simd.length, 30);
  assert.ok(simd.some((ranking, k) => k > 0 && ranking[0][2] !== simd[k - 1][0][2]), 'the intent moved as events arrived');
  assert.deepEqual(simd, scalar);
});
