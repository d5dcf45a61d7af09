// takeReport() in real Chromium with real IndexedDB: a page in an experiment with a DAP task
// (test aggregators made fresh in Node, tests/js/dap.mjs) ranks, clicks and buys across
// simulated days (Date.now replaced in the page: the engine reads the clock through it), and
// gets one upload per finished day, never twice — also after reopening. Node parses the
// upload and opens both input shares with the test aggregators' private keys. A wrong `dap`
// setting is an InvalidOptions warning naming the field, takeReport()'s error, and nothing
// else: ranking and the tally carry on. The worker proxies takeReport() too.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { blankPage, session } from './browser.mjs';
import { openShare, parseReport, testAggregator, testTaskId } from './dap.mjs';

let s;
before(async () => {
  s = await session({ webgpu: false });
});
after(async () => {
  await s?.close();
});

const DAY_MS = 86_400_000;
/** 2026-12-01 10:00 UTC. */
const T0 = Date.UTC(2026, 11, 1, 10);
const PRECISION = 3600;

const leader = testAggregator(7);
const helper = testAggregator(9);
const taskId = testTaskId();

test('one upload per finished day, marked before it is returned: null on the same day, on a second call and after reopening', async () => {
  const { page, logs } = await blankPage(s.browser, s.url);
  const result = await page.evaluate(
    async ({ T0, DAY_MS, dap }) => {
      let now = T0;
      Date.now = () => now;
      const { open } = await import('/js/index.js');
      const items = [];
      for (let i = 0; i < 30; i += 1) items.push({ id: 'sku-' + i, vector: Array.from({ length: 8 }, (_, d) => Math.cos(i * 0.9 + d)), score: 30 - i });
      const pool = { dim: 8, items };
      const options = {
        database: 'exp-report',
        experiment: { id: 'home-report', split: 1, dap: { ...dap, leaderConfig: new Uint8Array(dap.leaderConfig) } },
      };
      const bytes = (upload) => upload && { ...upload, body: Array.from(upload.body), isBytes: upload.body instanceof Uint8Array };
      let engine = await open(options);
      const out = { warnings: (await engine.status()).warnings };
      // Day 1: the homepage, a click on its third item, a purchase.
      const ranking = await engine.rank(pool);
      out.clicked = ranking.order[2];
      await engine.record({ kind: 'click', item: ranking.order[2] });
      await engine.record({ kind: 'purchase', item: ranking.order[2] });
      out.sameDay = await engine.takeReport();
      // Day 2: day 1 is finished.
      now += DAY_MS;
      await engine.rank(pool);
      out.first = bytes(await engine.takeReport());
      out.second = await engine.takeReport();
      // The clock jumps back a day: nothing reopens, nothing is reported twice.
      now -= DAY_MS;
      out.clockBack = await engine.takeReport();
      now += DAY_MS;
      await engine.close();
      engine = await open(options);
      out.reopened = await engine.takeReport();
      // Day 3: day 2 (shown, no click) is due.
      now += DAY_MS;
      out.dayTwo = bytes(await engine.takeReport());
      out.dayTwoAgain = await engine.takeReport();
      await engine.forget();
      return out;
    },
    { T0, DAY_MS, dap: { taskId, timePrecision: PRECISION, leaderConfig: [...leader.configList], helperConfig: helper.configList.toString('base64url') } },
  );
  assert.deepEqual(result.warnings, []);
  assert.equal(result.sameDay, null, 'the day is not over');
  assert.equal(result.second, null, 'never twice');
  assert.equal(result.clockBack, null, 'a clock that went back reopens nothing');
  assert.equal(result.reopened, null, 'the mark was stored');
  assert.equal(result.dayTwoAgain, null);

  const dayStart = (t) => BigInt(Math.floor(t / DAY_MS) * 86_400);
  for (const [upload, day] of [[result.first, T0], [result.dayTwo, T0 + DAY_MS]]) {
    assert.equal(upload.method, 'PUT');
    assert.equal(upload.path, `tasks/${taskId}/reports`);
    assert.equal(upload.contentType, 'application/dap-report');
    assert.ok(upload.isBytes, 'the body is a Uint8Array');
    assert.equal(upload.body.length, 1478, 'the size report/tests/seal.rs pins');
    const report = parseReport(upload.body);
    assert.equal(report.time, dayStart(day), 'the day it describes, at its start (a multiple of the precision)');
    assert.equal(report.time % BigInt(PRECISION), 0n);
    assert.equal(report.leader.configId, leader.configId);
    assert.equal(report.helper.configId, helper.configId);
    // Each share opens with its own aggregator's key, as its own role, and not otherwise.
    const leaderShare = openShare(report, 'leader', leader, taskId);
    const helperShare = openShare(report, 'helper', helper, taskId);
    assert.equal(leaderShare.extensions, 0);
    assert.equal(leaderShare.payload.length, 1248, 'the leader holds the 48 Field128 elements and its proof share');
    assert.equal(helperShare.payload.length, 48, 'the helper holds seeds');
    assert.throws(() => openShare(report, 'helper', leader, taskId), 'the leader key does not open the helper share');
    assert.throws(() => openShare({ ...report, time: report.time + 3600n }, 'leader', leader, taskId), 'the time is bound');
    assert.throws(() => openShare(report, 'leader', leader, testTaskId()), 'the task is bound');
    assert.ok(!Buffer.from(upload.body).includes(Buffer.from('sku-')), 'no item id in the clear');
  }
  assert.notDeepEqual(parseReport(result.first.body).reportId, parseReport(result.dayTwo.body).reportId);
  assert.deepEqual(logs.filter((l) => l.startsWith('pageerror')), []);
});

