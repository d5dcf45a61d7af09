//! Native criterion benches of the homepage ranking: the browser bench's
//! `rank-model/500/cpu/incremental` case (record one event, re-rank 500 items with the model)
//! without the wasm boundary, so a profiler can split its time; and a grocery shopper's
//! ranking (200 events, most of them purchases, every pool item `repeat`) with the repeat rule
//! and with a learned repeat scorer of the trainer's default size:
//! `cargo bench -p localrank-core --bench rank`, or `perf record` its binary.
//!
//! With `LOCALRANK_BENCH_MODEL=<dir>` (a trainer export: model.json, model.safetensors,
//! items.json, items.safetensors, e.g. `.cache/localrank/artifacts/complete-journey`) the
//! incremental case also runs with that model and its first 500 item vectors: the browser
//! bench's pool and history, so the profile is the one the target is measured on.
use criterion::{criterion_group, criterion_main, Criterion};
use futures::executor::block_on;
use localrank_core::gpu::{BackendChoice, ModelRuntime};
use localrank_core::model::fixture::{random_model, SplitMix};
use localrank_core::model::{IntentEncoder, Precision};
use localrank_core::pool::{CandidatePool, PoolInput};
use localrank_core::rank::{self, RankSettings, RepeatProfile, ShopperModel, REPEAT_FEATURES};
use localrank_core::format::ItemTable;
use localrank_core::{EventInput, EventKind, History, MemoryStore, OpenOptions};
use std::hint::black_box;

const DIM: usize = 64;
const POOL: usize = 500;
const START: f64 = 1_780_000_000_000.0;

fn pool() -> CandidatePool {
    pool_with(false)
}

fn pool_with(repeat: bool) -> CandidatePool {
    let mut rng = SplitMix(7);
    let items: Vec<serde_json::Value> = (0..POOL)
        .map(|i| {
            let vector: Vec<f32> = (0..DIM).map(|_| rng.uniform()).collect();
            serde_json::json!({ "id": format!("sku-{i}"), "vector": vector, "category": format!("c{}", i % 12), "score": (POOL - i) as f64, "repeat": repeat, "rebuyRate": 0.3 })
        })
        .collect();
    let input: PoolInput = serde_json::from_value(serde_json::json!({ "dim": DIM, "items": items })).expect("pool JSON");
    CandidatePool::from_input(input).expect("valid pool")
}

