//! The intent encoder: a SASRec-class causal transformer as a burn Module.
//!
//! Per history position: item embedding + event-kind embedding + time-gap-bucket embedding +
//! position embedding; `blocks` pre-norm blocks (causal multi-head self-attention, then a GELU
//! feed-forward), each sub-layer residual with dropout; a final layer norm. The intent vector is
//! the final hidden state of the last position. Scores are cosine(intent, item) / temperature,
//! the same function the browser uses to rerank, so training optimises exactly what ships.
//! docs/model-format.md describes the same computation for re-implementers.
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{gelu_approximate, log_softmax, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::config::{EncoderConfig, Positions};
use crate::text_tower::{SharedBags, TextTower};

/// Additive attention bias for masked keys. Large and finite: exp(-1e9 - max) is exactly 0 in
/// f32, so masked keys contribute nothing, yet a fully masked row (a padding query) stays
/// finite instead of becoming NaN.
pub const MASK_BIAS: f32 = -1e9;

#[derive(Module, Debug)]
pub struct Block {
    pub ln1: LayerNorm,
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    pub ln2: LayerNorm,
    pub ff1: Linear,
    pub ff2: Linear,
    pub dropout: Dropout,
    pub heads: usize,
}

#[derive(Module, Debug)]
pub struct IntentEncoder {
    /// Row 0 is padding; item i of the dataset is row i + 1.
    pub item: Embedding,
    pub kind: Embedding,
    pub gap: Embedding,
    pub position: Embedding,
    pub blocks: Vec<Block>,
    pub ln_final: LayerNorm,
    pub dropout: Dropout,
    pub temperature: f64,
    /// Which position row each step adds (configuration, not a parameter).
    #[module(skip)]
    pub positions: Positions,
    /// The text tower, when the model has one (`EncoderConfig::text`).
    pub text: Option<TextTower>,
    /// The items' texts while training: an item's vector is its ID row plus its text vector.
    /// `None` once the text vectors are folded into the item rows (a model read back from its
    /// export, as the engine sees it): the tower then only embeds search queries.
    #[module(skip)]
    pub item_bags: Option<SharedBags>,
}

/// A padded batch of histories, left-padded to a common length (each row's real events last).
#[derive(Debug, Clone)]
pub struct Batch {
    pub size: usize,
    pub len: usize,
    /// Item rows (dataset item + 1; 0 = padding), kinds and gap buckets, row-major [size, len].
    pub items: Vec<i64>,
    pub kinds: Vec<i64>,
    pub gaps: Vec<i64>,
    /// Next-item targets per position (dataset item index) or -1 where there is none.
    pub targets: Vec<i64>,
    /// Steps whose input is a text instead of an item (searches): flat position `b * len + t`
    /// and the query's token rows. The step's vector is the text tower's, with no ID part.
    pub texts: Vec<(usize, Vec<u32>)>,
    /// Per dataset item, 1 to use its ID row in this step's inputs or 0 to drop it (training's
    /// ID dropout); `None` keeps every ID row.
    pub id_keep: Option<Vec<f32>>,
    /// Weight of the text-only term of the loss (0: none): the same positions scored against
    /// the items' text vectors alone (ID rows dropped for every item with text), so the text
    /// path learns to place an item by itself without disturbing the main ID + text ranking.
    pub text_loss: f32,
}

impl Batch {
    pub fn is_pad(&self, b: usize, t: usize) -> bool {
        self.items[b * self.len + t] == 0
    }

    /// For each flat position `b * len + t` in `rows`: the dataset items of row b's inputs
    /// 0..=t, without that position's target (each item once).
    pub fn seen_before(&self, rows: &[i64]) -> Vec<Vec<i64>> {
        rows.iter()
            .map(|&r| {
                let r = r as usize;
                let (b, t) = (r / self.len, r % self.len);
                let target = self.targets[r];
                let mut v: Vec<i64> = self.items[b * self.len..=b * self.len + t].iter().filter(|&&i| i > 0).map(|&i| i - 1).filter(|&i| i != target).collect();
                v.sort_unstable();
                v.dedup();
                v
            })
            .collect()
    }
}

fn linear(d_in: usize, d_out: usize, device: &Device) -> Linear {
    LinearConfig::new(d_in, d_out).init(device)
}

impl IntentEncoder {
    pub fn new(cfg: &EncoderConfig, device: &Device) -> IntentEncoder {
        let init = Initializer::Normal { mean: 0.0, std: 1.0 / (cfg.dim as f64).sqrt() };
        let emb = |n: usize| EmbeddingConfig::new(n, cfg.dim).with_initializer(init.clone()).init(device);
        let ln = || LayerNormConfig::new(cfg.dim).with_epsilon(cfg.layer_norm_eps).init(device);
        let blocks = (0..cfg.blocks)
            .map(|_| Block {
                ln1: ln(),
                q: linear(cfg.dim, cfg.dim, device),
                k: linear(cfg.dim, cfg.dim, device),
                v: linear(cfg.dim, cfg.dim, device),
                o: linear(cfg.dim, cfg.dim, device),
                ln2: ln(),
                ff1: linear(cfg.dim, cfg.ffn_dim, device),
                ff2: linear(cfg.ffn_dim, cfg.dim, device),
                dropout: DropoutConfig::new(cfg.dropout).init(),
                heads: cfg.heads,
            })
            .collect();
        IntentEncoder {
            item: emb(cfg.num_items + 1),
            kind: emb(crate::data::EventKind::ALL.len()),
            gap: emb(crate::time_gap::NUM_BUCKETS),
            position: emb(cfg.max_len),
            blocks,
            ln_final: ln(),
            dropout: DropoutConfig::new(cfg.dropout).init(),
            temperature: cfg.temperature,
            positions: cfg.positions,
            text: cfg.text.as_ref().map(|t| TextTower::new(t, cfg.dim, device)),
            item_bags: None,
        }
    }

    /// Dataset items' vectors `[items.len(), dim]` as the model uses them, inputs and outputs
    /// alike: the ID row (dropped where `keep` says 0, and for items that never had one), plus
    /// the text vector while the texts are not folded in. Without `text_grad` the text part is
    /// a constant for back-propagation: the main loss then trains the ID rows as the residual
    /// over the text vector and leaves the tower to the text-only term and the searches, so
    /// the two terms do not pull the shared hashed rows two ways (measured neutral on
    /// MovieLens-100k; docs/training.md, "Product text").
    pub fn item_vectors(&self, items: &[i64], keep: Option<&[f32]>, text_grad: bool, device: &Device) -> Tensor<2> {
        let n = items.len();
        let rows = Tensor::<1, Int>::from_data(TensorData::new(items.iter().map(|i| i + 1).collect::<Vec<_>>(), [n]), device);
        let mut v = self.item.weight.val().select(0, rows);
        if let (Some(tower), Some(bags)) = (&self.text, &self.item_bags) {
            let mask: Vec<f32> = items.iter().map(|&i| if bags.text_only[i as usize] { 0.0 } else { keep.map_or(1.0, |k| k[i as usize]) }).collect();
            if mask.iter().any(|&m| m != 1.0) {
                v = v * Tensor::<2>::from_data(TensorData::new(mask, [n, 1]), device);
            }
            let texts: Vec<&[u32]> = items.iter().map(|&i| bags.full.get(i as usize)).collect();
            let text = tower.forward(&texts, device);
            v = v + if text_grad { text } else { text.detach() };
        }
        v
    }

    /// Every item's vector `[num_items, dim]` (not normalised).
    fn item_matrix(&self, keep: Option<&[f32]>, text_grad: bool, device: &Device) -> Tensor<2> {
        let w = self.item.weight.val();
        let [n, d] = w.dims();
        if self.item_bags.is_none() {
            return w.slice([1..n, 0..d]);
        }
        let all: Vec<i64> = (0..n as i64 - 1).collect();
        self.item_vectors(&all, keep, text_grad, device)
    }

    /// The input rows `[size, len, dim]` of a batch with text: items as [`Self::item_vectors`],
    /// search steps as their query's text vector, padding as zeros.
    fn input_items(&self, batch: &Batch, device: &Device) -> Tensor<3> {
        let (b, l) = (batch.size, batch.len);
        let d = self.item.weight.dims()[1];
        let mut uniq: Vec<i64> = batch.items.iter().filter(|&&i| i > 0).map(|&i| i - 1).collect();
        uniq.sort_unstable();
        uniq.dedup();
        let mut parts = vec![Tensor::<2>::zeros([1, d], device)];
        if !uniq.is_empty() {
            parts.push(self.item_vectors(&uniq, batch.id_keep.as_deref(), false, device));
        }
        if let (Some(tower), false) = (&self.text, batch.texts.is_empty()) {
            let bags: Vec<&[u32]> = batch.texts.iter().map(|(_, rows)| rows.as_slice()).collect();
            parts.push(tower.forward(&bags, device));
        }
        let mut index: Vec<i64> = batch.items.iter().map(|&i| if i > 0 { 1 + uniq.binary_search(&(i - 1)).unwrap_or(0) as i64 } else { 0 }).collect();
        if self.text.is_some() {
            for (j, (pos, _)) in batch.texts.iter().enumerate() {
                index[*pos] = (1 + uniq.len() + j) as i64;
            }
        }
        let table = Tensor::cat(parts, 0);
        table.select(0, Tensor::<1, Int>::from_data(TensorData::new(index, [b * l]), device)).reshape([b, l, d])
    }

    /// Hidden states [size, len, dim] for every position of the batch.
    pub fn hidden(&self, batch: &Batch, device: &Device) -> Tensor<3> {
        let (b, l) = (batch.size, batch.len);
        let ids = |v: &[i64]| Tensor::<2, Int>::from_data(TensorData::new(v.to_vec(), [b, l]), device);
        let max_len = self.position.weight.dims()[0];
        // Rows are left-padded: a row's real steps are its last n, and step j of them uses the
        // engine's position row. Padding steps get row 0 (their outputs are masked out and
        // never used).
        let pos: Vec<i64> = (0..b)
            .flat_map(|bi| {
                let n = l - (0..l).take_while(|&t| batch.is_pad(bi, t)).count();
                (0..l).map(move |t| (t + n).checked_sub(l).map_or(0, |j| self.positions.row(max_len, j, n)) as i64)
            })
            .collect();
        let items = if self.item_bags.is_none() && (self.text.is_none() || batch.texts.is_empty()) { self.item.forward(ids(&batch.items)) } else { self.input_items(batch, device) };
        let x = items + self.kind.forward(ids(&batch.kinds)) + self.gap.forward(ids(&batch.gaps)) + self.position.forward(ids(&pos));
        let mut x = self.dropout.forward(x);

        let heads = self.blocks.first().map_or(1, |blk| blk.heads);
        let mut bias = vec![0f32; b * heads * l * l];
        for bi in 0..b {
            for h in 0..heads {
                for i in 0..l {
                    for j in 0..l {
                        if j > i || batch.is_pad(bi, j) {
                            bias[((bi * heads + h) * l + i) * l + j] = MASK_BIAS;
                        }
                    }
                }
            }
        }
        let bias = Tensor::<4>::from_data(TensorData::new(bias, [b, heads, l, l]), device);
        for blk in &self.blocks {
            x = blk.forward(x, bias.clone());
        }
        self.ln_final.forward(x)
    }

    /// How many of a history's last events (`events` in all, oldest first) the model reads:
    /// the engine's window (`ModelConfig::window_len`).
    pub fn window_len(&self, events: usize) -> usize {
        let max_len = self.position.weight.dims()[0];
        self.positions.window_len(max_len, max_len, events as u64)
    }

    /// Intent vectors [size, dim]: the final hidden state of the last position.
    pub fn intents(&self, batch: &Batch, device: &Device) -> Tensor<2> {
        let h = self.hidden(batch, device);
        let [b, l, d] = h.dims();
        h.slice([0..b, l - 1..l, 0..d]).reshape([b, d])
    }

    /// Unit-length item vectors [num_items, dim] (padding row excluded).
    /// The same encoder with its item table's rows (not the padding row) started from
    /// `vectors` (row-major `[num_items, dim]`), each row scaled to unit length: the norm a row of
    /// the random initialisation has on average, so the position and kind embeddings keep their
    /// relative weight in the input.
    pub fn with_item_vectors(mut self, vectors: &[f32], device: &Device) -> IntentEncoder {
        let w = self.item.weight.val();
        let [n, d] = w.dims();
        if vectors.len() != (n - 1) * d {
            return self;
        }
        let mut data: Vec<f32> = w.into_data().try_into_vec::<f32>().unwrap_or_default();
        if data.len() != n * d {
            return self;
        }
        for (row, v) in data[d..].chunks_mut(d).zip(vectors.chunks(d)) {
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 1e-12 {
                for (r, x) in row.iter_mut().zip(v) {
                    *r = x / norm;
                }
            }
        }
        self.item.weight = burn::module::Param::from_tensor(Tensor::<2>::from_data(TensorData::new(data, [n, d]), device));
        self
    }

    pub fn item_table(&self) -> Tensor<2> {
        l2_normalize(self.item_matrix(None, false, &self.item.weight.device()))
    }

    /// Mean full-softmax cross-entropy of the next item at every non-padding position. With
    /// `exclude_seen`, items the row has already shown up to that position (other than the
    /// target) are masked out of the softmax: the ranking drops them anyway (the engine sinks
    /// bought items, the evaluation excludes history), and without the mask the item vectors
    /// must push a history's own items away from its intent while pulling similar ones close.
    pub fn loss(&self, batch: &Batch, device: &Device, exclude_seen: bool) -> Tensor<1> {
        let h = self.hidden(batch, device);
        let [b, l, d] = h.dims();
        let rows: Vec<i64> = (0..b * l).filter(|&r| batch.targets[r] >= 0).map(|r| r as i64).collect();
        let targets: Vec<i64> = rows.iter().map(|&r| batch.targets[r as usize]).collect();
        let m = rows.len();
        let seen = if exclude_seen { batch.seen_before(&rows) } else { Vec::new() };
        let hn = l2_normalize(h.reshape([b * l, d]).select(0, Tensor::<1, Int>::from_data(TensorData::new(rows, [m]), device)));
        let bias = exclude_seen.then(|| {
            let n = self.item.weight.dims()[0] - 1;
            let mut bias = vec![0f32; m * n];
            for (i, items) in seen.iter().enumerate() {
                for &it in items {
                    bias[i * n + it as usize] = MASK_BIAS;
                }
            }
            Tensor::<2>::from_data(TensorData::new(bias, [m, n]), device)
        });
        let picked = Tensor::<2, Int>::from_data(TensorData::new(targets, [m, 1]), device);
        // keep: None for the main term (ID + constant text), the text-only mask for the other.
        let ce = |keep: Option<&[f32]>| {
            let table = l2_normalize(self.item_matrix(keep, keep.is_some(), device));
            let mut logits = hn.clone().matmul(table.transpose()).div_scalar(self.temperature);
            if let Some(bias) = &bias {
                logits = logits + bias.clone();
            }
            log_softmax(logits, 1).gather(1, picked.clone()).mean().neg()
        };
        let main = ce(None);
        match self.text_only_keep(batch) {
            Some(keep) => main + ce(Some(keep)).mul_scalar(batch.text_loss),
            None => main,
        }
    }

    /// The ID mask of the text-only loss term: 0 for every item with text, 1 for the rest
    /// (they have nothing else to be ranked by). `None` when the term is off.
    fn text_only_keep(&self, batch: &Batch) -> Option<&[f32]> {
        let bags = self.item_bags.as_ref().filter(|_| batch.text_loss > 0.0 && self.text.is_some())?;
        Some(&bags.text_only_keep)
    }

    /// Each intent's cosine with every item `[intents, num_items]`, as plain rows: how the
    /// evaluation scores the catalogue.
    pub fn cosine_scores(&self, intents: Tensor<2>) -> Vec<Vec<f32>> {
        let scores = l2_normalize(intents).matmul(self.item_table().transpose());
        let n = scores.dims()[1].max(1);
        // Built from f32 tensors on this device, so it always reads back as f32.
        let flat: Vec<f32> = scores.into_data().try_into_vec::<f32>().expect("score tensor is f32");
        flat.chunks(n).map(<[f32]>::to_vec).collect()
    }

    /// Sampled-softmax cross-entropy for catalogues where the full softmax is too slow: each
    /// position's target competes with `negatives` shared by the whole batch, drawn from the
    /// distribution `q` (probability per item). Logits get the usual log-Q correction
    /// (`s - ln(K q_i)`, for the target too) so the loss estimates the full softmax; a negative
    /// equal to the position's target (an accidental hit) is masked out.
    /// `exclude_seen` masks negatives the row has already shown, as in [`IntentEncoder::loss`].
    pub fn sampled_loss(&self, batch: &Batch, negatives: &[i64], q: &[f32], device: &Device, exclude_seen: bool) -> Tensor<1> {
        let h = self.hidden(batch, device);
        let [b, l, d] = h.dims();
        let rows: Vec<i64> = (0..b * l).filter(|&r| batch.targets[r] >= 0).map(|r| r as i64).collect();
        let seen: Vec<Vec<i64>> = if exclude_seen { batch.seen_before(&rows) } else { Vec::new() };
        let targets: Vec<i64> = rows.iter().map(|&r| batch.targets[r as usize]).collect();
        let (m, k) = (rows.len(), negatives.len());
        let hn = l2_normalize(h.reshape([b * l, d]).select(0, Tensor::<1, Int>::from_data(TensorData::new(rows, [m]), device)));
        // Only the rows this batch scores are normalised (the same per-row arithmetic as
        // `item_table`, without normalising — and back-propagating through — the whole catalogue
        // every step). Row i + 1 of the embedding is dataset item i.
        let text_keep = self.text_only_keep(batch);
        let kf = k as f32;
        // The log-Q correction ln(K q_i) of an item.
        let log_q = |i: i64| (kf * q[i as usize]).max(1e-30).ln();
        let pos_corr: Vec<f32> = targets.iter().map(|&t| log_q(t)).collect();
        // Each position's row is the negatives' log-Q corrections, with the slots of its target
        // and of the items it has seen masked. Built by copying one row and touching only the
        // masked slots: a lookup per (position, negative) pair was ~5M hash probes per batch.
        let base: Vec<f32> = negatives.iter().map(|&n| log_q(n)).collect();
        let mut slots: std::collections::HashMap<i64, Vec<usize>> = std::collections::HashMap::with_capacity(k);
        for (j, &n) in negatives.iter().enumerate() {
            // An item may be drawn more than once.
            slots.entry(n).or_default().push(j);
        }
        let mut neg_corr = Vec::with_capacity(m * k);
        for (i, &t) in targets.iter().enumerate() {
            let start = neg_corr.len();
            neg_corr.extend_from_slice(&base);
            let row = &mut neg_corr[start..];
            for item in std::iter::once(&t).chain(seen.get(i).into_iter().flatten()) {
                for &j in slots.get(item).map_or(&[][..], Vec::as_slice) {
                    row[j] = -MASK_BIAS;
                }
            }
        }
        let pos_corr = Tensor::<2>::from_data(TensorData::new(pos_corr, [m, 1]), device);
        let neg_corr = Tensor::<2>::from_data(TensorData::new(neg_corr, [m, k]), device);
        let ce = |keep: Option<&[f32]>| {
            let rows_of = |items: &[i64]| l2_normalize(self.item_vectors(items, keep, keep.is_some(), device));
            let pos = (hn.clone() * rows_of(&targets)).sum_dim(1).div_scalar(self.temperature) - pos_corr.clone();
            let neg = hn.clone().matmul(rows_of(negatives).transpose()).div_scalar(self.temperature) - neg_corr.clone();
            let logp = log_softmax(Tensor::cat(vec![pos, neg], 1), 1);
            logp.slice([0..m, 0..1]).mean().neg()
        };
        let main = ce(None);
        match text_keep {
            Some(keep) => main + ce(Some(keep)).mul_scalar(batch.text_loss),
            None => main,
        }
    }
}

impl Block {
    fn forward(&self, x: Tensor<3>, bias: Tensor<4>) -> Tensor<3> {
        let [b, l, d] = x.dims();
        let (h, dh) = (self.heads, d / self.heads);
        let a = self.ln1.forward(x.clone());
        let split = |t: Tensor<3>| t.reshape([b, l, h, dh]).swap_dims(1, 2);
        let (q, k, v) = (split(self.q.forward(a.clone())), split(self.k.forward(a.clone())), split(self.v.forward(a)));
        let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((dh as f64).sqrt()) + bias;
        let att = softmax(scores, 3).matmul(v).swap_dims(1, 2).reshape([b, l, d]);
        let x = x + self.dropout.forward(self.o.forward(att));
        let f = self.ff2.forward(gelu_approximate(self.ff1.forward(self.ln2.forward(x.clone()))));
        x + self.dropout.forward(f)
    }
}

pub fn l2_normalize(t: Tensor<2>) -> Tensor<2> {
    let norm = t.clone().powi_scalar(2).sum_dim(1).add_scalar(1e-12).sqrt();
    t / norm
}

/// One history row: item indices, event kinds, gap buckets, next-item targets (-1 = none).
pub type Row = (Vec<u32>, Vec<u8>, Vec<usize>, Vec<i64>);

/// Builds a left-padded batch. Each entry is (items, kinds, gap buckets, targets) of equal
/// length; rows longer than `len` keep their last `len` positions.
pub fn make_batch(rows: &[Row], len: usize) -> Batch {
    let size = rows.len();
    let mut batch = Batch { size, len, items: vec![0; size * len], kinds: vec![0; size * len], gaps: vec![0; size * len], targets: vec![-1; size * len], texts: Vec::new(), id_keep: None, text_loss: 0.0 };
    for (b, (items, kinds, gaps, targets)) in rows.iter().enumerate() {
        let n = items.len().min(len);
        let skip = items.len() - n;
        let off = b * len + (len - n);
        for i in 0..n {
            batch.items[off + i] = i64::from(items[skip + i]) + 1;
            batch.kinds[off + i] = i64::from(kinds[skip + i]);
            batch.gaps[off + i] = gaps[skip + i] as i64;
            batch.targets[off + i] = targets[skip + i];
        }
    }
    batch
}
