//! Parity (a) and (c) of issue 3: the engine crate's CPU forward (`localrank_core::model`), fed the
//! files this crate exports, equals burn's forward on the same weights and inputs within 1e-4 —
//! in f32, and in f16/int8 against burn run on the same dequantised weights.
use localrank_core::model::{EncoderStep, IntentEncoder, ModelError, Positions};
use localrank_model::data::{Event, EventKind};
use localrank_model::encoder::make_batch;
use localrank_model::export::{round_trip, write_model_dir, ItemStats, Precision};
use localrank_model::train::history_row;
use localrank_model::{cpu_device, EncoderConfig, ModelWeights};
use rand::{Rng, SeedableRng};

const TOLERANCE: f32 = 1e-4;

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("localrank-engine-parity-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Seeded histories of 1..=max_len+15 events (some longer than the model's window), with
/// timestamps in seconds spanning every time-gap bucket.
fn histories(cfg: &EncoderConfig, count: usize, seed: u64) -> Vec<(Vec<Event>, i64)> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let len = rng.random_range(1..=cfg.max_len + 15);
            let mut ts = 1_700_000_000i64;
            let events = (0..len)
                .map(|_| {
                    ts += [0, 1, 30, 400, 5_000, 50_000, 200_000, 2_000_000, 9_000_000][rng.random_range(0..9usize)];
                    Event { item: rng.random_range(0..cfg.num_items as u32), kind: rng.random_range(0..EventKind::ALL.len() as u8), ts }
                })
                .collect();
            let now = ts + rng.random_range(0..100_000);
            (events, now)
        })
        .collect()
}

/// A dataset event's kind index (the vocabulary order) as the engine's kind.
fn engine_kind(k: u8) -> EventKind {
    EventKind::ALL[usize::from(k)]
}

/// Max |engine - burn| over the histories, with the engine loading `dir`'s exported files and
/// burn running on `burn_weights`.
fn max_diff(dir: &std::path::Path, burn_weights: &ModelWeights, hists: &[(Vec<Event>, i64)]) -> f32 {
    let cfg = &burn_weights.config;
    let bytes = std::fs::read(dir.join("model.safetensors")).expect("weights file");
    let json = std::fs::read_to_string(dir.join("model.json")).expect("config file");
    let engine = IntentEncoder::load(&bytes, &json).expect("engine loads the export");

    let device = cpu_device();
    let model = burn_weights.to_encoder(&device).expect("burn model");
    // Both read the model's window of each history (`window_len`: the engine's rule).
    let rows: Vec<_> = hists.iter().map(|(h, now)| history_row(h, *now, model.window_len(h.len()))).collect();
    let batch = make_batch(&rows, cfg.max_len);
    let burn = model.intents(&batch, &device).into_data().try_to_vec::<f32>().expect("f32 intents");

    let items = &burn_weights.tensors["item_vectors"];
    let d = cfg.dim;
    let mut worst = 0f32;
    for (b, (events, now)) in hists.iter().enumerate() {
        // The engine gets the window its own rule picks for this many events.
        let window = engine.config().window_len(cfg.max_len, events.len() as u64);
        let steps: Vec<EncoderStep> = events[events.len() - window..]
            .iter()
            .map(|e| EncoderStep { vector: &items.data[e.item as usize * d..(e.item as usize + 1) * d], kind: engine_kind(e.kind), timestamp: e.ts as f64 * 1000.0 })
            .collect();
        let got = engine.encode(&steps, *now as f64 * 1000.0).expect("engine encodes");
        for (g, w) in got.iter().zip(&burn[b * d..(b + 1) * d]) {
            worst = worst.max((g - w).abs());
        }
    }
    worst
}

