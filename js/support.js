// Shared by the package's entry points (not exported by the package): the error shape every
// localrank promise rejects with, and where the engine can run.

/** An `Error` named `LocalRankError` with a stable `code` (and `field`, … in `extra`). */
export function localRankError(code, message, extra = {}) {
  return Object.assign(new Error(message), { name: 'LocalRankError', code, ...extra });
}

/**
 * Why the engine cannot run here, or undefined where it can. It needs WebAssembly and a
 * browser's global scope — a page or a Web Worker — and `needs` (e.g. 'Worker'): not Node.js,
 * not a server render, where loading the .wasm would only fail with `fetch failed`.
 */
export function unsupportedReason({ needs } = {}) {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') {
    return 'localrank needs WebAssembly, which this JavaScript environment does not provide';
  }
  const page = typeof window === 'object' && typeof document === 'object';
  const worker = typeof WorkerGlobalScope === 'function' && typeof self === 'object' && self instanceof WorkerGlobalScope;
  if (!page && !worker) {
    const here = typeof process === 'object' && process.versions?.node ? `Node.js ${process.version}` : 'this JavaScript runtime (no page, no Web Worker)';
    return `localrank runs in the shopper's browser (a page or a Web Worker), not in ${here}: `
      + 'open the engine from client-side code (in React, inside useEffect) and render the server order until it is ready';
  }
  if (needs && typeof globalThis[needs] !== 'function') return `localrank/worker needs ${needs}, which this browser context does not provide`;
  return undefined;
}

/**
 * The engine methods localrank/worker forwards (all return promises). Here, not in worker.js,
 * so that worker-entry.js never imports the module that starts it: a worker chunk that imports
 * its own `new Worker(new URL(…))` sends Turbopack (Next.js) into an endless build.
 */
export const METHODS = ['record', 'rank', 'history', 'exportHistory', 'forget', 'status', 'close', 'loadModel', 'loadCachedModel', 'warmup', 'modelInfo', 'benchmarkModel', 'takeReport'];

/**
 * What a pool object looked like when it was prepared: its own fields and every item's that
 * rank() reads, by value (vectors, `neighbours` and the `vectors` matrix by reference). Reading it costs
 * microseconds; the conversion it saves costs about a millisecond for 500 items. The fields
 * are spelled out (not looped over by name) so property reads stay monomorphic and fast.
 */
export function poolSnapshot(pool) {
  const { items } = pool;
  const values = [pool.dim, pool.model, pool.vectors, items, Array.isArray(items) ? items.length : -1];
  if (Array.isArray(items)) {
    for (const item of items) {
      values.push(item);
      if (item !== null && typeof item === 'object') {
        values.push(item.id, item.score, item.category, item.price, item.pinned, item.sponsored, item.available, item.repeat, item.vector, item.neighbours, item.rebuyRate, item.text);
      }
    }
  }
  return values;
}

/** Whether `pool` still matches what `poolSnapshot` recorded. */
export function sameSnapshot(pool, values) {
  const { items } = pool;
  if (!Object.is(values[0], pool.dim) || !Object.is(values[1], pool.model) || values[2] !== pool.vectors || values[3] !== items) return false;
  if (!Array.isArray(items) || values[4] !== items.length) return false;
  let k = 5;
  for (const item of items) {
    if (values[k] !== item) return false;
    k += 1;
    if (item !== null && typeof item === 'object') {
      if (!Object.is(values[k], item.id) || !Object.is(values[k + 1], item.score) || !Object.is(values[k + 2], item.category)
        || !Object.is(values[k + 3], item.price) || !Object.is(values[k + 4], item.pinned) || !Object.is(values[k + 5], item.sponsored)
        || !Object.is(values[k + 6], item.available) || !Object.is(values[k + 7], item.repeat) || values[k + 8] !== item.vector
        || values[k + 9] !== item.neighbours || !Object.is(values[k + 10], item.rebuyRate) || !Object.is(values[k + 11], item.text)) return false;
      k += 12;
    }
  }
  return k === values.length;
}

/**
 * The server order as sent, for when the engine cannot rank: `rank()`'s answer when it fails
 * open (`error` a LocalRankError: its message is the reason, its code the `error`).
 */
export function serverOrder(pool, error) {
  let items = pool?.items;
  if (typeof pool === 'string') {
    try {
      items = JSON.parse(pool).items;
    } catch {
      items = [];
    }
  }
  const order = Array.isArray(items) ? items.map((item) => item?.id).filter((id) => typeof id === 'string') : [];
  return { order, personalized: false, reason: error.message, error: error.code, backend: 'cpu', intent: 'none', items: [], dropped: [], elapsedMs: 0 };
}
