//! A minimal safetensors reader: the format is an 8-byte little-endian header length, a JSON
//! header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}`, then the
//! raw little-endian data. Written here rather than pulling in the `safetensors` crate so the
//! shipped wasm stays small; every length and offset is checked so corrupt bytes give an
//! error, never a panic or an out-of-bounds read.

use crate::json_tree::{self, Node};
use super::ModelError;

/// Larger headers than this are certainly corrupt (a 2-block model's header is ~4 KB).
const MAX_HEADER_BYTES: u64 = 16 << 20;

#[derive(Debug)]
struct RawEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

/// One tensor's description and its bytes, borrowed from the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TensorView<'a> {
    pub dtype: &'a str,
    pub shape: &'a [usize],
    pub data: &'a [u8],
}

pub(crate) struct SafeTensors<'a> {
    /// Sorted by name (a sorted Vec rather than a BTreeMap: the map's code costs ~8 KB of
    /// shipped wasm per key/value type, and a model has a few dozen tensors).
    entries: Vec<(String, RawEntry)>,
    data: &'a [u8],
}

/// The header's tensor entries, in file order; `__metadata__` is skipped.
fn header_entries(header: &str) -> Result<Vec<(String, RawEntry)>, ModelError> {
    let tree = json_tree::parse(header).map_err(|e| bad(format!("header is not a valid tensor list: {e}")))?;
    let Node::Object(items) = tree else { return Err(bad("header is not a JSON object of tensor entries")) };
    let mut entries = Vec::with_capacity(items.len());
    for (name, node) in items {
        if name != "__metadata__" {
            let entry = raw_entry(&node).map_err(|why| bad(format!("header entry `{name}`: {why}")))?;
            entries.push((name, entry));
        }
    }
    Ok(entries)
}

fn raw_entry(node: &Node) -> Result<RawEntry, String> {
    let Node::Object(fields) = node else { return Err("must be an object".into()) };
    let get = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let Some(Node::Text(dtype)) = get("dtype") else { return Err("`dtype` must be a string".into()) };
    let wholes = |key: &str| -> Result<Vec<usize>, String> {
        let Some(Node::List(items)) = get(key) else { return Err(format!("`{key}` must be a list")) };
        items
            .iter()
            .map(|n| match n {
                Node::Number(x) if x.fract() == 0.0 && *x >= 0.0 && *x <= usize::MAX as f64 => Ok(*x as usize),
                _ => Err(format!("`{key}` must hold whole numbers")),
            })
            .collect()
    };
    let shape = wholes("shape")?;
    let &[begin, end] = wholes("data_offsets")?.as_slice() else { return Err("`data_offsets` must be [begin, end]".into()) };
    Ok(RawEntry { dtype: dtype.clone(), shape, data_offsets: [begin, end] })
}

fn bad(msg: impl Into<String>) -> ModelError {
    ModelError::Container(msg.into())
}

pub(crate) fn dtype_size(dtype: &str) -> Option<usize> {
    match dtype {
        "F32" | "I32" | "U32" => Some(4),
        "F16" | "BF16" | "I16" | "U16" => Some(2),
        "I8" | "U8" | "BOOL" => Some(1),
        "F64" | "I64" | "U64" => Some(8),
        _ => None,
    }
}

impl<'a> SafeTensors<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<SafeTensors<'a>, ModelError> {
        let len_bytes: [u8; 8] = bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad(format!("{} bytes is too short for the 8-byte header length", bytes.len())))?;
        let header_len = u64::from_le_bytes(len_bytes);
        if header_len > MAX_HEADER_BYTES {
            return Err(bad(format!("header length {header_len} is implausible")));
        }
        let header_end = 8 + header_len as usize;
        let header = bytes
            .get(8..header_end)
            .ok_or_else(|| bad(format!("file is truncated: header needs {header_end} bytes, file has {}", bytes.len())))?;
        let header = std::str::from_utf8(header).map_err(|_| bad("header is not UTF-8"))?;
        let mut raw = header_entries(header)?;
        crate::sort::sort_by(&mut raw, |a, b| a.0.cmp(&b.0));
        if let Some(pair) = raw.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(bad(format!("tensor `{}` is listed twice", pair[0].0)));
        }
        let data = &bytes[header_end..];
        let mut entries = Vec::with_capacity(raw.len());
        for (name, entry) in raw {
            let [begin, end] = entry.data_offsets;
            if begin > end || end > data.len() {
                return Err(bad(format!("tensor `{name}` has data offsets {begin}..{end} outside the {} data bytes (truncated file?)", data.len())));
            }
            if let Some(size) = dtype_size(&entry.dtype) {
                let count = entry.shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
                if count.and_then(|c| c.checked_mul(size)) != Some(end - begin) {
                    return Err(bad(format!("tensor `{name}`: shape {:?} of {} does not match its {} data bytes", entry.shape, entry.dtype, end - begin)));
                }
            }
            entries.push((name, entry));
        }
        Ok(SafeTensors { entries, data })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(name, _)| name.as_str())
    }

    pub fn get(&self, name: &str) -> Option<TensorView<'_>> {
        let e = &self.entries[self.entries.binary_search_by(|(n, _)| n.as_str().cmp(name)).ok()?].1;
        // Offsets were bounds-checked in parse().
        let data = self.data.get(e.data_offsets[0]..e.data_offsets[1])?;
        Some(TensorView { dtype: &e.dtype, shape: &e.shape, data })
    }
}

/// Writes a safetensors file (used by tests and fixtures; the exporter lives in the model crate).
pub fn write(tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (name, dtype, shape, data) in tensors {
        header.insert(
            (*name).to_owned(),
            serde_json::json!({ "dtype": dtype, "shape": shape, "data_offsets": [offset, offset + data.len()] }),
        );
        offset += data.len();
    }
    let mut header = serde_json::Value::Object(header).to_string().into_bytes();
    // The spec pads the header with spaces to an 8-byte boundary.
    while !header.len().is_multiple_of(8) {
        header.push(b' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    for (_, _, _, data) in tensors {
        out.extend_from_slice(data);
    }
    out
}
