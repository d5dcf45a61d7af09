// Types for localrank/worker: the same methods as `Engine`, each returning a promise.
import type { Engine, OpenOptions } from '../pkg/localrank.js';

export type RemoteEngine = Pick<Engine, 'record' | 'rank' | 'history' | 'exportHistory' | 'forget' | 'status' | 'close'> & {
  /** Closes the database and stops the worker. */
  terminate(): Promise<void>;
};

/** Starts a dedicated worker and opens the engine in it. */
export function openInWorker(options?: OpenOptions, init?: { worker?: Worker }): Promise<RemoteEngine>;

export declare const METHODS: readonly string[];
