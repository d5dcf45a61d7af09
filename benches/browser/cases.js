// In-browser benchmark cases. Each case runs inside the page against the real package
// (pkg/, release build) and returns raw per-iteration samples in milliseconds (and, where the loop is
// timed as a whole, `total`, since browsers coarsen performance.now() to 0.1 ms); run.mjs turns
// them into medians and spreads. Add a case here and it is measured the same way as the rest.
import { load, open } from '/js/index.js';
import * as raw from '/pkg/localrank.js';

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


// ---- model runtime cases (issue 3) -------------------------------------------------------
// A seeded random model in the export format (model.json + model.safetensors, f32), built
// here so the benchmark needs no files. f16/int8 files are widened to f32 at load time, so the
// forward pass costs the same for every precision; only load time differs.
// `text`: a text tower too (model.json `text`, format version 3), e.g. the trainer's default
// `{ buckets: 16384, min_n: 3, max_n: 4, dim: 32 }`.
export function randomModel({ dim = 64, heads = 2, blocks = 2, maxLen = 50, ffnDim = 256, seed = 1, text } = {}) {
  const kinds = ['view', 'click', 'cart', 'purchase', 'favorite', 'search'];
  const boundaries = [1, 60, 600, 3600, 21600, 86400, 259200, 604800, 2592000, 7776000];
  const config = JSON.stringify({
    format: 'localrank-intent-encoder', version: text ? 3 : 2, dtype: 'f32', dim, heads, blocks, max_len: maxLen, ffn_dim: ffnDim,
    layer_norm_eps: 1e-5, activation: 'gelu_tanh', temperature: 0.05, event_kinds: kinds,
    time_gap_boundaries_seconds: boundaries, num_items: 0, positions: 'from_start', ...(text ? { text } : {}),
  });
  const tensors = [['kind_embedding', [kinds.length, dim]], ['gap_embedding', [boundaries.length + 1, dim]], ['position_embedding', [maxLen, dim]]];
  for (let b = 0; b < blocks; b += 1) {
    for (const ln of ['ln1', 'ln2']) tensors.push([`blocks.${b}.${ln}.gamma`, [dim]], [`blocks.${b}.${ln}.beta`, [dim]]);
    for (const m of ['q', 'k', 'v', 'o']) tensors.push([`blocks.${b}.attn.${m}.weight`, [dim, dim]], [`blocks.${b}.attn.${m}.bias`, [dim]]);
    tensors.push([`blocks.${b}.ffn.up.weight`, [dim, ffnDim]], [`blocks.${b}.ffn.up.bias`, [ffnDim]]);
    tensors.push([`blocks.${b}.ffn.down.weight`, [ffnDim, dim]], [`blocks.${b}.ffn.down.bias`, [dim]]);
  }
  tensors.push(['ln_final.gamma', [dim]], ['ln_final.beta', [dim]]);
  if (text) tensors.push(['text.embedding', [text.buckets, text.dim]], ['text.proj.weight', [text.dim, dim]], ['text.proj.bias', [dim]]);
  let state = seed >>> 0;
  const rand = () => { state = (Math.imul(state, 1664525) + 1013904223) >>> 0; return state / 2 ** 32 * 2 - 1; };
  const header = {};
  let offset = 0;
  const datas = tensors.map(([name, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const scale = name.endsWith('.gamma') ? 0 : shape.length === 2 && !name.includes('embedding') ? 1 / Math.sqrt(shape[0]) : 0.5;
    const data = Float32Array.from({ length: n }, () => (name.endsWith('.gamma') ? 1 + 0.5 * rand() : rand() * scale));
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
    return data;
  });
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(32);
  padded.set(json);
  json = padded;
  const bytes = new Uint8Array(8 + json.length + offset);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  let at = 8 + json.length;
  for (const d of datas) { bytes.set(new Uint8Array(d.buffer), at); at += d.byteLength; }
  return { bytes, config };
}

// The raw wasm Engine (same module instance js/index.js loads): the model methods are on it
// even where the npm wrapper does not forward them yet.
async function rawEngine() {
  await load();
  return raw.open({ storage: 'memory', database: `localrank-bench-${Date.now()}-${Math.random().toString(36).slice(2)}` });
}

async function modelEngine(shape) {
  const engine = await rawEngine();
  const { bytes, config } = randomModel(shape);
  await engine.loadModel(bytes, config, { cache: false });
  return engine;
}

/** The trainer's default text tower (model/src/auto.rs: TextHashing::default(), TEXT_DIM 32). */
const TEXT_TOWER = { buckets: 16384, min_n: 3, max_n: 4, dim: 32 };

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round1 = (x) => Math.round(x * 10) / 10;

/** Reads a safetensors file's first tensor as f32 (the exported item table is f32). */
function firstTensorF32(buffer) {
  const view = new DataView(buffer);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, headerLength)));
  const [name, info] = Object.entries(header).find(([key]) => key !== '__metadata__');
  if (info.dtype !== 'F32') throw new Error(`${name} is ${info.dtype}; export the item table in f32 for this benchmark`);
  const [start, end] = info.data_offsets;
  return { shape: info.shape, data: new Float32Array(buffer.slice(8 + headerLength + start, 8 + headerLength + end)) };
}