test('two tabs taking the same finished day at the same instant: exactly one upload', async () => {
  const { page } = await blankPage(s.browser, s.url);
  const result = await page.evaluate(
    async ({ T0, DAY_MS, dap }) => {
      let now = T0;
      Date.now = () => now;
      const { open } = await import('/js/index.js');
      const pool = { dim: 2, items: [{ id: 'kettle', vector: [1, 0], score: 2 }, { id: 'stove', vector: [0.1, 0.9], score: 1 }] };
      const options = { database: 'exp-two-tabs', experiment: { id: 'home-two-tabs', split: 0, dap } };
      // Two engines on one database: what two tabs of the shop are. Both see day 1's homepage.
      const a = await open(options);
      const b = await open(options);
      await a.rank(pool);
      await b.rank(pool);
      now += DAY_MS;
      const uploads = await Promise.all([a.takeReport(), b.takeReport(), a.takeReport(), b.takeReport()]);
      const later = await Promise.all([a.takeReport(), b.takeReport()]);
      await a.forget();
      return { sent: uploads.filter((u) => u !== null).length, later };
    },
    { T0, DAY_MS, dap: { taskId, timePrecision: PRECISION, leaderConfig: leader.configList.toString('base64url'), helperConfig: helper.configList.toString('base64url') } },
  );
  assert.equal(result.sent, 1, 'one tab wins the day; the other sends nothing');
  assert.deepEqual(result.later, [null, null]);
});

test('a wrong dap setting names its field; the page still ranks, tallies, and takeReport() says what is wrong', async () => {
  const { page } = await blankPage(s.browser, s.url);
  const result = await page.evaluate(
    async ({ dap }) => {
      const { open } = await import('/js/index.js');
      const pool = { dim: 2, items: [{ id: 'kettle', vector: [1, 0], score: 2 }, { id: 'stove', vector: [0.1, 0.9], score: 1 }] };
      const out = [];
      const cases = [
        { ...dap, leaderConfig: 'not base64!' },
        { ...dap, helperConfig: new Uint8Array([0, 5, 1]) },
        { ...dap, helperConfig: dap.leaderConfig },
        { ...dap, taskId: 5 },
        { ...dap, timePrecision: 0 },
        { taskId: dap.taskId },
        'https://leader.example/',
      ];
      for (const [i, bad] of cases.entries()) {
        const engine = await open({ storage: 'memory', database: 'bad-dap-' + i, experiment: { id: 'home-bad', split: 1, dap: bad } });
        await engine.record({ kind: 'view', item: 'stove', vector: [0, 1] });
        const ranking = await engine.rank(pool);
        const status = await engine.status();
        let error;
        try {
          await engine.takeReport();
        } catch (e) {
          error = { name: e.name, code: e.code, field: e.field, message: e.message };
        }
        out.push({ error, warnings: status.warnings, experiment: status.experiment, personalized: ranking.personalized, order: ranking.order });
      }
      return out;
    },
    { dap: { taskId, timePrecision: PRECISION, leaderConfig: leader.configList.toString('base64url'), helperConfig: helper.configList.toString('base64url') } },
  );
  const fields = ['leaderConfig', 'helperConfig', 'helperConfig', 'taskId', 'timePrecision', 'timePrecision'].map((f) => `experiment.dap.${f}`).concat('experiment.dap');
  for (const [i, r] of result.entries()) {
    assert.equal(r.error?.name, 'LocalRankError', `case ${i}`);
    assert.equal(r.error.code, 'InvalidOptions', `case ${i}`);
    assert.equal(r.error.field, fields[i], `case ${i}: ${r.error.message}`);
    assert.deepEqual(r.warnings.map((w) => w.code), ['InvalidOptions'], `case ${i}: the warning is in status()`);
    assert.deepEqual(r.experiment, { id: 'home-bad', arm: 'personalized' }, 'the experiment still runs');
    assert.equal(r.personalized, true, 'ranking still runs');
    assert.deepEqual(r.order, ['stove', 'kettle']);
  }
  assert.match(result[0].error.message, /base64url/);
  assert.match(result[2].error.message, /same public key/);
});

