//! `localrank eval --protocol new-arrivals`: products first seen in the last 10 % of the log's
//! time span are held out of training entirely; every user's first interaction with one of
//! them, after older events, is a test case, ranked over the whole catalogue and among the new
//! arrivals only. Trains its own ID-only and text-tower models on the log without them (the
//! settings of the dataset's trained model when there is one, else the derived defaults), and
//! sets them beside the TF-IDF content baseline, popularity and the text tower's content part
//! (issue 11, item 5).
use std::time::Instant;

use burn::module::Module;
use localrank_model::auto::{train_auto, Overrides, TuneOptions};
use localrank_model::baselines::{Popularity, TfIdf};
use localrank_model::cold_start::{choose_placement, place_by_neighbours, tower_vectors, unit, unit_rows};
use localrank_model::config::{EncoderConfig, TrainConfig};
use localrank_model::data::SplitPart;
use localrank_model::eval::new_arrivals::{case_ranks, median_rank, split_new_arrivals, TableScorer, TextContent, WithContent, WithoutNewArrivals, NEW_ARRIVAL_SHARE};
use localrank_model::eval::{evaluate, EvalOptions, Metrics, MetricsSum, Scorer};
use localrank_model::train::EncoderScorer;
use serde_json::json;

use super::eval::{write_report_and_chart, EvalArgs};
use crate::commands::prepare::load_or_prepare;
use crate::error::CliError;
use crate::paths::{DatasetSpec, Paths};

/// The seed the held-out model trains with (the trainer's default).
const SEED: u64 = 42;

/// The content part's history window: the engine neighbour part's (its last 20 distinct
/// history items).
const CONTENT_RECENT: usize = localrank_core::rank::neighbours::SOURCES;

/// The content part's weights tried beside the intent's cosine (fixed in advance: the new
/// arrivals have no validation split to tune them on).
const CONTENT_WEIGHTS: [f32; 2] = [0.5, 1.0];

