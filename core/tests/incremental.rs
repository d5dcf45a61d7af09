//! The incremental encoder pass (`EncoderState`): after a new event only the changed rows are
//! computed, and the ranking is exactly what a full pass gives — across random event
//! sequences (back-dated events, items without a vector, items known by their text, searches
//! read through the model's text tower), retention trims, `forget()`, model reloads, WebGPU
//! passes in between, and ranking times.

use futures::executor::block_on;
use localrank_core::gpu::{BackendChoice, GpuDevice, GpuError, GpuOutput, ModelRuntime};
use localrank_core::model::fixture::{random_model, random_model_with_text, SplitMix};
use localrank_core::model::{TextTowerConfig, EncoderState, EncoderStep, IntentEncoder, Positions, Precision, PreparedInput, Weights};
use localrank_core::pool::{CandidatePool, PoolInput};
use localrank_core::rank::{self, RankSettings, Ranking, ShopperModel};
use localrank_core::{EventInput, EventKind, History, MemoryStore, OpenOptions};
use proptest::prelude::*;

const DIM: usize = 16;
const ITEMS: usize = 24;
const START: f64 = 1_780_000_000_000.0;

fn item_vector(i: usize) -> Vec<f32> {
    let mut rng = SplitMix(1000 + i as u64);
    (0..DIM).map(|_| rng.uniform()).collect()
}

fn catalogue() -> CandidatePool {
    let mut items: Vec<serde_json::Value> = (0..ITEMS)
        .map(|i| serde_json::json!({ "id": format!("i{i}"), "vector": item_vector(i), "category": format!("c{}", i % 4), "score": (ITEMS - i) as f64 }))
        .collect();
    // A product known only by its words: the tower gives it a vector.
    items.push(serde_json::json!({ "id": format!("i{ITEMS}"), "text": "organic oat milk 1 l", "score": 0.5 }));
    let input: PoolInput = serde_json::from_value(serde_json::json!({ "dim": DIM, "items": items })).expect("pool JSON");
    CandidatePool::from_input(input).expect("valid pool")
}

const QUERIES: [&str; 4] = ["oat milk", "running shoes", "Oat milk", "?!"];

fn runtime(max_len: usize, seed: u64, dtype: Precision) -> ModelRuntime {
    let tower = TextTowerConfig { buckets: 256, min_n: 3, max_n: 4, dim: 8 };
    let (bytes, json) = random_model_with_text(DIM, 2, 2, max_len, 32, dtype, Some(tower), seed).expect("fixture");
    ModelRuntime::new(IntentEncoder::load(&bytes, &json).expect("loads"), format!("m{seed}"))
}

fn rank_at(pool: &CandidatePool, history: &History<MemoryStore>, runtime: &ModelRuntime, now_ms: f64) -> Ranking {
    let cache = history.vectors();
    let settings = RankSettings { backend: BackendChoice::Cpu, ..RankSettings::default() };
    let mut ranking = block_on(rank::rank_for_shopper(
        pool,
        history.events(),
        &|id| cache.get(id).map(|c| (c.vector.as_slice(), c.category.as_deref())),
        Some(ShopperModel { runtime, now_ms }),
        &settings,
        &mut |e| panic!("the model failed: {e}"),
    ));
    ranking.elapsed_ms = 0.0;
    ranking
}

