//! Loading and validating `model.safetensors` against model.json, into one contiguous f32
//! buffer. One buffer serves both backends: the CPU forward slices it, and the WebGPU runtime
//! uploads it as a single storage buffer and addresses tensors by the same offsets.

use std::ops::Range;

use super::safetensors::SafeTensors;
use crate::format::{self, DecodeError, TensorDtype};
use super::{ModelConfig, ModelError, Precision, TextTower};

/// Where one tensor sits in [`Weights::data`] (offsets in f32 elements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
}

impl Span {
    pub fn range(self) -> Range<usize> {
        self.offset..self.offset + self.len
    }
}

/// One transformer block's tensors. Q, K and V are fused into one `[dim, 3*dim]` matrix (row i
/// is `q[i] | k[i] | v[i]`) so a single pass over the input produces all three.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockWeights {
    pub ln1_gamma: Span,
    pub ln1_beta: Span,
    pub qkv_weight: Span,
    pub qkv_bias: Span,
    pub o_weight: Span,
    pub o_bias: Span,
    pub ln2_gamma: Span,
    pub ln2_beta: Span,
    pub up_weight: Span,
    pub up_bias: Span,
    pub down_weight: Span,
    pub down_bias: Span,
}

/// Every encoder tensor, widened to f32. Linear weights keep the export's `[in, out]` row-major
/// layout (y = x·W + b): the forward walks W row by row, contiguous in `out`.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    pub config: ModelConfig,
    pub data: Vec<f32>,
    pub kind_embedding: Span,
    pub gap_embedding: Span,
    pub position_embedding: Span,
    pub blocks: Vec<BlockWeights>,
    pub ln_final_gamma: Span,
    pub ln_final_beta: Span,
    /// The text tower, in its own buffer: the GPU runtime uploads `data` and has no use for a
    /// hashed table of a few MB.
    pub text: Option<TextTower>,
}

/// Decoder for one validated tensor.
struct Loader<'a> {
    st: SafeTensors<'a>,
    precision: Precision,
    out: Vec<f32>,
    /// Names read so far (a few dozen: a Vec is smaller code than a set).
    seen: Vec<String>,
}

impl Loader<'_> {
    fn dtype_err(name: &str, found: &str, expected: &str) -> ModelError {
        ModelError::WrongDtype { name: name.to_owned(), found: found.to_owned(), expected: expected.to_owned() }
    }

    /// Checks tensor `name` against `shape` and the config's precision, and decodes it to f32.
    fn decode(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, ModelError> {
        let view = self.st.get(name).ok_or_else(|| ModelError::MissingTensor { name: name.to_owned() })?;
        let dtype = match (self.precision, shape.len()) {
            (Precision::F32, _) | (Precision::Int8, 1) => TensorDtype::F32,
            (Precision::F16, _) => TensorDtype::F16,
            (Precision::Int8, _) => TensorDtype::I8,
        };
        if view.dtype != dtype.name() {
            return Err(Self::dtype_err(name, view.dtype, dtype.name()));
        }
        if view.shape != shape {
            return Err(ModelError::WrongShape { name: name.to_owned(), found: view.shape.to_vec(), expected: shape.to_vec() });
        }
        self.seen.push(name.to_owned());
        let scale = if dtype == TensorDtype::I8 {
            let scale_name = format!("{name}.scale");
            let scale = self.st.get(&scale_name).ok_or_else(|| ModelError::MissingTensor { name: scale_name.clone() })?;
            if scale.dtype != "F32" {
                return Err(Self::dtype_err(&scale_name, scale.dtype, "F32"));
            }
            if scale.shape != [shape[0]] {
                return Err(ModelError::WrongShape { name: scale_name, found: scale.shape.to_vec(), expected: vec![shape[0]] });
            }
            self.seen.push(scale_name);
            Some(scale.data)
        } else {
            None
        };
        // parse() already matched byte counts to shapes, so only a bad scale can fail here.
        let values = format::decode_tensor(dtype, view.data, shape, scale).map_err(|e| match e {
            DecodeError::NonFiniteScale { .. } => ModelError::NonFinite { name: format!("{name}.scale") },
            other => ModelError::Container(format!("tensor `{name}` {other}")),
        })?;
        if values.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::NonFinite { name: name.to_owned() });
        }
        Ok(values)
    }

    fn push(&mut self, values: &[f32]) -> Span {
        let offset = self.out.len();
        self.out.extend_from_slice(values);
        Span { offset, len: values.len() }
    }

    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Span, ModelError> {
        let values = self.decode(name, shape)?;
        Ok(self.push(&values))
    }

    /// Q, K, V (checked in the exporter's order: q.weight, q.bias, k.weight, …) fused into a
    /// `[d, 3d]` weight and a `[3d]` bias.
    fn take_qkv(&mut self, prefix: &str, d: usize) -> Result<(Span, Span), ModelError> {
        let mut w = Vec::with_capacity(3);
        let mut b = Vec::with_capacity(3);
        for m in ["q", "k", "v"] {
            w.push(self.decode(&format!("{prefix}.attn.{m}.weight"), &[d, d])?);
            b.push(self.decode(&format!("{prefix}.attn.{m}.bias"), &[d])?);
        }
        let offset = self.out.len();
        for r in 0..d {
            for part in &w {
                self.out.extend_from_slice(&part[r * d..(r + 1) * d]);
            }
        }
        let weight = Span { offset, len: self.out.len() - offset };
        let bias: Vec<f32> = b.concat();
        Ok((weight, self.push(&bias)))
    }
}