pub fn run(paths: &Paths, a: &EvalArgs, log: &mut dyn FnMut(&str)) -> Result<(), CliError> {
    let spec = DatasetSpec::parse(&a.dataset);
    let ds = load_or_prepare(paths, &a.dataset, log)?;
    if !ds.item_text.iter().any(Option::is_some) {
        return Err(CliError::Usage(format!(
            "{} has no product text: prepare it again (`localrank data prepare --dataset {}`; a store log needs `--items FILE`) so new arrivals can be described",
            ds.name, a.dataset
        )));
    }
    let split = split_new_arrivals(&ds, NEW_ARRIVAL_SHARE)?;
    let held = &split.dataset;
    if let Some(note) = held.notes.last() {
        log(note);
    }
    let new_with_text = split.is_new.iter().zip(&ds.item_text).filter(|(n, t)| **n && t.is_some()).count();
    log(&format!("{new_with_text} of {} new arrivals have text", split.new_items()));

    // Two models, trained here on the log without the new arrivals and with the same
    // settings: ID-only, and with the text tower (the new arrivals get their text vectors).
    let warm = warm_settings(paths, &spec);
    let settings = if warm.is_some() { "the settings of the dataset's trained model" } else { "derived settings" };
    let device = localrank_model::cpu_device();
    if a.time_budget.is_some_and(|s| !s.is_finite() || s < 0.0) {
        return Err(CliError::Usage("--time-budget must be a number of seconds >= 0".into()));
    }
    if a.text_loss.is_some_and(|w| !w.is_finite() || w < 0.0) {
        return Err(CliError::Usage("--text-loss must be a number >= 0".into()));
    }
    let opts = TuneOptions { budget_seconds: 0.0, time_budget_seconds: a.time_budget, ..TuneOptions::default() };
    // Held-out models are kept under the cache, keyed by everything that decides them (the
    // split, the settings, the seed, the budget), so a second report reuses them.
    let train = |text: bool, log: &mut dyn FnMut(&str)| -> Result<HeldOut, CliError> {
        let base = warm.clone().unwrap_or_default();
        let text_loss = if text { a.text_loss.or(base.text_loss) } else { base.text_loss };
        let overrides = Overrides { text: Some(text), text_loss, ..base };
        let key = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            format!("{overrides:?}|{SEED}|{:?}|{}|{}|{}", a.time_budget, held.num_items(), held.num_users(), split.cutoff).hash(&mut h);
            h.finish()
        };
        let dir = paths.cache.join("new-arrivals").join(format!("{}-{}-{key:016x}", ds.name, if text { "text" } else { "id-only" }));
        if let Some(kept) = HeldOut::read(&dir) {
            log(&format!("reusing the {} model trained without the {} new arrivals ({})", if text { "text-tower" } else { "ID-only" }, split.new_items(), dir.display()));
            return Ok(kept);
        }
        log(&format!("training the {} model without the {} new arrivals ({settings}; no tuning)", if text { "text-tower" } else { "ID-only" }, split.new_items()));
        let t = Instant::now();
        let mut none = |_: &localrank_model::ModelWeights, _: usize, _: &Metrics| Ok(());
        let auto = train_auto(held, &overrides, SEED, &opts, &device, false, log, &mut none)?;
        log(&format!("  best epoch {} (validation NDCG@10 {:.4}), {:.0}s", auto.outcome.best_epoch, auto.outcome.best_validation.ndcg10, t.elapsed().as_secs_f64()));
        let run = HeldOut {
            weights: auto.outcome.weights,
            best_epoch: auto.outcome.best_epoch,
            validation_ndcg10: auto.outcome.best_validation.ndcg10,
            seconds: auto.outcome.total_seconds,
            text_loss: auto.training.text_loss,
        };
        if let Err(e) = run.write(&dir, &held.item_ids, &ds.name) {
            log(&format!("  (not kept for the next report: {e})"));
        }
        Ok(run)
    };
    let id_only = train(false, log)?;
    let text_run = train(true, log)?;
    let model = id_only.weights.to_encoder(&device)?.valid();
    let encoder = EncoderScorer { model: &model, max_len: id_only.weights.config.max_len, device: device.clone(), gap_to_target: true };
    let text_model = text_run.weights.to_encoder(&device)?.valid();
    let text_encoder = EncoderScorer { model: &text_model, max_len: text_run.weights.config.max_len, device: device.clone(), gap_to_target: true };

    // The text tower's vectors for every item (zeros without text): the content part. (The
    // held-out model's item rows have the text folded in, so the tower is run on the texts.)
    let text_vectors = (tower_vectors(&text_run.weights, held)?, text_run.weights.config.dim);
    let recent_content = TextContent::new(text_vectors.0.clone(), text_vectors.1, CONTENT_RECENT);
    let all_content = TextContent::new(text_vectors.0.clone(), text_vectors.1, usize::MAX);

    // The new arrivals as `localrank export` writes them (text-only rows placed by their
    // nearest learned items, `cold_start`), and as the tower alone places them (a pool item
    // that carries only `text` in the browser).
    let (placed, tower_only, placement) = {
        let table = &text_run.weights.get(localrank_model::weights::ITEM_VECTORS)?.data;
        let dim = text_vectors.1;
        let new_items: Vec<usize> = (0..held.num_items()).filter(|&i| split.is_new[i]).collect();
        let mut rows: Vec<f32> = new_items.iter().flat_map(|&i| text_vectors.0[i * dim..][..dim].iter().copied()).collect();
        let placement = choose_placement(&text_encoder, held, table, &text_vectors.0, dim);
        log(&placement.describe());
        // The new arrivals have no training event in `held`, so they never lend.
        let lenders = placement.lenders.mask(held);
        let n_placed = place_by_neighbours(table, dim, &mut rows, placement.k, Some(&lenders));
        log(&format!("{n_placed} of {} new arrivals placed by learned neighbours", new_items.len()));
        let base = unit_rows(table, dim);
        let (mut placed, mut tower_only) = (base.clone(), base);
        for (k, &i) in new_items.iter().enumerate() {
            let mut row = rows[k * dim..][..dim].to_vec();
            unit(&mut row);
            placed[i * dim..][..dim].copy_from_slice(&row);
            let mut t = text_vectors.0[i * dim..][..dim].to_vec();
            unit(&mut t);
            tower_only[i * dim..][..dim].copy_from_slice(&t);
        }
        (TableScorer { encoder: &text_encoder, table: placed, dim }, TableScorer { encoder: &text_encoder, table: tower_only, dim }, placement)
    };

    let eval_opts = EvalOptions::default();
    let mut models = serde_json::Map::new();
    let mut chart = Vec::new();
    // Each case is ranked over the whole catalogue (the protocol) and among the new
    // arrivals only (the storefront's "New" slots); both with the target's median rank, which
    // still orders the models where NDCG@10 is 0 for all. Models that rank older products too
    // also report `warm`: leave-one-out NDCG@10 on the training log's test targets (every
    // training user, full ranking), so a gain on new arrivals is read beside its cost.
    let warm_users: Vec<usize> = (0..held.num_users()).collect();
    let mut record = |name: &str, scorer: &dyn Scorer, warm_too: bool, log: &mut dyn FnMut(&str)| {
        let (full, among_new) = case_ranks(scorer, &split, &eval_opts);
        let metrics = |ranks: &[usize]| {
            let mut sum = MetricsSum::default();
            ranks.iter().for_each(|&r| sum.add_rank(r));
            sum.mean()
        };
        let (m, n) = (metrics(&full), metrics(&among_new));
        let (mf, mn) = (median_rank(&full), median_rank(&among_new));
        let warm = warm_too.then(|| evaluate(scorer, held, SplitPart::Test, Some(&warm_users), &eval_opts).ndcg10);
        log(&format!(
            "{name:>22}: all items NDCG@10 {:.4} HR@10 {:.4} median rank {mf} of {} | among the {} new NDCG@10 {:.4} HR@10 {:.4} median rank {mn}{}",
            m.ndcg10,
            m.hr10,
            held.num_items(),
            split.new_items(),
            n.ndcg10,
            n.hr10,
            warm.map_or(String::new(), |w| format!(" | warm NDCG@10 {w:.4}"))
        ));
        chart.push((name.to_string(), n.ndcg10, n.hr10));
        let mut entry = serde_json::to_value(m).unwrap_or_default();
        entry["median_rank"] = json!(mf);
        let mut among = serde_json::to_value(n).unwrap_or_default();
        among["median_rank"] = json!(mn);
        entry["among_new"] = among;
        if let Some(w) = warm {
            entry["warm_ndcg@10"] = json!(w);
        }
        models.insert(name.to_string(), entry);
    };
    let pop = Popularity::fit(held);
    let is_new = &split.is_new;
    record("localrank", &placed, true, log);
    record("localrank-text-tower", &tower_only, false, log);
    record("id-only", &WithoutNewArrivals { scorer: &encoder, is_new }, true, log);
    let tfidf = TfIdf::fit(held);
    record("tfidf", &tfidf, false, log);
    record("pop", &WithoutNewArrivals { scorer: &pop, is_new }, false, log);
    // The content part alone (the text tower's answer to TF-IDF), and added to the intent's
    // cosine as the engine could add it.
    record(&format!("text-content-last{CONTENT_RECENT}"), &recent_content, false, log);
    record("text-content-all", &all_content, false, log);
    for w in CONTENT_WEIGHTS {
        record(&format!("localrank+content{w}"), &WithContent { scorer: &placed, content: &recent_content, weight: w }, true, log);
    }
    // What exact word matches would add to the model (the engine has no history texts to
    // compute TF-IDF from: a measurement, not a scorer the browser has).
    for w in CONTENT_WEIGHTS {
        record(&format!("localrank+tfidf{w}"), &WithContent { scorer: &placed, content: &tfidf, weight: w }, true, log);
    }

    let report = json!({
        "dataset": ds.name,
        "protocol": "new-arrivals",
        "notes": [
            format!("new arrivals = items first seen in the last {:.0} % of the time span; removed from every sequence, so no model trains or validates on them", NEW_ARRIVAL_SHARE * 100.0),
            "test cases = every user's first interaction with a new arrival after at least one older event, the events before it as the history (a user's later older events stay in the training log); top-level metrics: full ranking over all items, history items excluded; among_new: the same scores ranked among the new arrivals only (the storefront's New slots); median_rank = the target's median 1-based rank (upper middle)",
            "id-only = the transformer trained on the log without the new arrivals; it has no vector for them and ranks them last (as pop does)",
            "tfidf = TF-IDF cosine between the texts of the user's history items and each item's text",
            "localrank = the same transformer with the text tower: items are ID row + text vector; each new arrival (never trained) as `localrank export` places it: the similarity-weighted mean of the learned vectors of the k lenders nearest its text-tower vector; lenders = every learned item or only those with a training event in the last 10 % of the training span (selling), both chosen on the training log's validation targets (`placement`)".to_string(),
            "localrank-text-tower = the same, the new arrivals by their text-tower vector alone (a pool item that carries only `text` in the browser)",
            format!("text-content-last{CONTENT_RECENT} / -all = cosine of an item's text-tower vector with the mean of the (last {CONTENT_RECENT} / all) distinct history items' text vectors; localrank+contentW = localrank's cosine + W x text-content-last{CONTENT_RECENT}; localrank+tfidfW = localrank's cosine + W x tfidf (a measurement: the engine has no history texts)"),
            "warm_ndcg@10 = leave-one-out NDCG@10 on the training log's own test targets (all its users; older items only)",
        ],
        "new_items": split.new_items(),
        "new_items_with_text": new_with_text,
        "test_users": split.cases.num_users(),
        "split": "first-new-arrival",
        "users": held.num_users(),
        "items": held.num_items(),
        "id_only_training": { "best_epoch": id_only.best_epoch, "validation_ndcg@10": id_only.validation_ndcg10, "seconds": id_only.seconds },
        "localrank_training": { "text_loss": text_run.text_loss, "best_epoch": text_run.best_epoch, "validation_ndcg@10": text_run.validation_ndcg10, "seconds": text_run.seconds },
        "placement": { "k": placement.k, "lenders": placement.lenders.name(), "validation_cases": placement.cases, "validation_ndcg@10": placement.ndcg10.iter().map(|(l, k, v)| json!({ "lenders": l.name(), "k": k, "ndcg@10": v })).collect::<Vec<_>>() },
        "models": models,
    });
    let report_path = a.report.clone().unwrap_or_else(|| paths.cache.join("reports").join(format!("{}.new-arrivals.json", ds.name)));
    write_report_and_chart(&report_path, &report, &format!("{}: new arrivals, ranked among the new arrivals (test)", ds.name), &chart, log)
}

