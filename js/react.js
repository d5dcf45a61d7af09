// localrank/react — the engine in a React storefront, server rendering included (Next.js App
// Router, Remix, …). React is an optional peer dependency: only this entry point imports it.
//
//   'use client';
//   import { useLocalRank, useRankedPool } from 'localrank/react';
//   export function Homepage({ pool }) {
//     const { engine } = useLocalRank({ maxEvents: 500 }, { worker: true });
//     const { items } = useRankedPool(engine, pool);          // server order until ranked
//     return items.map((item) => <Tile key={item.id} item={item} onClick={() => engine?.record({ kind: 'click', item: item.id })} />);
//   }
//
// Both hooks only touch the engine in effects, which React runs in the browser alone: the
// server render (and the first client render, so hydration matches) shows the pool in the
// server's order; the shopper's browser then reorders it. Fail open throughout: an engine that
// cannot open or rank leaves the server order on screen, with the error in the hook's result.
import { useCallback, useEffect, useState } from 'react';
import { open } from './index.js';

/** One engine per page and set of options, shared by every component that asks for it. */
const engines = new Map();

function openShared(key, options, worker) {
  let opening = engines.get(key);
  if (!opening) {
    opening = worker ? import('./worker.js').then(({ openInWorker }) => openInWorker(options)) : open(options);
    engines.set(key, opening);
    opening.catch(() => engines.delete(key)); // a later mount tries again
  }
  return opening;
}

/**
 * Opens the shopper's engine after the component mounts (never during a server render) and
 * shares it with every other component using the same options. `{ worker: true }` runs it in
 * a Web Worker (localrank/worker). Returns `{ engine, error }`: `engine` is null until open
 * and stays null if opening failed (`error` says why, e.g. code `Unsupported`).
 */
export function useLocalRank(options, { worker = false } = {}) {
  const key = JSON.stringify([options ?? {}, Boolean(worker)]);
  const [state, setState] = useState({ engine: null, error: null });
  useEffect(() => {
    let live = true;
    openShared(key, options, worker).then(
      (engine) => { if (live) setState({ engine, error: null }); },
      (error) => { if (live) setState({ engine: null, error }); },
    );
    return () => { live = false; };
    // `key` stands for the options' contents: a new object with the same options is not a change.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return state;
}

/**
 * The pool's items in the order to show: the server's order (as sent) until `engine` has
 * ranked `pool`, then the engine's (dropped items left out). Re-ranks when the engine, the
 * pool object or the options' contents change, and on `rerank()` (e.g. after `record()`).
 * Returns `{ items, ranking, personalized, error, rerank }`; `ranking` is the engine's full
 * answer (explanations in `ranking.items[i].because`), null until there is one.
 */
export function useRankedPool(engine, pool, options) {
  const optionsKey = JSON.stringify(options ?? {});
  const [round, setRound] = useState(0);
  const [result, setResult] = useState(null);
  useEffect(() => {
    if (!engine || !pool) return undefined;
    let live = true;
    // rank() fails open by itself (a stopped or terminated worker too); the rejection handler
    // is for engines that are not localrank's own (a test double, a wrapper).
    Promise.resolve()
      .then(() => engine.rank(pool, options))
      .then(
        (ranking) => { if (live) setResult({ engine, pool, ranking, error: null }); },
        (error) => { if (live) setResult({ engine, pool, ranking: null, error }); },
      );
    return () => { live = false; };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [engine, pool, optionsKey, round]);
  const rerank = useCallback(() => setRound((n) => n + 1), []);
  const current = result && result.engine === engine && result.pool === pool ? result : null;
  return { ...orderedItems(pool, current?.ranking), ranking: current?.ranking ?? null, error: current?.error ?? null, rerank };
}

function orderedItems(pool, ranking) {
  const items = Array.isArray(pool?.items) ? pool.items : [];
  if (!ranking) return { items, personalized: false };
  const byId = new Map(items.map((item) => [item?.id, item]));
  const ordered = ranking.order.map((id) => byId.get(id)).filter((item) => item !== undefined);
  return { items: ordered, personalized: ranking.personalized === true };
}
