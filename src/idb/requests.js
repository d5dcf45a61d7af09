// IndexedDB's requests for the engine's stores (src/idb/*.rs). Each function is one whole step:
// opening a database, or one transaction whose requests are all issued at once. It settles
// when the step ends, so Rust awaits one promise per step and never holds a transaction open
// across an await (IndexedDB commits a transaction as soon as no request is pending).
//
// Failures reject with a plain `{ stage, name, message, found }` that src/idb/mod.rs turns into
// a typed error: `stage` is "unavailable" (no IndexedDB here), "refused" (open() threw),
// "failed" (the open request failed; `found` is the stored version after a VersionError),
// "request" (a request could not be issued, e.g. DataCloneError) or "aborted" (the transaction
// aborted: `name` is "QuotaExceededError" when the storage quota stopped it).
//
// This file makes no network request and keeps no state of its own.

const failure = (stage, error, found) => ({
  stage,
  name: (error && error.name) || '',
  message: (error && error.message) || String(error || 'unknown error'),
  found,
});

/**
 * Opens `name` at `version`. `stores` lists `[name, keyPath, autoIncrement]`;
 * a missing store is created during the upgrade (keyPath null: out-of-line keys).
 * `onVersionChange`, when given, is called after the connection closed itself because another
 * tab upgrades or deletes the database.
 */
export function openDatabase(name, version, stores, onVersionChange) {
  return new Promise((resolve, reject) => {
    let factory;
    try {
      factory = globalThis.indexedDB;
    } catch (error) {
      return reject(failure('unavailable', error));
    }
    if (!factory) return reject(failure('unavailable', { message: 'indexedDB is not defined' }));
    let request;
    try {
      request = factory.open(name, version);
    } catch (error) {
      return reject(failure('refused', error));
    }
    request.onupgradeneeded = () => {
      const db = request.result;
      // A throw here aborts the upgrade, which fails the open request.
      for (const [store, keyPath, autoIncrement] of stores) {
        if (!db.objectStoreNames.contains(store)) {
          db.createObjectStore(store, keyPath ? { keyPath, autoIncrement } : {});
        }
      }
    };
    request.onsuccess = () => {
      const db = request.result;
      if (onVersionChange) {
        db.onversionchange = () => {
          db.close();
          onVersionChange();
        };
      }
      resolve(db);
    };
    request.onerror = () => {
      const error = request.error;
      if (!error || error.name !== 'VersionError') return reject(failure('failed', error));
      // The database is newer than `version`: find out which version it is.
      const probe = factory.open(name);
      probe.onsuccess = () => {
        const found = probe.result.version;
        probe.result.close();
        reject(failure('failed', error, found));
      };
      probe.onerror = () => reject(failure('failed', error));
    };
  });
}

/**
 * `records` (a getAll result) as one JSON text, so the engine reads a whole store in one
 * crossing. A record JSON cannot hold (a BigInt, a cycle) becomes `null`, which the engine
 * reports as unreadable instead of losing the others.
 */
export function recordsJson(records) {
  try {
    return JSON.stringify(records);
  } catch {
    return `[${records.map((record) => {
      try {
        return JSON.stringify(record) ?? 'null';
      } catch {
        return 'null';
      }
    }).join(',')}]`;
  }
}

/**
 * Runs `ops` in one transaction over `stores` (mode "readonly" or "readwrite") and resolves with
 * each op's result once the transaction has committed. An op is `[kind, store, key, value]`:
 * "get" (key), "getAll", "put" (value, key or undefined for in-line keys), "add" (value; the
 * result is the generated key), "delete" (key), "clear", and "update" (key, value: a function
 * given the stored value that returns the value to put, or undefined to leave it; the result
 * is whether it put one).
 */
export function transact(db, stores, mode, ops) {
  return new Promise((resolve, reject) => {
    let tx;
    try {
      tx = db.transaction(stores, mode);
    } catch (error) {
      return reject(failure('request', error));
    }
    const results = new Array(ops.length);
    tx.oncomplete = () => resolve(results);
    tx.onabort = () => reject(failure('aborted', tx.error || { name: 'AbortError', message: 'the transaction was aborted' }));
    try {
      ops.forEach(([kind, name, key, value], i) => {
        const store = tx.objectStore(name);
        let request;
        switch (kind) {
          case 'get': request = store.get(key); break;
          case 'getAll': request = store.getAll(); break;
          case 'put': request = key === undefined ? store.put(value) : store.put(value, key); break;
          case 'add': request = store.add(value); break;
          case 'delete': request = store.delete(key); break;
          case 'clear': request = store.clear(); break;
          case 'update':
            request = store.get(key);
            request.onsuccess = () => {
              const next = value(request.result);
              results[i] = next !== undefined;
              if (results[i]) store.put(next, key);
            };
            return;
          default: throw new TypeError(`unknown IndexedDB op ${kind}`);
        }
        request.onsuccess = () => {
          results[i] = request.result;
        };
      });
    } catch (error) {
      reject(failure('request', error));
      try {
        tx.abort();
      } catch {
        // Already finished: nothing to undo.
      }
    }
  });
}
