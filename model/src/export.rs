//! The files the browser and the candidate service load (layout: docs/model-format.md).
//!
//! A model directory holds `model.json` (config), `model.safetensors` (encoder weights),
//! `items.safetensors` (`item_vectors`, [num_items, dim]) and `items.json` (item ids, row order).
//! Precisions: f32; f16 (every tensor F16); int8 (every 2-D tensor as I8 plus a per-row F32
//! scale tensor `<name>.scale`, value = q * scale[row]; 1-D tensors stay F32).
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use half::f16;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use localrank::rank::BlendWeights;
use serde::{Deserialize, Serialize};

use crate::config::EncoderConfig;
use crate::data::event_kind;
use crate::error::{io_err, ModelError, Result};
use crate::time_gap;
use crate::weights::{ModelWeights, NamedTensor, ITEM_VECTORS};

pub use localrank::model::FORMAT_VERSION;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    F32,
    F16,
    Int8,
}

impl Precision {
    pub fn parse(s: &str) -> Option<Precision> {
        match s.to_ascii_lowercase().as_str() {
            "f32" => Some(Precision::F32),
            "f16" => Some(Precision::F16),
            "int8" | "i8" => Some(Precision::Int8),
            _ => None,
        }
    }
}

/// model.json.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelJson {
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
    pub num_items: usize,
    pub weights_file: String,
    pub items_file: String,
    pub item_ids_file: String,
    pub dataset: String,
    /// Evaluation numbers at export time (free-form; the engine ignores it).
    pub metrics: serde_json::Value,
    /// The engine's blend weights tuned for this model by `localrank eval` (validation split);
    /// absent until eval has run. The engine uses them as its defaults with this model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blend: Option<BlendWeights>,
}

impl ModelJson {
    pub fn new(cfg: &EncoderConfig, dtype: Precision, dataset: &str, metrics: serde_json::Value) -> ModelJson {
        ModelJson {
            format: localrank::model::FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            dtype,
            dim: cfg.dim,
            heads: cfg.heads,
            blocks: cfg.blocks,
            max_len: cfg.max_len,
            ffn_dim: cfg.ffn_dim,
            layer_norm_eps: cfg.layer_norm_eps,
            activation: localrank::model::ACTIVATION.into(),
            temperature: cfg.temperature,
            event_kinds: event_kind::vocabulary().into_iter().map(String::from).collect(),
            time_gap_boundaries_seconds: time_gap::BOUNDARIES.to_vec(),
            num_items: cfg.num_items,
            weights_file: "model.safetensors".into(),
            items_file: "items.safetensors".into(),
            item_ids_file: "items.json".into(),
            dataset: dataset.into(),
            metrics,
            blend: None,
        }
    }