#[derive(Debug, Clone)]
enum Op {
    /// The shopper does something with item `item` (items past the pool have no vector),
    /// `seconds` after the previous event, or `back` seconds before it (a back-dated event
    /// sorts into the middle of the history).
    Record { item: usize, kind: usize, seconds: u32, back: Option<u32> },
    /// The shopper searches for `QUERIES[query]` (a step of kind `search` whose vector the
    /// text tower computes from the query: the same query, the same row).
    Search { query: usize, seconds: u32 },
    /// The homepage is ranked `seconds` after the last event.
    Rank { seconds: u32 },
    /// The storefront loads another model (the engine makes a new runtime: nothing is kept).
    Reload { seed: u64, int8: bool },
    /// The shopper erases their history (`forget()`, which also clears the kept rows).
    Forget,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..ITEMS + 4, 0..5usize, 0..200_000u32, prop::option::weighted(0.1, 1..3_000u32))
            .prop_map(|(item, kind, seconds, back)| Op::Record { item, kind, seconds, back }),
        3 => (0..QUERIES.len(), 0..200_000u32).prop_map(|(query, seconds)| Op::Search { query, seconds }),
        6 => (0..2_000_000u32).prop_map(|seconds| Op::Rank { seconds }),
        1 => (1..4u64, any::<bool>()).prop_map(|(seed, int8)| Op::Reload { seed, int8 }),
        1 => Just(Op::Forget),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_ranking_equals_a_full_pass(
        max_len in prop_oneof![Just(3usize), Just(6), Just(10)],
        max_events in 4usize..40,
        ops in prop::collection::vec(op(), 1..90),
    ) {
        let pool = catalogue();
        let options = OpenOptions { max_events: Some(max_events as f64), ..OpenOptions::default() };
        let mut history = block_on(History::open(MemoryStore::new(), &options, START)).expect("opens");
        let mut kept = runtime(max_len, 1, Precision::F32);
        let (mut seed, mut dtype) = (1, Precision::F32);
        let mut clock = START;
        for op in ops {
            match op {
                Op::Record { item, kind, seconds, back } => {
                    clock += f64::from(seconds) * 1000.0;
                    let at = clock - f64::from(back.unwrap_or(0)) * 1000.0;
                    let input = EventInput { kind: Some(EventKind::ALL[kind]), item: Some(format!("i{item}")), timestamp: Some(at), ..Default::default() };
                    block_on(history.record(input, clock)).expect("records");
                }
                Op::Search { query, seconds } => {
                    clock += f64::from(seconds) * 1000.0;
                    let input = EventInput { kind: Some(EventKind::Search), query: Some(QUERIES[query].into()), timestamp: Some(clock), ..Default::default() };
                    block_on(history.record(input, clock)).expect("records");
                }
                Op::Forget => {
                    block_on(history.forget()).expect("forgets");
                    kept.forget_last_intent();
                }
                Op::Rank { seconds } => {
                    let now = clock + f64::from(seconds) * 1000.0;
                    let got = rank_at(&pool, &history, &kept, now);
                    // A new runtime has nothing kept: a full pass.
                    let full = rank_at(&pool, &history, &runtime(max_len, seed, dtype), now);
                    prop_assert_eq!(&got, &full);
                }
                Op::Reload { seed: s, int8 } => {
                    (seed, dtype) = (s, if int8 { Precision::Int8 } else { Precision::F32 });
                    kept = runtime(max_len, seed, dtype);
                }
            }
        }
    }
}

#[test]
fn the_homepage_after_a_new_event_computes_two_rows_per_block() {
    let pool = catalogue();
    let mut history = block_on(History::open(MemoryStore::new(), &OpenOptions::default(), START)).expect("opens");
    let kept = runtime(10, 3, Precision::F32);
    let mut clock = START;
    for i in 0..14 {
        clock += 60_000.0;
        let input = EventInput { kind: Some(EventKind::View), item: Some(format!("i{i}")), timestamp: Some(clock), ..Default::default() };
        block_on(history.record(input, clock)).expect("records");
        let got = rank_at(&pool, &history, &kept, clock + 1_000.0);
        assert_eq!(got, rank_at(&pool, &history, &runtime(10, 3, Precision::F32), clock + 1_000.0));
        // The window grows to 10 events (max_len), then moves its start by 5 at the 11th.
        let window = if i < 10 { i + 1 } else { 6 + (i - 10) % 5 };
        let expected = if window == 1 || (i >= 10 && window == 6) { window } else { 2 };
        assert_eq!(kept.last_recomputed_rows(), expected, "event {i}: window of {window}");
        // The same page rendered again: the kept intent.
        assert_eq!(rank_at(&pool, &history, &kept, clock + 1_500.0), got);
        assert_eq!(kept.last_recomputed_rows(), 0, "event {i}: re-render");
    }
}

