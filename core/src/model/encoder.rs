//! The CPU forward pass: plain Rust, no allocation per position, and in the final block only
//! what the last position needs (its query, attention, feed-forward and norm; keys and values
//! of every position). The math is model/src/reference.rs's, which is in turn checked against
//! the burn Module; `model/tests/engine_parity.rs` checks this port against burn directly.

use super::kernels::linear_rows;
use super::{gap_bucket, ModelConfig, ModelError, Weights};
use crate::history::EventKind;

/// One history event as the encoder sees it. Oldest first; `timestamp` in ms since the epoch
/// (the history's own unit).
#[derive(Debug, Clone, Copy)]
pub struct EncoderStep<'a> {
    pub vector: &'a [f32],
    pub kind: EventKind,
    pub timestamp: f64,
}

/// The encoder's input after the embedding lookups: `len` rows of `dim` values (item vector +
/// kind + time-gap + position embeddings). Both backends start from it.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedInput {
    pub len: usize,
    pub x: Vec<f32>,
}

/// The loaded intent encoder. Cheap to share behind an `Rc`; `encode` takes `&self`.
#[derive(Debug, Clone)]
pub struct IntentEncoder {
    weights: Weights,
}

/// Whole seconds between two ms timestamps, as the model was trained (integer seconds).
/// A NaN gap (which validated history never holds) saturates to 0: bucket 0.
fn gap_seconds(from_ms: f64, to_ms: f64) -> i64 {
    ((to_ms - from_ms) / 1000.0).floor() as i64
}

pub(crate) fn layer_norm(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) {
    let n = x.len() as f32;
    let mean = x.iter().sum::<f32>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let inv = 1.0 / (var + eps).sqrt();
    for (((o, v), g), b) in out.iter_mut().zip(x).zip(gamma).zip(beta) {
        *o = (v - mean) * inv * g + b;
    }
}

pub(crate) fn gelu_tanh(x: f32) -> f32 {
    // sqrt(2/pi)
    const C: f32 = 0.797_884_6;
    0.5 * x * (1.0 + tanh(C * (x + 0.044_715 * x * x * x)))
}

/// tanh as a 13/6 rational polynomial (the approximation Eigen and XNNPACK use), within 4e-7
/// of the exact value everywhere (tests/runtime.rs checks it). libm's tanhf was ~15% of the
/// forward pass; this is a dozen multiply-adds and one division, with no branches.
pub fn tanh(x: f32) -> f32 {
    const A1: f32 = 4.893_524_6e-3;
    const A3: f32 = 6.372_619_3e-4;
    const A5: f32 = 1.485_722_4e-5;
    const A7: f32 = 5.122_297e-8;
    const A9: f32 = -8.604_672e-11;
    const A11: f32 = 2.000_188e-13;
    const A13: f32 = -2.760_768_5e-16;
    const B0: f32 = 4.893_525e-3;
    const B2: f32 = 2.268_434_6e-3;
    const B4: f32 = 1.185_347_1e-4;
    const B6: f32 = 1.198_258_4e-6;
    // Beyond ±7.9 tanh is ±1 in f32; clamping keeps the polynomial in its fitted range.
    let x = x.clamp(-7.905_311, 7.905_311);
    let x2 = x * x;
    let p = ((((((A13 * x2 + A11) * x2 + A9) * x2 + A7) * x2 + A5) * x2 + A3) * x2 + A1) * x;
    let q = ((B6 * x2 + B4) * x2 + B2) * x2 + B0;
    p / q
}

impl IntentEncoder {
    pub fn new(weights: Weights) -> IntentEncoder {
        IntentEncoder { weights }
    }

    /// Parses and validates `model.safetensors` + `model.json`.
    pub fn load(safetensors: &[u8], config_json: &str) -> Result<IntentEncoder, ModelError> {
        Ok(IntentEncoder::new(Weights::load(safetensors, config_json)?))
    }

    pub fn config(&self) -> &ModelConfig {
        &self.weights.config
    }

    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// The embedding sums for the last `max_len` steps. The time gap of step i is measured to
    /// step i+1, and for the last step to `now_ms` (the moment of ranking), in whole seconds.
    pub fn prepare(&self, steps: &[EncoderStep], now_ms: f64) -> Result<PreparedInput, ModelError> {
        let c = &self.weights.config;
        let d = c.dim;
        if steps.is_empty() {
            return Err(ModelError::Input("the history is empty; there is no intent to encode".into()));
        }
        let steps = &steps[steps.len().saturating_sub(c.max_len)..];
        let n = steps.len();
        let (kind, gap, pos) = (self.weights.get(self.weights.kind_embedding), self.weights.get(self.weights.gap_embedding), self.weights.get(self.weights.position_embedding));
        let mut x = Vec::with_capacity(n * d);
        for (p, step) in steps.iter().enumerate() {
            if step.vector.len() != d {
                return Err(ModelError::Input(format!("step {p} has a {}-dimensional item vector; the model expects {d}", step.vector.len())));
            }
            let next = steps.get(p + 1).map_or(now_ms, |s| s.timestamp);
            let k = step.kind.index() * d;
            let g = gap_bucket(gap_seconds(step.timestamp, next)) * d;
            // Left-aligned like training's left padding: the last step always uses row max_len-1.
            let q = (c.max_len - n + p) * d;
            x.extend((0..d).map(|i| step.vector[i] + kind[k + i] + gap[g + i] + pos[q + i]));
        }
        Ok(PreparedInput { len: n, x })
    }

