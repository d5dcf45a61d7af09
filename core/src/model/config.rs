//! model.json: the encoder's shape and the vocabularies baked into the weights.

use serde::{Deserialize, Serialize};

use crate::json_tree::{self, Fields};
use super::{ModelError, TextTowerConfig};
use crate::history::EventKind;
use crate::rank::{BlendWeights, LearnedRepeat, NeighbourSource, RepeatParams};

pub const FORMAT_NAME: &str = "localrank-intent-encoder";
/// The newest model.json version: 2 added `positions: "from_start"`. Version 1 files (no
/// `positions`, or `from_end`) still load; a `from_start` model is written as version 2 so that
/// an engine that predates it refuses the file instead of reading its positions wrongly.
/// Version 3 added the optional text tower (`text`); a model with one is written as version 3.
pub const FORMAT_VERSION: u32 = 3;
/// The version a model with a text tower is written as.
pub const TEXT_TOWER_VERSION: u32 = 3;
/// The feed-forward activation (GELU, tanh approximation): the only one the format has.
pub const ACTIVATION: &str = "gelu_tanh";

/// Time-gap bucket boundaries in seconds (1 s, 1 min, 10 min, 1 h, 6 h, 1 day, 3 days, 1 week,
/// 30 days, 90 days). Part of the model format: the exporter writes them into model.json and
/// the loader refuses a model trained with other ones.
pub const TIME_GAP_BOUNDARIES_SECONDS: [i64; 10] = [1, 60, 600, 3_600, 21_600, 86_400, 259_200, 604_800, 2_592_000, 7_776_000];
pub const NUM_GAP_BUCKETS: usize = TIME_GAP_BOUNDARIES_SECONDS.len() + 1;

/// Bucket of a gap in whole seconds: the number of boundaries <= the gap. Negative gaps (clock
/// skew) land in bucket 0 with simultaneous events, as in training.
pub fn gap_bucket(gap_seconds: i64) -> usize {
    TIME_GAP_BOUNDARIES_SECONDS.iter().take_while(|&&b| gap_seconds >= b).count()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    F32,
    F16,
    Int8,
}

impl Precision {
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Int8 => "int8",
        }
    }

    /// A precision named on a command line: "f32", "f16", "int8" (or "i8"), any case.
    pub fn parse(name: &str) -> Option<Precision> {
        match name.to_ascii_lowercase().as_str() {
            "f32" => Some(Precision::F32),
            "f16" => Some(Precision::F16),
            "int8" | "i8" => Some(Precision::Int8),
            _ => None,
        }
    }
}

/// Which row of `position_embedding` each history step of the encoder's window adds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Positions {
    /// The window's last step uses row `max_len − 1` (training left-padded every window to the
    /// right edge). Models exported before `positions` existed are read this way. A new event
    /// shifts every step's row, so each ranking after an event is a full forward pass.
    #[default]
    FromEnd,
    /// Step p of the window uses row p, and the window ([`ModelConfig::window_len`]) advances
    /// by half its length at a time: between two advances a new event only appends a row, and
    /// the engine recomputes just the rows that changed (`EncoderState`). What the trainer exports.
    FromStart,
}

impl std::str::FromStr for Positions {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "from_end" => Ok(Positions::FromEnd),
            "from_start" => Ok(Positions::FromStart),
            other => Err(format!("unknown position layout {other:?}: use from_start or from_end")),
        }
    }
}

