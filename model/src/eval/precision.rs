//! How faithfully a lower-precision export (f16, int8) reproduces the f32 model's rankings, on
//! many more predictions than the test split has.
//!
//! The test split gives one prediction per user: on a few hundred users one user's hit moves
//! NDCG@10 by 0.2–3%, so a 1% change cannot be read from it. Here the same model is asked for
//! each user's last `k` events, each predicted from the events before it (the leave-one-out
//! test target is the last of them, the validation target the one before; the earlier ones
//! were training targets, so their NDCG@10 is higher than test's and only the *relative*
//! change between precisions is meant to be read). Predictions of one user are correlated, so
//! the standard error is computed over users (each user's summed difference), not over
//! predictions. Beside it, two measures that need no target at all: how much of the f32
//! top 10 the other precision keeps, and how far its scores move.
use serde::{Deserialize, Serialize};

use super::metrics::{ndcg10_of_rank, rank_of};
use super::EvalOptions;
use crate::data::Dataset;

/// Anything that scores every item for histories cut at given positions.
pub trait PositionScorer {
    /// One score vector (length = number of items) per `(user, position)`: the user's events
    /// before `position` are the history, the event at `position` is the one being predicted
    /// (its timestamp is the ranking time).
    fn score_positions(&self, ds: &Dataset, points: &[(usize, usize)]) -> Vec<Vec<f32>>;
}

/// Each user's last `k` events as prediction points `(user, position)`, in user order; a
/// position needs at least one event before it.
pub fn last_positions(ds: &Dataset, k: usize) -> Vec<(usize, usize)> {
    ds.sequences.iter().enumerate().flat_map(|(u, s)| (s.len().saturating_sub(k).max(1)..s.len()).map(move |p| (u, p))).collect()
}

/// One precision against the base (f32) over the same prediction points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrecisionFidelity {
    /// Prediction points compared, and the users they belong to.
    pub predictions: usize,
    pub users: usize,
    /// Mean NDCG@10 of the base and of the other precision over the prediction points.
    #[serde(rename = "base_ndcg@10")]
    pub base_ndcg10: f64,
    #[serde(rename = "ndcg@10")]
    pub ndcg10: f64,
    /// Summed NDCG@10 of the other / of the base − 1.
    #[serde(rename = "relative_ndcg@10_change")]
    pub relative: f64,
    /// The standard error of `relative`, with the predictions of one user kept together (the
    /// spread of each user's summed difference), the base treated as fixed as in
    /// [`super::PairedChange`]; with one prediction per user it is that one.
    #[serde(rename = "relative_ndcg@10_stderr")]
    pub relative_stderr: f64,
    /// Prediction points whose target rank differs.
    pub predictions_ranked_differently: usize,
    /// Mean share of the base's top 10 (history excluded, as ranked) that the other's top 10
    /// also holds: 1 when every first screen has the same items.
    pub top10_overlap: f64,
    /// Mean and largest absolute difference of an item's cosine score (−1..=1), over every
    /// item of every prediction.
    pub mean_abs_score_diff: f64,
    pub max_abs_score_diff: f64,
}

/// The relative change in summed NDCG@10 between two rankings of the same prediction points,
/// and its standard error with the points grouped by `cluster` (the user): returns
/// `(relative, stderr)`. Points of one cluster need not be adjacent.
pub fn clustered_ndcg10_change(base: &[usize], other: &[usize], cluster: &[usize]) -> (f64, f64) {
    let n = base.len().min(other.len()).min(cluster.len());
    let mut per_cluster: std::collections::BTreeMap<usize, f64> = std::collections::BTreeMap::new();
    let mut base_sum = 0.0;
    for i in 0..n {
        base_sum += ndcg10_of_rank(base[i]);
        *per_cluster.entry(cluster[i]).or_default() += ndcg10_of_rank(other[i]) - ndcg10_of_rank(base[i]);
    }
    let c = per_cluster.len();
    if base_sum <= 0.0 || c == 0 {
        return (0.0, 0.0);
    }
    let total: f64 = per_cluster.values().sum();
    let mean = total / c as f64;
    let var = if c > 1 { per_cluster.values().map(|d| (d - mean).powi(2)).sum::<f64>() / (c - 1) as f64 } else { 0.0 };
    (total / base_sum, (c as f64 * var).sqrt() / base_sum)
}

/// The `k` best items not excluded, best first, ties to the smaller index (the order
/// [`rank_of`] counts in).
pub fn top_k(scores: &[f32], excluded: &[bool], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).filter(|&i| !excluded[i]).collect();
    let by = |a: &usize, b: &usize| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b));
    if idx.len() > k {
        idx.select_nth_unstable_by(k, by);
        idx.truncate(k);
    }
    idx.sort_by(by);
    idx
}

