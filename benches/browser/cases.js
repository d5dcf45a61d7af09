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


/** A deterministic pseudo-random generator (mulberry32), so every run ranks the same data. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A server pool of `n` items with `dim`-dimensional vectors, as JSON arrays or one matrix. */
function makePool(n, dim, { matrix = false, seed = 7 } = {}) {
  const random = rng(seed);
  const vectors = new Float32Array(n * dim).map(() => random() * 2 - 1);
  const items = Array.from({ length: n }, (_, i) => ({
    id: `sku-${i}`,
    score: n - i,
    category: `c${i % 12}`,
    ...(matrix ? {} : { vector: Array.from(vectors.subarray(i * dim, (i + 1) * dim)) }),
  }));
  return matrix ? { dim, items, vectors } : { dim, items };
}

/** An engine whose history holds `events` views of items from `pool`. */
async function engineWithHistory(pool, events, options = {}) {
  const engine = await freshEngine(options);
  await engine.rank(pool); // the engine learns the pool's vectors, as on a real homepage
  const random = rng(11);
  for (let i = 0; i < events; i += 1) {
    const item = pool.items[Math.floor(random() * pool.items.length)].id;
    await engine.record({ kind: i % 10 === 0 ? 'cart' : 'view', item });
  }
  return engine;
}

async function timeRank(engine, pool, iterations) {
  await engine.rank(pool); // warm-up
  const samples = [];
  const start = now();
  for (let i = 0; i < iterations; i += 1) {
    const t0 = now();
    const result = await engine.rank(pool);
    samples.push(now() - t0);
    if (!result.personalized) throw new Error(`not personalized: ${result.reason}`);
  }
  return { samples, total: now() - start };
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

  /** rank(): 500-item pool (JSON number arrays), 64-dim, 200 stored events, no model. */
  async 'rank/500x64/200-events/json'({ iterations = 100 } = {}) {
    const pool = makePool(500, 64);
    const engine = await engineWithHistory(pool, 200);
    const { samples, total } = await timeRank(engine, pool, iterations);
    await engine.forget();
    return { samples, total, params: { pool: 500, dim: 64, events: 200, vectors: 'json', model: 'none (history mean)' } };
  },

  /** The same pool handed over as one Float32Array matrix. */
  async 'rank/500x64/200-events/matrix'({ iterations = 100 } = {}) {
    const pool = makePool(500, 64, { matrix: true });
    const engine = await engineWithHistory(pool, 200);
    const { samples, total } = await timeRank(engine, pool, iterations);
    await engine.forget();
    return { samples, total, params: { pool: 500, dim: 64, events: 200, vectors: 'matrix', model: 'none (history mean)' } };
  },

  /** A 10,000-item pool (matrix), 64-dim, 200 events, CPU. */
  async 'rank/10000x64/200-events/matrix'({ iterations = 20 } = {}) {
    const pool = makePool(10000, 64, { matrix: true });
    const engine = await engineWithHistory(pool, 200);
    const { samples, total } = await timeRank(engine, pool, iterations);
    await engine.forget();
    return { samples, total, params: { pool: 10000, dim: 64, events: 200, vectors: 'matrix', model: 'none (history mean)' } };
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
