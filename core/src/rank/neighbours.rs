//! The shopper's recent history items as neighbours of each candidate: the on-device item-kNN
//! part of the score, and the "because you viewed …" explanations. Both compare a candidate
//! with the same few recent items, so both use one list of them.
//!
//! Why a neighbour part beside the intent: the intent is one vector, a summary of the whole
//! recent history; a candidate very like one item the shopper looked at (but unlike the rest)
//! scores middling against it. item-kNN — sum of similarities to each history item — catches
//! exactly those, and on small logs it is the baseline to beat.
//!
//! Two similarities, chosen per pool:
//! - **co-occurrence** (when any pool item carries `neighbours`): the similarity item-kNN
//!   itself uses — the cosine of the two items' shopper sets in the training log, computed by
//!   the trainer (`localrank_model::baselines::item_knn`) and sent by the candidate service as
//!   each candidate's top-K list. A history item that is not on the candidate's list counts 0.
//! - **cosine of item vectors** (pools without lists): the public vectors the engine already
//!   has, so it needs no extra download.
//!
//! One pool uses one of them for every item: the two live on different scales (vector cosines
//! of related items are typically 0.3–0.9, co-occurrence similarities 0.01–0.3), so mixing
//! them would rank a list-less item against the others by the scale, not the similarity.

use super::score;
use crate::model::linear_rows;
use super::signals::{kind_weight, HistoryStep, RECENCY_DECAY};
use crate::history::EventKind;
use crate::pool::CandidatePool;

/// How many distinct recent history items count as neighbours (and may be named as reasons).
pub const SOURCES: usize = 20;
/// Below this similarity an item is not "like" the history item, and no reason is given.
const EXPLAIN_MIN_COSINE: f32 = 0.3;

struct Source<'a> {
    id: &'a str,
    kind: EventKind,
    /// Kind weight × recency (the step's weight); the strongest occurrence of the item.
    weight: f32,
    /// The unit-length item vector; `None` for an item without one (co-occurrence only).
    unit: Option<Vec<f32>>,
}

/// How many distinct recent searches may be named as reasons.
const SEARCH_SOURCES: usize = 5;

/// The most recent distinct history items (that have a vector, when `need_vector`), newest first.
pub struct HistoryNeighbours<'a> {
    sources: Vec<Source<'a>>,
    /// The most recent distinct searches the text tower embedded (`id` is the query), newest
    /// first. They explain ("because you searched …") but add nothing to the neighbour part:
    /// that part is item-kNN, and a query is not an item.
    searches: Vec<Source<'a>>,
}

