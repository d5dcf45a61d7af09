// The worker side of localrank/worker: one engine per worker, calls answered in order.
import { open } from './index.js';
import { METHODS, localRankError } from './support.js';

let engine;
/** Pools the page sent with a key (RemoteEngine's rankAndHold), newest last: ranked again by key. */
const held = new Map();
const HELD_POOLS = 8;

function serializeError(error) {
  return {
    name: error?.name ?? 'Error',
    message: error?.message ?? String(error),
    code: error?.code ?? 'Internal',
    field: error?.field,
  };
}

self.addEventListener('message', async ({ data: { id, method, args } }) => {
  try {
    let value;
    if (method === 'open') {
      engine = await open(...args);
    } else if (!engine) {
      throw localRankError('Internal', 'the engine is not open');
    } else if (method === 'rankAndHold') {
      const [key, pool, options] = args;
      held.set(key, pool);
      while (held.size > HELD_POOLS) held.delete(held.keys().next().value);
      value = await engine.rank(pool, options);
    } else if (method === 'rankHeld') {
      const [key, options] = args;
      const pool = held.get(key);
      value = pool === undefined ? undefined : await engine.rank(pool, options);
    } else if (METHODS.includes(method)) {
      value = await engine[method](...args);
    } else {
      throw localRankError('Internal', `unknown method ${method}`);
    }
    self.postMessage({ id, ok: true, value });
  } catch (error) {
    self.postMessage({ id, ok: false, error: serializeError(error) });
  }
});
