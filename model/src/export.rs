//! The files the browser and the candidate service load (layout: docs/model-format.md).
//!
//! A model directory holds `model.json` (config), `model.safetensors` (encoder weights),
//! `items.safetensors` (`item_vectors`, [num_items, dim]) and `items.json` (item ids, row order).
//! Precisions: f32; f16 (every tensor F16); int8 (every 2-D tensor as I8 plus a per-row F32
//! scale tensor `<name>.scale`, value = q * scale[row]; 1-D tensors stay F32).
//! `items.safetensors` may also hold each item's co-occurrence neighbours: `item_neighbours`
//! (I32 row indices `[num_items, k]`, -1 pads) and `item_neighbour_weights` (the similarities,
//! `[num_items, k]`, in the export's precision like `item_vectors`), and each item's re-buy
//! rate, `item_rebuy_rates` (F32 `[num_items]`, in every precision: 4 bytes an item).
//! A model with a text tower may append text-only rows after the learned ones: catalogue
//! products it never trained on, placed by their text (items.json `learned`; the
//! neighbour lists and re-buy rates cover the learned rows only).
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use half::f16;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use localrank_core::format::{self, ItemNeighbours, ItemTable, TensorDtype, ITEM_NEIGHBOURS, ITEM_NEIGHBOUR_WEIGHTS, ITEM_REBUY_RATES};
use localrank_core::model::ModelConfig;
use localrank_core::rank::{BlendWeights, LearnedRepeat, NeighbourSource, RepeatParams};
use serde::{Deserialize, Serialize};

use crate::config::EncoderConfig;
use crate::data::ItemText;
use crate::device::cpu_device;
use crate::error::{io_err, ModelError, Result};
use crate::text_tower::TokenBags;
use crate::weights::{ModelWeights, NamedTensor, ITEM_VECTORS};

pub use localrank_core::model::FORMAT_VERSION;

pub use localrank_core::model::Precision;

/// model.json: the engine's config (the one definition of the format's fields) plus what the
/// exporter adds for tools — file names, the data set, evaluation numbers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelJson {
    #[serde(flatten)]
    pub config: ModelConfig,
    pub weights_file: String,
    pub items_file: String,
    pub item_ids_file: String,
    pub dataset: String,
    /// Evaluation numbers at export time (free-form; the engine ignores it).
    pub metrics: serde_json::Value,
}

impl ModelJson {
    pub fn new(cfg: &EncoderConfig, dtype: Precision, dataset: &str, metrics: serde_json::Value) -> ModelJson {
        ModelJson {
            config: ModelConfig { dtype, ..cfg.engine_config() },
            weights_file: "model.safetensors".into(),
            items_file: "items.safetensors".into(),
            item_ids_file: "items.json".into(),
            dataset: dataset.into(),
            metrics,
        }
    }

    /// The encoder shape, after the engine's own checks (format, version, vocabularies, ranges).
    pub fn encoder_config(&self, dropout: f64) -> Result<EncoderConfig> {
        let c = &self.config;
        c.validate().map_err(|e| ModelError::BadConfig(e.to_string()))?;
        let c = EncoderConfig { dim: c.dim, heads: c.heads, blocks: c.blocks, max_len: c.max_len, ffn_dim: c.ffn_dim, num_items: c.num_items, dropout, temperature: c.temperature, layer_norm_eps: c.layer_norm_eps, positions: c.positions, text: c.text };
        c.check()?;
        Ok(c)
    }
}

/// items.json: the item ids in row order (one definition with the service's reader).
pub use localrank_core::format::ItemsJson;

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
                let (scale, codes) = quantize_row(row);
                scales.push(scale);
                q.extend(codes.iter().map(|&c| c as u8));
            }
            out.insert(name.into(), Encoded { dtype: Dtype::I8, shape: t.shape.clone(), bytes: q });
            out.insert(format!("{name}.scale"), Encoded { dtype: Dtype::F32, shape: vec![t.shape[0]], bytes: scales.iter().flat_map(|v| v.to_le_bytes()).collect() });
        }
        Precision::Int8 => encode(name, t, Precision::F32, out),
    }
}

