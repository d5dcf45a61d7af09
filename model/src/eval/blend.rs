//! Tuning the engine's blend weights for a trained model, on the homepage-pool protocol.
//!
//! The browser ranks a pool by `w_intent·cos(intent, item) + w_server·server + w_affinity·
//! category affinity` (the engine's `localrank_core::rank`). How much to trust the model against
//! the server's popularity score and the shopper's category affinity depends on the model and
//! the catalogue, so `localrank eval` picks the weights on the validation split and writes
//! them into model.json (`blend`), where the engine reads them.
//!
//! Every number here comes from the engine's own entry point (`localrank_core::rank::
//! rank_for_shopper`, the one the browser calls) running the exported model on the engine's CPU
//! forward pass (equal to burn's within 4e-6, tests/engine_parity): each user's score parts
//! once, then a grid over the weights on those parts with the engine's own blend formula
//! (`BlendWeights::score`, pure relevance order, λ = 1), then the full engine — MMR and slot
//! rules included — with the chosen weights.
use std::collections::HashMap;

use futures::executor::block_on;
use localrank_core::gpu::ModelRuntime;
use localrank_core::pool::{CandidatePool, NeighboursInput, PoolInput, PoolItemInput, VectorInput};
use localrank_core::rank::{self, BlendWeights, BlendWeightsInput, RankSettings, ScoreParts, ShopperModel};
use localrank_core::{EventKind, StoredEvent};
use serde::{Deserialize, Serialize};

use super::metrics::{Metrics, MetricsSum, DEEPEST_CUTOFF};
use crate::data::{Dataset, SplitPart};
use crate::error::{ModelError, Result};

/// A rank beyond every cut-off: the target is not in the pool.
const MISS: usize = usize::MAX / 2;

/// The server's non-personal homepage pool: the `size` most popular training items, most
/// popular first (ties by item index). Its score is the training popularity count, as the
/// reference candidate service sends it.
pub fn popular_pool(ds: &Dataset, size: usize) -> Vec<usize> {
    let pop = ds.train_popularity();
    let mut by_pop: Vec<usize> = (0..ds.num_items()).collect();
    by_pop.sort_by(|&a, &b| pop[b].cmp(&pop[a]).then(a.cmp(&b)));
    by_pop.truncate(size);
    by_pop
}

/// What the engine needs to rank for one data set: the pool as a `CandidatePool` and every
/// item's vector (the engine's cache of vectors seen earlier, for history items not in the pool).
pub struct HomepageSetup<'a> {
    ds: &'a Dataset,
    /// Dataset item index of each pool position.
    pool_items: Vec<usize>,
    pool: CandidatePool,
    vectors: &'a [f32],
    dim: usize,
    index: HashMap<&'a str, usize>,
    /// Dataset item index → pool position.
    position: HashMap<usize, usize>,
}

