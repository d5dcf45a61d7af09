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
