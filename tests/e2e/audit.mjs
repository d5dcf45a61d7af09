// Shared by the e2e tests' request audits: what the one request with a body, the demo
// experiment's daily report, may look like, and the audit of a whole storefront session.
import assert from 'node:assert/strict';

/** The demo leader's upload route: the only request that may carry a body. */
export const REPORT_PATH = /^\/dap\/leader\/tasks\/[\w-]{43}\/reports$/;

/**
 * A `takeReport()` upload as the page sent it: a PUT of exactly one DAP-09 report (1,478
 * bytes), `application/dap-report`, no cookie, and nothing readable in it: no product id, no
 * event or arm word, and no run of 32 zero bytes (a one-hot tally in clear would be
 * 47 zero Field128 elements of its 48).
 */
export function checkReportUpload(r, touched = new Set()) {
  assert.equal(r.method, 'PUT');
  assert.equal(r.headers['content-type'], 'application/dap-report');
  assert.ok(!r.headers.cookie, 'no cookie with the report');
  const body = Buffer.from(r.body ?? []);
  assert.equal(body.length, 1478, 'one sealed report');
  const text = body.toString('latin1');
  for (const id of touched) assert.ok(!text.includes(id), `the report carries ${id} in clear`);
  for (const word of ['personalized', 'control', 'click', 'purchase', 'slot', 'fresh-basket']) {
    assert.ok(!text.includes(word), `the report carries ${word} in clear`);
  }
  assert.ok(!text.includes('\0'.repeat(32)), 'no run of 32 zero bytes: no tally vector in clear');
}


/**
 * Every request of a storefront session, checked against the privacy contract: only the
 * shop's origin; only GET of the pool, static files (Vite's hashed assets), the model and the
 * experiment's options, without a body; the one exception the sealed daily report (checked by
 * `checkReportUpload`). Nothing in any URL, header or body names a product the shopper
 * `touched`, an event word, a vector of the `pool`, or one of the shopper's search `queries`
 * (as typed, lower-cased, or URL-encoded). No cookies. And the page's engine ran from the
 * built site: the worker chunk and the SIMD wasm were loaded.
 */
export function checkRequests(requests, { origin, touched = new Set(), pool, queries = [] }) {
  assert.ok(requests.length > 5);
  // One long-enough component per item: a 0 or a 1 would match any URL.
  const vectorSnippets = pool.items.map((i) => i.vector.map(String).find((v) => v.length >= 6)?.slice(0, 8)).filter(Boolean);
  const queryForms = queries.flatMap((q) => [q, q.toLowerCase(), encodeURIComponent(q), encodeURIComponent(q).replace(/%20/g, '+')]);
  for (const r of requests) {
    if (r.url.startsWith('blob:') || r.url.startsWith('data:')) continue; // never leave the browser
    const url = new URL(r.url);
    const body = Buffer.from(r.body ?? []);
    const everything = `${r.url}\n${decodeURIComponent(r.url)}\n${JSON.stringify(r.headers)}\n${body.toString('utf8')}\n${body.toString('latin1')}`;
    for (const form of queryForms) assert.ok(!everything.toLowerCase().includes(form.toLowerCase()), `${r.method} ${r.url} carries the search ${JSON.stringify(form)}`);
    assert.equal(url.origin, origin, `no request leaves the shop's origin: ${r.url}`);
    if (r.method === 'PUT' && REPORT_PATH.test(url.pathname)) {
      checkReportUpload(r, touched);
      continue;
    }
    assert.equal(r.method, 'GET', `${r.method} ${r.url}`);
    assert.ok(!r.body, `no request body: ${r.url}`);
    const path = url.pathname + url.search;
    const allowed =
      path === '/' ||
      path === '/api/pool?context=home&n=200' ||
      path === '/model/model.safetensors' ||
      path === '/model/model.json' ||
      path === '/api/experiment' ||
      /^\/assets\/[\w.-]+$/.test(url.pathname) && url.search === ''; // Vite's hashed output
    assert.ok(allowed, `unexpected request ${path}`);
    const text = decodeURIComponent(r.url) + JSON.stringify(r.headers);
    for (const id of touched) assert.ok(!text.includes(id), `${r.url} mentions ${id}, a product the shopper touched`);
    for (const word of ['purchase', 'history', 'intent', 'search', 'query']) assert.ok(!text.toLowerCase().includes(word), `${r.url} carries ${word}`);
    for (const snippet of vectorSnippets) assert.ok(!text.includes(snippet), `${r.url} carries a vector`);
  }
  const cookies = requests.filter((r) => r.headers.cookie);
  assert.deepEqual(cookies, [], 'no cookies');
  // The page, its worker and the engine are the Vite build's: the worker chunk and the SIMD
  // wasm that `new Worker(new URL(…))` and `new URL('…wasm', import.meta.url)` in the package
  // became, fetched from the built site (the service serves nothing else).
  const paths = requests.map((r) => r.url.startsWith(origin) ? new URL(r.url).pathname : '');
  assert.ok(paths.some((p) => /^\/assets\/worker-entry-[\w-]{8}\.js$/.test(p)), `the worker chunk was loaded: ${paths.join(' ')}`);
  assert.ok(paths.some((p) => /^\/assets\/localrank_simd_bg-[\w-]{8}\.wasm$/.test(p)), `the SIMD wasm was loaded: ${paths.join(' ')}`);
}
