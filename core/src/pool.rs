//! The candidate pool: what the server sends for everyone, validated before anything is
//! ranked. Item vectors are public data (the item-vector table `localrank export` writes).

use crate::hash::FastHashMap;
use std::sync::{Arc, Mutex};

use crate::base64::{self as b64, Alphabet};
use serde::{Deserialize, Serialize};
#[cfg(feature = "tsify")]
use tsify::Tsify;

use crate::error::LocalRankError;
use crate::format::{self, DecodeError};
use crate::history::options::MAX_DIM;
use crate::model::TextTower;
use crate::rank::score;
use crate::text::{check_text, TextError, MAX_TEXT_BYTES};

/// Most co-occurrence neighbours one pool item may carry (an export keeps far fewer).
pub const MAX_ITEM_NEIGHBOURS: usize = 1_000;

/// Largest pool accepted. A homepage pool is hundreds of items; the limit keeps a runaway
/// server response from stalling the page.
pub const MAX_POOL_ITEMS: usize = 50_000;

/// How an item vector may be encoded in a pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(untagged)]
pub enum VectorInput {
    /// Plain numbers (a `Float32Array` is accepted too).
    Values(Vec<f32>),
    /// Base64 of little-endian f32 values.
    Base64(String),
    /// Base64 of f32, f16 or int8 values; int8 needs the row's `scale` (value = int8 × scale).
    Encoded {
        base64: String,
        dtype: VectorDtype,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "tsify", tsify(optional))]
        scale: Option<f32>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "lowercase")]
pub enum VectorDtype {
    F32,
    F16,
    Int8,
}

impl VectorInput {
    /// Decodes to f32 values; the error says what is wrong with the encoding.
    pub fn decode(self) -> Result<Vec<f32>, String> {
        match self {
            VectorInput::Values(values) => Ok(values),
            VectorInput::Base64(text) => decode_bytes(&text, VectorDtype::F32, None),
            VectorInput::Encoded { base64, dtype, scale } => decode_bytes(&base64, dtype, scale),
        }
    }
}

fn decode_bytes(text: &str, dtype: VectorDtype, scale: Option<f32>) -> Result<Vec<f32>, String> {
    let bytes = b64::decode(text.trim(), Alphabet::Standard).map_err(|e| format!("is not valid base64: {e}"))?;
    let values = match dtype {
        VectorDtype::F32 => format::f32_values(&bytes),
        VectorDtype::F16 => format::f16_values(&bytes),
        // One vector is one int8 row with one scale.
        VectorDtype::Int8 => match scale {
            Some(scale) => format::dequantize_rows(&bytes, &[scale]),
            None => Err(DecodeError::MissingScale),
        },
    };
    values.map_err(|e| e.to_string())
}

fn invalid(field: &str, reason: impl Into<String>) -> LocalRankError {
    LocalRankError::invalid_pool(field, reason)
}

/// An item's co-occurrence neighbours as the candidate service sends them (the item table's
/// `item_neighbours`, docs/model-format.md): the catalogue items most often used by the same
/// shoppers, and how alike (0..=1; the cosine of the two items' shopper sets in the training
/// log). `ids[k]` goes with `weights[k]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
pub struct NeighboursInput {
    pub ids: Vec<String>,
    pub weights: Vec<f32>,
}

/// One candidate as the server sends it (the vector travels separately in [`CandidatePool`]).
/// It needs a `vector` (its own or a row of the pool's `vectors` matrix) or a `text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct PoolItemInput {
    pub id: String,
    /// The item's public vector. May be omitted when the pool carries a `vectors` matrix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "number[] | Float32Array | string | { base64: string; dtype: \"f32\" | \"f16\" | \"int8\"; scale?: number }"))]
    pub vector: Option<VectorInput>,
    /// The product's words (title, category, brand: at most 1 KB), for a product the model has
    /// no vector for yet. An item sent with `text` and no `vector` is placed by the loaded
    /// model's text tower (its vector is the tower's embedding of the text); without a model
    /// that has one it is ranked on the server score and slot rules alone. With a `vector` the
    /// text is checked but not used: the vector already carries what the model knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub text: Option<String>,
    /// The server's non-personal score (higher is better). Defaults to the pool order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub price: Option<f64>,
    /// The slot this item must occupy, counted from 0: `0` is the first item shown. Slots count
    /// the items shown, so unavailable (dropped) items take none; a slot past the end places
    /// the item last. Two items may not pin the same slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub pinned: Option<f64>,
    /// Sponsored items keep the slot the server gave them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub sponsored: Option<bool>,
    /// `false` drops the item (out of stock). Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub available: Option<bool>,
    /// A repeat-purchase item (milk, printer ink) is not demoted when already bought.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub repeat: Option<bool>,
    /// The share of the item's buyers who bought it again, 0 to 1 (the item table's
    /// `item_rebuy_rates`, docs/model-format.md). It scales a bought `repeat` item's repeat
    /// part by the model's `repeat.rebuy_mix`; without it the part is not scaled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub rebuy_rate: Option<f64>,
    /// The item's co-occurrence neighbours. When any item of a pool carries them, the engine's
    /// neighbour part is co-occurrence (an item without them has no known neighbour); otherwise
    /// it is the cosine of item vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub neighbours: Option<NeighboursInput>,
}

