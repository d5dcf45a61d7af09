//! Ranking options: the storefront's per-call overrides, resolved against the defaults (which
//! a trained model's config may replace with weights tuned on its validation split).

use serde::{Deserialize, Serialize};
#[cfg(feature = "tsify")]
use tsify::Tsify;

use crate::error::LocalRankError;
use crate::gpu::BackendChoice;

/// How the final score mixes its parts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct BlendWeights {
    /// cos(intent, item) ∈ [-1, 1].
    pub intent: f64,
    /// The server's score, min-max normalised over the pool to [0, 1].
    pub server: f64,
    /// The shopper's affinity for the item's category, [0, 1].
    pub affinity: f64,
    /// The item's similarity to the shopper's recent history items (item-kNN on the device),
    /// [0, 1]. Absent in model.json files written before it existed: 0 there.
    #[serde(default)]
    pub neighbour: f64,
    /// How due the item is to be bought again, [0, 1] ([`super::repeat`]); only items the pool
    /// marks `repeat` have it. Absent in model.json files written before it existed: the
    /// built-in default there (those models were never tuned against it, and a store's due
    /// staples should still rise).
    #[serde(default = "default_repeat_weight")]
    pub repeat: f64,
}

fn default_repeat_weight() -> f64 {
    BlendWeights::default().repeat
}

impl Default for BlendWeights {
    /// The built-in weights, used without a model (the cold path) or with a model whose config
    /// has no tuned `blend`. Hand-set: the intent leads, popularity breaks its ties. The
    /// neighbour part starts at 0: without a model the intent is already the mean of the
    /// history's vectors, and with one `localrank eval` decides on validation how much of it
    /// the model needs. The repeat part's 0.75 lets a staple that is due (part ≈ 1) outrank a
    /// good discovery (cosine ≈ 0.5–0.7) without burying every discovery under the basket.
    fn default() -> Self {
        BlendWeights { intent: 1.0, server: 0.35, affinity: 0.5, neighbour: 0.0, repeat: 0.75 }
    }
}

/// Which similarity the neighbour part used: a model's tuned `neighbour` weight fits only the
/// one it was tuned with (the two live on different scales, see [`super::neighbours`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "lowercase")]
pub enum NeighbourSource {
    /// Co-occurrence lists carried by the pool's items (`neighbours`).
    Cooccurrence,
    /// The cosine of item vectors (pools without lists).
    Cosine,
}

impl NeighbourSource {
    /// Its name in model.json and in `ranking` output.
    pub fn as_str(self) -> &'static str {
        match self {
            NeighbourSource::Cooccurrence => "cooccurrence",
            NeighbourSource::Cosine => "cosine",
        }
    }
}

/// The range every weight must fall in, wherever it comes from (per-call option or model.json).
pub const MAX_WEIGHT: f64 = 100.0;

impl BlendWeights {
    /// The blended score of one item: the weighted sum of its parts.
    /// The only place the formula is written: the engine ranks with it and the trainer's blend
    /// tuning searches with it. Summed in f64 and stored as f32, so ties break alike everywhere.
    pub fn score(&self, parts: &super::ScoreParts) -> f32 {
        (self.intent * f64::from(parts.intent)
            + self.server * f64::from(parts.server)
            + self.affinity * f64::from(parts.affinity)
            + self.neighbour * f64::from(parts.neighbour)
            + self.repeat * f64::from(parts.repeat)) as f32
    }

    /// Names the first weight outside 0..=[`MAX_WEIGHT`] (or not a number), with its value.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for (name, w) in [("intent", self.intent), ("server", self.server), ("affinity", self.affinity), ("neighbour", self.neighbour), ("repeat", self.repeat)] {
            if !(w.is_finite() && (0.0..=MAX_WEIGHT).contains(&w)) {
                return Err((name, format!("must be a number from 0 to {MAX_WEIGHT}, got {w}")));
            }
        }
        Ok(())
    }
}

/// Some or all of the blend weights, as a `rank()` call sets them; each one given wins over the
/// model's tuned weights and the defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct BlendWeightsInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub intent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub server: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub affinity: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub neighbour: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub repeat: Option<f64>,
}

impl BlendWeightsInput {
    pub fn over(&self, base: BlendWeights) -> BlendWeights {
        BlendWeights {
            intent: self.intent.unwrap_or(base.intent),
            server: self.server.unwrap_or(base.server),
            affinity: self.affinity.unwrap_or(base.affinity),
            neighbour: self.neighbour.unwrap_or(base.neighbour),
            repeat: self.repeat.unwrap_or(base.repeat),
        }
    }
}

