//! The exported files' encodings, one definition each (docs/model-format.md), shared by the
//! engine (model loading, candidate pools), the candidate service (`localrank-server`: the item
//! table, the model version) and the trainer (`localrank-model`: reading an export back):
//!
//! - tensor values: little-endian f32, IEEE half (f16), and int8 with one f32 scale per row
//!   (`value = q × scale[row]`), all widened to f32 — [`decode_tensor`], [`f32_values`],
//!   [`f16_values`], [`dequantize_rows`], [`f16_to_f32`];
//! - the item table: `items.json` (`{dim, dtype, ids, learned?}`) + `items.safetensors`
//!   (`item_vectors` `[ids.len(), dim]`, plus `item_vectors.scale` when int8) — [`ItemTable::parse`];
//! - the model version: [`model_version`], the cache key server and browser agree on.
//!
//! Encoding (f32 → f16/int8) happens only in the exporter (`localrank-model`), so it lives
//! there. Decoding is here so that every reader widens the same bytes to the same floats.

use serde::{Deserialize, Serialize};

use crate::model::safetensors::SafeTensors;
use crate::model::{ModelError, Precision};

/// The safetensors dtypes an export uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorDtype {
    F32,
    F16,
    I8,
}

impl TensorDtype {
    /// The dtype's name in a safetensors header ("F32", "F16", "I8"); None for any other.
    pub fn from_name(name: &str) -> Option<TensorDtype> {
        match name {
            "F32" => Some(TensorDtype::F32),
            "F16" => Some(TensorDtype::F16),
            "I8" => Some(TensorDtype::I8),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TensorDtype::F32 => "F32",
            TensorDtype::F16 => "F16",
            TensorDtype::I8 => "I8",
        }
    }
}

/// Why bytes do not decode to the values they claim to hold. The messages continue a subject
/// the caller names ("items[3].vector has 3 bytes, …", "tensor `x` has …").
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("has {bytes} bytes, not a whole number of {dtype} values")]
    ByteLength { bytes: usize, dtype: &'static str },

    #[error("has dtype {0}; an export only uses F32, F16 and I8")]
    UnsupportedDtype(String),

    #[error("is int8 and needs its `scale`")]
    MissingScale,

    #[error("has {values} int8 values but {scales} scales, which is not {scales} whole rows")]
    ScaleRows { values: usize, scales: usize },

    #[error("has {scales} scales for its {rows} rows")]
    ScaleCount { scales: usize, rows: usize },

    #[error("has a non-finite scale {} (row {row})", js_name(*.value))]
    NonFiniteScale { row: usize, value: f32 },

    #[error("decodes to {values} values, but its shape {shape:?} needs {expected}")]
    Shape { values: usize, shape: Vec<usize>, expected: usize },
}

/// IEEE 754 half → single precision. Exact for every input: subnormals are renormalised,
/// infinities and NaN (payload kept) map to their f32 counterparts.
pub fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exponent = u32::from((bits >> 10) & 0x1f);
    let mantissa = u32::from(bits & 0x3ff);
    let value = match (exponent, mantissa) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal (m × 2^-24): shift the leading 1 into the implicit bit.
            let shift = m.leading_zeros() - 21;
            let m = (m << shift) & 0x3ff;
            sign | ((127 - 15 + 1 - shift) << 23) | (m << 13)
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(value)
}

/// Little-endian f32 values.
pub fn f32_values(bytes: &[u8]) -> Result<Vec<f32>, DecodeError> {
    if !bytes.len().is_multiple_of(4) {
        return Err(DecodeError::ByteLength { bytes: bytes.len(), dtype: "f32" });
    }
    Ok(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// Little-endian IEEE half values, widened to f32.
pub fn f16_values(bytes: &[u8]) -> Result<Vec<f32>, DecodeError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(DecodeError::ByteLength { bytes: bytes.len(), dtype: "f16" });
    }
    Ok(bytes.chunks_exact(2).map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]]))).collect())
}