impl<'a> HomepageSetup<'a> {
    /// `vectors`: the item-vector table, row-major `[num_items, dim]` (what export ships).
    /// `neighbours`: each item's co-occurrence neighbours (what export ships with it, see
    /// `baselines::cooccurrence_neighbours`); with them every pool item carries its list, as
    /// the candidate service sends it, and the engine's neighbour part is co-occurrence; without
    /// them it is the cosine of item vectors.
    pub fn new(ds: &'a Dataset, vectors: &'a [f32], dim: usize, pool_size: usize, neighbours: Option<&[Vec<(u32, f32)>]>) -> Result<HomepageSetup<'a>> {
        if dim == 0 || vectors.len() != ds.num_items() * dim {
            return Err(ModelError::BadConfig(format!("item vectors hold {} values; {} items × dim {dim} expected", vectors.len(), ds.num_items())));
        }
        let pop = ds.train_popularity();
        // The engine takes at most MAX_POOL_ITEMS candidates; a homepage pool is far smaller.
        let pool_items = popular_pool(ds, pool_size.min(localrank_core::pool::MAX_POOL_ITEMS));
        let input = PoolInput {
            model: None,
            dim: dim as f64,
            items: pool_items
                .iter()
                .map(|&i| PoolItemInput {
                    id: ds.item_ids[i].clone(),
                    vector: Some(VectorInput::Values(vectors[i * dim..(i + 1) * dim].to_vec())),
                    score: Some(f64::from(pop[i])),
                    category: ds.item_category[i].clone(),
                    text: None,
                    price: None,
                    pinned: None,
                    sponsored: None,
                    available: None,
                    repeat: None,
                    rebuy_rate: None,
                    neighbours: neighbours.map(|lists| NeighboursInput {
                        ids: lists[i].iter().map(|&(j, _)| ds.item_ids[j as usize].clone()).collect(),
                        weights: lists[i].iter().map(|&(_, w)| w).collect(),
                    }),
                })
                .collect(),
            vectors: None,
        };
        let pool = CandidatePool::from_input(input).map_err(|e| ModelError::BadConfig(format!("the homepage pool is not valid for the engine: {e}")))?;
        let index = ds.item_ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
        let position = pool_items.iter().enumerate().map(|(p, &i)| (i, p)).collect();
        Ok(HomepageSetup { ds, pool_items, pool, vectors, dim, index, position })
    }

    pub fn pool_size(&self) -> usize {
        self.pool_items.len()
    }

    /// The user's history as the browser would have stored it (oldest first).
    fn history(&self, user: usize, part: SplitPart) -> Vec<StoredEvent> {
        let (hist, _) = self.ds.history_and_target(user, part);
        hist.iter()
            .enumerate()
            .map(|(seq, e)| StoredEvent {
                // As the browser stores it: seqs count from 1.
                seq: seq as u32 + 1,
                // The model crate's kind index is the format's vocabulary order, the engine's too
                // (model.json's event_kinds are checked equal at load).
                kind: EventKind::ALL.get(usize::from(e.kind)).copied().unwrap_or(EventKind::View),
                item: Some(self.ds.item_ids[e.item as usize].clone()),
                query: None,
                timestamp: e.ts as f64 * 1000.0,
                category: self.ds.item_category[e.item as usize].clone(),
                price: None,
            })
            .collect()
    }

    /// Pool positions of the user's history items (dropped from both orders by the protocol)
    /// and of the target, if it is in the pool.
    fn excluded_and_target(&self, user: usize, part: SplitPart) -> (Vec<bool>, Option<usize>) {
        let (hist, target) = self.ds.history_and_target(user, part);
        let mut excluded = vec![false; self.pool_items.len()];
        for e in hist {
            if let Some(&p) = self.position.get(&(e.item as usize)) {
                excluded[p] = true;
            }
        }
        let target = self.position.get(&(target.item as usize)).copied();
        if let Some(t) = target {
            excluded[t] = false;
        }
        (excluded, target)
    }

    /// The engine's ranking of the pool for one user, its model computing the intent at the
    /// target's time (where the browser would rank). The user's own history items are marked
    /// unavailable, so the engine drops them before MMR picks the first screen: the protocol
    /// removes them from the list, and diversifying against items nobody sees would distort
    /// the order that is measured.
    fn rank(&mut self, user: usize, part: SplitPart, model: &ModelRuntime, excluded: &[bool], settings: &RankSettings) -> Result<rank::Ranking> {
        let history = self.history(user, part);
        let (_, target) = self.ds.history_and_target(user, part);
        let (index, vectors, dim, ds) = (&self.index, self.vectors, self.dim, self.ds);
        let lookup = |id: &str| index.get(id).map(|&i| (&vectors[i * dim..(i + 1) * dim], ds.item_category[i].as_deref()));
        // The user's history items are switched off in the one shared pool and back on after:
        // cloning a whole-catalogue pool (ids, vectors, neighbour lists) for every user cost
        // more than ranking it.
        let dropped: Vec<usize> = excluded.iter().enumerate().filter(|&(p, &out)| out && self.pool.items[p].available).map(|(p, _)| p).collect();
        for &p in &dropped {
            self.pool.items[p].available = false;
        }
        let model = ShopperModel { runtime: model, now_ms: target.ts as f64 * 1000.0 };
        let mut failure = None;
        let ranking = block_on(rank::rank_for_shopper(&self.pool, &history, &lookup, Some(model), settings, &mut |e| failure = Some(e)));
        for &p in &dropped {
            self.pool.items[p].available = true;
        }
        match failure {
            Some(e) => Err(ModelError::BadWeights(format!("the engine could not run the model for user {user}: {e}"))),
            None => Ok(ranking),
        }
    }

    /// Each user's score parts for every pool item, as the engine computes them.
    pub fn cases(&mut self, part: SplitPart, users: &[usize], model: &ModelRuntime) -> Result<Vec<UserCase>> {
        let settings = RankSettings { explain: false, lambda: 1.0, all_parts: true, ..RankSettings::default() };
        users
            .iter()
            .map(|&u| {
                let (excluded, target) = self.excluded_and_target(u, part);
                let mut parts = vec![ScoreParts { intent: 0.0, server: 0.0, affinity: 0.0, neighbour: 0.0, repeat: 0.0 }; self.pool_items.len()];
                let ranking = self.rank(u, part, model, &excluded, &settings)?;
                if ranking.personalized {
                    for item in &ranking.items {
                        if let Some(p) = self.pool.position(&item.id) {
                            parts[p] = item.parts;
                        }
                    }
                }
                Ok(UserCase { parts, excluded, target })
            })
            .collect()
    }

    /// NDCG@10 etc. of the full engine's order (MMR and slot rules included) with `blend`.
    pub fn engine_metrics(&mut self, part: SplitPart, users: &[usize], model: &ModelRuntime, blend: BlendWeights, lambda: f32) -> Result<Metrics> {
        // The weights under test are the call's own, over whatever model.json holds.
        let weight_overrides =
            BlendWeightsInput { intent: Some(blend.intent), server: Some(blend.server), affinity: Some(blend.affinity), neighbour: Some(blend.neighbour), repeat: Some(blend.repeat) };
        let settings = RankSettings { explain: false, lambda, weight_overrides, ..RankSettings::default() };
        let mut sum = MetricsSum::default();
        for &u in users {
            let (excluded, target) = self.excluded_and_target(u, part);
            let Some(target) = target else {
                sum.add_rank(MISS);
                continue;
            };
            let ranking = self.rank(u, part, model, &excluded, &settings)?;
            let target_id = self.ds.item_ids[self.pool_items[target]].as_str();
            // History items were dropped by the engine (unavailable), so the order is the list.
            let rank = ranking.order.iter().position(|id| id == target_id).unwrap_or(MISS);
            sum.add_rank(rank);
        }
        Ok(sum.mean())
    }
}