/// The pool as the server sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct PoolInput {
    /// The model version the vectors belong to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub model: Option<String>,
    pub dim: f64,
    pub items: Vec<PoolItemInput>,
    /// Optional: every item's vector as one row-major `items.length × dim` matrix, instead of
    /// per-item `vector`s (the fastest way to hand a large pool to the engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "Float32Array | number[]"))]
    pub vectors: Option<Vec<f32>>,
}

/// One validated candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: String,
    pub score: Option<f64>,
    pub category: Option<String>,
    pub price: Option<f64>,
    pub pinned: Option<usize>,
    pub sponsored: bool,
    pub available: bool,
    pub repeat: bool,
    /// The share of the item's buyers who bought it again, in 0..=1.
    pub rebuy_rate: Option<f32>,
    /// Co-occurrence neighbours: (item id, similarity in 0..=1).
    pub neighbours: Option<Vec<(String, f32)>>,
    /// The item's text (trimmed), kept only for an item sent without a vector: the text tower
    /// turns it into the item's vector at ranking time ([`CandidatePool::with_text_vectors`]).
    pub text: Option<String>,
}

/// A validated pool: candidates in server order and their vectors as one matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidatePool {
    pub model: Option<String>,
    pub dim: usize,
    pub items: Vec<Candidate>,
    /// Row-major `[items.len(), dim]`.
    pub vectors: Vec<f32>,
    /// Each row's Euclidean norm, computed once: a pool is often ranked many times (the JS
    /// layer keeps a validated pool while it is unchanged), and every score part divides by it.
    norms: Vec<f32>,
    index: FastHashMap<String, usize>,
    /// How many items were sent with `text` and no vector (their [`Candidate::text`] is set).
    text_only: usize,
    /// Whether a text tower filled their rows in (in this copy); until then each is zeros.
    text_filled: bool,
    /// This pool with its text-only rows embedded, for the model it was last ranked with.
    text_vectors: TextVectors,
}

/// The pool with its text-only rows filled in by one model's tower, keyed by that model's
/// version: the web layer ranks one validated pool many times (every event re-ranks the
/// homepage), and embedding hundreds of new products each time would cost milliseconds.
/// A clone or a comparison ignores it: it is a cache of what the pool's own data gives.
#[derive(Debug, Default)]
struct TextVectors(Mutex<Option<(String, Arc<CandidatePool>)>>);

impl Clone for TextVectors {
    fn clone(&self) -> TextVectors {
        TextVectors::default()
    }
}

impl PartialEq for TextVectors {
    fn eq(&self, _: &TextVectors) -> bool {
        true
    }
}

