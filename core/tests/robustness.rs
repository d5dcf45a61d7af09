//! Property-based robustness: the pool parser, the event decoder and the model loader never
//! panic, whatever they are given, and a rejection never changes what is stored.
//!
//! `npm test` runs a few hundred cases per property; `scripts/fuzz.sh` runs many more (set
//! PROPTEST_CASES) and reports the counts. cargo-fuzz would need a nightly toolchain.
#![cfg(not(target_arch = "wasm32"))]

use futures::executor::block_on;
use localrank_core::gpu::{BackendChoice, ModelRuntime};
use localrank_core::model::{EncoderStep, IntentEncoder, Precision, TextTowerConfig, fixture};
use localrank_core::pool::{CandidatePool, PoolInput};
use localrank_core::rank::{self, RankSettings, ShopperModel};
use localrank_core::{EventInput, EventKind, History, MemoryStore, OpenOptions};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const NOW: f64 = 1_780_000_000_000.0;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Keys a pool may (or may not) have, so generated objects hit the parser's real paths.
const KEYS: &[&str] =
    &["dim", "items", "id", "vector", "text", "score", "category", "price", "pinned", "sponsored", "available", "repeat", "vectors", "model", "base64", "dtype", "scale"];

fn any_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-3i64..70).prop_map(|n| json!(n)),
        any::<f64>().prop_filter("JSON has no NaN/inf", |f| f.is_finite()).prop_map(|f| json!(f)),
        Just(json!(1e300)),
        Just(json!(-0.0)),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any_number(),
        "[a-z0-9+/=]{0,12}".prop_map(Value::String),
        prop_oneof![Just("f32"), Just("f16"), Just("int8"), Just("AACAPwAAAAA=")].prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>())),
        ]
    })
}

/// Pools that are mostly well-formed, with a few fields perturbed: deeper coverage than
/// arbitrary JSON, which the parser rejects at the first field.
fn near_valid_pool() -> impl Strategy<Value = Value> {
    let item = (0u8..6, prop::collection::vec(-2.0f64..2.0, 0..4), any_json(), prop::sample::select(KEYS))
        .prop_map(|(id, vector, noise, key)| {
            let mut item = json!({ "id": format!("i{id}"), "vector": vector, "score": id });
            item[key] = noise;
            item
        });
    (1u8..4, prop::collection::vec(item, 0..12)).prop_map(|(dim, items)| json!({ "dim": dim, "items": items }))
}

fn history() -> History<MemoryStore> {
    let mut history = block_on(History::open(MemoryStore::new(), &OpenOptions::default(), NOW)).unwrap();
    for (i, item) in ["i1", "i2", "elsewhere"].iter().enumerate() {
        let input = EventInput {
            kind: Some(EventKind::View),
            item: Some(item.to_string()),
            timestamp: Some(NOW - 10.0 + i as f64),
            category: Some("c".into()),
            ..Default::default()
        };
        block_on(history.record(input, NOW)).unwrap();
    }
    history
}

