// Types for localrank/react. They need no React types of their own: the hooks take and return
// plain data, so a project without @types/react (or on React 18 or 19) type-checks the same.
import type { LocalRankEngine, LocalRankError, OpenOptions, PoolInput, PoolItemInput, RankOptions, Ranking } from './index.js';
import type { RemoteEngine } from './worker.js';

/** What `useLocalRank` returns: `engine` is null until open, and stays null if opening failed. */
export interface LocalRankState<E> {
  engine: E | null;
  /** Why the engine is not there, e.g. code `Unsupported` (no WebAssembly in this browser). */
  error: LocalRankError | Error | null;
}

/**
 * Opens the shopper's engine after the component mounts (never in a server render), shared by
 * every component that asks with the same options. `{ worker: true }`: in a Web Worker.
 */
export function useLocalRank(options?: OpenOptions, init?: { worker?: false }): LocalRankState<LocalRankEngine>;
export function useLocalRank(options: OpenOptions | undefined, init: { worker: true }): LocalRankState<RemoteEngine>;
export function useLocalRank(options?: OpenOptions, init?: { worker?: boolean }): LocalRankState<LocalRankEngine | RemoteEngine>;

/** A candidate pool whose items may carry the storefront's own fields (title, image, …). */
export type RankablePool<T extends PoolItemInput = PoolItemInput> = Omit<PoolInput, 'items'> & { items: T[] };

/** What `useRankedPool` returns. */
export interface RankedPool<T> {
  /** The pool's own item objects, in the order to show: the server's until ranked. */
  items: T[];
  /** True once the engine's order is shown and it is personalized. */
  personalized: boolean;
  /** The engine's full answer (reasons, explanations, backend), null until there is one. */
  ranking: Ranking | null;
  /** Set when a worker engine's rank() rejected (the server order stays). */
  error: Error | null;
  /** Ranks again, e.g. after `record()`. */
  rerank(): void;
}

/**
 * The pool's items in the order to show: the server's until `engine` has ranked `pool`, then
 * the engine's (dropped items left out). Re-ranks when the engine, the pool object or the
 * options' contents change. Pass a pool object that keeps its identity between renders.
 */
export function useRankedPool<T extends PoolItemInput>(
  engine: Pick<LocalRankEngine, 'rank'> | Pick<RemoteEngine, 'rank'> | null | undefined,
  pool: RankablePool<T> | null | undefined,
  options?: RankOptions,
): RankedPool<T>;
