// Types for the npm package. The data types (events, pools, options, results, errors) are
// generated from the Rust definitions by wasm-bindgen + tsify into ../pkg/localrank.d.ts; this
// file only describes the wrapper, in terms of those, so the two cannot drift apart.
import type { BackendInfo, DapUpload, Engine, EventKind, LoadModelOptions, LocalRankError as EngineError, OpenOptions, PoolInput, RankOptions, Ranking } from '../pkg/localrank.js';

export type * from '../pkg/localrank.js';

/**
 * Every `LocalRankError` code: the engine's, and `Unsupported` from this layer — the engine
 * cannot run here (Node.js or a server render, no WebAssembly, no Worker for localrank/worker).
 */
export type LocalRankErrorCode = EngineError['code'] | 'Unsupported';

/** The error every localrank promise rejects with (`error.name === 'LocalRankError'`). */
export interface LocalRankError extends Omit<EngineError, 'code'> {
  /** Stable, machine-readable kind. */
  code: LocalRankErrorCode;
}

/**
 * The engine as `open()` returns it: the wasm `Engine`'s methods, guarded so that an internal
 * error stops the engine cleanly (rank() then returns the server order). `options` arguments
 * are optional; `rank()` also takes the pool's JSON text.
 */
export interface LocalRankEngine extends Pick<Engine, Exclude<keyof Engine, symbol | 'free' | 'rank' | 'rankPrepared' | 'loadModel' | 'reportDue' | 'takeReport'>> {
  rank(pool: PoolInput | string, options?: RankOptions): Promise<Ranking>;
  loadModel(weights: Uint8Array, config: string, options?: LoadModelOptions): ReturnType<Engine['loadModel']>;
  /**
   * The lift experiment's report for one finished day, ready to send, or `null` when there is
   * nothing to send: no experiment or no `experiment.dap`, no finished day with a homepage
   * shown, or that day already reported (by this tab or another). Call it on every visit: it
   * is cheap and returns each day once. Send the upload to the task's leader:
   * `fetch(new URL(upload.path, leaderUrl), { method: upload.method, headers: {
   * 'content-type': upload.contentType }, body: upload.body })`. The day is marked reported
   * before the upload is returned: a failed send loses that day's report, it is never sent
   * twice. The engine itself makes no request; the sealing code (a second, ~50 KB gzip wasm
   * file in the package) is downloaded only when a day is due. Rejects with the
   * `InvalidOptions` error of a wrong `experiment.dap` (naming the field).
   */
  takeReport(): Promise<DapUpload | null>;
}

/**
 * Loads and instantiates the engine's WebAssembly (called for you by `open()`). Every function
 * here rejects with a `LocalRankError` of code `Unsupported` outside a browser.
 */
export function load(moduleOrPath?: RequestInfo | URL | Response | BufferSource | WebAssembly.Module): Promise<unknown>;
/** Opens the shopper's history on this device. */
export function open(options?: OpenOptions): Promise<LocalRankEngine>;
/** Asks the browser for a WebGPU adapter; reports the CPU (with the reason) when there is none. */
export function detectBackend(): Promise<BackendInfo>;
/** The engine's version. */
export function version(): Promise<string>;
/** The event kinds, in the model's vocabulary order. */
export function eventKinds(): Promise<EventKind[]>;
