//! The learned "buy it again" scorer: a small network over what the shopper's own purchase
//! history says about an item (how often, how recently at several time scales, how due against
//! its usual interval in days and in trips, how much of their trips it is in, whether they
//! switched to another product of its category), trained by `localrank eval
//! --protocol next-basket` on the store's own baskets and shipped in model.json
//! (`repeat_scorer`). It replaces the hand-written frequency × recency × due-ness rule of
//! [`super::repeat`] when a model carries one: on Complete Journey, alone (never-bought items by
//! popularity), the rule reaches 1.08 × GP-TopFreq's test NDCG@10 and the learned scorer 1.11 ×
//! (docs/training.md, "Next-basket protocol").
//!
//! The part is the network's probability that the item is in the next basket, in (0, 1). The
//! features are computed by [`super::repeat::RepeatProfile`] from the history alone, plus the
//! item's public re-buy rate when the pool carries one (otherwise the training mean, so the
//! feature says nothing); nothing leaves the device.

use serde::{Deserialize, Serialize};

/// The features, in order, by the names model.json lists them under (`repeat_scorer.features`).
/// One definition: the trainer and the engine both compute them with
/// [`super::repeat::RepeatScorer::features_of`]. The list only grows at its end: a model lists
/// all of them or the first ones (a scorer fitted by an earlier version: the first 14), and a
/// model listing anything else is refused.
pub const REPEAT_FEATURES: [&str; 21] = [
    "trips_log",
    "rebuy_rate",
    "purchases_log",
    "decayed_7d_log",
    "decayed_30d_log",
    "decayed_90d_log",
    "decayed_365d_log",
    "days_since_log",
    "due",
    "due_log_ratio",
    "trip_share",
    "in_last_trip",
    "last_5_trips_share",
    "usual_days_log",
    "trips_since_log",
    "due_trips_log_ratio",
    "in_second_last_trip",
    "last_trip_days_log",
    "category_trip_share",
    "category_item_share",
    "category_switched",
];

/// Number of features.
pub const NUM_REPEAT_FEATURES: usize = REPEAT_FEATURES.len();

/// The index of the re-buy rate feature (the one input that comes from the pool, not the history).
pub const REBUY_FEATURE: usize = 1;

/// Half-lives of the decayed purchase counts (features 3–6).
pub const DECAY_HALF_LIVES_DAYS: [f64; 4] = [7.0, 30.0, 90.0, 365.0];

/// Largest hidden layer accepted from model.json (the trainer uses 16).
pub const MAX_HIDDEN: usize = 256;

/// `logit = bias + Σ_h output[h] · tanh(hidden[h] · z + hidden_bias[h]) + linear · z`,
/// `z = (x − mean) / scale`; `hidden` holds the rows one after another (H × F numbers, F the
/// number of features the model lists, H =
/// `hidden_bias.len()`): one flat list keeps the wasm's JSON reader to shapes it already has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedRepeat {
    pub features: Vec<String>,
    pub mean: Vec<f32>,
    pub scale: Vec<f32>,
    pub hidden: Vec<f32>,
    pub hidden_bias: Vec<f32>,
    pub output: Vec<f32>,
    pub linear: Vec<f32>,
    pub bias: f32,
}

impl LearnedRepeat {
    /// Names the first field that does not fit this engine, with the reason.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let n = self.features.len();
        if n == 0 || n > NUM_REPEAT_FEATURES || self.features.iter().map(String::as_str).ne(REPEAT_FEATURES[..n].iter().copied()) {
            return Err(("features", format!("{:?} are not this engine's features {:?} or their beginning; re-run localrank eval --protocol next-basket with this version", self.features, REPEAT_FEATURES)));
        }
        let finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
        for (name, v) in [("mean", &self.mean), ("scale", &self.scale), ("linear", &self.linear)] {
            if v.len() != n || !finite(v) {
                return Err((name, format!("must be {n} finite numbers, got {} values", v.len())));
            }
        }
        if self.scale.iter().any(|&s| s <= 0.0) {
            return Err(("scale", "every scale must be above 0".into()));
        }
        let h = self.hidden_bias.len();
        if h > MAX_HIDDEN || !finite(&self.hidden_bias) {
            return Err(("hidden_bias", format!("must be at most {MAX_HIDDEN} finite numbers, one per hidden unit")));
        }
        if self.output.len() != h || !finite(&self.output) {
            return Err(("output", format!("must be {h} finite numbers, one per hidden unit")));
        }
        if self.hidden.len() != h * n || !finite(&self.hidden) {
            return Err(("hidden", format!("must be {h} rows of {n} finite numbers, one after another")));
        }
        if !self.bias.is_finite() {
            return Err(("bias", "must be a finite number".into()));
        }
        Ok(())
    }

    /// The standardised input: the model's features (the first `features.len()`), the rest 0.
    #[inline(always)]
    pub fn standardise(&self, x: &[f32; NUM_REPEAT_FEATURES]) -> [f32; NUM_REPEAT_FEATURES] {
        let mut z = [0f32; NUM_REPEAT_FEATURES];
        for (j, z) in z.iter_mut().enumerate().take(self.mean.len()) {
            *z = (x[j] - self.mean[j]) / self.scale[j];
        }
        z
    }

    #[inline]
    pub fn logit(&self, x: &[f32; NUM_REPEAT_FEATURES]) -> f32 {
        let z = self.standardise(x);
        let n = self.mean.len().max(1);
        // The ranking's lane-wise dot: a shopper's bought items × H rows is the bulk of the
        // repeat part's cost, and a plain sum is one dependent add after another.
        let dot = |w: &[f32]| super::score::dot(w, &z[..n]);
        // A loop rather than `.sum()` (same fold from −0.0), which stays a call under "z".
        let mut hidden = -0.0f32;
        for ((row, b), o) in self.hidden.chunks_exact(n).zip(&self.hidden_bias).zip(&self.output) {
            hidden += o * tanh(dot(row) + b);
        }
        self.bias + hidden + dot(&self.linear)
    }

    /// The repeat part: the probability the item is in the next basket.
    pub fn part(&self, x: &[f32; NUM_REPEAT_FEATURES]) -> f32 {
        1.0 / (1.0 + (-self.logit(x)).exp())
    }
}

