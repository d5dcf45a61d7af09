// localrank/worker — the same engine API, running in a dedicated Web Worker so that ranking
// and IndexedDB work never block the page's main thread. Every call is a promise; errors come
// back as `LocalRankError`s with their `code` and `field` (a worker that failed or was
// terminated: code `Internal`), and `rank()` never rejects: it fails open to the server order.
//
//   import { openInWorker } from 'localrank/worker';
//   const engine = await openInWorker({ maxEvents: 500 });
//   await engine.record({ kind: 'view', item: 'sku-42' });
//   const ranking = await engine.rank(pool);

import { METHODS, localRankError, poolSnapshot, sameSnapshot, serverOrder, unsupportedReason } from './support.js';

export { METHODS };

/**
 * Starts a worker and opens the engine in it. Pass `{ worker }` to use a Worker you created
 * (for bundlers that want to see `new Worker(new URL(...))` themselves). Rejects with a
 * `LocalRankError` of code `Unsupported` outside a browser (Node.js, server-side rendering).
 */
export async function openInWorker(options, { worker } = {}) {
  const unsupported = unsupportedReason({ needs: worker ? undefined : 'Worker' });
  if (unsupported) throw localRankError('Unsupported', unsupported);
  const target = worker ?? new Worker(new URL('./worker-entry.js', import.meta.url), { type: 'module', name: 'localrank' });
  const remote = new RemoteEngine(target);
  await remote.call('open', [options ?? {}]);
  return remote;
}

class RemoteEngine {
  #worker;
  #pending = new Map();
  #next = 1;
  /** Pool object → the key the worker holds its copy under (and the snapshot it was sent as). */
  #pools = new WeakMap();
  #nextPool = 1;
  /** Why the worker can no longer answer (terminated or failed), once it cannot. */
  #stopped;

  constructor(worker) {
    this.#worker = worker;
    worker.addEventListener('message', (event) => this.#settle(event.data));
    worker.addEventListener('error', (event) => {
      this.#stop(`the localrank worker failed (${event.message ?? 'unknown error'}); open a new engine`);
    });
    for (const method of METHODS) this[method] = (...args) => this.call(method, args);
    this.rank = (pool, options) => this.#rank(pool, options).catch((error) => serverOrder(pool, error));
  }

  /**
   * A pool object is copied to the worker once and ranked there by key while it is unchanged:
   * copying a 500-item pool into the worker costs more than ranking it. If the worker no
   * longer holds it (it keeps the last few), the pool is sent again.
   */
  async #rank(pool, options) {
    if (pool === null || typeof pool !== 'object') return this.call('rank', [pool, options]);
    const sent = this.#pools.get(pool);
    if (sent && sameSnapshot(pool, sent.snapshot)) {
      const ranking = await this.call('rankHeld', [sent.key, options]);
      if (ranking !== undefined) return ranking;
    }
    const key = this.#nextPool++;
    this.#pools.set(pool, { key, snapshot: poolSnapshot(pool) });
    return this.call('rankAndHold', [key, pool, options]);
  }

  call(method, args) {
    if (this.#stopped) return Promise.reject(localRankError('Internal', this.#stopped));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, method, args });
    });
  }

  /** Stops the worker (after closing the database). */
  async terminate() {
    await this.call('close', []).catch(() => {});
    this.#worker.terminate();
    this.#stop('the localrank worker was terminated; open a new engine');
  }

  #settle({ id, ok, value, error }) {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    if (ok) pending.resolve(value);
    else pending.reject(Object.assign(new Error(error.message), { name: error.name, code: error.code, field: error.field }));
  }

  /** From now on every call rejects (and rank() fails open) with `reason`. */
  #stop(reason) {
    this.#stopped ??= reason;
    for (const { reject } of this.#pending.values()) reject(localRankError('Internal', reason));
    this.#pending.clear();
  }
}