/// Int8 values in `scales.len()` equal rows, `value = q × scales[row]`. A scale that is not
/// finite is an error (it would poison every value of its row); a zero scale is the
/// exporter's all-zero row.
pub fn dequantize_rows(q: &[u8], scales: &[f32]) -> Result<Vec<f32>, DecodeError> {
    if let Some((row, &value)) = scales.iter().enumerate().find(|(_, s)| !s.is_finite()) {
        return Err(DecodeError::NonFiniteScale { row, value });
    }
    if scales.is_empty() || q.is_empty() {
        // No rows, or rows of no columns: nothing to scale (a row count mismatch is only
        // possible with values left over).
        return if q.is_empty() { Ok(Vec::new()) } else { Err(DecodeError::ScaleRows { values: q.len(), scales: 0 }) };
    }
    if !q.len().is_multiple_of(scales.len()) {
        return Err(DecodeError::ScaleRows { values: q.len(), scales: scales.len() });
    }
    let cols = q.len() / scales.len();
    Ok(q.chunks_exact(cols).zip(scales).flat_map(|(row, &s)| row.iter().map(move |&v| f32::from(v as i8) * s)).collect())
}

/// One exported tensor (`shape`, row-major) widened to f32. Int8 needs the bytes of its F32
/// `<name>.scale` tensor, one scale per row (the first dimension; a 0-D tensor is one row).
/// Values are not checked for finiteness here: callers name the tensor in that error.
pub fn decode_tensor(dtype: TensorDtype, data: &[u8], shape: &[usize], scale: Option<&[u8]>) -> Result<Vec<f32>, DecodeError> {
    let values = match dtype {
        TensorDtype::F32 => f32_values(data)?,
        TensorDtype::F16 => f16_values(data)?,
        TensorDtype::I8 => {
            let scales = f32_values(scale.ok_or(DecodeError::MissingScale)?)?;
            let rows = shape.first().copied().unwrap_or(1);
            if scales.len() != rows {
                return Err(DecodeError::ScaleCount { scales: scales.len(), rows });
            }
            dequantize_rows(data, &scales)?
        }
    };
    let expected = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if expected != Some(values.len()) {
        return Err(DecodeError::Shape { values: values.len(), shape: shape.to_vec(), expected: expected.unwrap_or(usize::MAX) });
    }
    Ok(values)
}

// ---- The item table ----

/// The item table's file names and tensor name, as the exporter writes them.
pub const ITEM_IDS_FILE: &str = "items.json";
pub const ITEM_VECTORS_FILE: &str = "items.safetensors";
pub const ITEM_VECTORS: &str = "item_vectors";
/// Optional: each item's co-occurrence neighbours as row indices, I32 `[ids.len(), k]`, -1 pads.
pub const ITEM_NEIGHBOURS: &str = "item_neighbours";
/// Their similarities, `[ids.len(), k]`, encoded like `item_vectors` (F32, F16, or I8 +
/// `item_neighbour_weights.scale`).
pub const ITEM_NEIGHBOUR_WEIGHTS: &str = "item_neighbour_weights";
/// Optional: each item's re-buy rate (the share of its buyers who bought it again), F32
/// `[ids.len()]`, each in 0..=1. The candidate service sends it as a pool item's `rebuyRate`.
pub const ITEM_REBUY_RATES: &str = "item_rebuy_rates";

/// `items.json`: `ids[k]` is the item of row `k` of `item_vectors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemsJson {
    pub dim: usize,
    /// How `items.safetensors` is encoded. Informative: the tensor's own dtype decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<Precision>,
    pub ids: Vec<String>,
    /// How many rows, from the first, the model learned (ID embedding + text). The rows after
    /// them are catalogue products the model never trained on, placed by the text tower alone
    /// ("text-only" rows, issue 11). Absent: every row is learned (exports without a text
    /// tower, and every export written before text-only rows existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned: Option<usize>,
}

/// What is wrong with an item table. Each message names the file to look at (the names are
/// spelled out: they are [`ITEM_IDS_FILE`], [`ITEM_VECTORS_FILE`] and [`ITEM_VECTORS`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ItemTableError {
    #[error("items.json is not valid JSON for the item table ({{dim, ids}}): {0}")]
    Json(String),

    #[error("items.safetensors is not a readable safetensors file: {0}")]
    Container(String),

    #[error("items.safetensors has no `item_vectors` tensor (is it a model.safetensors?)")]
    NoVectors,

    #[error("items.safetensors: item_vectors is {found:?}, items.json says [{ids}, {dim}] (files from two exports?)")]
    Shape { found: Vec<usize>, ids: usize, dim: usize },

    #[error("items.safetensors: tensor `{tensor}` {reason}")]
    Dtype { tensor: String, reason: String },

    #[error("items.safetensors: item_vectors {0}")]
    Decode(DecodeError),

    #[error("items.safetensors: the vector of row {row} ({id:?}) holds NaN or infinity")]
    NonFinite { row: usize, id: String },

    #[error("items.safetensors: item_neighbours / item_neighbour_weights {0}")]
    Neighbours(String),

    #[error("items.safetensors: item_rebuy_rates {0}")]
    RebuyRates(String),

    #[error("items.json says the first {learned} rows are learned, but it lists only {ids} ids")]
    Learned { learned: usize, ids: usize },
}

