//! The text tower on the device: a product's text or a shopper's query to a vector in the item
//! space, so a product the trainer never saw can be placed and a search can steer the intent.
//!
//! `v = mean(E[rows]) · W + b`: the hashed token rows of the text ([`crate::text::TextHashing`])
//! averaged over the `[buckets, text_dim]` table E, then projected to the model's `dim`. The
//! trainer's burn module (`model/src/text_tower.rs`) computes the same function;
//! `model/tests/engine_parity.rs` checks the two agree. An item the trainer learned gets
//! `ID row + v` (already summed in its exported vector); a text-only item gets `v` alone, which
//! the trainer taught to stand in for the ID row by dropping the ID part on a share of steps.

use serde::{Deserialize, Serialize};

use super::ModelError;
use crate::text::{check_text, TextError, TextHashing};

/// Tensor names of the tower in model.safetensors (docs/model-format.md, "Text tower").
pub const TEXT_EMBEDDING: &str = "text.embedding";
pub const TEXT_PROJ_WEIGHT: &str = "text.proj.weight";
pub const TEXT_PROJ_BIAS: &str = "text.proj.bias";

/// Largest hashed table a model.json may ask for (64 MB of f32 at `text_dim` 1): far above what a
/// page should ship, low enough that a hostile file cannot ask for gigabytes.
const MAX_BUCKETS: u32 = 1 << 24;

/// model.json's `text`: how text is hashed and how wide the table's rows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextTowerConfig {
    pub buckets: u32,
    pub min_n: u8,
    pub max_n: u8,
    /// Width of a hashed table row (`text.embedding` is `[buckets, dim]`); the projection maps
    /// it to the model's `dim`.
    pub dim: usize,
}

impl TextTowerConfig {
    pub fn new(hashing: TextHashing, dim: usize) -> TextTowerConfig {
        TextTowerConfig { buckets: hashing.buckets, min_n: hashing.min_n, max_n: hashing.max_n, dim }
    }

    pub fn hashing(&self) -> TextHashing {
        TextHashing { buckets: self.buckets, min_n: self.min_n, max_n: self.max_n }
    }

    /// The tower's tensors and their shapes for a model of width `model_dim`.
    pub fn expected_tensors(&self, model_dim: usize) -> [(&'static str, Vec<usize>); 3] {
        [(TEXT_EMBEDDING, vec![self.buckets as usize, self.dim]), (TEXT_PROJ_WEIGHT, vec![self.dim, model_dim]), (TEXT_PROJ_BIAS, vec![model_dim])]
    }

    pub(crate) fn validate(&self, max_dim: usize) -> Result<(), ModelError> {
        self.hashing().check().map_err(|reason| ModelError::config("text", reason))?;
        if self.buckets > MAX_BUCKETS {
            return Err(ModelError::config("text.buckets", format!("{} must be at most {MAX_BUCKETS}", self.buckets)));
        }
        if self.dim == 0 || self.dim > max_dim {
            return Err(ModelError::config("text.dim", format!("{} must be in 1..={max_dim}", self.dim)));
        }
        Ok(())
    }
}

/// The loaded tower, widened to f32.
#[derive(Debug, Clone, PartialEq)]
pub struct TextTower {
    config: TextTowerConfig,
    model_dim: usize,
    /// `[buckets, config.dim]` row-major.
    embedding: Vec<f32>,
    /// `[config.dim, model_dim]` row-major (y = x·W + b).
    proj_weight: Vec<f32>,
    proj_bias: Vec<f32>,
}

impl TextTower {
    /// A tower from decoded tensors; the lengths must match the config (the loader checked the
    /// shapes, so this only fails when called by hand with wrong ones).
    pub fn new(config: TextTowerConfig, model_dim: usize, embedding: Vec<f32>, proj_weight: Vec<f32>, proj_bias: Vec<f32>) -> Result<TextTower, ModelError> {
        let want = [(config.buckets as usize) * config.dim, config.dim * model_dim, model_dim];
        let got = [embedding.len(), proj_weight.len(), proj_bias.len()];
        if want != got {
            return Err(ModelError::Input(format!("text tower tensors have {got:?} values, expected {want:?}")));
        }
        Ok(TextTower { config, model_dim, embedding, proj_weight, proj_bias })
    }

