//! The text tower as a burn Module: hashed token rows of a text ([`TextHashing`], the engine's
//! tokenizer) averaged over a `[buckets, text_dim]` table and projected into the item space.
//! `localrank_core::model::TextTower` computes the same function on the device.
//!
//! An item the model learned is `ID row + text vector`; a share of training steps drop the ID
//! part (see `TrainConfig::id_dropout`), so the text vector alone is a usable item vector for a
//! product the model never saw, and a search query's vector is a usable history step.
use std::sync::Arc;

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig};
use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData};
use localrank_core::model::TextTowerConfig;
use localrank_core::text::{truncate_text, TextHashing};

use crate::data::Dataset;

/// Texts as their token rows, one bag per entry (compressed: `rows[offsets[i]..offsets[i+1]]`).
/// An empty bag is an entry without text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenBags {
    offsets: Vec<usize>,
    rows: Vec<u32>,
}

impl TokenBags {
    pub fn from_texts<'a>(hashing: &TextHashing, texts: impl IntoIterator<Item = Option<&'a str>>) -> TokenBags {
        let mut bags = TokenBags { offsets: vec![0], rows: Vec::new() };
        for text in texts {
            if let Some(t) = text {
                hashing.token_rows(truncate_text(t), &mut bags.rows);
            }
            bags.offsets.push(bags.rows.len());
        }
        bags
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> &[u32] {
        &self.rows[self.offsets[i]..self.offsets[i + 1]]
    }
}

/// Every item's text as the tower reads it: the full text (title, category, brand, details)
/// and the query a shopper might type for it (its category words, never its title).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemTextBags {
    pub full: TokenBags,
    pub query: TokenBags,
    /// Items with text and no training event: their ID row is never trained, so they are
    /// text-only everywhere (as a product added after training is in the browser).
    pub text_only: Vec<bool>,
    /// The ID mask of the text-only loss term: 0 for every item with text, 1 for the rest
    /// (they have nothing else to be ranked by).
    pub text_only_keep: Vec<f32>,
}

impl ItemTextBags {
    pub fn new(ds: &Dataset, hashing: &TextHashing) -> ItemTextBags {
        let joined: Vec<Option<String>> = (0..ds.num_items()).map(|i| ds.item_text.get(i).and_then(Option::as_ref).map(|t| t.joined())).collect();
        let full = TokenBags::from_texts(hashing, joined.iter().map(Option::as_deref));
        let popularity = ds.train_popularity();
        let text_only = (0..ds.num_items()).map(|i| popularity[i] == 0 && !full.get(i).is_empty()).collect();
        let text_only_keep = (0..ds.num_items()).map(|i| if full.get(i).is_empty() { 1.0 } else { 0.0 }).collect();
        ItemTextBags {
            full,
            query: TokenBags::from_texts(hashing, (0..ds.num_items()).map(|i| ds.item_text.get(i).and_then(Option::as_ref).and_then(|t| t.category_words()))),
            text_only,
            text_only_keep,
        }
    }

    /// Whether item `i` has text.
    pub fn has_text(&self, i: usize) -> bool {
        i < self.full.len() && !self.full.get(i).is_empty()
    }
}

/// Shared by the encoder and its clones (the optimiser clones the module every step).
pub type SharedBags = Arc<ItemTextBags>;

#[derive(Module, Debug)]
pub struct TextTower {
    /// `[buckets, text_dim]`.
    pub embedding: Embedding,
    /// `text_dim → dim`.
    pub proj: Linear,
}

impl TextTower {
    pub fn new(cfg: &TextTowerConfig, dim: usize, device: &Device) -> TextTower {
        // Rows start small: a token row is averaged with dozens of others, and the ID rows
        // (unit-ish norm) must not be drowned at the start.
        let init = Initializer::Normal { mean: 0.0, std: 1.0 / (cfg.dim as f64).sqrt() };
        TextTower {
            embedding: EmbeddingConfig::new(cfg.buckets as usize, cfg.dim).with_initializer(init).init(device),
            // No bias in training: a bias is one offset shared by every text vector, so new
            // products all leaned the same way (on a briefly trained Complete Journey model the
            // bias was ~96 % of each text vector, and any search lifted every new arrival) and
            // the ID + text item vectors lost angular spread. The format keeps `text.proj.bias`
            // (exported as zeros) so a tower trained otherwise still loads.
            proj: LinearConfig::new(cfg.dim, dim).with_bias(false).init(device),
        }
    }