/// Compares each of `others` with `base` over `points` (see the module notes). History items
/// are excluded from the ranking as in [`super::evaluate`] when `opts.exclude_history`.
pub fn compare_precisions(base: &dyn PositionScorer, others: &[&dyn PositionScorer], ds: &Dataset, points: &[(usize, usize)], opts: &EvalOptions) -> Vec<PrecisionFidelity> {
    struct Acc {
        ranks: Vec<usize>,
        overlap: f64,
        abs_sum: f64,
        abs_count: usize,
        abs_max: f64,
    }
    let mut base_ranks = Vec::with_capacity(points.len());
    let mut accs: Vec<Acc> = others.iter().map(|_| Acc { ranks: Vec::with_capacity(points.len()), overlap: 0.0, abs_sum: 0.0, abs_count: 0, abs_max: 0.0 }).collect();
    for chunk in points.chunks(opts.batch_users.max(1)) {
        let base_scores = base.score_positions(ds, chunk);
        let other_scores: Vec<Vec<Vec<f32>>> = others.iter().map(|o| o.score_positions(ds, chunk)).collect();
        for (j, &(u, p)) in chunk.iter().enumerate() {
            let s = &ds.sequences[u];
            let target = s[p].item as usize;
            let mut ex = vec![false; ds.num_items()];
            if opts.exclude_history {
                for e in &s[..p] {
                    ex[e.item as usize] = true;
                }
            }
            ex[target] = false;
            let b = &base_scores[j];
            base_ranks.push(rank_of(b, target, &ex));
            let base_top = top_k(b, &ex, 10);
            for (acc, scores) in accs.iter_mut().zip(&other_scores) {
                let o = &scores[j];
                acc.ranks.push(rank_of(o, target, &ex));
                let top = top_k(o, &ex, 10);
                let shared = base_top.iter().filter(|i| top.contains(i)).count();
                acc.overlap += if base_top.is_empty() { 1.0 } else { shared as f64 / base_top.len() as f64 };
                for (x, y) in b.iter().zip(o) {
                    let d = f64::from((x - y).abs());
                    acc.abs_sum += d;
                    acc.abs_max = acc.abs_max.max(d);
                }
                acc.abs_count += b.len().min(o.len());
            }
        }
    }
    let users: Vec<usize> = points.iter().map(|&(u, _)| u).collect();
    let n = points.len().max(1) as f64;
    let distinct_users = {
        let mut u = users.clone();
        u.sort_unstable();
        u.dedup();
        u.len()
    };
    let mean_ndcg = |ranks: &[usize]| ranks.iter().map(|&r| ndcg10_of_rank(r)).sum::<f64>() / n;
    accs.iter()
        .map(|acc| {
            let (relative, relative_stderr) = clustered_ndcg10_change(&base_ranks, &acc.ranks, &users);
            PrecisionFidelity {
                predictions: points.len(),
                users: distinct_users,
                base_ndcg10: mean_ndcg(&base_ranks),
                ndcg10: mean_ndcg(&acc.ranks),
                relative,
                relative_stderr,
                predictions_ranked_differently: base_ranks.iter().zip(&acc.ranks).filter(|(a, b)| a != b).count(),
                top10_overlap: acc.overlap / n,
                mean_abs_score_diff: acc.abs_sum / acc.abs_count.max(1) as f64,
                max_abs_score_diff: acc.abs_max,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Event;
    use crate::eval::paired_ndcg10_change;

    fn dataset(sequences: Vec<Vec<u32>>, items: usize) -> Dataset {
        Dataset {
            name: "t".into(),
            item_ids: (0..items).map(|i| i.to_string()).collect(),
            item_category: vec![None; items],
            item_price: vec![None; items],
            user_ids: (0..sequences.len()).map(|u| u.to_string()).collect(),
            sequences: sequences.into_iter().map(|s| s.into_iter().enumerate().map(|(t, item)| Event { item, kind: 0, ts: t as i64 }).collect()).collect(),
            notes: Vec::new(),
            basket_starts: Vec::new(),
            item_text: Vec::new(),
            catalogue_text: Vec::new(),
        }
    }

    #[test]
    fn last_positions_take_each_users_last_k_events_with_a_history() {
        let ds = dataset(vec![vec![0, 1, 2, 3, 4], vec![5, 6], vec![7]], 8);
        assert_eq!(last_positions(&ds, 3), vec![(0, 2), (0, 3), (0, 4), (1, 1)]);
        assert_eq!(last_positions(&ds, 1), vec![(0, 4), (1, 1)]);
    }

    #[test]
    fn one_point_per_user_gives_the_paired_change() {
        let base = [0, 30, 5, 12, 2];
        let other = [1, 0, 5, 12, 9];
        let c = paired_ndcg10_change(&base, &other);
        let (rel, se) = clustered_ndcg10_change(&base, &other, &[0, 1, 2, 3, 4]);
        assert!((rel - c.relative).abs() < 1e-12 && (se - c.relative_stderr).abs() < 1e-12, "{rel} {se} vs {c:?}");
    }

    #[test]
    fn points_of_one_user_are_one_cluster() {
        // User 0 loses a hit at one point and gains the same at another: no change for that
        // user, so only user 1's difference spreads the error.
        let base = [0, 40, 3, 3];
        let other = [40, 0, 3, 0];
        let users = [0, 0, 1, 1];
        let (rel, se) = clustered_ndcg10_change(&base, &other, &users);
        let b = 1.0 + 2.0 * ndcg10_of_rank(3);
        let d1 = ndcg10_of_rank(0) - ndcg10_of_rank(3);
        assert!((rel - d1 / b).abs() < 1e-12, "{rel}");
        // Cluster sums 0 and d1: variance d1²/2, times 2 clusters, square root: |d1|.
        assert!((se - d1.abs() / b).abs() < 1e-12, "{se}");
        // Counted per point instead, the error would differ: the grouping matters.
        let (_, se_points) = clustered_ndcg10_change(&base, &other, &[0, 1, 2, 3]);
        assert!((se_points - se).abs() > 1e-3, "{se_points} {se}");
    }

    #[test]
    fn top_k_follows_rank_order_and_skips_excluded_items() {
        let scores = [0.5, 0.9, 0.5, 0.1, 0.7];
        let mut ex = [false; 5];
        assert_eq!(top_k(&scores, &ex, 3), vec![1, 4, 0]);
        ex[4] = true;
        assert_eq!(top_k(&scores, &ex, 3), vec![1, 0, 2]);
        for (r, &i) in top_k(&scores, &ex, 4).iter().enumerate() {
            assert_eq!(rank_of(&scores, i, &ex), r);
        }
    }

    /// Scores every item by a fixed score per item whatever the history, optionally with two
    /// items' scores swapped: a stand-in for a changed copy of a model.
    struct Fixed {
        item_score: Vec<f32>,
        swap: Option<(usize, usize)>,
    }

    impl PositionScorer for Fixed {
        fn score_positions(&self, ds: &Dataset, points: &[(usize, usize)]) -> Vec<Vec<f32>> {
            points
                .iter()
                .map(|_| {
                    let mut s = self.item_score.clone();
                    if let Some((a, b)) = self.swap {
                        s.swap(a, b);
                    }
                    assert_eq!(s.len(), ds.num_items());
                    s
                })
                .collect()
        }
    }

    #[test]
    fn an_identical_copy_is_faithful_and_a_changed_one_is_not() {
        // 14 items scored 14, 13, …, 1 (item 0 best, item 13 worst); the users predict item 0
        // (a hit at rank 0) or item 13 (a miss).
        let items = 14;
        let ds = dataset(vec![vec![5, 0], vec![6, 13], vec![7, 0, 13]], items);
        let item_score: Vec<f32> = (0..items).map(|i| (items - i) as f32).collect();
        let base = Fixed { item_score: item_score.clone(), swap: None };
        let same = Fixed { item_score: item_score.clone(), swap: None };
        // Items 0 and 13 trade places: every hit becomes a miss and every miss a hit.
        let swapped = Fixed { item_score, swap: Some((0, 13)) };
        let points = last_positions(&ds, 2);
        assert_eq!(points, vec![(0, 1), (1, 1), (2, 1), (2, 2)]);
        let r = compare_precisions(&base, &[&same, &swapped], &ds, &points, &EvalOptions::default());
        assert_eq!((r[0].predictions, r[0].users), (4, 3));
        assert_eq!((r[0].relative, r[0].relative_stderr, r[0].predictions_ranked_differently), (0.0, 0.0, 0));
        assert_eq!((r[0].top10_overlap, r[0].mean_abs_score_diff, r[0].max_abs_score_diff), (1.0, 0.0, 0.0));
        assert!((r[1].base_ndcg10 - 0.5).abs() < 1e-12 && (r[1].ndcg10 - 0.5).abs() < 1e-12, "{:?}", r[1]);
        assert_eq!(r[1].predictions_ranked_differently, 4);
        // User 0: −1, user 1: +1, user 2: −1 + 1 = 0 → no change in all, but an error of
        // √(3 · 1) / 2 (cluster variance 1, base sum 2).
        assert!(r[1].relative.abs() < 1e-12);
        assert!((r[1].relative_stderr - 3f64.sqrt() / 2.0).abs() < 1e-12, "{:?}", r[1]);
        // Each first screen swaps one item of ten for item 13 (or item 0).
        assert!((r[1].top10_overlap - 0.9).abs() < 1e-12, "{:?}", r[1]);
        assert!((r[1].max_abs_score_diff - 13.0).abs() < 1e-12);
        assert!((r[1].mean_abs_score_diff - 26.0 / 14.0).abs() < 1e-12);
    }
}
