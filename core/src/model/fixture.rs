//! Seeded random models in the export format, for tests, benchmarks and the warm-up of a
//! storefront that has no model yet. Not a trained model: its intents are meaningless.

use super::safetensors;
use super::{ModelConfig, ModelError, Precision, TextTowerConfig, FORMAT_NAME, TEXT_TOWER_VERSION, TIME_GAP_BOUNDARIES_SECONDS};
use crate::history::EventKind;

/// A tiny deterministic generator (SplitMix64): no dependency, same numbers on every platform.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// model.json for the given shape (positions from the window's start, as the trainer exports).
pub fn config_json(dim: usize, heads: usize, blocks: usize, max_len: usize, ffn_dim: usize, dtype: Precision) -> String {
    serde_json::json!({
        "format": FORMAT_NAME,
        "version": super::Positions::FromStart.format_version(),
        "dtype": dtype.as_str(),
        "dim": dim, "heads": heads, "blocks": blocks, "max_len": max_len, "ffn_dim": ffn_dim,
        "layer_norm_eps": 1e-5,
        "activation": super::ACTIVATION,
        "temperature": 0.05,
        "event_kinds": EventKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "time_gap_boundaries_seconds": TIME_GAP_BOUNDARIES_SECONDS,
        "num_items": 0,
        "positions": super::Positions::FromStart.as_str(),
    })
    .to_string()
}

fn f32_to_f16(v: f32) -> u16 {
    let bits = v.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32 - 127 + 15;
    let mant = bits & 0x7f_ffff;
    if exp >= 0x1f {
        return sign | 0x7c00;
    }
    if exp <= 0 {
        // Subnormal or zero: fixtures only need something in range, round toward zero.
        let m = (mant | 0x80_0000) >> (14 - exp).min(31);
        return sign | m as u16;
    }
    // Round to nearest, ties away (good enough for fixtures).
    let half = sign | ((exp as u16) << 10) | (mant >> 13) as u16;
    half + u16::from(mant & 0x1000 != 0)
}

/// A safetensors file from raw entries `(name, dtype, shape, little-endian bytes)`.
pub fn write_raw(tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    safetensors::write(tensors)
}

/// Encodes named f32 tensors as the exporter would for `dtype`.
pub fn encode_safetensors(tensors: &[(String, Vec<usize>, Vec<f32>)], dtype: Precision) -> Vec<u8> {
    let mut out: Vec<(String, &str, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, shape, data) in tensors {
        match dtype {
            Precision::F32 => out.push((name.clone(), "F32", shape.clone(), data.iter().flat_map(|v| v.to_le_bytes()).collect())),
            Precision::F16 => out.push((name.clone(), "F16", shape.clone(), data.iter().flat_map(|v| f32_to_f16(*v).to_le_bytes()).collect())),
            Precision::Int8 if shape.len() == 2 => {
                let mut q = Vec::with_capacity(data.len());
                let mut scales = Vec::with_capacity(shape[0]);
                for row in data.chunks(shape[1]) {
                    let scale = row.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
                    scales.push(scale);
                    q.extend(row.iter().map(|v| if scale > 0.0 { (v / scale).round().clamp(-127.0, 127.0) as i8 as u8 } else { 0 }));
                }
                out.push((name.clone(), "I8", shape.clone(), q));
                out.push((format!("{name}.scale"), "F32", vec![shape[0]], scales.iter().flat_map(|v| v.to_le_bytes()).collect()));
            }
            Precision::Int8 => out.push((name.clone(), "F32", shape.clone(), data.iter().flat_map(|v| v.to_le_bytes()).collect())),
        }
    }
    let refs: Vec<(&str, &str, Vec<usize>, Vec<u8>)> = out.iter().map(|(n, t, s, d)| (n.as_str(), *t, s.clone(), d.clone())).collect();
    safetensors::write(&refs)
}

/// Seeded random tensors for every name the config expects (same ranges as the model crate's
/// `ModelWeights::random`: gammas in [0.5, 1.5), embeddings ±0.5, matrices ±1/sqrt(fan_in)).
pub fn random_tensors(config: &ModelConfig, seed: u64) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut rng = SplitMix(seed);
    config
        .expected_tensors()
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let data: Vec<f32> = if name.ends_with(".gamma") {
                (0..n).map(|_| 1.0 + 0.5 * rng.uniform()).collect()
            } else {
                let scale = if shape.len() == 2 && !name.contains("embedding") { 1.0 / (shape[0] as f32).sqrt() } else { 0.5 };
                (0..n).map(|_| rng.uniform() * scale).collect()
            };
            (name, shape, data)
        })
        .collect()
}

/// `(model.safetensors bytes, model.json)` of a seeded random model.
pub fn random_model(dim: usize, heads: usize, blocks: usize, max_len: usize, ffn_dim: usize, dtype: Precision, seed: u64) -> Result<(Vec<u8>, String), ModelError> {
    random_model_with_text(dim, heads, blocks, max_len, ffn_dim, dtype, None, seed)
}

/// [`random_model`] with a text tower when `text` is given (model.json `text`, format version
/// 3, the `text.*` tensors seeded like the rest).
#[allow(clippy::too_many_arguments)] // the model's shape, spelled out as random_model's
pub fn random_model_with_text(
    dim: usize,
    heads: usize,
    blocks: usize,
    max_len: usize,
    ffn_dim: usize,
    dtype: Precision,
    text: Option<TextTowerConfig>,
    seed: u64,
) -> Result<(Vec<u8>, String), ModelError> {
    let mut json = config_json(dim, heads, blocks, max_len, ffn_dim, dtype);
    if let Some(text) = text {
        let mut value: serde_json::Value = serde_json::from_str(&json).map_err(|e| ModelError::Input(e.to_string()))?;
        value["version"] = TEXT_TOWER_VERSION.into();
        value["text"] = serde_json::to_value(text).map_err(|e| ModelError::Input(e.to_string()))?;
        json = value.to_string();
    }
    let config = ModelConfig::from_json(&json)?;
    Ok((encode_safetensors(&random_tensors(&config, seed), dtype), json))
}
