// localrank in a Next.js (App Router) storefront, the way such a storefront would write it: a
// server component builds the homepage's pool and renders a client component that uses
// `localrank/react` — the engine in the page for one shelf, in a Web Worker for the other.
// `next build` (Next's default bundler), then `next start` on a loopback port:
//   - the server's HTML (no JavaScript run) lists the pool in the server's order;
//   - in Chromium, both shelves are then personalized, with the package's SIMD wasm.
// No next.config at all: nothing localrank-specific, nothing at all.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { addDependencies, assertPackageWasm, assertPersonalized, assertOnDemandModulesEmitted, browser, createProject, runApp } from './consumer.mjs';

const LAYOUT = `export const metadata = { title: 'shop' };

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <head><link rel="icon" href="data:," /></head>
      <body>{children}</body>
    </html>
  );
}
`;

// The server side: the same pool for everyone (three categories pointing three ways, coffee
// last), rendered by the client component below — on the server first.
const PAGE = `import Shelves from './shelves';

function homepagePool() {
  const categories = ['bread', 'milk', 'coffee'];
  const items = [];
  categories.forEach((category, c) => {
    for (let k = 0; k < 4; k++) {
      const vector = [0.05, 0.05, 0.05];
      vector[c] = 1;
      items.push({ id: category + '-' + k, vector, category, score: 100 - 10 * c - k, title: category + ' #' + k });
    }
  });
  return { dim: 3, items };
}

export default function Home() {
  return <Shelves pool={homepagePool()} />;
}
`;

// The client component: the shopper looks at and buys coffee, then the shelf is ranked.
const SHELVES = `'use client';
import { useEffect, useState } from 'react';
import { useLocalRank, useRankedPool } from 'localrank/react';

const results = {};
function report(mode, value) {
  results[mode] = value;
  if (results.page && results.worker) window.__localrank = { ...results };
}

function Shelf({ pool, mode }) {
  const { engine, error } = useLocalRank({ database: 'shop-' + mode }, { worker: mode === 'worker' });
  const [shopped, setShopped] = useState(false);
  useEffect(() => {
    if (!engine) return;
    const coffee = pool.items.filter((item) => item.category === 'coffee');
    (async () => {
      await engine.record({ kind: 'view', item: coffee[1].id, category: 'coffee', vector: coffee[1].vector });
      await engine.record({ kind: 'cart', item: coffee[2].id, category: 'coffee', vector: coffee[2].vector });
      setShopped(true);
    })().catch((e) => report(mode, { error: String(e) }));
  }, [engine, pool]);
  const { items, personalized, ranking } = useRankedPool(shopped ? engine : null, pool);
  useEffect(() => {
    if (error) report(mode, { error: error.code + ': ' + error.message });
    if (!ranking) return;
    engine.status().then((status) => report(mode, { personalized: ranking.personalized, reason: ranking.reason ?? null, order: ranking.order, storage: status.storage }));
  }, [engine, error, ranking]);
  return (
    <ol id={mode === 'page' ? 'ranked' : 'ranked-' + mode} data-personalized={String(personalized)}>
      {items.map((item) => <li key={item.id}>{item.id}</li>)}
    </ol>
  );
}

export default function Shelves({ pool }) {
  return (
    <main>
      <Shelf pool={pool} mode="page" />
      <Shelf pool={pool} mode="worker" />
    </main>
  );
}
`;

const FILES = {
  'app/layout.js': LAYOUT,
  'app/page.js': PAGE,
  'app/shelves.js': SHELVES,
};

let chromium;
before(async () => { chromium = await browser(); });
after(async () => { await chromium?.close(); });

/** A free loopback port (asked of the OS, then released for next start). */
async function freePort() {
  const server = createServer();
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

/** Runs next's CLI in the project; resolves with its output, rejects on a non-zero exit. */
function next(dir, args, { until } = {}) {
  const child = spawn(process.execPath, [join(dir, 'node_modules', 'next', 'dist', 'bin', 'next'), ...args], {
    cwd: dir,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so stop() ends next and anything it started
  });
  let output = '';
  const done = new Promise((resolve, reject) => {
    const collect = (chunk) => {
      output += chunk;
      if (until && until.test(output)) resolve(output);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('exit', (code, signal) => (code === 0 ? resolve(output) : reject(new Error(`next ${args.join(' ')} exited with ${code ?? signal}:\n${output}`))));
  });
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
    }
    return new Promise((ok) => (child.exitCode !== null || child.signalCode !== null ? ok() : child.once('exit', ok)));
  };
  return { done, stop, output: () => output };
}

const sizes = (dir) => readdirSync(dir, { recursive: true })
  .filter((name) => name.endsWith('.wasm') && statSync(join(dir, name)).isFile())
  .map((name) => `${name} ${(statSync(join(dir, name)).size / 1024).toFixed(1)} KB`);

test('Next.js App Router: next build + next start; server order in the HTML, personalized in the browser (page and worker)', async () => {
  const project = createProject('next', { files: FILES });
  try {
    addDependencies(project.dir, ['next', 'react', 'react-dom']);
    const started = performance.now();
    const build = next(project.dir, ['build']);
    const buildLog = await build.done;
    const buildMs = performance.now() - started;
    assert.match(buildLog, /Compiled successfully|Generating static pages/, buildLog);

    const port = await freePort();
    const server = next(project.dir, ['start', '--hostname', '127.0.0.1', '--port', String(port)], { until: /Ready in|started server/i });
    try {
      await server.done;
      const url = `http://127.0.0.1:${port}`;

      // The server render: the pool in the server's order, nothing personalized, no error.
      const html = await (await fetch(`${url}/`)).text();
      const serverOrder = [...html.matchAll(/<ol id="ranked"[^>]*>(.*?)<\/ol>/g)].map((m) => [...m[1].matchAll(/<li>([^<]+)<\/li>/g)].map((li) => li[1]));
      assert.equal(serverOrder.length, 1, `the page shelf is in the server's HTML: ${html.slice(0, 2000)}`);
      assert.deepEqual(serverOrder[0].slice(0, 4), ['bread-0', 'bread-1', 'bread-2', 'bread-3'], 'server order');
      assert.equal(serverOrder[0].length, 12);
      assert.match(html, /<ol id="ranked" data-personalized="false">/);

      // In the browser: hydrated, the engine opened in the page and in a worker, ranked.
      const run = await runApp(chromium, `${url}/`);
      assertPersonalized(run, 'next');
      assertPackageWasm(run, 'next');
      assertOnDemandModulesEmitted(join(project.dir, '.next'));
      console.log(`# next build ${buildMs.toFixed(0)} ms (${/▲ Next\.js [^\n]*/.exec(buildLog)?.[0] ?? 'next'}); wasm in .next: ${sizes(join(project.dir, '.next')).join(', ')}`);
    } finally {
      await server.stop();
    }
  } finally {
    project.cleanup();
  }
});