impl CandidatePool {
    /// Validates a pool, naming the first problem (`items[3].vector`, …).
    pub fn from_input(input: PoolInput) -> Result<CandidatePool, LocalRankError> {
        let dim = input.dim;
        if !(dim.fract() == 0.0 && dim >= 1.0 && dim <= MAX_DIM as f64) {
            return Err(invalid("dim", format!("must be a whole number from 1 to {MAX_DIM}, got {dim}")));
        }
        let dim = dim as usize;
        let n = input.items.len();
        if n > MAX_POOL_ITEMS {
            return Err(invalid("items", format!("has {n} items; the limit is {MAX_POOL_ITEMS}")));
        }
        let mut vectors = match input.vectors {
            Some(matrix) if matrix.len() != n * dim => {
                return Err(invalid(
                    "vectors",
                    format!("has {} values; {n} items × dim {dim} needs {}", matrix.len(), n * dim),
                ));
            }
            Some(matrix) => Some(matrix),
            None => None,
        };
        let has_matrix = vectors.is_some();
        let matrix = vectors.get_or_insert_with(|| Vec::with_capacity(n * dim));

        let mut items = Vec::with_capacity(n);
        let mut index = crate::hash::map_with_capacity(n);
        let mut pinned_by: FastHashMap<usize, usize> = crate::hash::map();
        for (i, item) in input.items.into_iter().enumerate() {
            let field = |name: &str| format!("items[{i}].{name}");
            if item.id.trim().is_empty() {
                return Err(invalid(&field("id"), "must be a non-empty string"));
            }
            if let Some(first) = index.insert(item.id.clone(), i) {
                return Err(invalid(&field("id"), format!("{:?} duplicates items[{first}]", item.id)));
            }
            // Checked whether or not it will be used: a bad text is a bug in the candidate
            // service either way, and the error says which item to fix.
            let text = match &item.text {
                None => None,
                // The reasons say what `TextError` says, without its field (the pool error carries
                // it) and without formatting the error: its Display is not otherwise in the wasm.
                Some(text) => match check_text("", text) {
                    Ok(text) => Some(text.to_owned()),
                    Err(TextError::Empty { .. }) => return Err(invalid(&field("text"), "is empty: send the product's title and category words, or omit `text`")),
                    Err(TextError::TooLong { bytes, .. }) => {
                        return Err(invalid(&field("text"), format!("is {bytes} bytes; at most {MAX_TEXT_BYTES} are accepted (send the title and category, not the whole page)")));
                    }
                    Err(TextError::NoWords { .. }) => return Err(invalid(&field("text"), "has no letters or digits to read")),
                },
            };
            let mut text_row = None;
            match (item.vector, has_matrix) {
                (Some(_), true) => {
                    return Err(invalid(&field("vector"), "must be omitted when the pool has a `vectors` matrix"));
                }
                (None, true) => {}
                (None, false) if text.is_some() => {
                    // A product the model has no vector for: a zero row until a text tower
                    // fills it in. A zero vector scores 0 against any intent (cosine with an
                    // epsilon-guarded norm), so unfilled it takes no intent part.
                    matrix.resize(matrix.len() + dim, 0.0);
                    text_row = text;
                }
                (None, false) => return Err(invalid(&field("vector"), "is required (or a `text` for the model's text tower, or a pool-level `vectors` matrix)")),
                (Some(vector), false) => {
                    let values = vector.decode().map_err(|reason| invalid(&field("vector"), reason))?;
                    if values.len() != dim {
                        return Err(invalid(&field("vector"), format!("has {} values but the pool's dim is {dim}", values.len())));
                    }
                    matrix.extend_from_slice(&values);
                }
            }
            let row = &matrix[i * dim..(i + 1) * dim];
            if let Some(j) = row.iter().position(|x| !x.is_finite()) {
                let name = if has_matrix { format!("vectors[{}]", i * dim + j) } else { format!("{}[{j}]", field("vector")) };
                return Err(invalid(&name, format!("is not a finite number ({}) for item {:?}", format::js_name(row[j]), item.id)));
            }
            if let Some(score) = item.score
                && !score.is_finite()
            {
                return Err(invalid(&field("score"), format!("must be a finite number, got {score}")));
            }
            if let Some(problem) = item.price.and_then(crate::history::event::price_problem) {
                return Err(invalid(&field("price"), problem));
            }
            let pinned = match item.pinned {
                None => None,
                Some(slot) if slot.fract() == 0.0 && slot >= 0.0 && slot < MAX_POOL_ITEMS as f64 => {
                    let slot = slot as usize;
                    if let Some(other) = pinned_by.insert(slot, i) {
                        return Err(invalid(&field("pinned"), format!("slot {slot} is already pinned by items[{other}]")));
                    }
                    Some(slot)
                }
                Some(slot) => return Err(invalid(&field("pinned"), format!("must be a slot index (0, 1, …), got {slot}"))),
            };
            if let Some(rate) = item.rebuy_rate
                && !(rate.is_finite() && (0.0..=1.0).contains(&rate))
            {
                return Err(invalid(&field("rebuyRate"), format!("must be a share from 0 to 1, got {rate}")));
            }
            let neighbours = match item.neighbours {
                None => None,
                Some(n) => Some(validate_neighbours(n).map_err(|(name, reason)| invalid(&format!("{}{name}", field("neighbours")), reason))?),
            };
            items.push(Candidate {
                id: item.id,
                score: item.score,
                category: item.category.filter(|c| !c.trim().is_empty()),
                price: item.price,
                pinned,
                sponsored: item.sponsored.unwrap_or(false),
                available: item.available.unwrap_or(true),
                repeat: item.repeat.unwrap_or(false),
                rebuy_rate: item.rebuy_rate.map(|r| r as f32),
                neighbours,
                text: text_row,
            });
        }
        let vectors = vectors.unwrap_or_default();
        let norms = if dim == 0 { Vec::new() } else { vectors.chunks_exact(dim).map(score::norm).collect() };
        let text_only = items.iter().filter(|c| c.text.is_some()).count();
        Ok(CandidatePool { model: input.model, dim, items, vectors, norms, index, text_only, text_filled: false, text_vectors: TextVectors::default() })
    }

