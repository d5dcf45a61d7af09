//! Next-basket metrics: every model's full ranking over all items (history items stay in: repeat
//! purchases are the point) against the whole target basket, at 10 and 20, split into the
//! repeat part (basket items the shopper bought before) and the explore part (the new ones).
//!
//! For a user with target set T (the basket's distinct items) and top-k list L:
//! - Recall@k = |L ∩ T| / |T|;
//! - HR@k = 1 when L ∩ T is not empty;
//! - NDCG@k = Σ over hits at 0-based rank r of 1/log2(r + 2), divided by the ideal DCG of
//!   min(|T|, k) hits;
//! - MRR@10 = 1/(rank + 1) of the first hit in the top 10.
//!
//! Repeat part: the same list L against T_rep = T ∩ H (H = items the user purchased in the
//! history), over users whose basket has any repeat item. Explore part: the list with H removed
//! from the ranking, against T_exp = T \ H, over users whose basket has any new item — as in
//! Li et al., "A Next Basket Recommendation Reality Check" (ACM TOIS 2023). A score of −∞ means
//! "not recommended": such items never enter a list (P-TopFreq lists only the shopper's items).
use serde::{Deserialize, Serialize};

use super::Scorer;
use crate::data::{Dataset, EventKind, SplitPart};

/// The longest list any metric reads.
pub const TOP: usize = 20;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BasketMetrics {
    #[serde(rename = "ndcg@10")]
    pub ndcg10: f64,
    #[serde(rename = "recall@10")]
    pub recall10: f64,
    #[serde(rename = "hr@10")]
    pub hr10: f64,
    #[serde(rename = "ndcg@20")]
    pub ndcg20: f64,
    #[serde(rename = "recall@20")]
    pub recall20: f64,
    #[serde(rename = "hr@20")]
    pub hr20: f64,
    #[serde(rename = "mrr@10")]
    pub mrr10: f64,
    /// Users the means are over.
    pub users: usize,
}

impl BasketMetrics {
    /// The leave-one-out metric record with the same names (what the trainer's early stopping
    /// and epoch log read).
    pub fn headline(&self) -> super::Metrics {
        super::Metrics { hr10: self.hr10, ndcg10: self.ndcg10, mrr10: self.mrr10, hr20: self.hr20, ndcg20: self.ndcg20 }
    }
}

/// Sums of per-user basket metrics.
#[derive(Debug, Clone, Default)]
pub struct BasketSum {
    sum: BasketMetrics,
}

fn dcg(rank: usize) -> f64 {
    1.0 / ((rank + 2) as f64).log2()
}

impl BasketSum {
    /// Adds one user: `list` the recommended items best first (at least [`TOP`] unless fewer
    /// are recommended), `targets` the sorted distinct target items (must not be empty).
    pub fn add(&mut self, list: &[usize], targets: &[u32]) {
        debug_assert!(!targets.is_empty());
        let s = &mut self.sum;
        s.users += 1;
        let (mut hits10, mut hits20, mut dcg10, mut dcg20, mut first) = (0usize, 0usize, 0.0, 0.0, None);
        for (r, &i) in list.iter().take(TOP).enumerate() {
            if u32::try_from(i).is_ok_and(|i| targets.binary_search(&i).is_ok()) {
                first.get_or_insert(r);
                hits20 += 1;
                dcg20 += dcg(r);
                if r < 10 {
                    hits10 += 1;
                    dcg10 += dcg(r);
                }
            }
        }
        let ideal = |k: usize| (0..targets.len().min(k)).map(dcg).sum::<f64>();
        let t = targets.len() as f64;
        s.ndcg10 += dcg10 / ideal(10);
        s.ndcg20 += dcg20 / ideal(20);
        s.recall10 += hits10 as f64 / t;
        s.recall20 += hits20 as f64 / t;
        s.hr10 += f64::from(u8::from(hits10 > 0));
        s.hr20 += f64::from(u8::from(hits20 > 0));
        s.mrr10 += first.filter(|&r| r < 10).map_or(0.0, |r| 1.0 / (r + 1) as f64);
    }

