#!/usr/bin/env node
// Would the registries accept what we ship, and is it what we mean to ship? Run by
// scripts/test.sh after `node scripts/build.mjs` (pkg/ must be built).
//   - `npm pack --dry-run`: exactly the expected files (nothing missing, nothing stray), every
//     relative import / `new URL(…)` in the shipped JS and .d.ts resolves to a shipped file,
//     every `exports` target is shipped, and the tarball is at most MAX_TARBALL bytes;
//   - package.json carries real metadata (licence files present, repository not a placeholder);
//   - `npm publish --dry-run`: succeeds with no warning but the expected "not logged in" one
//     (npm warns, for example, when it has to auto-correct package.json);
//   - with --cargo: the crates meant for crates.io (CRATES below) carry the same metadata and
//     `cargo package -p localrank-core -p localrank-report -p localrank` accepts them, verified: each is built from
//     its packaged sources, which catches a file the build needs left out of the package. Cold,
//     that builds their dependencies once more (measured: 10 min on this 2-core machine while
//     other builds ran); warm, seconds. CARGO_PACKAGE_NO_VERIFY=1 skips the build (then it is the
//     file list and manifest checks only).
// Usage: node scripts/check-package.mjs [--cargo]
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/**
 * The budget for the packed tarball (the wasm files are most of it). 550 kB until
 * takeReport(): the lift report added 11.7 kB gzip to each engine wasm (settings check, due
 * check, mark) and the on-demand report module, pkg/localrank_report_bg.wasm (prio's
 * Prio3Histogram, HPKE with X25519 / HKDF-SHA256 / AES-128-GCM, DAP framing: 59.1 kB gzip),
 * which took the tarball from ~544 to ~643 kB (measured 2026-12-02; docs/measurement.md,
 * "Size in the page"). 720 kB since the text tower (issue 11): the tokenizer with Unicode
 * word and lower-case rules (7.1 kB gzip of Unicode tables: real catalogues say "Crème
 * fraîche"), the tower and the engine's text paths added ~16.5 kB gzip to each engine wasm,
 * taking the tarball to ~697 kB (measured 2026-12-03). The WebGPU runtime as its own on-demand
 * module (pkg/localrank_gpu_bg.wasm, 47.2 kB gzip; each engine wasm 23 kB smaller): 679 → 684 kB.
 */
export const MAX_TARBALL = 720 * 1000;
const EXPECTED = [
  'CHANGELOG.md',
  'LICENSE-APACHE',
  'LICENSE-MIT',
  'README.md',
  'js/index.d.ts',
  'js/index.js',
  'js/react.d.ts',
  'js/react.js',
  'js/support.js',
  'js/worker-entry.js',
  'js/worker.d.ts',
  'js/worker.js',
  'package.json',
  'pkg/localrank.d.ts',
  'pkg/localrank.js',
  'pkg/localrank_bg.wasm',
  'pkg/localrank_bg.wasm.d.ts',
  'pkg/localrank_gpu.d.ts',
  'pkg/localrank_gpu.js',
  'pkg/localrank_gpu_bg.wasm',
  'pkg/localrank_gpu_bg.wasm.d.ts',
  'pkg/localrank_report.d.ts',
  'pkg/localrank_report.js',
  'pkg/localrank_report_bg.wasm',
  'pkg/localrank_report_bg.wasm.d.ts',
  'pkg/localrank_simd_bg.wasm',
  // wasm-bindgen's copies of the engine's JS modules (src/idb/requests.js: IndexedDB's
  // requests), under a folder named after the crate's name and version: listed from pkg/ and
  // each checked below to be one the glue imports.
  ...snippets(),
].sort();

/** pkg/snippets/** (wasm-bindgen's local JS modules), as package paths. */
function snippets() {
  const dir = join(root, 'pkg', 'snippets');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).replaceAll('\\', '/'));
}

const kb = (n) => `${(n / 1000).toFixed(1)} kB`;
const npm = (args) => spawnSync('npm', args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });

function checkMetadata() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  assert.equal(pkg.license, 'MIT OR Apache-2.0');
  for (const file of ['LICENSE-MIT', 'LICENSE-APACHE']) assert.ok(existsSync(join(root, file)), `${file} exists`);
  assert.match(readFileSync(join(root, 'LICENSE-APACHE'), 'utf8'), /Apache License\s+Version 2\.0, January 2004/);
  assert.match(readFileSync(join(root, 'LICENSE-MIT'), 'utf8'), /^MIT License/);
  for (const field of ['description', 'homepage', 'repository', 'bugs', 'keywords']) assert.ok(pkg[field], `package.json has ${field}`);
  assert.doesNotMatch(JSON.stringify([pkg.homepage, pkg.repository, pkg.bugs]), /example\.(invalid|com)/, 'repository is not a placeholder');
  return pkg;
}

/** Relative specifiers a shipped JS/.d.ts file loads: imports, exports, dynamic imports, new URL. */
function relativeReferences(text) {
  const found = new Set();
  for (const re of [/\bfrom\s+'(\.{1,2}\/[^']+)'/g, /\bimport\(\s*'(\.{1,2}\/[^']+)'\s*\)/g, /new URL\(\s*'(\.{1,2}\/[^']+)'\s*,\s*import\.meta\.url/g]) {
    for (const match of text.matchAll(re)) found.add(match[1]);
  }
  return [...found];
}

function checkPack(pkg) {
  const result = npm(['pack', '--dry-run', '--json', '--loglevel=error']);
  assert.equal(result.status, 0, `npm pack --dry-run failed: ${result.stderr}`);
  const [packed] = JSON.parse(result.stdout);
  const files = packed.files.map((f) => f.path).sort();
  assert.deepEqual(files, EXPECTED, 'the tarball holds exactly the expected files');
  assert.ok(packed.size <= MAX_TARBALL, `tarball ${kb(packed.size)} is over the ${kb(MAX_TARBALL)} budget`);
  const shipped = new Set(files);
  const glueImports = relativeReferences(readFileSync(join(root, 'pkg', 'localrank.js'), 'utf8')).map((ref) => normalize(join('pkg', ref)).replaceAll('\\', '/'));
  for (const snippet of snippets()) assert.ok(glueImports.includes(snippet), `${snippet} is not imported by pkg/localrank.js (a stale build?)`);
  for (const file of files.filter((f) => /\.(js|d\.ts)$/.test(f))) {
    for (const ref of relativeReferences(readFileSync(join(root, file), 'utf8'))) {
      const target = normalize(join(dirname(file), ref)).replaceAll('\\', '/');
      assert.ok(shipped.has(target), `${file} refers to ${ref}, which is not in the tarball`);
    }
  }
  const targets = [pkg.main, pkg.types, ...Object.values(pkg.exports).flatMap((e) => Object.values(e))];
  for (const target of targets) assert.ok(shipped.has(normalize(target)), `${target} (package.json) is in the tarball`);
  console.log(`check-package: npm pack — ${files.length} files, ${kb(packed.size)} packed (budget ${kb(MAX_TARBALL)}), ${kb(packed.unpackedSize)} unpacked`);
}

function checkPublish() {
  // --offline: the dry run needs nothing from the registry; no credentials are used or needed.
  const result = npm(['publish', '--dry-run', '--offline', '--json']);
  assert.equal(result.status, 0, `npm publish --dry-run failed:\n${result.stderr}`);
  const warnings = result.stderr.split('\n').filter((line) => /^npm (warn|error)/i.test(line) && !/requires you to be logged in/.test(line));
  assert.deepEqual(warnings, [], 'npm publish --dry-run warns');
  console.log('check-package: npm publish --dry-run — clean');
}

/** The crates meant for crates.io (every other workspace member says `publish = false`). */
// localrank-report is published because `localrank` depends on it (it checks the DAP settings at
// open(); the sealing itself is the unpublished localrank-report-web, shipped in the npm package).
const CRATES = ['localrank-core', 'localrank-report', 'localrank'];

/**
 * The crates meant for crates.io: the same licence and repository as package.json, licence
 * files inside each crate, none of the npm/demo files in them, and `cargo package` builds them
 * from their packaged sources (together: localrank needs the unpublished localrank-core) with
 * no warning.
 */