/// One row to int8: `value ≈ q * scale`. The scale is the one, among `max|row| / 127` and up to
/// 20% below it, with the least squared error: clipping the largest value slightly buys a finer
/// grid for all the others. An all-zero row keeps scale 0 and decodes to zeros.
pub fn quantize_row(row: &[f32]) -> (f32, Vec<i8>) {
    let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
    if max == 0.0 || !max.is_finite() {
        return (0.0, vec![0; row.len()]);
    }
    let code = |v: f32, s: f32| (v / s).round().clamp(-127.0, 127.0);
    let err = |s: f32| row.iter().map(|&v| (v - code(v, s) * s).powi(2)).sum::<f32>();
    let mut best = (max / 127.0, err(max / 127.0));
    for k in 1..=40 {
        let s = max / 127.0 * (1.0 - 0.005 * k as f32);
        let e = err(s);
        if e < best.1 {
            best = (s, e);
        }
    }
    (best.0, row.iter().map(|&v| code(v, best.0) as i8).collect())
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

/// The engine's name for a safetensors dtype; None for dtypes an export never writes.
fn tensor_dtype(dtype: Dtype) -> Option<TensorDtype> {
    match dtype {
        Dtype::F32 => Some(TensorDtype::F32),
        Dtype::F16 => Some(TensorDtype::F16),
        Dtype::I8 => Some(TensorDtype::I8),
        _ => None,
    }
}

/// Reads one tensor back to f32 with the engine's decoder (`localrank_core::format`), undoing
/// f16 or int8 (+ `.scale`) encoding.
fn decode(st: &SafeTensors, name: &str, path: &Path) -> Result<NamedTensor> {
    let v = st.tensor(name).map_err(st_err(path))?;
    let shape = v.shape().to_vec();
    let dtype = tensor_dtype(v.dtype()).ok_or_else(|| ModelError::BadWeights(format!("{}: {name} has unsupported dtype {:?}", path.display(), v.dtype())))?;
    let scale = match dtype {
        TensorDtype::I8 => Some(st.tensor(&format!("{name}.scale")).map_err(st_err(path))?),
        _ => None,
    };
    let data = format::decode_tensor(dtype, v.data(), &shape, scale.as_ref().map(|s| s.data()))
        .map_err(|e| ModelError::BadWeights(format!("{}: tensor `{name}` {e}", path.display())))?;
    Ok(NamedTensor { shape, data })
}

/// The two neighbour tensors for the item table: lists padded to the longest one (`k`).
fn encode_neighbours(lists: &[Vec<(u32, f32)>], p: Precision, out: &mut BTreeMap<String, Encoded>) {
    let k = lists.iter().map(Vec::len).max().unwrap_or(0);
    let (mut rows, mut weights) = (Vec::with_capacity(lists.len() * k * 4), Vec::with_capacity(lists.len() * k));
    for list in lists {
        for slot in 0..k {
            let (row, weight) = list.get(slot).map_or((-1i32, 0.0), |&(j, w)| (j as i32, w));
            rows.extend_from_slice(&row.to_le_bytes());
            weights.push(weight);
        }
    }
    out.insert(ITEM_NEIGHBOURS.into(), Encoded { dtype: Dtype::I32, shape: vec![lists.len(), k], bytes: rows });
    encode(ITEM_NEIGHBOUR_WEIGHTS, &NamedTensor { shape: vec![lists.len(), k], data: weights }, p, out);
}

/// What the item table holds besides the learned vectors: catalogue statistics (what the
/// candidate service attaches to pool items) and the text-only rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ItemStats<'a> {
    /// Each learned item's co-occurrence neighbours (row index, similarity in 0..=1).
    pub neighbours: Option<&'a [Vec<(u32, f32)>]>,
    /// Each learned item's re-buy rate in 0..=1 ([`crate::data::rebuy::rebuy_rates`]).
    pub rebuy_rates: Option<&'a [f32]>,
    /// Catalogue products the model never trained on, with their text-tower vectors
    /// ([`text_only_items`]): appended after the learned rows. Only for a model with a tower.
    pub text_only: Option<&'a TextOnlyItems>,
}

