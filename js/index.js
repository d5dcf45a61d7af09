// localrank — the npm package's entry point: a thin layer over the engine compiled to
// WebAssembly (../pkg, built by scripts/build.mjs). It loads the wasm once, from the package
// itself (bundlers resolve the `new URL(…, import.meta.url)` inside pkg/localrank.js), and
// guards every call: if the engine ever stops on an internal error (a Rust panic aborts the
// wasm instance), the storefront is told once and every later call fails open — rank()
// returns the server's order — without touching the stopped instance again. Nothing here or
// in the engine makes a network request except fetching that .wasm file (and, on a page with
// a lift experiment, the report module's .wasm when takeReport() has a finished day to seal;
// where the engine uses WebGPU, the WebGPU module's .wasm the first time it does).
import init, * as engine from '../pkg/localrank.js';
// The report module's JS glue (5 KB) is imported statically on purpose: a dynamic import()
// would make the worker bundle code-split, which Vite 7's default worker format (iife)
// refuses to build. Its wasm, the part that is large, is fetched only when a day is due.
import initReport, { sealDay } from '../pkg/localrank_report.js';
// The WebGPU module's glue, statically for the same reason: its wasm (wgpu and the WGSL kernels)
// is fetched only when the engine first computes on WebGPU (a `backend: 'webgpu'` call,
// `warmup()`), so pages without WebGPU never download it.
import initGpu, { createRunner } from '../pkg/localrank_gpu.js';
import { localRankError, poolSnapshot, sameSnapshot, serverOrder, unsupportedReason } from './support.js';

let loading;

/**
 * Loads and instantiates the engine's WebAssembly. Called for you by `open()`; call it early
 * (or pass your own URL/bytes/module) to overlap the download with other work. Rejects with a
 * `LocalRankError` of code `Unsupported` outside a browser (Node.js, server-side rendering),
 * and of code `Internal` when the .wasm cannot be fetched or compiled (a later call retries).
 */
export function load(moduleOrPath) {
  const unsupported = unsupportedReason();
  if (unsupported) return Promise.reject(localRankError('Unsupported', unsupported));
  loading ??= init({ module_or_path: moduleOrPath ?? defaultWasm() }).then((exports) => {
    engine.setGpuModuleLoader(loadGpuModule);
    return exports;
  }, (error) => {
    loading = undefined; // let a later call retry (e.g. after a network hiccup)
    throw localRankError(
      'Internal',
      `could not load localrank's WebAssembly (${error?.name ?? 'Error'}: ${error?.message ?? error}). Serve the package's pkg/*.wasm files (as application/wasm), and if the page has a Content-Security-Policy, allow 'wasm-unsafe-eval' in script-src`,
    );
  });
  return loading;
}

/** The smallest module using a SIMD128 instruction (i32x4.splat): valid only where SIMD is. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/**
 * The engine build for this browser: SIMD128 where WebAssembly SIMD exists (all current
 * browsers; the CPU forward pass is ~1.7× faster), the scalar build elsewhere. The
 * `new URL(…, import.meta.url)` form lets bundlers find and copy both files. A --dev build
 * ships only the scalar file.
 */
function defaultWasm() {
  const simd = typeof WebAssembly.validate === 'function' && WebAssembly.validate(SIMD_PROBE);
  return simd ? new URL('../pkg/localrank_simd_bg.wasm', import.meta.url) : new URL('../pkg/localrank_bg.wasm', import.meta.url);
}

let reportModule;

/**
 * The report module's `sealDay`, its wasm loaded on first use. A failed download is a
 * LocalRankError (the day stays due; the next takeReport() tries again), never a stopped
 * engine.
 */
function loadReportModule() {
  reportModule ??= initReport({ module_or_path: new URL('../pkg/localrank_report_bg.wasm', import.meta.url) })
    .then(() => sealDay)
    .catch((error) => {
      reportModule = undefined;
      throw localRankError('Internal', `could not load localrank's report module (pkg/localrank_report_bg.wasm): ${error?.message ?? error}. The day stays due; the next takeReport() tries again`);
    });
  return reportModule;
}

