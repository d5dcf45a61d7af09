#!/usr/bin/env node
// Runs the in-browser benchmark cases (benches/browser/cases.js) in headless Chromium and
// prints one JSON line per case: median, p10/p90 and min/max in ms. Expects a release
// pkg/ (npm run bench:browser builds it). Usage:
//   node benches/browser/run.mjs [case-substring] [--no-webgpu] [--rounds N]
// `--rounds N` runs the chosen cases N times over in the same page (each line says its
// `round`): V8 runs a fresh page's wasm on its baseline compiler until it tiers hot functions
// up, so the first case of a run pays for that; compare cases within a later round.
import { blankPage, session } from '../../tests/js/browser.mjs';

const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Math.max(1, Number.parseInt(args[roundsAt + 1], 10) || 1) : 1;
const filter = args.find((a, i) => !a.startsWith('--') && (roundsAt < 0 || i !== roundsAt + 1)) ?? '';
const webgpu = !args.includes('--no-webgpu');

function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const round = (x) => Math.round(x * 1000) / 1000;
  return { n: sorted.length, median_ms: round(at(0.5)), p10_ms: round(at(0.1)), p90_ms: round(at(0.9)), min_ms: round(sorted[0]), max_ms: round(sorted.at(-1)) };
}

// Cross-origin isolated, so performance.now() has microseconds, not 0.1-ms steps.
const s = await session({ webgpu, isolate: true });
try {
  const { page } = await blankPage(s.browser, s.url);
  await page.goto(`${s.url}/benches/browser/index.html`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  // Says whether the timers are fine-grained (false: 0.1-ms steps, e.g. a resource the isolation blocked).
  console.log(JSON.stringify({ crossOriginIsolated: await page.evaluate(() => self.crossOriginIsolated) }));
  const names = await page.evaluate(() => Object.keys(window.localrankBench.cases));
  for (let round = 1; round <= rounds; round += 1) {
    for (const name of names.filter((n) => n.includes(filter))) {
      const { samples, total, params } = await page.evaluate((n) => window.localrankBench.cases[n](), name);
      // `mean_ms` (the whole loop's time / iterations) as well: the median of very short cases
      // sits on the timer's grain.
      const mean = total === undefined ? {} : { mean_ms: Math.round((total / samples.length) * 1e4) / 1e4 };
      console.log(JSON.stringify({ case: name, ...(rounds > 1 ? { round } : {}), ...params, ...summarize(samples), ...mean }));
    }
  }
} finally {
  await s.close();
}
