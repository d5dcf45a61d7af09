//! Training: every position of each user's training sequence predicts the next item (the
//! original SASRec objective, no augmented prefixes), full-softmax cross-entropy over the whole
//! catalogue on cosine/temperature scores, AdamW, early stopping on validation NDCG@10.
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::baselines::{Bpr, BprConfig};
use crate::config::{EncoderConfig, ItemInit, TrainConfig};
use crate::data::{Dataset, Event, Protocol, SplitPart};
use crate::encoder::{make_batch, IntentEncoder};
use crate::error::{ModelError, Result};
use crate::eval::basket::evaluate_baskets;
use crate::eval::precision::PositionScorer;
use crate::eval::{evaluate, EvalOptions, Metrics, Scorer};
use crate::text_tower::ItemTextBags;
use crate::time_gap;
use crate::weights::ModelWeights;

pub use crate::encoder::Row;

/// Input row for ranking after `hist` at time `now`: its last `window` events (the model's
/// window, `IntentEncoder::window_len`).
pub fn history_row(hist: &[Event], now: i64, window: usize) -> Row {
    let ts: Vec<i64> = hist.iter().map(|e| e.ts).collect();
    let gaps = time_gap::buckets_for(&ts, now);
    let skip = hist.len().saturating_sub(window);
    let h = &hist[skip..];
    (h.iter().map(|e| e.item).collect(), h.iter().map(|e| e.kind).collect(), gaps[skip..].to_vec(), vec![-1; h.len()])
}

/// Training rows: for a training sequence s, inputs s[..m-1] and targets s[1..]; the gap of
/// input i is s[i+1].ts - s[i].ts (the time of the event being predicted, as at ranking time).
/// Up to `windows` non-overlapping windows of `max_len` positions, taken from the end.
pub fn training_rows(ds: &Dataset, max_len: usize, windows: usize) -> Vec<Row> {
    training_spans(ds, max_len, windows).iter().map(|span| span.row(ds)).collect()
}

/// One training window as a range of a user's training sequence: 12 bytes where the
/// materialised [`Row`] costs ~21 bytes per position, so training holds no second copy of the
/// data set; rows are built per batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowSpan {
    user: u32,
    /// Input positions `start..end`; position i predicts event i + 1.
    start: u32,
    end: u32,
}

impl RowSpan {
    pub fn row(&self, ds: &Dataset) -> Row {
        let s = ds.train_sequence(self.user as usize);
        let range = self.start as usize..self.end as usize;
        (
            s[range.clone()].iter().map(|e| e.item).collect(),
            s[range.clone()].iter().map(|e| e.kind).collect(),
            range.clone().map(|i| time_gap::bucket(s[i + 1].ts - s[i].ts)).collect(),
            range.map(|i| i64::from(s[i + 1].item)).collect(),
        )
    }
}

/// The windows [`training_rows`] describes, as spans.
pub fn training_spans(ds: &Dataset, max_len: usize, windows: usize) -> Vec<RowSpan> {
    let mut spans = Vec::new();
    for u in 0..ds.num_users() {
        let s = ds.train_sequence(u);
        if s.len() < 2 {
            continue;
        }
        let mut end = s.len() - 1; // exclusive end of the input positions
        for _ in 0..windows.max(1) {
            let start = end.saturating_sub(max_len);
            spans.push(RowSpan { user: u as u32, start: start as u32, end: end as u32 });
            if start == 0 {
                break;
            }
            end = start;
        }
    }
    spans
}

/// Draws negatives from q = half uniform, half training popularity: popular items are the
/// hard negatives a uniform sampler would almost never pick in a 25k-item catalogue, and the
/// uniform half keeps every item's vector moving.
pub struct NegativeSampler {
    pub q: Vec<f32>,
    cumulative: Vec<f64>,
}

impl NegativeSampler {
    pub fn new(popularity: &[u32]) -> NegativeSampler {
        let n = popularity.len().max(1) as f64;
        let total: f64 = popularity.iter().map(|&c| f64::from(c)).sum::<f64>().max(1.0);
        let q: Vec<f64> = popularity.iter().map(|&c| 0.5 / n + 0.5 * f64::from(c) / total).collect();
        let mut acc = 0.0;
        let cumulative = q.iter().map(|p| { acc += p; acc }).collect();
        NegativeSampler { q: q.iter().map(|&p| p as f32).collect(), cumulative }
    }