/// Products without a learned vector, placed by their text: `vectors` is row-major
/// `[ids.len(), dim]`, row `k` product `ids[k]`'s vector ([`text_only_items`] gives the
/// tower's; `localrank export` then places them by `cold_start::place_by_neighbours`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextOnlyItems {
    pub ids: Vec<String>,
    pub vectors: Vec<f32>,
}

impl TextOnlyItems {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Texts per tower pass: a pass gathers one `text.dim`-wide row per token, and Complete
/// Journey's 66,702 catalogue-only products in one pass would gather about 4 M of them.
const TEXT_CHUNK: usize = 2048;

/// The text tower's vector of each product's text ([`ItemText::joined`], what the browser's
/// tower would read), for products the model has no learned row for. Products whose text has
/// no word to hash are left out (the engine would refuse that text too). Fails when the model
/// has no text tower.
pub fn text_only_items(w: &ModelWeights, texts: &[(String, ItemText)]) -> Result<TextOnlyItems> {
    let Some(text) = w.config.text else {
        return Err(ModelError::BadWeights("the model has no text tower, so it cannot place products it never trained on; train with text (`localrank train` does when half the items have text)".into()));
    };
    let device = cpu_device();
    let tower = w.to_encoder(&device)?.text.ok_or_else(|| ModelError::BadWeights("model.json has `text` but the weights have no text tower".into()))?;
    let hashing = text.hashing();
    let mut out = TextOnlyItems::default();
    for chunk in texts.chunks(TEXT_CHUNK) {
        let joined: Vec<String> = chunk.iter().map(|(_, t)| t.joined()).collect();
        let bags = TokenBags::from_texts(&hashing, joined.iter().map(|t| Some(t.as_str())));
        let kept: Vec<usize> = (0..bags.len()).filter(|&i| !bags.get(i).is_empty()).collect();
        if kept.is_empty() {
            continue;
        }
        let rows: Vec<&[u32]> = kept.iter().map(|&i| bags.get(i)).collect();
        let vectors = tower.forward(&rows, &device).into_data().try_into_vec::<f32>().map_err(|e| ModelError::Backend(format!("{e:?}")))?;
        out.ids.extend(kept.iter().map(|&i| chunk[i].0.clone()));
        out.vectors.extend(vectors);
    }
    Ok(out)
}

/// Writes a complete model directory in the given precision, with `stats` in the item table.
pub fn write_model_dir(
    dir: &Path,
    w: &ModelWeights,
    item_ids: &[String],
    p: Precision,
    dataset: &str,
    metrics: serde_json::Value,
    stats: ItemStats,
) -> Result<()> {
    w.check()?;
    if item_ids.len() != w.config.num_items {
        return Err(ModelError::BadWeights(format!("{} item ids for {} item vectors", item_ids.len(), w.config.num_items)));
    }
    let text_only = stats.text_only.filter(|t| !t.is_empty());
    if let Some(extra) = text_only {
        check_text_only(w, item_ids, extra)?;
    }
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let (mut enc_t, mut item_t) = (BTreeMap::new(), BTreeMap::new());
    for (name, t) in &w.tensors {
        match (name.as_str(), text_only) {
            // The text-only rows follow the learned ones in one tensor, in the same precision
            // (int8: each row its own scale, so a text-only row costs the learned rows nothing).
            (ITEM_VECTORS, Some(extra)) => {
                let mut data = t.data.clone();
                data.extend_from_slice(&extra.vectors);
                encode(name, &NamedTensor { shape: vec![item_ids.len() + extra.len(), w.config.dim], data }, p, &mut item_t);
            }
            (ITEM_VECTORS, None) => encode(name, t, p, &mut item_t),
            _ => encode(name, t, p, &mut enc_t),
        }
    }
    if let Some(lists) = stats.neighbours {
        if lists.len() != item_ids.len() || lists.iter().flatten().any(|&(j, s)| j as usize >= item_ids.len() || !(0.0..=1.0).contains(&s)) {
            return Err(ModelError::BadWeights(format!("{} neighbour lists for {} items, or a neighbour outside the table or 0..=1", lists.len(), item_ids.len())));
        }
        encode_neighbours(lists, p, &mut item_t);
    }
    if let Some(rates) = stats.rebuy_rates {
        if rates.len() != item_ids.len() || rates.iter().any(|r| !(0.0..=1.0).contains(r)) {
            return Err(ModelError::BadWeights(format!("{} re-buy rates for {} items, or a rate outside 0..=1", rates.len(), item_ids.len())));
        }
        let bytes = rates.iter().flat_map(|r| r.to_le_bytes()).collect();
        item_t.insert(ITEM_REBUY_RATES.into(), Encoded { dtype: Dtype::F32, shape: vec![rates.len()], bytes });
    }
    write_safetensors(&dir.join("model.safetensors"), &enc_t)?;
    write_safetensors(&dir.join("items.safetensors"), &item_t)?;
    let json = |path: &Path, v: &dyn erased::Json| -> Result<()> { std::fs::write(path, v.to_json()).map_err(io_err(path)) };
    json(&dir.join("model.json"), &ModelJson::new(&w.config, p, dataset, metrics))?;
    let mut ids = item_ids.to_vec();
    // `learned` only when there are text-only rows: an export without them is as before.
    let learned = text_only.map(|extra| {
        ids.extend(extra.ids.iter().cloned());
        item_ids.len()
    });
    json(&dir.join("items.json"), &ItemsJson { dim: w.config.dim, dtype: Some(p), ids, learned })?;
    Ok(())
}

/// Text-only rows must come from a model with a tower, have one finite vector of the model's
/// width each, and name products that are neither learned nor given twice (one id, one row).
fn check_text_only(w: &ModelWeights, item_ids: &[String], extra: &TextOnlyItems) -> Result<()> {
    if w.config.text.is_none() {
        return Err(ModelError::BadWeights(format!("{} text-only rows for a model without a text tower (only a tower places products the model never trained on)", extra.len())));
    }
    let dim = w.config.dim;
    if extra.vectors.len() != extra.len() * dim {
        return Err(ModelError::BadWeights(format!("{} values for {} text-only rows of {dim}", extra.vectors.len(), extra.len())));
    }
    let mut seen: HashSet<&str> = item_ids.iter().map(String::as_str).collect();
    for (k, id) in extra.ids.iter().enumerate() {
        if !seen.insert(id) {
            return Err(ModelError::BadWeights(format!("text-only row {k} is {id:?}, which is already in the item table (learned, or given twice)")));
        }
        if extra.vectors[k * dim..(k + 1) * dim].iter().any(|v| !v.is_finite()) {
            return Err(ModelError::BadWeights(format!("the text-only vector of {id:?} holds NaN or infinity")));
        }
    }
    Ok(())
}

/// Records tuned blend weights in a model directory's model.json (the weights files are untouched).
/// `source`: the neighbour similarity the weights were tuned with (model.json
/// `blend_neighbours`).
pub fn set_blend(dir: &Path, blend: BlendWeights, source: Option<NeighbourSource>) -> Result<()> {
    let path = dir.join("model.json");
    let bytes = std::fs::read(&path).map_err(io_err(&path))?;
    let mut mj: ModelJson = serde_json::from_slice(&bytes).map_err(|e| ModelError::Json { path: path.clone(), message: e.to_string() })?;
    mj.config.blend = Some(blend);
    mj.config.blend_neighbours = source;
    std::fs::write(&path, erased::Json::to_json(&mj)).map_err(io_err(&path))
}

/// Records tuned repeat parameters in a model directory's model.json (`repeat`, next to `blend`)
/// and the learned repeat scorer (`repeat_scorer`; None removes an earlier one).
pub fn set_repeat(dir: &Path, repeat: RepeatParams, scorer: Option<LearnedRepeat>) -> Result<()> {
    let path = dir.join("model.json");
    let bytes = std::fs::read(&path).map_err(io_err(&path))?;
    let mut mj: ModelJson = serde_json::from_slice(&bytes).map_err(|e| ModelError::Json { path: path.clone(), message: e.to_string() })?;
    mj.config.repeat = Some(repeat);
    mj.config.repeat_scorer = scorer;
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

/// Reads a model directory back as f32 weights (dequantised), with its config and the learned
/// item ids (text-only rows are not part of the model: [`read_text_only`] reads them).
/// The item table is read by the same function as the candidate service's
/// ([`ItemTable::parse`]), so an export this accepts is one the service serves.
pub fn read_model_dir(dir: &Path) -> Result<(ModelWeights, ModelJson, Vec<String>)> {
    let read = |name: &str| -> Result<Vec<u8>> { std::fs::read(dir.join(name)).map_err(io_err(dir.join(name))) };
    let mj: ModelJson = serde_json::from_slice(&read("model.json")?).map_err(|e| ModelError::Json { path: dir.join("model.json"), message: e.to_string() })?;
    let config = mj.encoder_config(0.0)?;
    let mut tensors = BTreeMap::new();
    let path = dir.join(&mj.weights_file);
    let bytes = read(&mj.weights_file)?;
    let st = SafeTensors::deserialize(&bytes).map_err(st_err(&path))?;
    // Item vectors in the weights file are ignored, as the engine ignores them: the item
    // table is the one in items_file.
    for name in st.names() {
        if !name.ends_with(".scale") && name != ITEM_VECTORS {
            tensors.insert(name.to_string(), decode(&st, name, &path)?);
        }
    }
    let mut items = ItemTable::parse(&read(&mj.item_ids_file)?, &read(&mj.items_file)?).map_err(|source| ModelError::Items { dir: dir.to_path_buf(), source })?;
    if items.learned != config.num_items {
        return Err(ModelError::BadWeights(format!("items.json has {} learned rows, model.json num_items is {} (files from two exports?)", items.learned, config.num_items)));
    }
    if items.learned < items.len() && config.text.is_none() {
        return Err(ModelError::BadWeights(format!("items.json has {} text-only rows but model.json has no text tower to have made them", items.len() - items.learned)));
    }
    items.ids.truncate(items.learned);
    items.vectors.truncate(items.learned * items.dim);
    tensors.insert(ITEM_VECTORS.to_string(), NamedTensor { shape: vec![items.learned, items.dim], data: items.vectors });
    let w = ModelWeights { config, tensors };
    w.check()?;
    Ok((w, mj, items.ids))
}

/// The item table's text-only rows in a model directory (none for an export without them),
/// decoded to f32 like every reader decodes them.
pub fn read_text_only(dir: &Path) -> Result<TextOnlyItems> {
    let read = |name: &str| -> Result<Vec<u8>> { std::fs::read(dir.join(name)).map_err(io_err(dir.join(name))) };
    let items = ItemTable::parse(&read(format::ITEM_IDS_FILE)?, &read(format::ITEM_VECTORS_FILE)?).map_err(|source| ModelError::Items { dir: dir.to_path_buf(), source })?;
    Ok(TextOnlyItems { ids: items.ids[items.learned..].to_vec(), vectors: items.vectors[items.learned * items.dim..].to_vec() })
}

/// The item table's co-occurrence neighbours in a model directory, if its export has them.
pub fn read_neighbours(dir: &Path) -> Result<Option<ItemNeighbours>> {
    let read = |name: &str| -> Result<Vec<u8>> { std::fs::read(dir.join(name)).map_err(io_err(dir.join(name))) };
    let items = ItemTable::parse(&read(format::ITEM_IDS_FILE)?, &read(format::ITEM_VECTORS_FILE)?).map_err(|source| ModelError::Items { dir: dir.to_path_buf(), source })?;
    Ok(items.neighbours)
}

/// The weights as the browser would see them after a round trip through `p`.
pub fn round_trip(w: &ModelWeights, p: Precision) -> Result<ModelWeights> {
    let mut out = w.clone();
    for (name, t) in w.tensors.iter() {
        let mut enc = BTreeMap::new();
        encode(name, t, p, &mut enc);
        let e = &enc[name];
        let dtype = tensor_dtype(e.dtype).ok_or_else(|| ModelError::BadWeights(format!("{name}: encoded as {:?}", e.dtype)))?;
        let scale = enc.get(&format!("{name}.scale")).map(|s| s.bytes.as_slice());
        let data = format::decode_tensor(dtype, &e.bytes, &t.shape, scale).map_err(|e| ModelError::BadWeights(format!("tensor `{name}` {e}")))?;
        out.tensors.insert(name.clone(), NamedTensor { shape: t.shape.clone(), data });
    }
    Ok(out)
}
