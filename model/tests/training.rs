//! Training, evaluation and baselines on small synthetic data with a known structure.
use localrank_model::baselines::{Bpr, BprConfig, ItemKnn, Popularity};
use localrank_model::data::{Dataset, Event, SplitPart};
use localrank_model::eval::{evaluate, evaluate_parallel, homepage_pool, EvalOptions, Scorer};
use localrank_model::train::{train, training_rows};
use localrank_model::{cpu_device, EncoderConfig, TrainConfig};

mod common;
use common::{cyclic_dataset, synthetic};

#[test]
fn training_rows_use_every_position_and_windows_from_the_end() {
    let ds = cyclic_dataset(1, 50, 12); // train part = 10 events -> 9 input positions
    let rows = training_rows(&ds, 4, 10);
    let lens: Vec<usize> = rows.iter().map(|r| r.0.len()).collect();
    assert_eq!(lens, vec![4, 4, 1]);
    let last = &rows[0];
    let train = ds.train_sequence(0);
    assert_eq!(last.0, train[5..9].iter().map(|e| e.item).collect::<Vec<_>>());
    assert_eq!(last.3, train[6..10].iter().map(|e| i64::from(e.item)).collect::<Vec<_>>());
    assert!(last.2.iter().all(|&g| g == 2), "60 s gaps fall in the [60, 600) bucket");
    assert_eq!(training_rows(&ds, 4, 1).len(), 1);
}

#[test]
fn encoder_learns_a_sequential_pattern_popularity_cannot() {
    let ds = cyclic_dataset(40, 24, 14);
    let mut enc = EncoderConfig::tiny(24);
    enc.dim = 16;
    enc.ffn_dim = 32;
    enc.max_len = 8;
    let cfg = TrainConfig { epochs: 25, batch_size: 16, learning_rate: 0.01, weight_decay: 0.0, patience: 25, seed: 5, windows_per_user: 2, validation_users: 0, sampled_negatives: 0, exclude_seen: false, item_init: Default::default(), ..TrainConfig::default() };
    let mut lines = Vec::new();
    let out = train(&ds, &enc, &cfg, &cpu_device(), false, &mut |s| lines.push(s.to_string())).expect("trains");
    assert!(!lines.is_empty() && lines[0].contains("val NDCG@10"));
    assert!(out.epochs[0].loss > out.epochs[out.epochs.len() - 1].loss, "loss falls: {lines:?}");
    let pop = evaluate(&Popularity::fit(&ds), &ds, SplitPart::Validation, None, &EvalOptions::default());
    assert!(out.best_validation.ndcg10 > 0.8, "learned the cycle: {:?}\n{lines:?}", out.best_validation);
    assert!(out.best_validation.ndcg10 > pop.ndcg10 + 0.4, "beats popularity {pop:?}");
    out.weights.check().expect("finite, well-shaped weights");
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let ds = cyclic_dataset(10, 12, 8);
    let enc = EncoderConfig::tiny(12);
    let cfg = TrainConfig { epochs: 2, batch_size: 4, learning_rate: 0.01, weight_decay: 0.0, patience: 5, seed: 9, windows_per_user: 1, validation_users: 0, sampled_negatives: 0, exclude_seen: false, item_init: Default::default(), ..TrainConfig::default() };
    let a = train(&ds, &enc, &cfg, &cpu_device(), false, &mut |_| {}).expect("trains");
    let b = train(&ds, &enc, &cfg, &cpu_device(), false, &mut |_| {}).expect("trains");
    let (wa, wb) = (&a.weights.tensors["blocks.0.attn.q.weight"].data, &b.weights.tensors["blocks.0.attn.q.weight"].data);
    let max_diff = wa.iter().zip(wb).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(max_diff < 1e-5, "same seed, same weights (max diff {max_diff})");
}

