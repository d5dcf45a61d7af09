//! `localrank train`.
use clap::Args;
use localrank_model::export::{write_model_dir, ItemStats, Precision};
use localrank_model::auto::{train_auto, Overrides, TuneOptions};
use serde_json::json;

use crate::commands::prepare::load_or_prepare_as;
use localrank_model::data::Protocol;
use crate::error::{io_err, CliError};
use crate::paths::{DatasetSpec, Paths};

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// ml-100k, complete-journey, or a store log path (.csv/.tsv/.parquet)
    #[arg(long, default_value = "ml-100k")]
    pub dataset: String,
    /// Seconds the validation-driven tuning may spend on trials (0 = train the derived settings as they are)
    #[arg(long, default_value_t = 300.0)]
    pub tune_budget: f64,
    /// Seconds the whole run may take (tuning at most 40% of it); training stops with the best model so far
    #[arg(long)]
    pub time_budget: Option<f64>,
    /// Epochs each tuning trial (and the starting point) trains before they are compared
    #[arg(long, default_value_t = 12)]
    pub trial_epochs: usize,
    /// Maximum training epochs (early stopping usually ends sooner) [default: 200]
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Embedding and hidden size [default: 64; tuning may try 32]
    #[arg(long)]
    pub dim: Option<usize>,
    /// Transformer blocks [default: 2]
    #[arg(long)]
    pub blocks: Option<usize>,
    /// Attention heads (must divide --dim) [default: 2]
    #[arg(long)]
    pub heads: Option<usize>,
    /// Events of history the model reads [default: the median training history, 20..200; tuned]
    #[arg(long)]
    pub max_len: Option<usize>,
    /// Dropout [default: 0.5 when items average under 30 training events, else 0.2; tuned]
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Softmax temperature on cosine scores [default: 0.05]
    #[arg(long)]
    pub temperature: Option<f64>,
    /// AdamW learning rate [default: 3e-3; tuning may try 1e-3]
    #[arg(long)]
    pub lr: Option<f64>,
    /// AdamW weight decay [default: 1e-4]
    #[arg(long)]
    pub weight_decay: Option<f32>,
    /// Training windows per batch [default: 64, 128 for logs with 20k+ windows]
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Non-overlapping windows of max_len per user, from the end (1 = original SASRec) [default: enough for every position]
    #[arg(long)]
    pub windows: Option<usize>,
    /// Stop after this many epochs without a validation gain [default: 5]
    #[arg(long)]
    pub patience: Option<usize>,
    /// Sampled-softmax negatives per batch (0 = full softmax) [default: 0 up to 3,000 items, else 2,048]
    #[arg(long)]
    pub negatives: Option<usize>,
    /// Users sampled for per-epoch validation (0 = all) [default: all, 3,000 above 4,000 users]
    #[arg(long)]
    pub validation_users: Option<usize>,
    /// Mask items a history already contains out of the training softmax (true/false) [default: true]
    #[arg(long)]
    pub exclude_seen: Option<bool>,
    /// Where the item vectors start: bpr (BPR-MF item factors fitted on the same training events) or random [default: bpr; tuned]
    #[arg(long)]
    pub item_init: Option<localrank_model::config::ItemInit>,
    /// How steps map to position rows: from_start (the window grows, then advances by half its
    /// length; the browser re-encodes only new rows) or from_end (the newest event always at the
    /// last row, as in SASRec; every event is a full pass) [default: from_start]
    #[arg(long)]
    pub positions: Option<localrank_model::config::Positions>,
    /// Train a text tower on the products' text (true/false): new products get vectors from
    /// their words and searches steer the intent [default: true when most items have text]
    #[arg(long)]
    pub text: Option<bool>,
    /// Text tower: weight of the loss term that ranks items by their text vector alone (what
    /// places a product added after training) [default: 0.5]
    #[arg(long)]
    pub text_loss: Option<f64>,
    /// Text tower: share of history items read by their text alone in training [default: 0.1]
    #[arg(long)]
    pub id_dropout: Option<f64>,
    /// Text tower: share of history steps replaced by a search for the next item's category [default: 0.1]
    #[arg(long)]
    pub search_steps: Option<f64>,
    /// Where to train: cpu (every core) or gpu (the first wgpu adapter; needs a build with --features gpu)
    #[arg(long, default_value = "cpu")]
    pub device: localrank_model::TrainDevice,
    /// Seed for initialisation, shuffling and sampling
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Hide the progress bar (per-epoch lines are still printed)
    #[arg(long)]
    pub quiet: bool,
    /// The split to train on: leave-one-out, or next-basket (every basket but the last two;
    /// repeats kept; the model goes to its own folder, artifacts/<dataset>.next-basket)
    #[arg(long, default_value = "leave-one-out", value_parser = crate::commands::prepare::parse_protocol)]
    pub protocol: Protocol,
}

