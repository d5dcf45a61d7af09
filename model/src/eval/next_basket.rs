//! localrank's next-basket scorer, and the tuning of its blend and repeat parameters.
//!
//! Every item of the catalogue is scored as the engine scores a pool item: the engine's blend
//! formula ([`BlendWeights::score`]) over the parts the engine computes —
//! - intent: cos(model intent, item vector), the model reading the history before the basket;
//! - server: training popularity, min-max normalised over the catalogue (the reference
//!   candidate service's score, normalised as the engine normalises a pool's);
//! - affinity: the engine's category affinity of the recent history (`signals`);
//! - repeat: the engine's repeat part ([`RepeatProfile`], the whole history's purchases, at the
//!   basket's time); every item counts as a `repeat` item, as a grocery's pool marks them;
//! - neighbour: 0 (not tuned here: the co-occurrence part needs each item's list in the pool).
//!
//! The formulas live in `localrank_core`; this module only feeds them and searches weights.
//!
//! Tuning (validation baskets, chosen by NDCG@10 over the whole basket) is a coordinate search,
//! exact on each grid point: (1) server × affinity × repeat weight at the default repeat
//! parameters; (2) repeat weight × half-life × due mix at the chosen server and affinity
//! weights; (3) server × affinity again at the chosen repeat settings, and (2) once more if (3)
//! moved. The intent weight stays 1
//! (scaling all weights changes no order). The search is fast because only bought items have a
//! repeat part: per user and server/affinity point the top 20 of the never-bought items is
//! computed once, and each repeat setting only re-scores the shopper's bought items and merges.
use std::cmp::Ordering;

use localrank_core::pool::{CandidatePool, PoolInput};
use localrank_core::rank::{signals, BlendWeights, LearnedRepeat, RankSettings, RepeatParams, RepeatProfile, ScoreParts};
use localrank_core::StoredEvent;
use serde::{Deserialize, Serialize};

use super::basket::{top_n, BasketCase, SplitMetrics, SplitSum, TOP};
use super::repeat_fit::{fit_repeat_scorer, RepeatFitOptions};
use super::Scorer;
use crate::data::rebuy::rebuy_rates;
use crate::data::{Dataset, Event, SplitPart};
use crate::encoder::{l2_normalize, make_batch, IntentEncoder};
use crate::error::{ModelError, Result};
use crate::train::{history_row, Row};

/// The weights searched (relative to the intent's 1). The repeat part is in [0, 1] and the
/// intent a cosine in [-1, 1]: from "a due staple nudges" to "bought items strictly first".
pub const REPEAT_GRID: [f64; 17] = [0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.0, 10.0, 20.0, 50.0, 100.0];
pub const SERVER_GRID: [f64; 8] = [0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0];
pub const AFFINITY_GRID: [f64; 5] = [0.0, 0.05, 0.1, 0.2, 0.5];
pub const HALF_LIFE_GRID: [f64; 9] = [7.0, 14.0, 30.0, 60.0, 90.0, 120.0, 180.0, 240.0, 365.0];
pub const DUE_MIX_GRID: [f64; 6] = [0.0, 0.1, 0.25, 0.5, 0.75, 1.0];
pub const REBUY_MIX_GRID: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// What the scorer needs for a data set: each item's server part, and an empty pool through
/// which the engine's history resolution runs (categories come with the history events).
pub struct NextBasketSetup<'a> {
    ds: &'a Dataset,
    server: Vec<f32>,
    /// Each item's re-buy rate over the training events (what `export` ships with the item
    /// table and the candidate service puts in the pool as `rebuyRate`).
    rebuy: Vec<f32>,
    empty_pool: CandidatePool,
}

/// One user's history as the browser stores it (oldest first), the ranking time (the target
/// basket's), and the parts that do not depend on the model.
struct UserInputs {
    history: Vec<StoredEvent>,
    now_ms: f64,
    affinity: Vec<f32>,
}

