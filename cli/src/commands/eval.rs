//! `localrank eval`: localrank vs most-popular, item-kNN and BPR-MF on the same leave-one-out
//! split, full ranking, by the same metric code; plus the homepage-pool protocol, the effect of
//! f16/int8 export on NDCG@10, and the engine's blend weights tuned on the validation split
//! (written into the model's model.json, where the engine reads them).
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use clap::Args;
use localrank_model::baselines::{cooccurrence_neighbours, Bpr, BprConfig, ItemKnn, Popularity, TfIdf, EXPORT_NEIGHBOURS};
use localrank_model::data::{Protocol, SplitPart};
use localrank_core::gpu::ModelRuntime;
use localrank_core::model::IntentEncoder;
use localrank_core::rank::{BlendWeights, NeighbourSource};
use localrank_model::data::Dataset;
use localrank_model::eval::blend::{tune, HomepageSetup};
use localrank_model::eval::{evaluate, evaluate_parallel, evaluate_ranks, homepage_pool, paired_ndcg10_change, EvalOptions, PairedChange};
use localrank_model::eval::precision::{compare_precisions, last_positions, PositionScorer};
use localrank_model::eval::search_steers::search_steers;
use localrank_model::export::{read_model_dir, round_trip, set_blend, Precision};
use localrank_model::weights::ITEM_VECTORS;
use localrank_model::train::EncoderScorer;
use serde_json::json;

use crate::commands::prepare::load_or_prepare;
use crate::error::{io_err, CliError};
use crate::paths::{DatasetSpec, Paths};

#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    #[arg(long, default_value = "ml-100k")]
    pub dataset: String,
    /// JSON report path; the SVG chart is written beside it [default: <cache>/reports/<dataset>.json]
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Size of the non-personal homepage pool
    #[arg(long, default_value_t = 200)]
    pub pool: usize,
    /// Skip the baselines (only localrank)
    #[arg(long)]
    pub no_baselines: bool,
    /// Only tune the engine's blend weights (validation) and check them on test; skips the
    /// full-ranking comparison, quantisation and baselines
    #[arg(long)]
    pub blend_only: bool,
    /// Do not write the tuned blend weights into the model's model.json
    #[arg(long)]
    pub keep_blend: bool,
    /// Co-occurrence neighbours per pool item in the blend tuning (what `localrank export`
    /// ships with the item table); 0 tunes the cosine-of-item-vectors neighbour part instead
    #[arg(long, default_value_t = EXPORT_NEIGHBOURS)]
    pub neighbours: usize,
    /// Also measure BPR-MF on the homepage pool during the blend tuning (fits BPR: slower)
    #[arg(long)]
    pub pool_bpr: bool,
    /// leave-one-out (the default); next-basket: the model trained with `train --protocol
    /// next-basket`, its blend and repeat parameters tuned on the validation baskets, against
    /// G-/P-/GP-TopFreq and item-kNN, with the repeat/explore split; new-arrivals: products
    /// first seen in the last 10% of the log held out of training, an ID-only model and a
    /// text-tower model trained without them vs the TF-IDF content baseline (needs product text)
    #[arg(long, default_value = "leave-one-out", value_parser = parse_eval_protocol)]
    pub protocol: EvalProtocol,
    /// How many predictions the int8 export is compared with f32 on, beside the test split:
    /// each user's last ⌈N / users⌉ events, each predicted from the events before it
    /// (training targets included; a change of 1% cannot be read from one test target per
    /// user); 0 skips the comparison
    #[arg(long, default_value_t = 5_000)]
    pub precision_predictions: usize,
    /// new-arrivals only: seconds each of its two models may train (the best epoch so far is
    /// kept) [default: until early stopping]
    #[arg(long)]
    pub time_budget: Option<f64>,
    /// new-arrivals only: the text-tower model's text-only loss weight [default: the dataset's
    /// trained model's, else the trainer's]
    #[arg(long)]
    pub text_loss: Option<f64>,
}

/// What `eval` measures: a data protocol, or the new-arrivals split of leave-one-out data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EvalProtocol {
    #[default]
    LeaveOneOut,
    NextBasket,
    NewArrivals,
}