impl Positions {
    pub fn as_str(self) -> &'static str {
        match self {
            Positions::FromEnd => "from_end",
            Positions::FromStart => "from_start",
        }
    }

    /// The model.json version a model with these positions is written as.
    pub fn format_version(self) -> u32 {
        match self {
            Positions::FromEnd => 1,
            Positions::FromStart => 2,
        }
    }

    /// [`ModelConfig::window_len`] for a model of `max_len` positions (the trainer's burn
    /// encoder calls this directly).
    pub fn window_len(self, max_len: usize, cap: usize, events: u64) -> usize {
        let cap = cap.clamp(1, max_len.max(1)) as u64;
        let len = match self {
            Positions::FromEnd => cap,
            Positions::FromStart if events <= cap => events,
            Positions::FromStart => {
                let step = (cap / 2).max(1);
                let anchor = (events - cap).div_ceil(step) * step;
                events - anchor
            }
        };
        len.min(events) as usize
    }

    /// [`ModelConfig::position_row`] for a model of `max_len` positions.
    pub fn row(self, max_len: usize, p: usize, n: usize) -> usize {
        match self {
            Positions::FromEnd => max_len - n + p,
            Positions::FromStart => p,
        }
    }
}

/// The fields of model.json the engine uses; the rest (dataset, metrics, file names) is ignored.
/// The exporter (`localrank-model`) writes this same struct, flattened into its model.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub format: String,
    pub version: u32,
    pub dtype: Precision,
    pub dim: usize,
    pub heads: usize,
    pub blocks: usize,
    pub max_len: usize,
    pub ffn_dim: usize,
    pub layer_norm_eps: f64,
    pub activation: String,
    pub temperature: f64,
    pub event_kinds: Vec<String>,
    pub time_gap_boundaries_seconds: Vec<i64>,
    #[serde(default)]
    pub num_items: usize,
    /// How steps map to position rows, and so which recent events form the window.
    #[serde(default)]
    pub positions: Positions,
    /// Blend weights tuned for this model by `localrank eval` on its validation split. They
    /// replace the built-in defaults whenever this model computes the intent; a `rank()` call's
    /// own `weights` still win. Absent in untuned models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blend: Option<BlendWeights>,
    /// The neighbour similarity `blend.neighbour` was tuned with. A pool using the other one
    /// gets neighbour weight 0 from this model (a call's own weight still applies). Absent:
    /// the weight applies to either (models tuned before there were two).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blend_neighbours: Option<NeighbourSource>,
    /// The repeat part's parameters tuned for this model (`localrank eval --protocol
    /// next-basket`); absent: the engine's defaults ([`RepeatParams::default`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<RepeatParams>,
    /// The learned "buy it again" scorer (`localrank eval --protocol next-basket`), which gives
    /// the repeat part in place of the `repeat` rule; absent: the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_scorer: Option<LearnedRepeat>,
    /// The text tower (`text.*` tensors): product text and search queries to vectors. Absent:
    /// the model knows items only by their vectors, and searches carry no vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextTowerConfig>,
}

/// Upper bounds that keep a hostile or mistaken config from asking for gigabytes; far above any
/// model a homepage would ship.
const MAX_DIM: usize = 4096;
const MAX_LEN: usize = 4096;
const MAX_BLOCKS: usize = 64;

impl ModelConfig {
    /// Reads and checks model.json. The engine's reader of the format (through
    /// [`super::json_tree`], not serde's derive, which costs the wasm ~7 KB gzip here); the
    /// tools' serde derive writes it, and `tests::the_reader_reads_what_serde_writes` holds the
    /// two to the same fields.
    pub fn from_json(json: &str) -> Result<ModelConfig, ModelError> {
        let tree = json_tree::parse(json).map_err(|e| ModelError::config("model.json", e.to_string()))?;
        let config = Self::read(&Fields::root(&tree, "model.json")?)?;
        config.validate()?;
        Ok(config)
    }