function checkCargo(pkg) {
  const cargo = (args) => spawnSync('cargo', args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const meta = JSON.parse(execFileSync('cargo', ['metadata', '--no-deps', '--format-version', '1', '--offline'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 }));
  const publishable = meta.packages.filter((p) => p.publish === null);
  assert.deepEqual(publishable.map((p) => p.name).sort(), [...CRATES].sort(), 'the crates meant for crates.io (others: publish = false)');
  const repoUrl = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
  for (const crate of publishable) {
    assert.equal(crate.repository, repoUrl, `crate ${crate.name}: repository matches package.json`);
    assert.equal(crate.license, pkg.license, `crate ${crate.name}: licence matches package.json`);
    for (const field of ['description', 'readme', 'homepage']) assert.ok(crate[field], `crate ${crate.name} has ${field}`);
    assert.ok(crate.keywords.length > 0 && crate.categories.length > 0, `crate ${crate.name} has keywords and categories`);
  }
  const selection = CRATES.flatMap((name) => ['-p', name]);
  for (const name of CRATES) {
    const list = cargo(['package', '-p', name, '--list', '--allow-dirty', '--offline']);
    assert.equal(list.status, 0, `cargo package --list -p ${name}: ${list.stderr}`);
    const files = list.stdout.trim().split('\n');
    for (const file of ['LICENSE-MIT', 'LICENSE-APACHE', 'README.md', 'Cargo.toml']) assert.ok(files.includes(file), `crate ${name} ships ${file}`);
    const stray = files.filter((file) => /^(js|www|pkg|node_modules|scripts|tests\/(js|bundlers|e2e|types))\/|^package(-lock)?\.json$/.test(file));
    assert.deepEqual(stray, [], `crate ${name} ships none of the npm package, demo or JS tests`);
  }
  // Cargo keeps the sibling crates it packaged before in target/package/tmp-registry, keyed by
  // version only: after a change to localrank-core without a version bump, `localrank` would be
  // verified against the stale copy. Start from an empty package folder every time.
  rmSync(join(meta.target_directory, 'package'), { recursive: true, force: true });
  // Likewise the copies cargo extracted from that local registry into CARGO_HOME (folders named
  // `-<hash>`, never a real registry's): they are not re-extracted when the .crate changes.
  const cargoHome = process.env.CARGO_HOME ?? join(homedir(), '.cargo');
  for (const kind of ['src', 'cache']) {
    const root = join(cargoHome, 'registry', kind);
    if (!existsSync(root)) continue;
    for (const registry of readdirSync(root).filter((name) => name.startsWith('-'))) {
      for (const name of CRATES) {
        const version = meta.packages.find((p) => p.name === name).version;
        rmSync(join(root, registry, kind === 'src' ? `${name}-${version}` : `${name}-${version}.crate`), { recursive: true, force: true });
      }
    }
  }
  // And the verification build's compiled copy of that registry crate: cargo treats registry
  // crates as immutable and would link the stale one. The local path crate just rebuilds (~10 s).
  for (const dir of ['.fingerprint', 'deps']) {
    const root = join(meta.target_directory, 'debug', dir);
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).filter((n) => /^(lib)?localrank[-_](core|report)-/.test(n))) rmSync(join(root, name), { recursive: true, force: true });
  }
  // Verified unless CARGO_PACKAGE_NO_VERIFY is set (see the top of this file).
  const started = performance.now();
  const packaged = cargo(['package', ...selection, '--allow-dirty', '--offline', ...(process.env.CARGO_PACKAGE_NO_VERIFY ? ['--no-verify'] : [])]);
  assert.equal(packaged.status, 0, `cargo package failed:\n${packaged.stderr}`);
  const warnings = packaged.stderr.split('\n').filter((line) => /^warning/.test(line));
  assert.deepEqual(warnings, [], `cargo package warns:\n${packaged.stderr}`);
  const crates = CRATES.map((name) => {
    const file = join(meta.target_directory, 'package', `${name}-${meta.packages.find((p) => p.name === name).version}.crate`);
    return `${name} ${kb(statSync(file).size)}`;
  });
  console.log(`check-package: cargo package ${CRATES.join(' + ')} — clean (${crates.join(', ')}; ${((performance.now() - started) / 1000).toFixed(0)} s${process.env.CARGO_PACKAGE_NO_VERIFY ? ', not verified' : ', verified'})`);
}

const pkg = checkMetadata();
checkPack(pkg);
checkPublish();
if (process.argv.includes('--cargo')) checkCargo(pkg);