    /// `[bags.len(), dim]`: each bag's mean token row, projected; a row of zeros for an empty
    /// bag (an item without text keeps its ID row alone).
    pub fn forward(&self, bags: &[&[u32]], device: &Device) -> Tensor<2> {
        let n = bags.len();
        let total: usize = bags.iter().map(|b| b.len()).sum();
        let tdim = self.embedding.weight.dims()[1];
        let dim = self.proj.weight.dims()[1];
        if total == 0 {
            return Tensor::zeros([n, dim], device);
        }
        let mut rows = Vec::with_capacity(total);
        let mut segment = Vec::with_capacity(total);
        let mut weight = Vec::with_capacity(total);
        let mut present = Vec::with_capacity(n);
        for (i, bag) in bags.iter().enumerate() {
            let w = 1.0 / bag.len().max(1) as f32;
            rows.extend(bag.iter().map(|&r| i64::from(r)));
            segment.extend(std::iter::repeat_n(i as i64, bag.len()));
            weight.extend(std::iter::repeat_n(w, bag.len()));
            present.push(if bag.is_empty() { 0.0f32 } else { 1.0 });
        }
        let picked = self.embedding.weight.val().select(0, Tensor::<1, Int>::from_data(TensorData::new(rows, [total]), device));
        let weighted = picked * Tensor::<2>::from_data(TensorData::new(weight, [total, 1]), device);
        let mean = Tensor::<2>::zeros([n, tdim], device).select_assign(0, Tensor::<1, Int>::from_data(TensorData::new(segment, [total]), device), weighted, IndexingUpdateOp::Add);
        self.proj.forward(mean) * Tensor::<2>::from_data(TensorData::new(present, [n, 1]), device)
    }

    /// One text's vector as plain numbers (what the engine's tower must reproduce).
    pub fn embed(&self, rows: &[u32], device: &Device) -> Vec<f32> {
        self.forward(&[rows], device).into_data().try_into_vec::<f32>().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::cpu_device;

    #[test]
    fn a_bag_is_the_projected_mean_of_its_rows_and_gradients_reach_the_rows() {
        let device = cpu_device();
        let cfg = TextTowerConfig { buckets: 16, min_n: 0, max_n: 0, dim: 3 };
        let tower = TextTower::new(&cfg, 4, &device);
        let e: Vec<f32> = tower.embedding.weight.val().into_data().try_into_vec::<f32>().expect("f32");
        let w: Vec<f32> = tower.proj.weight.val().into_data().try_into_vec::<f32>().expect("f32");
        assert!(tower.proj.bias.is_none(), "the trained projection has no bias");
        let b = [0.0f32; 4];
        let bag = [2u32, 5, 5];
        let got = tower.embed(&bag, &device);
        let mean: Vec<f32> = (0..3).map(|k| bag.iter().map(|&r| e[r as usize * 3 + k]).sum::<f32>() / 3.0).collect();
        for j in 0..4 {
            let want = b[j] + (0..3).map(|k| mean[k] * w[k * 4 + j]).sum::<f32>();
            assert!((got[j] - want).abs() < 1e-5, "{got:?}");
        }
        let both = tower.forward(&[&bag, &[]], &device).into_data().try_into_vec::<f32>().expect("f32");
        assert_eq!(&both[4..], &[0.0; 4], "no text, no vector");

        let ad = device.clone().autodiff();
        let tower = TextTower::new(&cfg, 4, &ad);
        let loss = tower.forward(&[&[1, 7], &[7]], &ad).sum();
        let grads = loss.backward();
        let g: Vec<f32> = tower.embedding.weight.val().grad(&grads).expect("grad").into_data().try_into_vec::<f32>().expect("f32");
        let row = |r: usize| g[r * 3..r * 3 + 3].iter().map(|x| x.abs()).sum::<f32>();
        assert!(row(1) > 0.0 && row(7) > row(1), "rows used get gradient, row 7 twice as much");
        assert_eq!(row(0), 0.0);
    }
}
