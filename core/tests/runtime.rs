//! Native tests of the model loader and the CPU forward (`localrank_core::model`). Parity with burn
//! lives in model/tests/engine_parity.rs; these check the loader's contract: every precision
//! loads, every kind of bad file fails with a typed error naming the first bad tensor, and no
//! byte sequence makes it panic.
use localrank_core::history::EventKind;
use localrank_core::model::fixture::{config_json, encode_safetensors, random_model, random_tensors, write_raw, SplitMix};
use localrank_core::model::{EncoderStep, IntentEncoder, ModelConfig, ModelError, Precision};

fn steps_for(vectors: &[Vec<f32>], start_ms: f64) -> Vec<EncoderStep<'_>> {
    vectors
        .iter()
        .enumerate()
        .map(|(i, v)| EncoderStep { vector: v, kind: EventKind::ALL[i % 6], timestamp: start_ms + (i * i) as f64 * 7_000.0 })
        .collect()
}

fn vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = SplitMix(seed);
    (0..n).map(|_| (0..dim).map(|_| rng.uniform() * 0.5).collect()).collect()
}

fn small() -> (ModelConfig, Vec<(String, Vec<usize>, Vec<f32>)>) {
    let config = ModelConfig::from_json(&config_json(16, 2, 2, 8, 32, Precision::F32)).expect("config");
    let tensors = random_tensors(&config, 5);
    (config, tensors)
}

#[test]
fn loads_every_precision_and_low_precision_stays_close() {
    let hist = vectors(12, 64, 1);
    let steps = steps_for(&hist, 1.7e12);
    let now = 1.7e12 + 3.6e6;
    let mut intents = Vec::new();
    for p in [Precision::F32, Precision::F16, Precision::Int8] {
        let (bytes, json) = random_model(64, 2, 2, 50, 256, p, 9).expect("fixture");
        let enc = IntentEncoder::load(&bytes, &json).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        assert_eq!(enc.config().dtype, p);
        let u = enc.encode(&steps, now).expect("encodes");
        assert_eq!(u.len(), 64);
        assert!(u.iter().all(|v| v.is_finite()));
        intents.push(u);
    }
    // Quantisation moves the output a little; layer-normed outputs are O(1).
    let diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    let (f16, int8) = (diff(&intents[0], &intents[1]), diff(&intents[0], &intents[2]));
    eprintln!("f16 vs f32 max abs diff {f16:e}, int8 vs f32 {int8:e}");
    assert!(f16 < 0.02, "f16 drifted {f16}");
    assert!(int8 < 0.1, "int8 drifted {int8}");
    assert!(f16 > 0.0 && int8 > 0.0, "the quantised files must actually differ from f32");
}

#[test]
fn long_histories_use_their_last_max_len_steps() {
    let (bytes, json) = random_model(16, 2, 2, 8, 32, Precision::F32, 3).expect("fixture");
    let enc = IntentEncoder::load(&bytes, &json).expect("loads");
    let hist = vectors(20, 16, 2);
    let steps = steps_for(&hist, 1.0e12);
    let now = 1.0e12 + 1e9;
    let all = enc.encode(&steps, now).expect("encodes");
    let tail = enc.encode(&steps[12..], now).expect("encodes");
    assert_eq!(all, tail);
    // ...and the history actually matters.
    let shorter = enc.encode(&steps[13..], now).expect("encodes");
    assert_ne!(all, shorter);
}

#[test]
fn time_gaps_and_kinds_change_the_intent() {
    let (bytes, json) = random_model(16, 2, 2, 8, 32, Precision::F32, 3).expect("fixture");
    let enc = IntentEncoder::load(&bytes, &json).expect("loads");
    let hist = vectors(4, 16, 4);
    let steps = steps_for(&hist, 1.0e12);
    let base = enc.encode(&steps, 1.0e12 + 120_000.0).expect("encodes");
    // Ranking a day later puts the last step in another gap bucket.
    assert_ne!(base, enc.encode(&steps, 1.0e12 + 86_400_000.0 * 2.0).expect("encodes"));
    let mut other = steps.clone();
    other[3].kind = EventKind::View; // steps_for gave it Purchase
    assert_ne!(base, enc.encode(&other, 1.0e12 + 120_000.0).expect("encodes"));
}

