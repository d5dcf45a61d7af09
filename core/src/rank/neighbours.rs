//! The shopper's recent history items as neighbours of each candidate: the on-device item-kNN
//! part of the score, and the "because you viewed …" explanations. Both compare a candidate
//! with the same few recent items, so both use one list of them.
//!
//! Why a neighbour part beside the intent: the intent is one vector, a summary of the whole
//! recent history; a candidate very like one item the shopper looked at (but unlike the rest)
//! scores middling against it. item-kNN — sum of similarities to each history item — catches
//! exactly those, and on small logs it is the baseline to beat. Here it runs on the public item
//! vectors the engine already has (the model's own item space), so it needs no extra download.

use super::score;
use super::signals::HistoryStep;
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
    unit: Vec<f32>,
}

/// The most recent distinct history items that have a vector, newest first.
pub struct HistoryNeighbours<'a> {
    sources: Vec<Source<'a>>,
}

impl<'a> HistoryNeighbours<'a> {
    pub fn new(steps: &[HistoryStep<'a>]) -> Self {
        let mut sources: Vec<Source<'a>> = Vec::new();
        for step in steps.iter().rev() {
            let (Some(id), Some(vector)) = (step.event.item.as_deref(), step.vector) else { continue };
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
            let norm = score::norm(vector).max(score::NORM_EPSILON);
            sources.push(Source { id, kind: step.event.kind, weight: step.weight, unit: vector.iter().map(|x| x / norm).collect() });
        }
        HistoryNeighbours { sources }
    }

    /// Per candidate, Σ weight·max(0, cos) / Σ weight over the history items other than the
    /// candidate itself: in [0, 1], 1 when it points exactly along every recent item. Negative
    /// similarity counts as none, as item-kNN's co-occurrence similarity cannot be negative.
    pub fn scores(&self, pool: &CandidatePool) -> Vec<f32> {
        let total: f32 = self.sources.iter().map(|s| s.weight).sum();
        if total <= 0.0 {
            return vec![0.0; pool.len()];
        }
        (0..pool.len())
            .map(|i| {
                let candidate = pool.vector(i);
                let norm = pool.norm(i).max(score::NORM_EPSILON);
                let id = pool.items[i].id.as_str();
                let (mut sum, mut weights) = (0.0f32, 0.0f32);
                for s in &self.sources {
                    if s.id == id {
                        continue;
                    }
                    weights += s.weight;
                    sum += s.weight * (score::dot(&s.unit, candidate) / norm).max(0.0);
                }
                if weights > 0.0 { sum / weights } else { 0.0 }
            })
            .collect()
    }

    /// The history item whose weighted similarity to the candidate is largest, if any is at
    /// least [`EXPLAIN_MIN_COSINE`] alike.
    /// `norm` is the candidate vector's Euclidean norm.
    pub fn explain(&self, candidate: &[f32], norm: f32, candidate_id: &str) -> Option<(String, EventKind)> {
        let norm = norm.max(score::NORM_EPSILON);
        let mut best: Option<(usize, f32)> = None;
        for (k, s) in self.sources.iter().enumerate() {
            if s.id == candidate_id {
                continue;
            }
            let cos = score::dot(&s.unit, candidate) / norm;
            if cos < EXPLAIN_MIN_COSINE {
                continue;
            }
            let contribution = s.weight * cos;
            if best.is_none_or(|(_, c)| contribution > c) {
                best = Some((k, contribution));
            }
        }
        best.map(|(k, _)| (self.sources[k].id.to_owned(), self.sources[k].kind))
    }
}
