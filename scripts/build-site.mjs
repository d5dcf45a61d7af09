#!/usr/bin/env node
// Builds the demo storefront — www/, a Vite project (www/vite.config.js) — into www/dist, the
// folder the candidate service serves. It bundles the pages with the npm package (js/ + pkg/,
// so build pkg/ first: `node scripts/build.mjs`) and copies the .wasm files it references.
// Takes about a second; `npm start` runs it every time.
// Usage: node scripts/build-site.mjs [--out-dir DIR]
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'vite';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SITE_DIST = join(ROOT, 'www', 'dist');

/** Builds the site into `outDir` (default www/dist); resolves with the folder. */
export async function buildSite({ outDir = SITE_DIST, logLevel = 'info' } = {}) {
  for (const file of ['localrank.js', 'localrank_bg.wasm', 'localrank_simd_bg.wasm']) {
    if (!existsSync(join(ROOT, 'pkg', file))) {
      throw new Error(`pkg/${file} is missing: build the wasm package first (node scripts/build.mjs)`);
    }
  }
  await build({ configFile: join(ROOT, 'www', 'vite.config.js'), logLevel, build: { outDir } });
  return outDir;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const flag = process.argv.indexOf('--out-dir');
  const outDir = flag > 0 ? resolve(process.argv[flag + 1]) : SITE_DIST;
  try {
    await buildSite({ outDir });
  } catch (error) {
    console.error(`build-site: ${error.message}`);
    process.exit(1);
  }
}