impl Weights {
    /// Parses model.json and model.safetensors and checks every tensor's name, dtype and shape.
    pub fn load(safetensors: &[u8], config_json: &str) -> Result<Weights, ModelError> {
        Self::from_parts(safetensors, ModelConfig::from_json(config_json)?)
    }

    pub fn from_parts(safetensors: &[u8], config: ModelConfig) -> Result<Weights, ModelError> {
        config.validate()?;
        let st = SafeTensors::parse(safetensors)?;
        let (d, f) = (config.dim, config.ffn_dim);
        let mut l = Loader { st, precision: config.dtype, out: Vec::new(), seen: Vec::new() };

        // Tensors are checked in the exporter's order, so the error names the first bad one.
        let kinds = crate::history::EventKind::ALL.len();
        let kind_embedding = l.take("kind_embedding", &[kinds, d])?;
        let gap_embedding = l.take("gap_embedding", &[super::NUM_GAP_BUCKETS, d])?;
        let position_embedding = l.take("position_embedding", &[config.max_len, d])?;
        let mut blocks = Vec::with_capacity(config.blocks);
        for i in 0..config.blocks {
            let n = |s: &str| format!("blocks.{i}.{s}");
            let ln1_gamma = l.take(&n("ln1.gamma"), &[d])?;
            let ln1_beta = l.take(&n("ln1.beta"), &[d])?;
            let ln2_gamma = l.take(&n("ln2.gamma"), &[d])?;
            let ln2_beta = l.take(&n("ln2.beta"), &[d])?;
            let (qkv_weight, qkv_bias) = l.take_qkv(&format!("blocks.{i}"), d)?;
            let o_weight = l.take(&n("attn.o.weight"), &[d, d])?;
            let o_bias = l.take(&n("attn.o.bias"), &[d])?;
            let up_weight = l.take(&n("ffn.up.weight"), &[d, f])?;
            let up_bias = l.take(&n("ffn.up.bias"), &[f])?;
            let down_weight = l.take(&n("ffn.down.weight"), &[f, d])?;
            let down_bias = l.take(&n("ffn.down.bias"), &[d])?;
            blocks.push(BlockWeights { ln1_gamma, ln1_beta, qkv_weight, qkv_bias, o_weight, o_bias, ln2_gamma, ln2_beta, up_weight, up_bias, down_weight, down_bias });
        }
        let ln_final_gamma = l.take("ln_final.gamma", &[d])?;
        let ln_final_beta = l.take("ln_final.beta", &[d])?;
        let text = match config.text {
            Some(tc) => {
                let [(en, es), (wn, ws), (bn, bs)] = tc.expected_tensors(d);
                Some(TextTower::new(tc, d, l.decode(en, &es)?, l.decode(wn, &ws)?, l.decode(bn, &bs)?)?)
            }
            None => None,
        };

        // Anything else in the file means it was exported for a different model. Item vectors
        // belong in items.safetensors, but a combined file is harmless: they are ignored.
        if let Some(extra) = l.st.names().find(|n| !l.seen.iter().any(|seen| seen == n) && *n != "item_vectors" && *n != "item_vectors.scale") {
            return Err(ModelError::UnexpectedTensor { name: extra.to_owned() });
        }
        Ok(Weights { config, data: l.out, kind_embedding, gap_embedding, position_embedding, blocks, ln_final_gamma, ln_final_beta, text })
    }

    pub fn get(&self, span: Span) -> &[f32] {
        &self.data[span.range()]
    }
}