    pub fn mean(&self) -> BasketMetrics {
        let s = &self.sum;
        let n = s.users.max(1) as f64;
        BasketMetrics {
            ndcg10: s.ndcg10 / n,
            recall10: s.recall10 / n,
            hr10: s.hr10 / n,
            ndcg20: s.ndcg20 / n,
            recall20: s.recall20 / n,
            hr20: s.hr20 / n,
            mrr10: s.mrr10 / n,
            users: s.users,
        }
    }
}

/// A model's next-basket accuracy: over the whole basket, and its repeat and explore parts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitMetrics {
    #[serde(flatten)]
    pub all: BasketMetrics,
    pub repeat: BasketMetrics,
    pub explore: BasketMetrics,
}

#[derive(Debug, Clone, Default)]
pub struct SplitSum {
    pub all: BasketSum,
    pub repeat: BasketSum,
    pub explore: BasketSum,
}

impl SplitSum {
    /// Adds one user. `full`: the top of the full ranking; `explore`: the top of the ranking
    /// with the user's bought items removed (computed only when the basket has a new item).
    pub fn add(&mut self, case: &BasketCase, full: &[usize], explore: impl FnOnce() -> Vec<usize>) {
        self.all.add(full, &case.targets);
        if !case.repeat_targets.is_empty() {
            self.repeat.add(full, &case.repeat_targets);
        }
        if !case.explore_targets.is_empty() {
            self.explore.add(&explore(), &case.explore_targets);
        }
    }

    /// Adds one user from a score per item.
    pub fn add_scores(&mut self, case: &BasketCase, scores: &[f32]) {
        let full = top_n(scores, TOP, |_| false);
        self.add(case, &full, || top_n(scores, TOP, |i| case.bought(i)));
    }

    pub fn mean(&self) -> SplitMetrics {
        SplitMetrics { all: self.all.mean(), repeat: self.repeat.mean(), explore: self.explore.mean() }
    }
}

/// One user's target basket, split against what they bought before. All lists sorted, distinct.
#[derive(Debug, Clone, PartialEq)]
pub struct BasketCase {
    pub targets: Vec<u32>,
    pub repeat_targets: Vec<u32>,
    pub explore_targets: Vec<u32>,
    /// Items purchased in the history.
    pub bought: Vec<u32>,
}

impl BasketCase {
    pub fn of(ds: &Dataset, user: usize, part: SplitPart) -> BasketCase {
        let (hist, _) = ds.history_and_target(user, part);
        let purchase = EventKind::Purchase.index() as u8;
        let mut bought: Vec<u32> = hist.iter().filter(|e| e.kind == purchase).map(|e| e.item).collect();
        bought.sort_unstable();
        bought.dedup();
        let mut targets: Vec<u32> = ds.target_events(user, part).iter().map(|e| e.item).collect();
        targets.sort_unstable();
        targets.dedup();
        let (repeat_targets, explore_targets) = targets.iter().partition(|i| bought.binary_search(i).is_ok());
        BasketCase { targets, repeat_targets, explore_targets, bought }
    }

    pub fn bought(&self, item: usize) -> bool {
        u32::try_from(item).is_ok_and(|i| self.bought.binary_search(&i).is_ok())
    }
}

/// The `n` best items by score (highest first, ties by the smaller index, as a stable sort by
/// descending score orders them and [`super::rank_of`] counts them), leaving out items where
/// `skip` holds and items whose score is not finite (−∞: not recommended).
pub fn top_n(scores: &[f32], n: usize, skip: impl Fn(usize) -> bool) -> Vec<usize> {
    let mut best: Vec<(f32, usize)> = Vec::with_capacity(n + 1);
    if n == 0 {
        return Vec::new();
    }
    for (i, &s) in scores.iter().enumerate() {
        // Indices arrive in increasing order, so an equal score never displaces a kept item.
        if !s.is_finite() || (best.len() == n && s <= best[n - 1].0) || skip(i) {
            continue;
        }
        let at = best.partition_point(|&(b, _)| b >= s);
        best.insert(at, (s, i));
        best.truncate(n);
    }
    best.into_iter().map(|(_, i)| i).collect()
}

