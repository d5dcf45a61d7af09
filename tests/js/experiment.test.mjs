// A lift experiment in the browser (docs/measurement.md): the arm is drawn once per browser
// and kept in IndexedDB, the control arm gets the server's order with a reason, and bad
// experiment options are rejected naming the field. The day's tally and its report are tested
// natively (core/src/measure/tally.rs, core/tests/history.rs).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { blankPage, session } from './browser.mjs';

let s;
before(async () => {
  s = await session({ webgpu: false });
});
after(async () => {
  await s?.close();
});

const POOL = `
  const items = [];
  for (let i = 0; i < 30; i += 1) {
    items.push({ id: 'sku-' + i, vector: Array.from({ length: 8 }, (_, d) => Math.cos(i * 0.9 + d)), score: 30 - i });
  }
  const pool = { dim: 8, items };
`;

test('the control arm shows the server order, with the reason; the personalized arm ranks', async () => {
  const { page, logs } = await blankPage(s.browser, s.url);
  const result = await page.evaluate(new Function(`return (async () => {
    const { open } = await import('/js/index.js');
    ${POOL}
    const out = {};
    for (const [name, split] of [['control', 0], ['personalized', 1]]) {
      const engine = await open({ database: 'exp-' + name, experiment: { id: 'home-' + name, split } });
      await engine.rank(pool);
      await engine.record({ kind: 'click', item: 'sku-25' });
      await engine.record({ kind: 'purchase', item: 'sku-25' });
      const ranking = await engine.rank(pool);
      out[name] = { status: (await engine.status()).experiment, personalized: ranking.personalized, reason: ranking.reason, first: ranking.order.slice(0, 3) };
      await engine.forget();
      out[name].afterForget = (await engine.status()).experiment ?? null;
    }
    return out;
  })()`));
  assert.deepEqual(result.control.status, { id: 'home-control', arm: 'control' });
  assert.equal(result.control.personalized, false);
  assert.match(result.control.reason, /experiment "home-control": this browser is in the control arm/);
  assert.deepEqual(result.control.first, ['sku-0', 'sku-1', 'sku-2'], 'the server order, history notwithstanding');
  assert.deepEqual(result.personalized.status, { id: 'home-personalized', arm: 'personalized' });
  assert.equal(result.personalized.personalized, true);
  assert.equal(result.control.afterForget, null, 'erasing the history forgets the experiment too');
  assert.deepEqual(logs.filter((l) => l.startsWith('pageerror')), []);
});

test('a browser keeps its arm across visits (the coin is stored), and a new experiment draws again', async () => {
  const { page } = await blankPage(s.browser, s.url);
  const arms = await page.evaluate(new Function(`return (async () => {
    const { open } = await import('/js/index.js');
    const arms = [];
    for (let visit = 0; visit < 6; visit += 1) {
      const engine = await open({ database: 'exp-keep', experiment: { id: 'home-keep' } });
      arms.push((await engine.status()).experiment.arm);
      await engine.close?.();
    }
    // Many fresh browsers (databases): both arms occur.
    const fresh = new Set();
    for (let b = 0; b < 24; b += 1) {
      const engine = await open({ database: 'exp-fresh-' + b, experiment: { id: 'home-keep' } });
      fresh.add((await engine.status()).experiment.arm);
    }
    return { arms, fresh: [...fresh].sort() };
  })()`));
  assert.equal(new Set(arms.arms).size, 1, `one arm on every visit: ${arms.arms}`);
  assert.deepEqual(arms.fresh, ['control', 'personalized'], 'a fair coin over 24 browsers gives both arms');
});

test('bad experiment options are rejected, naming the field', async () => {
  const { page } = await blankPage(s.browser, s.url);
  const errors = await page.evaluate(new Function(`return (async () => {
    const { open } = await import('/js/index.js');
    const out = [];
    for (const experiment of [{ id: '' }, { id: 'x', split: 2 }, { split: 0.5 }]) {
      try {
        await open({ storage: 'memory', experiment });
        out.push('opened');
      } catch (error) {
        out.push(error.code + ' ' + error.field);
      }
    }
    return out;
  })()`));
  assert.deepEqual(errors.slice(0, 2), ['InvalidOptions experiment.id', 'InvalidOptions experiment.split']);
  assert.match(errors[2], /^InvalidOptions/);
});