impl<'a> NextBasketSetup<'a> {
    pub fn new(ds: &'a Dataset) -> Result<NextBasketSetup<'a>> {
        let pop = ds.train_popularity();
        let (lo, hi) = pop.iter().fold((u32::MAX, 0), |(l, h), &p| (l.min(p), h.max(p)));
        let server = pop.iter().map(|&p| if hi > lo { (p - lo) as f32 / (hi - lo) as f32 } else { 1.0 }).collect();
        let empty_pool = CandidatePool::from_input(PoolInput { model: None, dim: 1.0, items: Vec::new(), vectors: None })
            .map_err(|e| ModelError::BadConfig(format!("the engine rejected an empty pool: {e}")))?;
        Ok(NextBasketSetup { ds, server, rebuy: rebuy_rates(ds), empty_pool })
    }

    fn inputs(&self, user: usize, part: SplitPart) -> UserInputs {
        let ds = self.ds;
        let (hist, target) = ds.history_and_target(user, part);
        let history = ds.stored_history(hist);
        let steps = signals::resolve_steps(&self.empty_pool, &history, &|_| None, RankSettings::default().history_length);
        let by_category = signals::category_affinity(&steps);
        let affinity = ds.item_category.iter().map(|c| c.as_ref().and_then(|c| by_category.get(c)).copied().unwrap_or(0.0)).collect();
        UserInputs { history, now_ms: target.ts as f64 * 1000.0, affinity }
    }

    /// The repeat part of each of `items` (0 for items never bought): the rule with `params`,
    /// or the `learned` scorer.
    fn repeat_scores(&self, inputs: &UserInputs, items: &[u32], params: &RepeatParams, learned: Option<&LearnedRepeat>) -> Vec<f32> {
        let profile = RepeatProfile::from_history(&inputs.history);
        let scorer = profile.scorer(Some(inputs.now_ms), params, learned);
        items.iter().map(|&i| scorer.part(&self.ds.item_ids[i as usize], self.rebuy.get(i as usize).copied())).collect()
    }

    /// Fits the learned repeat scorer on the training baskets (None: too few repeats).
    pub fn fit_repeat_scorer(&self) -> Option<LearnedRepeat> {
        fit_repeat_scorer(self.ds, &RepeatFitOptions::default())
    }

    fn parts(&self, inputs: &UserInputs, intent: &[f32], item: usize, repeat: f32) -> ScoreParts {
        ScoreParts { intent: intent.get(item).copied().unwrap_or(0.0), server: self.server[item], affinity: inputs.affinity[item], neighbour: 0.0, repeat }
    }

    /// Every item's blended score for `users` on `part`; `intent` gives each user's cosine per
    /// item (None: no model, the intent part is 0).
    pub fn scores(&self, users: &[usize], part: SplitPart, intent: Option<&dyn Scorer>, w: BlendWeights, params: &RepeatParams, learned: Option<&LearnedRepeat>) -> Vec<Vec<f32>> {
        let intents = intent.map(|s| s.score(self.ds, users, part));
        let all: Vec<u32> = (0..self.ds.num_items() as u32).collect();
        users
            .iter()
            .enumerate()
            .map(|(k, &u)| {
                let inputs = self.inputs(u, part);
                let repeat = self.repeat_scores(&inputs, &all, params, learned);
                let intent = intents.as_ref().map_or(&[][..], |v| v[k].as_slice());
                (0..self.ds.num_items()).map(|i| w.score(&self.parts(&inputs, intent, i, repeat[i]))).collect()
            })
            .collect()
    }

    /// Next-basket metrics of the blend on `part`.
    pub fn evaluate(&self, part: SplitPart, intent: Option<&dyn Scorer>, w: BlendWeights, params: &RepeatParams, learned: Option<&LearnedRepeat>, batch: usize) -> SplitMetrics {
        let scorer = BlendScorer { setup: self, intent, w, params: *params, learned };
        super::basket::evaluate_baskets(&scorer, self.ds, part, None, batch)
    }

    /// Tunes the blend and repeat parameters on the validation baskets of every user; with
    /// `learned` (from [`Self::fit_repeat_scorer`]), that scorer competes with the rule's grid
    /// as one more repeat setting, and wins only if it scores higher on validation.
    pub fn tune(&self, intent: Option<&dyn Scorer>, learned: Option<&LearnedRepeat>, batch: usize) -> NextBasketTuning {
        let combos: Vec<(f64, f64)> = SERVER_GRID.iter().flat_map(|&s| AFFINITY_GRID.iter().map(move |&a| (s, a))).collect();
        let params: Vec<RepeatParams> = HALF_LIFE_GRID
            .iter()
            .flat_map(|&h| DUE_MIX_GRID.iter().flat_map(move |&d| REBUY_MIX_GRID.iter().map(move |&r| RepeatParams { half_life_days: h, due_mix: d, rebuy_mix: r })))
            .collect();
        // Repeat settings: each rule parameter set, then the learned scorer (if any) last.
        let rules: Vec<(RepeatParams, Option<&LearnedRepeat>)> = params.iter().map(|&p| (p, None)).chain(learned.map(|l| (RepeatParams::default(), Some(l)))).collect();
        let users: Vec<usize> = (0..self.ds.num_users()).collect();
        let mut cases = Vec::with_capacity(users.len());
        for chunk in users.chunks(batch.max(1)) {
            let intents = intent.map(|s| s.score(self.ds, chunk, SplitPart::Validation));
            for (k, &u) in chunk.iter().enumerate() {
                let intent = intents.as_ref().map_or(&[][..], |v| v[k].as_slice());
                cases.push(self.tune_case(u, intent, &combos, &rules));
            }
        }
        let point = |c: usize, r: f64, p: usize| {
            let (server, affinity) = combos[c];
            let w = BlendWeights { intent: 1.0, server, affinity, neighbour: 0.0, repeat: r };
            (validation_metrics(&cases, c, p, w).all.ndcg10, w, p)
        };
        let default_p = rules.iter().position(|r| r.0 == RepeatParams::default() && r.1.is_none()).unwrap_or(0);
        let mut points = 0;
        // Only a strictly better point replaces the incumbent, so ties keep the earlier
        // (smaller) weights.
        let better = |a: &(f64, BlendWeights, usize), b: &(f64, BlendWeights, usize)| a.0.partial_cmp(&b.0) == Some(Ordering::Greater);
        let mut best = point(0, 0.0, default_p);
        for c in 0..combos.len() {
            for &r in &REPEAT_GRID {
                points += 1;
                let p = point(c, r, default_p);
                if better(&p, &best) {
                    best = p;
                }
            }
        }
        let c_best = |w: &BlendWeights| combos.iter().position(|&(s, a)| s == w.server && a == w.affinity).unwrap_or(0);
        // (2) repeat weight × repeat parameters at the chosen server/affinity point, (3) that
        // point again at the chosen repeat settings, then (2) once more where (3) moved.
        let repeat_round = |best: &mut (f64, BlendWeights, usize), points: &mut usize| {
            let c = c_best(&best.1);
            for pi in 0..rules.len() {
                for &r in &REPEAT_GRID {
                    *points += 1;
                    let p = point(c, r, pi);
                    if better(&p, best) {
                        *best = p;
                    }
                }
            }
        };
        repeat_round(&mut best, &mut points);
        let (r, pi) = (best.1.repeat, best.2);
        let before = best.1;
        for c in 0..combos.len() {
            points += 1;
            let p = point(c, r, pi);
            if better(&p, &best) {
                best = p;
            }
        }
        if best.1 != before {
            repeat_round(&mut best, &mut points);
        }
        let (ndcg, blend, pi) = best;
        let defaults = BlendWeights { neighbour: 0.0, ..BlendWeights::default() };
        NextBasketTuning {
            blend,
            repeat: rules[pi].0,
            repeat_scorer: rules[pi].1.cloned(),
            repeat_part: if rules[pi].1.is_some() { "learned" } else { "rule" }.to_owned(),
            validation_tuned: ndcg,
            validation_default: validation_metrics(&cases, c_best(&defaults), default_p, defaults).all.ndcg10,
            validation_intent_only: point(0, 0.0, default_p).0,
            grid_points: points,
        }
    }

    /// One validation user's compressed parts: the bought items' parts (repeat 0) and their
    /// repeat part per parameter set, and per server/affinity point the top of the never-bought
    /// items (whose score no repeat setting changes).
    fn tune_case(&self, user: usize, intent: &[f32], combos: &[(f64, f64)], rules: &[(RepeatParams, Option<&LearnedRepeat>)]) -> TuneCase {
        let case = BasketCase::of(self.ds, user, SplitPart::Validation);
        let inputs = self.inputs(user, SplitPart::Validation);
        let bought_parts = case.bought.iter().map(|&i| self.parts(&inputs, intent, i as usize, 0.0)).collect();
        let repeat = rules.iter().map(|(p, l)| self.repeat_scores(&inputs, &case.bought, p, *l)).collect();
        let mut scores = vec![0f32; self.ds.num_items()];
        let lists = combos
            .iter()
            .map(|&(server, affinity)| {
                let w = BlendWeights { intent: 1.0, server, affinity, neighbour: 0.0, repeat: 0.0 };
                for (i, s) in scores.iter_mut().enumerate() {
                    *s = w.score(&self.parts(&inputs, intent, i, 0.0));
                }
                top_n(&scores, TOP, |i| case.bought(i)).into_iter().map(|i| (scores[i], i as u32)).collect()
            })
            .collect();
        TuneCase { case, bought_parts, repeat, lists }
    }
}

struct TuneCase {
    case: BasketCase,
    bought_parts: Vec<ScoreParts>,
    /// Per repeat parameter set, the repeat part of each bought item.
    repeat: Vec<Vec<f32>>,
    /// Per server/affinity point, the best never-bought items: (score, item), best first.
    lists: Vec<Vec<(f32, u32)>>,
}

/// Validation metrics of weights `w` (whose server and affinity weights are point `combo`) with
/// repeat parameter set `params`: the top of the full ranking is the best of the bought items
/// (re-scored) and the never-bought list.
fn validation_metrics(cases: &[TuneCase], combo: usize, params: usize, w: BlendWeights) -> SplitMetrics {
    let mut sum = SplitSum::default();
    let mut merged: Vec<(f32, u32)> = Vec::new();
    for t in cases {
        let list = &t.lists[combo];
        merged.clear();
        merged.extend(t.bought_parts.iter().zip(&t.repeat[params]).zip(&t.case.bought).map(|((p, &r), &i)| (w.score(&ScoreParts { repeat: r, ..*p }), i)));
        merged.extend_from_slice(list);
        // Highest score first, ties by the smaller item index (the full ranking's order).
        let order = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if merged.len() > TOP {
            merged.select_nth_unstable_by(TOP - 1, order);
            merged.truncate(TOP);
        }
        merged.sort_by(order);
        let full: Vec<usize> = merged.iter().map(|&(_, i)| i as usize).collect();
        sum.add(&t.case, &full, || list.iter().map(|&(_, i)| i as usize).collect());
    }
    sum.mean()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NextBasketTuning {
    pub blend: BlendWeights,
    /// The rule's parameters (the defaults when the learned scorer won).
    pub repeat: RepeatParams,
    /// The learned scorer, when it beat the rule on validation (its weights go to model.json,
    /// not into the report).
    #[serde(skip)]
    pub repeat_scorer: Option<LearnedRepeat>,
    /// "learned" or "rule": which gave the repeat part (the report's record of the above).
    #[serde(default)]
    pub repeat_part: String,
    #[serde(rename = "validation_ndcg@10_tuned")]
    pub validation_tuned: f64,
    /// The engine's built-in weights and repeat rule (neighbour part off).
    #[serde(rename = "validation_ndcg@10_default_weights")]
    pub validation_default: f64,
    #[serde(rename = "validation_ndcg@10_intent_only")]
    pub validation_intent_only: f64,
    pub grid_points: usize,
}

/// The blend as a [`Scorer`], for the shared evaluation code.
pub struct BlendScorer<'s, 'a> {
    pub setup: &'s NextBasketSetup<'a>,
    pub intent: Option<&'s dyn Scorer>,
    pub w: BlendWeights,
    pub params: RepeatParams,
    pub learned: Option<&'s LearnedRepeat>,
}

impl Scorer for BlendScorer<'_, '_> {
    fn score(&self, _ds: &Dataset, users: &[usize], part: SplitPart) -> Vec<Vec<f32>> {
        self.setup.scores(users, part, self.intent, self.w, &self.params, self.learned)
    }
}

/// A model trained on another item set (the leave-one-out model: first purchases only),
/// scoring this data: history events of items it does not know are left out, and items it
/// does not know are not recommended (−∞).
pub struct ForeignModelScorer<'a> {
    pub model: &'a IntentEncoder,
    pub max_len: usize,
    pub device: burn::tensor::Device,
    /// This data's item index → the model's, where the model knows the item.
    pub to_model: Vec<Option<u32>>,
}

impl<'a> ForeignModelScorer<'a> {
    pub fn new(model: &'a IntentEncoder, max_len: usize, device: burn::tensor::Device, model_ids: &[String], ds: &Dataset) -> ForeignModelScorer<'a> {
        let index: std::collections::HashMap<&str, u32> = model_ids.iter().enumerate().map(|(i, id)| (id.as_str(), i as u32)).collect();
        let to_model = ds.item_ids.iter().map(|id| index.get(id.as_str()).copied()).collect();
        ForeignModelScorer { model, max_len, device, to_model }
    }

    /// Share of this data's items the model knows.
    pub fn coverage(&self) -> f64 {
        self.to_model.iter().filter(|m| m.is_some()).count() as f64 / self.to_model.len().max(1) as f64
    }
}

impl Scorer for ForeignModelScorer<'_> {
    fn score(&self, ds: &Dataset, users: &[usize], part: SplitPart) -> Vec<Vec<f32>> {
        let rows: Vec<Row> = users
            .iter()
            .map(|&u| {
                let (hist, target) = ds.history_and_target(u, part);
                // As the engine does: the window over every event, then the events the model
                // has no vector for dropped.
                let window = &hist[hist.len() - self.model.window_len(hist.len())..];
                let mapped: Vec<Event> = window.iter().filter_map(|e| self.to_model[e.item as usize].map(|item| Event { item, ..*e })).collect();
                history_row(&mapped, target.ts, mapped.len())
            })
            .collect();
        let known: Vec<usize> = (0..rows.len()).filter(|&k| !rows[k].0.is_empty()).collect();
        let mut out = vec![vec![f32::NEG_INFINITY; ds.num_items()]; users.len()];
        if known.is_empty() {
            return out;
        }
        let batch_rows: Vec<Row> = known.iter().map(|&k| rows[k].clone()).collect();
        let len = batch_rows.iter().map(|r| r.0.len()).max().unwrap_or(1).max(1);
        let intents = l2_normalize(self.model.intents(&make_batch(&batch_rows, len), &self.device));
        let scores = intents.matmul(self.model.item_table().transpose());
        let n = scores.dims()[1];
        // Built from f32 tensors on this device, so it always reads back as f32.
        let flat: Vec<f32> = scores.into_data().try_into_vec::<f32>().unwrap_or_default();
        for (row, &k) in flat.chunks(n.max(1)).zip(&known) {
            for (i, m) in self.to_model.iter().enumerate() {
                if let Some(m) = m {
                    out[k][i] = row[*m as usize];
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Protocol;
    use localrank_core::EventKind;

    /// Three users, four baskets each, over items a..e: each user buys "a" in every basket and
    /// one other item, so the repeat part should find "a".
    fn toy() -> Dataset {
        let ids: Vec<String> = ["a", "b", "c", "d", "e"].iter().map(|s| s.to_string()).collect();
        let purchase = EventKind::Purchase.index() as u8;
        let mut sequences = Vec::new();
        let mut starts = Vec::new();
        for u in 0..3u32 {
            let mut seq = Vec::new();
            let mut st = Vec::new();
            for b in 0..4u32 {
                st.push(seq.len() as u32);
                let ts = i64::from(b) * 7 * 86_400;
                seq.push(Event { item: 0, kind: purchase, ts });
                seq.push(Event { item: 1 + (u + b) % 4, kind: purchase, ts });
            }
            sequences.push(seq);
            starts.push(st);
        }
        let ds = Dataset {
            name: "toy".into(),
            item_category: vec![None; 5],
            item_price: vec![None; 5],
            user_ids: vec!["u0".into(), "u1".into(), "u2".into()],
            item_ids: ids,
            sequences,
            notes: vec![],
            basket_starts: starts,
            item_text: vec![],
            catalogue_text: vec![],
        };
        assert_eq!(ds.protocol(), Protocol::NextBasket);
        ds.validate().expect("valid toy");
        ds
    }

    #[test]
    fn the_repeat_part_finds_the_staple_and_tuning_matches_the_dense_scores() {
        let ds = toy();
        let setup = NextBasketSetup::new(&ds).expect("setup");
        let w = BlendWeights { intent: 1.0, server: 0.0, affinity: 0.0, neighbour: 0.0, repeat: 1.0 };
        let params = RepeatParams::default();
        let scores = setup.scores(&[0], SplitPart::Test, None, w, &params, None);
        assert_eq!(top_n(&scores[0], 1, |_| false), vec![0], "the weekly staple ranks first: {:?}", scores[0]);
        assert!(scores[0][0] > 0.0 && scores[0][0] <= 1.0);
        let t = setup.tune(None, None, 2);
        // The tuned point's validation NDCG@10 from the compressed search equals the dense
        // scorer's on the same weights.
        let dense = setup.evaluate(SplitPart::Validation, None, t.blend, &t.repeat, t.repeat_scorer.as_ref(), 2);
        assert!((dense.all.ndcg10 - t.validation_tuned).abs() < 1e-12, "{} vs {}", dense.all.ndcg10, t.validation_tuned);
        assert!(t.validation_tuned >= t.validation_default && t.validation_tuned >= t.validation_intent_only, "{t:?}");
        assert!(t.grid_points > REPEAT_GRID.len());
        // A learned scorer competes as one more repeat setting; whichever wins, the compressed
        // search and the dense scorer agree on it.
        let n = localrank_core::rank::REPEAT_FEATURES.len();
        let mut linear = vec![0.0; n];
        linear[2] = 2.0; // purchases_log: the staple first
        let learned = LearnedRepeat {
            features: localrank_core::rank::REPEAT_FEATURES.iter().map(|s| (*s).to_owned()).collect(),
            mean: vec![0.0; n],
            scale: vec![1.0; n],
            hidden: vec![],
            hidden_bias: vec![],
            output: vec![],
            linear,
            bias: -1.0,
        };
        let scores = setup.scores(&[0], SplitPart::Test, None, w, &params, Some(&learned));
        assert_eq!(top_n(&scores[0], 1, |_| false), vec![0], "the learned scorer also puts the staple first: {:?}", scores[0]);
        let t = setup.tune(None, Some(&learned), 2);
        let dense = setup.evaluate(SplitPart::Validation, None, t.blend, &t.repeat, t.repeat_scorer.as_ref(), 2);
        assert!((dense.all.ndcg10 - t.validation_tuned).abs() < 1e-12, "{} vs {}", dense.all.ndcg10, t.validation_tuned);
    }

    #[test]
    fn rebuy_rates_count_later_occasions_over_training_baskets_only() {
        // Training baskets: the first two of each user. "a": 3 buyers, all came back; b..e:
        // 1, 2, 2, 1 buyers, none came back (their repeats are in the held-out baskets).
        // Catalogue-wide 3 of 9; each rate is blended with PRIOR_BUYERS of it.
        let rates = rebuy_rates(&toy());
        let prior = crate::data::rebuy::PRIOR_BUYERS;
        let expect = |repeaters: f64, buyers: f64| ((repeaters + prior / 3.0) / (buyers + prior)) as f32;
        assert_eq!(rates, vec![expect(3.0, 3.0), expect(0.0, 1.0), expect(0.0, 2.0), expect(0.0, 2.0), expect(0.0, 1.0)]);
        // What the repeat scorer's fit may know: counting before the last 0 training baskets is
        // all of them; before the last 1, only each user's first basket, where nothing was
        // bought again yet.
        use crate::data::rebuy::rebuy_rates_before_last_baskets;
        assert_eq!(rebuy_rates_before_last_baskets(&toy(), 0), rates);
        assert!(rebuy_rates_before_last_baskets(&toy(), 1).iter().all(|&r| r == 0.0));
    }
}
