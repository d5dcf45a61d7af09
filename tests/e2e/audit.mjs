// Shared by the e2e tests' request audits: what the one request with a body, the demo
// experiment's daily report, may look like.
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

