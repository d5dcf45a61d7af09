//! `localrank train`.
use clap::Args;
use localrank_model::export::{write_model_dir, Precision};
use localrank_model::{EncoderConfig, TrainConfig};
use serde_json::json;

use crate::commands::prepare::load_or_prepare;
use crate::error::{io_err, CliError};
use crate::paths::{DatasetSpec, Paths};

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// ml-100k, complete-journey, or a store log path
    #[arg(long, default_value = "ml-100k")]
    pub dataset: String,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long)]
    pub dim: Option<usize>,
    #[arg(long)]
    pub blocks: Option<usize>,
    #[arg(long)]
    pub heads: Option<usize>,
    #[arg(long)]
    pub max_len: Option<usize>,
    #[arg(long)]
    pub dropout: Option<f64>,
    #[arg(long)]
    pub temperature: Option<f64>,
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long)]
    pub weight_decay: Option<f32>,
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Non-overlapping windows of max_len per user (1 = original SASRec)
    #[arg(long)]
    pub windows: Option<usize>,
    #[arg(long)]
    pub patience: Option<usize>,
    /// Sampled-softmax negatives per batch (0 = full softmax over the catalogue)
    #[arg(long)]
    pub negatives: Option<usize>,
    /// Users sampled for per-epoch validation (0 = all)
    #[arg(long)]
    pub validation_users: Option<usize>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Hide the progress bar (per-epoch lines are still printed)
    #[arg(long)]
    pub quiet: bool,
}

/// Defaults per data set, chosen on the validation split.
fn presets(spec: &DatasetSpec, num_items: usize) -> (EncoderConfig, TrainConfig) {
    let enc = EncoderConfig::new(num_items);
    let mut tr = TrainConfig::default();
    if *spec == DatasetSpec::CompleteJourney {
        // 25k items: the full softmax costs ~95% of the step; a log-Q-corrected sampled softmax
        // over 2048 shared negatives lets an epoch see 4x more windows in less time.
        tr.batch_size = 64;
        tr.windows_per_user = 4;
        tr.sampled_negatives = 2048;
        tr.learning_rate = 2e-3;
        tr.patience = 3;
    }
    if *spec == DatasetSpec::Ml100k {
        tr.batch_size = 64;
        tr.learning_rate = 3e-3;
    }
    (enc, tr)
}

pub fn run(paths: &Paths, a: &TrainArgs, log: &mut dyn FnMut(&str)) -> Result<(), CliError> {
    let spec = DatasetSpec::parse(&a.dataset);
    let ds = load_or_prepare(paths, &a.dataset, log)?;
    let (mut enc, mut tr) = presets(&spec, ds.num_items());
    enc.dim = a.dim.unwrap_or(enc.dim);
    enc.blocks = a.blocks.unwrap_or(enc.blocks);
    enc.heads = a.heads.unwrap_or(enc.heads);
    enc.max_len = a.max_len.unwrap_or(enc.max_len);
    enc.ffn_dim = enc.dim * 4;
    enc.dropout = a.dropout.unwrap_or(enc.dropout);
    enc.temperature = a.temperature.unwrap_or(enc.temperature);
    tr.epochs = a.epochs.unwrap_or(tr.epochs);
    tr.learning_rate = a.lr.unwrap_or(tr.learning_rate);
    tr.weight_decay = a.weight_decay.unwrap_or(tr.weight_decay);
    tr.batch_size = a.batch_size.unwrap_or(tr.batch_size);
    tr.windows_per_user = a.windows.unwrap_or(tr.windows_per_user);
    tr.patience = a.patience.unwrap_or(tr.patience);
    tr.sampled_negatives = a.negatives.unwrap_or(tr.sampled_negatives);
    tr.validation_users = a.validation_users.unwrap_or(tr.validation_users);
    tr.seed = a.seed;
    log(&format!("{}: {} users, {} items, {} events", ds.name, ds.num_users(), ds.num_items(), ds.num_events()));
    log(&format!("model {enc:?}\ntraining {tr:?}"));
    let device = localrank_model::cpu_device();
    let dir = paths.artifacts(&spec);
    // Checkpoint every new best so an interrupted run still leaves a usable model.
    let mut checkpoint = |w: &localrank_model::ModelWeights, epoch: usize, m: &localrank_model::eval::Metrics| {
        write_model_dir(&dir, w, &ds.item_ids, Precision::F32, &ds.name, json!({ "validation": m, "best_epoch": epoch, "complete": false }))
    };
    let out = localrank_model::train::train_with_checkpoints(&ds, &enc, &tr, &device, !a.quiet, log, &mut checkpoint)?;
    log(&format!(
        "best epoch {} (val NDCG@10 {:.4}, HR@10 {:.4}); {:.0}s to best, {:.0}s total",
        out.best_epoch, out.best_validation.ndcg10, out.best_validation.hr10, out.seconds_to_best, out.total_seconds
    ));
    let metrics = json!({ "validation": out.best_validation, "best_epoch": out.best_epoch, "complete": true });
    write_model_dir(&dir, &out.weights, &ds.item_ids, Precision::F32, &ds.name, metrics)?;
    let report = json!({
        "dataset": ds.name, "encoder": enc, "training": tr, "best_epoch": out.best_epoch,
        "best_validation": out.best_validation, "seconds_to_best": out.seconds_to_best,
        "total_seconds": out.total_seconds, "epochs": out.epochs,
    });
    let p = dir.join("train.json");
    std::fs::write(&p, serde_json::to_string_pretty(&report).unwrap_or_default()).map_err(io_err(&p))?;
    log(&format!("model written to {}", dir.display()));
    Ok(())
}
