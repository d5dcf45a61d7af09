// The demo storefront is a Vite project rooted here (www/). `node scripts/build-site.mjs` (run
// by `npm start` and by the end-to-end tests) writes the site to www/dist, and the candidate
// service serves that folder (`localrank-server --site www/dist`).
//
// The pages import the package by name — 'localrank/worker' in shop.js, 'localrank' in
// status.js — and nothing here maps that name: this repository's root package.json *is* the
// `localrank` package, and Vite resolves a package's own name through its `exports` (Node's
// package self-reference). So the demo goes through the same entry points, and the same
// `new URL(…, import.meta.url)` references to the .wasm files and the worker, as a storefront
// that installed localrank from npm (tests/bundlers/ check that case from a packed tarball).
// Chosen over an npm workspace or a `file:..` dependency: both need a www/package.json and
// put a symlink in node_modules, which Vite handles as linked source rather than as an
// installed dependency — a second, different path — and an alias would hide a broken
// `exports` map.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Three pages: the storefront, the engine-status page and the demo experiment's lift page.
    rolldownOptions: { input: { index: `${here}index.html`, status: `${here}status.html`, lift: `${here}lift.html` } },
  },
});
