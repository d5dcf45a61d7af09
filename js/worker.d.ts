// Types for localrank/worker: the same methods as the in-page engine, each returning a promise.
import type { LocalRankEngine } from './index.js';
import type { ModelInfo, OpenOptions } from '../pkg/localrank.js';

export type RemoteEngine = {
  [K in keyof Omit<LocalRankEngine, 'modelInfo'>]: LocalRankEngine[K];
} & {
  /** The loaded model, or undefined (a promise here: the engine lives in the worker). */
  modelInfo(): Promise<ModelInfo | undefined>;
  /**
   * Closes the database and stops the worker. Afterwards every call rejects with a
   * `LocalRankError` of code `Internal`, and `rank()` resolves with the server order.
   */
  terminate(): Promise<void>;
};

/** Starts a dedicated worker and opens the engine in it. */
export function openInWorker(options?: OpenOptions, init?: { worker?: Worker }): Promise<RemoteEngine>;

export declare const METHODS: readonly string[];
