#!/usr/bin/env node
// A small static file server for the JS tests and the browser benchmarks: the package's files
// as they are in the repository (js/, pkg/) and the test and benchmark pages. Serves only
// those folders (never .git, target/ or the data cache), on loopback. The demo storefront is
// served by the candidate service from its Vite build (`npm start`), not by this server.
// Usage: node scripts/serve.mjs [--port 8080]   (or PORT=8080)
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SERVED = ['js', 'pkg', 'benches/browser', 'tests/js/pages'];
// Trained artifacts (public model and item vectors), for the benchmarks; absent on a fresh clone.
const ALIASES = { artifacts: '.cache/localrank/artifacts' };
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ts': 'text/plain; charset=utf-8',
};

/** Maps a URL path to a file under one of the served folders, or null. */
function resolve(urlPath) {
  const path = decodeURIComponent(urlPath.split('?')[0]);
  const relative = normalize(path).replace(/^[/\\]+/, '');
  if (relative.split(sep).includes('..')) return null;
  const [head, ...rest] = relative.split('/');
  if (ALIASES[head] && rest.length) return join(root, ALIASES[head], ...rest);
  return SERVED.some((dir) => relative === dir || relative.startsWith(dir + '/')) ? join(root, relative) : null;
}

/**
 * Starts the server; resolves with { server, url } once it listens. `isolate`: every response
 * says COOP same-origin + COEP require-corp, so pages are cross-origin isolated and
 * `performance.now()` keeps microseconds instead of 0.1-ms steps (the benchmarks).
 */
export function startServer({ port = 0, host = '127.0.0.1', log = false, isolate = false } = {}) {
  const server = createServer(async (req, res) => {
    const done = (status) => log && console.log(`${new Date().toISOString()} ${req.method} ${req.url} ${status}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return done(405);
    }
    const file = resolve(req.url ?? '/');
    const info = file && (await stat(file).catch(() => null));
    if (!info || !info.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return done(404);
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': 'no-cache',
      ...(isolate ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {}),
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
    done(200);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok({ server, url: `http://${host}:${server.address().port}` }));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const flag = process.argv.indexOf('--port');
  const port = Number(flag > 0 ? process.argv[flag + 1] : (process.env.PORT ?? 8080));
  const { server, url } = await startServer({ port, log: true });
  console.log(`localrank test pages: ${url}/tests/js/pages/blank.html, benchmarks: ${url}/benches/browser/  (Ctrl-C to stop)`);
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
