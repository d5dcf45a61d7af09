// The README's no-bundler recipe, as written: the import map block (after
// <!-- importmap-sample -->) on a page served with the README's strict Content Security Policy,
// the package's files at /localrank/ exactly as the tarball has them. With the import map's
// hash in script-src, the bare `localrank` and `localrank/worker` imports work in the page and
// the worker; without it, the browser blocks the map (why the README's CSP line is there).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launch } from './browser.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
const sample = readme.match(/<!-- importmap-sample -->\s*```html\n([\s\S]*?)```/)?.[1];
const importMap = sample?.match(/<script type="importmap">([\s\S]*?)<\/script>/)?.[1];
const hash = importMap && `'sha256-${createHash('sha256').update(importMap).digest('base64')}'`;

const SHOP_JS = `import { open } from 'localrank';
import { openInWorker } from 'localrank/worker';
const violations = [];
document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective + ' ' + e.blockedURI));
const pool = { dim: 2, items: [{ id: 'a', vector: [1, 0], score: 2 }, { id: 'b', vector: [0, 1], score: 1 }] };
async function shop(engine) {
  await engine.record({ kind: 'view', item: 'x', vector: [0, 1] });
  return (await engine.rank(pool)).order;
}
try {
  window.__result = { page: await shop(await open({ storage: 'memory' })), worker: await shop(await openInWorker({ storage: 'memory' })), violations };
} catch (error) {
  window.__result = { error: String(error), violations };
}
`;

const TYPES = { '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm' };
let server;
let url;
let chromium;
let policy;

before(async () => {
  server = createServer(async (req, res) => {
    const path = normalize(new URL(req.url, 'http://x').pathname);
    const send = (status, type, body, headers = {}) => res.writeHead(status, { 'content-type': type, ...headers }).end(body);
    if (path === '/') {
      const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>shop</title><link rel="icon" href="data:,">\n${sample}</head><body></body></html>`;
      return send(200, 'text/html; charset=utf-8', html, { 'content-security-policy': policy });
    }
    if (path === '/shop.js') return send(200, TYPES['.js'], SHOP_JS);
    // /localrank/ = the package's own files, js/ and pkg/, as `npm pack` ships them.
    const inPackage = path.match(/^\/localrank\/((?:js|pkg)\/[\w./-]+)$/);
    if (inPackage) {
      const body = await readFile(join(ROOT, inPackage[1])).catch(() => null);
      if (body) return send(200, TYPES[extname(path)] ?? 'application/octet-stream', body);
    }
    send(404, 'text/plain', 'not found');
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${server.address().port}/`;
  chromium = await launch({ webgpu: false });
});
after(async () => {
  await chromium?.close();
  await new Promise((done) => server?.close(done) ?? done());
});

/** The policy line the README gives, with the import map's hash (or without it). */
function readmePolicy(withHash) {
  const line = readme.match(/Content-Security-Policy: (script-src 'self' 'wasm-unsafe-eval' 'sha256-<hash>'; worker-src 'self')/)?.[1];
  assert.ok(line, 'README.md gives the CSP line');
  return `default-src 'self'; ${line.replace(" 'sha256-<hash>'", withHash ? ` ${hash}` : '')}; object-src 'none'; base-uri 'none'`;
}

/** Loads the page; done when shop.js reports, or when the browser says it could not load it. */
async function visit() {
  const page = await chromium.newPage();
  const logs = [];
  let failed;
  const loadFailed = new Promise((resolve) => { failed = resolve; });
  const log = (line) => {
    logs.push(line);
    if (/Failed to resolve module specifier/.test(line)) failed();
  };
  page.on('console', (message) => log(message.text()));
  page.on('pageerror', (error) => log(`pageerror: ${error.message}`));
  try {
    await page.goto(url);
    await Promise.race([page.waitForFunction(() => window.__result, null, { timeout: 20_000 }).catch(() => {}), loadFailed]);
    return { result: await page.evaluate(() => window.__result ?? null), logs };
  } finally {
    await page.close();
  }
}

test('the README has the import map recipe', () => {
  assert.ok(sample && importMap, 'README.md has an ```html block with a <script type="importmap"> after <!-- importmap-sample -->');
  const map = JSON.parse(importMap).imports;
  assert.deepEqual(Object.keys(map).sort(), ['localrank', 'localrank/worker']);
});

test('import map + the README CSP with its hash: page and worker rank, no violation', async () => {
  policy = readmePolicy(true);
  const { result, logs } = await visit();
  assert.ok(result && !result.error, `${JSON.stringify(result)} | ${logs.join(' | ')}`);
  assert.deepEqual(result.page, ['b', 'a']);
  assert.deepEqual(result.worker, ['b', 'a']);
  assert.deepEqual(result.violations, []);
});

test('the same policy without the hash blocks the import map (the CSP line is needed)', async () => {
  policy = readmePolicy(false);
  const { result, logs } = await visit();
  assert.ok(!result?.page, `ranked without the hash?! ${JSON.stringify(result)}`);
  assert.ok(logs.some((line) => /Failed to resolve module specifier "localrank"/.test(line)), `the bare import failed: ${logs.join(' | ')}`);
  assert.ok(logs.some((line) => /Content Security Policy/i.test(line) && line.includes(hash)), `the browser reports the blocked map with its hash ${hash}: ${logs.join(' | ')}`);
});