#[test]
fn engine_cpu_forward_equals_burn_default_shape() {
    // The shipped shape: d=64, 2 heads, 2 blocks, 50 positions. dropout 0: inference. Both
    // position layouts: what the trainer exports now, and models exported before `positions`.
    for positions in [Positions::FromStart, Positions::FromEnd] {
        let mut cfg = EncoderConfig::new(40);
        cfg.dropout = 0.0;
        cfg.positions = positions;
        let w = ModelWeights::random(&cfg, 2024).expect("random weights");
        let dir = temp_dir(positions.as_str());
        let ids: Vec<String> = (0..cfg.num_items).map(|i| format!("sku-{i}")).collect();
        write_model_dir(&dir, &w, &ids, Precision::F32, "parity", serde_json::json!({}), ItemStats::default()).expect("export");
        let json = std::fs::read_to_string(dir.join("model.json")).expect("config file");
        assert!(json.contains(&format!("\"positions\": \"{}\"", positions.as_str())), "model.json names its positions: {json}");
        let diff = max_diff(&dir, &w, &histories(&cfg, 24, 1));
        eprintln!("engine vs burn, f32, d=64, {positions:?}: max abs diff {diff:e}");
        assert!(diff < TOLERANCE, "{positions:?}: max abs diff {diff}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn engine_cpu_forward_equals_burn_on_f16_and_int8_exports() {
    let mut cfg = EncoderConfig::new(30);
    cfg.dropout = 0.0;
    cfg.heads = 4;
    cfg.max_len = 20;
    let w = ModelWeights::random(&cfg, 77).expect("random weights");
    let ids: Vec<String> = (0..cfg.num_items).map(|i| format!("sku-{i}")).collect();
    let hists = histories(&cfg, 12, 2);
    for p in [Precision::F16, Precision::Int8] {
        let dir = temp_dir(&format!("{p:?}"));
        write_model_dir(&dir, &w, &ids, p, "parity", serde_json::json!({}), ItemStats::default()).expect("export");
        // burn runs on exactly the values the file decodes to, so the tolerance is the same.
        let dequantised = round_trip(&w, p).expect("round trip");
        let diff = max_diff(&dir, &dequantised, &hists);
        eprintln!("engine vs burn, {p:?}: max abs diff {diff:e}");
        assert!(diff < TOLERANCE, "{p:?}: max abs diff {diff}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn engine_rejects_an_export_for_another_shape() {
    let cfg = EncoderConfig::tiny(5);
    let w = ModelWeights::random(&cfg, 3).expect("random weights");
    let dir = temp_dir("shape");
    write_model_dir(&dir, &w, &(0..5).map(|i| format!("{i}")).collect::<Vec<_>>(), Precision::F32, "parity", serde_json::json!({}), ItemStats::default()).expect("export");
    let bytes = std::fs::read(dir.join("model.safetensors")).expect("weights file");
    let json = std::fs::read_to_string(dir.join("model.json")).expect("config").replace("\"ffn_dim\": 16", "\"ffn_dim\": 24");
    let err = IntentEncoder::load(&bytes, &json).expect_err("a config that does not match the tensors");
    assert_eq!(err, ModelError::WrongShape { name: "blocks.0.ffn.up.weight".into(), found: vec![8, 16], expected: vec![8, 24] });
    let _ = std::fs::remove_dir_all(&dir);
}

/// The text tower: the engine's `TextTower::embed` on the exported files equals burn's tower on
/// the same (dequantised) weights, and a search step (kind `search`, the query's vector) gives
/// the same intent in both, in every precision.
#[test]
fn engine_text_tower_and_search_steps_equal_burn() {
    use localrank_core::model::TextTowerConfig;
    use localrank_core::text::TextHashing;
    let mut cfg = EncoderConfig::new(12);
    cfg.dropout = 0.0;
    cfg.max_len = 10;
    cfg.text = Some(TextTowerConfig::new(TextHashing { buckets: 512, min_n: 3, max_n: 4 }, 16));
    let w = ModelWeights::random(&cfg, 11).expect("random weights");
    let ids: Vec<String> = (0..cfg.num_items).map(|i| format!("sku-{i}")).collect();
    let hashing = cfg.text.expect("text").hashing();
    let queries = ["organic whole milk", "Crème fraîche 200 ml", "x"];
    let search = EventKind::ALL.iter().position(|&k| k == EventKind::Search).expect("search kind") as u8;
    for p in [Precision::F32, Precision::F16, Precision::Int8] {
        let dir = temp_dir(&format!("text-{p:?}"));
        write_model_dir(&dir, &w, &ids, p, "parity", serde_json::json!({}), ItemStats::default()).expect("export");
        let json = std::fs::read_to_string(dir.join("model.json")).expect("config");
        assert!(json.contains("\"version\": 3"), "a model with a text tower is format version 3: {json}");
        let engine = IntentEncoder::load(&std::fs::read(dir.join("model.safetensors")).expect("weights"), &json).expect("engine loads");
        let tower = engine.weights().text.as_ref().expect("the engine loaded the tower");
        let device = cpu_device();
        let burn = round_trip(&w, p).expect("round trip").to_encoder(&device).expect("burn model");
        let burn_tower = burn.text.as_ref().expect("burn tower");
        let mut worst = 0f32;
        for q in queries {
            let mut rows = Vec::new();
            hashing.token_rows(q, &mut rows);
            let want = burn_tower.embed(&rows, &device);
            let got = tower.embed("query", q).expect("embeds");
            worst = worst.max(got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0, f32::max));
        }
        assert!(worst < TOLERANCE, "{p:?}: tower max abs diff {worst}");

        // History: two items, then a search; burn reads the search as a text step.
        let items = &round_trip(&w, p).expect("round trip").tensors["item_vectors"];
        let d = cfg.dim;
        let events = [Event { item: 3, kind: 0, ts: 1_000 }, Event { item: 7, kind: 2, ts: 1_400 }, Event { item: 0, kind: search, ts: 5_000 }];
        let row = history_row(&events, 9_000, events.len());
        let mut batch = make_batch(&[row], events.len());
        let mut rows = Vec::new();
        hashing.token_rows(queries[0], &mut rows);
        batch.texts.push((2, rows));
        let want = burn.intents(&batch, &device).into_data().try_to_vec::<f32>().expect("f32");
        let query_vector = tower.embed("query", queries[0]).expect("embeds");
        let steps: Vec<EncoderStep> = events
            .iter()
            .map(|e| EncoderStep {
                vector: if engine_kind(e.kind) == EventKind::Search { &query_vector } else { &items.data[e.item as usize * d..(e.item as usize + 1) * d] },
                kind: engine_kind(e.kind),
                timestamp: e.ts as f64 * 1000.0,
            })
            .collect();
        let got = engine.encode(&steps, 9_000_000.0).expect("engine encodes");
        let diff = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0, f32::max);
        assert!(diff < TOLERANCE, "{p:?}: search-step intent max abs diff {diff}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
