#!/usr/bin/env node
// A bounded load test for a server on this machine (loopback only): N requests at a fixed
// concurrency, then requests/s, latency percentiles, errors, and — given the server's pid —
// its resident memory sampled during the run (to see it stay flat).
//   node scripts/loadtest.mjs --url http://127.0.0.1:8080/api/pool?context=home&n=200 \
//        [--requests 5000] [--concurrency 16] [--pid 1234] [--seconds 120]
import { readFileSync } from 'node:fs';
import http from 'node:http';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const url = new URL(arg('url', 'http://127.0.0.1:8080/healthz'));
if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
  console.error(`loadtest: refusing ${url.hostname}: loopback addresses only`);
  process.exit(2);
}
const total = Number(arg('requests', 5000));
const concurrency = Number(arg('concurrency', 16));
const pid = arg('pid');
const deadline = Date.now() + Number(arg('seconds', 120)) * 1000;

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const latencies = [];
const statuses = new Map();
let errors = 0;
let bytes = 0;
let issued = 0;

function rssKb() {
  if (!pid) return undefined;
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
  return match ? Number(match[1]) : undefined;
}

function once() {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const req = http.get(url, { agent }, (res) => {
      res.on('data', (chunk) => { bytes += chunk.length; });
      res.on('end', () => {
        latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        resolve();
      });
    });
    req.on('error', () => { errors += 1; resolve(); });
  });
}

async function worker() {
  while (issued < total && Date.now() < deadline) {
    issued += 1;
    await once();
  }
}

const memory = [rssKb()];
const sampler = setInterval(() => memory.push(rssKb()), 500);
const started = Date.now();
await Promise.all(Array.from({ length: concurrency }, worker));
const seconds = (Date.now() - started) / 1000;
clearInterval(sampler);
memory.push(rssKb());
agent.destroy();

latencies.sort((a, b) => a - b);
const pct = (q) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 100) / 100;
const rss = memory.filter((m) => m !== undefined);
console.log(JSON.stringify({
  url: url.href,
  requests: latencies.length,
  concurrency,
  seconds,
  rps: Math.round(latencies.length / seconds),
  p50_ms: pct(0.5),
  p90_ms: pct(0.9),
  p99_ms: pct(0.99),
  max_ms: pct(1),
  errors,
  statuses: Object.fromEntries(statuses),
  mb_received: Math.round(bytes / 1e5) / 10,
  ...(rss.length ? { rss_kb_first: rss[0], rss_kb_max: Math.max(...rss), rss_kb_last: rss.at(-1) } : {}),
}));
process.exit(errors || [...statuses.keys()].some((s) => s >= 400) ? 1 : 0);
