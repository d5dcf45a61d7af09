//! Ranking metrics from the 0-based rank of the held-out item.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    #[serde(rename = "hr@10")]
    pub hr10: f64,
    #[serde(rename = "ndcg@10")]
    pub ndcg10: f64,
    #[serde(rename = "mrr@10")]
    pub mrr10: f64,
    #[serde(rename = "hr@20")]
    pub hr20: f64,
    #[serde(rename = "ndcg@20")]
    pub ndcg20: f64,
}

/// The deepest cut-off of any metric: a rank at or beyond it counts as a miss everywhere, so
/// rank searches may stop counting there.
pub const DEEPEST_CUTOFF: usize = 20;

/// Accumulates per-user ranks into averaged metrics.
#[derive(Debug, Default, Clone)]
pub struct MetricsSum {
    sum: Metrics,
    pub users: usize,
}

impl MetricsSum {
    pub fn add_rank(&mut self, rank: usize) {
        self.users += 1;
        let dcg = dcg_of_rank(rank);
        if rank < 10 {
            self.sum.hr10 += 1.0;
            self.sum.ndcg10 += dcg;
            self.sum.mrr10 += 1.0 / (rank + 1) as f64;
        }
        if rank < DEEPEST_CUTOFF {
            self.sum.hr20 += 1.0;
            self.sum.ndcg20 += dcg;
        }
    }

    pub fn mean(&self) -> Metrics {
        let n = self.users.max(1) as f64;
        let s = &self.sum;
        Metrics { hr10: s.hr10 / n, ndcg10: s.ndcg10 / n, mrr10: s.mrr10 / n, hr20: s.hr20 / n, ndcg20: s.ndcg20 / n }
    }
}

/// 0-based rank of `target` among the items not excluded: items scoring higher, plus items
/// scoring equal with a smaller index (a fixed, pessimistic-for-nobody tie-break that matches
/// a stable sort by descending score).
pub fn rank_of(scores: &[f32], target: usize, excluded: &[bool]) -> usize {
    let st = scores[target];
    let mut rank = 0;
    for (i, &s) in scores.iter().enumerate() {
        if i != target && !excluded[i] && (s > st || (s == st && i < target)) {
            rank += 1;
        }
    }
    rank
}

/// The gain of a single held-out item at a 0-based rank, before any cut-off.
fn dcg_of_rank(rank: usize) -> f64 {
    1.0 / ((rank + 2) as f64).log2()
}

/// NDCG@10 of one 0-based rank (0 beyond the cut-off).
pub fn ndcg10_of_rank(rank: usize) -> f64 {
    if rank < 10 { dcg_of_rank(rank) } else { 0.0 }
}

/// Two rankings of the same users compared user by user: how much NDCG@10 changed, and how
/// much of that a test split of this size can tell apart from chance. On a few hundred test
/// users one user's hit moves NDCG@10 by 0.2–3%, so a change is only read against its error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedChange {
    /// mean NDCG@10 of `other` / mean of `base` − 1.
    #[serde(rename = "relative_ndcg@10_change")]
    pub relative: f64,
    /// The standard error of `relative` (the per-user differences' standard error over the
    /// base mean).
    #[serde(rename = "relative_ndcg@10_stderr")]
    pub relative_stderr: f64,
    /// Users whose target rank differs between the two.
    pub users_ranked_differently: usize,
    pub users: usize,
}

/// [`PairedChange`] of `other` against `base`: the target ranks of the same users, in the
/// same order.
pub fn paired_ndcg10_change(base: &[usize], other: &[usize]) -> PairedChange {
    let n = base.len().min(other.len());
    let diffs: Vec<f64> = base.iter().zip(other).map(|(&b, &o)| ndcg10_of_rank(o) - ndcg10_of_rank(b)).collect();
    let base_mean = base[..n].iter().map(|&r| ndcg10_of_rank(r)).sum::<f64>() / n.max(1) as f64;
    let mean = diffs.iter().sum::<f64>() / n.max(1) as f64;
    let var = if n > 1 { diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1) as f64 } else { 0.0 };
    let (relative, relative_stderr) = if base_mean > 0.0 { (mean / base_mean, (var / n as f64).sqrt() / base_mean) } else { (0.0, 0.0) };
    PairedChange { relative, relative_stderr, users_ranked_differently: base.iter().zip(other).filter(|(b, o)| b != o).count(), users: n }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_and_metrics() {
        let scores = [0.9, 0.5, 0.7, 0.5, 0.1];
        let none = [false; 5];
        assert_eq!(rank_of(&scores, 0, &none), 0);
        assert_eq!(rank_of(&scores, 3, &none), 3); // 0.9, 0.7 and the tied item 1 come first
        let mut ex = none;
        ex[0] = true;
        assert_eq!(rank_of(&scores, 2, &ex), 0);

        let mut m = MetricsSum::default();
        m.add_rank(0);
        m.add_rank(1);
        m.add_rank(15);
        m.add_rank(30);
        let r = m.mean();
        assert!((r.hr10 - 0.5).abs() < 1e-12);
        assert!((r.hr20 - 0.75).abs() < 1e-12);
        assert!((r.ndcg10 - (1.0 + 1.0 / 3f64.log2()) / 4.0).abs() < 1e-12);
        assert!((r.mrr10 - 1.5 / 4.0).abs() < 1e-12);
        assert!((r.ndcg20 - (1.0 + 1.0 / 3f64.log2() + 1.0 / 17f64.log2()) / 4.0).abs() < 1e-12);
    }

    #[test]
    fn a_paired_change_carries_its_standard_error() {
        // Four users; one moves from rank 0 (NDCG 1) to rank 1 (1/log2 3), one from a miss to
        // rank 0, two stay.
        let base = [0, 30, 5, 12];
        let other = [1, 0, 5, 12];
        let c = paired_ndcg10_change(&base, &other);
        let b = (1.0 + 1.0 / 7f64.log2()) / 4.0;
        let d = [1.0 / 3f64.log2() - 1.0, 1.0, 0.0, 0.0];
        let mean = d.iter().sum::<f64>() / 4.0;
        let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0;
        assert!((c.relative - mean / b).abs() < 1e-12, "{c:?}");
        assert!((c.relative_stderr - (var / 4.0).sqrt() / b).abs() < 1e-12, "{c:?}");
        assert_eq!((c.users_ranked_differently, c.users), (2, 4));
        // Identical rankings: no change and no error.
        let same = paired_ndcg10_change(&base, &base);
        assert_eq!((same.relative, same.relative_stderr, same.users_ranked_differently), (0.0, 0.0, 0));
    }
}