    /// Whether item `i` has a vector: sent, or computed from its text by a tower. An item sent
    /// with only `text` has none until [`Self::with_text_vectors`] fills it in (its row is
    /// zeros: no intent, neighbour or diversity similarity to anything).
    pub fn has_vector(&self, i: usize) -> bool {
        self.text_filled || self.items[i].text.is_none()
    }

    /// How many items were sent with `text` and no vector.
    pub fn text_only_items(&self) -> usize {
        self.text_only
    }

    /// This pool with every text-only item's vector computed by `tower` (the loaded model's,
    /// whose `version` keys the cache): `None` when there is nothing to fill in, a copy made
    /// once per pool and model otherwise. Errors when the tower's vectors are not in the
    /// pool's space (another `dim`).
    pub fn with_text_vectors(&self, tower: &TextTower, version: &str) -> Result<Option<Arc<CandidatePool>>, String> {
        if self.text_only == 0 || self.text_filled {
            return Ok(None);
        }
        if tower.dim() != self.dim {
            return Err(format!("the model's text tower makes {}-dimensional vectors and this pool's dim is {}", tower.dim(), self.dim));
        }
        // A poisoned lock (a panic elsewhere while holding it) only loses the cache.
        if let Ok(cache) = self.text_vectors.0.lock()
            && let Some((key, pool)) = cache.as_ref()
            && key == version
        {
            return Ok(Some(pool.clone()));
        }
        let mut filled = CandidatePool::clone(self);
        for (i, item) in self.items.iter().enumerate() {
            let Some(text) = item.text.as_deref() else { continue };
            // Checked at validation (so no field name is needed for an error): this cannot
            // fail; if it did, the row would stay zeros.
            if let Ok(vector) = tower.embed("", text) {
                filled.vectors[i * self.dim..(i + 1) * self.dim].copy_from_slice(&vector);
                filled.norms[i] = score::norm(&vector);
            }
        }
        filled.text_filled = true;
        let filled = Arc::new(filled);
        if let Ok(mut cache) = self.text_vectors.0.lock() {
            *cache = Some((version.to_owned(), filled.clone()));
        }
        Ok(Some(filled))
    }