let gpuModule;

/**
 * The WebGPU module's exports for the engine (src/gpu/bridge.rs), its wasm loaded on first
 * use. A failed download rejects: that model then computes on the CPU, with the reason in
 * `warmup()` / the ranking's `fallback`, and the next loaded model tries again.
 */
function loadGpuModule() {
  gpuModule ??= initGpu({ module_or_path: new URL('../pkg/localrank_gpu_bg.wasm', import.meta.url) })
    .then(() => ({ createRunner }))
    .catch((error) => {
      gpuModule = undefined;
      throw new Error(`could not load localrank's WebGPU module (pkg/localrank_gpu_bg.wasm): ${error?.message ?? error}`);
    });
  return gpuModule;
}

/** Opens the shopper's history on this device. See `OpenOptions`. */
export async function open(options) {
  await load();
  return new GuardedEngine(await guard(() => engine.open(options ?? {})));
}

/** Asks the browser for a WebGPU adapter; reports the CPU (with the reason) when there is none. */
export async function detectBackend() {
  await load();
  return engine.detectBackend();
}

/** The engine's version (after `load()`). */
export async function version() {
  await load();
  return engine.version();
}

/** The event kinds, in the model's vocabulary order. */
export async function eventKinds() {
  await load();
  return engine.eventKinds();
}

/** Set once the wasm instance has stopped; every engine then fails open. */
let stopped;


/** Runs a call into the engine; turns a trap (or any non-LocalRankError) into `stopped`. */
async function guard(call) {
  if (stopped) throw stopped;
  try {
    return await call();
  } catch (error) {
    if (error?.name === 'LocalRankError') throw error;
    let panic;
    try {
      panic = engine.lastPanic();
    } catch {
      // The instance may be unusable after the trap; the original error still says enough.
    }
    stopped = localRankError('Internal', `localrank stopped after an internal error (${panic ?? error?.message ?? error}); ranking falls back to the server order`, { cause: error });
    console.error(stopped.message);
    throw stopped;
  }
}

/**
 * Plain-number vectors (what `fetch().json()` gives) packed into one Float32Array matrix: one
 * copy into the engine instead of a conversion per item (~4× faster for a 500-item pool).
 * Anything unusual — another encoding, a wrong length, a non-finite value — is left for the
 * engine to read and, if it is wrong, to name precisely.
 */
function packVectors(pool) {
  if (!pool || typeof pool !== 'object' || pool.vectors !== undefined || !Array.isArray(pool.items)) return pool;
  const { dim, items } = pool;
  if (!Number.isInteger(dim) || dim <= 0 || items.length === 0) return pool;
  const matrix = new Float32Array(items.length * dim);
  const stripped = new Array(items.length);
  for (let i = 0; i < items.length; i += 1) {
    const item = items[i];
    const vector = item?.vector;
    if (!Array.isArray(vector) || vector.length !== dim) return pool;
    for (let d = 0; d < dim; d += 1) {
      const x = vector[d];
      if (typeof x !== 'number' || !Number.isFinite(x)) return pool;
      matrix[i * dim + d] = x;
    }
    const { vector: _, ...rest } = item;
    stripped[i] = rest;
  }
  return { ...pool, items: stripped, vectors: matrix };
}

const RULES = [undefined, 'pinned', 'sponsored', 'purchased'];