/// One user's engine score parts per pool position.
pub struct UserCase {
    parts: Vec<ScoreParts>,
    excluded: Vec<bool>,
    target: Option<usize>,
}

/// Metrics of ranking every case by the blended score (pure relevance order).
pub fn blended_metrics(cases: &[UserCase], w: BlendWeights) -> Metrics {
    let mut sum = MetricsSum::default();
    for case in cases {
        let Some(target) = case.target else {
            sum.add_rank(MISS);
            continue;
        };
        sum.add_rank(blended_rank(case, target, w));
    }
    sum.mean()
}

/// The target's rank under `w`, with `rank_of`'s tie-break, counted only up to the deepest
/// metric cut-off: a target ranked below it is found out after scanning a small share of a
/// large catalogue, which is what makes a grid over full-catalogue cases affordable.
fn blended_rank(case: &UserCase, target: usize, w: BlendWeights) -> usize {
    let target_score = w.score(&case.parts[target]);
    let mut rank = 0;
    for (i, (p, &out)) in case.parts.iter().zip(&case.excluded).enumerate() {
        if i == target || out {
            continue;
        }
        let s = w.score(p);
        if s > target_score || (s == target_score && i < target) {
            rank += 1;
            if rank >= DEEPEST_CUTOFF {
                break;
            }
        }
    }
    rank
}