/// The settings the dataset's trained model chose (its model.json), as fixed settings, so
/// the held-out model is the same model minus the new arrivals. None without a model.
fn warm_settings(paths: &Paths, spec: &DatasetSpec) -> Option<Overrides> {
    let bytes = std::fs::read(paths.artifacts(spec).join("model.json")).ok()?;
    let mj: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let settings = &mj["metrics"]["settings"];
    let enc: EncoderConfig = serde_json::from_value(settings["encoder"].clone()).ok()?;
    let tr: TrainConfig = serde_json::from_value(settings["training"].clone()).ok()?;
    Some(Overrides {
        dim: Some(enc.dim),
        blocks: Some(enc.blocks),
        heads: Some(enc.heads),
        max_len: Some(enc.max_len),
        dropout: Some(enc.dropout),
        temperature: Some(enc.temperature),
        epochs: Some(tr.epochs),
        learning_rate: Some(tr.learning_rate),
        weight_decay: Some(tr.weight_decay),
        batch_size: Some(tr.batch_size),
        windows: Some(tr.windows_per_user),
        patience: Some(tr.patience),
        negatives: Some(tr.sampled_negatives),
        validation_users: Some(tr.validation_users),
        exclude_seen: Some(tr.exclude_seen),
        item_init: Some(tr.item_init),
        positions: Some(enc.positions),
        text: Some(false),
        text_loss: Some(tr.text_loss),
        id_dropout: Some(tr.id_dropout),
        search_steps: Some(tr.search_steps),
    })
}

