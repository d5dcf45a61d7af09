#!/usr/bin/env node
// Reproduces the "logs of different shapes" table in docs/training.md: writes the seeded store
// logs (`localrank data shapes`), then runs the same no-flag procedure on each —
// `localrank train --dataset LOG` and `localrank eval --dataset LOG` — and prints localrank vs
// item-kNN, BPR-MF and popularity (test NDCG@10, full ranking) plus the int8 export change
// (on the test split, and on each user's last events: `eval --precision-predictions`).
// "localrank" is the engine ranking the whole catalogue (the encoder's intent blended with the
// server score, category affinity and the co-occurrence neighbour part, weights tuned on
// validation); "encoder" is the transformer's cosine alone.
//
//   node scripts/log-shapes.mjs                      # the four shape logs + ml-100k
//   node scripts/log-shapes.mjs ml-long cj-first     # only these
//   node scripts/log-shapes.mjs --with-cj            # also complete-journey (~20+ min of training)
//   node scripts/log-shapes.mjs --table-only         # rebuild the table from existing reports
//
// Uses $LOCALRANK_BIN or target/native/localrank (built with `cargo build --profile native -p
// localrank-cli` when missing) and the cache folder $LOCALRANK_CACHE or .cache/localrank.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = process.env.LOCALRANK_BIN ?? join(root, 'target/native/localrank');
const cache = process.env.LOCALRANK_CACHE ?? join(root, '.cache/localrank');
const args = process.argv.slice(2);
const tableOnly = args.includes('--table-only');
const shapes = ['ml-long', 'ml-short', 'cj-first', 'synthetic-large'];
let logs = args.filter((a) => !a.startsWith('--'));
if (logs.length === 0) logs = [...shapes, 'ml-100k'];
if (args.includes('--with-cj')) logs.push('complete-journey');

const run = (...a) => execFileSync(bin, ['--cache', cache, ...a], { stdio: 'inherit', cwd: root });
const datasetArg = (name) => (shapes.includes(name) ? join(cache, 'shapes', `${name}.csv`) : name);
const reportPath = (name) => join(cache, 'reports', `${name}.json`);

if (!tableOnly) {
  if (!existsSync(bin)) execFileSync('cargo', ['build', '--profile', 'native', '-p', 'localrank-cli'], { stdio: 'inherit', cwd: root });
  if (logs.some((l) => shapes.includes(l))) run('data', 'shapes');
  for (const name of logs) {
    const started = Date.now();
    run('train', '--dataset', datasetArg(name), '--quiet');
    run('eval', '--dataset', datasetArg(name), '--report', reportPath(name));
    console.error(`${name}: train + eval ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}

const rows = [
  '| log | users | items | events | localrank | encoder alone | item-kNN | BPR-MF | pop | localrank / item-kNN | int8 vs f32 (encoder, test split, ± s.e.) | int8 vs f32 (many predictions, ± s.e.; top-10 overlap) | chosen settings | engine weights (intent / server / affinity / neighbour) |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const name of logs) {
  if (!existsSync(reportPath(name))) continue;
  const r = JSON.parse(readFileSync(reportPath(name), 'utf8'));
  const nd = (m) => r.models?.[m]?.['ndcg@10'];
  const f = (v) => (typeof v === 'number' ? v.toFixed(4) : '–');
  const artifacts = join(cache, 'artifacts', name);
  let settings = '';
  try {
    const t = JSON.parse(readFileSync(join(artifacts, 'train.json'), 'utf8'));
    const e = t.encoder, tr = t.training;
    settings = `d ${e.dim}, len ${e.max_len}, drop ${e.dropout}, lr ${tr.learning_rate}, win ${tr.windows_per_user}, ${tr.sampled_negatives ? `${tr.sampled_negatives} neg` : 'full softmax'}, best ep ${t.best_epoch}, ${Math.round(t.total_seconds)} s`;
  } catch { /* no train.json */ }
  const ratio = nd('localrank') / nd('item-knn');
  const int8 = r.quantization?.int8?.['relative_ndcg@10_change'];
  // The change's standard error over the test users (reports from before it was measured lack it).
  const int8se = r.quantization?.int8?.['relative_ndcg@10_stderr'];
  const pct = (v, se) => (typeof v === 'number' ? `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)}%${typeof se === 'number' ? ` ± ${(se * 100).toFixed(2)}` : ''}` : '–');
  // The same export on each user's last events (`eval --precision-predictions`; absent from
  // older reports): the change with its error over users, and the share of f32's top 10 kept.
  const many = r.quantization_many_predictions?.int8;
  const manyCell = many ? `${pct(many['relative_ndcg@10_change'], many['relative_ndcg@10_stderr'])} on ${many.predictions}; ${many.top10_overlap.toFixed(3)}` : '–';
  const w = r.engine_over_catalogue?.test?.weights;
  const weights = w ? `${w.intent} / ${w.server} / ${w.affinity} / ${w.neighbour}` : '–';
  rows.push(`| ${name} | ${r.users} | ${r.items} | ${r.events} | ${f(nd('localrank'))} | ${f(nd('localrank-encoder'))} | ${f(nd('item-knn'))} | ${f(nd('bpr'))} | ${f(nd('pop'))} | ${Number.isFinite(ratio) ? ratio.toFixed(2) : '–'} | ${pct(int8, int8se)} | ${manyCell} | ${settings} | ${weights} |`);
}
const table = rows.join('\n');
writeFileSync(join(cache, 'reports', 'log-shapes.md'), `${table}\n`);
console.log(table);