/**
 * The trained Complete Journey model and a pool of its real item vectors, from the local
 * artifacts (`localrank train` / `export`; served by scripts/serve.mjs under /artifacts/).
 */
async function realModelPool(n) {
  const base = '/artifacts/complete-journey';
  const [weights, config, items, ids] = await Promise.all([
    fetch(`${base}/model.safetensors`).then((r) => r.arrayBuffer()),
    fetch(`${base}/model.json`).then((r) => r.text()),
    fetch(`${base}/items.safetensors`).then((r) => r.arrayBuffer()),
    fetch(`${base}/items.json`).then((r) => r.json()),
  ]);
  const table = firstTensorF32(items);
  const dim = table.shape[1];
  const count = Math.min(n, table.shape[0]);
  const pool = {
    dim,
    items: ids.ids.slice(0, count).map((id, i) => ({ id, score: count - i, category: `c${i % 12}` })),
    vectors: table.data.slice(0, count * dim),
  };
  return { weights: new Uint8Array(weights), config, pool };
}

async function modelRankCase(n, backend, iterations) {
  const { weights, config, pool } = await realModelPool(n);
  const engine = await engineWithHistory(pool, 200);
  return timeModelRank(engine, weights, config, pool, backend, iterations);
}

async function timeModelRank(engine, weights, config, pool, backend, iterations, options = {}) {
  await engine.loadModel(weights, config, { cache: false });
  if (backend !== 'cpu') await engine.warmup();
  const samples = [];
  const backends = new Set();
  await engine.rank(pool, { backend, ...options });
  const start = now();
  for (let i = 0; i < iterations; i += 1) {
    const t0 = now();
    const result = await engine.rank(pool, { backend, ...options });
    samples.push(now() - t0);
    if (result.intent !== 'model') throw new Error(`the model did not run: ${result.reason ?? result.intent}`);
    backends.add(result.backend);
  }
  const total = now() - start;
  await engine.forget();
  return { samples, total, params: { pool: pool.items.length, dim: pool.dim, events: 200, model: 'complete-journey (trained)', requested: backend, ran: [...backends].join('+') } };
}

/**
 * The engine's learned repeat scorer's feature names (core/src/rank/repeat_learned.rs
 * `REPEAT_FEATURES`). Listed here only to build a bench model: a model may list the engine's
 * first names (an older scorer), so the cases below take the first `features` of them; names
 * the engine does not have make loadModel refuse the model (`repeat_scorer.features`) and the
 * case fail instead of timing the rule.
 */
const REPEAT_FEATURES = [
  'trips_log', 'rebuy_rate', 'purchases_log', 'decayed_7d_log', 'decayed_30d_log', 'decayed_90d_log', 'decayed_365d_log',
  'days_since_log', 'due', 'due_log_ratio', 'trip_share', 'in_last_trip', 'last_5_trips_share', 'usual_days_log',
  'trips_since_log', 'due_trips_log_ratio', 'in_second_last_trip', 'last_trip_days_log', 'category_trip_share',
  'category_item_share', 'category_switched',
];

/**
 * model.json text with a learned repeat scorer of `hidden` units over the first `features`
 * names (deterministic weights). The trainer's default since 2026-12-03: 32 units, all 21.
 */