    pub fn draw(&self, k: usize, rng: &mut ChaCha8Rng) -> Vec<i64> {
        use rand::Rng;
        let last = self.cumulative.last().copied().unwrap_or(1.0);
        (0..k)
            .map(|_| {
                let x = rng.random_range(0.0..last);
                self.cumulative.partition_point(|&c| c <= x).min(self.cumulative.len() - 1) as i64
            })
            .collect()
    }
}

/// Training's text regularisers on one batch: the text-only loss term (`text_loss`), ID
/// dropout (each item with text loses its ID row in this step's inputs with probability
/// `id_dropout`) and synthetic searches: with probability
/// `search_steps`, a step becomes a `search` for the category words of the item that follows
/// it (a shopper searches, then opens a result; the query never names the title). The step's
/// own item is then not seen, as when a shopper's search replaces browsing.
pub fn add_text_noise(batch: &mut crate::encoder::Batch, bags: &ItemTextBags, cfg: &TrainConfig, rng: &mut ChaCha8Rng) {
    use rand::Rng;
    batch.text_loss = cfg.text_loss as f32;
    if cfg.id_dropout > 0.0 {
        batch.id_keep = Some((0..bags.full.len()).map(|i| if bags.has_text(i) && rng.random_bool(cfg.id_dropout.clamp(0.0, 1.0)) { 0.0 } else { 1.0 }).collect());
    }
    if cfg.search_steps > 0.0 {
        let search = crate::data::EventKind::ALL.iter().position(|&k| k == crate::data::EventKind::Search).unwrap_or(0) as i64;
        for pos in 0..batch.items.len() {
            let next = batch.targets[pos];
            if batch.items[pos] <= 0 || next < 0 {
                continue;
            }
            let query = bags.query.get(next as usize);
            if !query.is_empty() && rng.random_bool(cfg.search_steps.clamp(0.0, 1.0)) {
                batch.kinds[pos] = search;
                batch.texts.push((pos, query.to_vec()));
            }
        }
    }
}

/// Scores with a trained encoder (inference mode).
pub struct EncoderScorer<'a> {
    pub model: &'a IntentEncoder,
    pub max_len: usize,
    pub device: Device,
    /// Ranking time used for the last event's time gap: the target's timestamp (true, the
    /// protocol's default: ranking happens when the next event does) or the last history
    /// event's timestamp (false: an ablation in which the model learns nothing from the gap
    /// to the predicted event).
    pub gap_to_target: bool,
}

impl EncoderScorer<'_> {
    /// The intent tensor [users, dim] (the engine's intent: final layer norm, last position).
    fn intent_tensor(&self, ds: &Dataset, users: &[usize], part: SplitPart) -> burn::tensor::Tensor<2> {
        self.intents_of(users.iter().map(|&u| ds.history_and_target(u, part)))
    }

    /// The intent tensor of each (history, event to predict) pair.
    fn intents_of<'e>(&self, pairs: impl Iterator<Item = (&'e [Event], Event)>) -> burn::tensor::Tensor<2> {
        let rows: Vec<Row> = pairs
            .map(|(hist, target)| {
                let now = if self.gap_to_target { target.ts } else { hist.last().map_or(target.ts, |e| e.ts) };
                history_row(hist, now, self.model.window_len(hist.len()))
            })
            .collect();
        let len = rows.iter().map(|r| r.0.len()).max().unwrap_or(1).max(1);
        self.model.intents(&make_batch(&rows, len), &self.device)
    }

    /// One intent vector per (user, position): the events before the position as the history,
    /// the event at it as the one to predict.
    pub fn intents_at(&self, ds: &Dataset, points: &[(usize, usize)]) -> Vec<Vec<f32>> {
        let t = self.intents_of(points.iter().map(|&(u, p)| (&ds.sequences[u][..p], ds.sequences[u][p])));
        let dim = t.dims()[1];
        // Built from f32 tensors on this device, so it always reads back as f32.
        let flat: Vec<f32> = t.into_data().try_into_vec::<f32>().expect("intent tensor is f32");
        flat.chunks(dim.max(1)).map(<[f32]>::to_vec).collect()
    }

    /// One intent vector per user, as the browser's engine would compute it for that history.
    pub fn intents(&self, ds: &Dataset, users: &[usize], part: SplitPart) -> Vec<Vec<f32>> {
        let t = self.intent_tensor(ds, users, part);
        let dim = t.dims()[1];
        // Built from f32 tensors on this device, so it always reads back as f32.
        let flat: Vec<f32> = t.into_data().try_into_vec::<f32>().expect("intent tensor is f32");
        flat.chunks(dim.max(1)).map(<[f32]>::to_vec).collect()
    }
}