/// The weights searched. The intent weight stays 1: scaling all of them changes no order, so
/// the others are relative to it. The neighbour grid reaches 64 so that a log where item-kNN
/// beats the model can all but switch the intent off, whichever similarity the part uses:
/// co-occurrence similarities averaged over the recent items are often a few hundredths.
pub const SERVER_GRID: [f64; 12] = [0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0];
pub const AFFINITY_GRID: [f64; 11] = [0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0];
pub const NEIGHBOUR_GRID: [f64; 11] = [0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BlendTuning {
    pub tuned: BlendWeights,
    #[serde(rename = "validation_ndcg@10_tuned")]
    pub validation_tuned: f64,
    #[serde(rename = "validation_ndcg@10_default_weights")]
    pub validation_default: f64,
    #[serde(rename = "validation_ndcg@10_server_order")]
    pub validation_server: f64,
    pub grid_points: usize,
}

/// The grid point with the best validation NDCG@10. Only a strictly better point replaces the
/// built-in defaults, so when nothing separates the weights (no validation target in the pool,
/// a tiny data set) the defaults stay; among equally good grid points the first wins (smallest
/// neighbour weight, then smallest server weight, then smallest affinity).
pub fn tune(cases: &[UserCase]) -> BlendTuning {
    let defaults = BlendWeights::default();
    let validation_default = blended_metrics(cases, defaults).ndcg10;
    let (mut tuned, mut validation_tuned) = (defaults, validation_default);
    let mut points = 0;
    for &neighbour in &NEIGHBOUR_GRID {
        for &server in &SERVER_GRID {
            for &affinity in &AFFINITY_GRID {
                points += 1;
                // The repeat part is 0 on this protocol (history items are dropped): its weight
                // keeps the default, for the next-basket protocol to tune.
                let w = BlendWeights { intent: 1.0, server, affinity, neighbour, repeat: defaults.repeat };
                let ndcg = blended_metrics(cases, w).ndcg10;
                if ndcg > validation_tuned {
                    (tuned, validation_tuned) = (w, ndcg);
                }
            }
        }
    }
    BlendTuning {
        tuned,
        validation_tuned,
        validation_default,
        // Server weight alone: the pool order (popularity), history items dropped.
        validation_server: blended_metrics(cases, BlendWeights { intent: 0.0, server: 1.0, affinity: 0.0, neighbour: 0.0, repeat: 0.0 }).ndcg10,
        grid_points: points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(parts: Vec<[f32; 3]>, target: usize) -> UserCase {
        let n = parts.len();
        UserCase { parts: parts.into_iter().map(sp).collect(), excluded: vec![false; n], target: Some(target) }
    }

    fn sp([intent, server, affinity]: [f32; 3]) -> ScoreParts {
        ScoreParts { intent, server, affinity, neighbour: 0.0, repeat: 0.0 }
    }

    #[test]
    fn blended_metrics_rank_by_the_weighted_sum() {
        // Item 1 wins on intent, item 0 on the server score.
        let cases = [case(vec![[0.1, 1.0, 0.0], [0.9, 0.0, 0.0]], 1)];
        assert_eq!(blended_metrics(&cases, BlendWeights { intent: 1.0, server: 0.0, affinity: 0.0, neighbour: 0.0, repeat: 0.0 }).hr10, 1.0);
        let m = blended_metrics(&cases, BlendWeights { intent: 1.0, server: 0.0, affinity: 0.0, neighbour: 0.0, repeat: 0.0 });
        assert!((m.ndcg10 - 1.0).abs() < 1e-12, "target first");
        let m = blended_metrics(&cases, BlendWeights { intent: 1.0, server: 3.0, affinity: 0.0, neighbour: 0.0, repeat: 0.0 });
        assert!((m.ndcg10 - 1.0 / 3f64.log2()).abs() < 1e-12, "target second");
        let missing = [UserCase { parts: vec![sp([0.0; 3])], excluded: vec![false], target: None }];
        assert_eq!(blended_metrics(&missing, BlendWeights::default()).hr20, 0.0);
    }

    #[test]
    fn the_capped_rank_equals_the_full_rank_up_to_the_deepest_cutoff() {
        // A deterministic spread of scores with ties and exclusions: wherever the full rank is
        // inside the deepest cut-off the capped search agrees, and beyond it both are misses.
        let n = 300;
        let parts: Vec<[f32; 3]> = (0..n).map(|i| [((i * 37) % 101) as f32 / 100.0, ((i * 11) % 7) as f32 / 7.0, (i % 3) as f32]).collect();
        let w = BlendWeights { intent: 1.0, server: 0.5, affinity: 0.1, neighbour: 0.0, repeat: 0.0 };
        for target in [0, 5, 77, 150, 299] {
            let mut c = case(parts.clone(), target);
            for (i, e) in c.excluded.iter_mut().enumerate() {
                *e = i % 13 == 0 && i != target;
            }
            let scores: Vec<f32> = c.parts.iter().map(|p| w.score(p)).collect();
            let full = super::super::metrics::rank_of(&scores, target, &c.excluded);
            let capped = blended_rank(&c, target, w);
            assert_eq!(capped, full.min(DEEPEST_CUTOFF), "target {target}");
        }
    }

    #[test]
    fn when_nothing_separates_the_weights_the_defaults_stay() {
        let missing: Vec<UserCase> = (0..5).map(|_| UserCase { parts: vec![sp([0.5, 1.0, 0.0]); 3], excluded: vec![false; 3], target: None }).collect();
        assert_eq!(tune(&missing).tuned, BlendWeights::default());
        let all_tied = [case(vec![[0.5, 1.0, 1.0], [0.5, 1.0, 1.0]], 0)];
        assert_eq!(tune(&all_tied).tuned, BlendWeights::default());
    }

    #[test]
    fn tuning_finds_the_weights_that_separate_the_targets() {
        // Targets that only category affinity finds: the best grid point needs affinity > 0
        // and must beat the server order.
        let cases: Vec<UserCase> = (0..20)
            .map(|k| {
                let target = k % 4;
                let parts = (0..4).map(|i| [0.0, 1.0 - i as f32 / 4.0, if i == target { 1.0 } else { 0.0 }]).collect();
                case(parts, target)
            })
            .collect();
        let t = tune(&cases);
        assert!(t.tuned.affinity > 0.0, "{t:?}");
        assert!((t.validation_tuned - 1.0).abs() < 1e-12, "{t:?}");
        assert!(t.validation_server < t.validation_tuned);
        assert_eq!(t.grid_points, SERVER_GRID.len() * AFFINITY_GRID.len() * NEIGHBOUR_GRID.len());
    }
}
