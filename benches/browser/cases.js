// In-browser benchmark cases. Each case runs inside the page against the real package
// (pkg/, release build) and returns raw per-iteration samples in milliseconds (and, where the loop is
// timed as a whole, `total`, since browsers coarsen performance.now() to 0.1 ms); run.mjs turns
// them into medians and spreads. Add a case here and it is measured the same way as the rest.
import { open } from '/js/index.js';

const now = () => performance.now();

async function freshEngine(options = {}) {
  const database = `localrank-bench-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  return open({ database, ...options });
}

export const cases = {
  /** One record() per iteration, awaited, on IndexedDB: the storefront's per-event cost. */
  async 'record/indexeddb'({ iterations = 1000, dim = 64 } = {}) {
    const engine = await freshEngine();
    const vector = Float32Array.from({ length: dim }, (_, i) => Math.sin(i));
    const samples = [];
    const start = now();
    for (let i = 0; i < iterations; i += 1) {
      const event = { kind: 'view', item: `sku-${i % 300}`, category: `c${i % 7}`, vector };
      const t0 = now();
      await engine.record(event);
      samples.push(now() - t0);
    }
    const total = now() - start;
    await engine.forget();
    await engine.close();
    return { samples, total, params: { iterations, dim, storage: 'indexeddb', maxEvents: 500 } };
  },

  /** The same on the in-memory store: the engine's own share, without IndexedDB. */
  async 'record/memory'({ iterations = 1000, dim = 64 } = {}) {
    const engine = await freshEngine({ storage: 'memory' });
    const vector = Float32Array.from({ length: dim }, (_, i) => Math.sin(i));
    const samples = [];
    const start = now();
    for (let i = 0; i < iterations; i += 1) {
      const t0 = now();
      await engine.record({ kind: 'view', item: `sku-${i % 300}`, vector });
      samples.push(now() - t0);
    }
    const total = now() - start;
    return { samples, total, params: { iterations, dim, storage: 'memory', maxEvents: 500 } };
  },

  /** open() on a database holding a full 500-event history: the page-load cost. */
  async 'open/500-events'({ iterations = 20 } = {}) {
    const database = `localrank-bench-open-${Date.now()}`;
    const seed = await open({ database });
    for (let i = 0; i < 500; i += 1) await seed.record({ kind: 'view', item: `sku-${i}`, vector: [1, 0, 0, 0] });
    await seed.close();
    const samples = [];
    for (let i = 0; i < iterations; i += 1) {
      const t0 = now();
      const engine = await open({ database });
      samples.push(now() - t0);
      await engine.close();
    }
    return { samples, params: { iterations, events: 500 } };
  },
};

window.localrankBench = { cases };
document.body.dataset.ready = 'true';