impl Scorer for EncoderScorer<'_> {
    fn score(&self, ds: &Dataset, users: &[usize], part: SplitPart) -> Vec<Vec<f32>> {
        self.model.cosine_scores(self.intent_tensor(ds, users, part))
    }
}

impl PositionScorer for EncoderScorer<'_> {
    fn score_positions(&self, ds: &Dataset, points: &[(usize, usize)]) -> Vec<Vec<f32>> {
        let pairs = points.iter().map(|&(u, p)| (&ds.sequences[u][..p], ds.sequences[u][p]));
        self.model.cosine_scores(self.intents_of(pairs))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub loss: f64,
    #[serde(rename = "val_ndcg@10")]
    pub val_ndcg10: f64,
    #[serde(rename = "val_hr@10")]
    pub val_hr10: f64,
    pub seconds: f64,
}

#[derive(Debug, Clone)]
pub struct TrainOutcome {
    pub weights: ModelWeights,
    pub best_epoch: usize,
    pub best_validation: Metrics,
    pub epochs: Vec<EpochLog>,
    /// Wall time until the end of the best epoch.
    pub seconds_to_best: f64,
    pub total_seconds: f64,
    /// What ended training: "early stopping", "epochs" (the maximum) or "time budget".
    pub stopped_by: &'static str,
}

/// Trains on `device` (a plain device; autodiff is added here). `log` receives one line per
/// epoch; a progress bar with ETA is drawn on stderr when `progress` is set.
pub fn train(ds: &Dataset, enc: &EncoderConfig, cfg: &TrainConfig, device: &Device, progress: bool, log: &mut dyn FnMut(&str)) -> Result<TrainOutcome> {
    train_with_checkpoints(ds, enc, cfg, device, progress, log, &mut |_, _, _| Ok(()))
}

/// Like [`train`], calling `on_best(weights, epoch, validation)` whenever validation NDCG@10
/// improves, so a long run that is interrupted still leaves its best model behind.
pub fn train_with_checkpoints(
    ds: &Dataset,
    enc: &EncoderConfig,
    cfg: &TrainConfig,
    device: &Device,
    progress: bool,
    log: &mut dyn FnMut(&str),
    on_best: &mut dyn FnMut(&ModelWeights, usize, &Metrics) -> Result<()>,
) -> Result<TrainOutcome> {
    let mut s = Session::new(ds, enc, cfg, device)?;
    s.run(cfg.epochs, progress, log, on_best)?;
    s.outcome()
}

/// One training run that can be paused and resumed: the model, its optimiser state, the
/// shuffling RNG and the best weights so far. The tuner (`crate::auto`) runs short trials as
/// sessions and lets the winning one continue to convergence instead of starting over.
pub struct Session<'a> {
    ds: &'a Dataset,
    pub enc: EncoderConfig,
    pub cfg: TrainConfig,
    device: Device,
    ad: Device,
    model: IntentEncoder,
    optim: burn::optim::ModuleOptimizer,
    rows: Vec<RowSpan>,
    order: Vec<usize>,
    rng: ChaCha8Rng,
    val_users: Vec<usize>,
    sampler: Option<NegativeSampler>,
    /// Epochs trained so far.
    pub epoch: usize,
    pub best: Option<ModelWeights>,
    pub best_validation: Metrics,
    pub best_epoch: usize,
    /// Epochs since the last improvement.
    pub bad: usize,
    pub epochs: Vec<EpochLog>,
    /// Training + validation seconds spent in this session (excludes time it sat paused).
    pub seconds: f64,
    pub seconds_to_best: f64,
    /// When training must stop (`--time-budget`): no batch starts once the time left would not
    /// cover a validation pass, and no epoch starts after it.
    pub deadline: Option<Instant>,
    /// Seconds the last validation pass took (what a deadline must leave room for); None
    /// before the first.
    validation_seconds: Option<f64>,
    /// Set once the deadline ended training.
    pub out_of_time: bool,
}