    fn read(f: &Fields<'_>) -> Result<ModelConfig, ModelError> {
        const COUNT: u64 = u32::MAX as u64;
        let precisions = [Precision::F32, Precision::F16, Precision::Int8];
        let positions = [Positions::FromEnd, Positions::FromStart];
        let sources = [NeighbourSource::Cooccurrence, NeighbourSource::Cosine];
        let blend = match f.object("blend")? {
            Some(b) => Some(BlendWeights {
                intent: b.number("intent")?,
                server: b.number("server")?,
                affinity: b.number("affinity")?,
                neighbour: b.number_or("neighbour", 0.0)?,
                repeat: b.number_or("repeat", BlendWeights::default().repeat)?,
            }),
            None => None,
        };
        let repeat = match f.object("repeat")? {
            Some(r) => Some(RepeatParams {
                half_life_days: r.number("half_life_days")?,
                due_mix: r.number("due_mix")?,
                rebuy_mix: r.number_or("rebuy_mix", 0.0)?,
            }),
            None => None,
        };
        let repeat_scorer = match f.object("repeat_scorer")? {
            Some(r) => Some(LearnedRepeat {
                features: r.texts("features")?,
                mean: r.numbers("mean")?,
                scale: r.numbers("scale")?,
                hidden: r.numbers("hidden")?,
                hidden_bias: r.numbers("hidden_bias")?,
                output: r.numbers("output")?,
                linear: r.numbers("linear")?,
                bias: r.number("bias")? as f32,
            }),
            None => None,
        };
        let text = match f.object("text")? {
            Some(t) => Some(TextTowerConfig {
                buckets: t.whole("buckets", u64::from(u32::MAX))? as u32,
                min_n: t.whole("min_n", u64::from(u8::MAX))? as u8,
                max_n: t.whole("max_n", u64::from(u8::MAX))? as u8,
                dim: t.whole("dim", COUNT)? as usize,
            }),
            None => None,
        };
        Ok(ModelConfig {
            format: f.text("format")?.to_owned(),
            version: f.whole("version", COUNT)? as u32,
            dtype: precisions[f.choice("dtype", &precisions.map(Precision::as_str))?],
            dim: f.whole("dim", COUNT)? as usize,
            heads: f.whole("heads", COUNT)? as usize,
            blocks: f.whole("blocks", COUNT)? as usize,
            max_len: f.whole("max_len", COUNT)? as usize,
            ffn_dim: f.whole("ffn_dim", COUNT)? as usize,
            layer_norm_eps: f.number("layer_norm_eps")?,
            activation: f.text("activation")?.to_owned(),
            temperature: f.number("temperature")?,
            event_kinds: f.texts("event_kinds")?,
            time_gap_boundaries_seconds: f.integers("time_gap_boundaries_seconds")?,
            num_items: f.whole_or("num_items", COUNT, 0)? as usize,
            positions: match f.get("positions") {
                Some(_) => positions[f.choice("positions", &positions.map(Positions::as_str))?],
                None => Positions::default(),
            },
            blend,
            blend_neighbours: match f.get("blend_neighbours") {
                Some(_) => Some(sources[f.choice("blend_neighbours", &sources.map(NeighbourSource::as_str))?]),
                None => None,
            },
            repeat,
            repeat_scorer,
            text,
        })
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        if self.format != FORMAT_NAME {
            return Err(ModelError::config("format", format!("is {:?}, expected {FORMAT_NAME:?}", self.format)));
        }
        if !(1..=FORMAT_VERSION).contains(&self.version) {
            return Err(ModelError::config("version", format!("{} is not supported (this engine reads versions 1 to {FORMAT_VERSION})", self.version)));
        }
        if self.version < self.positions.format_version() {
            return Err(ModelError::config("positions", format!("{:?} needs format version {} (the file says {})", self.positions.as_str(), self.positions.format_version(), self.version)));
        }
        if self.dim == 0 || self.dim > MAX_DIM {
            return Err(ModelError::config("dim", format!("{} must be in 1..={MAX_DIM}", self.dim)));
        }
        if self.heads == 0 || !self.dim.is_multiple_of(self.heads) {
            return Err(ModelError::config("heads", format!("{} must divide dim {}", self.heads, self.dim)));
        }
        if self.blocks == 0 || self.blocks > MAX_BLOCKS {
            return Err(ModelError::config("blocks", format!("{} must be in 1..={MAX_BLOCKS}", self.blocks)));
        }
        if self.max_len == 0 || self.max_len > MAX_LEN {
            return Err(ModelError::config("max_len", format!("{} must be in 1..={MAX_LEN}", self.max_len)));
        }
        if self.ffn_dim == 0 || self.ffn_dim > 4 * MAX_DIM {
            return Err(ModelError::config("ffn_dim", format!("{} must be in 1..={}", self.ffn_dim, 4 * MAX_DIM)));
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return Err(ModelError::config("layer_norm_eps", "must be a positive number"));
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(ModelError::config("temperature", "must be a positive number"));
        }
        if self.activation != ACTIVATION {
            return Err(ModelError::config("activation", format!("{:?} is not supported (only {ACTIVATION:?})", self.activation)));
        }
        let kinds: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        if self.event_kinds != kinds {
            return Err(ModelError::config("event_kinds", format!("{:?} differ from this engine's {kinds:?}", self.event_kinds)));
        }
        if self.time_gap_boundaries_seconds != TIME_GAP_BOUNDARIES_SECONDS {
            return Err(ModelError::config("time_gap_boundaries_seconds", "differ from this engine's boundaries"));
        }
        if let Some(text) = &self.text {
            if self.version < TEXT_TOWER_VERSION {
                return Err(ModelError::config("text", format!("needs format version {TEXT_TOWER_VERSION} (the file says {})", self.version)));
            }
            text.validate(MAX_DIM)?;
        }
        if let Some(blend) = &self.blend {
            blend.check().map_err(|(name, reason)| ModelError::config(&format!("blend.{name}"), reason))?;
        }
        if let Some(repeat) = &self.repeat {
            repeat.check().map_err(|(name, reason)| ModelError::config(&format!("repeat.{name}"), reason))?;
        }
        if let Some(scorer) = &self.repeat_scorer {
            scorer.check().map_err(|(name, reason)| ModelError::config(&format!("repeat_scorer.{name}"), reason))?;
        }
        Ok(())
    }