/// tanh through `exp`, which the engine already carries (f32's own `tanh` brings its libm
/// routines into the wasm); exact to f32 rounding, and saturating instead of overflowing.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let x = x.clamp(-15.0, 15.0);
    1.0 - 2.0 / ((2.0 * x).exp() + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scorer(n: usize, hidden: usize) -> LearnedRepeat {
        let w = |k: usize| ((k * 7919) % 13) as f32 / 13.0 - 0.5;
        LearnedRepeat {
            features: REPEAT_FEATURES[..n].iter().map(|s| (*s).to_owned()).collect(),
            mean: (0..n).map(|j| w(j) * 0.1).collect(),
            scale: (0..n).map(|j| 1.0 + w(j + 3).abs()).collect(),
            hidden: (0..hidden * n).map(w).collect(),
            hidden_bias: (0..hidden).map(|k| w(k + 5)).collect(),
            output: (0..hidden).map(|k| w(k + 11)).collect(),
            linear: (0..n).map(|j| w(j + 17)).collect(),
            bias: -0.3,
        }
    }

    #[test]
    fn a_scorer_over_the_first_features_scores_as_the_full_list_with_zero_weights_on_the_rest() {
        let (n, h) = (14, 3);
        let short = scorer(n, h);
        assert_eq!(short.check(), Ok(()), "an earlier version's scorer (the first 14 features) still loads");
        let full = LearnedRepeat {
            features: REPEAT_FEATURES.iter().map(|s| (*s).to_owned()).collect(),
            mean: short.mean.iter().copied().chain(std::iter::repeat(0.5).take(NUM_REPEAT_FEATURES - n)).collect(),
            scale: short.scale.iter().copied().chain(std::iter::repeat(1.0).take(NUM_REPEAT_FEATURES - n)).collect(),
            hidden: short.hidden.chunks_exact(n).flat_map(|row| row.iter().copied().chain(std::iter::repeat(0.0).take(NUM_REPEAT_FEATURES - n))).collect(),
            linear: short.linear.iter().copied().chain(std::iter::repeat(0.0).take(NUM_REPEAT_FEATURES - n)).collect(),
            ..short.clone()
        };
        assert_eq!(full.check(), Ok(()));
        for k in 0..20 {
            let x: [f32; NUM_REPEAT_FEATURES] = std::array::from_fn(|j| ((j * 31 + k * 17) % 11) as f32 / 3.0 - 1.0);
            let (a, b) = (short.part(&x), full.part(&x));
            assert!((a - b).abs() < 1e-6, "case {k}: {a} vs {b}");
            assert!(a > 0.0 && a < 1.0);
        }
    }

    #[test]
    fn features_that_are_not_the_engines_beginning_are_refused() {
        let mut m = scorer(NUM_REPEAT_FEATURES, 2);
        assert_eq!(m.check(), Ok(()));
        m.features.swap(0, 1);
        assert_eq!(m.check().map_err(|e| e.0), Err("features"));
        let mut m = scorer(5, 2);
        m.features[4] = "days_since_log".into();
        assert_eq!(m.check().map_err(|e| e.0), Err("features"));
        let mut m = scorer(NUM_REPEAT_FEATURES, 2);
        m.features.push("tomorrow".into());
        assert_eq!(m.check().map_err(|e| e.0), Err("features"));
        let mut m = scorer(6, 2);
        m.hidden.pop();
        assert_eq!(m.check().map_err(|e| e.0), Err("hidden"));
        assert_eq!(scorer(0, 0).check().map_err(|e| e.0), Err("features"));
    }
}
