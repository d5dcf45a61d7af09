//! One training procedure for every log: settings derived from the prepared data's shape,
//! then the few that matter tuned on the validation split within a time budget.
//!
//! 1. [`DataShape`] measures the log (users, items, events, training-history lengths).
//! 2. [`derive`] turns it into a starting point: a context as long as the median training
//!    history (20–200 events), windows that cover every position of every history, full
//!    softmax up to [`FULL_SOFTMAX_MAX_ITEMS`] items and a log-Q-corrected sampled softmax
//!    above, more dropout when items have few events each, the item table started from
//!    BPR-MF's item factors.
//! 3. [`train_auto`] trains that starting point for `trial_epochs` epochs, then tries one
//!    change at a time (learning rate, dropout, size, context length, windows, negatives,
//!    random item start),
//!    each for the same number of epochs, keeping a change only when it beats the incumbent's
//!    validation NDCG@10 by at least [`TuneOptions::min_gain`]. Candidates whose estimated
//!    time no longer fits the budget are skipped. The incumbent is a paused [`Session`], so
//!    the winner continues to convergence instead of starting over.
//!
//! Settings fixed by the caller (explicit CLI flags) are never tuned.
use std::time::Instant;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::config::{EncoderConfig, ItemInit, Positions, TextTowerConfig, TrainConfig};
use localrank_core::text::TextHashing;
use crate::data::{Dataset, Protocol};
use crate::error::Result;
use crate::eval::Metrics;
use crate::train::{ItemStarts, Session, TrainOutcome};
use crate::weights::ModelWeights;

/// Largest catalogue trained with the full softmax; larger ones use the sampled softmax.
/// Measured on this project's 2-core machine (`cargo run --profile native -p localrank-model
/// --example softmax_cost`, one training step of batch 64 × 50 positions, d = 64, history
/// masking on): full softmax 733 / 1,043 / 2,130 / 3,115 ms at 1,024 / 2,048 / 4,096 / 8,192
/// items; sampled softmax with 2,048 negatives 1,220–1,490 ms at every size. The lines cross
/// at about 2,900 items. Below that the full softmax is exact and no slower.
pub const FULL_SOFTMAX_MAX_ITEMS: usize = 3000;

/// Shared negatives per batch for the sampled softmax.
pub const SAMPLED_NEGATIVES: usize = 2048;

/// Most training positions × context length one epoch of the derived settings may cost (the
/// attention and feed-forward work per window grow with both). Complete Journey's 797k training
/// events at the median-history context of 200 took 794 s per epoch on this 2-core machine; at
/// 50 (39.9M) 200–330 s, and reached 1.7× the old hand-tuned preset. Every other log the
/// project measures stays far below (ML-100k: 100k events × 200).
pub const MAX_EPOCH_CONTEXT_POSITIONS: usize = 40_000_000;

/// Training events (summed over epochs) the derived patience lets pass without a validation
/// gain, within [`PATIENCE_RANGE`]. On a 600-user log one user's hit moves validation NDCG@10 by
/// ~0.002, so single epochs spike and dip: on the 20k-event `cj-first` log, patience 5 stopped
/// three seeds at epochs 12, 11 and 6; patience 15 let one of them reach epoch 44 (test 0.0490 →
/// 0.0623) at ~3 s an epoch. On logs of 100k+ events an epoch costs a minute or more and the
/// validation is steadier, so the floor of 5 holds.
pub const PATIENCE_EVENTS: usize = 200_000;

/// The fewest and most epochs the derived patience waits.
pub const PATIENCE_RANGE: (usize, usize) = (5, 15);

/// Share of items that must have text for the derived settings to add a text tower.
pub const TEXT_TOWER_MIN_SHARE: f64 = 0.5;

/// Width of the text tower's hashed rows: 16,384 × 32 int8 is 512 KB in the browser (issue 11's
/// goal is ≤ 1 MB), projected up to the model's width.
pub const TEXT_DIM: usize = 32;

