// A storefront that installed localrank from npm, for the bundler tests: the package is packed
// (`npm pack`, the files a registry install gets) and installed into a fresh project in a
// temporary folder (`npm install <tarball>`: real files in node_modules/localrank, not a
// symlink — bundlers treat linked packages as source, installed ones as dependencies). The
// project's app imports `localrank` (engine in the page) and `localrank/worker` (engine in a
// Web Worker), records a few events with item vectors and categories, ranks a small pool and
// puts both rankings on `window.__localrank` and in the DOM. No localrank-specific bundler
// configuration anywhere.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from '../js/browser.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WASM_FILES = ['localrank_bg.wasm', 'localrank_simd_bg.wasm'];
/**
 * Modules js/index.js loads on demand: the lift report's sealing (a day due) and the WebGPU
 * runtime (the engine's first WebGPU call). These apps use neither, so they never fetch them.
 */
const ON_DEMAND_WASM = { 'localrank_report_bg.wasm': 'the report module, for takeReport()', 'localrank_gpu_bg.wasm': 'the WebGPU module' };

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>shop</title><link rel="icon" href="data:,"></head>
<body>
  <ol id="ranked"></ol>
  <pre id="out">ranking…</pre>
  <script type="module" src="./main.js"></script>
</body>
</html>
`;

// The app: three categories pointing three ways; the shopper looks at and buys coffee, the least
// popular category, so a personalized ranking puts coffee first where the server put it last.
const MAIN_JS = `import { open } from 'localrank';
import { openInWorker } from 'localrank/worker';

const categories = ['bread', 'milk', 'coffee'];
const pool = { dim: 3, items: [] };
categories.forEach((category, c) => {
  for (let k = 0; k < 4; k++) {
    const vector = [0.05, 0.05, 0.05];
    vector[c] = 1;
    pool.items.push({ id: category + '-' + k, vector, category, score: 100 - 10 * c - k });
  }
});

async function shop(engine) {
  const coffee = pool.items.filter((item) => item.category === 'coffee');
  await engine.record({ kind: 'view', item: coffee[1].id, category: 'coffee', vector: coffee[1].vector });
  await engine.record({ kind: 'cart', item: coffee[2].id, category: 'coffee', vector: coffee[2].vector });
  const ranking = await engine.rank(pool);
  const status = await engine.status();
  return { personalized: ranking.personalized, reason: ranking.reason ?? null, order: ranking.order, storage: status.storage };
}

async function main() {
  const page = await shop(await open({ database: 'shop-page' }));
  const worker = await shop(await openInWorker({ database: 'shop-worker' }));
  return { page, worker };
}