/** A `PackedRanking` (the engine's rankPrepared) as the `Ranking` that rank() documents. */
function unpack(packed, ids) {
  const ranking = JSON.parse(packed.meta);
  const { order: positions, values, rules } = packed;
  if (!positions) return ranking;
  const because = packed.because ? JSON.parse(packed.because) : [];
  const n = positions.length;
  const order = new Array(n);
  const items = new Array(n);
  let b = 0;
  for (let k = 0; k < n; k += 1) {
    const id = ids[positions[k]];
    const v = k * 6;
    const item = {
      id,
      score: values[v],
      parts: { intent: values[v + 1], server: values[v + 2], affinity: values[v + 3], neighbour: values[v + 4], repeat: values[v + 5] },
    };
    if (b < because.length && because[b][0] === k) {
      item.because = because[b][1];
      item.becauseKind = because[b][2];
      if (because[b][3]) item.repeat = because[b][3];
      b += 1;
    }
    if (rules[k] !== 0) item.rule = RULES[rules[k]];
    order[k] = id;
    items[k] = item;
  }
  ranking.order = order;
  ranking.items = items;
  return ranking;
}

/** The engine as the storefront sees it: the wasm `Engine`'s methods, guarded. */
class GuardedEngine {
  #inner;
  /** Pool object → its prepared copy in the engine (with the snapshot it was made from). */
  #pools = new WeakMap();
  /** The last pool given as JSON text, prepared. */
  #text;

  constructor(inner) {
    this.#inner = inner;
  }

  record(event) { return guard(() => this.#inner.record(event)); }
  loadModel(weights, config, options) { return guard(() => this.#inner.loadModel(weights, config, options)); }
  loadCachedModel(version) { return guard(() => this.#inner.loadCachedModel(version)); }
  warmup() { return guard(() => this.#inner.warmup()); }
  benchmarkModel(options) { return guard(() => this.#inner.benchmarkModel(options)); }
  /** The loaded model, or undefined (synchronous, like the engine's). */
  modelInfo() { return stopped ? undefined : this.#inner.modelInfo(); }
  history() { return guard(() => this.#inner.history()); }
  exportHistory() { return guard(() => this.#inner.exportHistory()); }
  forget() { return guard(() => this.#inner.forget()); }
  status() { return guard(() => this.#inner.status()); }
  /**
   * The experiment's report for a finished day, or null. The sealing code (Prio3, HPKE: the
   * second wasm, pkg/localrank_report_bg.wasm) is loaded only when a day is due, so pages
   * without an experiment never download it and pages with one fetch it at most once a day.
   */
  async takeReport() {
    if (!(await guard(() => this.#inner.reportDue()))) return null;
    const sealDay = await loadReportModule();
    return guard(() => this.#inner.takeReport(sealDay));
  }
  close() { return guard(() => this.#inner.close()); }

  /** Never rejects: a stopped engine (or any failure) gives the server order with the reason. */
  async rank(pool, options) {
    try {
      return await guard(async () => {
        const prepared = this.#prepared(pool);
        if (!prepared) return this.#inner.rank(packVectors(pool), options);
        return unpack(await this.#inner.rankPrepared(prepared.handle, options), prepared.ids);
      });
    } catch (error) {
      return serverOrder(pool, error);
    }
  }

  /**
   * The engine's validated copy of `pool`: made once per pool object (or JSON text) and reused
   * while the object is unchanged, so re-ranking the homepage after an event converts nothing.
   * Undefined when the pool is invalid: rank() then reports why, as for any pool.
   */
  #prepared(pool) {
    const isText = typeof pool === 'string';
    if (!isText && (pool === null || typeof pool !== 'object')) return undefined;
    const cached = isText ? (this.#text?.text === pool ? this.#text : undefined) : this.#pools.get(pool);
    if (cached && (isText || sameSnapshot(pool, cached.snapshot))) return cached;
    let handle;
    try {
      handle = engine.preparePool(isText ? pool : packVectors(pool));
    } catch (error) {
      if (error?.name === 'LocalRankError') return undefined;
      throw error;
    }
    const prepared = { handle, ids: handle.ids(), snapshot: isText ? undefined : poolSnapshot(pool), text: isText ? pool : undefined };
    const replaced = isText ? this.#text : cached;
    if (isText) this.#text = prepared;
    else this.#pools.set(pool, prepared);
    replaced?.handle.free();
    return prepared;
  }
}
