#!/usr/bin/env node
// Builds the npm package's wasm in one visible place:
//   cargo (wasm32, release) → wasm-bindgen (ESM + .d.ts) → wasm-opt (npm's binaryen) → pkg/
// Usage: node scripts/build.mjs [--dev]   (--dev: debug build, no wasm-opt; for quick iteration)
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dev = process.argv.includes('--dev');
const profile = dev ? 'debug' : 'release';
const out = join(root, 'pkg');
const cargoWasm = join(root, 'target', 'wasm32-unknown-unknown', profile, 'localrank.wasm');

function run(cmd, args, env = {}) {
  console.log(`build: ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
}

run('cargo', ['build', '--lib', '-p', 'localrank', '--target', 'wasm32-unknown-unknown', ...(dev ? [] : ['--release'])]);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
run('wasm-bindgen', [cargoWasm, '--out-dir', out, '--out-name', 'localrank', '--target', 'web', '--typescript']);

const wasm = join(out, 'localrank_bg.wasm');
if (!dev) {
  // The features rustc's wasm32 target emits by default; wasm-opt must be told to keep them.
  const features = ['bulk-memory', 'sign-ext', 'mutable-globals', 'nontrapping-float-to-int', 'reference-types', 'multivalue', 'simd'];
  const optimized = join(out, 'localrank_bg.opt.wasm');
  run(join(root, 'node_modules', '.bin', 'wasm-opt'), [wasm, '-Os', ...features.map((f) => `--enable-${f}`), '-o', optimized]);
  copyFileSync(optimized, wasm);
  rmSync(optimized);
}

const bytes = readFileSync(wasm);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`build: pkg/localrank_bg.wasm ${kb(statSync(wasm).size)} raw, ${kb(gzipSync(bytes, { level: 9 }).length)} gzip (${profile})`);