/// BPR-MF item factors for [`ItemInit::Bpr`], fitted once per (dim, seed) and shared by every
/// session of a run: the tuner's trials start from the same table without refitting it.
#[derive(Default)]
pub struct ItemStarts {
    fitted: Vec<((usize, u64), Vec<f32>)>,
    /// Fits end at their first epoch past this instant (a time-budgeted run).
    pub deadline: Option<Instant>,
    /// One line per fit: epochs, validation NDCG@10, seconds, whether the deadline cut it.
    pub fits: Vec<String>,
}

impl ItemStarts {
    /// The item factors `[num_items, dim]` fitted on the training events of `ds`.
    pub fn bpr(&mut self, ds: &Dataset, dim: usize, seed: u64) -> &[f32] {
        let key = (dim, seed);
        let at = match self.fitted.iter().position(|(k, _)| *k == key) {
            Some(at) => at,
            None => {
                let t = Instant::now();
                let (bpr, val, epoch) = Bpr::fit(ds, &BprConfig { dim, seed, deadline: self.deadline, ..BprConfig::default() });
                let cut = self.deadline.is_some_and(|d| Instant::now() >= d);
                self.fits.push(format!(
                    "item table started from BPR-MF (d {dim}): best epoch {epoch}, validation NDCG@10 {:.4}, {:.0}s{}",
                    val.ndcg10,
                    t.elapsed().as_secs_f64(),
                    if cut { ", cut short by the time budget" } else { "" }
                ));
                self.fitted.push((key, bpr.item_factors().0.to_vec()));
                self.fitted.len() - 1
            }
        };
        &self.fitted[at].1
    }
}

