#!/usr/bin/env node
// Builds the npm package's wasm in one visible place:
//   cargo (wasm32, release) → wasm-bindgen (ESM + .d.ts) → wasm-opt (npm's binaryen) → pkg/
// The engine twice: a scalar build (every WebAssembly engine) and a SIMD128 build (the CPU
// forward pass's 4×8 tiles: ~0.9 ms instead of ~1.6 ms here). Both come from the same source,
// so they share one JS glue file — checked below — and js/index.js picks the .wasm with
// WebAssembly.validate. Then the report module (crate localrank-report-web: the lift
// experiment's sealing, prio + HPKE), a second small wasm js/index.js instantiates only when a
// finished day is due, so pages without an experiment never download it.
// Usage: node scripts/build.mjs [--dev | --profiling]
//   --dev: debug, scalar only (under both names), no wasm-opt
//   --profiling: release code without wasm-opt, so the .wasm keeps its function names and the
//     functions rustc kept apart (benches/browser/profile.mjs then names where time goes);
//     larger files, not for shipping
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dev = process.argv.includes('--dev');
const profiling = !dev && process.argv.includes('--profiling');
const profile = dev ? 'debug' : 'release';
const out = join(root, 'pkg');
// Honour CARGO_TARGET_DIR, as cargo does, so a shared or cached target directory works.
const targetRoot = process.env.CARGO_TARGET_DIR ? resolve(root, process.env.CARGO_TARGET_DIR) : join(root, 'target');
// The features rustc's wasm32 target emits by default; wasm-opt must be told to keep them.
const FEATURES = ['bulk-memory', 'sign-ext', 'mutable-globals', 'nontrapping-float-to-int', 'reference-types', 'multivalue'];

function run(cmd, args, env = {}) {
  console.log(`build: ${Object.entries(env).map(([k, v]) => `${k}=${v} `).join('')}${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
}

/**
 * cargo → wasm-bindgen into `dir`; returns the path of the bindgen'd .wasm. `crate` is the
 * cargo package, `name` the file stem in pkg/ (`localrank` → localrank.js, localrank_bg.wasm).
 */
function build({ simd, dir, crate = 'localrank', name = 'localrank' }) {
  // A separate target dir for the SIMD flags, so the two builds do not invalidate each other.
  const targetDir = simd ? join(targetRoot, 'wasm-simd') : targetRoot;
  const env = simd ? { CARGO_TARGET_DIR: targetDir, RUSTFLAGS: '-C target-feature=+simd128' } : {};
  run('cargo', ['build', '--lib', '-p', crate, '--target', 'wasm32-unknown-unknown', ...(dev ? [] : ['--release'])], env);
  const cargoWasm = join(targetDir, 'wasm32-unknown-unknown', profile, `${crate.replaceAll('-', '_')}.wasm`);
  mkdirSync(dir, { recursive: true });
  run('wasm-bindgen', [cargoWasm, '--out-dir', dir, '--out-name', name, '--target', 'web', '--typescript']);
  portableDeclarations(join(dir, `${name}.d.ts`));
  const wasm = join(dir, `${name}_bg.wasm`);
  if (!dev && !profiling) {
    const optimized = join(dir, `${name}_bg.opt.wasm`);
    const features = simd ? [...FEATURES, 'simd'] : FEATURES;
    run(join(root, 'node_modules', '.bin', 'wasm-opt'), [wasm, '-Os', ...features.map((f) => `--enable-${f}`), '-o', optimized]);
    copyFileSync(optimized, wasm);
    rmSync(optimized);
  }
  return wasm;
}

/**
 * wasm-bindgen declares `[Symbol.dispose](): void` on every exported class. That member needs
 * TypeScript's `esnext.disposable` lib, so a project on `lib: es2022` with `skipLibCheck: false`
 * fails on our .d.ts (TS2550). The package never hands those classes out (js/index.js wraps the
 * engine), so the declarations leave the member out; the method itself stays in the JS.
 */
function portableDeclarations(file) {
  const text = readFileSync(file, 'utf8');
  const portable = text.replace(/^[ \t]*\[Symbol\.dispose\]\(\): void;\r?\n/gm, '');
  if (portable.includes('Symbol.dispose')) throw new Error(`build: ${file} declares Symbol.dispose in a form portableDeclarations() does not know`);
  writeFileSync(file, portable);
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const report = (path, label) => {
  const bytes = readFileSync(path);
  console.log(`build: ${label} ${kb(statSync(path).size)} raw, ${kb(gzipSync(bytes, { level: 9 }).length)} gzip (${profile})`);
};

rmSync(out, { recursive: true, force: true });
report(build({ simd: false, dir: out }), 'pkg/localrank_bg.wasm (scalar)');
if (!dev) {
  const simdDir = join(targetRoot, 'pkg-simd');
  rmSync(simdDir, { recursive: true, force: true });
  const simdWasm = build({ simd: true, dir: simdDir });
  const glue = (dir) => readFileSync(join(dir, 'localrank.js'), 'utf8');
  if (glue(simdDir) !== glue(out)) {
    throw new Error('build: the SIMD and scalar builds produced different JS glue; they cannot share pkg/localrank.js');
  }
  copyFileSync(simdWasm, join(out, 'localrank_simd_bg.wasm'));
  report(join(out, 'localrank_simd_bg.wasm'), 'pkg/localrank_simd_bg.wasm (simd128)');
} else {
  // A dev build is scalar only; it answers for the SIMD file name too, so the loader works.
  copyFileSync(join(out, 'localrank_bg.wasm'), join(out, 'localrank_simd_bg.wasm'));
}
// The report module: scalar only (sealing one day takes ~2 ms; SIMD would not pay for a
// second copy), into pkg/ beside the engine.
report(build({ simd: false, dir: out, crate: 'localrank-report-web', name: 'localrank_report' }), 'pkg/localrank_report_bg.wasm (report module, loaded on demand)');
// The WebGPU module: scalar only (it dispatches GPU work; its own arithmetic is buffer
// copies), loaded by js/index.js when the engine first uses WebGPU.
report(build({ simd: false, dir: out, crate: 'localrank-gpu-web', name: 'localrank_gpu' }), 'pkg/localrank_gpu_bg.wasm (WebGPU module, loaded on demand)');