    pub fn encoder_config(&self, dropout: f64) -> Result<EncoderConfig> {
        if self.version != FORMAT_VERSION {
            return Err(ModelError::BadConfig(format!("model format version {} is not supported (expected {FORMAT_VERSION})", self.version)));
        }
        if self.event_kinds != event_kind::vocabulary() || self.time_gap_boundaries_seconds != time_gap::BOUNDARIES || self.activation != localrank::model::ACTIVATION {
            return Err(ModelError::BadConfig("event kinds, time-gap boundaries or activation differ from this build's".into()));
        }
        let c = EncoderConfig { dim: self.dim, heads: self.heads, blocks: self.blocks, max_len: self.max_len, ffn_dim: self.ffn_dim, num_items: self.num_items, dropout, temperature: self.temperature, layer_norm_eps: self.layer_norm_eps };
        c.check()?;
        Ok(c)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ItemsJson {
    pub dim: usize,
    pub dtype: Precision,
    /// Original item ids; id k is row k of `item_vectors`.
    pub ids: Vec<String>,
}

/// An encoded tensor ready for safetensors.
struct Encoded {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn encode(name: &str, t: &NamedTensor, p: Precision, out: &mut BTreeMap<String, Encoded>) {
    match p {
        Precision::F32 => {
            out.insert(name.into(), Encoded { dtype: Dtype::F32, shape: t.shape.clone(), bytes: t.data.iter().flat_map(|v| v.to_le_bytes()).collect() });
        }
        Precision::F16 => {
            out.insert(name.into(), Encoded { dtype: Dtype::F16, shape: t.shape.clone(), bytes: t.data.iter().flat_map(|v| f16::from_f32(*v).to_le_bytes()).collect() });
        }
        Precision::Int8 if t.shape.len() == 2 => {
            let cols = t.shape[1];
            let mut q = Vec::with_capacity(t.data.len());
            let mut scales = Vec::with_capacity(t.shape[0]);
            for row in t.data.chunks(cols) {
                let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
                // An all-zero row keeps scale 0 and decodes to zeros.
                let scale = max / 127.0;
                scales.push(scale);
                q.extend(row.iter().map(|v| if scale > 0.0 { (v / scale).round().clamp(-127.0, 127.0) as i8 as u8 } else { 0 }));
            }
            out.insert(name.into(), Encoded { dtype: Dtype::I8, shape: t.shape.clone(), bytes: q });
            out.insert(format!("{name}.scale"), Encoded { dtype: Dtype::F32, shape: vec![t.shape[0]], bytes: scales.iter().flat_map(|v| v.to_le_bytes()).collect() });
        }
        Precision::Int8 => encode(name, t, Precision::F32, out),
    }
}

fn st_err(path: &Path) -> impl Fn(safetensors::SafeTensorError) -> ModelError + '_ {
    move |e| ModelError::SafeTensors { path: path.to_path_buf(), message: e.to_string() }
}

fn write_safetensors(path: &Path, tensors: &BTreeMap<String, Encoded>) -> Result<()> {
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, e)| TensorView::new(e.dtype, e.shape.clone(), &e.bytes).map(|v| (n.clone(), v)))
        .collect::<std::result::Result<_, _>>()
        .map_err(st_err(path))?;
    let meta = HashMap::from([("format".to_string(), "localrank".to_string())]);
    safetensors::serialize_to_file(views, Some(meta), path).map_err(st_err(path))
}

/// Reads one tensor back to f32, undoing f16 or int8 (+ `.scale`) encoding.
fn decode(st: &SafeTensors, name: &str, path: &Path) -> Result<NamedTensor> {
    let v = st.tensor(name).map_err(st_err(path))?;
    let shape = v.shape().to_vec();
    let b = v.data();
    let data: Vec<f32> = match v.dtype() {
        Dtype::F32 => b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        Dtype::F16 => b.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        Dtype::I8 => {
            let scale = decode(st, &format!("{name}.scale"), path)?;
            let cols = shape.get(1).copied().unwrap_or(1).max(1);
            if scale.data.len() * cols != b.len() {
                return Err(ModelError::BadWeights(format!("{name}.scale has {} rows for a {shape:?} tensor", scale.data.len())));
            }
            b.iter().enumerate().map(|(i, &q)| f32::from(q as i8) * scale.data[i / cols]).collect()
        }
        other => return Err(ModelError::BadWeights(format!("{name} has unsupported dtype {other:?}"))),
    };
    Ok(NamedTensor { shape, data })
}

