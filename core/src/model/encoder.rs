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
#[derive(Debug, Clone, Default, PartialEq)]
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

#[inline]
pub(crate) fn layer_norm(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) {
    let n = x.len() as f32;
    let mean = x.iter().sum::<f32>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let inv = 1.0 / (var + eps).sqrt();
    for (((o, v), g), b) in out.iter_mut().zip(x).zip(gamma).zip(beta) {
        *o = (v - mean) * inv * g + b;
    }
}

#[inline(always)]
pub(crate) fn gelu_tanh(x: f32) -> f32 {
    // sqrt(2/pi)
    const C: f32 = 0.797_884_6;
    0.5 * x * (1.0 + tanh(C * (x + 0.044_715 * x * x * x)))
}

/// tanh as a 13/6 rational polynomial (the approximation Eigen and XNNPACK use), within 4e-7
/// of the exact value everywhere (tests/runtime.rs checks it). libm's tanhf was ~15% of the
/// forward pass; this is a dozen multiply-adds and one division, with no branches.
#[inline(always)]
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
            let q = c.position_row(p, n) * d;
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
        self.forward_from(input, &mut EncoderState::default())
    }

    /// The transformer on prepared input, starting from what `state` kept of the previous pass:
    /// only the rows from the first input row that differs are computed (none when the input is
    /// identical: the kept intent is returned). `state` then holds this pass. The result equals
    /// [`forward`](Self::forward) exactly (see [`EncoderState`]).
    pub fn forward_from(&self, input: &PreparedInput, state: &mut EncoderState) -> Result<Vec<f32>, ModelError> {
        let w = &self.weights;
        let c = &w.config;
        let (d, f, heads, n) = (c.dim, c.ffn_dim, c.heads, input.len);
        if n == 0 || n > c.max_len || input.x.len() != n * d {
            return Err(ModelError::Input(format!("prepared input of {} values for {n} steps does not fit the model", input.x.len())));
        }
        if let Some(intent) = state.reuse(input) {
            return Ok(intent);
        }
        let r = state.unchanged_rows(input, d).min(state.valid_rows);
        let dh = d / heads;
        let scale = 1.0 / (dh as f32).sqrt();
        let eps = c.layer_norm_eps as f32;
        let d3 = 3 * d;
        let nb = w.blocks.len();
        state.valid_rows = 0;
        state.blocks.resize_with(nb, BlockState::default);
        for blk in &mut state.blocks {
            blk.x.resize(n * d, 0.0);
            blk.qkv.resize(n * d3, 0.0);
        }
        state.blocks[0].x[r * d..].copy_from_slice(&input.x[r * d..]);

        // Scratch for the rows computed (r.. in early blocks, at least the last in the final one).
        let m = n - r.min(n - 1);
        let mut a = vec![0f32; m * d];
        let mut att = vec![0f32; m * d];
        let mut y = vec![0f32; m * d];
        let mut probs = vec![0f32; n];
        let mut hidden = vec![0f32; m * f];
        let mut intent = vec![0f32; d];

        for (bi, b) in w.blocks.iter().enumerate() {
            let last_block = bi + 1 == nb;
            let blk = &mut state.blocks[bi];
            // Keys and values of the new rows, even in the last block (later queries attend to them).
            for p in r..n {
                layer_norm(&blk.x[p * d..(p + 1) * d], w.get(b.ln1_gamma), w.get(b.ln1_beta), eps, &mut a[(p - r) * d..(p - r + 1) * d]);
            }
            linear_rows(&a[..(n - r) * d], d, w.get(b.qkv_weight), w.get(b.qkv_bias), &mut blk.qkv[r * d3..n * d3], d3, false);
            // Rows whose query, feed-forward and residual updates are computed: the new ones in
            // early blocks, only the last one in the final block (nothing else reaches the output).
            let q0 = if last_block { n - 1 } else { r };
            let rows = n - q0;
            let qkv = &blk.qkv;
            for i in q0..n {
                let q_row = &qkv[i * d3..i * d3 + d];
                let out_row = &mut att[(i - q0) * d..(i - q0 + 1) * d];
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
            // The block's output rows q0..n: residual + attention, then + feed-forward.
            let y = &mut y[..rows * d];
            y.copy_from_slice(&blk.x[q0 * d..n * d]);
            linear_rows(&att[..rows * d], d, w.get(b.o_weight), w.get(b.o_bias), y, d, true);
            for i in 0..rows {
                layer_norm(&y[i * d..(i + 1) * d], w.get(b.ln2_gamma), w.get(b.ln2_beta), eps, &mut a[i * d..(i + 1) * d]);
            }
            let hid = &mut hidden[..rows * f];
            linear_rows(&a[..rows * d], d, w.get(b.up_weight), w.get(b.up_bias), hid, f, false);
            for v in hid.iter_mut() {
                *v = gelu_tanh(*v);
            }
            linear_rows(hid, f, w.get(b.down_weight), w.get(b.down_bias), y, d, true);
            if last_block {
                layer_norm(&y[(rows - 1) * d..rows * d], w.get(w.ln_final_gamma), w.get(w.ln_final_beta), eps, &mut intent);
            } else {
                state.blocks[bi + 1].x[q0 * d..n * d].copy_from_slice(y);
            }
        }
        state.input.clone_from(input);
        state.valid_rows = n;
        state.recomputed = n - r;
        state.intent = Some(intent.clone());
        Ok(intent)
    }
}

