// The worker side of localrank/worker: one engine per worker, calls answered in order.
import { open } from './index.js';
import { METHODS, localRankError } from './support.js';

let engine;

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