    pub fn config(&self) -> TextTowerConfig {
        self.config
    }

    /// Length of the vectors [`TextTower::embed`] returns: the model's `dim`.
    pub fn dim(&self) -> usize {
        self.model_dim
    }

    /// The vector of `text` (a product's words or a query). `field` names the input in the
    /// error (`items[3].text`, `query`) when the text is empty, too long or has no words.
    pub fn embed(&self, field: &str, text: &str) -> Result<Vec<f32>, TextError> {
        let text = check_text(field, text)?;
        let mut rows = Vec::new();
        self.config.hashing().token_rows(text, &mut rows);
        let mut out = vec![0.0; self.model_dim];
        self.embed_rows(&rows, &mut out);
        Ok(out)
    }

    /// `out = mean(E[rows]) · W + b`. `rows` is never empty for text that passed
    /// [`check_text`] (it has a word, and every word is a token).
    pub fn embed_rows(&self, rows: &[u32], out: &mut [f32]) {
        let td = self.config.dim;
        let mut mean = vec![0.0f32; td];
        for &r in rows {
            let row = &self.embedding[r as usize * td..(r as usize + 1) * td];
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        let inv = 1.0 / rows.len().max(1) as f32;
        out.copy_from_slice(&self.proj_bias);
        for (i, m) in mean.iter().enumerate() {
            let x = m * inv;
            for (o, w) in out.iter_mut().zip(&self.proj_weight[i * self.model_dim..(i + 1) * self.model_dim]) {
                *o += x * w;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tower() -> TextTower {
        let config = TextTowerConfig { buckets: 64, min_n: 3, max_n: 4, dim: 3 };
        let embedding = (0..64 * 3).map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0).collect();
        let proj_weight = (0..3 * 4).map(|i| (i as f32 - 6.0) / 6.0).collect();
        TextTower::new(config, 4, embedding, proj_weight, vec![0.1, -0.1, 0.0, 0.2]).expect("shapes")
    }

    #[test]
    fn embeds_the_mean_of_the_token_rows_projected() {
        let t = tower();
        let mut rows = Vec::new();
        t.config().hashing().token_rows("milk", &mut rows);
        let mut mean = [0.0f32; 3];
        for &r in &rows {
            for k in 0..3 {
                mean[k] += t.embedding[r as usize * 3 + k] / rows.len() as f32;
            }
        }
        let want: Vec<f32> = (0..4).map(|j| t.proj_bias[j] + (0..3).map(|k| mean[k] * t.proj_weight[k * 4 + j]).sum::<f32>()).collect();
        let got = t.embed("query", "  Milk ").expect("valid text");
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
        }
        assert_eq!(t.embed("query", "MILK").expect("valid"), got, "case does not matter");
    }

    #[test]
    fn bad_text_is_a_typed_error_naming_the_field() {
        let t = tower();
        assert_eq!(t.embed("items[2].text", "   "), Err(TextError::Empty { field: "items[2].text".into() }));
        assert!(matches!(t.embed("query", "?!"), Err(TextError::NoWords { .. })));
        assert!(matches!(t.embed("query", &"a".repeat(2000)), Err(TextError::TooLong { bytes: 2000, .. })));
    }

    #[test]
    fn wrong_lengths_are_refused() {
        let config = TextTowerConfig { buckets: 8, min_n: 0, max_n: 0, dim: 2 };
        assert!(TextTower::new(config, 4, vec![0.0; 15], vec![0.0; 8], vec![0.0; 4]).is_err());
        assert!(config.validate(4096).is_ok());
        assert!(TextTowerConfig { dim: 0, ..config }.validate(4096).is_err());
        assert!(TextTowerConfig { buckets: 0, ..config }.validate(4096).is_err());
    }
}
