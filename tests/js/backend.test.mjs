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
