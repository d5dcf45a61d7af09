//! The exported item-vector table (`items.json` + `items.safetensors`, docs/model-format.md).
//! The format itself (f16/int8 decoding, the shape checks) is the engine's, in
//! `localrank_core::format`, so the service reads exactly what the exporter wrote; this module
//! only finds the files.
use std::path::Path;

pub use localrank_core::format::ItemTable;
use localrank_core::format::{ITEM_IDS_FILE, ITEM_VECTORS_FILE};

use crate::error::{Result, ServerError, io_err};

/// Reads `items.json` and `items.safetensors` from a model directory, widened to f32 because
/// the pool carries plain f32 vectors.
pub fn read(dir: &Path) -> Result<ItemTable> {
    let ids_path = dir.join(ITEM_IDS_FILE);
    let ids = std::fs::read(&ids_path).map_err(io_err(&ids_path))?;
    let vectors_path = dir.join(ITEM_VECTORS_FILE);
    let vectors = std::fs::read(&vectors_path).map_err(io_err(&vectors_path))?;
    ItemTable::parse(&ids, &vectors).map_err(|source| ServerError::Items {
        dir: dir.to_path_buf(),
        source,
    })
}
