//! The exported item-vector table (`items.safetensors` + `items.json`, docs/model-format.md).
use std::path::Path;

use safetensors::SafeTensors;
use safetensors::tensor::Dtype;
use serde::Deserialize;

use crate::error::{Result, ServerError, io_err};

/// Row `k` of `vectors` (`dim` floats) belongs to `ids[k]`.
#[derive(Debug, Clone)]
pub struct ItemTable {
    pub dim: usize,
    pub ids: Vec<String>,
    pub vectors: Vec<f32>,
}

#[derive(Deserialize)]
struct ItemsJson {
    dim: usize,
    ids: Vec<String>,
}

impl ItemTable {
    pub fn vector(&self, row: usize) -> &[f32] {
        &self.vectors[row * self.dim..(row + 1) * self.dim]
    }

    /// Reads `items.json` and `items.safetensors` from a model directory, decoding f16 and
    /// int8 (+ per-row `.scale`) to f32, because the pool carries plain f32 vectors.
    pub fn read(dir: &Path) -> Result<ItemTable> {
        let ids_path = dir.join("items.json");
        let text = std::fs::read_to_string(&ids_path).map_err(io_err(&ids_path))?;
        let meta: ItemsJson = serde_json::from_str(&text).map_err(|source| ServerError::Json {
            path: ids_path.clone(),
            what: "items.json",
            source,
        })?;
        let st_path = dir.join("items.safetensors");
        let bytes = std::fs::read(&st_path).map_err(io_err(&st_path))?;
        let bad = |message: String| ServerError::BadItems {
            path: st_path.clone(),
            message,
        };
        let st = SafeTensors::deserialize(&bytes).map_err(|e| ServerError::Safetensors {
            path: st_path.clone(),
            message: e.to_string(),
        })?;
        let t = st
            .tensor("item_vectors")
            .map_err(|e| bad(format!("no item_vectors tensor: {e}")))?;
        let shape = t.shape().to_vec();
        if shape != [meta.ids.len(), meta.dim] {
            return Err(bad(format!(
                "item_vectors is {shape:?}, items.json says [{}, {}]",
                meta.ids.len(),
                meta.dim
            )));
        }
        let data = t.data();
        let vectors: Vec<f32> = match t.dtype() {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => data
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::I8 => {
                let scale = st
                    .tensor("item_vectors.scale")
                    .map_err(|e| bad(format!("int8 without item_vectors.scale: {e}")))?;
                let scales: Vec<f32> = scale
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                if scales.len() != meta.ids.len() {
                    return Err(bad(format!(
                        "{} scales for {} rows",
                        scales.len(),
                        meta.ids.len()
                    )));
                }
                data.iter()
                    .enumerate()
                    .map(|(i, &q)| f32::from(q as i8) * scales[i / meta.dim])
                    .collect()
            }
            other => return Err(bad(format!("unsupported dtype {other:?}"))),
        };
        if vectors.iter().any(|v| !v.is_finite()) {
            return Err(bad("a vector holds a non-finite value".into()));
        }
        Ok(ItemTable {
            dim: meta.dim,
            ids: meta.ids,
            vectors,
        })
    }
}