#[test]
fn bad_inputs_are_typed_errors() {
    let (bytes, json) = random_model(16, 2, 2, 8, 32, Precision::F32, 3).expect("fixture");
    let enc = IntentEncoder::load(&bytes, &json).expect("loads");
    assert!(matches!(enc.encode(&[], 0.0), Err(ModelError::Input(_))));
    let short = vec![0.5f32; 15];
    let err = enc.encode(&[EncoderStep { vector: &short, kind: EventKind::View, timestamp: 0.0 }], 0.0).expect_err("wrong dim");
    assert!(err.to_string().contains("15-dimensional"), "{err}");
}

#[test]
fn the_first_bad_tensor_is_named() {
    let (config, tensors) = small();
    let json = config_json(16, 2, 2, 8, 32, Precision::F32);

    // Missing: drop blocks.1.attn.k.weight (and, later in file order, blocks.1.ffn.up.bias).
    let without: Vec<_> = tensors.iter().filter(|(n, _, _)| n != "blocks.1.attn.k.weight" && n != "blocks.1.ffn.up.bias").cloned().collect();
    let err = IntentEncoder::load(&encode_safetensors(&without, Precision::F32), &json).expect_err("missing");
    assert_eq!(err, ModelError::MissingTensor { name: "blocks.1.attn.k.weight".into() });

    // Wrong shape.
    let mut reshaped = tensors.clone();
    let i = reshaped.iter().position(|(n, _, _)| n == "blocks.0.ffn.down.weight").expect("present");
    reshaped[i].1 = vec![16, 32];
    let err = IntentEncoder::load(&encode_safetensors(&reshaped, Precision::F32), &json).expect_err("shape");
    assert_eq!(err, ModelError::WrongShape { name: "blocks.0.ffn.down.weight".into(), found: vec![16, 32], expected: vec![32, 16] });

    // Wrong dtype: an f16 file described as f32 fails on the first tensor.
    let err = IntentEncoder::load(&encode_safetensors(&tensors, Precision::F16), &json).expect_err("dtype");
    assert_eq!(err, ModelError::WrongDtype { name: "kind_embedding".into(), found: "F16".into(), expected: "F32".into() });

    // int8 without its scale.
    let int8 = encode_safetensors(&tensors, Precision::Int8);
    let int8_json = config_json(16, 2, 2, 8, 32, Precision::Int8);
    assert!(IntentEncoder::load(&int8, &int8_json).is_ok());
    // Re-encode the int8 file by hand without `gap_embedding.scale`.
    let mut raw: Vec<(String, String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (n, shape, data) in &tensors {
        if shape.len() == 2 {
            raw.push((n.clone(), "I8".into(), shape.clone(), data.iter().map(|v| (v * 100.0) as i8 as u8).collect()));
            if n != "gap_embedding" {
                raw.push((format!("{n}.scale"), "F32".into(), vec![shape[0]], vec![0, 0, 128, 60].repeat(shape[0])));
            }
        } else {
            raw.push((n.clone(), "F32".into(), shape.clone(), data.iter().flat_map(|v| v.to_le_bytes()).collect()));
        }
    }
    let refs: Vec<(&str, &str, Vec<usize>, Vec<u8>)> = raw.iter().map(|(n, t, s, d)| (n.as_str(), t.as_str(), s.clone(), d.clone())).collect();
    let err = IntentEncoder::load(&write_raw(&refs), &int8_json).expect_err("no scale");
    assert_eq!(err, ModelError::MissingTensor { name: "gap_embedding.scale".into() });

    // Extra tensor.
    let mut extra = tensors.clone();
    extra.push(("blocks.2.ln1.gamma".into(), vec![16], vec![1.0; 16]));
    let err = IntentEncoder::load(&encode_safetensors(&extra, Precision::F32), &json).expect_err("extra");
    assert_eq!(err, ModelError::UnexpectedTensor { name: "blocks.2.ln1.gamma".into() });

    // Non-finite values.
    let mut nan = tensors.clone();
    let i = nan.iter().position(|(n, _, _)| n == "blocks.1.attn.o.bias").expect("present");
    nan[i].2[3] = f32::NAN;
    let err = IntentEncoder::load(&encode_safetensors(&nan, Precision::F32), &json).expect_err("nan");
    assert_eq!(err, ModelError::NonFinite { name: "blocks.1.attn.o.bias".into() });
    assert_eq!(config.blocks, 2);
}

#[test]
fn config_errors_name_the_field() {
    let (bytes, _) = random_model(16, 2, 2, 8, 32, Precision::F32, 3).expect("fixture");
    let json = config_json(16, 2, 2, 8, 32, Precision::F32);
    let field = |j: &str| match IntentEncoder::load(&bytes, j) {
        Err(ModelError::Config { field, .. }) => field,
        other => panic!("expected a config error, got {other:?}"),
    };
    assert_eq!(field(&json.replace("\"heads\":2", "\"heads\":3")), "heads");
    assert_eq!(field(&json.replace("gelu_tanh", "relu")), "activation");
    assert_eq!(field(&json.replace("\"favorite\"", "\"like\"")), "event_kinds");
    // A version newer than this engine reads (3 added the text tower and is read now).
    assert_eq!(field(&json.replace("\"version\":2", &format!("\"version\":{}", localrank_core::model::FORMAT_VERSION + 1))), "version");
    assert_eq!(field(&json.replace("\"version\":2", "\"version\":1")), "positions");
    assert_eq!(field(&json.replace("\"dtype\":\"f32\"", "\"dtype\":\"bf16\"")), "dtype");
    assert_eq!(field("not json"), "model.json");
    // Tuned blend weights are checked like any other field.
    let with_blend = |blend: &str| json.replacen('{', &format!("{{\"blend\":{blend},"), 1);
    assert_eq!(field(&with_blend(r#"{"intent":1,"server":-0.5,"affinity":0}"#)), "blend.server");
    assert_eq!(field(&with_blend(r#"{"intent":1,"server":0.5}"#)), "blend.affinity", "a partial blend is refused, naming what is missing");
    assert_eq!(field(&json.replace("\"heads\":2", "\"heads\":\"2\"")), "heads", "a string where a number belongs");
    assert_eq!(field(&json.replace("\"heads\":2", "\"heads\":2.5")), "heads");
    let tuned = IntentEncoder::load(&bytes, &with_blend(r#"{"intent":1,"server":0.2,"affinity":1.5}"#)).expect("a valid blend loads");
    let blend = tuned.config().blend.expect("blend kept");
    assert_eq!((blend.intent, blend.server, blend.affinity), (1.0, 0.2, 1.5));
    assert_eq!(IntentEncoder::load(&bytes, &json).expect("loads").config().blend, None, "untuned models have none");
    // So is a learned repeat scorer: it must list this engine's features, in order.
    let names: Vec<String> = localrank_core::rank::REPEAT_FEATURES.iter().map(|f| format!("{f:?}")).collect();
    let n = names.len();
    let scorer = |features: &[String], scale: f32| {
        let v = |x: f32| format!("[{}]", vec![x.to_string(); n].join(","));
        format!(r#"{{"features":[{}],"mean":{},"scale":{},"hidden":[],"hidden_bias":[],"output":[],"linear":{},"bias":0}}"#, features.join(","), v(0.0), v(scale), v(0.5))
    };
    let with_scorer = |s: String| json.replacen('{', &format!("{{\"repeat_scorer\":{s},"), 1);
    let loaded = IntentEncoder::load(&bytes, &with_scorer(scorer(&names, 1.0))).expect("a valid scorer loads");
    assert_eq!(loaded.config().repeat_scorer.as_ref().map(|s| s.linear.len()), Some(n));
    assert_eq!(field(&with_scorer(scorer(&names[1..], 1.0))), "repeat_scorer.features", "a scorer of another engine version");
    assert_eq!(field(&with_scorer(scorer(&names, -1.0))), "repeat_scorer.scale");
}

#[test]
fn truncated_or_corrupt_bytes_never_panic() {
    let (bytes, json) = random_model(16, 2, 1, 4, 16, Precision::Int8, 8).expect("fixture");
    assert!(IntentEncoder::load(&bytes, &json).is_ok());
    // Every truncation point.
    for cut in 0..bytes.len() {
        let err = IntentEncoder::load(&bytes[..cut], &json).expect_err("truncated file must fail");
        assert!(matches!(err, ModelError::Container(_) | ModelError::MissingTensor { .. }), "cut {cut}: {err:?}");
    }
    // Random byte corruption: any outcome but a panic (some flips only change a weight).
    let mut rng = SplitMix(99);
    for _ in 0..3000 {
        let mut bad = bytes.clone();
        for _ in 0..3 {
            let i = (rng.next_u64() % bad.len() as u64) as usize;
            bad[i] = rng.next_u64() as u8;
        }
        let _ = IntentEncoder::load(&bad, &json);
    }
    // A header length larger than the file.
    let mut huge = bytes.clone();
    huge[..8].copy_from_slice(&(u64::MAX).to_le_bytes());
    assert!(matches!(IntentEncoder::load(&huge, &json), Err(ModelError::Container(_))));
    // A header naming one tensor twice (JSON allows it; safetensors does not).
    let header = br#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let mut twice = (header.len() as u64).to_le_bytes().to_vec();
    twice.extend_from_slice(header);
    twice.extend_from_slice(&1f32.to_le_bytes());
    match IntentEncoder::load(&twice, &json) {
        Err(ModelError::Container(message)) => assert!(message.contains("`a` is listed twice"), "{message}"),
        other => panic!("a duplicated tensor must be a container error: {other:?}"),
    }
}

#[test]
fn fast_tanh_is_within_4e7_of_the_exact_value() {
    let mut worst = 0f64;
    let mut x = -20f32;
    while x < 20.0 {
        worst = worst.max((localrank_core::model::tanh(x) as f64 - (x as f64).tanh()).abs());
        x += 1e-4;
    }
    assert!(worst < 4e-7, "max abs error {worst:e}");
    assert_eq!(localrank_core::model::tanh(0.0), 0.0);
    assert_eq!(localrank_core::model::tanh(100.0), 1.0);
    assert_eq!(localrank_core::model::tanh(-100.0), -1.0);
}

#[test]
fn an_unchanged_history_reuses_the_intent_exactly_and_a_changed_one_does_not() {
    use futures::executor::block_on;
    use localrank_core::gpu::{BackendChoice, ModelRuntime};
    let (bytes, json) = random_model(16, 2, 2, 8, 32, Precision::F32, 4).expect("fixture");
    let runtime: ModelRuntime = ModelRuntime::new(IntentEncoder::load(&bytes, &json).expect("loads"), "m-test");
    let hist = vectors(10, 16, 6);
    let items: Vec<f32> = vectors(30, 16, 7).concat();
    let steps = steps_for(&hist, 1.0e12);
    let last = steps.last().expect("steps").timestamp;
    let run = |steps: &[EncoderStep], now: f64| block_on(runtime.encode_and_score(steps, now, &items, 5, BackendChoice::Cpu)).expect("scores");
    let fresh = |steps: &[EncoderStep], now: f64| IntentEncoder::load(&bytes, &json).expect("loads").encode(steps, now).expect("encodes");

    let first = run(&steps, last + 1_000.0);
    // A second later the last event's time gap is in the same bucket: the cached intent.
    let again = run(&steps, last + 2_000.0);
    assert_eq!(again, first);
    assert_eq!(again.intent, fresh(&steps, last + 2_000.0), "the reused intent is the one a full pass gives");
    // Days later the gap bucket differs, and so does the intent; a new event changes it too.
    let later = run(&steps, last + 5.0 * 86_400_000.0);
    assert_eq!(later.intent, fresh(&steps, last + 5.0 * 86_400_000.0));
    assert_ne!(later.intent, first.intent);
    let fewer = run(&steps[..9], last + 1_000.0);
    assert_eq!(fewer.intent, fresh(&steps[..9], last + 1_000.0));
    assert_ne!(fewer.intent, first.intent);
    // Back to the first input: recomputed, and the same as the first time.
    assert_eq!(run(&steps, last + 1_000.0), first);
}

#[test]
fn top_k_selects_what_a_full_sort_would() {
    use localrank_core::gpu::top_k;
    let mut rng = SplitMix(11);
    for n in [0usize, 1, 2, 7, 100, 1000] {
        // Few distinct values, so ties (broken by the lower index) are common.
        let scores: Vec<f32> = (0..n).map(|_| (rng.uniform() * 8.0).round() / 8.0).collect();
        let mut reference: Vec<u32> = (0..n as u32).collect();
        reference.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]).then(a.cmp(&b)));
        for k in [0usize, 1, 3, 10, n, n + 5] {
            assert_eq!(top_k(&scores, k), reference[..k.min(n)].to_vec(), "n {n} k {k}");
        }
    }
}
