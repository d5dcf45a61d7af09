//! Native criterion benches of the homepage ranking: the browser bench's
//! `rank-model/500/cpu/incremental` case (record one event, re-rank 500 items with the model)
//! without the wasm boundary, so a profiler can split its time:
//! `cargo bench -p localrank-core --bench rank`, or `perf record` its binary.
use criterion::{criterion_group, criterion_main, Criterion};
use futures::executor::block_on;
use localrank_core::gpu::{BackendChoice, ModelRuntime};
use localrank_core::model::fixture::{random_model, SplitMix};
use localrank_core::model::{IntentEncoder, Precision};
use localrank_core::pool::{CandidatePool, PoolInput};
use localrank_core::rank::{self, RankSettings, ShopperModel};
use localrank_core::{EventInput, EventKind, History, MemoryStore, OpenOptions};
use std::hint::black_box;

const DIM: usize = 64;
const POOL: usize = 500;
const START: f64 = 1_780_000_000_000.0;

fn pool() -> CandidatePool {
    let mut rng = SplitMix(7);
    let items: Vec<serde_json::Value> = (0..POOL)
        .map(|i| {
            let vector: Vec<f32> = (0..DIM).map(|_| rng.uniform()).collect();
            serde_json::json!({ "id": format!("sku-{i}"), "vector": vector, "category": format!("c{}", i % 12), "score": (POOL - i) as f64 })
        })
        .collect();
    let input: PoolInput = serde_json::from_value(serde_json::json!({ "dim": DIM, "items": items })).expect("pool JSON");
    CandidatePool::from_input(input).expect("valid pool")
}

fn bench(c: &mut Criterion) {
    let pool = pool();
    let (bytes, json) = random_model(DIM, 2, 2, 50, 256, Precision::F32, 1).expect("fixture");
    let runtime: ModelRuntime = ModelRuntime::new(IntentEncoder::load(&bytes, &json).expect("loads"), "bench");
    let mut history = block_on(History::open(MemoryStore::new(), &OpenOptions::default(), START)).expect("opens");
    let mut rng = SplitMix(3);
    let mut clock = START;
    let mut record = |history: &mut History<MemoryStore>, clock: &mut f64| {
        *clock += 60_000.0;
        let item = (rng.next_u64() % POOL as u64) as usize;
        let input = EventInput { kind: Some(EventKind::View), item: Some(format!("sku-{item}")), timestamp: Some(*clock), ..Default::default() };
        block_on(history.record(input, *clock)).expect("records");
    };
    for _ in 0..200 {
        record(&mut history, &mut clock);
    }
    let settings = RankSettings { backend: BackendChoice::Cpu, ..RankSettings::default() };
    let rank_with = |history: &History<MemoryStore>, model: Option<ShopperModel<'_, _>>, now: f64| {
        let cache = history.vectors();
        block_on(rank::rank_for_shopper(
            &pool,
            history.events(),
            &|id| cache.get(id).map(|c| (c.vector.as_slice(), c.category.as_deref())),
            model,
            &settings,
            &mut |e| panic!("the model failed: {e}"),
        ))
    };
    c.bench_function("rank 500x64 200 events, no model", |b| {
        b.iter(|| black_box(rank_with(&history, None::<ShopperModel<'_, _>>, clock + 1000.0)))
    });
    c.bench_function("rank 500x64 200 events, model, incremental (record + rank)", |b| {
        b.iter(|| {
            record(&mut history, &mut clock);
            black_box(rank_with(&history, Some(ShopperModel { runtime: &runtime, now_ms: clock + 1000.0 }), clock + 1000.0))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
