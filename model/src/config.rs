//! Model and training hyper-parameters.
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
pub use localrank_core::model::{Positions, TextTowerConfig};

/// Shape of the intent encoder. Everything the forward pass needs besides the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderConfig {
    pub dim: usize,
    pub heads: usize,
    pub blocks: usize,
    pub max_len: usize,
    pub ffn_dim: usize,
    pub num_items: usize,
    pub dropout: f64,
    /// Scores are cosine(intent, item) / temperature.
    pub temperature: f64,
    pub layer_norm_eps: f64,
    /// Position rows from the window's start (what the trainer trains now) or its end (models
    /// trained before; checkpoints without the field).
    #[serde(default)]
    pub positions: Positions,
    /// The text tower (product text and search queries), when the data has product text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextTowerConfig>,
}

impl EncoderConfig {
    pub fn new(num_items: usize) -> EncoderConfig {
        EncoderConfig { dim: 64, heads: 2, blocks: 2, max_len: 50, ffn_dim: 256, num_items, dropout: 0.2, temperature: 0.05, layer_norm_eps: 1e-5, positions: Positions::FromStart, text: None }
    }

    /// A very small model for tests and parity fixtures.
    pub fn tiny(num_items: usize) -> EncoderConfig {
        EncoderConfig { dim: 8, heads: 2, blocks: 2, max_len: 6, ffn_dim: 16, num_items, dropout: 0.0, temperature: 0.1, layer_norm_eps: 1e-5, positions: Positions::FromStart, text: None }
    }

    pub fn head_dim(&self) -> usize {
        self.dim / self.heads
    }

    /// The engine's view of this shape (f32, untuned): what the browser will load.
    pub fn engine_config(&self) -> localrank_core::model::ModelConfig {
        use localrank_core::model::{ModelConfig, Precision, FORMAT_NAME, TIME_GAP_BOUNDARIES_SECONDS};
        ModelConfig {
            format: FORMAT_NAME.to_owned(),
            version: if self.text.is_some() { localrank_core::model::TEXT_TOWER_VERSION } else { self.positions.format_version() },
            dtype: Precision::F32,
            dim: self.dim,
            heads: self.heads,
            blocks: self.blocks,
            max_len: self.max_len,
            ffn_dim: self.ffn_dim,
            layer_norm_eps: self.layer_norm_eps,
            activation: localrank_core::model::ACTIVATION.to_owned(),
            temperature: self.temperature,
            event_kinds: localrank_core::EventKind::ALL.iter().map(|k| k.as_str().to_owned()).collect(),
            time_gap_boundaries_seconds: TIME_GAP_BOUNDARIES_SECONDS.to_vec(),
            num_items: self.num_items,
            positions: self.positions,
            blend: None,
            blend_neighbours: None,
            repeat_scorer: None,
            repeat: None,
            text: self.text,
        }
    }

    pub fn check(&self) -> Result<()> {
        if self.dim == 0 || self.heads == 0 || !self.dim.is_multiple_of(self.heads) {
            return Err(ModelError::BadConfig(format!("dim {} must be a positive multiple of heads {}", self.dim, self.heads)));
        }
        if self.max_len == 0 || self.blocks == 0 || self.ffn_dim == 0 || self.num_items == 0 {
            return Err(ModelError::BadConfig("max_len, blocks, ffn_dim and num_items must be positive".into()));
        }
        if let Some(t) = &self.text {
            t.hashing().check().map_err(|e| ModelError::BadConfig(format!("text: {e}")))?;
            if t.dim == 0 {
                return Err(ModelError::BadConfig("text.dim must be positive".into()));
            }
        }
        if !(0.0..1.0).contains(&self.dropout) || self.temperature <= 0.0 {
            return Err(ModelError::BadConfig("dropout must be in [0,1) and temperature > 0".into()));
        }
        Ok(())
    }
}

/// Optimisation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f32,
    /// Stop when validation NDCG@10 has not improved for this many epochs.
    pub patience: usize,
    pub seed: u64,
    /// Non-overlapping windows of max_len events taken from the end of each user's training
    /// sequence. 1 = the original SASRec setup (the last max_len events of each user).
    pub windows_per_user: usize,
    /// Users used for the per-epoch validation (all when 0); a subset keeps epochs short on
    /// large data. The final test evaluation always uses every user.
    pub validation_users: usize,
    /// 0 = full softmax over the catalogue. Otherwise the number of shared negatives per batch
    /// for a log-Q-corrected sampled softmax (for large catalogues, where the full softmax
    /// dominates the step time).
    #[serde(default)]
    pub sampled_negatives: usize,
    /// Mask items a training row has already shown (other than the target) out of the softmax,
    /// as the ranking drops them. Derived from the data: on when users rarely repeat an item.
    #[serde(default)]
    pub exclude_seen: bool,
    /// Where the item vectors start: random, or BPR-MF's item factors fitted on the same
    /// training events (a co-occurrence structure the transformer then refines; on sparse logs
    /// the randomly started table can stay at chance for many epochs).
    #[serde(default)]
    pub item_init: ItemInit,
    /// With a text tower: the share of (item, step) pairs whose ID row is dropped from the
    /// step's inputs, so the encoder reads a history item by its text alone (as it must read a
    /// product added after training).
    #[serde(default = "default_id_dropout")]
    pub id_dropout: f64,
    /// With a text tower: weight of the loss term that ranks every item with text by its text
    /// vector alone (how a product added after training is placed); the main term ranks by
    /// ID row + text vector.
    #[serde(default = "default_text_loss")]
    pub text_loss: f64,
    /// With a text tower: the share of history steps replaced by a search for the category
    /// words of the item that follows (logs rarely hold searches; this teaches the `search`
    /// step kind).
    #[serde(default = "default_search_steps")]
    pub search_steps: f64,
}

fn default_id_dropout() -> f64 {
    0.1
}

fn default_text_loss() -> f64 {
    0.5
}

fn default_search_steps() -> f64 {
    0.1
}

/// How the encoder's item-vector table is initialised before training.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemInit {
    #[default]
    Random,
    Bpr,
}

impl std::str::FromStr for ItemInit {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "random" => Ok(ItemInit::Random),
            "bpr" => Ok(ItemInit::Bpr),
            other => Err(format!("unknown item initialisation {other:?}: use random or bpr")),
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig { epochs: 200, batch_size: 128, learning_rate: 1e-3, weight_decay: 1e-4, patience: 10, seed: 42, windows_per_user: 1, validation_users: 0, sampled_negatives: 0, exclude_seen: false, item_init: ItemInit::Random, id_dropout: default_id_dropout(), text_loss: default_text_loss(), search_steps: default_search_steps() }
    }
}