/// Each item's co-occurrence neighbours (the item table's optional `item_neighbours`): row `r`
/// lists up to `k` other rows, most similar first, with their similarity in 0..=1.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemNeighbours {
    pub k: usize,
    /// Row-major `[rows, k]`; -1 pads a shorter list.
    pub rows: Vec<i32>,
    /// Row-major `[rows, k]`; 0 where `rows` pads.
    pub weights: Vec<f32>,
}

impl ItemNeighbours {
    /// Row `row`'s neighbours: (row index, similarity), padding skipped. None for a row the
    /// lists do not cover (a text-only row: the lists cover the learned rows only).
    pub fn of(&self, row: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let span = row.saturating_mul(self.k)..row.saturating_add(1).saturating_mul(self.k);
        let rows = self.rows.get(span.clone()).unwrap_or_default();
        let weights = self.weights.get(span).unwrap_or_default();
        rows.iter().zip(weights).filter(|(r, _)| **r >= 0).map(|(&r, &w)| (r as usize, w))
    }

    /// Reads the two tensors for a table of `n` rows; `Ok(None)` when the file has neither.
    fn parse(st: &SafeTensors, n: usize) -> Result<Option<ItemNeighbours>, ItemTableError> {
        let bad = |reason: String| ItemTableError::Neighbours(reason);
        let (rows, weights) = match (st.get(ITEM_NEIGHBOURS), st.get(ITEM_NEIGHBOUR_WEIGHTS)) {
            (None, None) => return Ok(None),
            (Some(r), Some(w)) => (r, w),
            _ => return Err(bad("must come together: the file has only one of them".into())),
        };
        if rows.dtype != "I32" {
            return Err(bad(format!("item_neighbours has dtype {}, expected I32", rows.dtype)));
        }
        if rows.shape.len() != 2 || rows.shape[0] != n || weights.shape != rows.shape {
            return Err(bad(format!("have shapes {:?} and {:?}; [{n}, k] each expected", rows.shape, weights.shape)));
        }
        let k = rows.shape[1];
        if rows.data.len() != n * k * 4 {
            return Err(bad(format!("item_neighbours has {} bytes for [{n}, {k}] I32", rows.data.len())));
        }
        let rows_v: Vec<i32> = rows.data.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        if let Some(&r) = rows_v.iter().find(|&&r| r < -1 || r >= n as i32) {
            return Err(bad(format!("item_neighbours holds row {r}, outside -1..{n}")));
        }
        let dtype = TensorDtype::from_name(weights.dtype).ok_or_else(|| bad(format!("item_neighbour_weights {}", DecodeError::UnsupportedDtype(weights.dtype.into()))))?;
        let scale = match dtype {
            TensorDtype::I8 => Some(st.get(&format!("{ITEM_NEIGHBOUR_WEIGHTS}.scale")).ok_or_else(|| bad(format!("item_neighbour_weights {}", DecodeError::MissingScale)))?.data),
            _ => None,
        };
        let mut values = decode_tensor(dtype, weights.data, weights.shape, scale).map_err(|e| bad(format!("item_neighbour_weights {e}")))?;
        if let Some(v) = values.iter().find(|v| !v.is_finite() || **v < -1e-3 || **v > 1.0 + 1e-3) {
            return Err(bad(format!("item_neighbour_weights holds {v}; similarities are 0 to 1")));
        }
        // f16 and int8 rounding may leave a hair outside 0..=1, where the pool's check is strict.
        values.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
        Ok(Some(ItemNeighbours { k, rows: rows_v, weights: values }))
    }
}