    /// The pool with its text rows filled in, if a ranking with a text tower made it.
    pub fn text_vectors_filled(&self) -> Option<Arc<CandidatePool>> {
        self.text_vectors.0.lock().ok().and_then(|cache| cache.as_ref().map(|(_, pool)| pool.clone()))
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn vector(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }

    /// The Euclidean norm of item `i`'s vector.
    pub fn norm(&self, i: usize) -> f32 {
        self.norms[i]
    }

    /// Every item's Euclidean norm, in pool order.
    pub fn norms(&self) -> &[f32] {
        &self.norms
    }

    /// cos(query, item) for every item: the same values as [`score::cosine_scores`] over
    /// `vectors`, with the items' norms read rather than recomputed.
    pub fn cosine_scores(&self, query: &[f32]) -> Vec<f32> {
        score::cosine_scores_normed(query, &self.vectors, &self.norms, self.dim)
    }

    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Whether any item carries co-occurrence neighbours (the neighbour part then uses them).
    pub fn has_neighbours(&self) -> bool {
        self.items.iter().any(|c| c.neighbours.is_some())
    }

    /// Item ids in server order.
    pub fn server_order(&self) -> Vec<String> {
        self.items.iter().map(|c| c.id.clone()).collect()
    }
}

/// Checks one neighbour list; on error, the sub-field (`.ids[2]`, `.weights`) and the reason.
fn validate_neighbours(n: NeighboursInput) -> Result<Vec<(String, f32)>, (String, String)> {
    if n.ids.len() != n.weights.len() {
        return Err((".weights".into(), format!("has {} values for {} ids; one weight per id", n.weights.len(), n.ids.len())));
    }
    if n.ids.len() > MAX_ITEM_NEIGHBOURS {
        return Err((".ids".into(), format!("has {} ids; the limit is {MAX_ITEM_NEIGHBOURS}", n.ids.len())));
    }
    if let Some(k) = n.ids.iter().position(|id| id.trim().is_empty()) {
        return Err((format!(".ids[{k}]"), "must be a non-empty item id".into()));
    }
    if let Some(k) = n.weights.iter().position(|w| !(w.is_finite() && (0.0..=1.0).contains(w))) {
        return Err((format!(".weights[{k}]"), format!("must be a similarity from 0 to 1, got {}", n.weights[k])));
    }
    Ok(n.ids.into_iter().zip(n.weights).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors_decode_in_every_dtype() {
        let f32_bytes: Vec<u8> = [1.0f32, -0.5].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(VectorInput::Base64(b64::encode(&f32_bytes, Alphabet::Standard, true)).decode().unwrap(), vec![1.0, -0.5]);
        let f16 = VectorInput::Encoded { base64: b64::encode(&[0x00, 0x3c, 0x00, 0xc0], Alphabet::Standard, true), dtype: VectorDtype::F16, scale: None };
        assert_eq!(f16.decode().unwrap(), vec![1.0, -2.0]);
        let int8 = VectorInput::Encoded { base64: b64::encode(&[2u8, 0xfe], Alphabet::Standard, true), dtype: VectorDtype::Int8, scale: Some(0.5) };
        assert_eq!(int8.decode().unwrap(), vec![1.0, -1.0]);
        let no_scale = VectorInput::Encoded { base64: b64::encode(&[2u8], Alphabet::Standard, true), dtype: VectorDtype::Int8, scale: None };
        assert!(no_scale.decode().unwrap_err().contains("scale"));
        assert!(VectorInput::Base64("***".into()).decode().unwrap_err().contains("base64"));
        assert!(VectorInput::Base64(b64::encode(&[1u8, 2, 3], Alphabet::Standard, true)).decode().unwrap_err().contains("whole number"));
    }

    fn pool_with(neighbours: serde_json::Value) -> Result<CandidatePool, LocalRankError> {
        let input: PoolInput = serde_json::from_value(serde_json::json!({
            "dim": 2,
            "items": [
                { "id": "a", "vector": [1.0, 0.0] },
                { "id": "b", "vector": [0.0, 1.0], "neighbours": neighbours },
            ],
        }))
        .unwrap();
        CandidatePool::from_input(input)
    }

    #[test]
    fn neighbour_lists_are_read_and_validated() {
        let pool = pool_with(serde_json::json!({ "ids": ["x", "a"], "weights": [0.5, 0.25] })).unwrap();
        assert!(pool.has_neighbours());
        assert_eq!(pool.items[0].neighbours, None);
        assert_eq!(pool.items[1].neighbours, Some(vec![("x".to_owned(), 0.5), ("a".to_owned(), 0.25)]));

        let field_of = |n: serde_json::Value| pool_with(n).unwrap_err().field().map(str::to_owned);
        assert_eq!(field_of(serde_json::json!({ "ids": ["x", "a"], "weights": [0.5] })).as_deref(), Some("items[1].neighbours.weights"));
        assert_eq!(field_of(serde_json::json!({ "ids": ["x", " "], "weights": [0.5, 0.5] })).as_deref(), Some("items[1].neighbours.ids[1]"));
        assert_eq!(field_of(serde_json::json!({ "ids": ["x", "y"], "weights": [0.5, 1.5] })).as_deref(), Some("items[1].neighbours.weights[1]"));
        assert_eq!(field_of(serde_json::json!({ "ids": ["x"], "weights": [-0.1] })).as_deref(), Some("items[1].neighbours.weights[0]"));
        let too_many = serde_json::json!({ "ids": vec!["x"; MAX_ITEM_NEIGHBOURS + 1], "weights": vec![0.5; MAX_ITEM_NEIGHBOURS + 1] });
        assert_eq!(field_of(too_many).as_deref(), Some("items[1].neighbours.ids"));
        let err = pool_with(serde_json::json!({ "ids": ["x"], "weights": [2.0] })).unwrap_err();
        assert_eq!(err.code(), LocalRankError::invalid_pool("x", "y").code());
        assert!(err.to_string().contains("from 0 to 1"), "{err}");
        assert!(!pool_with(serde_json::json!(null)).unwrap().has_neighbours());
    }
}