#[test]
fn item_knn_and_bpr_learn_co_occurrence() {
    // Two disjoint groups of users and items: kNN and BPR must rank in-group items first.
    let mut sequences = Vec::new();
    for u in 0..30 {
        let base = if u % 2 == 0 { 0 } else { 10 };
        sequences.push((0..8).map(|t| Event { item: (base + (u + t) % 10) as u32, kind: 3, ts: t as i64 }).collect());
    }
    let ds = synthetic("groups", vec![None; 20], sequences);
    let knn = ItemKnn::fit(&ds, 100);
    let s = knn.score(&ds, &[0], SplitPart::Test).remove(0);
    let (in_group, out_group) = (s[..10].iter().cloned().fold(f32::MAX, f32::min), s[10..].iter().cloned().fold(0f32, f32::max));
    assert!(in_group > out_group, "kNN: {s:?}");
    let m = evaluate(&knn, &ds, SplitPart::Test, None, &EvalOptions::default());
    assert!(m.hr10 > 0.99, "with history excluded only 2-3 in-group items remain: {m:?}");
    let (bpr, val, _) = Bpr::fit(&ds, &BprConfig { max_epochs: 40, ..BprConfig::default() });
    assert!(val.hr10 > 0.9, "BPR separates the groups: {val:?}");
    let m = evaluate(&bpr, &ds, SplitPart::Test, None, &EvalOptions::default());
    assert!(m.hr10 > 0.9, "{m:?}");
    // Scoring on every core gives the same numbers, to the bit, for all users or a subset.
    for users in [None, Some(&[3usize, 1, 17, 8, 9][..])] {
        for part in [SplitPart::Test, SplitPart::Validation] {
            let opts = EvalOptions::default();
            assert_eq!(evaluate_parallel(&bpr, &ds, part, users, &opts), evaluate(&bpr, &ds, part, users, &opts));
            assert_eq!(evaluate_parallel(&knn, &ds, part, users, &opts), evaluate(&knn, &ds, part, users, &opts));
        }
    }
}

/// Scores the test target highest: the best possible reordering.
struct Oracle;
impl Scorer for Oracle {
    fn score(&self, ds: &Dataset, users: &[usize], part: SplitPart) -> Vec<Vec<f32>> {
        users.iter().map(|&u| {
            let mut s = vec![0.0; ds.num_items()];
            s[ds.history_and_target(u, part).1.item as usize] = 1.0;
            s
        }).collect()
    }
}

#[test]
fn homepage_pool_compares_server_order_with_reordering() {
    let ds = cyclic_dataset(30, 40, 10);
    let r = homepage_pool(&Oracle, &ds, 20, &EvalOptions::default());
    assert_eq!(r.pool_size, 20);
    assert_eq!(r.users, 30);
    // The oracle puts every in-pool target first: NDCG@10 = share of users with target in pool.
    assert!((r.localrank_ndcg10 - r.users_with_target_in_pool as f64 / 30.0).abs() < 1e-9, "{r:?}");
    assert!(r.localrank_ndcg10 >= r.server_ndcg10);
    assert!(r.users_with_target_in_pool > 0 && r.users_with_target_in_pool < 30);
}

#[test]
fn sampled_softmax_also_learns_the_pattern() {
    let ds = cyclic_dataset(40, 24, 14);
    let mut enc = EncoderConfig::tiny(24);
    enc.dim = 16;
    enc.ffn_dim = 32;
    enc.max_len = 8;
    let cfg = TrainConfig { epochs: 25, batch_size: 16, learning_rate: 0.01, weight_decay: 0.0, patience: 25, seed: 5, windows_per_user: 2, validation_users: 0, sampled_negatives: 8, exclude_seen: false, item_init: Default::default(), ..TrainConfig::default() };
    let out = train(&ds, &enc, &cfg, &cpu_device(), false, &mut |_| {}).expect("trains");
    assert!(out.best_validation.ndcg10 > 0.6, "{:?}", out.best_validation);
}