/// The optional `item_rebuy_rates` tensor of a table of `n` rows.
fn parse_rebuy_rates(st: &SafeTensors, n: usize) -> Result<Option<Vec<f32>>, ItemTableError> {
    let Some(view) = st.get(ITEM_REBUY_RATES) else {
        return Ok(None);
    };
    let bad = |reason: String| ItemTableError::RebuyRates(reason);
    if view.dtype != "F32" || view.shape != [n] {
        return Err(bad(format!("is {} {:?}; F32 [{n}] expected", view.dtype, view.shape)));
    }
    let rates = decode_tensor(TensorDtype::F32, view.data, view.shape, None).map_err(|e| bad(e.to_string()))?;
    if let Some((row, r)) = rates.iter().enumerate().find(|(_, r)| !(r.is_finite() && (0.0..=1.0).contains(*r))) {
        return Err(bad(format!("holds {r} at row {row}; rates are 0 to 1")));
    }
    Ok(Some(rates))
}

/// The exported item vectors, widened to f32: row `k` (`dim` floats) belongs to `ids[k]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemTable {
    pub dim: usize,
    pub ids: Vec<String>,
    /// Row-major `[ids.len(), dim]`.
    pub vectors: Vec<f32>,
    /// Rows `0..learned` are the model's learned items; rows `learned..` are text-only
    /// (catalogue products placed by the text tower alone). `ids.len()` when items.json has
    /// no `learned`.
    pub learned: usize,
    /// Co-occurrence neighbours of the learned rows, when the export has them (row indices
    /// are learned rows too: co-occurrence needs training events).
    pub neighbours: Option<ItemNeighbours>,
    /// Each learned item's re-buy rate in 0..=1 (`learned` values), when the export has them.
    pub rebuy_rates: Option<Vec<f32>>,
}

impl ItemTable {
    /// Reads the bytes of `items.json` and `items.safetensors` (f32, f16, or int8 with
    /// `item_vectors.scale`) and checks that they describe the same table.
    pub fn parse(items_json: &[u8], items_safetensors: &[u8]) -> Result<ItemTable, ItemTableError> {
        let meta: ItemsJson = serde_json::from_slice(items_json).map_err(|e| ItemTableError::Json(e.to_string()))?;
        let st = SafeTensors::parse(items_safetensors).map_err(|e| match e {
            ModelError::Container(reason) => ItemTableError::Container(reason),
            other => ItemTableError::Container(other.to_string()),
        })?;
        let view = st.get(ITEM_VECTORS).ok_or(ItemTableError::NoVectors)?;
        if view.shape != [meta.ids.len(), meta.dim] {
            return Err(ItemTableError::Shape { found: view.shape.to_vec(), ids: meta.ids.len(), dim: meta.dim });
        }
        let dtype = TensorDtype::from_name(view.dtype)
            .ok_or_else(|| ItemTableError::Dtype { tensor: ITEM_VECTORS.into(), reason: DecodeError::UnsupportedDtype(view.dtype.into()).to_string() })?;
        let scale_name = format!("{ITEM_VECTORS}.scale");
        let scale = match (dtype, st.get(&scale_name)) {
            (TensorDtype::I8, Some(scale)) if scale.dtype != "F32" => {
                return Err(ItemTableError::Dtype { tensor: scale_name, reason: format!("has dtype {}, expected F32", scale.dtype) });
            }
            (TensorDtype::I8, Some(scale)) => Some(scale.data),
            _ => None,
        };
        let vectors = decode_tensor(dtype, view.data, view.shape, scale).map_err(ItemTableError::Decode)?;
        if let Some(row) = vectors.iter().position(|v| !v.is_finite()).map(|i| i / meta.dim.max(1)) {
            return Err(ItemTableError::NonFinite { row, id: meta.ids[row].clone() });
        }
        let learned = meta.learned.unwrap_or(meta.ids.len());
        if learned > meta.ids.len() {
            return Err(ItemTableError::Learned { learned, ids: meta.ids.len() });
        }
        // Neighbour lists and re-buy rates come from training events, which text-only rows
        // have none of: they cover the learned rows only (the table is longer than them).
        let neighbours = ItemNeighbours::parse(&st, learned)?;
        let rebuy_rates = parse_rebuy_rates(&st, learned)?;
        Ok(ItemTable { dim: meta.dim, ids: meta.ids, vectors, learned, neighbours, rebuy_rates })
    }

    /// Whether row `row` is text-only: a product the model never trained on, placed by the text
    /// tower alone.
    pub fn is_text_only(&self, row: usize) -> bool {
        row >= self.learned && row < self.ids.len()
    }