fn bench(c: &mut Criterion) {
    if let Some(dir) = std::env::var_os("LOCALRANK_BENCH_MODEL") {
        bench_trained(c, std::path::Path::new(&dir));
    }
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
    let rank_with = |history: &History<MemoryStore>, model: Option<ShopperModel<'_, _>>| {
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
    // A grocery shopper: 40 trips three days apart, 5 purchases each from 120 usual products
    // (categories as the pool's), then 0-a-trip views.
    let grocery_pool = pool_with(true);
    let mut grocery = block_on(History::open(MemoryStore::new(), &OpenOptions::default(), START)).expect("opens");
    let mut t = START;
    for trip in 0..40u64 {
        t += 3.0 * 86_400_000.0;
        for k in 0..5u64 {
            let item = (trip * 7 + k * 31 + rng_item(trip, k)) % 120;
            let input = EventInput { kind: Some(EventKind::Purchase), item: Some(format!("sku-{item}")), category: Some(format!("c{}", item % 12)), timestamp: Some(t + k as f64 * 60_000.0), ..Default::default() };
            block_on(grocery.record(input, t)).expect("records");
        }
    }
    let learned_runtime = |hidden: usize, features: usize| -> ModelRuntime {
        ModelRuntime::new(IntentEncoder::load(&bytes, &learned_scorer_model(&json, hidden, features)).expect("loads with a repeat scorer"), "bench-learned")
    };
    let (learned_small, learned_default) = (learned_runtime(16, 14), learned_runtime(32, REPEAT_FEATURES.len()));
    let rank_grocery = |runtime: &ModelRuntime| {
        let cache = grocery.vectors();
        block_on(rank::rank_for_shopper(
            &grocery_pool,
            grocery.events(),
            &|id| cache.get(id).map(|c| (c.vector.as_slice(), c.category.as_deref())),
            Some(ShopperModel { runtime, now_ms: t + 86_400_000.0 }),
            &settings,
            &mut |e| panic!("the model failed: {e}"),
        ))
    };
    // The repeat part alone (profile + every bought item's part): the full rankings below also
    // move with how the parts reorder the pool (MMR's work depends on the scores).
    let repeat_part = |runtime: &ModelRuntime| {
        let profile = RepeatProfile::from_history(grocery.events());
        let config = runtime.encoder().config();
        let scorer = profile.scorer(Some(t + 86_400_000.0), &config.repeat.unwrap_or_default(), config.repeat_scorer.as_ref());
        scorer.bought().map(|id| scorer.part(id, Some(0.3))).sum::<f32>()
    };
    c.bench_function("repeat part, 120 bought items: rule", |b| b.iter(|| black_box(repeat_part(&runtime))));
    c.bench_function("repeat part, 120 bought items: learned 16x14", |b| b.iter(|| black_box(repeat_part(&learned_small))));
    c.bench_function("repeat part, 120 bought items: learned 32x21", |b| b.iter(|| black_box(repeat_part(&learned_default))));
    c.bench_function("rank 500x64 200 purchases, model, repeat rule", |b| b.iter(|| black_box(rank_grocery(&runtime))));
    c.bench_function("rank 500x64 200 purchases, model, learned repeat scorer 16x14 (before 2026-12-03)", |b| b.iter(|| black_box(rank_grocery(&learned_small))));
    c.bench_function("rank 500x64 200 purchases, model, learned repeat scorer 32x21", |b| b.iter(|| black_box(rank_grocery(&learned_default))));
    c.bench_function("rank 500x64 200 events, no model", |b| {
        b.iter(|| black_box(rank_with(&history, None::<ShopperModel<'_, _>>)))
    });
    c.bench_function("rank 500x64 200 events, model, incremental (record + rank)", |b| {
        b.iter(|| {
            record(&mut history, &mut clock);
            black_box(rank_with(&history, Some(ShopperModel { runtime: &runtime, now_ms: clock + 1000.0 })))
        })
    });
}

/// The browser bench's `rank-model/500/cpu/incremental` with a trainer export from `dir`.
fn bench_trained(c: &mut Criterion, dir: &std::path::Path) {
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()));
    let (json, weights) = (String::from_utf8(read("model.json")).expect("model.json is UTF-8"), read("model.safetensors"));
    let runtime: ModelRuntime = ModelRuntime::new(IntentEncoder::load(&weights, &json).expect("the model loads"), "trained");
    let table = ItemTable::parse(&read("items.json"), &read("items.safetensors")).expect("the item table reads");
    let count = POOL.min(table.len());
    let items: Vec<serde_json::Value> = (0..count)
        .map(|i| serde_json::json!({ "id": table.ids[i], "vector": table.vector(i), "category": format!("c{}", i % 12), "score": (count - i) as f64 }))
        .collect();
    let input: PoolInput = serde_json::from_value(serde_json::json!({ "dim": table.dim, "items": items })).expect("pool JSON");
    let pool = CandidatePool::from_input(input).expect("valid pool");
    let mut history = block_on(History::open(MemoryStore::new(), &OpenOptions::default(), START)).expect("opens");
    let mut rng = SplitMix(11);
    let mut clock = START;
    let mut record = |history: &mut History<MemoryStore>, clock: &mut f64, kind: EventKind| {
        *clock += 60_000.0;
        let item = (rng.next_u64() % count as u64) as usize;
        let input = EventInput { kind: Some(kind), item: Some(table.ids[item].clone()), timestamp: Some(*clock), ..Default::default() };
        block_on(history.record(input, *clock)).expect("records");
    };
    for i in 0..200 {
        record(&mut history, &mut clock, if i % 10 == 0 { EventKind::Cart } else { EventKind::View });
    }
    let settings = RankSettings { backend: BackendChoice::Cpu, ..RankSettings::default() };
    c.bench_function("rank 500 trained-model items, 200 events, incremental (record + rank)", |b| {
        b.iter(|| {
            record(&mut history, &mut clock, EventKind::View);
            let cache = history.vectors();
            let model = ShopperModel { runtime: &runtime, now_ms: clock + 1000.0 };
            black_box(block_on(rank::rank_for_shopper(
                &pool,
                history.events(),
                &|id| cache.get(id).map(|c| (c.vector.as_slice(), c.category.as_deref())),
                Some(model),
                &settings,
                &mut |e| panic!("the model failed: {e}"),
            )))
        })
    });
}

fn rng_item(trip: u64, k: u64) -> u64 {
    SplitMix(trip * 13 + k).next_u64() % 4
}

/// The fixture's model.json with a learned repeat scorer of `h` hidden units over the first `n`
/// features, random weights: the cost, not the quality, is measured.
fn learned_scorer_model(json: &str, h: usize, n: usize) -> String {
    let mut rng = SplitMix(11);
    let mut r = |k: usize| (0..k).map(|_| rng.uniform() * 0.5).collect::<Vec<f32>>();
    let mut config: serde_json::Value = serde_json::from_str(json).expect("fixture model.json");
    config["repeat_scorer"] = serde_json::json!({
        "features": REPEAT_FEATURES[..n], "mean": r(n), "scale": vec![1.0f32; n], "hidden": r(h * n),
        "hidden_bias": r(h), "output": r(h), "linear": r(n), "bias": -1.0,
    });
    config.to_string()
}

criterion_group!(benches, bench);
criterion_main!(benches);