function withLearnedRepeat(config, hidden = 32, features = REPEAT_FEATURES.length) {
  const random = rng(29);
  const n = features;
  const row = () => Array.from({ length: n }, () => random() - 0.5);
  const json = JSON.parse(config);
  json.repeat_scorer = {
    features: REPEAT_FEATURES.slice(0, n),
    mean: new Array(n).fill(0),
    scale: new Array(n).fill(1),
    hidden: Array.from({ length: hidden }, row).flat(),
    hidden_bias: Array.from({ length: hidden }, () => random() - 0.5),
    output: Array.from({ length: hidden }, () => random() - 0.5),
    linear: row(),
    bias: -1,
  };
  return JSON.stringify(json);
}

async function groceryCase(iterations, options, { learned = null } = {}) {
  const real = await realModelPool(500);
  const { weights, pool } = real;
  const config = learned ? withLearnedRepeat(real.config, learned.hidden, learned.features) : real.config;
  for (const item of pool.items) item.repeat = true;
  const engine = await freshEngine();
  await engine.rank(pool);
  const random = rng(13);
  const day = 86_400_000;
  // 85 days: inside the default 90-day retention window, with room for the clock to move.
  const start = Date.now() - 85 * day;
  for (let i = 0; i < 200; i += 1) {
    const staple = i % 4 === 3;
    const item = pool.items[Math.floor(random() * (staple ? 40 : pool.items.length))].id;
    await engine.record({ kind: staple ? 'purchase' : 'view', item, timestamp: start + (i / 200) * 85 * day });
  }
  const result = await timeModelRank(engine, weights, config, pool, 'cpu', iterations, options);
  result.params.history = '200 events over 85 days, 50 purchases of 40 staples; every item repeat';
  result.params.repeat = learned ? `learned scorer (${learned.hidden} hidden units, ${learned.features} features)` : 'rule';
  result.params.options = JSON.stringify(options);
  return result;
}

/**
 * An `HpkeConfigList` holding one X25519 / HKDF-SHA256 / AES-128-GCM config whose public key
 * is a fixed valid point (nobody holds its private key: the bench only seals).
 */
function benchConfigList(id, fill) {
  const list = new Uint8Array(2 + 9 + 32);
  list.set([0, 41, id, 0, 0x20, 0, 1, 0, 1, 0, 32]);
  list.fill(fill, 11);
  list[11] = 9;
  return list;
}

async function takeReportCase(iterations, storage) {
  const realNow = Date.now;
  let clock = Date.UTC(2026, 11, 1, 10);
  Date.now = () => clock;
  try {
    const dap = { taskId: 'A'.repeat(43), timePrecision: 86400, leaderConfig: benchConfigList(1, 1), helperConfig: benchConfigList(2, 2) };
    const engine = await freshEngine({ storage, experiment: { id: 'bench', split: 1, dap } });
    const pool = makePool(50, 8);
    const samples = [];
    let total = 0;
    let firstCallMs;
    for (let i = 0; i <= iterations; i += 1) {
      await engine.rank(pool);
      clock += 86_400_000;
      const t0 = now();
      const upload = await engine.takeReport();
      const elapsed = now() - t0;
      if (upload?.body?.length !== 1478) throw new Error(`takeReport() gave ${upload}`);
      if (i > 0) {
        samples.push(elapsed);
        total += elapsed;
      } else {
        // The warm-up, reported on its own: it downloads and compiles the report module.
        firstCallMs = Math.round(elapsed * 10) / 10;
      }
    }
    await engine.forget();
    await engine.close();
    return { samples, total, params: { iterations, storage, bytes: 1478, firstCallMs } };
  } finally {
    Date.now = realNow;
  }
}