main().then(
  (result) => {
    window.__localrank = result;
    document.getElementById('ranked').replaceChildren(...result.page.order.map((id) => Object.assign(document.createElement('li'), { textContent: id })));
    document.getElementById('out').textContent = JSON.stringify(result, null, 2);
  },
  (error) => {
    window.__localrank = { error: String(error?.stack ?? error) };
    document.getElementById('out').textContent = 'failed: ' + error;
  },
);
`;

const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
/** sha256 → file name of the package's two wasm builds, to recognise them in any output. */
export function packageWasm() {
  return new Map(WASM_FILES.map((name) => [sha(readFileSync(join(ROOT, 'pkg', name))), name]));
}

/**
 * Packs the package (pkg/ must be built: node scripts/build.mjs) and installs the tarball into
 * a fresh project with the app: `files` (relative path → text), by default the plain
 * index.html + main.js app above. Returns { dir, tarball, cleanup }.
 */
export function createProject(label, { files = { 'index.html': INDEX_HTML, 'main.js': MAIN_JS } } = {}) {
  for (const name of ['localrank.js', ...WASM_FILES]) {
    if (!existsSync(join(ROOT, 'pkg', name))) throw new Error(`pkg/${name} is missing: build the package first (node scripts/build.mjs)`);
  }
  const base = mkdtempSync(join(tmpdir(), `localrank-${label}-`));
  const [{ filename }] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', base], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  const dir = join(base, 'shop');
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'shop', private: true, type: 'module' }, null, 2));
  // Offline: the package has no dependencies, so nothing is fetched.
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', join(base, filename)], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  const installed = join(dir, 'node_modules', 'localrank');
  assert.ok(lstatSync(installed).isDirectory() && !lstatSync(installed).isSymbolicLink(), 'installed as real files');
  for (const name of [...WASM_FILES, ...Object.keys(ON_DEMAND_WASM)]) assert.ok(existsSync(join(installed, 'pkg', name)), `the tarball holds pkg/${name}`);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return { dir, tarball: join(base, filename), cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/**
 * Puts `names` (and everything they depend on) into the project's node_modules as real files,
 * hard-linked from this repository's node_modules (same versions as package-lock.json; no
 * registry, no copying of hundreds of MB). For frameworks (Next.js, React) the project needs
 * besides localrank. Returns the installed package names.
 */
export function addDependencies(dir, names) {
  const lock = JSON.parse(readFileSync(join(ROOT, 'node_modules', '.package-lock.json'), 'utf8')).packages;
  // Node's lookup: from node_modules/a/node_modules/b, try …/b/node_modules/d, …/a/node_modules/d, node_modules/d.
  const resolve = (from, dep) => {
    for (let base = from; base; base = base.includes('/node_modules/') ? base.slice(0, base.lastIndexOf('/node_modules/')) : '') {
      if (lock[`${base}/node_modules/${dep}`]) return `${base}/node_modules/${dep}`;
    }
    return lock[`node_modules/${dep}`] ? `node_modules/${dep}` : undefined;
  };
  const seen = new Set();
  const queue = names.map((name) => {
    if (!lock[`node_modules/${name}`]) throw new Error(`${name} is not in node_modules (npm ci first)`);
    return `node_modules/${name}`;
  });
  while (queue.length) {
    const path = queue.shift();
    if (seen.has(path)) continue;
    seen.add(path);
    const entry = lock[path];
    const optionalPeers = entry.peerDependenciesMeta ?? {};
    const deps = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((peer) => !optionalPeers[peer]?.optional),
      ...Object.keys(entry.optionalDependencies ?? {}),
    ];
    for (const dep of deps) {
      const found = resolve(path, dep);
      if (found) queue.push(found);
      else if (!(dep in (entry.optionalDependencies ?? {}))) throw new Error(`${path} needs ${dep}, which is not installed`);
    }
  }
  // Top-level folders only: a nested node_modules travels with its parent.
  const top = [...seen].filter((path) => path.lastIndexOf('node_modules/') === 0).map((path) => path.slice('node_modules/'.length)).sort();
  for (const name of top) {
    const target = join(dir, 'node_modules', name);
    mkdirSync(dirname(target), { recursive: true });
    execFileSync('cp', ['-al', join(ROOT, 'node_modules', name), target]);
  }
  return top;
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css', '.wasm': 'application/wasm', '.svg': 'image/svg+xml' };

/** A static server for one folder (a bundle's output) and nothing outside it. */
export async function serveFolder(root) {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^[/\\]+/, '') || 'index.html';
    const file = join(root, path);
    const info = path.split(sep).includes('..') ? null : await stat(file).catch(() => null);
    if (!info?.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': info.size });
    createReadStream(file).pipe(res);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((done) => server.close(done)) };
}

/** One shared Chromium (WebGPU off: the CPU path is the one every browser has). */
export async function browser() {
  return launch({ webgpu: false });
}

/**
 * Opens the app at `url` in a fresh context and waits for its result. Returns the result, every
 * request with its response status, content type and (for .wasm) body hash, the page errors
 * and the number of workers the page started.
 */
export async function runApp(chromium, url, { timeout = 30_000 } = {}) {
  const context = await chromium.newContext();
  const page = await context.newPage();
  const responses = [];
  const errors = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => { if (message.type() === 'error') errors.push(`console: ${message.text()}`); });
  const pending = [];
  page.on('response', (response) => {
    pending.push((async () => {
      const entry = { url: response.url(), status: response.status(), type: response.headers()['content-type'] ?? '' };
      if (new URL(entry.url).pathname.endsWith('.wasm') && response.ok()) entry.sha = sha(await response.body());
      responses.push(entry);
    })());
  });
  let workers = 0;
  page.on('worker', () => { workers += 1; });
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.__localrank, null, { timeout }).catch(() => {});
    const result = await page.evaluate(() => window.__localrank ?? null);
    const listed = await page.$$eval('#ranked li', (items) => items.map((li) => li.textContent));
    await Promise.all(pending);
    return { result, listed, responses, errors, workers };
  } finally {
    await context.close();
  }
}

/** The checks every bundler run must pass: personalized in the page and in the worker. */
export function assertPersonalized(run, label) {
  const detail = () => `${label}: ${JSON.stringify({ result: run.result, errors: run.errors, responses: run.responses.map((r) => `${r.status} ${r.url}`) }, null, 1)}`;
  assert.ok(run.result && !run.result.error, detail());
  for (const mode of ['page', 'worker']) {
    const ranking = run.result[mode];
    assert.equal(ranking.personalized, true, `${mode}: personalized — ${detail()}`);
    assert.match(ranking.order[0], /^coffee-/, `${mode}: the shopper's category first`);
    assert.deepEqual(ranking.order.slice(0, 4).map((id) => id.split('-')[0]), ['coffee', 'coffee', 'coffee', 'coffee'], `${mode}: coffee rose from the bottom`);
    assert.equal(ranking.storage, 'indexeddb', `${mode}: history in IndexedDB`);
  }
  assert.deepEqual(run.listed, run.result.page.order, 'the ranking is on the page');
  assert.equal(run.workers, 1, 'localrank/worker started one Web Worker');
  assert.deepEqual(run.errors, [], 'no page errors');
  const failed = run.responses.filter((r) => r.status >= 400);
  assert.deepEqual(failed, [], 'every request succeeded');
}