    /// How many of the most recent events the encoder reads (never more than `events`): at most
    /// `cap` (the model's `max_len`, or a smaller history length the caller asks for), given
    /// how many events the shopper has recorded so far (`events`: the engine's newest stored
    /// `seq`, which counts from 1; the trainer's history length).
    ///
    /// `FromEnd` models read the last `cap` events. `FromStart` models read the events since an
    /// anchor that moves in steps of `h = cap/2` (at least 1): `cap − h + 1 ..= cap` events once
    /// the history is longer than `cap`. So between two anchor moves every new event appends
    /// one step to an otherwise unchanged window (the incremental path), and the window does
    /// not depend on how many older events retention kept. One definition for the engine and
    /// the trainer's evaluation, which must read the same window the engine will.
    pub fn window_len(&self, cap: usize, events: u64) -> usize {
        self.positions.window_len(self.max_len, cap, events)
    }

    /// The `position_embedding` row of step `p` (0 = oldest) of an `n`-step window.
    pub fn position_row(&self, p: usize, n: usize) -> usize {
        self.positions.row(self.max_len, p, n)
    }

    pub fn head_dim(&self) -> usize {
        self.dim / self.heads
    }

    /// Every encoder tensor with its shape, in the exporter's order: the order in which the
    /// loader checks them, so the error names the first bad one deterministically.
    pub fn expected_tensors(&self) -> Vec<(String, Vec<usize>)> {
        let (d, f) = (self.dim, self.ffn_dim);
        let mut v = vec![
            ("kind_embedding".to_owned(), vec![EventKind::ALL.len(), d]),
            ("gap_embedding".to_owned(), vec![NUM_GAP_BUCKETS, d]),
            ("position_embedding".to_owned(), vec![self.max_len, d]),
        ];
        for i in 0..self.blocks {
            let p = format!("blocks.{i}");
            for ln in ["ln1", "ln2"] {
                v.push((format!("{p}.{ln}.gamma"), vec![d]));
                v.push((format!("{p}.{ln}.beta"), vec![d]));
            }
            for m in ["q", "k", "v", "o"] {
                v.push((format!("{p}.attn.{m}.weight"), vec![d, d]));
                v.push((format!("{p}.attn.{m}.bias"), vec![d]));
            }
            v.push((format!("{p}.ffn.up.weight"), vec![d, f]));
            v.push((format!("{p}.ffn.up.bias"), vec![f]));
            v.push((format!("{p}.ffn.down.weight"), vec![f, d]));
            v.push((format!("{p}.ffn.down.bias"), vec![d]));
        }
        v.push(("ln_final.gamma".to_owned(), vec![d]));
        v.push(("ln_final.beta".to_owned(), vec![d]));
        if let Some(text) = &self.text {
            v.extend(text.expected_tensors(d).into_iter().map(|(n, s)| (n.to_owned(), s)));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_buckets_follow_the_boundaries() {
        assert_eq!(gap_bucket(-5), 0);
        assert_eq!(gap_bucket(0), 0);
        assert_eq!(gap_bucket(1), 1);
        assert_eq!(gap_bucket(59), 1);
        assert_eq!(gap_bucket(60), 2);
        assert_eq!(gap_bucket(86_400), 6);
        assert_eq!(gap_bucket(10_000_000), 10);
        assert_eq!(NUM_GAP_BUCKETS, 11);
    }

    fn config(max_len: usize, positions: Positions) -> ModelConfig {
        let mut c = ModelConfig::from_json(&crate::model::fixture::config_json(8, 2, 1, max_len, 16, Precision::F32)).expect("fixture config");
        c.positions = positions;
        c
    }

    #[test]
    fn a_from_start_window_grows_one_event_at_a_time_and_advances_by_half() {
        let c = config(50, Positions::FromStart);
        let lens: Vec<usize> = (1..=130u64).map(|events| c.window_len(50, events)).collect();
        // Short histories: every event.
        assert_eq!(&lens[..50], &(1..=50).collect::<Vec<_>>()[..]);
        // Then 26..=50, 26..=50, …: the anchor moves by 25 when the window would exceed 50.
        assert_eq!(&lens[50..75], &(26..=50).collect::<Vec<_>>()[..]);
        assert_eq!(&lens[75..100], &(26..=50).collect::<Vec<_>>()[..]);
        for (seq, &len) in lens.iter().enumerate() {
            assert!((1..=50).contains(&len));
            // Between anchor moves (to 26 events) the window's first event stays the same.
            if seq > 0 {
                assert!(len == lens[seq - 1] + 1 || len == 26, "at seq {seq}: {len} after {}", lens[seq - 1]);
            }
        }
        // A smaller cap (the call's history length) bounds it the same way; cap 1 and 2 work.
        assert!((11..200).all(|events| (6..=10).contains(&c.window_len(10, events))));
        assert!((11..200).all(|events| (4..=5).contains(&c.window_len(5, events))), "odd cap: cap - cap/2 + 1 ..= cap");
        assert!((1..20).all(|events| c.window_len(1, events) == 1));
        assert!((2..20).all(|events| c.window_len(2, events) == 2));
        assert_eq!(c.window_len(500, 1000), c.window_len(50, 1000), "capped by max_len");
        assert_eq!(c.window_len(50, 0), 0, "no events, no window");
    }

    #[test]
    fn a_from_end_window_is_the_last_cap_events() {
        let c = config(50, Positions::FromEnd);
        assert!((50..200).all(|events| c.window_len(50, events) == 50));
        assert_eq!(c.window_len(20, 30), 20);
        assert_eq!(c.window_len(20, 3), 3, "never more than the events there are");
        assert_eq!((c.position_row(0, 3), c.position_row(2, 3)), (47, 49));
        let s = config(50, Positions::FromStart);
        assert_eq!((s.position_row(0, 3), s.position_row(2, 3)), (0, 2));
    }

    #[test]
    fn model_json_without_positions_is_a_from_end_model() {
        let mut v: serde_json::Value = serde_json::from_str(&crate::model::fixture::config_json(8, 2, 1, 10, 16, Precision::F32)).expect("json");
        assert_eq!(v["version"], 2, "from_start models are version 2");
        v.as_object_mut().expect("object").remove("positions");
        assert_eq!(ModelConfig::from_json(&v.to_string()).expect("valid").positions, Positions::FromEnd);
        v["version"] = 1.into();
        assert_eq!(ModelConfig::from_json(&v.to_string()).expect("a version-1 file loads").positions, Positions::FromEnd);
        // A version-1 file cannot claim from_start: an older engine would read it wrongly.
        v["positions"] = "from_start".into();
        let err = ModelConfig::from_json(&v.to_string()).expect_err("from_start needs version 2");
        assert!(err.to_string().contains("positions"), "{err}");
        v["version"] = (FORMAT_VERSION + 1).into();
        assert!(ModelConfig::from_json(&v.to_string()).expect_err("a future version").to_string().contains("version"));
        v["version"] = 2.into();
        v["positions"] = "sideways".into();
        let err = ModelConfig::from_json(&v.to_string()).expect_err("unknown variant");
        assert!(err.to_string().contains("sideways"), "{err}");
    }

    #[test]
    fn the_reader_reads_what_serde_writes() {
        // Every optional part set to a value other than its default: the engine's tree reader
        // and the tools' serde derive must read the exporter's JSON to the same config.
        let mut config = ModelConfig::from_json(&crate::model::fixture::config_json(8, 2, 1, 10, 16, Precision::Int8)).expect("fixture");
        let features: Vec<String> = crate::rank::REPEAT_FEATURES[..2].iter().map(|f| f.to_string()).collect();
        config.version = TEXT_TOWER_VERSION;
        config.num_items = 42;
        config.temperature = 0.07;
        config.blend = Some(BlendWeights { intent: 0.9, server: 0.2, affinity: 0.3, neighbour: 0.4, repeat: 0.6 });
        config.blend_neighbours = Some(NeighbourSource::Cosine);
        config.repeat = Some(RepeatParams { half_life_days: 12.5, due_mix: 0.25, rebuy_mix: 0.5 });
        config.repeat_scorer = Some(LearnedRepeat {
            features,
            mean: vec![0.5, -1.0],
            scale: vec![2.0, 0.25],
            hidden: vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.625],
            hidden_bias: vec![0.0, 1.0, -1.0],
            output: vec![1.5, -0.5, 0.25],
            linear: vec![0.75, -0.125],
            bias: -2.0,
        });
        config.text = Some(TextTowerConfig { buckets: 1024, min_n: 3, max_n: 5, dim: 4 });
        let json = serde_json::to_string(&config).expect("serializes");
        let read = ModelConfig::from_json(&json).expect("the engine reads the exporter's JSON");
        assert_eq!(read, config);
        assert_eq!(serde_json::from_str::<ModelConfig>(&json).expect("serde reads it"), read);
        // Absent optional parts read as their defaults, in both readers.
        let base = crate::model::fixture::config_json(8, 2, 1, 10, 16, Precision::F32);
        assert_eq!(ModelConfig::from_json(&base).expect("valid"), serde_json::from_str::<ModelConfig>(&base).expect("serde"));
        // Older files: a blend without `neighbour`/`repeat`, repeat params without `rebuy_mix`.
        let old = base.replacen('{', r#"{"blend":{"intent":1,"server":0.5,"affinity":0.25},"repeat":{"half_life_days":30,"due_mix":0.5},"#, 1);
        let (ours, theirs) = (ModelConfig::from_json(&old).expect("old blend"), serde_json::from_str::<ModelConfig>(&old).expect("serde"));
        assert_eq!(ours, theirs);
        assert_eq!(ours.blend.expect("blend").repeat, BlendWeights::default().repeat);
    }
}
