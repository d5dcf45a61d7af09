//! What the history says about the shopper, before any candidate is scored: the recent steps
//! with their item vectors resolved, how much each step counts, the cold-model intent vector
//! and the category affinity.

use crate::hash::{FastHashMap, FastHashSet};

use crate::history::{EventKind, StoredEvent};
use crate::pool::CandidatePool;

/// How strongly each kind of event signals intent. A purchase says more than a glance.
pub fn kind_weight(kind: EventKind) -> f32 {
    match kind {
        EventKind::View => 1.0,
        EventKind::Click => 1.5,
        EventKind::Favorite => 2.5,
        EventKind::Cart => 3.0,
        EventKind::Purchase => 4.0,
        // A search names no item: it has no item vector for the history's mean, no category,
        // and no neighbours. With a text tower the model reads it as a step of its own
        // (`rank_for_shopper`); without one it is ignored.
        EventKind::Search => 0.0,
    }
}

/// Each step back in history counts this much less than the one after it (half-life of
/// eight events): recent browsing says more about today's intent than last month's.
pub const RECENCY_DECAY: f32 = 0.917_004_1; // 0.5^(1/8)

/// One recent history event with its item vector, if one is known in the pool's space.
#[derive(Debug, Clone)]
pub struct HistoryStep<'a> {
    pub event: &'a StoredEvent,
    pub vector: Option<&'a [f32]>,
    pub category: Option<&'a str>,
    /// kind weight × recency decay.
    pub weight: f32,
}

/// The last `n` events, vectors looked up in the pool first (freshest, and certainly in the
/// pool's space), then in the engine's cache (only if the dimension matches).
pub fn resolve_steps<'a>(
    pool: &'a CandidatePool,
    history: &'a [StoredEvent],
    cached: &dyn Fn(&str) -> Option<(&'a [f32], Option<&'a str>)>,
    n: usize,
) -> Vec<HistoryStep<'a>> {
    let recent = &history[history.len().saturating_sub(n)..];
    let last = recent.len().saturating_sub(1);
    recent
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let (vector, cached_category) = match event.item.as_deref() {
                None => (None, None),
                Some(id) => match pool.position(id) {
                    Some(p) if pool.has_vector(p) => (Some(pool.vector(p)), pool.items[p].category.as_deref()),
                    // An item sent with only `text`, in a pool no tower filled in: the cache
                    // may still know a vector (from a ranking with the model).
                    Some(p) => (cached(id).map(|(v, _)| v).filter(|v| v.len() == pool.dim), pool.items[p].category.as_deref()),
                    None => match cached(id) {
                        Some((v, c)) if v.len() == pool.dim => (Some(v), c),
                        Some((_, c)) => (None, c),
                        None => (None, None),
                    },
                },
            };
            let category = event.category.as_deref().or(cached_category);
            let weight = kind_weight(event.kind) * RECENCY_DECAY.powi((last - i) as i32);
            HistoryStep { event, vector, category, weight }
        })
        .collect()
}

/// The cold-model intent: the weighted mean of the unit-length history item vectors. Used when
/// no model is loaded (or it cannot run); `None` when no step has a vector.
pub fn history_intent(steps: &[HistoryStep], dim: usize) -> Option<Vec<f32>> {
    let mut intent = vec![0.0f32; dim];
    let mut any = false;
    for step in steps {
        let Some(vector) = step.vector else { continue };
        let norm = super::score::norm(vector);
        if norm <= super::score::NORM_EPSILON || step.weight <= 0.0 {
            continue;
        }
        any = true;
        let scale = step.weight / norm;
        for (acc, x) in intent.iter_mut().zip(vector) {
            *acc += scale * x;
        }
    }
    any.then_some(intent)
}

/// Category → affinity in [0, 1] (1 for the category the shopper engaged with most).
pub fn category_affinity(steps: &[HistoryStep]) -> FastHashMap<String, f32> {
    let mut totals: FastHashMap<String, f32> = crate::hash::map();
    for step in steps {
        if let Some(category) = step.category {
            *totals.entry(category.to_owned()).or_default() += step.weight;
        }
    }
    let max = totals.values().copied().fold(0.0f32, f32::max);
    if max > 0.0 {
        totals.values_mut().for_each(|v| *v /= max);
    }
    totals.retain(|_, v| *v > 0.0);
    totals
}

/// Items the shopper bought (anywhere in their kept history).
pub fn purchased(history: &[StoredEvent]) -> FastHashSet<&str> {
    history
        .iter()
        .filter(|e| e.kind == EventKind::Purchase)
        .filter_map(|e| e.item.as_deref())
        .collect()
}