    /// The re-buy rate of row `row`, if the export has rates and the row is learned.
    pub fn rebuy_rate(&self, row: usize) -> Option<f32> {
        self.rebuy_rates.as_ref().and_then(|r| r.get(row).copied())
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Row `row`'s vector. Panics when `row >= len()`, like slice indexing.
    pub fn vector(&self, row: usize) -> &[f32] {
        &self.vectors[row * self.dim..(row + 1) * self.dim]
    }
}

// ---- The model version ----

/// The version of an exported model: `"m"` followed by the 16 lowercase hex digits of the
/// 64-bit FNV-1a hash of `model.json`'s bytes followed by `model.safetensors`' bytes (offset
/// basis 0xcbf29ce484222325, prime 0x100000001b3).
///
/// It is the model cache key: the candidate service announces it in the pool (`model`) and as
/// the model files' ETag, the page passes it to `loadModel`/`loadCachedModel`, and the engine
/// computes the same value from the same bytes when the page passes none. A new export is a
/// new key (one download), an unchanged one is none. Not a security hash: it only has to
/// change when the files do.
pub fn model_version(config_json: &[u8], weights: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in config_json.iter().chain(weights) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("m{hash:016x}")
}

/// A non-finite number as JavaScript spells it ("NaN", "Infinity", "-Infinity"): what the
/// storefront's code holds, and no float formatting in the wasm for it.
pub fn js_name(x: f32) -> &'static str {
    if x.is_nan() {
        "NaN"
    } else if x > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::safetensors::write;