/// Writes a complete model directory in the given precision.
pub fn write_model_dir(dir: &Path, w: &ModelWeights, item_ids: &[String], p: Precision, dataset: &str, metrics: serde_json::Value) -> Result<()> {
    w.check()?;
    if item_ids.len() != w.config.num_items {
        return Err(ModelError::BadWeights(format!("{} item ids for {} item vectors", item_ids.len(), w.config.num_items)));
    }
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let (mut enc_t, mut item_t) = (BTreeMap::new(), BTreeMap::new());
    for (name, t) in &w.tensors {
        encode(name, t, p, if name == ITEM_VECTORS { &mut item_t } else { &mut enc_t });
    }
    write_safetensors(&dir.join("model.safetensors"), &enc_t)?;
    write_safetensors(&dir.join("items.safetensors"), &item_t)?;
    let json = |path: &Path, v: &dyn erased::Json| -> Result<()> { std::fs::write(path, v.to_json()).map_err(io_err(path)) };
    json(&dir.join("model.json"), &ModelJson::new(&w.config, p, dataset, metrics))?;
    json(&dir.join("items.json"), &ItemsJson { dim: w.config.dim, dtype: p, ids: item_ids.to_vec() })?;
    Ok(())
}

/// Records tuned blend weights in a model directory's model.json (the weights files are untouched).
pub fn set_blend(dir: &Path, blend: BlendWeights) -> Result<()> {
    let path = dir.join("model.json");
    let bytes = std::fs::read(&path).map_err(io_err(&path))?;
    let mut mj: ModelJson = serde_json::from_slice(&bytes).map_err(|e| ModelError::Json { path: path.clone(), message: e.to_string() })?;
    mj.blend = Some(blend);
    std::fs::write(&path, erased::Json::to_json(&mj)).map_err(io_err(&path))
}

mod erased {
    pub trait Json {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> String {
            // Serialising plain structs of numbers and strings cannot fail.
            serde_json::to_string_pretty(self).unwrap_or_default()
        }
    }
}

/// Reads a model directory back as f32 weights (dequantised), with its config and item ids.
pub fn read_model_dir(dir: &Path) -> Result<(ModelWeights, ModelJson, Vec<String>)> {
    let read_json = |name: &str| -> Result<Vec<u8>> { std::fs::read(dir.join(name)).map_err(io_err(dir.join(name))) };
    let mj: ModelJson = serde_json::from_slice(&read_json("model.json")?).map_err(|e| ModelError::Json { path: dir.join("model.json"), message: e.to_string() })?;
    let ij: ItemsJson = serde_json::from_slice(&read_json(&mj.item_ids_file)?).map_err(|e| ModelError::Json { path: dir.join(&mj.item_ids_file), message: e.to_string() })?;
    let config = mj.encoder_config(0.0)?;
    let mut tensors = BTreeMap::new();
    for file in [&mj.weights_file, &mj.items_file] {
        let path = dir.join(file);
        let bytes = std::fs::read(&path).map_err(io_err(&path))?;
        let st = SafeTensors::deserialize(&bytes).map_err(st_err(&path))?;
        for name in st.names() {
            if !name.ends_with(".scale") {
                tensors.insert(name.to_string(), decode(&st, name, &path)?);
            }
        }
    }
    let w = ModelWeights { config, tensors };
    w.check()?;
    if ij.ids.len() != w.config.num_items {
        return Err(ModelError::BadWeights(format!("items.json lists {} ids for {} item vectors", ij.ids.len(), w.config.num_items)));
    }
    Ok((w, mj, ij.ids))
}

/// The weights as the browser would see them after a round trip through `p`.
pub fn round_trip(w: &ModelWeights, p: Precision) -> Result<ModelWeights> {
    let mut out = w.clone();
    for (name, t) in w.tensors.iter() {
        let mut enc = BTreeMap::new();
        encode(name, t, p, &mut enc);
        let e = &enc[name];
        let data: Vec<f32> = match e.dtype {
            Dtype::F32 => e.bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            Dtype::F16 => e.bytes.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            _ => {
                let s = &enc[&format!("{name}.scale")].bytes;
                let scales: Vec<f32> = s.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
                let cols = t.shape[1];
                e.bytes.iter().enumerate().map(|(i, &q)| f32::from(q as i8) * scales[i / cols]).collect()
            }
        };
        out.tensors.insert(name.clone(), NamedTensor { shape: t.shape.clone(), data });
    }
    Ok(out)
}