impl From<Protocol> for EvalProtocol {
    fn from(p: Protocol) -> EvalProtocol {
        match p {
            Protocol::LeaveOneOut => EvalProtocol::LeaveOneOut,
            Protocol::NextBasket => EvalProtocol::NextBasket,
        }
    }
}

fn parse_eval_protocol(s: &str) -> Result<EvalProtocol, String> {
    if s == "new-arrivals" {
        return Ok(EvalProtocol::NewArrivals);
    }
    crate::commands::prepare::parse_protocol(s).map(EvalProtocol::from).map_err(|_| format!("unknown protocol {s:?}; use leave-one-out, next-basket or new-arrivals"))
}

pub fn run(paths: &Paths, a: &EvalArgs, log: &mut dyn FnMut(&str)) -> Result<(), CliError> {
    match a.protocol {
        EvalProtocol::NextBasket => return super::eval_basket::run(paths, a, log),
        EvalProtocol::NewArrivals => return super::eval_new::run(paths, a, log),
        EvalProtocol::LeaveOneOut => {}
    }
    let spec = DatasetSpec::parse(&a.dataset);
    let ds = load_or_prepare(paths, &a.dataset, log)?;
    let dir = paths.artifacts(&spec);
    if !dir.join("model.json").exists() {
        return Err(CliError::NoModel { path: dir, dataset: a.dataset.clone() });
    }
    let (weights, _, ids) = read_model_dir(&dir)?;
    if ids != ds.item_ids {
        return Err(CliError::Usage(format!("the model in {} was trained on a different item set; retrain it", dir.display())));
    }
    let device = localrank_model::cpu_device();
    let opts = EvalOptions::default();
    let mut models = serde_json::Map::new();
    let mut chart = Vec::new();
    let mut record = |name: &str, m: localrank_model::eval::Metrics, log: &mut dyn FnMut(&str)| {
        log(&format!("{name:>10}: NDCG@10 {:.4}  HR@10 {:.4}  MRR@10 {:.4}  NDCG@20 {:.4}  HR@20 {:.4}", m.ndcg10, m.hr10, m.mrr10, m.ndcg20, m.hr20));
        chart.push((name.to_string(), m.ndcg10, m.hr10));
        models.insert(name.to_string(), serde_json::to_value(m).unwrap_or_default());
    };

    let t = Instant::now();
    let model = weights.to_encoder(&device)?.valid();
    let scorer = EncoderScorer { model: &model, max_len: weights.config.max_len, device: device.clone(), gap_to_target: true };

    let item_vectors = &weights.get(ITEM_VECTORS)?.data;
    let engine = load_engine(&dir)?;
    // The pool as the candidate service sends it: with each item's co-occurrence neighbours
    // (the lists export writes), or without (the engine then uses the vectors' cosine).
    let lists = (a.neighbours > 0).then(|| cooccurrence_neighbours(&ds, a.neighbours));
    let inputs = EngineInputs { ds: &ds, model: &engine, lists: lists.as_deref(), vectors: item_vectors, dim: weights.config.dim };
    let blend = match tune_blend(&inputs, a, &opts, log) {
        Ok(blend) => {
            if !a.keep_blend {
                let source = if a.neighbours > 0 { NeighbourSource::Cooccurrence } else { NeighbourSource::Cosine };
                set_blend(&dir, blend.tuned, Some(source))?;
                log(&format!("blend weights written to {} (re-run `localrank export` to ship them)", dir.join("model.json").display()));
            }
            blend.report
        }
        // Only tuning was asked for: its failure is the command's.
        Err(e) if a.blend_only => return Err(e),
        // The rest of the evaluation does not depend on it: report and go on.
        Err(e) => {
            log(&format!("warning: blend tuning failed, model.json left as it was: {e}"));
            json!({ "error": e.to_string() })
        }
    };
    if a.blend_only {
        return Ok(());
    }

    let (local, local_ranks) = evaluate_ranks(&scorer, &ds, SplitPart::Test, None, &opts);
    log(&format!("  (encoder test scoring took {:.1}s)", t.elapsed().as_secs_f64()));
    // The product ranks with the engine, not the encoder alone: its number on this protocol
    // is the engine over the whole catalogue, weights tuned on validation.
    let (whole, catalogue) = engine_over_catalogue(&inputs, a, log)?;
    record("localrank", whole, log);
    record("localrank-encoder", local, log);
    // Ablation: rank at the time of the last history event instead of the target's time, so
    // the last time gap carries no information about when the predicted event happens.
    let blind = EncoderScorer { model: &model, max_len: weights.config.max_len, device: device.clone(), gap_to_target: false };
    let ablation = evaluate(&blind, &ds, SplitPart::Test, None, &opts);
    log(&format!("  ablation, last gap measured to the last event instead of the target: NDCG@10 {:.4}  HR@10 {:.4}", ablation.ndcg10, ablation.hr10));
    let pool = homepage_pool(&scorer, &ds, a.pool, &opts);
    log(&format!(
        "homepage pool (top {} by popularity): server order NDCG@10 {:.4}, localrank {:.4}, lift {:+.1}% ({} of {} test items in the pool)",
        pool.pool_size, pool.server_ndcg10, pool.localrank_ndcg10, pool.lift * 100.0, pool.users_with_target_in_pool, pool.users
    ));

    // A search for the test item's category words appended to each history: how far it moves
    // the item (issue 11). Only models with a text tower can read a search.
    let steers = weights.config.text.and_then(|t| search_steers(&model, t.hashing(), &ds, &device, &opts));
    if let Some(s) = &steers {
        log(&format!(
            "search steers: median rank of the test item {} -> {} with a search for its category ({} users: {} rose, {} fell; NDCG@10 {:.4} -> {:.4})",
            s.median_rank_without, s.median_rank_with, s.users, s.rose, s.fell, s.ndcg10_without, s.ndcg10_with
        ));
    }

    let mut quant = serde_json::Map::new();
    // Test NDCG@10 of the model with other weights, and its change relative to f32, user by
    // user with its standard error: on a few hundred test users a change of 1% is one user.
    let score_with = |w: &localrank_model::ModelWeights| -> Result<(localrank_model::eval::Metrics, PairedChange), CliError> {
        let q = w.to_encoder(&device)?.valid();
        let qs = EncoderScorer { model: &q, max_len: weights.config.max_len, device: device.clone(), gap_to_target: true };
        let (m, ranks) = evaluate_ranks(&qs, &ds, SplitPart::Test, None, &opts);
        Ok((m, paired_ndcg10_change(&local_ranks, &ranks)))
    };
    let change = |c: &PairedChange| format!("{:+.2}% ± {:.2}% s.e., {} of {} users ranked differently", c.relative * 100.0, c.relative_stderr * 100.0, c.users_ranked_differently, c.users);
    for p in [Precision::F16, Precision::Int8] {
        let quantised = round_trip(&weights, p)?;
        let (m, c) = score_with(&quantised)?;
        log(&format!("  {p:?} export: NDCG@10 {:.4} ({} relative to f32)", m.ndcg10, change(&c)));
        let mut entry = json!({ "ndcg@10": m.ndcg10, "hr@10": m.hr10 });
        merge(&mut entry, &c);
        if p == Precision::Int8 {
            // Where an int8 loss comes from: the encoder's weights or the item-vector table.
            for (part, mixed) in int8_parts(&weights, &quantised) {
                let (m, c) = score_with(&mixed)?;
                log(&format!("    int8 {}: NDCG@10 {:.4} ({})", part.replace('_', " "), m.ndcg10, change(&c)));
                let mut sub = json!({ "ndcg@10": m.ndcg10 });
                merge(&mut sub, &c);
                entry[part] = sub;
            }
        }
        quant.insert(format!("{p:?}").to_lowercase(), entry);
    }

    // The same comparison on many more predictions of the same model, with direct fidelity
    // measures (top-10 overlap, score differences) that need no target.
    let fidelity = if a.precision_predictions > 0 {
        let t = Instant::now();
        let per_user = a.precision_predictions.div_ceil(ds.num_users().max(1)).max(1);
        let points = last_positions(&ds, per_user);
        let int8 = round_trip(&weights, Precision::Int8)?;
        // f16 is left out: its test-split change is ~0 on every log, and each variant is a
        // forward pass over every prediction.
        let mut variants = vec![("int8".to_owned(), int8.clone())];
        variants.extend(int8_parts(&weights, &int8).into_iter().map(|(part, w)| (format!("int8_{part}"), w)));
        let encoders = variants.iter().map(|(_, w)| Ok(w.to_encoder(&device)?.valid())).collect::<Result<Vec<_>, CliError>>()?;
        let scorers: Vec<EncoderScorer> = encoders.iter().map(|m| EncoderScorer { model: m, max_len: weights.config.max_len, device: device.clone(), gap_to_target: true }).collect();
        let others: Vec<&dyn PositionScorer> = scorers.iter().map(|s| s as &dyn PositionScorer).collect();
        let results = compare_precisions(&scorer, &others, &ds, &points, &opts);
        log(&format!(
            "  int8 vs f32 on {} predictions ({} users' last {per_user} events, training targets included; s.e. over users; {:.0}s):",
            points.len(),
            results.first().map_or(0, |r| r.users),
            t.elapsed().as_secs_f64()
        ));
        let mut entry = json!({
            "predictions_per_user": per_user,
            "notes": "each user's last predictions_per_user events (test, validation and training targets), each ranked from the events before it by the f32 encoder and by the int8 export (encoder_only: int8 weights, f32 item table; item_vectors_only: the reverse); relative_ndcg@10_change = summed NDCG@10 of the export / of f32 - 1, its stderr over users (a user's predictions kept together); top10_overlap = mean share of f32's top 10 (history excluded) in the export's top 10; score diffs are cosine scores",
        });
        for ((name, _), r) in variants.iter().zip(&results) {
            log(&format!(
                "    {name:<24} NDCG@10 {:.4} vs {:.4}: {:+.2}% ± {:.2}% s.e.; top-10 overlap {:.4}; |score diff| mean {:.2e} max {:.2e}; {} of {} target ranks moved",
                r.ndcg10, r.base_ndcg10, r.relative * 100.0, r.relative_stderr * 100.0, r.top10_overlap, r.mean_abs_score_diff, r.max_abs_score_diff, r.predictions_ranked_differently, r.predictions
            ));
            entry[name.as_str()] = serde_json::to_value(r).unwrap_or_default();
        }
        entry
    } else {
        serde_json::Value::Null
    };

    if !a.no_baselines {
        record("pop", evaluate_parallel(&Popularity::fit(&ds), &ds, SplitPart::Test, None, &opts), log);
        let t = Instant::now();
        let knn = ItemKnn::fit(&ds, 100);
        record("item-knn", evaluate_parallel(&knn, &ds, SplitPart::Test, None, &opts), log);
        log(&format!("  (item-kNN fit+eval {:.1}s)", t.elapsed().as_secs_f64()));
        let t = Instant::now();
        let (bpr, val, epochs) = Bpr::fit(&ds, &BprConfig::default());
        log(&format!("  (BPR: best validation NDCG@10 {:.4} after {epochs} epochs, {:.1}s)", val.ndcg10, t.elapsed().as_secs_f64()));
        record("bpr", evaluate_parallel(&bpr, &ds, SplitPart::Test, None, &opts), log);
        // The content baseline, when the prepared data carries catalogue text.
        if ds.item_text.iter().any(Option::is_some) {
            record("tfidf", evaluate_parallel(&TfIdf::fit(&ds), &ds, SplitPart::Test, None, &opts), log);
        }
    }

    let mut report = json!({
        "dataset": ds.name,
        "protocol": "leave-one-out/full",
        "notes": [
            "test = each user's last event, validation = second-to-last; all models train on the rest",
            "full ranking over all items; items already in the user's history are excluded from the ranking (the target is never excluded); neither built-in data set repeats a user-item pair after preparation",
            "localrank's last time-gap bucket is measured to the target event's timestamp (the ranking time)",
            "localrank = the engine (rank_for_shopper, as in the browser) ranking the whole catalogue: intent, server score (training popularity), category affinity and the co-occurrence neighbour part, weights tuned on validation (engine_over_catalogue); localrank-encoder = the transformer's cosine alone",
        ],
        "users": ds.num_users(), "items": ds.num_items(), "events": ds.num_events(),
        "models": models,
        "homepage_pool": pool,
        "engine_over_catalogue": catalogue,
        "blend": blend,
        "quantization": quant,
        "quantization_many_predictions": fidelity,
        "localrank_last_gap_unknown": ablation,
    });
    if let Some(s) = steers {
        report["search_steers"] = serde_json::to_value(s).unwrap_or_default();
    }
    add_training_facts(&mut report, &dir);
    let report_path = a.report.clone().unwrap_or_else(|| paths.cache.join("reports").join(format!("{}.json", ds.name)));
    write_report_and_chart(&report_path, &report, &format!("{}: leave-one-out, full ranking (test)", ds.name), &chart, log)
}

