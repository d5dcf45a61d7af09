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
        let dcg = 1.0 / ((rank + 2) as f64).log2();
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
}
