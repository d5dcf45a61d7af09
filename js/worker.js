// localrank/worker — the same engine API, running in a dedicated Web Worker so that ranking
// and IndexedDB work never block the page's main thread. Every call is a promise; errors come
// back as `LocalRankError`s with their `code` and `field`.
//
//   import { openInWorker } from 'localrank/worker';
//   const engine = await openInWorker({ maxEvents: 500 });
//   await engine.record({ kind: 'view', item: 'sku-42' });
//   const ranking = await engine.rank(pool);

import { METHODS, localRankError, unsupportedReason } from './support.js';

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

  constructor(worker) {
    this.#worker = worker;
    worker.addEventListener('message', (event) => this.#settle(event.data));
    worker.addEventListener('error', (event) => this.#failAll(new Error(`localrank worker failed: ${event.message ?? 'unknown error'}`)));
    for (const method of METHODS) this[method] = (...args) => this.call(method, args);
  }

  call(method, args) {
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
    this.#failAll(new Error('localrank worker terminated'));
  }

  #settle({ id, ok, value, error }) {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    if (ok) pending.resolve(value);
    else pending.reject(Object.assign(new Error(error.message), { name: error.name, code: error.code, field: error.field }));
  }

  #failAll(error) {
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }
}