/// Writes the JSON report and, beside it, the SVG bar chart of each model's (NDCG@10, HR@10).
pub(super) fn write_report_and_chart(report_path: &Path, report: &serde_json::Value, title: &str, chart: &[(String, f64, f64)], log: &mut dyn FnMut(&str)) -> Result<(), CliError> {
    write_report(report_path, report)?;
    let svg_path = report_path.with_extension("svg");
    std::fs::write(&svg_path, crate::chart::bar_chart(title, chart)).map_err(io_err(&svg_path))?;
    log(&format!("report: {}  chart: {}", report_path.display(), svg_path.display()));
    Ok(())
}

/// Adds the model's training time and best epoch (its train.json) to a report object.
pub(super) fn add_training_facts(report: &mut serde_json::Value, model_dir: &std::path::Path) {
    let train_json: serde_json::Value =
        std::fs::read(model_dir.join("train.json")).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    if let Some(report) = report.as_object_mut() {
        for (key, from) in [("train_seconds", "seconds_to_best"), ("train_total_seconds", "total_seconds"), ("best_epoch", "best_epoch")] {
            report.insert(key.to_owned(), train_json.get(from).cloned().unwrap_or(serde_json::Value::Null));
        }
    }
}

/// Writes a JSON report, creating its folder.
pub(super) fn write_report(path: &std::path::Path, report: &serde_json::Value) -> Result<(), CliError> {
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).map_err(io_err(d))?;
    }
    std::fs::write(path, serde_json::to_string_pretty(report).unwrap_or_default()).map_err(io_err(path))
}