/// One block's kept rows: its input (the residual stream) and the q|k|v projections.
#[derive(Debug, Clone, Default)]
struct BlockState {
    x: Vec<f32>,
    qkv: Vec<f32>,
}

/// What the last forward pass computed, kept so the next can skip what did not change: its
/// input rows, every block's input rows and keys/values, and the intent. A state belongs to one
/// encoder (the engine's `ModelRuntime` keeps one per loaded model): it records rows, not which
/// weights produced them.
///
/// Why the skip is exact: with causal attention, row i of every block depends on input rows
/// 0..=i only; and every kernel computes a row with the same float operations whichever rows
/// it is batched with (kernels.rs), so recomputing from the first changed input row gives the
/// full pass's result bit for bit. With a `FromStart` model a new event changes the last two
/// input rows (the new step, and the previous last step's time gap, which was measured to
/// "now" and is now measured to the new event): two rows per block instead of `max_len`.
#[derive(Debug, Clone, Default)]
pub struct EncoderState {
    input: PreparedInput,
    /// Leading rows whose block caches belong to `input` (0 when the last intent came from
    /// elsewhere, e.g. the WebGPU runtime, which keeps no rows here).
    valid_rows: usize,
    blocks: Vec<BlockState>,
    intent: Option<Vec<f32>>,
    recomputed: usize,
}

impl EncoderState {
    /// Remembers an intent computed elsewhere (WebGPU) for this input: an identical input reuses
    /// it; any other input is a full CPU pass.
    pub fn remember(&mut self, input: &PreparedInput, intent: &[f32]) {
        self.input.clone_from(input);
        self.valid_rows = 0;
        self.intent = Some(intent.to_vec());
        self.recomputed = 0;
    }

    /// The kept intent if `input` is identical (bit for bit) to the last pass's, counted as a
    /// pass that computed no row.
    pub fn reuse(&mut self, input: &PreparedInput) -> Option<Vec<f32>> {
        let same = input.len > 0 && self.input.len == input.len && self.unchanged_rows(input, input.x.len() / input.len) == input.len;
        let intent = self.intent.clone().filter(|_| same)?;
        self.recomputed = 0;
        Some(intent)
    }

    /// Forgets everything (the next pass is a full one), overwriting the kept rows first: they
    /// are derived from the shopper's history, which `forget()` promises to erase from memory.
    pub fn clear(&mut self) {
        self.input.x.fill(0.0);
        for block in &mut self.blocks {
            block.x.fill(0.0);
            block.qkv.fill(0.0);
        }
        if let Some(intent) = &mut self.intent {
            intent.fill(0.0);
        }
        *self = EncoderState::default();
    }

    /// Rows the last `forward_from` computed per block (0: the kept intent was reused).
    pub fn recomputed_rows(&self) -> usize {
        self.recomputed
    }

    /// Leading input rows identical (bit for bit) to the kept pass's.
    fn unchanged_rows(&self, input: &PreparedInput, d: usize) -> usize {
        let kept = self.input.x.chunks_exact(d);
        kept.zip(input.x.chunks_exact(d)).take_while(|(a, b)| a.iter().zip(*b).all(|(x, y)| x.to_bits() == y.to_bits())).count()
    }
}