impl<'a> HistoryNeighbours<'a> {
    /// `need_vector`: only items with a vector count (the cosine variant); the co-occurrence
    /// variant needs only the item's id.
    pub fn new(steps: &[HistoryStep<'a>], need_vector: bool) -> Self {
        let mut sources: Vec<Source<'a>> = Vec::new();
        let mut searches: Vec<Source<'a>> = Vec::new();
        for (back, step) in steps.iter().rev().enumerate() {
            if let (Some(query), Some(vector), EventKind::Search) = (step.event.query.as_deref(), step.vector, step.event.kind) {
                if searches.len() < SEARCH_SOURCES && !searches.iter().any(|s| s.id == query) {
                    // A search's kind weight is 0 (it adds nothing to the item parts); as a
                    // reason it counts like a click, the explicit interest it is, with the
                    // same recency decay as every step.
                    let weight = kind_weight(EventKind::Click) * RECENCY_DECAY.powi(back as i32);
                    let norm = score::norm(vector).max(score::NORM_EPSILON);
                    searches.push(Source { id: query, kind: EventKind::Search, weight, unit: Some(vector.iter().map(|x| x / norm).collect()) });
                }
                continue;
            }
            let Some(id) = step.event.item.as_deref() else { continue };
            if need_vector && step.vector.is_none() {
                continue;
            }
            if let Some(existing) = sources.iter_mut().find(|s| s.id == id) {
                // The same item seen again: keep its strongest kind (a purchase beats a view).
                if step.weight > existing.weight {
                    existing.kind = step.event.kind;
                    existing.weight = step.weight;
                }
                continue;
            }
            if sources.len() == SOURCES || step.weight <= 0.0 {
                continue;
            }
            let unit = step.vector.map(|vector| {
                let norm = score::norm(vector).max(score::NORM_EPSILON);
                vector.iter().map(|x| x / norm).collect()
            });
            sources.push(Source { id, kind: step.event.kind, weight: step.weight, unit });
        }
        HistoryNeighbours { sources, searches }
    }

    /// Per candidate, Σ weight·max(0, cos) / Σ weight over the history items other than the
    /// candidate itself: in [0, 1], 1 when it points exactly along every recent item. Negative
    /// similarity counts as none, as item-kNN's co-occurrence similarity cannot be negative.
    pub fn scores(&self, pool: &CandidatePool) -> Vec<f32> {
        let total: f32 = self.sources.iter().map(|s| s.weight).sum();
        if total <= 0.0 || pool.is_empty() {
            return vec![0.0; pool.len()];
        }
        // All candidate × source dot products as one matrix product through the forward pass's
        // register-tiled kernel: [pool, dim] · [dim, sources]. Sources are padded to a multiple
        // of 8 columns (the kernel's tile width) with zero vectors.
        let (d, k) = (pool.dim, self.sources.len().div_ceil(8) * 8);
        let mut units = vec![0.0f32; d * k];
        for (j, s) in self.sources.iter().enumerate() {
            // Sources without a vector (co-occurrence only) stay a zero column and are skipped.
            for (i, x) in s.unit.as_deref().unwrap_or(&[]).iter().enumerate().take(d) {
                units[i * k + j] = *x;
            }
        }
        let mut dots = vec![0.0f32; pool.len() * k];
        linear_rows(&pool.vectors, d, &units, &vec![0.0; k], &mut dots, k, false);
        (0..pool.len())
            .map(|i| {
                let norm = pool.norm(i).max(score::NORM_EPSILON);
                let id = pool.items[i].id.as_str();
                let (mut sum, mut weights) = (0.0f32, 0.0f32);
                for (s, dot) in self.sources.iter().zip(&dots[i * k..]) {
                    if s.id == id || s.unit.is_none() {
                        continue;
                    }
                    weights += s.weight;
                    sum += s.weight * (dot / norm).max(0.0);
                }
                if weights > 0.0 { sum / weights } else { 0.0 }
            })
            .collect()
    }

    /// The co-occurrence variant: per candidate, Σ weight·sim / Σ weight over the history items
    /// other than the candidate itself, sim read from the candidate's `neighbours` list (0 for
    /// a history item not on it, and for every item of a candidate without a list). In [0, 1]
    /// as the similarities are; the same weights and normalisation as [`Self::scores`].
    pub fn cooccurrence_scores(&self, pool: &CandidatePool) -> Vec<f32> {
        let total: f32 = self.sources.iter().map(|s| s.weight).sum();
        if total <= 0.0 {
            return vec![0.0; pool.len()];
        }
        // Sources are distinct and at most SOURCES: a scan beats hashing for each list entry.
        pool.items
            .iter()
            .map(|c| {
                let Some(list) = &c.neighbours else { return 0.0 };
                let own = self.sources.iter().find(|s| s.id == c.id).map_or(0.0, |s| s.weight);
                let weights = total - own;
                if weights <= 0.0 {
                    return 0.0;
                }
                let sum: f32 = list
                    .iter()
                    .filter(|(id, _)| *id != c.id)
                    .filter_map(|(id, sim)| self.sources.iter().find(|s| s.id == id).map(|s| s.weight * sim))
                    .sum();
                sum / weights
            })
            .collect()
    }

    /// The history item on the candidate's co-occurrence list (`list`: id, similarity) whose
    /// weighted similarity is largest: "because you bought X", X being bought by the same
    /// shoppers. None when no recent history item is on the list.
    pub fn explain_listed(&self, candidate_id: &str, list: &[(String, f32)]) -> Option<(String, EventKind)> {
        let mut best: Option<(usize, f32)> = None;
        for (k, s) in self.sources.iter().enumerate() {
            if s.id == candidate_id {
                continue;
            }
            let Some(sim) = list.iter().find(|(id, _)| id == s.id).map(|&(_, sim)| sim).filter(|&sim| sim > 0.0) else { continue };
            let contribution = s.weight * sim;
            if best.is_none_or(|(_, c)| contribution > c) {
                best = Some((k, contribution));
            }
        }
        best.map(|(k, _)| (self.sources[k].id.to_owned(), self.sources[k].kind))
    }

    /// The history item, or search, whose weighted similarity to the candidate is largest, if
    /// any is at least [`EXPLAIN_MIN_COSINE`] alike. For a search the name is its query, the
    /// kind `search` ("because you searched …").
    /// `norm` is the candidate vector's Euclidean norm.
    pub fn explain(&self, candidate: &[f32], norm: f32, candidate_id: &str) -> Option<(String, EventKind)> {
        let norm = norm.max(score::NORM_EPSILON);
        let mut best: Option<(&Source, f32)> = None;
        let items = self.sources.iter().filter(|s| s.id != candidate_id);
        for s in items.chain(&self.searches) {
            let Some(unit) = s.unit.as_deref() else { continue };
            let cos = score::dot(unit, candidate) / norm;
            if cos < EXPLAIN_MIN_COSINE {
                continue;
            }
            let contribution = s.weight * cos;
            if best.is_none_or(|(_, c)| contribution > c) {
                best = Some((s, contribution));
            }
        }
        best.map(|(s, _)| (s.id.to_owned(), s.kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::StoredEvent;
    use crate::pool::PoolInput;

    fn event(item: &str, kind: EventKind) -> StoredEvent {
        StoredEvent { seq: 0, kind, item: Some(item.to_owned()), query: None, timestamp: 0.0, category: None, price: None }
    }

    #[test]
    fn cooccurrence_part_is_the_weighted_mean_of_listed_similarities() {
        // History (oldest first): a viewed, b purchased, a viewed again, z (no vector).
        let events = [event("a", EventKind::View), event("b", EventKind::Purchase), event("a", EventKind::View), event("z", EventKind::View)];
        let v = [1.0f32, 0.0];
        let steps: Vec<HistoryStep> = events
            .iter()
            .zip([0.5f32, 4.0, 1.0, 2.0])
            .map(|(event, weight)| HistoryStep { event, vector: (event.item.as_deref() != Some("z")).then_some(&v[..]), category: None, weight })
            .collect();
        let pool: PoolInput = serde_json::from_value(serde_json::json!({
            "dim": 2,
            "items": [
                { "id": "c", "vector": [0.0, 1.0], "neighbours": { "ids": ["a", "q", "b"], "weights": [0.5, 0.9, 0.25] } },
                { "id": "b", "vector": [0.0, 1.0], "neighbours": { "ids": ["b", "z"], "weights": [1.0, 0.4] } },
                { "id": "d", "vector": [0.0, 1.0] },
            ],
        }))
        .unwrap();
        let pool = CandidatePool::from_input(pool).unwrap();
        // Sources: z 2 (no vector, counts for co-occurrence), a 1 (its strongest occurrence),
        // b 4; total 7.
        let n = HistoryNeighbours::new(&steps, false);
        let s = n.cooccurrence_scores(&pool);
        // c: (1·0.5 + 4·0.25) / 7; q is not in the history.
        assert!((s[0] - 1.5 / 7.0).abs() < 1e-6, "{s:?}");
        // b: itself left out of both sums: 2·0.4 / (7 − 4).
        assert!((s[1] - 0.8 / 3.0).abs() < 1e-6, "{s:?}");
        // d: no list, no known neighbour.
        assert_eq!(s[2], 0.0);
        // The cosine variant never counts z (no vector): sources a, b only.
        let cos = HistoryNeighbours::new(&steps, true).scores(&pool);
        assert_eq!(cos, vec![0.0, 0.0, 0.0], "c, b, d are orthogonal to a and b's vector");
        assert_eq!(HistoryNeighbours::new(&steps, true).sources.len(), 2);
    }

    /// The matrix-kernel scores against the formula written out with one cosine per pair, for
    /// dims and source counts that are not multiples of the kernel's tiles, with the candidate
    /// itself among the sources.
    #[test]
    fn scores_match_the_formula_pair_by_pair() {
        let value = |i: usize, d: usize| ((i * 31 + d * 17) % 23) as f32 / 11.0 - 1.0;
        for (dim, n_sources) in [(3usize, 2usize), (16, 9), (67, 20)] {
            let items: Vec<serde_json::Value> = (0..37)
                .map(|i| serde_json::json!({ "id": format!("i{i}"), "vector": (0..dim).map(|d| value(i, d)).collect::<Vec<_>>() }))
                .collect();
            let pool = CandidatePool::from_input(serde_json::from_value::<PoolInput>(serde_json::json!({ "dim": dim, "items": items })).unwrap()).unwrap();
            let events: Vec<StoredEvent> = (0..n_sources)
                .map(|k| serde_json::from_value(serde_json::json!({ "seq": k, "kind": "view", "item": format!("i{}", k * 3 % 37), "timestamp": k as f64 })).unwrap())
                .collect();
            let steps: Vec<HistoryStep> = events
                .iter()
                .enumerate()
                .map(|(k, e)| HistoryStep { event: e, vector: Some(pool.vector(k * 3 % 37)), category: None, weight: 0.5 + k as f32 * 0.1 })
                .collect();
            let scores = HistoryNeighbours::new(&steps, true).scores(&pool);
            for (i, got) in scores.iter().enumerate() {
                let (mut sum, mut weights) = (0.0f32, 0.0f32);
                for step in steps.iter().filter(|s| s.event.item.as_deref() != Some(pool.items[i].id.as_str())) {
                    weights += step.weight;
                    sum += step.weight * score::cosine(pool.vector(i), step.vector.unwrap()).max(0.0);
                }
                let want = if weights > 0.0 { sum / weights } else { 0.0 };
                assert!((got - want).abs() < 1e-5, "dim {dim}, {n_sources} sources, item {i}: {got} vs {want}");
            }
            assert!(scores.iter().any(|&s| s > 0.1), "some candidate is like the history");
        }
    }
}
