// localrank installed from its tarball into a fresh project built with webpack 5 (its Node
// API), with no localrank-specific configuration — entry and output only. webpack turns
// `new URL('…wasm', import.meta.url)` into hashed asset files and `new Worker(new URL(…))`
// into a worker chunk by itself; the output folder is served alone and the app must be
// personalized in the page and in the worker, with the wasm from that folder.
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import webpack from 'webpack';
import { assertFromOutput, assertPersonalized, browser, createProject, runApp, serveFolder } from './consumer.mjs';

let chromium;
before(async () => { chromium = await browser(); });
after(async () => { await chromium?.close(); });

test('webpack 5 production build: personalized in the page and in the worker, wasm from the output', async () => {
  const project = createProject('webpack');
  try {
    const outDir = join(project.dir, 'dist');
    const started = performance.now();
    const stats = await new Promise((resolve, reject) => {
      webpack({ mode: 'production', context: project.dir, entry: './main.js', output: { path: outDir } }, (error, result) => (error ? reject(error) : resolve(result)));
    });
    const buildMs = performance.now() - started;
    const info = stats.toJson({ all: false, errors: true, warnings: true, assets: true });
    assert.deepEqual(info.errors, [], 'webpack compiled without errors');
    // webpack's own page (it has no HTML step without a plugin): the bundle as a plain script.
    writeFileSync(join(outDir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>shop</title><link rel="icon" href="data:,"><ol id="ranked"></ol><pre id="out"></pre><script src="main.js"></script>\n');
    const site = await serveFolder(outDir);
    try {
      const run = await runApp(chromium, `${site.url}/`);
      assertPersonalized(run, 'webpack');
      assertFromOutput(run, { url: site.url, outDir });
    } finally {
      await site.close();
    }
    const files = readdirSync(outDir).map((name) => `${name} ${(statSync(join(outDir, name)).size / 1024).toFixed(1)} KB`).join(', ');
    const warnings = info.warnings.map((w) => w.message.split('\n')[0]).join('; ');
    console.log(`# webpack ${webpack.version} build ${buildMs.toFixed(0)} ms; ${files}${warnings ? `; warnings: ${warnings}` : ''}`);
  } finally {
    project.cleanup();
  }
});
