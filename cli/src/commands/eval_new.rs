//! `localrank eval --protocol new-arrivals`: products first seen in the last 10 % of the log's
//! time span are held out of training entirely; the users whose last event is one of them are
//! ranked over the whole catalogue. Trains its own ID-only model on the log without them (the
//! settings of the dataset's trained model when there is one, else the derived defaults), and
//! sets it beside the TF-IDF content baseline and popularity (issue 11, item 5).
use std::time::Instant;

use burn::module::Module;
use localrank_model::auto::{train_auto, Overrides, TuneOptions};
use localrank_model::baselines::{Popularity, TfIdf};
use localrank_model::config::{EncoderConfig, TrainConfig};
use localrank_model::data::SplitPart;
use localrank_model::eval::new_arrivals::{split_new_arrivals, WithoutNewArrivals, NEW_ARRIVAL_SHARE};
use localrank_model::eval::{evaluate_ranks, EvalOptions, Metrics, Scorer};
use localrank_model::train::EncoderScorer;
use serde_json::json;

use super::eval::{write_report_and_chart, EvalArgs};
use crate::commands::prepare::load_or_prepare;
use crate::error::CliError;
use crate::paths::{DatasetSpec, Paths};

/// The seed the held-out model trains with (the trainer's default).
const SEED: u64 = 42;

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
    let opts = TuneOptions { budget_seconds: 0.0, time_budget_seconds: a.time_budget, ..TuneOptions::default() };
    let train = |text: bool, log: &mut dyn FnMut(&str)| -> Result<_, CliError> {
        let overrides = Overrides { text: Some(text), ..warm.clone().unwrap_or_default() };
        log(&format!("training the {} model without the {} new arrivals ({settings}; no tuning)", if text { "text-tower" } else { "ID-only" }, split.new_items()));
        let t = Instant::now();
        let mut none = |_: &localrank_model::ModelWeights, _: usize, _: &Metrics| Ok(());
        let auto = train_auto(held, &overrides, SEED, &opts, &device, false, log, &mut none)?;
        log(&format!("  best epoch {} (validation NDCG@10 {:.4}), {:.0}s", auto.outcome.best_epoch, auto.outcome.best_validation.ndcg10, t.elapsed().as_secs_f64()));
        Ok(auto)
    };
    let id_only = train(false, log)?;
    let text_run = train(true, log)?;
    let model = id_only.outcome.weights.to_encoder(&device)?.valid();
    let encoder = EncoderScorer { model: &model, max_len: id_only.outcome.weights.config.max_len, device: device.clone(), gap_to_target: true };
    let text_model = text_run.outcome.weights.to_encoder(&device)?.valid();
    let text_encoder = EncoderScorer { model: &text_model, max_len: text_run.outcome.weights.config.max_len, device: device.clone(), gap_to_target: true };

    let eval_opts = EvalOptions::default();
    let users = Some(split.test_users.as_slice());
    let mut models = serde_json::Map::new();
    let mut chart = Vec::new();
    // Test users are few (the users whose last event is a new arrival), so besides the
    // metrics each model reports the target's median rank among every item: where NDCG@10 is
    // 0 for all, it still says which model brings new arrivals closer.
    let mut record = |name: &str, scorer: &dyn Scorer, log: &mut dyn FnMut(&str)| {
        let (m, mut ranks) = evaluate_ranks(scorer, held, SplitPart::Test, users, &eval_opts);
        ranks.sort_unstable();
        let median = ranks.get(ranks.len() / 2).map_or(0, |r| r + 1);
        log(&format!("{name:>10}: NDCG@10 {:.4}  HR@10 {:.4}  NDCG@20 {:.4}  HR@20 {:.4}  median rank {median} of {}", m.ndcg10, m.hr10, m.ndcg20, m.hr20, held.num_items()));
        chart.push((name.to_string(), m.ndcg10, m.hr10));
        let mut entry = serde_json::to_value(m).unwrap_or_default();
        entry["median_rank"] = json!(median);
        models.insert(name.to_string(), entry);
    };
    let pop = Popularity::fit(held);
    let is_new = &split.is_new;
    record("localrank", &text_encoder, log);
    record("id-only", &WithoutNewArrivals { scorer: &encoder, is_new }, log);
    record("tfidf", &TfIdf::fit(held), log);
    record("pop", &WithoutNewArrivals { scorer: &pop, is_new }, log);

    let report = json!({
        "dataset": ds.name,
        "protocol": "new-arrivals",
        "notes": [
            format!("new arrivals = items first seen in the last {:.0} % of the time span; removed from every sequence, so no model trains or validates on them", NEW_ARRIVAL_SHARE * 100.0),
            "test users = those whose last event is a new arrival; full ranking over all items, history items excluded; median_rank = the target's median 1-based rank",
            "id-only = the transformer trained on the log without the new arrivals; it has no vector for them and ranks them last (as pop does)",
            "tfidf = TF-IDF cosine between the texts of the user's history items and each item's text",
            "localrank = the same transformer with the text tower: items are ID row + text vector, the new arrivals (never trained) their text vector alone",
        ],
        "new_items": split.new_items(),
        "new_items_with_text": new_with_text,
        "test_users": split.test_users.len(),
        "users": held.num_users(),
        "items": held.num_items(),
        "id_only_training": { "best_epoch": id_only.outcome.best_epoch, "validation_ndcg@10": id_only.outcome.best_validation.ndcg10, "seconds": id_only.outcome.total_seconds },
        "localrank_training": { "best_epoch": text_run.outcome.best_epoch, "validation_ndcg@10": text_run.outcome.best_validation.ndcg10, "seconds": text_run.outcome.total_seconds },
        "models": models,
    });
    let report_path = a.report.clone().unwrap_or_else(|| paths.cache.join("reports").join(format!("{}.new-arrivals.json", ds.name)));
    write_report_and_chart(&report_path, &report, &format!("{}: new arrivals, full ranking (test)", ds.name), &chart, log)
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