#[test]
fn negative_sampler_mixes_uniform_and_popularity() {
    use localrank_model::train::NegativeSampler;
    use rand::SeedableRng;
    let s = NegativeSampler::new(&[0, 0, 0, 100]);
    assert!((s.q.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    assert!((s.q[0] - 0.125).abs() < 1e-6 && (s.q[3] - 0.625).abs() < 1e-6);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let draws = s.draw(4000, &mut rng);
    let hot = draws.iter().filter(|&&d| d == 3).count() as f64 / 4000.0;
    assert!((hot - 0.625).abs() < 0.05, "{hot}");
    assert!(draws.iter().all(|&d| (0..4).contains(&d)));
}

#[test]
fn every_new_best_epoch_is_checkpointed() {
    use localrank_model::train::train_with_checkpoints;
    let ds = cyclic_dataset(12, 12, 8);
    let enc = EncoderConfig::tiny(12);
    let cfg = TrainConfig { epochs: 4, batch_size: 4, learning_rate: 0.01, weight_decay: 0.0, patience: 4, seed: 2, windows_per_user: 1, validation_users: 0, sampled_negatives: 0, exclude_seen: false, item_init: Default::default(), ..TrainConfig::default() };
    let mut saved: Vec<(usize, f64)> = Vec::new();
    let out = train_with_checkpoints(&ds, &enc, &cfg, &cpu_device(), false, &mut |_| {}, &mut |w, epoch, m| {
        w.check()?;
        saved.push((epoch, m.ndcg10));
        Ok(())
    })
    .expect("trains");
    assert_eq!(saved.last().map(|s| s.0), Some(out.best_epoch));
    assert!(saved.windows(2).all(|p| p[1].1 > p[0].1), "each checkpoint improves: {saved:?}");
    let improving = out.epochs.iter().scan(-1.0, |best, e| { let b = e.val_ndcg10 > *best; if b { *best = e.val_ndcg10; } Some(b) }).filter(|&b| b).count();
    assert_eq!(saved.len(), improving);
}

/// Shoppers who stay in one category: only the engine's category affinity can find their next
/// item (the item vectors and intents here are noise).
fn category_loyal_dataset(users: usize, categories: usize, per_category: usize, len: usize) -> Dataset {
    let items = categories * per_category;
    let sequences = (0..users)
        .map(|u| {
            let c = u % categories;
            (0..len).map(|t| Event { item: (c * per_category + (u * 3 + t * 5) % per_category) as u32, kind: 3, ts: 1_000 + t as i64 * 3_600 }).collect()
        })
        .collect();
    synthetic("loyal", (0..items).map(|i| Some(format!("c{}", i / per_category))).collect(), sequences)
}

#[test]
fn blend_tuning_uses_the_engines_ranking_and_finds_the_signal() {
    use localrank_core::rank::BlendWeights;
    use localrank_model::eval::blend::{tune, HomepageSetup};

    let ds = category_loyal_dataset(60, 6, 12, 8);
    let dim = 8;
    let noise = |k: usize| ((k as f32 * 12.9898).sin() * 43_758.547).fract();
    let vectors: Vec<f32> = (0..ds.num_items() * dim).map(noise).collect();
    let users: Vec<usize> = (0..ds.num_users()).collect();
    // A random-weight engine model: its intents are noise with respect to these shoppers.
    let (bytes, json) = localrank_core::model::fixture::random_model(dim, 2, 1, 6, 16, localrank_core::model::Precision::F32, 5).expect("fixture model");
    let model = localrank_core::gpu::ModelRuntime::new(localrank_core::model::IntentEncoder::load(&bytes, &json).expect("loads"), "noise");
    let mut setup = HomepageSetup::new(&ds, &vectors, dim, 40, None).expect("a valid pool");
    assert_eq!(setup.pool_size(), 40);

    let tuning = tune(&setup.cases(SplitPart::Validation, &users, &model).expect("the engine ranks"));
    assert!(tuning.tuned.affinity > 0.0, "{tuning:?}");
    assert!(tuning.validation_tuned > tuning.validation_server + 0.1, "{tuning:?}");
    assert!(tuning.validation_tuned >= tuning.validation_default, "{tuning:?}");

    // The server-order row of the engine run is the same protocol as eval::homepage_pool.
    let server_only = BlendWeights { intent: 0.0, server: 1.0, affinity: 0.0, neighbour: 0.0, repeat: 0.0 };
    let engine_server = setup.engine_metrics(SplitPart::Test, &users, &model, server_only, 1.0).expect("the engine ranks");
    let protocol = homepage_pool(&Popularity::fit(&ds), &ds, 40, &EvalOptions::default());
    assert!((engine_server.ndcg10 - protocol.server_ndcg10).abs() < 1e-9, "{engine_server:?} vs {protocol:?}");
    // And the tuned weights carry over to the held-out test targets through the full engine.
    let tuned = setup.engine_metrics(SplitPart::Test, &users, &model, tuning.tuned, 0.8).expect("the engine ranks");
    assert!(tuned.ndcg10 > engine_server.ndcg10 + 0.1, "{tuned:?} vs {engine_server:?}");
}

#[test]
fn seen_items_are_masked_out_of_the_training_softmax() {
    use localrank_model::encoder::{make_batch, IntentEncoder};
    // Row: inputs 3, 5, 3, 7 with targets 5, 3, 7, 9 (the repeat of 3 is a target once).
    let row = (vec![3u32, 5, 3, 7], vec![0u8; 4], vec![2usize; 4], vec![5i64, 3, 7, 9]);
    let batch = make_batch(&[row], 5); // one padding position in front
    let seen = batch.seen_before(&[1, 2, 3, 4]);
    assert_eq!(seen, vec![vec![3], vec![5], vec![3, 5], vec![3, 5, 7]], "inputs so far, never the position's own target");
    let device = cpu_device();
    let model = IntentEncoder::new(&EncoderConfig::tiny(12), &device);
    let value = |t: burn::tensor::Tensor<1>| -> f32 { t.try_into_scalar().expect("scalar loss") };
    let (plain, masked) = (value(model.loss(&batch, &device, false)), value(model.loss(&batch, &device, true)));
    assert!(masked < plain, "masking competitors must raise the targets' log-probability: {masked} vs {plain}");
    let negatives = [3i64, 5, 7, 9, 1];
    let q = vec![1.0 / 12.0; 12];
    let (plain, masked) = (value(model.sampled_loss(&batch, &negatives, &q, &device, false)), value(model.sampled_loss(&batch, &negatives, &q, &device, true)));
    assert!(masked < plain, "sampled: {masked} vs {plain}");

    // The sampled loss equals its definition computed here by hand, with a negative drawn
    // twice (both copies masked where the item is seen or is the target) and skewed q.
    let negatives = [3i64, 5, 3, 9, 1, 11];
    let q: Vec<f32> = (0..12).map(|i| (i + 1) as f32 / 78.0).collect();
    let read = |t: burn::tensor::Tensor<2>| -> Vec<f32> { t.into_data().try_to_vec::<f32>().expect("f32") };
    let hidden = read(model.hidden(&batch, &device).reshape([5, 8]));
    let table = read(model.item_table());
    let unit = |v: &[f32]| -> Vec<f32> {
        let n = (v.iter().map(|x| x * x).sum::<f32>() + 1e-12).sqrt();
        v.iter().map(|x| x / n).collect()
    };
    let cos = |a: &[f32], item: i64| -> f32 { a.iter().zip(&table[item as usize * 8..item as usize * 8 + 8]).map(|(x, y)| x * y).sum::<f32>() / 0.1 };
    let k = negatives.len() as f32;
    let mut total = 0f64;
    let seen_lists = batch.seen_before(&[1, 2, 3, 4]);
    for ((pos, target), seen) in [1usize, 2, 3, 4].into_iter().zip([5i64, 3, 7, 9]).zip(&seen_lists) {
        let h = unit(&hidden[pos * 8..pos * 8 + 8]);
        let mut logits = vec![cos(&h, target) - (k * q[target as usize]).ln()];
        for &n in &negatives {
            let masked = n == target || seen.contains(&n);
            logits.push(if masked { cos(&h, n) + localrank_model::encoder::MASK_BIAS } else { cos(&h, n) - (k * q[n as usize]).ln() });
        }
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let z: f32 = logits.iter().map(|l| (l - max).exp()).sum();
        total += f64::from(-(logits[0] - max - z.ln()));
    }
    let want = (total / 4.0) as f32;
    let got = value(model.sampled_loss(&batch, &negatives, &q, &device, true));
    assert!((got - want).abs() < 1e-4, "sampled loss {got} vs its definition {want}");
}

#[test]
fn settings_follow_the_data_and_explicit_ones_are_never_tuned() {
    use localrank_model::auto::{derive, train_auto, DataShape, Overrides, TuneOptions, FULL_SOFTMAX_MAX_ITEMS, MAX_EPOCH_CONTEXT_POSITIONS};
    let small = cyclic_dataset(40, 20, 30);
    let shape = DataShape::of(&small);
    assert_eq!((shape.users, shape.items, shape.median_history, shape.max_history), (40, 20, 28, 28));
    let (enc, tr) = derive(&shape);
    assert_eq!((enc.max_len, tr.windows_per_user, tr.sampled_negatives), (30, 1, 0));
    let big = DataShape { items: FULL_SOFTMAX_MAX_ITEMS + 1, median_history: 300, max_history: 1000, ..shape.clone() };
    let (enc, tr) = derive(&big);
    assert!(tr.sampled_negatives > 0, "above the break-even the softmax is sampled");
    assert_eq!(tr.item_init, localrank_model::config::ItemInit::Bpr, "the item table starts from BPR-MF");
    assert_eq!((enc.max_len, tr.windows_per_user), (200, 5), "every position of the longest history is trained");
    // Complete Journey's shape (leave-one-out): 797k training events, median history 256. The
    // median asks for 200; training every event at 200 costs 160M positions × context per
    // epoch, so the context shortens to what fits and the windows still cover every event.
    let long = DataShape { users: 2439, items: 25_635, events: 797_186, train_events: 792_308, median_history: 256, p90_history: 800, max_history: 1900, ..shape.clone() };
    let (enc, tr) = derive(&long);
    assert!(enc.max_len * long.train_events <= MAX_EPOCH_CONTEXT_POSITIONS, "{}", enc.max_len);
    assert_eq!((enc.max_len, tr.windows_per_user), (50, 38));
    // Patience follows the epoch's size: a minute-long epoch waits the floor of 5, a 20k-event
    // log (epochs of seconds, a validation split of a few hundred users) waits 10.
    assert_eq!(tr.patience, 5);
    let first_purchases = DataShape { users: 578, items: 1912, events: 21_314, train_events: 20_158, median_history: 36, p90_history: 48, max_history: 62, ..shape.clone() };
    assert_eq!(derive(&first_purchases).1.patience, 10);
    assert_eq!(derive(&shape).1.patience, 15, "a tiny log is capped at 15 epochs without a gain");
    // The position layout is a setting like any other: a flag fixes it.
    let (mut e, mut t) = derive(&long);
    assert_eq!(e.positions, localrank_model::config::Positions::FromStart);
    Overrides { positions: Some(localrank_model::config::Positions::FromEnd), ..Overrides::default() }.apply(&long, &mut e, &mut t);
    assert_eq!(e.positions, localrank_model::config::Positions::FromEnd);
    // A fixed context gets windows covering every event at that length...
    let (mut e, mut t) = derive(&long);
    Overrides { max_len: Some(100), ..Overrides::default() }.apply(&long, &mut e, &mut t);
    assert_eq!((e.max_len, t.windows_per_user), (100, 19));
    // ...and fixed windows bound the epoch themselves: the median's context, uncapped.
    let (mut e, mut t) = derive(&long);
    Overrides { windows: Some(3), ..Overrides::default() }.apply(&long, &mut e, &mut t);
    assert_eq!((e.max_len, t.windows_per_user), (200, 3));

    let fixed = Overrides { dim: Some(8), heads: Some(2), blocks: Some(1), learning_rate: Some(0.02), epochs: Some(2), ..Overrides::default() };
    let opts = TuneOptions { budget_seconds: 1e6, trial_epochs: 1, min_gain: 0.0, time_budget_seconds: None };
    let out = train_auto(&small, &fixed, 3, &opts, &cpu_device(), false, &mut |_| {}, &mut |_, _, _| Ok(())).expect("trains");
    assert_eq!((out.encoder.dim, out.training.learning_rate, out.training.epochs), (8, 0.02, 2));
    let tried: Vec<&str> = out.report.trials.iter().map(|t| t.change.as_str()).collect();
    assert_eq!(tried[0], "starting point");
    assert!(tried.iter().any(|t| t.starts_with("dropout")), "{tried:?}");
    assert!(tried.contains(&"item init random"), "the random start is tried against BPR's: {tried:?}");
    assert!(!tried.iter().any(|t| t.starts_with("learning rate") || t.starts_with("dim")), "fixed settings were tuned: {tried:?}");
    assert!(out.outcome.best_validation.ndcg10 >= 0.0);
}

#[test]
fn a_time_budget_ends_training_with_the_best_model_so_far() {
    use localrank_model::auto::{train_auto, Overrides, TuneOptions};
    let ds = cyclic_dataset(40, 20, 30);
    let fixed = Overrides { dim: Some(8), heads: Some(2), blocks: Some(1), epochs: Some(50), patience: Some(50), batch_size: Some(4), ..Overrides::default() };
    // A budget of 0 s: one epoch of one batch, validated, is all that fits — and it is a model.
    let opts = TuneOptions { budget_seconds: 300.0, trial_epochs: 1, min_gain: 0.0, time_budget_seconds: Some(0.0) };
    let mut lines = Vec::new();
    let out = train_auto(&ds, &fixed, 5, &opts, &cpu_device(), false, &mut |l| lines.push(l.to_owned()), &mut |_, _, _| Ok(())).expect("trains");
    assert_eq!(out.outcome.stopped_by, "time budget");
    assert_eq!(out.outcome.epochs.len(), 1, "{lines:?}");
    assert_eq!(out.outcome.best_epoch, 1);
    assert!(out.report.trials.len() == 1, "no tuning trial fits a budget of 0: {:?}", out.report.trials);
    assert!(lines.iter().any(|l| l.contains("batches: time budget")), "the cut epoch says so: {lines:?}");
    // The item table's BPR-MF start is bounded by the budget too: one epoch, validated.
    assert!(lines.iter().any(|l| l.contains("item table started from BPR-MF") && l.contains("best epoch 1,") && l.contains("cut short by the time budget")), "{lines:?}");
    // Without a budget the same run goes on (here to its 50 epochs or early stopping), and so
    // does the BPR-MF start.
    let opts = TuneOptions { time_budget_seconds: None, budget_seconds: 0.0, ..opts };
    let fixed = Overrides { epochs: Some(3), ..fixed };
    let mut lines = Vec::new();
    let out = train_auto(&ds, &fixed, 5, &opts, &cpu_device(), false, &mut |l| lines.push(l.to_owned()), &mut |_, _, _| Ok(())).expect("trains");
    assert_eq!((out.outcome.stopped_by, out.outcome.epochs.len()), ("epochs", 3));
    assert!(lines.iter().any(|l| l.contains("item table started from BPR-MF") && !l.contains("cut short")), "{lines:?}");
}

#[test]
fn the_item_table_can_start_from_given_vectors() {
    use localrank_model::encoder::IntentEncoder;
    let device = cpu_device();
    let mut enc = EncoderConfig::tiny(5);
    enc.dim = 8;
    enc.ffn_dim = 32;
    let model = IntentEncoder::new(&enc, &device);
    let rows = |m: &IntentEncoder| -> Vec<f32> { m.item.weight.val().into_data().try_into_vec::<f32>().expect("f32") };
    let before = rows(&model);
    let vectors: Vec<f32> = (0..5 * 8).map(|i| ((i * 5) % 11) as f32 - 5.0).collect();
    let started = rows(&model.clone().with_item_vectors(&vectors, &device));
    assert_eq!(started[..8], before[..8], "the padding row is left alone");
    for (row, v) in started[8..].chunks(8).zip(vectors.chunks(8)) {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        for (r, x) in row.iter().zip(v) {
            assert!((r - x / norm).abs() < 1e-6, "each item row is its vector at unit length");
        }
    }
    // A table of the wrong size is not applied.
    assert_eq!(rows(&model.clone().with_item_vectors(&vectors[..8], &device)), before);
}

#[test]
fn a_bpr_started_session_trains() {
    use localrank_model::config::ItemInit;
    let ds = cyclic_dataset(30, 20, 14);
    let mut enc = EncoderConfig::tiny(20);
    enc.dim = 16;
    let cfg = TrainConfig { epochs: 3, batch_size: 8, learning_rate: 0.01, weight_decay: 0.0, patience: 3, seed: 4, windows_per_user: 1, validation_users: 0, sampled_negatives: 0, exclude_seen: false, item_init: ItemInit::Bpr, ..TrainConfig::default() };
    let out = train(&ds, &enc, &cfg, &cpu_device(), false, &mut |_| {}).expect("trains");
    assert!(!out.epochs.is_empty() && out.epochs.iter().all(|e| e.loss.is_finite()), "{:?}", out.epochs);
    assert!(out.best_validation.ndcg10.is_finite());
}

#[test]
fn bpr_fits_when_a_user_has_seen_every_item() {
    // Every user walks the whole 6-item cycle: no item is left to sample as a negative. The fit
    // must still end (it used to loop forever looking for one) and give a factor per item.
    let ds = cyclic_dataset(5, 6, 12);
    let (bpr, _, _) = Bpr::fit(&ds, &BprConfig { dim: 4, max_epochs: 5, eval_every: 1, ..BprConfig::default() });
    let (factors, dim) = bpr.item_factors();
    assert_eq!((factors.len(), dim), (6 * 4, 4));
    assert!(factors.iter().all(|x| x.is_finite()));
}

#[test]
fn precision_comparison_scores_prefixes_like_the_split_and_sees_quantisation() {
    use burn::module::Module;
    use localrank_model::eval::precision::{compare_precisions, last_positions, PositionScorer};
    use localrank_model::export::{round_trip, Precision};
    use localrank_model::train::EncoderScorer;
    use localrank_model::ModelWeights;
    let ds = cyclic_dataset(6, 15, 9);
    let enc = EncoderConfig::tiny(15);
    let device = cpu_device();
    let w = ModelWeights::random(&enc, 3).expect("random weights");
    let model = w.to_encoder(&device).expect("builds").valid();
    let scorer = EncoderScorer { model: &model, max_len: enc.max_len, device: device.clone(), gap_to_target: true };
    // The last position is the test target, the one before the validation target: the same
    // scores as the split's own scoring.
    let users: Vec<usize> = (0..ds.num_users()).collect();
    for (part, back) in [(SplitPart::Test, 1), (SplitPart::Validation, 2)] {
        let points: Vec<(usize, usize)> = users.iter().map(|&u| (u, ds.sequences[u].len() - back)).collect();
        let by_position = scorer.score_positions(&ds, &points);
        let by_split = scorer.score(&ds, &users, part);
        for (a, b) in by_position.iter().zip(&by_split) {
            assert!(a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5), "{part:?}");
        }
    }
    let points = last_positions(&ds, 4);
    assert_eq!(points.len(), 6 * 4);
    let q = round_trip(&w, Precision::Int8).expect("int8");
    let qm = q.to_encoder(&device).expect("builds").valid();
    let qs = EncoderScorer { model: &qm, max_len: enc.max_len, device: device.clone(), gap_to_target: true };
    let r = compare_precisions(&scorer, &[&scorer, &qs], &ds, &points, &EvalOptions::default());
    assert_eq!((r[0].relative, r[0].top10_overlap, r[0].max_abs_score_diff), (0.0, 1.0, 0.0), "{:?}", r[0]);
    // int8 moves every score a little and keeps most of each first screen.
    assert!(r[1].mean_abs_score_diff > 0.0 && r[1].max_abs_score_diff < 0.1, "{:?}", r[1]);
    assert!(r[1].top10_overlap > 0.5 && r[1].top10_overlap <= 1.0, "{:?}", r[1]);
    assert_eq!((r[1].predictions, r[1].users), (24, 6));
}
