// localrank installed from its tarball into a fresh Vite project, with no localrank-specific
// configuration: `vite build` (served from the output folder only) and the dev server (whose
// dependency pre-bundling is the classic place where `new URL('…wasm', import.meta.url)` and
// `new Worker(new URL(…))` inside a package break). Vite 8, the current major, needs nothing;
// Vite 7's build needs nothing and its dev server needs the one line the README documents,
// which this test reads from the README and uses as written.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as vite8 from 'vite';
import * as vite7 from 'vite7';
import { ROOT, assertFromOutput, assertPackageWasm, assertPersonalized, browser, createProject, runApp, serveFolder } from './consumer.mjs';

let chromium;
before(async () => { chromium = await browser(); });
after(async () => { await chromium?.close(); });

function outputFiles(dir) {
  return readdirSync(dir, { recursive: true })
    .filter((name) => statSync(join(dir, name)).isFile())
    .map((name) => `${name} ${(statSync(join(dir, name)).size / 1024).toFixed(1)} KB`)
    .join(', ');
}

async function viteBuild(vite, label) {
  const project = createProject(label);
  try {
    const started = performance.now();
    await vite.build({ root: project.dir, configFile: false, logLevel: 'warn' });
    const buildMs = performance.now() - started;
    const outDir = join(project.dir, 'dist');
    const site = await serveFolder(outDir);
    try {
      const run = await runApp(chromium, `${site.url}/`);
      assertPersonalized(run, label);
      assertFromOutput(run, { url: site.url, outDir });
      console.log(`# ${label}: vite ${vite.version} build ${buildMs.toFixed(0)} ms; ${outputFiles(outDir)}`);
    } finally {
      await site.close();
    }
  } finally {
    project.cleanup();
  }
}

async function viteDev(vite, label, { configFile = false } = {}) {
  const project = createProject(label);
  try {
    if (configFile) writeFileSync(join(project.dir, 'vite.config.js'), configFile);
    const server = await vite.createServer({
      root: project.dir,
      configFile: configFile ? join(project.dir, 'vite.config.js') : false,
      logLevel: 'warn',
      server: { host: '127.0.0.1', port: 0 },
    });
    await server.listen();
    try {
      const url = server.resolvedUrls.local[0];
      const started = performance.now();
      const run = await runApp(chromium, url, { timeout: 15_000 });
      console.log(`# ${label}: vite ${vite.version} dev server, page ranked in ${(performance.now() - started).toFixed(0)} ms (wasm: ${run.responses.filter((r) => r.url.endsWith('.wasm')).map((r) => new URL(r.url).pathname).join(', ')})`);
      return run;
    } finally {
      await server.close();
    }
  } finally {
    project.cleanup();
  }
}

/** The README's Vite 7 dev-server config, verbatim (the block after <!-- vite7-dev-config -->). */
function readmeVite7Config() {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = readme.match(/<!-- vite7-dev-config -->\s*```js\n([\s\S]*?)```/);
  assert.ok(block, 'README.md documents the Vite 7 dev-server line');
  return block[1];
}

describe('Vite 8 (current), no configuration', () => {
  test('vite build: personalized in the page and in the worker, wasm from the output', async () => {
    await viteBuild(vite8, 'vite8-build');
  });

  test('dev server (dependency pre-bundling): personalized in the page and in the worker', async () => {
    const run = await viteDev(vite8, 'vite8-dev');
    assertPersonalized(run, 'vite8-dev');
    assertPackageWasm(run, 'vite8-dev');
  });
});

describe('Vite 7', () => {
  test('vite build, no configuration: personalized, wasm from the output', async () => {
    await viteBuild(vite7, 'vite7-build');
  });

  test('dev server with the README line: personalized in the page and in the worker', async () => {
    const config = readmeVite7Config();
    assert.match(config, /optimizeDeps:\s*\{\s*exclude:\s*\['localrank'\]\s*\}/);
    const run = await viteDev(vite7, 'vite7-dev-config', { configFile: config });
    assertPersonalized(run, 'vite7-dev-config');
    assertPackageWasm(run, 'vite7-dev-config');
  });

  test('dev server without it: esbuild pre-bundling loses the wasm (why the README line exists)', async () => {
    const run = await viteDev(vite7, 'vite7-dev-bare');
    assert.ok(!run.result?.page?.personalized, `if Vite 7 now handles it, drop the README line: ${JSON.stringify(run.result)}`);
    assert.ok(run.responses.some((r) => /\/\.vite\/.*\.wasm$/.test(r.url)), 'the wasm was looked for next to the pre-bundled copy');
  });
});
