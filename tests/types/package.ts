// Compiled (not run) by `npm test` under every tsconfig*.json here: the package as a project
// imports it — by name, through package.json `exports` — including localrank/react, whose
// types need no @types/react (none is installed here).
import { open, type LocalRankError, type LocalRankErrorCode } from 'localrank';
import { openInWorker, type RemoteEngine } from 'localrank/worker';
import { useLocalRank, useRankedPool, type RankedPool } from 'localrank/react';

interface Product { id: string; vector: number[]; score: number; title: string; category?: string }

export function homepage(pool: { dim: number; items: Product[] }): string[] {
  const { engine, error } = useLocalRank({ maxEvents: 500 });
  const inWorker = useLocalRank({ storage: 'memory' }, { worker: true });
  const remote: RemoteEngine | null = inWorker.engine;
  const ranked: RankedPool<Product> = useRankedPool(engine, pool, { diversity: 0.8 });
  const title: string | undefined = ranked.items[0]?.title;
  const because: string | undefined = ranked.ranking?.items[0]?.because;
  useRankedPool(remote, pool).rerank();
  useRankedPool(null, undefined);
  // @ts-expect-error — pool items need an id
  useRankedPool(engine, { dim: 2, items: [{ vector: [1, 0] }] });
  // @ts-expect-error — rank options are checked
  useRankedPool(engine, pool, { backend: 'tpu' });
  const code: LocalRankErrorCode | undefined = (error as LocalRankError | null)?.code;
  void [title, because, code];
  return ranked.items.map((item) => item.id);
}

export async function outsideReact(): Promise<void> {
  try {
    await open();
  } catch (error) {
    const e = error as LocalRankError;
    if (e.code === 'Unsupported') return; // server render: show the server order
    // @ts-expect-error — not a code
    if (e.code === 'Bogus') return;
  }
  const remote = await openInWorker();
  await remote.terminate();
}