/// A held-out model and what the report says of its training.
struct HeldOut {
    weights: localrank_model::ModelWeights,
    best_epoch: usize,
    validation_ndcg10: f64,
    seconds: f64,
    text_loss: f64,
}

impl HeldOut {
    fn read(dir: &std::path::Path) -> Option<HeldOut> {
        let run: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("held-out.json")).ok()?).ok()?;
        let (weights, _, _) = localrank_model::export::read_model_dir(dir).ok()?;
        Some(HeldOut {
            weights,
            best_epoch: run["best_epoch"].as_u64()? as usize,
            validation_ndcg10: run["validation_ndcg@10"].as_f64()?,
            seconds: run["seconds"].as_f64()?,
            text_loss: run["text_loss"].as_f64()?,
        })
    }

    fn write(&self, dir: &std::path::Path, item_ids: &[String], dataset: &str) -> Result<(), CliError> {
        use localrank_model::export::{write_model_dir, ItemStats, Precision};
        write_model_dir(dir, &self.weights, item_ids, Precision::F32, dataset, json!({}), ItemStats::default())?;
        let run = json!({ "best_epoch": self.best_epoch, "validation_ndcg@10": self.validation_ndcg10, "seconds": self.seconds, "text_loss": self.text_loss });
        std::fs::write(dir.join("held-out.json"), run.to_string()).map_err(crate::error::io_err(dir.join("held-out.json")))
    }
}