/// Parses and, when valid, ranks: the order must be the available ids, each once.
fn parse_and_rank(value: Value, history: &History<MemoryStore>) {
    let Ok(input) = serde_json::from_value::<PoolInput>(value) else { return };
    let Ok(pool) = CandidatePool::from_input(input) else { return };
    let ranking = rank::rank(&pool, history.events(), &|id| history.lookup_vector(id), None, &RankSettings::default());
    let mut order = ranking.order.clone();
    order.sort();
    let mut expected: Vec<String> = pool.items.iter().filter(|c| c.available).map(|c| c.id.clone()).collect();
    expected.sort();
    assert_eq!(order, expected);
    assert!(ranking.items.iter().all(|i| i.score.is_finite()));
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_pool_parser_never_panics_on_arbitrary_json(value in any_json()) {
        parse_and_rank(value, &history());
    }

    #[test]
    fn near_valid_pools_parse_or_fail_cleanly_and_rank_to_a_permutation(value in near_valid_pool()) {
        parse_and_rank(value, &history());
    }

    #[test]
    fn events_are_stored_or_rejected_and_rejections_change_nothing(
        kind in prop::option::of(prop::sample::select(EventKind::ALL.to_vec())),
        item in prop::option::of(".{0,8}"),
        query in prop::option::of(".{0,8}"),
        timestamp in prop::option::of(prop_oneof![any::<f64>(), Just(NOW), Just(NOW - 1e10), Just(f64::NAN)]),
        vector in prop::option::of(prop::collection::vec(prop_oneof![any::<f32>(), -1.0f32..1.0], 0..4)),
        category in prop::option::of(".{0,4}"),
        price in prop::option::of(any::<f64>()),
    ) {
        let mut history = history();
        let before = history.events().to_vec();
        let input = EventInput { kind, item, query, timestamp, vector, category, price };
        match block_on(history.record(input, NOW)) {
            Ok(stored) => {
                prop_assert_eq!(history.len(), before.len() + 1);
                prop_assert!(history.events().contains(&stored));
                prop_assert!(stored.timestamp.is_finite());
            }
            Err(error) => {
                prop_assert_eq!(error.code(), "InvalidEvent");
                prop_assert_eq!(history.events(), &before[..]);
            }
        }
    }

    /// Any text on a pool item and any recorded query: the pool is valid or an `InvalidPool`
    /// naming `items[i].text`; a stored query is never an error; ranking with a model that has
    /// a text tower (which embeds both) gives a permutation of the pool, with finite scores.
    #[test]
    fn random_text_and_queries_never_panic_and_rank_to_a_permutation(
        texts in prop::collection::vec(prop_oneof![".{0,40}", "\\PC{0,600}", Just(String::new()), Just(" \t\n".to_owned()), "[a-z ]{1020,1030}"], 1..5),
        queries in prop::collection::vec(prop_oneof![".{0,40}", "\\PC{0,300}", "[!?. ]{1,5}"], 0..4),
    ) {
        let mut history = history();
        for (k, query) in queries.into_iter().enumerate() {
            let input = EventInput { kind: Some(EventKind::Search), query: Some(query), timestamp: Some(NOW - 5.0 + k as f64), ..Default::default() };
            if let Err(error) = block_on(history.record(input, NOW)) {
                prop_assert_eq!(error.field(), Some("query"));
            }
        }
        let mut items = vec![json!({ "id": "i1", "vector": [1.0, 0.0, 0.5, 0.0], "score": 3 })];
        items.extend(texts.iter().enumerate().map(|(k, text)| json!({ "id": format!("t{k}"), "text": text, "score": k })));
        let input: PoolInput = serde_json::from_value(json!({ "dim": 4, "items": items })).unwrap();
        let pool = match CandidatePool::from_input(input) {
            Ok(pool) => pool,
            Err(error) => {
                prop_assert_eq!(error.code(), "InvalidPool");
                let field = error.field().unwrap_or_default().to_owned();
                prop_assert!(field.starts_with("items[") && field.ends_with("].text"), "{}", field);
                return Ok(());
            }
        };
        let tower = TextTowerConfig { buckets: 64, min_n: 2, max_n: 5, dim: 3 };
        let (bytes, config) = fixture::random_model_with_text(4, 2, 1, 8, 8, Precision::Int8, Some(tower), 5).unwrap();
        let runtime: ModelRuntime = ModelRuntime::new(IntentEncoder::load(&bytes, &config).unwrap(), "m");
        let ranking = block_on(rank::rank_for_shopper(
            &pool,
            history.events(),
            &|id| history.lookup_vector(id),
            Some(ShopperModel { runtime: &runtime, now_ms: NOW }),
            &RankSettings { backend: BackendChoice::Cpu, ..RankSettings::default() },
            &mut |e| panic!("the model failed: {e}"),
        ));
        prop_assert_eq!(ranking.order.len(), pool.len());
        prop_assert!(ranking.items.iter().all(|i| i.score.is_finite()));
        prop_assert_eq!(ranking.text.map(|t| t.embedded), Some(true));
    }

    #[test]
    fn the_model_loader_never_panics_on_damaged_files(
        cut in 0usize..4_000,
        flips in prop::collection::vec((0usize..4_000, any::<u8>()), 0..6),
        precision in prop::sample::select(vec![Precision::F32, Precision::F16, Precision::Int8]),
    ) {
        let (mut bytes, config) = fixture::random_model(8, 2, 1, 4, 16, precision, 1).unwrap();
        for (at, value) in flips {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        bytes.truncate(cut.min(bytes.len()).max(if cut % 3 == 0 { 0 } else { bytes.len() }));
        if let Ok(encoder) = IntentEncoder::load(&bytes, &config) {
            let vector = [0.5f32; 8];
            let steps = [EncoderStep { vector: &vector, kind: EventKind::Cart, timestamp: NOW - 5_000.0 }];
            let _ = encoder.encode(&steps, NOW);
        }
    }

    #[test]
    fn the_model_loader_never_panics_on_arbitrary_configs(config in any_json()) {
        let (bytes, _) = fixture::random_model(8, 2, 1, 4, 16, Precision::F32, 1).unwrap();
        let _ = IntentEncoder::load(&bytes, &config.to_string());
    }
}