    /// The intent vector for a history (oldest first) ranked at `now_ms`.
    pub fn encode(&self, steps: &[EncoderStep], now_ms: f64) -> Result<Vec<f32>, ModelError> {
        let input = self.prepare(steps, now_ms)?;
        self.forward(&input)
    }

    /// The transformer on prepared input (`input.len` in 1..=max_len, as `prepare` makes it).
    pub fn forward(&self, input: &PreparedInput) -> Result<Vec<f32>, ModelError> {
        let w = &self.weights;
        let c = &w.config;
        let (d, f, heads, n) = (c.dim, c.ffn_dim, c.heads, input.len);
        if n == 0 || n > c.max_len || input.x.len() != n * d {
            return Err(ModelError::Input(format!("prepared input of {} values for {n} steps does not fit the model", input.x.len())));
        }
        let dh = d / heads;
        let scale = 1.0 / (dh as f32).sqrt();
        let eps = c.layer_norm_eps as f32;
        let d3 = 3 * d;

        // All scratch for the whole pass, allocated once per call.
        let mut x = input.x.clone();
        let mut a = vec![0f32; n * d];
        let mut qkv = vec![0f32; n * d3];
        let mut att = vec![0f32; n * d];
        let mut probs = vec![0f32; n];
        let mut hidden = vec![0f32; n * f];

        for (bi, b) in w.blocks.iter().enumerate() {
            let last_block = bi + 1 == w.blocks.len();
            // Keys and values are needed for every position, even in the last block.
            for p in 0..n {
                layer_norm(&x[p * d..(p + 1) * d], w.get(b.ln1_gamma), w.get(b.ln1_beta), eps, &mut a[p * d..(p + 1) * d]);
            }
            linear_rows(&a, d, w.get(b.qkv_weight), w.get(b.qkv_bias), &mut qkv, d3, false);
            // Rows whose query, feed-forward and residual updates are computed: all of them in
            // early blocks, only the last one in the final block (nothing else reaches the output).
            let q0 = if last_block { n - 1 } else { 0 };
            for i in q0..n {
                let q_row = &qkv[i * d3..i * d3 + d];
                let out_row = &mut att[i * d..(i + 1) * d];
                out_row.fill(0.0);
                for h in 0..heads {
                    let hs = h * dh..(h + 1) * dh;
                    let qh = &q_row[hs.clone()];
                    // Causal: query i attends to keys 0..=i.
                    let mut max = f32::NEG_INFINITY;
                    for j in 0..=i {
                        let kh = &qkv[j * d3 + d + hs.start..j * d3 + d + hs.end];
                        let s = qh.iter().zip(kh).map(|(a, b)| a * b).sum::<f32>() * scale;
                        probs[j] = s;
                        max = max.max(s);
                    }
                    let mut z = 0.0;
                    for p in &mut probs[..=i] {
                        *p = (*p - max).exp();
                        z += *p;
                    }
                    let out = &mut out_row[hs.clone()];
                    for j in 0..=i {
                        let pj = probs[j] / z;
                        let vh = &qkv[j * d3 + 2 * d + hs.start..j * d3 + 2 * d + hs.end];
                        for (o, v) in out.iter_mut().zip(vh) {
                            *o += pj * v;
                        }
                    }
                }
            }
            // Residual updates touch only rows q0.., and every attention input (qkv) was
            // computed before them.
            linear_rows(&att[q0 * d..n * d], d, w.get(b.o_weight), w.get(b.o_bias), &mut x[q0 * d..n * d], d, true);
            for i in q0..n {
                layer_norm(&x[i * d..(i + 1) * d], w.get(b.ln2_gamma), w.get(b.ln2_beta), eps, &mut a[i * d..(i + 1) * d]);
            }
            let hid = &mut hidden[q0 * f..n * f];
            linear_rows(&a[q0 * d..n * d], d, w.get(b.up_weight), w.get(b.up_bias), hid, f, false);
            for v in hid.iter_mut() {
                *v = gelu_tanh(*v);
            }
            linear_rows(&hidden[q0 * f..n * f], f, w.get(b.down_weight), w.get(b.down_bias), &mut x[q0 * d..n * d], d, true);
        }
        let mut intent = vec![0f32; d];
        layer_norm(&x[(n - 1) * d..n * d], w.get(w.ln_final_gamma), w.get(w.ln_final_beta), eps, &mut intent);
        Ok(intent)
    }
}