test('no experiment, or an experiment without dap: takeReport() is null; the worker proxies it, errors included', async () => {
  const { page } = await blankPage(s.browser, s.url);
  const result = await page.evaluate(
    async ({ dap }) => {
      const { open } = await import('/js/index.js');
      const { openInWorker } = await import('/js/worker.js');
      const plain = await (await open({ storage: 'memory' })).takeReport();
      const noDap = await (await open({ storage: 'memory', experiment: { id: 'home-nodap' } })).takeReport();
      const worker = await openInWorker({ database: 'worker-dap', experiment: { id: 'home-worker', dap } });
      const inWorker = await worker.takeReport();
      await worker.terminate();
      const badWorker = await openInWorker({ storage: 'memory', experiment: { id: 'home-worker', dap: { ...dap, taskId: 'short' } } });
      let error;
      try {
        await badWorker.takeReport();
      } catch (e) {
        error = { code: e.code, field: e.field };
      }
      await badWorker.terminate();
      return { plain, noDap, inWorker, error };
    },
    { dap: { taskId, timePrecision: PRECISION, leaderConfig: leader.configList.toString('base64url'), helperConfig: helper.configList.toString('base64url') } },
  );
  assert.equal(result.plain, null);
  assert.equal(result.noDap, null);
  assert.equal(result.inWorker, null, 'no finished day yet');
  assert.deepEqual(result.error, { code: 'InvalidOptions', field: 'experiment.dap.taskId' });
});

test('the report module (prio, HPKE) is downloaded only when a day is due; a failed download leaves the day due', async () => {
  const { page } = await blankPage(s.browser, s.url);
  const requested = [];
  page.on('request', (request) => requested.push(new URL(request.url()).pathname));
  // The first download of the report's wasm fails, as a dropped connection would.
  let failures = 1;
  await page.route('**/localrank_report_bg.wasm', (route) => (failures-- > 0 ? route.abort() : route.continue()));
  const reportFiles = () => requested.filter((path) => path.endsWith('localrank_report_bg.wasm'));
  const dap = { taskId, timePrecision: PRECISION, leaderConfig: leader.configList.toString('base64url'), helperConfig: helper.configList.toString('base64url') };

  const sameDay = await page.evaluate(
    async ({ T0, dap }) => {
      window.now = T0;
      Date.now = () => window.now;
      const { open } = await import('/js/index.js');
      window.engine = await open({ storage: 'memory', experiment: { id: 'home-lazy', split: 1, dap } });
      await window.engine.record({ kind: 'view', item: 'stove', vector: [0, 1] });
      await window.engine.rank({ dim: 2, items: [{ id: 'kettle', vector: [1, 0], score: 2 }, { id: 'stove', vector: [0.1, 0.9], score: 1 }] });
      return window.engine.takeReport();
    },
    { T0, dap },
  );
  assert.equal(sameDay, null);
  assert.deepEqual(reportFiles(), [], 'an experiment with no finished day downloads no report wasm');
  assert.ok(requested.some((path) => path.endsWith('.wasm')), 'the engine itself was downloaded');

  const result = await page.evaluate(async ({ DAY_MS }) => {
    window.now += DAY_MS;
    let error;
    try {
      await window.engine.takeReport();
    } catch (e) {
      error = { name: e.name, code: e.code, message: e.message };
    }
    const retried = await window.engine.takeReport();
    const again = await window.engine.takeReport();
    const ranked = await window.engine.rank({ dim: 2, items: [{ id: 'kettle', vector: [1, 0], score: 2 }, { id: 'stove', vector: [0.1, 0.9], score: 1 }] });
    return { error, retried: retried && { path: retried.path, length: retried.body.length }, again, personalized: ranked.personalized, order: ranked.order };
  }, { DAY_MS });
  assert.equal(result.error?.name, 'LocalRankError', 'a failed download is a LocalRankError, not a stopped engine');
  assert.equal(result.error.code, 'Internal');
  assert.match(result.error.message, /report module.*stays due/s);
  assert.deepEqual(result.retried, { path: `tasks/${taskId}/reports`, length: 1478 }, 'the day stayed due and is sent on the next call');
  assert.equal(result.again, null, 'and only once');
  assert.equal(result.personalized, true, 'ranking carries on');
  assert.deepEqual(result.order, ['stove', 'kettle']);
  assert.deepEqual([...new Set(reportFiles())], ['/pkg/localrank_report_bg.wasm']);
});