pub fn run(paths: &Paths, a: &TrainArgs, log: &mut dyn FnMut(&str)) -> Result<(), CliError> {
    let spec = DatasetSpec::parse(&a.dataset);
    let ds = load_or_prepare_as(paths, &a.dataset, a.protocol, log)?;
    let overrides = Overrides {
        dim: a.dim,
        blocks: a.blocks,
        heads: a.heads,
        max_len: a.max_len,
        dropout: a.dropout,
        temperature: a.temperature,
        epochs: a.epochs,
        learning_rate: a.lr,
        weight_decay: a.weight_decay,
        batch_size: a.batch_size,
        windows: a.windows,
        patience: a.patience,
        negatives: a.negatives,
        validation_users: a.validation_users,
        exclude_seen: a.exclude_seen,
        item_init: a.item_init,
        positions: a.positions,
        text: a.text,
        text_loss: a.text_loss,
        id_dropout: a.id_dropout,
        search_steps: a.search_steps,
    };
    for (flag, v) in [("--text-loss", a.text_loss), ("--id-dropout", a.id_dropout), ("--search-steps", a.search_steps)] {
        if v.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
            return Err(CliError::Usage(format!("{flag} must be between 0 and 1")));
        }
    }
    if !a.tune_budget.is_finite() || a.tune_budget < 0.0 {
        return Err(CliError::Usage("--tune-budget must be a number of seconds >= 0".into()));
    }
    if a.time_budget.is_some_and(|s| !s.is_finite() || s < 0.0) {
        return Err(CliError::Usage("--time-budget must be a number of seconds >= 0".into()));
    }
    let opts = TuneOptions { budget_seconds: a.tune_budget, trial_epochs: a.trial_epochs.max(1), time_budget_seconds: a.time_budget, ..TuneOptions::default() };
    log(&format!("{}: {} users, {} items, {} events", ds.name, ds.num_users(), ds.num_items(), ds.num_events()));
    let device = localrank_model::device::device(a.device)?;
    let dir = paths.artifacts_as(&spec, a.protocol);
    // Checkpoint every new best so an interrupted run still leaves a usable model.
    let mut checkpoint = |w: &localrank_model::ModelWeights, epoch: usize, m: &localrank_model::eval::Metrics| {
        write_model_dir(&dir, w, &ds.item_ids, Precision::F32, &ds.name, json!({ "validation": m, "best_epoch": epoch, "complete": false }), ItemStats::default())
    };
    let auto = train_auto(&ds, &overrides, a.seed, &opts, &device, !a.quiet, log, &mut checkpoint)?;
    let out = &auto.outcome;
    log(&format!(
        "best epoch {} (val NDCG@10 {:.4}, HR@10 {:.4}); {:.0}s tuning, {:.0}s training the chosen settings ({:.0}s to best); stopped by {}",
        out.best_epoch, out.best_validation.ndcg10, out.best_validation.hr10, auto.report.tuning_seconds, out.total_seconds, out.seconds_to_best, out.stopped_by
    ));
    let settings = json!({ "encoder": auto.encoder, "training": auto.training, "tuning": auto.report });
    let metrics = json!({ "validation": out.best_validation, "best_epoch": out.best_epoch, "complete": true, "settings": settings });
    write_model_dir(&dir, &out.weights, &ds.item_ids, Precision::F32, &ds.name, metrics, ItemStats::default())?;
    let report = json!({
        "dataset": ds.name, "encoder": auto.encoder, "training": auto.training, "tuning": auto.report,
        "best_epoch": out.best_epoch, "best_validation": out.best_validation,
        "tuning_seconds": auto.report.tuning_seconds, "seconds_to_best": out.seconds_to_best,
        "total_seconds": out.total_seconds + auto.report.tuning_seconds, "epochs": out.epochs,
        "time_budget_seconds": a.time_budget, "stopped_by": out.stopped_by,
    });
    let p = dir.join("train.json");
    std::fs::write(&p, serde_json::to_string_pretty(&report).unwrap_or_default()).map_err(io_err(&p))?;
    log(&format!("model written to {}", dir.display()));
    Ok(())
}