    #[test]
    fn f16_conversion_matches_known_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8); // smallest subnormal
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x0000), 0.0);
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000, "negative zero keeps its sign");
    }

    #[test]
    fn every_f16_subnormal_is_exact() {
        // Subnormal halves are m × 2^-24, which f32 represents exactly.
        for m in 1u16..0x400 {
            assert_eq!(f16_to_f32(m), f32::from(m) * (1.0 / 16_777_216.0), "0x{m:04x}");
            assert_eq!(f16_to_f32(0x8000 | m), -f32::from(m) * (1.0 / 16_777_216.0));
        }
    }

    #[test]
    fn int8_rows_scale_per_row_and_reject_bad_scales() {
        let q = [2u8, 0xfe, 4, 0x80];
        assert_eq!(dequantize_rows(&q, &[0.5, 0.25]).unwrap(), vec![1.0, -1.0, 1.0, -32.0]);
        assert_eq!(dequantize_rows(&[], &[1.0, 2.0]).unwrap(), Vec::<f32>::new(), "rows of no columns");
        assert_eq!(dequantize_rows(&q, &[1.0, 1.0, 1.0]).unwrap_err(), DecodeError::ScaleRows { values: 4, scales: 3 });
        assert!(matches!(dequantize_rows(&q, &[1.0, f32::NAN]).unwrap_err(), DecodeError::NonFiniteScale { row: 1, .. }));
    }

    #[test]
    fn tensors_decode_in_every_dtype_and_check_their_shape() {
        let f32_bytes: Vec<u8> = [1.0f32, -0.5].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(decode_tensor(TensorDtype::F32, &f32_bytes, &[2], None).unwrap(), vec![1.0, -0.5]);
        assert_eq!(decode_tensor(TensorDtype::F16, &[0x00, 0x3c, 0x00, 0xc0], &[1, 2], None).unwrap(), vec![1.0, -2.0]);
        let scale: Vec<u8> = 0.5f32.to_le_bytes().to_vec();
        assert_eq!(decode_tensor(TensorDtype::I8, &[2, 0xfe], &[1, 2], Some(&scale)).unwrap(), vec![1.0, -1.0]);
        assert_eq!(decode_tensor(TensorDtype::I8, &[2, 0xfe], &[1, 2], None).unwrap_err(), DecodeError::MissingScale);
        assert!(matches!(decode_tensor(TensorDtype::I8, &[2, 0xfe], &[2, 1], Some(&scale)), Err(DecodeError::ScaleCount { scales: 1, rows: 2 })));
        assert!(matches!(decode_tensor(TensorDtype::F32, &f32_bytes, &[3], None), Err(DecodeError::Shape { values: 2, expected: 3, .. })));
        assert!(matches!(decode_tensor(TensorDtype::F16, &[1, 2, 3], &[1], None), Err(DecodeError::ByteLength { bytes: 3, .. })));
    }

    fn table_files(dtype: &str, data: Vec<u8>, extra: Option<(&str, &str, Vec<usize>, Vec<u8>)>) -> Vec<u8> {
        let mut tensors = vec![(ITEM_VECTORS, dtype, vec![2, 2], data)];
        tensors.extend(extra);
        write(&tensors)
    }

    #[test]
    fn the_item_table_reads_every_precision() {
        let json = br#"{"dim": 2, "dtype": "int8", "ids": ["a", "b"]}"#;
        let f32_bytes: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        let t = ItemTable::parse(json, &table_files("F32", f32_bytes, None)).unwrap();
        assert_eq!((t.dim, t.len(), t.vector(1)), (2, 2, &[3.0f32, 4.0][..]));
        let t = ItemTable::parse(json, &table_files("F16", vec![0x00, 0x3c, 0x00, 0xc0, 0, 0, 0, 0x3c], None)).unwrap();
        assert_eq!(t.vectors, vec![1.0, -2.0, 0.0, 1.0]);
        let scales: Vec<u8> = [0.5f32, 2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        let int8 = table_files("I8", vec![2, 0xfe, 1, 3], Some(("item_vectors.scale", "F32", vec![2], scales)));
        assert_eq!(ItemTable::parse(json, &int8).unwrap().vectors, vec![1.0, -1.0, 2.0, 6.0]);
        // items.json without `dtype` (older exports, hand-written fixtures) is fine.
        assert!(ItemTable::parse(br#"{"dim": 2, "ids": ["a", "b"]}"#, &int8).is_ok());
    }

    #[test]
    fn item_table_reads_and_checks_the_neighbour_lists() {
        let json = br#"{"dim": 2, "ids": ["a", "b"]}"#;
        let vectors: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        let rows = |r: [i32; 4]| r.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let weights = |w: [f32; 4]| w.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let file = |r: Vec<u8>, w: Option<Vec<u8>>| {
            let mut t = vec![(ITEM_VECTORS, "F32", vec![2, 2], vectors.clone()), (ITEM_NEIGHBOURS, "I32", vec![2, 2], r)];
            t.extend(w.map(|w| (ITEM_NEIGHBOUR_WEIGHTS, "F32", vec![2, 2], w)));
            write(&t)
        };
        // a's list: b (0.5), then padding (-1); b's list: a (1.0), then padding.
        let t = ItemTable::parse(json, &file(rows([1, -1, 0, -1]), Some(weights([0.5, 0.0, 1.0, 0.0])))).unwrap();
        let n = t.neighbours.expect("lists read");
        assert_eq!(n.k, 2);
        assert_eq!(n.of(0).collect::<Vec<_>>(), vec![(1, 0.5)]);
        assert_eq!(n.of(1).collect::<Vec<_>>(), vec![(0, 1.0)]);
        // int8 rounding a hair above 1 is clamped; clearly outside 0..=1 is refused.
        let t = ItemTable::parse(json, &file(rows([1, -1, 0, -1]), Some(weights([1.0004, 0.0, 1.0, 0.0])))).unwrap();
        assert_eq!(t.neighbours.unwrap().of(0).next(), Some((1, 1.0)));
        let err = ItemTable::parse(json, &file(rows([1, -1, 0, -1]), Some(weights([1.5, 0.0, 1.0, 0.0])))).unwrap_err();
        assert!(matches!(&err, ItemTableError::Neighbours(m) if m.contains("1.5")), "{err}");
        // A row outside the table, or only one of the two tensors.
        let err = ItemTable::parse(json, &file(rows([2, -1, 0, -1]), Some(weights([0.5, 0.0, 1.0, 0.0])))).unwrap_err();
        assert!(matches!(&err, ItemTableError::Neighbours(m) if m.contains("row 2")), "{err}");
        let err = ItemTable::parse(json, &file(rows([1, -1, 0, -1]), None)).unwrap_err();
        assert!(matches!(&err, ItemTableError::Neighbours(m) if m.contains("together")), "{err}");
        assert!(err.to_string().contains("items.safetensors"), "{err}");
    }

    #[test]
    fn text_only_rows_follow_the_learned_rows_and_lists_cover_only_those() {
        // Row 0 ("a") is learned, row 1 ("new") text-only: the lists and rates have one row.
        let json = br#"{"dim": 2, "ids": ["a", "new"], "learned": 1}"#;
        let vectors: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        let one = |x: f32| x.to_le_bytes().to_vec();
        let file = write(&[
            (ITEM_VECTORS, "F32", vec![2, 2], vectors.clone()),
            (ITEM_NEIGHBOURS, "I32", vec![1, 1], (-1i32).to_le_bytes().to_vec()),
            (ITEM_NEIGHBOUR_WEIGHTS, "F32", vec![1, 1], one(0.0)),
            (ITEM_REBUY_RATES, "F32", vec![1], one(0.25)),
        ]);
        let t = ItemTable::parse(json, &file).unwrap();
        assert_eq!((t.len(), t.learned), (2, 1));
        assert!(!t.is_text_only(0) && t.is_text_only(1) && !t.is_text_only(2));
        assert_eq!(t.vector(1), &[3.0, 4.0]);
        assert_eq!((t.rebuy_rate(0), t.rebuy_rate(1)), (Some(0.25), None));
        assert_eq!(t.neighbours.as_ref().unwrap().of(1).count(), 0, "a text-only row has no list");
        // Lists as long as the whole table are refused: they must describe the learned rows.
        let long = write(&[(ITEM_VECTORS, "F32", vec![2, 2], vectors.clone()), (ITEM_REBUY_RATES, "F32", vec![2], [one(0.1), one(0.2)].concat())]);
        assert!(matches!(ItemTable::parse(json, &long), Err(ItemTableError::RebuyRates(m)) if m.contains("[1]")));
        // Without `learned` every row is learned (older exports).
        let plain = write(&[(ITEM_VECTORS, "F32", vec![2, 2], vectors.clone())]);
        assert_eq!(ItemTable::parse(br#"{"dim": 2, "ids": ["a", "b"]}"#, &plain).unwrap().learned, 2);
        let err = ItemTable::parse(br#"{"dim": 2, "ids": ["a", "b"], "learned": 3}"#, &plain).unwrap_err();
        assert_eq!(err, ItemTableError::Learned { learned: 3, ids: 2 });
        assert!(err.to_string().contains("first 3 rows"), "{err}");
    }

    #[test]
    fn item_table_errors_name_the_file_and_the_mismatch() {
        let f32_bytes: Vec<u8> = [1.0f32, 2.0, 3.0, f32::NAN].iter().flat_map(|x| x.to_le_bytes()).collect();
        let file = table_files("F32", f32_bytes, None);
        let err = ItemTable::parse(br#"{"dim": 3, "ids": ["a", "b"]}"#, &file).unwrap_err();
        assert_eq!(err, ItemTableError::Shape { found: vec![2, 2], ids: 2, dim: 3 });
        assert!(err.to_string().contains("items.safetensors") && err.to_string().contains("[2, 3]"), "{err}");
        let err = ItemTable::parse(br#"{"dim": 2, "ids": ["a", "b"]}"#, &file).unwrap_err();
        assert_eq!(err, ItemTableError::NonFinite { row: 1, id: "b".into() });
        assert!(matches!(ItemTable::parse(b"{", &file), Err(ItemTableError::Json(_))));
        assert!(matches!(ItemTable::parse(br#"{"dim": 2, "ids": []}"#, b"short"), Err(ItemTableError::Container(_))));
        let no_scale = table_files("I8", vec![1, 2, 3, 4], None);
        let err = ItemTable::parse(br#"{"dim": 2, "ids": ["a", "b"]}"#, &no_scale).unwrap_err();
        assert_eq!(err, ItemTableError::Decode(DecodeError::MissingScale));
        assert!(err.to_string().contains("needs its `scale`"), "{err}");
        let other = write(&[("kind_embedding", "F32", vec![1], vec![0; 4])]);
        assert_eq!(ItemTable::parse(br#"{"dim": 1, "ids": ["a"]}"#, &other).unwrap_err(), ItemTableError::NoVectors);
    }

    #[test]
    fn the_model_version_is_fnv1a_of_config_then_weights() {
        // FNV-1a 64 test vectors: "" → cbf29ce484222325, "a" → af63dc4c8601ec8c.
        assert_eq!(model_version(b"", b""), "mcbf29ce484222325");
        assert_eq!(model_version(b"a", b""), "maf63dc4c8601ec8c");
        // One stream: where model.json ends and the weights begin does not matter, only order.
        assert_eq!(model_version(b"ab", b"c"), model_version(b"a", b"bc"));
        assert_ne!(model_version(b"{}", b"w"), model_version(b"w", b"{}"));
    }
}
