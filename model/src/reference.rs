//! A plain-Rust forward pass over [`ModelWeights`], written straight from docs/model-format.md.
//! It is the executable form of that document: tests check it against the burn Module, so the
//! engine crate can port it (and check its own port against files from `ModelWeights::random`).
use crate::error::{ModelError, Result};
use crate::weights::{ModelWeights, NamedTensor};

/// One history event as the browser knows it.
#[derive(Debug, Clone)]
pub struct HistoryEvent<'a> {
    pub item_vector: &'a [f32],
    pub kind: usize,
    pub gap_bucket: usize,
}

fn layer_norm(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32) -> Vec<f32> {
    let n = x.len() as f32;
    let mean = x.iter().sum::<f32>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let inv = 1.0 / (var + eps).sqrt();
    x.iter().zip(gamma).zip(beta).map(|((v, g), b)| (v - mean) * inv * g + b).collect()
}

/// y = x·W + b with W stored row-major as [in, out].
fn linear(x: &[f32], w: &NamedTensor, b: &NamedTensor) -> Vec<f32> {
    let (d_in, d_out) = (w.shape[0], w.shape[1]);
    let mut y = b.data.clone();
    for i in 0..d_in {
        let xi = x[i];
        let row = &w.data[i * d_out..(i + 1) * d_out];
        for (yo, wo) in y.iter_mut().zip(row) {
            *yo += xi * wo;
        }
    }
    y
}

pub fn gelu_tanh(x: f32) -> f32 {
    0.5 * x * (1.0 + ((2.0 / std::f32::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh())
}

/// The intent vector (final layer-norm output at the last event) for up to `max_len` events,
/// oldest first: the model's window of a history (`ModelConfig::window_len`), cut by the caller.
pub fn intent(w: &ModelWeights, history: &[HistoryEvent]) -> Result<Vec<f32>> {
    let c = &w.config;
    let (d, n, heads) = (c.dim, history.len(), c.heads);
    if n == 0 || n > c.max_len {
        return Err(ModelError::BadConfig(format!("history length {n} must be in 1..={}", c.max_len)));
    }
    let eps = c.layer_norm_eps as f32;
    let row = |t: &NamedTensor, r: usize| -> Result<Vec<f32>> {
        t.data.get(r * d..(r + 1) * d).map(<[f32]>::to_vec).ok_or_else(|| ModelError::BadConfig(format!("index {r} out of range")))
    };
    let (kind, gap, pos) = (w.get("kind_embedding")?, w.get("gap_embedding")?, w.get("position_embedding")?);
    let engine = c.engine_config();
    let mut x: Vec<Vec<f32>> = Vec::with_capacity(n);
    for (p, ev) in history.iter().enumerate() {
        if ev.item_vector.len() != d {
            return Err(ModelError::BadConfig(format!("item vector has {} dims, model has {d}", ev.item_vector.len())));
        }
        let (k, g, q) = (row(kind, ev.kind)?, row(gap, ev.gap_bucket)?, row(pos, engine.position_row(p, n))?);
        x.push((0..d).map(|i| ev.item_vector[i] + k[i] + g[i] + q[i]).collect());
    }
    let dh = d / heads;
    let scale = 1.0 / (dh as f32).sqrt();
    for b in 0..c.blocks {
        let t = |s: &str| w.get(&format!("blocks.{b}.{s}"));
        let a: Vec<Vec<f32>> = x.iter().map(|v| Ok(layer_norm(v, &t("ln1.gamma")?.data, &t("ln1.beta")?.data, eps))).collect::<Result<_>>()?;
        let proj = |m: &str| -> Result<Vec<Vec<f32>>> { a.iter().map(|v| Ok(linear(v, t(&format!("attn.{m}.weight"))?, t(&format!("attn.{m}.bias"))?))).collect() };
        let (q, k, v) = (proj("q")?, proj("k")?, proj("v")?);
        for i in 0..n {
            let mut att = vec![0f32; d];
            for h in 0..heads {
                let r = h * dh..(h + 1) * dh;
                // Causal: query i attends to keys 0..=i.
                let s: Vec<f32> = (0..=i).map(|j| q[i][r.clone()].iter().zip(&k[j][r.clone()]).map(|(a, b)| a * b).sum::<f32>() * scale).collect();
                let m = s.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                let e: Vec<f32> = s.iter().map(|v| (v - m).exp()).collect();
                let z: f32 = e.iter().sum();
                for j in 0..=i {
                    for (o, vv) in att[r.clone()].iter_mut().zip(&v[j][r.clone()]) {
                        *o += e[j] / z * vv;
                    }
                }
            }
            let o = linear(&att, t("attn.o.weight")?, t("attn.o.bias")?);
            x[i].iter_mut().zip(o).for_each(|(xv, ov)| *xv += ov);
        }
        for xi in x.iter_mut() {
            let f = layer_norm(xi, &t("ln2.gamma")?.data, &t("ln2.beta")?.data, eps);
            let u: Vec<f32> = linear(&f, t("ffn.up.weight")?, t("ffn.up.bias")?).into_iter().map(gelu_tanh).collect();
            let y = linear(&u, t("ffn.down.weight")?, t("ffn.down.bias")?);
            xi.iter_mut().zip(y).for_each(|(xv, yv)| *xv += yv);
        }
    }
    Ok(layer_norm(&x[n - 1], &w.get("ln_final.gamma")?.data, &w.get("ln_final.beta")?.data, eps))
}

/// cosine(intent, item) / temperature: the model's score.
pub fn score(intent: &[f32], item: &[f32], temperature: f64) -> f32 {
    let dot: f32 = intent.iter().zip(item).map(|(a, b)| a * b).sum();
    let na: f32 = intent.iter().map(|a| a * a).sum::<f32>().sqrt();
    let nb: f32 = item.iter().map(|a| a * a).sum::<f32>().sqrt();
    dot / (na * nb).max(1e-12) / temperature as f32
}