#[test]
fn a_search_is_a_new_step_and_a_rerender_after_it_computes_nothing() {
    let pool = catalogue();
    let mut history = block_on(History::open(MemoryStore::new(), &OpenOptions::default(), START)).expect("opens");
    let kept = runtime(10, 4, Precision::F32);
    let mut clock = START;
    for (i, query) in [None, None, Some("oat milk"), None, Some("oat milk")].into_iter().enumerate() {
        clock += 60_000.0;
        let input = match query {
            Some(q) => EventInput { kind: Some(EventKind::Search), query: Some(q.into()), timestamp: Some(clock), ..Default::default() },
            None => EventInput { kind: Some(EventKind::View), item: Some(format!("i{i}")), timestamp: Some(clock), ..Default::default() },
        };
        block_on(history.record(input, clock)).expect("records");
        let got = rank_at(&pool, &history, &kept, clock + 1_000.0);
        assert_eq!(got, rank_at(&pool, &history, &runtime(10, 4, Precision::F32), clock + 1_000.0));
        assert_eq!(got.text.as_ref().map(|t| t.embedded), Some(true));
        assert_eq!(kept.last_recomputed_rows(), if i == 0 { 1 } else { 2 }, "event {i}: the new step and the one before it");
        assert_eq!(rank_at(&pool, &history, &kept, clock + 1_500.0), got);
        assert_eq!(kept.last_recomputed_rows(), 0, "event {i}: re-render");
    }
}

fn steps_of(vectors: &[Vec<f32>], start_ms: f64) -> Vec<EncoderStep<'_>> {
    vectors.iter().enumerate().map(|(i, v)| EncoderStep { vector: v, kind: EventKind::ALL[i % 5], timestamp: start_ms + i as f64 * 90_000.0 }).collect()
}

#[test]
fn a_new_event_computes_two_rows_and_a_rerender_none() {
    let (bytes, json) = random_model(DIM, 2, 2, 50, 32, Precision::F32, 7).expect("fixture");
    let encoder = IntentEncoder::load(&bytes, &json).expect("loads");
    assert_eq!(encoder.config().positions, Positions::FromStart);
    let vectors: Vec<Vec<f32>> = (0..30).map(item_vector).collect();
    let steps = steps_of(&vectors, START);
    let mut state = EncoderState::default();
    for n in 1..=30 {
        let now = steps[n - 1].timestamp + 5_000.0;
        let input = encoder.prepare(&steps[..n], now).expect("prepares");
        let got = encoder.forward_from(&input, &mut state).expect("encodes");
        assert_eq!(got, encoder.forward(&input).expect("encodes"), "{n} steps");
        // The new step, and the previous last step whose gap is now measured to it.
        assert_eq!(state.recomputed_rows(), n.min(2), "{n} steps");
        // The same input again (a re-render): nothing computed, the same intent.
        assert_eq!(encoder.forward_from(&input, &mut state).expect("encodes"), got);
        assert_eq!(state.recomputed_rows(), 0);
    }
    // Later, only the last step's gap to "now" changes bucket: one row.
    let input = encoder.prepare(&steps, steps[29].timestamp + 4.0 * 86_400_000.0).expect("prepares");
    let got = encoder.forward_from(&input, &mut state).expect("encodes");
    assert_eq!(state.recomputed_rows(), 1);
    assert_eq!(got, encoder.forward(&input).expect("encodes"));
}