/// The context the median history asks for: in steps of 10, within 20..=200.
fn median_context(shape: &DataShape) -> usize {
    shape.median_history.div_ceil(10).saturating_mul(10).clamp(20, 200)
}

/// What the procedure looks at in a prepared log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataShape {
    pub users: usize,
    pub items: usize,
    pub events: usize,
    /// Events a model may train on (all but the last two of each user).
    pub train_events: usize,
    pub median_history: usize,
    pub p90_history: usize,
    pub max_history: usize,
    /// The split the data was prepared for (absent in reports written before next-basket).
    #[serde(default)]
    pub protocol: Protocol,
    /// Share of items with product text (0 when the data has none).
    #[serde(default)]
    pub text_share: f64,
}

impl DataShape {
    pub fn of(ds: &Dataset) -> DataShape {
        let mut lens: Vec<usize> = (0..ds.num_users()).map(|u| ds.train_sequence(u).len()).collect();
        lens.sort_unstable();
        let at = |q: f64| lens.get(((lens.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0);
        DataShape {
            users: ds.num_users(),
            items: ds.num_items(),
            events: ds.num_events(),
            train_events: lens.iter().sum(),
            median_history: at(0.5),
            p90_history: at(0.9),
            max_history: lens.last().copied().unwrap_or(0),
            protocol: ds.protocol(),
            text_share: ds.item_text.iter().filter(|t| t.is_some()).count() as f64 / ds.num_items().max(1) as f64,
        }
    }

    /// Training events per item: how much evidence each item vector gets.
    pub fn events_per_item(&self) -> f64 {
        self.train_events as f64 / self.items.max(1) as f64
    }
}

/// The starting point for a log of this shape (before any tuning).
pub fn derive(shape: &DataShape) -> (EncoderConfig, TrainConfig) {
    let mut enc = EncoderConfig::new(shape.items);
    let mut tr = TrainConfig::default();
    // Context: the median training history, in steps of 10, within 20..=200, shortened (not
    // below 20) where training every position at that length would exceed
    // MAX_EPOCH_CONTEXT_POSITIONS per epoch: long-history logs get shorter windows, not fewer
    // trained events.
    let affordable = (MAX_EPOCH_CONTEXT_POSITIONS / shape.train_events.max(1)) / 10 * 10;
    enc.max_len = median_context(shape).min(affordable.max(20));
    // Every position of every history: as many non-overlapping windows as the longest needs.
    tr.windows_per_user = shape.max_history.div_ceil(enc.max_len).max(1);
    // Few events per item: item vectors overfit, so regularise harder.
    enc.dropout = if shape.events_per_item() < 30.0 { 0.5 } else { 0.2 };
    let windows: usize = shape.train_events.div_ceil(enc.max_len).max(shape.users);
    tr.batch_size = if windows < 20_000 { 64 } else { 128 };
    tr.learning_rate = 3e-3;
    tr.patience = PATIENCE_EVENTS.div_ceil(shape.train_events.max(1)).clamp(PATIENCE_RANGE.0, PATIENCE_RANGE.1);
    tr.sampled_negatives = if shape.items > FULL_SOFTMAX_MAX_ITEMS { SAMPLED_NEGATIVES } else { 0 };
    // Validation on a few thousand users is enough to rank settings and keeps epochs short.
    tr.validation_users = if shape.users > 4000 { 3000 } else { 0 };
    // Leave-one-out: the ranking never shows a history's own items (the evaluation excludes
    // them, the engine sinks bought ones), so training does not spend capacity on pushing them
    // down. Next-basket: repeat purchases are most of the targets, so they stay in the softmax.
    tr.exclude_seen = shape.protocol == Protocol::LeaveOneOut;
    // Start the item table from BPR-MF's factors: a randomly started table learns the
    // catalogue's co-occurrence structure slowly, and on sparse logs (~10 events per item) not
    // at all within early stopping's patience (a 9,000-item synthetic log stayed at chance for
    // 10 epochs; started from BPR it reached validation NDCG@10 0.24 in one). The tuner tries
    // the random start too.
    tr.item_init = ItemInit::Bpr;
    // Product text for most of the catalogue: a text tower, so new products and searches count.
    if shape.text_share >= TEXT_TOWER_MIN_SHARE {
        enc.text = Some(TextTowerConfig::new(TextHashing::default(), TEXT_DIM));
    }
    (enc, tr)
}

/// Settings the caller fixed (explicit flags); the tuner leaves them alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overrides {
    pub dim: Option<usize>,
    pub blocks: Option<usize>,
    pub heads: Option<usize>,
    pub max_len: Option<usize>,
    pub dropout: Option<f64>,
    pub temperature: Option<f64>,
    pub epochs: Option<usize>,
    pub learning_rate: Option<f64>,
    pub weight_decay: Option<f32>,
    pub batch_size: Option<usize>,
    pub windows: Option<usize>,
    pub patience: Option<usize>,
    pub negatives: Option<usize>,
    pub validation_users: Option<usize>,
    pub exclude_seen: Option<bool>,
    #[serde(default)]
    pub item_init: Option<ItemInit>,
    #[serde(default)]
    pub positions: Option<Positions>,
    /// Whether to train a text tower (when the data has text); `None`: when most items have text.
    #[serde(default)]
    pub text: Option<bool>,
    #[serde(default)]
    pub text_loss: Option<f64>,
    #[serde(default)]
    pub id_dropout: Option<f64>,
    #[serde(default)]
    pub search_steps: Option<f64>,
}

impl Overrides {
    /// Puts the caller's settings over the derived ones (`shape`: the log they were derived
    /// from). Two derived settings follow the fixed ones: a fixed context gets the windows that
    /// cover every position at that length, and fixed windows get the uncapped median-history
    /// context, since the caller has bounded the epoch's work already.
    pub fn apply(&self, shape: &DataShape, enc: &mut EncoderConfig, tr: &mut TrainConfig) {
        match (self.max_len, self.windows) {
            (Some(len), None) => tr.windows_per_user = shape.max_history.div_ceil(len.max(1)).max(1),
            (None, Some(_)) => enc.max_len = median_context(shape),
            _ => {}
        }
        enc.dim = self.dim.unwrap_or(enc.dim);
        enc.blocks = self.blocks.unwrap_or(enc.blocks);
        enc.heads = self.heads.unwrap_or(enc.heads);
        enc.max_len = self.max_len.unwrap_or(enc.max_len);
        enc.ffn_dim = enc.dim * 4;
        enc.dropout = self.dropout.unwrap_or(enc.dropout);
        enc.temperature = self.temperature.unwrap_or(enc.temperature);
        tr.epochs = self.epochs.unwrap_or(tr.epochs);
        tr.learning_rate = self.learning_rate.unwrap_or(tr.learning_rate);
        tr.weight_decay = self.weight_decay.unwrap_or(tr.weight_decay);
        tr.batch_size = self.batch_size.unwrap_or(tr.batch_size);
        tr.windows_per_user = self.windows.unwrap_or(tr.windows_per_user);
        tr.patience = self.patience.unwrap_or(tr.patience);
        tr.sampled_negatives = self.negatives.unwrap_or(tr.sampled_negatives);
        tr.validation_users = self.validation_users.unwrap_or(tr.validation_users);
        tr.exclude_seen = self.exclude_seen.unwrap_or(tr.exclude_seen);
        tr.item_init = self.item_init.unwrap_or(tr.item_init);
        enc.positions = self.positions.unwrap_or(enc.positions);
        tr.text_loss = self.text_loss.unwrap_or(tr.text_loss);
        tr.id_dropout = self.id_dropout.unwrap_or(tr.id_dropout);
        tr.search_steps = self.search_steps.unwrap_or(tr.search_steps);
        match self.text {
            Some(false) => enc.text = None,
            Some(true) if enc.text.is_none() => enc.text = Some(TextTowerConfig::new(TextHashing::default(), TEXT_DIM)),
            _ => {}
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneOptions {
    /// Seconds the trials may take beyond training the starting point (0 = no tuning).
    pub budget_seconds: f64,
    /// Epochs every trial (and the starting point) trains before they are compared.
    pub trial_epochs: usize,
    /// A change is kept only if it raises validation NDCG@10 by at least this fraction.
    pub min_gain: f64,
    /// Seconds the whole run (tuning and training) may take, if bounded: training stops with
    /// the best model so far, and tuning gets at most [`TUNING_SHARE`] of it.
    #[serde(default)]
    pub time_budget_seconds: Option<f64>,
}

/// The most of a time budget the tuning trials may use; the rest trains the chosen settings.
pub const TUNING_SHARE: f64 = 0.4;

/// The share of `--time-budget` the BPR-MF start of the item table may take (it runs before
/// the first epoch and is not otherwise bounded: ~8 minutes on a 2M-event, 50,000-item log).
pub const BPR_START_SHARE: f64 = 0.2;

impl Default for TuneOptions {
    fn default() -> Self {
        TuneOptions { budget_seconds: 300.0, trial_epochs: 12, min_gain: 0.02, time_budget_seconds: None }
    }
}

/// One tried setting and what it reached in `trial_epochs` epochs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub change: String,
    #[serde(rename = "val_ndcg@10")]
    pub val_ndcg10: f64,
    pub epochs: usize,
    pub seconds: f64,
    pub kept: bool,
}

/// What the tuner did, for model.json and train.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneReport {
    pub shape: DataShape,
    pub full_softmax_max_items: usize,
    pub options: TuneOptions,
    pub overrides: Overrides,
    /// Derived starting point, before tuning.
    pub derived: (EncoderConfig, TrainConfig),
    pub trials: Vec<Trial>,
    /// Candidates not tried because their estimated time did not fit the remaining budget.
    pub skipped: Vec<String>,
    pub tuning_seconds: f64,
}

/// The settings tried, in order of how much they usually matter.
pub const TUNED: [&str; 7] = ["learning_rate", "dropout", "dim", "max_len", "windows", "negatives", "item_init"];

/// One change of `name` to try on the incumbent: (label, encoder, training, relative cost per
/// epoch); None when it does not apply or the caller fixed that setting.
fn change(name: &str, s: &DataShape, e: &EncoderConfig, t: &TrainConfig, o: &Overrides) -> Option<(String, EncoderConfig, TrainConfig, f64)> {
    match name {
        "learning_rate" if o.learning_rate.is_none() => {
            let lr = if t.learning_rate >= 2e-3 { 1e-3 } else { 3e-3 };
            Some((format!("learning rate {lr}"), e.clone(), TrainConfig { learning_rate: lr, ..t.clone() }, 1.0))
        }
        "dropout" if o.dropout.is_none() => {
            let d = if e.dropout >= 0.35 { 0.2 } else { 0.5 };
            Some((format!("dropout {d}"), EncoderConfig { dropout: d, ..e.clone() }, t.clone(), 1.0))
        }
        "dim" if o.dim.is_none() && e.dim >= 64 && (e.dim / 2).is_multiple_of(e.heads) => {
            let d = e.dim / 2;
            Some((format!("dim {d}"), EncoderConfig { dim: d, ffn_dim: d * 4, ..e.clone() }, t.clone(), 0.7))
        }
        "max_len" if o.max_len.is_none() => {
            // Longer context when histories are longer than it, else shorter.
            let l = if s.p90_history > e.max_len && e.max_len < 200 { (e.max_len * 2).min(200) } else { (e.max_len / 2).max(10) };
            if l == e.max_len {
                return None;
            }
            let windows = if o.windows.is_some() { t.windows_per_user } else { s.max_history.div_ceil(l).max(1) };
            let cost = if l > e.max_len { 1.3 } else { 0.8 };
            Some((format!("max_len {l}"), EncoderConfig { max_len: l, ..e.clone() }, TrainConfig { windows_per_user: windows, ..t.clone() }, cost))
        }
        // Only the most recent window per user (the original SASRec setup), when histories are
        // longer than the context: old behaviour may mislead more than it teaches.
        "windows" if o.windows.is_none() && t.windows_per_user > 1 && s.median_history > e.max_len / 2 => {
            Some(("windows 1".to_string(), e.clone(), TrainConfig { windows_per_user: 1, ..t.clone() }, 0.5))
        }
        "negatives" if o.negatives.is_none() && t.sampled_negatives > 0 && s.items > 4 * t.sampled_negatives => {
            Some(("negatives 8192".to_string(), e.clone(), TrainConfig { sampled_negatives: 8192, ..t.clone() }, 1.5))
        }
        "item_init" if o.item_init.is_none() => {
            let init = if t.item_init == ItemInit::Bpr { ItemInit::Random } else { ItemInit::Bpr };
            Some((format!("item init {}", if init == ItemInit::Bpr { "bpr" } else { "random" }), e.clone(), TrainConfig { item_init: init, ..t.clone() }, 1.0))
        }
        _ => None,
    }
}

/// The outcome of [`train_auto`]: the trained model and the settings it was trained with.
pub struct AutoOutcome {
    pub outcome: TrainOutcome,
    pub encoder: EncoderConfig,
    pub training: TrainConfig,
    pub report: TuneReport,
}

#[allow(clippy::too_many_arguments)]
/// Derives, tunes and trains. `on_best` sees every new best of the session that is finally
/// kept (trials that lose are not checkpointed).
pub fn train_auto(
    ds: &Dataset,
    overrides: &Overrides,
    seed: u64,
    opts: &TuneOptions,
    device: &Device,
    progress: bool,
    log: &mut dyn FnMut(&str),
    on_best: &mut dyn FnMut(&ModelWeights, usize, &Metrics) -> Result<()>,
) -> Result<AutoOutcome> {
    let shape = DataShape::of(ds);
    let (mut enc, mut tr) = derive(&shape);
    let derived = (enc.clone(), tr.clone());
    overrides.apply(&shape, &mut enc, &mut tr);
    tr.seed = seed;
    log(&format!(
        "data shape: {} users, {} items, {} events; training history median {}, p90 {}, max {}; {:.1} events per item",
        shape.users, shape.items, shape.events, shape.median_history, shape.p90_history, shape.max_history, shape.events_per_item()
    ));
    let trial_epochs = opts.trial_epochs.min(tr.epochs).max(1);
    let started = Instant::now();
    let deadline = opts.time_budget_seconds.map(|s| started + std::time::Duration::from_secs_f64(s.max(0.0)));
    let tune_budget = match opts.time_budget_seconds {
        Some(total) => opts.budget_seconds.min(total * TUNING_SHARE),
        None => opts.budget_seconds,
    };
    let tuning = tune_budget > 0.0;
    log(&format!("starting point: {}", describe(&enc, &tr)));
    // Under a time budget the item table's BPR-MF start gets at most BPR_START_SHARE of it.
    let mut starts = ItemStarts::default();
    starts.deadline = opts.time_budget_seconds.map(|s| started + std::time::Duration::from_secs_f64(s.max(0.0) * BPR_START_SHARE));
    let mut best = Session::with_starts(ds, &enc, &tr, device, &mut starts)?;
    for fit in starts.fits.drain(..) {
        log(&fit);
    }
    // The starting point and every trial stop at the tuning share of the budget; the chosen
    // session then trains on to the full deadline.
    let tune_deadline = (tuning && deadline.is_some()).then(|| started + std::time::Duration::from_secs_f64(tune_budget));
    best.deadline = tune_deadline.or(deadline);
    let mut quiet = |_: &str| {};
    let mut none = |_: &ModelWeights, _: usize, _: &Metrics| Ok(());
    if tuning {
        best.run(trial_epochs, progress, log, &mut none)?;
    }
    let mut trials = vec![Trial { change: "starting point".into(), val_ndcg10: best.best_validation.ndcg10, epochs: best.epoch, seconds: best.seconds, kept: true }];
    let mut skipped = Vec::new();
    let t0 = Instant::now();
    if tuning {
        for name in TUNED {
            let Some((label, e, t, cost)) = change(name, &shape, &best.enc, &best.cfg, overrides) else { continue };
            let estimate = best.epoch_seconds() * trial_epochs as f64 * cost;
            let mut left = tune_budget - t0.elapsed().as_secs_f64();
            if let Some(d) = tune_deadline {
                left = left.min(d.saturating_duration_since(Instant::now()).as_secs_f64());
            }
            if estimate > left {
                log(&format!("tuning: skip {label} (needs ~{estimate:.0}s, {left:.0}s of the budget left)"));
                skipped.push(format!("{name}: {label}"));
                continue;
            }
            let mut s = Session::with_starts(ds, &e, &t, device, &mut starts)?;
            for fit in starts.fits.drain(..) {
                log(&fit);
            }
            s.deadline = tune_deadline;
            s.run(trial_epochs, false, &mut quiet, &mut none)?;
            // Compare at the same number of epochs as the incumbent was given.
            let incumbent = best.epochs.iter().take(trial_epochs).map(|x| x.val_ndcg10).fold(f64::MIN, f64::max);
            let kept = s.best_validation.ndcg10 > incumbent * (1.0 + opts.min_gain);
            log(&format!(
                "tuning: {label}: val NDCG@10 {:.4} vs {:.4} in {} epochs ({:.0}s) -> {}",
                s.best_validation.ndcg10,
                incumbent,
                s.epoch,
                s.seconds,
                if kept { "keep" } else { "drop" }
            ));
            trials.push(Trial { change: label, val_ndcg10: s.best_validation.ndcg10, epochs: s.epoch, seconds: s.seconds, kept });
            if kept {
                best = s;
            }
        }
    }
    let tuning_seconds = t0.elapsed().as_secs_f64();
    let (enc, tr) = (best.enc.clone(), best.cfg.clone());
    log(&format!("chosen: {}", describe(&enc, &tr)));
    // The chosen session's best so far is the first checkpoint; training goes on from there.
    if let Some(w) = &best.best {
        on_best(w, best.best_epoch, &best.best_validation)?;
    }
    best.deadline = deadline;
    best.out_of_time = false;
    best.run(tr.epochs, progress, log, on_best)?;
    let report = TuneReport { shape, full_softmax_max_items: FULL_SOFTMAX_MAX_ITEMS, options: opts.clone(), overrides: overrides.clone(), derived, trials, skipped, tuning_seconds };
    Ok(AutoOutcome { outcome: best.outcome()?, encoder: enc, training: tr, report })
}

pub fn describe(e: &EncoderConfig, t: &TrainConfig) -> String {
    format!(
        "dim {} ({} blocks, {} heads), max_len {}, dropout {}, lr {}, batch {}, windows {}, {}, weight decay {}, patience {}",
        e.dim,
        e.blocks,
        e.heads,
        e.max_len,
        e.dropout,
        t.learning_rate,
        t.batch_size,
        t.windows_per_user,
        if t.sampled_negatives > 0 { format!("sampled softmax ({} negatives)", t.sampled_negatives) } else { "full softmax".into() },
        t.weight_decay,
        t.patience
    ) + if t.exclude_seen { ", history items masked in training" } else { "" }
        + if t.item_init == ItemInit::Bpr { ", item vectors started from BPR-MF" } else { "" }
        + &e.text.map_or(String::new(), |x| format!(", text tower ({} x {}, text-only loss {}, input ID dropout {}, search steps {})", x.buckets, x.dim, t.text_loss, t.id_dropout, t.search_steps))
}
