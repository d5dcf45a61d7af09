//! The next-basket frequency baselines of Li et al., "A Next Basket Recommendation Reality
//! Check" (ACM TOIS 2023), which beat most published neural models on grocery data:
//! - G-TopFreq: global popularity (training purchases), the same list for everyone;
//! - P-TopFreq: the shopper's own purchase count of each item in their history, ties by global
//!   popularity; items they never bought are not recommended (score −∞), so a short history
//!   gives a short list;
//! - GP-TopFreq: P-TopFreq, then filled up with G-TopFreq.
//!
//! "Purchase" means events of kind purchase (every Complete Journey event is one).
use crate::data::{Dataset, EventKind, SplitPart};
use crate::eval::Scorer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopFreqKind {
    Global,
    Personal,
    PersonalThenGlobal,
}

impl TopFreqKind {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            TopFreqKind::Global => "g-topfreq",
            TopFreqKind::Personal => "p-topfreq",
            TopFreqKind::PersonalThenGlobal => "gp-topfreq",
        }
    }
}

pub struct TopFreq {
    kind: TopFreqKind,
    /// Global popularity scaled into [0, 1): the tie-break under a personal count (whole
    /// numbers), and the whole score for G-TopFreq.
    global: Vec<f64>,
}

impl TopFreq {
    /// Global popularity counts purchases in the training part of every user's sequence.
    pub fn fit(ds: &Dataset, kind: TopFreqKind) -> TopFreq {
        let purchase = EventKind::Purchase.index() as u8;
        let mut pop = vec![0u32; ds.num_items()];
        for u in 0..ds.num_users() {
            for e in ds.train_sequence(u).iter().filter(|e| e.kind == purchase) {
                pop[e.item as usize] += 1;
            }
        }
        let scale = f64::from(pop.iter().copied().max().unwrap_or(0)) + 1.0;
        TopFreq { kind, global: pop.iter().map(|&c| f64::from(c) / scale).collect() }
    }
}

impl Scorer for TopFreq {
    fn score(&self, ds: &Dataset, users: &[usize], part: SplitPart) -> Vec<Vec<f32>> {
        let purchase = EventKind::Purchase.index() as u8;
        users
            .iter()
            .map(|&u| {
                let mut count = vec![0u32; ds.num_items()];
                if self.kind != TopFreqKind::Global {
                    for e in ds.history_and_target(u, part).0.iter().filter(|e| e.kind == purchase) {
                        count[e.item as usize] += 1;
                    }
                }
                // Counts are whole numbers and the popularity share is below 1, so the sum
                // orders by count first (f32 keeps both apart for counts far beyond a year of
                // weekly shopping).
                count
                    .iter()
                    .zip(&self.global)
                    .map(|(&c, &g)| match self.kind {
                        TopFreqKind::Personal if c == 0 => f32::NEG_INFINITY,
                        _ => (f64::from(c) + g) as f32,
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Event, Protocol};
    use crate::eval::basket::top_n;

    /// Two users, three baskets each. Training purchases make item 3 the most popular overall.
    fn toy() -> Dataset {
        let p = EventKind::Purchase.index() as u8;
        let e = |item: u32, ts: i64| Event { item, kind: p, ts };
        // u0: bought 1 twice and 2 once before the test basket; u1 bought only 3s.
        let sequences = vec![vec![e(1, 1), e(2, 1), e(1, 2), e(0, 3)], vec![e(3, 1), e(3, 2), e(3, 2), e(4, 3)]];
        let ds = Dataset {
            name: "toy".into(),
            item_ids: (0..5).map(|i| format!("i{i}")).collect(),
            item_category: vec![None; 5],
            item_price: vec![None; 5],
            user_ids: vec!["u0".into(), "u1".into()],
            sequences,
            notes: vec![],
            basket_starts: vec![vec![0, 2, 3], vec![0, 1, 3]],
            item_text: vec![],
            catalogue_text: vec![],
        };
        assert_eq!(ds.protocol(), Protocol::NextBasket);
        ds.validate().expect("valid");
        ds
    }

    fn top(kind: TopFreqKind, user: usize, n: usize) -> Vec<usize> {
        let ds = toy();
        let s = TopFreq::fit(&ds, kind).score(&ds, &[user], SplitPart::Test).remove(0);
        top_n(&s, n, |_| false)
    }

    #[test]
    fn the_three_topfreq_baselines_on_a_toy_log() {
        // Training = first basket of each: u0 bought 1, 2; u1 bought 3. Popularity ties between
        // 1, 2, 3 go to the smaller index.
        assert_eq!(top(TopFreqKind::Global, 0, 3), vec![1, 2, 3]);
        // u0's history before the test basket: 1, 2, 1 → 1 (twice), then 2; nothing else.
        assert_eq!(top(TopFreqKind::Personal, 0, 5), vec![1, 2]);
        // GP fills up with global popularity.
        assert_eq!(top(TopFreqKind::PersonalThenGlobal, 0, 4), vec![1, 2, 3, 0]);
        assert_eq!(top(TopFreqKind::PersonalThenGlobal, 1, 2), vec![3, 1]);
    }
}