/// Full-ranking next-basket evaluation of `scorer` on `part` for `users` (all when None).
pub fn evaluate_baskets(scorer: &dyn Scorer, ds: &Dataset, part: SplitPart, users: Option<&[usize]>, batch_users: usize) -> SplitMetrics {
    let all: Vec<usize> = (0..ds.num_users()).collect();
    let users = users.unwrap_or(&all);
    let mut sum = SplitSum::default();
    for chunk in users.chunks(batch_users.max(1)) {
        let scores = scorer.score(ds, chunk, part);
        for (&u, s) in chunk.iter().zip(&scores) {
            sum.add_scores(&BasketCase::of(ds, u, part), s);
        }
    }
    sum.mean()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_n_orders_by_score_then_index_and_skips() {
        let scores = [0.5, 0.9, 0.5, f32::NEG_INFINITY, 0.7, f32::NAN];
        assert_eq!(top_n(&scores, 3, |_| false), vec![1, 4, 0]);
        assert_eq!(top_n(&scores, 10, |_| false), vec![1, 4, 0, 2]);
        assert_eq!(top_n(&scores, 2, |i| i == 1), vec![4, 0]);
        assert!(top_n(&scores, 0, |_| false).is_empty());
    }

    #[test]
    fn basket_metrics_by_hand() {
        // Target {3, 7, 9}; list hits 7 at rank 1 and 9 at rank 12.
        let mut list: Vec<usize> = (100..120).collect();
        list[1] = 7;
        list[12] = 9;
        let mut s = BasketSum::default();
        s.add(&list, &[3, 7, 9]);
        let m = s.mean();
        let idcg3 = 1.0 + 1.0 / 3f64.log2() + 0.5;
        assert!((m.recall10 - 1.0 / 3.0).abs() < 1e-12);
        assert!((m.recall20 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!((m.hr10, m.hr20), (1.0, 1.0));
        assert!((m.ndcg10 - (1.0 / 3f64.log2()) / idcg3).abs() < 1e-12);
        assert!((m.ndcg20 - (1.0 / 3f64.log2() + 1.0 / 14f64.log2()) / idcg3).abs() < 1e-12);
        assert!((m.mrr10 - 0.5).abs() < 1e-12);
        // A one-item basket hit first is perfect; a miss adds zeros; the mean is over users.
        s.add(&[5, 1, 2], &[5]);
        s.add(&[1, 2], &[5]);
        let m = s.mean();
        assert_eq!(m.users, 3);
        assert!((m.hr10 - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.ndcg10 - ((1.0 / 3f64.log2()) / idcg3 + 1.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn ideal_dcg_is_capped_at_k() {
        // 25 targets, the first 10 ranks all hits: NDCG@10 = 1, recall@10 = 10/25.
        let targets: Vec<u32> = (0..25).collect();
        let list: Vec<usize> = (0..20).collect();
        let mut s = BasketSum::default();
        s.add(&list, &targets);
        let m = s.mean();
        assert!((m.ndcg10 - 1.0).abs() < 1e-12 && (m.ndcg20 - 1.0).abs() < 1e-12);
        assert!((m.recall10 - 0.4).abs() < 1e-12);
    }

    #[test]
    fn repeat_and_explore_parts() {
        // Bought before: 1, 2. Basket: 2 (repeat), 5 (new). Scores rank 1 > 2 > 3 > 5.
        let case = BasketCase { targets: vec![2, 5], repeat_targets: vec![2], explore_targets: vec![5], bought: vec![1, 2] };
        let scores = [0.0, 0.9, 0.8, 0.7, 0.0, 0.6];
        let mut sum = SplitSum::default();
        sum.add_scores(&case, &scores);
        let m = sum.mean();
        // Full list: 1, 2, 3, 5, 0, 4 — the repeat item at rank 1; the explore ranking (1, 2
        // removed) is 3, 5, …: the new item at rank 1 there.
        let r1 = 1.0 / 3f64.log2();
        assert!((m.repeat.ndcg10 - r1).abs() < 1e-12);
        assert!((m.explore.ndcg10 - r1).abs() < 1e-12);
        assert!((m.all.ndcg10 - (r1 + 1.0 / 5f64.log2()) / (1.0 + r1)).abs() < 1e-12);
        assert_eq!((m.all.users, m.repeat.users, m.explore.users), (1, 1, 1));
        // A basket with no new item adds nothing to the explore part.
        let only_repeat = BasketCase { targets: vec![1], repeat_targets: vec![1], explore_targets: vec![], bought: vec![1] };
        sum.add_scores(&only_repeat, &scores);
        assert_eq!(sum.mean().explore.users, 1);
        assert_eq!(sum.mean().repeat.users, 2);
    }
}
