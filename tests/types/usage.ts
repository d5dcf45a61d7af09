// Compiled (not run) by `npm test` with `tsc --noEmit --strict`: the package's types must
// accept what the README shows and reject what the engine rejects.
import { open, type BlendWeights, type LocalRankEngine, type Ranking, type StoredEvent, type LocalRankError, type DapUpload } from '../../js/index.js';
import { openInWorker } from '../../js/worker.js';

async function storefront(): Promise<void> {
  const engine: LocalRankEngine = await open({ maxEvents: 500, maxAgeDays: 90 });
  const stored: StoredEvent = await engine.record({ kind: 'view', item: 'sku-42', vector: new Float32Array(64) });
  await engine.record({ kind: 'search', query: 'tents' });
  // @ts-expect-error — not an event kind
  await engine.record({ kind: 'teleport', item: 'x' });
  const ranking: Ranking = await engine.rank({ dim: 2, items: [{ id: 'a', vector: [1, 0], score: 1, pinned: 0 }, { id: 'new', text: 'oat milk 1 l' }] });
  // How items sent with only `text`, and searches, were used; `reason` when the tower did not run.
  const textUse: { textItems: number; searches: number; embedded: boolean; reason?: string } | undefined = ranking.text;
  // @ts-expect-error — text is the product's words, not a vector
  await engine.rank({ dim: 2, items: [{ id: 'a', text: [1, 0] }] });
  await engine.rank('{"dim":2,"items":[]}', { diversity: 0.8, weights: { server: 0.5 }, backend: 'auto' });
  // @ts-expect-error — backend must be auto, webgpu or cpu
  await engine.rank({ dim: 2, items: [] }, { backend: 'tpu' });
  const order: string[] = ranking.order;
  const why: string | undefined = ranking.items[0]?.because;
  // The weights used: the model's tuned ones (model.json `blend`) or the defaults, under the call's.
  const used: BlendWeights | undefined = ranking.weights;
  const serverWeight: number | undefined = used?.server;
  // @ts-expect-error — a weight is a number
  await engine.rank({ dim: 2, items: [] }, { weights: { affinity: 'high' } });
  const status = await engine.status();
  const warnings: string[] = status.warnings.map((w) => w.code);
  const info = await engine.loadModel(new Uint8Array(0), '{}');
  const dim: number = info.dim;
  try {
    await engine.forget();
  } catch (error) {
    const e = error as LocalRankError;
    const code: LocalRankError['code'] = e.code;
    void code;
  }
  // A lift experiment with its DAP task (README, "Measuring lift"): configs as bytes or base64url.
  const dap = { taskId: 'x'.repeat(43), timePrecision: 86400, leaderConfig: new Uint8Array(43), helperConfig: 'AAAA' };
  const measured = await open({ experiment: { id: 'home', split: 0.5, dap } });
  const upload = await measured.takeReport();
  if (upload !== null) {
    const method: 'PUT' = upload.method;
    const bytes: Uint8Array = upload.body;
    await fetch(new URL(upload.path, 'https://leader.example/'), { method, headers: { 'content-type': upload.contentType }, body: upload.body });
    void bytes;
  }
  // @ts-expect-error — the configs are bytes or base64url text, not numbers
  await open({ experiment: { id: 'home', dap: { ...dap, leaderConfig: 42 } } });
  const remote = await openInWorker({ storage: 'memory' });
  const remoteRanking: Ranking = await remote.rank({ dim: 2, items: [] });
  const remoteUpload: DapUpload | null = await remote.takeReport();
  await remote.terminate();
  void [stored, order, why, textUse, serverWeight, warnings, dim, remoteRanking, remoteUpload];
}
void storefront;
