// Types for the npm package. The data types (events, options, status, errors) are generated
// from the Rust definitions by wasm-bindgen + tsify into ../pkg/localrank.d.ts; this file only
// adds the wrapper functions, so the two can never drift apart.
import type { BackendInfo, Engine, EventKind, OpenOptions } from '../pkg/localrank.js';

export type * from '../pkg/localrank.js';
export type { Engine } from '../pkg/localrank.js';

/** Loads and instantiates the engine's WebAssembly (called for you by `open()`). */
export function load(moduleOrPath?: RequestInfo | URL | Response | BufferSource | WebAssembly.Module): Promise<unknown>;
/** Opens the shopper's history on this device. */
export function open(options?: OpenOptions): Promise<Engine>;
/** Asks the browser for a WebGPU adapter; reports the CPU (with the reason) when there is none. */
export function detectBackend(): Promise<BackendInfo>;
/** The engine's version. */
export function version(): Promise<string>;
/** The event kinds, in the model's vocabulary order. */
export function eventKinds(): Promise<EventKind[]>;