/**
 * The wasm the page and the worker fetched: the package's SIMD build (Chromium has SIMD),
 * served as application/wasm, byte for byte. Returns the fetched wasm responses.
 */
export function assertPackageWasm(run, label) {
  const known = packageWasm();
  const wasm = run.responses.filter((r) => new URL(r.url).pathname.endsWith('.wasm'));
  assert.ok(wasm.length >= 1, `${label}: a .wasm was fetched — ${run.responses.map((r) => r.url).join(' ')}`);
  for (const r of wasm) {
    assert.equal(r.type, 'application/wasm', `${r.url} content type`);
    assert.equal(known.get(r.sha), 'localrank_simd_bg.wasm', `${r.url} is the package's SIMD build`);
  }
  return wasm;
}

/**
 * The fetched wasm came from the bundle's output folder `outDir`, served at `url`: its path is
 * a file inside that folder (the static server serves nothing else), holding those bytes.
 */
export function assertFromOutput(run, { url, outDir }) {
  for (const r of assertPackageWasm(run, outDir)) {
    assert.ok(r.url.startsWith(`${url}/`), `${r.url} is served with the bundle`);
    const file = join(outDir, decodeURIComponent(new URL(r.url).pathname));
    assert.ok(existsSync(file), `${file} is in the output`);
    assert.equal(sha(readFileSync(file)), r.sha);
  }
  assertOnDemandModulesEmitted(outDir);
}

/**
 * The on-demand modules' wasm (loaded only when a report day is due / WebGPU is first used, so
 * these apps never fetch them) are still in the build output, byte for byte: a storefront
 * that needs them gets them from its own bundle.
 */
export function assertOnDemandModulesEmitted(outDir) {
  const emitted = new Set(readdirSync(outDir, { recursive: true })
    .filter((name) => name.endsWith('.wasm') && statSync(join(outDir, name)).isFile())
    .map((name) => sha(readFileSync(join(outDir, name)))));
  for (const [name, what] of Object.entries(ON_DEMAND_WASM)) {
    assert.ok(emitted.has(sha(readFileSync(join(ROOT, 'pkg', name)))), `${outDir} holds ${what} (pkg/${name})`);
  }
}
