// localrank — the npm package's entry point: a thin layer over the engine compiled to
// WebAssembly (../pkg, built by scripts/build.mjs). It loads the wasm once, from the package
// itself (bundlers resolve the `new URL(…, import.meta.url)` inside pkg/localrank.js), and
// re-exports the engine's API. Nothing here or in the engine makes a network request except
// fetching that .wasm file.
import init, * as engine from '../pkg/localrank.js';

let loading;

/**
 * Loads and instantiates the engine's WebAssembly. Called for you by `open()`; call it early
 * (or pass your own URL/bytes/module) to overlap the download with other work.
 */
export function load(moduleOrPath) {
  loading ??= init(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath }).catch((error) => {
    loading = undefined; // let a later call retry (e.g. after a network hiccup)
    throw error;
  });
  return loading;
}

/** Opens the shopper's history on this device. See `OpenOptions`. */
export async function open(options) {
  await load();
  return engine.open(options ?? {});
}

/** Asks the browser for a WebGPU adapter; reports the CPU (with the reason) when there is none. */
export async function detectBackend() {
  await load();
  return engine.detectBackend();
}

/** The engine's version (after `load()`). */
export async function version() {
  await load();
  return engine.version();
}

/** The event kinds, in the model's vocabulary order. */
export async function eventKinds() {
  await load();
  return engine.eventKinds();
}