struct TunedBlend {
    tuned: BlendWeights,
    report: serde_json::Value,
}

/// What both engine measurements share: the data, the engine running the exported model,
/// the co-occurrence lists export ships (None: the cosine neighbour part) and the item table.
struct EngineInputs<'a> {
    ds: &'a Dataset,
    model: &'a ModelRuntime,
    lists: Option<&'a [Vec<(u32, f32)>]>,
    vectors: &'a [f32],
    dim: usize,
}

impl<'a> EngineInputs<'a> {
    /// The `pool_size` most popular items as the engine's pool.
    fn setup(&self, pool_size: usize) -> Result<HomepageSetup<'a>, CliError> {
        Ok(HomepageSetup::new(self.ds, self.vectors, self.dim, pool_size, self.lists)?)
    }
}

/// The int8 export split in two: int8 encoder weights with the f32 item table
/// (`encoder_only`), and f32 weights with the int8 item table (`item_vectors_only`).
fn int8_parts(f32_weights: &localrank_model::ModelWeights, int8: &localrank_model::ModelWeights) -> [(&'static str, localrank_model::ModelWeights); 2] {
    let mixed = |keep_items_f32: bool| {
        let (mut mixed, source) = if keep_items_f32 { (int8.clone(), f32_weights) } else { (f32_weights.clone(), int8) };
        if let Some(items) = source.tensors.get(ITEM_VECTORS) {
            mixed.tensors.insert(ITEM_VECTORS.to_owned(), items.clone());
        }
        mixed
    };
    [("encoder_only", mixed(true)), ("item_vectors_only", mixed(false))]
}

/// Adds a paired change's fields to a report entry.
fn merge(entry: &mut serde_json::Value, c: &PairedChange) {
    if let (Some(obj), Ok(serde_json::Value::Object(fields))) = (entry.as_object_mut(), serde_json::to_value(c)) {
        obj.extend(fields);
    }
}

/// The model as the browser loads it: the engine's own loader and CPU forward pass.
fn load_engine(dir: &Path) -> Result<ModelRuntime, CliError> {
    let (st, js) = (dir.join("model.safetensors"), dir.join("model.json"));
    let bytes = std::fs::read(&st).map_err(io_err(&st))?;
    let json = std::fs::read_to_string(&js).map_err(io_err(&js))?;
    let encoder = IntentEncoder::load(&bytes, &json).map_err(|e| CliError::Usage(format!("the engine cannot load {}: {e}", dir.display())))?;
    Ok(ModelRuntime::new(encoder, "eval"))
}

fn neighbour_variant(a: &EvalArgs) -> String {
    match a.neighbours {
        0 => "cosine of item vectors".to_owned(),
        k => format!("co-occurrence, {k} per pool item"),
    }
}

/// Engine score parts are kept for every (validation user, catalogue item) pair while the grid
/// runs; above this many pairs the validation users are sampled (20 bytes a pair: ~1.6 GB).
const MAX_TUNING_PAIRS: usize = 80_000_000;

/// The product's number on the full-ranking protocol: the engine's own `rank_for_shopper`
/// ranking the whole catalogue as its pool (intent, training popularity as the server score,
/// category affinity, the neighbour part from the lists export ships), its weights tuned on
/// the validation split, the full engine (MMR, slot rules) measured on test against the same
/// targets, exclusions and metric code as the baselines.
fn engine_over_catalogue(inputs: &EngineInputs, a: &EvalArgs, log: &mut dyn FnMut(&str)) -> Result<(localrank_model::eval::Metrics, serde_json::Value), CliError> {
    let t = Instant::now();
    let (ds, model) = (inputs.ds, inputs.model);
    let mut setup = inputs.setup(ds.num_items())?;
    let users: Vec<usize> = (0..ds.num_users()).collect();
    // Only very large logs are sampled (every k-th user, deterministic), to bound memory; the
    // report says how many users tuned the weights.
    let tuning_users: Vec<usize> = match MAX_TUNING_PAIRS / setup.pool_size().max(1) {
        cap if cap < users.len() => {
            let cap = cap.max(1);
            let step = users.len() as f64 / cap as f64;
            (0..cap).map(|k| users[(k as f64 * step) as usize]).collect()
        }
        _ => users.clone(),
    };
    let tuning = tune(&setup.cases(SplitPart::Validation, &tuning_users, model)?);
    let w = tuning.tuned;
    let lambda = localrank_core::rank::RankSettings::default().lambda;
    let test = setup.engine_metrics(SplitPart::Test, &users, model, w, lambda)?;
    log(&format!(
        "engine over the whole catalogue ({} items, neighbour part: {}): validation ({} users) tuned intent {} / server {} / affinity {} / neighbour {} → NDCG@10 {:.4}; test NDCG@10 {:.4}  [{:.1}s]",
        setup.pool_size(),
        neighbour_variant(a),
        tuning_users.len(),
        w.intent,
        w.server,
        w.affinity,
        w.neighbour,
        tuning.validation_tuned,
        test.ndcg10,
        t.elapsed().as_secs_f64()
    ));
    let report = json!({
        "protocol": "the engine's rank_for_shopper() with the whole catalogue as its pool (training popularity as the server score), history items dropped; weights tuned on validation, MMR and slot rules on; reported on test",
        "catalogue_items_ranked": setup.pool_size(),
        "neighbour_part": neighbour_variant(a),
        "validation_users": tuning_users.len(),
        "validation": tuning,
        "test": { "mmr_lambda": lambda, "weights": w, "metrics": test },
    });
    Ok((test, report))
}

/// The engine's blend weights for this model: a grid on the validation split's homepage pool,
/// then the full engine (MMR, slot rules) on the test split with the defaults and the tuned
/// weights, so the gain is measured on data the tuning never saw.
fn tune_blend(inputs: &EngineInputs, a: &EvalArgs, opts: &EvalOptions, log: &mut dyn FnMut(&str)) -> Result<TunedBlend, CliError> {
    let t = Instant::now();
    let (ds, model) = (inputs.ds, inputs.model);
    let variant = neighbour_variant(a);
    let mut setup = inputs.setup(a.pool)?;
    let users: Vec<usize> = (0..ds.num_users()).collect();
    let tuning = tune(&setup.cases(SplitPart::Validation, &users, model)?);
    let w = tuning.tuned;
    log(&format!(
        "blend (homepage pool of {}, neighbour part: {variant}; validation, {} grid points): intent {} / server {} / affinity {} / neighbour {} → NDCG@10 {:.4} (default weights {:.4}, server order {:.4})",
        setup.pool_size(), tuning.grid_points, w.intent, w.server, w.affinity, w.neighbour, tuning.validation_tuned, tuning.validation_default, tuning.validation_server
    ));
    let lambda = localrank_core::rank::RankSettings::default().lambda;
    let mut engine = |w: BlendWeights, lambda: f32| setup.engine_metrics(SplitPart::Test, &users, model, w, lambda);
    let (default_w, tuned_w, tuned_relevance) = (engine(BlendWeights::default(), lambda)?, engine(w, lambda)?, engine(w, 1.0)?);
    let server = engine(BlendWeights { intent: 0.0, server: 1.0, affinity: 0.0, neighbour: 0.0, repeat: 0.0 }, 1.0)?;
    // The neighbour part alone (intent, server and affinity off): the engine's own item-kNN,
    // to set beside the baseline's on the same pool.
    let neighbour_only = engine(BlendWeights { intent: 0.0, server: 0.0, affinity: 0.0, neighbour: 1.0, repeat: 0.0 }, 1.0)?;
    log(&format!("  test, the neighbour part alone ({variant}, λ 1): NDCG@10 {:.4}", neighbour_only.ndcg10));
    // The baseline the neighbour part stands in for, on the same pool and targets: item-kNN
    // (co-occurrence cosine, 100 neighbours) reordering the pool.
    let knn = homepage_pool(&ItemKnn::fit(ds, 100), ds, setup.pool_size(), opts);
    let bpr = a.pool_bpr.then(|| homepage_pool(&Bpr::fit(ds, &BprConfig::default()).0, ds, setup.pool_size(), opts));
    if let Some(bpr) = &bpr {
        log(&format!("  BPR-MF on the same pool (test): NDCG@10 {:.4}", bpr.localrank_ndcg10));
    }
    log(&format!(
        "  test, full engine (MMR λ {lambda}): server order NDCG@10 {:.4}, default weights {:.4}, tuned {:.4} ({:+.1}%); tuned without MMR (λ 1) {:.4}; item-kNN on the same pool {:.4}  [{:.1}s]",
        server.ndcg10,
        default_w.ndcg10,
        tuned_w.ndcg10,
        if default_w.ndcg10 > 0.0 { (tuned_w.ndcg10 / default_w.ndcg10 - 1.0) * 100.0 } else { 0.0 },
        tuned_relevance.ndcg10,
        knn.localrank_ndcg10,
        t.elapsed().as_secs_f64()
    ));
    let report = json!({
        "protocol": "homepage pool (top-N training popularity), history items dropped; the engine's own rank_for_shopper() running the exported model; tuned on validation, reported on test",
        "neighbour_part": variant,
        "validation": tuning,
        "test": {
            "mmr_lambda": lambda,
            "server_order": server,
            "default_weights": { "weights": BlendWeights::default(), "metrics": default_w },
            "tuned_weights": { "weights": w, "metrics": tuned_w },
            "tuned_weights_without_mmr": tuned_relevance,
            "item_knn_ndcg@10": knn.localrank_ndcg10,
            "item_knn_hr@10": knn.localrank_hr10,
            "neighbour_part_alone": neighbour_only,
            "bpr_ndcg@10": bpr.map(|b| b.localrank_ndcg10),
        },
    });
    Ok(TunedBlend { tuned: w, report })
}