#[test]
fn a_from_end_model_recomputes_everything_and_still_matches() {
    let (bytes, json) = random_model(DIM, 2, 2, 8, 32, Precision::F32, 8).expect("fixture");
    let mut config: serde_json::Value = serde_json::from_str(&json).expect("json");
    config["positions"] = "from_end".into();
    let encoder = IntentEncoder::load(&bytes, &config.to_string()).expect("loads");
    let vectors: Vec<Vec<f32>> = (0..6).map(item_vector).collect();
    let steps = steps_of(&vectors, START);
    let mut state = EncoderState::default();
    for n in 1..=6 {
        let input = encoder.prepare(&steps[..n], steps[n - 1].timestamp + 5_000.0).expect("prepares");
        assert_eq!(encoder.forward_from(&input, &mut state).expect("encodes"), encoder.forward(&input).expect("encodes"));
        // Every step moved to another position row.
        assert_eq!(state.recomputed_rows(), n);
    }
}

/// A GPU that answers with a slightly different intent than the CPU (as a real one may): after
/// it ran, nothing the CPU kept may be reused for another input.
struct OffByALittleGpu(IntentEncoder);

impl GpuDevice for OffByALittleGpu {
    async fn create(weights: &Weights) -> Result<Self, GpuError> {
        Ok(OffByALittleGpu(IntentEncoder::new(weights.clone())))
    }

    fn is_lost(&self) -> bool {
        false
    }

    fn destroy(&self) {}

    async fn run(&mut self, _: &Weights, input: Option<&PreparedInput>, intent: Option<&[f32]>, items: &[f32], k: usize) -> Result<GpuOutput, GpuError> {
        let mut intent = match (input, intent) {
            (Some(input), _) => self.0.forward(input).map_err(|e| GpuError::Failed(e.to_string()))?,
            (None, Some(intent)) => intent.to_vec(),
            (None, None) => return Err(GpuError::Failed("nothing to score".into())),
        };
        intent.iter_mut().for_each(|v| *v += 1e-3);
        let d = intent.len();
        let scores: Vec<f32> = items.chunks(d).map(|row| row.iter().zip(&intent).map(|(a, b)| a * b).sum()).collect();
        Ok(GpuOutput { top: localrank_core::gpu::top_k(&scores, k), scores, intent })
    }
}

#[test]
fn after_a_webgpu_pass_the_next_cpu_pass_is_a_full_one() {
    let (bytes, json) = random_model(DIM, 2, 2, 50, 32, Precision::F32, 9).expect("fixture");
    let encoder = IntentEncoder::load(&bytes, &json).expect("loads");
    let runtime: ModelRuntime<OffByALittleGpu> = ModelRuntime::new(encoder.clone(), "m-gpu");
    let vectors: Vec<Vec<f32>> = (0..12).map(item_vector).collect();
    let steps = steps_of(&vectors, START);
    let items: Vec<f32> = (0..ITEMS).flat_map(item_vector).collect();
    let now = |n: usize| steps[n - 1].timestamp + 5_000.0;
    let run = |n: usize, choice| block_on(runtime.encode_and_score(&steps[..n], now(n), &items, 3, choice)).expect("scores");
    let full = |n: usize| encoder.encode(&steps[..n], now(n)).expect("encodes");

    assert_eq!(run(9, BackendChoice::Cpu).intent, full(9));
    let gpu = run(10, BackendChoice::Webgpu);
    assert_eq!(gpu.backend, localrank_core::gpu::Backend::Webgpu);
    assert_ne!(gpu.intent, full(10), "the fake GPU's answer differs");
    // The same input again reuses what WebGPU answered (as before this change)...
    assert_eq!(run(10, BackendChoice::Cpu).intent, gpu.intent);
    // ...but a new event is a full CPU pass: the rows kept from the CPU pass at 9 steps are
    // not trusted after WebGPU answered for 10.
    assert_eq!(run(11, BackendChoice::Cpu).intent, full(11));
    assert_eq!(runtime.last_recomputed_rows(), 11);
    assert_eq!(run(12, BackendChoice::Cpu).intent, full(12));
    assert_eq!(runtime.last_recomputed_rows(), 2);
}