/// Per-call options of `rank()`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct RankOptions {
    /// Override some or all blend weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub weights: Option<BlendWeightsInput>,
    /// MMR λ in [0, 1]: 1 = pure relevance, lower = more variety (default 0.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub diversity: Option<f64>,
    /// How many leading slots MMR diversifies (default 24: a first screen or two).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub diversify_top: Option<f64>,
    /// How many recent events shape the intent (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub history_length: Option<f64>,
    /// Compute "because you viewed …" explanations (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub explain: Option<bool>,
    /// Explain the first this-many items of the result (default 24: a homepage's first screen,
    /// as `diversifyTop`). Each explanation compares the item with up to 20 history items: at
    /// the old default of 100 that was about as much work as the rest of a 500-item ranking
    /// (`benches/rank.rs`), spent on tiles nobody sees. Pass how many tiles the page shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub explain_top: Option<f64>,
    /// Where a loaded model computes: "auto" (default), "webgpu" or "cpu". WebGPU failures
    /// complete on the CPU; the result's `backend` says which ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub backend: Option<BackendChoice>,
    /// The ranking's time, ms since 1970 (default: the device's clock). The repeat part measures
    /// how long ago the shopper bought each staple to it: pass it to preview another day or to
    /// replay a ranking exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub now: Option<f64>,
}

/// Options with every default filled in and every range checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankSettings {
    /// The weights when no model computed the intent (the built-in defaults).
    pub weights: BlendWeights,
    /// The call's own weights, over either the model's tuned ones or `weights` (see
    /// [`Self::weights_for`]).
    pub weight_overrides: BlendWeightsInput,
    pub lambda: f32,
    pub diversify_top: usize,
    pub history_length: usize,
    pub explain: bool,
    pub explain_top: usize,
    pub backend: BackendChoice,
    /// Compute every score part even when its weight is 0 (blend tuning needs them all; a
    /// storefront's ranking skips the neighbour part's cost when it does not count).
    pub all_parts: bool,
    /// The ranking's time (ms since the epoch), which the repeat part measures purchase ages
    /// to: the browser's clock, or the evaluated basket's time in the trainer. `None`: the
    /// newest history event's time.
    pub now_ms: Option<f64>,
}

impl Default for RankSettings {
    fn default() -> Self {
        RankSettings {
            weights: BlendWeights::default(),
            weight_overrides: BlendWeightsInput::default(),
            lambda: 0.8,
            diversify_top: 24,
            history_length: 50,
            explain: true,
            explain_top: 24,
            backend: BackendChoice::Auto,
            all_parts: false,
            now_ms: None,
        }
    }
}

impl RankOptions {
    /// Resolves against `defaults`, naming the first bad option.
    pub fn resolve(&self, defaults: RankSettings) -> Result<RankSettings, LocalRankError> {
        let bad = |field: &str, reason: String| LocalRankError::invalid_option(field, reason);
        let weight_overrides = self.weights.unwrap_or_default();
        // Checked here (defaults are valid, so only the call's values can fail), so a bad
        // option is reported even when a model's weights would have been used instead.
        weight_overrides.over(defaults.weights).check().map_err(|(name, reason)| bad(&format!("weights.{name}"), reason))?;
        let lambda = match self.diversity {
            None => defaults.lambda,
            Some(l) if (0.0..=1.0).contains(&l) => l as f32,
            Some(l) => return Err(bad("diversity", format!("must be from 0 (most varied) to 1 (pure relevance), got {l}"))),
        };
        let count = |field: &str, value: Option<f64>, default: usize, max: usize| match value {
            None => Ok(default),
            Some(n) if n.fract() == 0.0 && n >= 0.0 && n <= max as f64 => Ok(n as usize),
            Some(n) => Err(bad(field, format!("must be a whole number from 0 to {max}, got {n}"))),
        };
        Ok(RankSettings {
            weights: defaults.weights,
            weight_overrides,
            lambda,
            diversify_top: count("diversifyTop", self.diversify_top, defaults.diversify_top, 1_000)?,
            history_length: count("historyLength", self.history_length, defaults.history_length, 10_000)?,
            explain: self.explain.unwrap_or(defaults.explain),
            explain_top: count("explainTop", self.explain_top, defaults.explain_top, crate::pool::MAX_POOL_ITEMS)?,
            backend: self.backend.unwrap_or(defaults.backend),
            all_parts: defaults.all_parts,
            now_ms: match self.now {
                None => defaults.now_ms,
                Some(t) if t.is_finite() && t >= 0.0 => Some(t),
                Some(t) => return Err(bad("now", format!("must be a time in ms since 1970, got {t}"))),
            },
        })
    }
}

impl RankSettings {
    /// The weights for one ranking: a model's tuned weights (from its model.json) when the
    /// model computed the intent, else the built-in defaults; the call's overrides over either.
    /// The tuned weights belong to that model's intent scores, so the cold path (history mean)
    /// keeps the defaults.
    pub fn weights_for(&self, model_blend: Option<BlendWeights>) -> BlendWeights {
        self.weight_overrides.over(model_blend.unwrap_or(self.weights))
    }
}