impl<'a> Session<'a> {
    pub fn new(ds: &'a Dataset, enc: &EncoderConfig, cfg: &TrainConfig, device: &Device) -> Result<Session<'a>> {
        Session::with_starts(ds, enc, cfg, device, &mut ItemStarts::default())
    }

    /// As [`Session::new`], taking BPR item factors from (and fitting them into) `starts`.
    pub fn with_starts(ds: &'a Dataset, enc: &EncoderConfig, cfg: &TrainConfig, device: &Device, starts: &mut ItemStarts) -> Result<Session<'a>> {
        enc.check()?;
        if enc.num_items != ds.num_items() {
            return Err(ModelError::BadConfig(format!("encoder has {} items, dataset {}", enc.num_items, ds.num_items())));
        }
        if cfg.batch_size == 0 {
            return Err(ModelError::BadConfig("batch size must be positive".into()));
        }
        device.seed(cfg.seed);
        let ad = device.clone().autodiff();
        let mut model = IntentEncoder::new(enc, &ad);
        if cfg.item_init == ItemInit::Bpr {
            model = model.with_item_vectors(starts.bpr(ds, enc.dim, cfg.seed), &ad);
        }
        if let Some(text) = &enc.text {
            model.item_bags = Some(std::sync::Arc::new(ItemTextBags::new(ds, &text.hashing())));
        }
        let optim = AdamWConfig::new().with_weight_decay(cfg.weight_decay).init();
        let rows = training_spans(ds, enc.max_len, cfg.windows_per_user);
        if rows.is_empty() {
            return Err(ModelError::EmptyDataset { stage: "training rows (every user needs 4+ events)".into() });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut val_users: Vec<usize> = (0..ds.num_users()).collect();
        if cfg.validation_users > 0 && cfg.validation_users < val_users.len() {
            val_users.shuffle(&mut rng);
            val_users.truncate(cfg.validation_users);
            val_users.sort_unstable();
        }
        let sampler = (cfg.sampled_negatives > 0).then(|| NegativeSampler::new(&ds.train_popularity()));
        Ok(Session {
            ds,
            enc: enc.clone(),
            cfg: cfg.clone(),
            device: device.clone(),
            ad,
            model,
            optim,
            order: (0..rows.len()).collect(),
            rows,
            rng,
            val_users,
            sampler,
            epoch: 0,
            best: None,
            best_validation: Metrics { ndcg10: -1.0, ..Metrics::default() },
            best_epoch: 0,
            bad: 0,
            epochs: Vec::new(),
            seconds: 0.0,
            seconds_to_best: 0.0,
            deadline: None,
            validation_seconds: None,
            out_of_time: false,
        })
    }

    /// Training rows (windows) per epoch.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// Whether early stopping has triggered (no gain for `cfg.patience` epochs).
    pub fn stopped(&self) -> bool {
        self.bad >= self.cfg.patience
    }

    /// Mean seconds per epoch so far (0 before the first epoch).
    pub fn epoch_seconds(&self) -> f64 {
        if self.epoch == 0 { 0.0 } else { self.seconds / self.epoch as f64 }
    }

    /// Whether the deadline leaves no room for more training: `reserve` seconds (a validation
    /// pass and a batch, with a margin) must remain.
    fn past_deadline(&self, reserve: f64) -> bool {
        self.deadline.is_some_and(|d| Instant::now() + std::time::Duration::from_secs_f64(reserve) >= d)
    }

    /// What must stay free before the deadline: the last validation pass with a 25% margin and
    /// one batch; before any validation was timed, 15% of the time left at the epoch's start.
    fn reserve(&self, time_left_at_start: f64, batch_seconds: f64) -> f64 {
        self.validation_seconds.map_or(0.15 * time_left_at_start, |v| 1.25 * v) + batch_seconds
    }

    /// Trains until `until_epoch` epochs are done in total, early stopping triggers, or the
    /// deadline (if any) passes; with a deadline the last epoch may end early (it is still
    /// validated, and kept if it is the best).
    pub fn run(&mut self, until_epoch: usize, progress: bool, log: &mut dyn FnMut(&str), on_best: &mut dyn FnMut(&ModelWeights, usize, &Metrics) -> Result<()>) -> Result<()> {
        while self.epoch < until_epoch && !self.stopped() && !self.out_of_time {
            if self.epoch > 0 && self.past_deadline(self.reserve(0.0, 0.0)) {
                self.out_of_time = true;
                break;
            }
            self.run_epoch(progress, log, on_best)?;
            if self.stopped() {
                log(&format!("early stop: no validation gain for {} epochs; best epoch {}", self.cfg.patience, self.best_epoch));
            }
        }
        if self.out_of_time {
            log(&format!("time budget reached after {} epochs; best epoch {}", self.epoch, self.best_epoch));
        }
        Ok(())
    }

    /// One epoch over every training row, then validation NDCG@10. Returns whether it improved.
    pub fn run_epoch(&mut self, progress: bool, log: &mut dyn FnMut(&str), on_best: &mut dyn FnMut(&ModelWeights, usize, &Metrics) -> Result<()>) -> Result<bool> {
        let t0 = Instant::now();
        self.epoch += 1;
        let epoch = self.epoch;
        let cfg = &self.cfg;
        self.order.shuffle(&mut self.rng);
        let n_batches = self.rows.len().div_ceil(cfg.batch_size);
        let bar = if progress { ProgressBar::new(n_batches as u64) } else { ProgressBar::hidden() };
        bar.set_style(
            ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} batches, {elapsed} elapsed, ETA {eta} {msg}")
                .map_err(|e| ModelError::BadConfig(e.to_string()))?
                .progress_chars("=> "),
        );
        bar.set_prefix(epoch.to_string());
        let mut loss_sum = 0.0;
        let mut batches = 0;
        let mut model = self.model.clone();
        let time_left = self.deadline.map_or(0.0, |d| d.saturating_duration_since(t0).as_secs_f64());
        let mut batch_seconds = 0.0;
        for (bi, chunk) in self.order.chunks(cfg.batch_size).enumerate() {
            // At least one batch per epoch, so even a budget of 0 leaves a (barely) trained model.
            if bi > 0 && self.past_deadline(self.reserve(time_left, batch_seconds)) {
                self.out_of_time = true;
                break;
            }
            let tb = Instant::now();
            let batch_rows: Vec<Row> = chunk.iter().map(|&i| self.rows[i].row(self.ds)).collect();
            let len = batch_rows.iter().map(|r| r.0.len()).max().unwrap_or(1);
            let mut batch = make_batch(&batch_rows, len);
            if let Some(bags) = &model.item_bags {
                add_text_noise(&mut batch, bags, cfg, &mut self.rng);
            }
            let loss = match &self.sampler {
                Some(s) => model.sampled_loss(&batch, &s.draw(cfg.sampled_negatives.min(self.ds.num_items()), &mut self.rng), &s.q, &self.ad, cfg.exclude_seen),
                None => model.loss(&batch, &self.ad, cfg.exclude_seen),
            };
            let value: f32 = loss.clone().try_into_scalar().map_err(|e| ModelError::Backend(format!("{e:?}")))?;
            if !value.is_finite() {
                return Err(ModelError::Backend(format!("loss became {value} in epoch {epoch}; lower the learning rate")));
            }
            loss_sum += f64::from(value);
            batches += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = self.optim.step(cfg.learning_rate, model, grads);
            batch_seconds = tb.elapsed().as_secs_f64();
            bar.inc(1);
            bar.set_message(format!("loss {:.4}", loss_sum / (bi + 1) as f64));
        }
        self.model = model;
        bar.finish_and_clear();
        let valid = self.model.valid();
        let scorer = EncoderScorer { model: &valid, max_len: self.enc.max_len, device: self.device.clone(), gap_to_target: true };
        let tv = Instant::now();
        // Early stopping reads the data's own protocol: a next-basket model is chosen by its
        // basket NDCG@10 with repeats in the ranking, not by a leave-one-out target.
        let m = match self.ds.protocol() {
            Protocol::LeaveOneOut => evaluate(&scorer, self.ds, SplitPart::Validation, Some(&self.val_users), &EvalOptions::default()),
            Protocol::NextBasket => evaluate_baskets(&scorer, self.ds, SplitPart::Validation, Some(&self.val_users), EvalOptions::default().batch_users).all.headline(),
        };
        self.validation_seconds = Some(tv.elapsed().as_secs_f64());
        let secs = t0.elapsed().as_secs_f64();
        self.seconds += secs;
        let entry = EpochLog { epoch, loss: loss_sum / batches.max(1) as f64, val_ndcg10: m.ndcg10, val_hr10: m.hr10, seconds: secs };
        let improved = m.ndcg10 > self.best_validation.ndcg10;
        let partial = if batches < n_batches { format!("  ({batches}/{n_batches} batches: time budget)") } else { String::new() };
        log(&format!(
            "epoch {:>3}  loss {:.4}  val NDCG@10 {:.4}  HR@10 {:.4}  {:.1}s{}{partial}",
            epoch, entry.loss, m.ndcg10, m.hr10, secs, if improved { "  *best" } else { "" }
        ));
        self.epochs.push(entry);
        if improved {
            let w = ModelWeights::from_encoder(&valid, &self.enc)?;
            (self.best_validation, self.best_epoch, self.seconds_to_best, self.bad) = (m, epoch, self.seconds, 0);
            on_best(&w, epoch, &m)?;
            self.best = Some(w);
        } else {
            self.bad += 1;
        }
        Ok(improved)
    }

    pub fn outcome(self) -> Result<TrainOutcome> {
        let stopped_by = if self.out_of_time {
            "time budget"
        } else if self.stopped() {
            "early stopping"
        } else {
            "epochs"
        };
        let weights = self.best.ok_or_else(|| ModelError::BadConfig("no epoch was trained (epochs = 0?)".into()))?;
        Ok(TrainOutcome {
            weights,
            best_epoch: self.best_epoch,
            best_validation: self.best_validation,
            epochs: self.epochs,
            seconds_to_best: self.seconds_to_best,
            total_seconds: self.seconds,
            stopped_by,
        })
    }
}
