#!/usr/bin/env node
// Profiles one in-browser benchmark case with Chromium's sampling profiler (CDP) and prints
// the functions with the most self time: where a case's time goes inside the wasm. Names
// need a wasm that kept its name section: `node scripts/build.mjs --profiling` builds one
// (rebuild without the flag afterwards).
// Usage: node benches/browser/profile.mjs CASE [--iterations N] [--top K] [--callers] [--no-webgpu]
import { blankPage, session } from '../../tests/js/browser.mjs';

const args = process.argv.slice(2);
const option = (flag, fallback) => {
  const at = args.indexOf(flag);
  const value = at >= 0 ? Number.parseInt(args[at + 1], 10) : fallback;
  if (!(value > 0)) throw new Error(`${flag} takes a positive whole number`);
  return value;
};
const name = args.find((a, i) => !a.startsWith('--') && !['--iterations', '--top'].includes(args[i - 1]));
if (!name) throw new Error('usage: node benches/browser/profile.mjs CASE [--iterations N] [--top K] [--callers] [--no-webgpu]');
const iterations = option('--iterations', 2000);
const top = option('--top', 30);

const s = await session({ webgpu: !args.includes('--no-webgpu'), isolate: true });
try {
  const { page } = await blankPage(s.browser, s.url);
  await page.goto(`${s.url}/benches/browser/index.html`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  // One unprofiled run first, so V8 has tiered the wasm up (benches/browser/run.mjs, --rounds).
  await page.evaluate(([n, k]) => window.localrankBench.cases[n]({ iterations: k }), [name, Math.min(iterations, 200)]);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
  await cdp.send('Profiler.start');
  await page.evaluate(([n, k]) => window.localrankBench.cases[n]({ iterations: k }), [name, iterations]);
  const { profile } = await cdp.send('Profiler.stop');
  // Self time per function: each sample is charged to the node it landed in.
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const counts = new Map();
  for (const id of profile.samples) {
    const frame = byId.get(id).callFrame;
    const key = frame.functionName || `(anonymous ${frame.url.split('/').pop()}:${frame.lineNumber})`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length;
  const idle = (counts.get('(idle)') ?? 0) + (counts.get('(program)') ?? 0) + (counts.get('(garbage collector)') ?? 0);
  console.log(`${name}: ${total} samples (${iterations} iterations); idle/program/gc ${((100 * idle) / total).toFixed(1)} %`);
  // Each function's callers too (`--callers`): generic names such as `Map::fold` say little alone.
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  const nameOf = (node) => node.callFrame.functionName || "(anonymous)";
  const callers = new Map();
  for (const id of profile.samples) {
    const node = byId.get(id);
    // The nearest caller that is not a std iterator or Vec helper.
    let parent = parentOf.get(node.id);
    while (parent && /^(<core::iter|<alloc::vec|alloc::vec|core::iter|<T as alloc)/.test(nameOf(parent))) parent = parentOf.get(parent.id);
    const key = `${nameOf(node)} <- ${parent ? nameOf(parent) : "(root)"}`;
    callers.set(key, (callers.get(key) ?? 0) + 1);
  }
  for (const [fn, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * n) / total).toFixed(1).padStart(5)} %  ${fn}`);
    if (!args.includes('--callers')) continue;
    for (const [key, m] of [...callers].filter(([k]) => k.startsWith(`${fn} <- `)).sort((a, b) => b[1] - a[1]).slice(0, 3)) {
      console.log(`         ${((100 * m) / total).toFixed(1).padStart(5)} %  called from ${key.slice(fn.length + 4)}`);
    }
  }
} finally {
  await s.close();
}