export const cases = {
  /**
   * takeReport() for a finished day, on IndexedDB: check the day is due, shard the day with
   * Prio3Histogram and HPKE-seal both shares (the report module, loaded by the warm-up call:
   * `params.firstCallMs`), check and save the mark in one transaction, hand back the upload. The clock
   * (Date.now, which the engine reads) moves a day per iteration; the ranking that makes
   * the day reportable is outside the timed part.
   */
  async 'experiment/take-report'({ iterations = 50 } = {}) { return takeReportCase(iterations, 'indexeddb'); },
  /** The same on the in-memory store: sharding and sealing without IndexedDB's two transactions. */
  async 'experiment/take-report/memory'({ iterations = 50 } = {}) { return takeReportCase(iterations, 'memory'); },

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

  /** rank() with the trained model (d=64, 2 blocks; its window of the 200 events: the last 50, or 26..50 for a from_start model): the homepage case. */
  async 'rank-model/500/cpu'({ iterations = 100 } = {}) { return modelRankCase(500, 'cpu', iterations); },
  async 'rank-model/500/auto'({ iterations = 100 } = {}) { return modelRankCase(500, 'auto', iterations); },
  async 'rank-model/10000/cpu'({ iterations = 20 } = {}) { return modelRankCase(10000, 'cpu', iterations); },
  async 'rank-model/10000/webgpu'({ iterations = 20 } = {}) { return modelRankCase(10000, 'webgpu', iterations); },
  async 'rank-model/10000/auto'({ iterations = 20 } = {}) { return modelRankCase(10000, 'auto', iterations); },

  /**
   * A grocery homepage: the same ranking with every pool item a `repeat` staple and a history
   * spread over 85 days whose every fourth event buys one of 40 staples, so the repeat part
   * (whole-history purchase profile, due-ness, rhythm explanations) runs on every call.
   */
  async 'rank-model/500/cpu/grocery'({ iterations = 100 } = {}) { return groceryCase(iterations, {}); },

  /** The same with the repeat part's weight at 0 (not computed): the part's cost is the difference. */
  async 'rank-model/500/cpu/grocery/repeat-off'({ iterations = 100 } = {}) { return groceryCase(iterations, { weights: { repeat: 0 } }); },

  /** The grocery case with a learned repeat scorer in model.json (`repeat_scorer`, the trainer's default size) instead of the rule. */
  async 'rank-model/500/cpu/grocery/learned'({ iterations = 100 } = {}) { return groceryCase(iterations, {}, { learned: { hidden: 32, features: REPEAT_FEATURES.length } }); },

  /** The same with the scorer the trainer fitted before 2026-12-03 (16 units, the first 14 features). */
  async 'rank-model/500/cpu/grocery/learned-16x14'({ iterations = 100 } = {}) { return groceryCase(iterations, {}, { learned: { hidden: 16, features: 14 } }); },

  /**
   * The shopper acts, the homepage re-ranks: one record() (in-memory store, so this is the
   * engine's own time) then rank() with the trained model, per iteration. Every ranking sees a
   * history one event longer than the last, so the model runs on new input each time.
   */
  async 'rank-model/500/cpu/incremental'({ iterations = 100 } = {}) {
    const { weights, config, pool } = await realModelPool(500);
    const engine = await engineWithHistory(pool, 200, { storage: 'memory' });
    await engine.loadModel(weights, config, { cache: false });
    await engine.rank(pool, { backend: 'cpu' });
    const random = rng(29);
    const samples = [];
    const engineMs = [];
    const recordMs = [];
    const start = now();
    for (let i = 0; i < iterations; i += 1) {
      const item = pool.items[Math.floor(random() * pool.items.length)].id;
      const t0 = now();
      await engine.record({ kind: 'view', item });
      const t1 = now();
      const result = await engine.rank(pool, { backend: 'cpu' });
      samples.push(now() - t0);
      recordMs.push(t1 - t0);
      engineMs.push(result.elapsedMs);
      if (result.intent !== 'model') throw new Error(`the model did not run: ${result.reason ?? result.intent}`);
    }
    const total = now() - start;
    // rank()'s own `elapsedMs` (time inside the engine, without record() and the JS around it),
    // and record()'s whole call (it reports no engine time of its own: JS glue included, so
    // their sum bounds the engine time of "record, then re-rank" from above).
    const rankEngineMedianMs = Math.round(median(engineMs) * 1000) / 1000;
    const recordMedianMs = Math.round(median(recordMs) * 1000) / 1000;
    const sums = engineMs.map((ms, i) => ms + recordMs[i]);
    const recordPlusRankEngineMedianMs = Math.round(median(sums) * 1000) / 1000;
    return { samples, total, params: { pool: 500, dim: pool.dim, events: '200 + 1 per iteration', model: 'complete-journey (trained)', positions: JSON.parse(config).positions ?? 'from_end', storage: 'memory', measured: 'record() + rank()', rankEngineMedianMs, recordMedianMs, recordPlusRankEngineMedianMs } };
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

  /** CPU forward (default model: d=64, 2 blocks, 50 events) + cosine over a 100-item pool. */
  async 'model/cpu-forward-d64-l50'({ iterations = 300 } = {}) {
    const engine = await modelEngine({});
    const start = now();
    const r = await engine.benchmarkModel({ backend: 'cpu', historyLength: 50, poolSize: 100, iterations });
    const total = now() - start;
    return { samples: r.samples, total, params: { backend: r.backend, historyLength: 50, poolSize: 100, dim: 64, blocks: 2, precision: 'f32' } };
  },

  /**
   * The shopper acts, the model re-encodes: each call's history is the last one plus a new
   * event (the model's window of it, the engine's rule), with the previous pass's rows kept.
   * Median: the incremental pass (two rows per block); max: the full passes when the
   * window's start moves (every 25 events at max_len 50). Plus the 100-item cosine and top-10.
   */
  async 'model/cpu-incremental-d64-l50'({ iterations = 300 } = {}) {
    const engine = await modelEngine({});
    const start = now();
    const r = await engine.benchmarkModel({ backend: 'cpu', historyLength: 50, poolSize: 100, iterations, incremental: true });
    const total = now() - start;
    return { samples: r.samples, total, params: { backend: r.backend, historyLength: '50 + 1 per call', poolSize: 100, dim: 64, blocks: 2, precision: 'f32' } };
  },

  /**
   * The text tower (issue 11) embedding one search query: what a `search` step costs a
   * ranking. The trainer's default tower (16384 hashed rows of 32, words + 3- and 4-grams)
   * into a d=64 model. Each sample is the mean of 100 embeddings.
   */
  async 'text/embed-query'({ iterations = 200 } = {}) {
    const engine = await modelEngine({ text: TEXT_TOWER });
    const query = 'trail running shoes';
    const r = await engine.benchmarkModel({ text: query, iterations });
    return { samples: r.samples, params: { text: query, ...TEXT_TOWER, modelDim: 64 } };
  },

  /**
   * The text tower giving one pool item sent with `text` (no vector) its vector: a product's
   * title, category and brand (a ranking copies this embedding into the pool's row, once per
   * pool and model).
   */
  async 'text/embed-pool-item'({ iterations = 200 } = {}) {
    const engine = await modelEngine({ text: TEXT_TOWER });
    const text = 'Organic Whole Milk 1 l, Dairy, Arla Foods';
    const r = await engine.benchmarkModel({ text, iterations });
    return { samples: r.samples, params: { text, ...TEXT_TOWER, modelDim: 64 } };
  },

  /**
   * What the tower adds to a whole ranking: a 500-item pool of which 50 are new products sent
   * with `text` only, and a history of 50 events with 5 searches, ranked by the default model
   * with a tower (CPU). The pool is prepared once (as the package does for an unchanged pool
   * object): the first ranking fills its text rows, later ones reuse them; each ranking
   * embeds the searches again.
   */
  async 'text/rank-500-with-50-text-items-5-searches'({ iterations = 100 } = {}) {
    const { bytes, config } = randomModel({ text: TEXT_TOWER });
    const pool = makePool(500, 64);
    for (let i = 0; i < 500; i += 10) pool.items[i] = { id: `new-${i}`, text: `Organic product ${i}, Dairy, Brand ${i % 7}`, score: 500 - i };
    const engine = await engineWithHistory(pool, 45);
    for (const query of ['oat milk', 'trail running shoes', 'garden hose', 'coffee beans', 'dark chocolate']) await engine.record({ kind: 'search', query });
    await engine.loadModel(bytes, config, { cache: false });
    const first = now();
    const firstRanking = await engine.rank(pool, { backend: 'cpu' });
    const firstMs = now() - first;
    if (!firstRanking.text?.embedded) throw new Error(`text not embedded: ${JSON.stringify(firstRanking.text)}`);
    const samples = [];
    for (let i = 0; i < iterations; i += 1) {
      const t0 = now();
      await engine.rank(pool, { backend: 'cpu' });
      samples.push(now() - t0);
    }
    return { samples, params: { pool: 500, textItems: 50, events: 50, searches: 5, firstRankingMs: round1(firstMs), ...TEXT_TOWER, modelDim: 64 } };
  },

  /** Loading (parse + validate) the default model's 0.4 MB f32 safetensors. */
  async 'model/load-d64'({ iterations = 30 } = {}) {
    const engine = await rawEngine();
    const { bytes, config } = randomModel({});
    const samples = [];
    for (let i = 0; i < iterations; i += 1) {
      const t0 = now();
      await engine.loadModel(bytes, config, { cache: false });
      samples.push(now() - t0);
    }
    return { samples, params: { bytes: bytes.length } };
  },

  /**
   * First WebGPU result on a fresh engine, no warm-up: adapter + device + pipelines + first
   * call. Each iteration is a fresh engine with its own device. The first device of a browser
   * session also pays SwiftShader's own start (~100 ms more here), so in a run the first
   * WebGPU case's first iteration is the cold one: `params.firstMs` lists every iteration.
   */
  async 'model/webgpu-first-call'({ iterations = 7 } = {}) {
    const samples = [];
    let backend;
    for (let i = 0; i < iterations; i += 1) {
      const engine = await modelEngine({ seed: i + 1 });
      const r = await engine.benchmarkModel({ backend: 'webgpu', historyLength: 50, poolSize: 100, iterations: 1 });
      samples.push(r.firstMs);
      backend = r.backend;
    }
    return { samples, params: { backend, historyLength: 50, poolSize: 100, firstMs: samples.map(round1), note: 'fresh engine each: device + pipelines + first call' } };
  },

  /**
   * The first WebGPU result after `await engine.warmup()` (what a page does at idle time) on a
   * fresh engine: the first real call, with a history (20 events) and pool (500) that neither
   * the warm-up's small call nor its calibration used. Each iteration is a fresh engine with
   * its own device; `params.warmupMs` is what each warm-up took (device + pipelines + its
   * small call + the CPU/WebGPU calibration), `params.firstMs` the first call after it.
   */
  async 'model/webgpu-first-after-warmup'({ iterations = 5 } = {}) {
    const samples = [];
    const warmupMs = [];
    let warm;
    let last;
    for (let i = 0; i < iterations; i += 1) {
      const engine = await modelEngine({ seed: i + 1 });
      warm = await engine.warmup();
      warmupMs.push(round1(warm.ms));
      last = await engine.benchmarkModel({ backend: 'webgpu', historyLength: 20, poolSize: 500, iterations: 1 });
      samples.push(last.firstMs);
    }
    return {
      samples,
      params: { backend: last.backend, fallback: last.fallback, warmedUp: warm.backend, warmupReason: warm.reason, historyLength: 20, poolSize: 500, warmupMs, firstMs: samples.map(round1), note: 'fresh engine each: await warmup(), then the first call' },
    };
  },

  /** Warm WebGPU calls (forward + cosine + top-10, one submit, one readback). */
  async 'model/webgpu-warm-d64-l50'({ iterations = 50 } = {}) {
    const engine = await modelEngine({});
    await engine.warmup();
    const r = await engine.benchmarkModel({ backend: 'webgpu', historyLength: 50, poolSize: 100, iterations });
    return { samples: r.samples, params: { backend: r.backend, fallback: r.fallback, historyLength: 50, poolSize: 100 } };
  },

  /** CPU vs WebGPU over pool sizes and history lengths: where (if anywhere) WebGPU wins. */
  async 'model/crossover'({ iterations = 10 } = {}) {
    const engine = await modelEngine({});
    await engine.warmup();
    const sweep = [];
    let samples = [];
    for (const historyLength of [10, 50]) {
      for (const poolSize of [100, 1000, 10000, 50000]) {
        const row = { historyLength, poolSize };
        for (const backend of ['cpu', 'webgpu']) {
          const r = await engine.benchmarkModel({ backend, historyLength, poolSize, iterations });
          row[`${backend}_ms`] = Math.round(median(r.samples) * 100) / 100;
          if (r.backend !== backend) row[`${backend}_ran`] = r.backend;
          if (historyLength === 50 && poolSize === 10000 && backend === 'webgpu') samples = r.samples;
        }
        row.winner = row.cpu_ms <= row.webgpu_ms ? 'cpu' : 'webgpu';
        sweep.push(row);
      }
    }
    return { samples, params: { sampled: 'webgpu, 50 events, 10000 items', sweep } };
  },
};

window.localrankBench = { cases };
document.body.dataset.ready = 'true';
