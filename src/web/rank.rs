//! `engine.rank(pool, options)`: the JS side of ranking. It never rejects: whatever goes wrong,
//! the storefront gets its server order back with the reason (fail open).

use std::rc::Rc;

use js_sys::{Array, Float32Array, Promise, Reflect, Uint32Array, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, spawn_local};

use super::convert::{from_js, now_ms};
use super::{Engine, log_warning};
use crate::error::LocalRankError;
use crate::pool::{CandidatePool, NeighboursInput, PoolInput, PoolItemInput, VectorInput};
use crate::history::EventKind;
use crate::measure::Arm;
use crate::rank::{self, RankOptions, RankSettings, Ranking, RepeatInfo, ShopperModel, SlotRule};

#[wasm_bindgen]
impl Engine {
    /// Reorders the server's candidate pool for this shopper. Always resolves: when ranking
    /// cannot run (bad pool, bad options, no history, …) the result is the server's order with
    /// `personalized: false` and the `reason` (and `error` code, for errors).
    #[wasm_bindgen(unchecked_return_type = "Promise<Ranking>")]
    pub fn rank(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PoolInput")] pool: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RankOptions | undefined")] options: JsValue,
    ) -> Promise {
        let history = self.history.clone();
        let model = self.model_runtime();
        future_to_promise(async move {
            let start = now_ms();
            let mut ranking = match prepare(&pool, &options) {
                Err(error) => Ranking::unranked(raw_ids(&pool), &error),
                Ok((pool, settings)) => rank_pool(history, model, pool, &settings).await,
            };
            ranking.elapsed_ms = now_ms() - start;
            full_json(&ranking).and_then(|json| js_sys::JSON::parse(&json))
        })
    }

    /// `rank()` for a pool validated earlier by `preparePool`: no conversion of the pool, and
    /// the result packed for the JS layer (`PackedRanking`: js/index.js turns it into the same
    /// `Ranking` that `rank()` resolves to). Always resolves, like `rank()`.
    #[wasm_bindgen(js_name = rankPrepared, unchecked_return_type = "Promise<PackedRanking>")]
    pub fn rank_prepared(
        &self,
        pool: &PreparedPool,
        #[wasm_bindgen(unchecked_param_type = "RankOptions | undefined")] options: JsValue,
    ) -> Promise {
        let history = self.history.clone();
        let model = self.model_runtime();
        let pool = pool.pool.clone();
        future_to_promise(async move {
            let start = now_ms();
            let mut ranking = match settings(&options) {
                Err(error) => Ranking::unranked(pool.server_order(), &error),
                Ok(settings) => rank_pool(history, model, pool, &settings).await,
            };
            ranking.elapsed_ms = now_ms() - start;
            packed(ranking)
        })
    }
}

/// A pool validated once and held in the engine's memory (`preparePool`), so that ranking it
/// again reads nothing from JS. The JS layer keeps one per pool object and re-prepares when
/// the object changed.
#[wasm_bindgen]
pub struct PreparedPool {
    pool: Rc<CandidatePool>,
}

#[wasm_bindgen]
impl PreparedPool {
    /// The item ids in server order: a packed ranking names items by their position here.
    pub fn ids(&self) -> Vec<String> {
        self.pool.server_order()
    }
}

/// Validates a pool (object or JSON text) for `rankPrepared`. Throws the `InvalidPool` error
/// that `rank()` would report as its reason.
#[wasm_bindgen(js_name = preparePool)]
pub fn prepare_pool(#[wasm_bindgen(unchecked_param_type = "PoolInput")] pool: JsValue) -> Result<PreparedPool, JsValue> {
    let pool = pool_from_js(&pool).map_err(|error| super::convert::js_error(&error))?;
    Ok(PreparedPool { pool: Rc::new(pool) })
}

#[wasm_bindgen(typescript_custom_section)]
const TS_PACKED: &str = r#"
/** `rankPrepared`'s result: a `Ranking` without its per-item arrays (`meta`, JSON text) plus
 * those arrays as typed arrays, item k of the display order being pool item `order[k]`.
 * `values` holds 6 numbers per shown item (score, then parts: intent, server, affinity,
 * neighbour, repeat), `rules` one code (0 none, 1 pinned, 2 sponsored, 3 purchased), `because`
 * JSON text of `[k, id, kind, repeat | null]` for the explained items. When the ranking has no items (the pool
 * could not be ranked) only `meta` is set, and it is the whole `Ranking`. */
export interface PackedRanking {
    meta: string;
    order?: Uint32Array;
    values?: Float32Array;
    rules?: Uint8Array;
    because?: string;
}
"#;

/// Ranks a validated pool for the shopper and remembers the pool afterwards.
async fn rank_pool(
    history: Rc<super::sync::SharedHistory>,
    model: Option<Rc<crate::gpu::ModelRuntime>>,
    pool: Rc<CandidatePool>,
    settings: &RankSettings,
) -> Ranking {
    let guard = history.lock().await;
    let lookup = |id: &str| guard.lookup_vector(id);
    let ranking = match guard.experiment_arm() {
        // The control arm of a lift experiment sees the server's order (slot rules applied),
        // whatever the history holds.
        Some((id, Arm::Control)) => {
            let mut ranking = rank::rank(&pool, &[], &lookup, None, settings);
            ranking.reason = Some(format!("experiment {id:?}: this browser is in the control arm, which shows the server's order"));
            // Not "no model is loaded": the arm, not the model, kept text and searches out.
            ranking.text = None;
            ranking
        }
        _ => {
            let model = model.as_deref().map(|runtime| ShopperModel { runtime, now_ms: js_sys::Date::now() });
            rank::rank_for_shopper(&pool, guard.events(), &lookup, model, settings, &mut |error| {
                log_warning(&LocalRankError::Internal(format!("the model could not run; ranking from history instead: {error}")))
            })
            .await
        }
    };
    let in_experiment = guard.experiment_arm().is_some();
    drop(guard);
    let shown = in_experiment.then(|| ranking.order.clone());
    // Remember the pool after answering: later clicks on its items find their vectors.
    // Queued behind the lock, so a following record() sees it.
    spawn_local(async move {
        let mut guard = history.lock().await;
        if let Some(order) = shown
            && let Err(error) = guard.homepage_shown(&order, js_sys::Date::now()).await
        {
            log_warning(&error);
        }
        match guard.remember_pool(pool).await {
            Ok(true) => history.changed(),
            Ok(false) => {}
            Err(error) => log_warning(&error),
        }
    });
    ranking
}

fn internal(what: &str, error: impl std::fmt::Display) -> JsValue {
    super::convert::js_error(&LocalRankError::Internal(format!("could not serialize the {what}: {error}")))
}

/// The whole ranking as JSON text: one `JSON.parse` beats building the object with one call
/// per property for large pools.
fn full_json(ranking: &Ranking) -> Result<String, JsValue> {
    serde_json::to_string(ranking).map_err(|e| internal("ranking", e))
}

/// The ranking as a `PackedRanking`: the few fields as JSON, the per-item numbers as typed
/// arrays (ids stay on the JS side, which has them already). Building and parsing JSON for
/// hundreds of items was most of a ranking's time.
fn packed(mut ranking: Ranking) -> Result<JsValue, JsValue> {
    let result = js_sys::Object::new();
    let set = |key: &str, value: &JsValue| Reflect::set(&result, &JsValue::from_str(key), value).map(drop);
    if ranking.items.len() != ranking.order.len() || ranking.items.is_empty() {
        set("meta", &JsValue::from_str(&full_json(&ranking)?))?;
        return Ok(result.into());
    }
    let items = std::mem::take(&mut ranking.items);
    ranking.order = Vec::new();
    let order: Vec<u32> = items.iter().map(|item| item.index as u32).collect();
    let mut values = Vec::with_capacity(items.len() * 6);
    for item in &items {
        let p = item.parts;
        values.extend_from_slice(&[item.score, p.intent, p.server, p.affinity, p.neighbour, p.repeat]);
    }
    let rules: Vec<u8> = items
        .iter()
        .map(|item| match item.rule {
            None => 0,
            Some(SlotRule::Pinned) => 1,
            Some(SlotRule::Sponsored) => 2,
            Some(SlotRule::Purchased) => 3,
        })
        .collect();
    let because: Vec<(usize, &str, EventKind, Option<RepeatInfo>)> = items
        .iter()
        .enumerate()
        .filter_map(|(k, item)| Some((k, item.because.as_deref()?, item.because_kind?, item.repeat)))
        .collect();
    set("meta", &JsValue::from_str(&full_json(&ranking)?))?;
    set("order", &Uint32Array::from(&order[..]))?;
    set("values", &Float32Array::from(&values[..]))?;
    set("rules", &Uint8Array::from(&rules[..]))?;
    if !because.is_empty() {
        set("because", &JsValue::from_str(&serde_json::to_string(&because).map_err(|e| internal("explanations", e))?))?;
    }
    Ok(result.into())
}

fn settings(options: &JsValue) -> Result<RankSettings, LocalRankError> {
    let options: RankOptions = if options.is_undefined() || options.is_null() {
        RankOptions::default()
    } else {
        from_js(options.clone(), LocalRankError::invalid_option)?
    };
    // The repeat part measures purchase ages to the shopper's clock.
    options.resolve(RankSettings { now_ms: Some(js_sys::Date::now()), ..RankSettings::default() })
}

fn prepare(pool: &JsValue, options: &JsValue) -> Result<(Rc<CandidatePool>, RankSettings), LocalRankError> {
    let settings = settings(options)?;
    Ok((Rc::new(pool_from_js(pool)?), settings))
}

/// Reads a pool: a JSON string (parsed in Rust in one go), or an object. For objects, vectors
/// take a fast path (one typed-array copy per item, or one for a pool-level matrix) and the
/// item fields are read directly: serde's one-call-per-property costs ~5 µs an item, which a
/// 10,000-item pool cannot afford. `tests/browser_rank.rs` checks both paths agree on every field.
pub fn pool_from_js(value: &JsValue) -> Result<CandidatePool, LocalRankError> {
    if let Some(text) = value.as_string() {
        return match serde_json::from_str::<PoolInput>(&text) {
            Ok(input) => CandidatePool::from_input(input),
            // Well-formed JSON of the wrong shape (`"text": 5`): read it as the object it is, so
            // the error names the field as the direct path does, with its own messages.
            Err(e) if !(e.is_syntax() || e.is_eof()) => match js_sys::JSON::parse(&text) {
                Ok(object) if object.is_object() => pool_from_js(&object),
                _ => Err(invalid("(root)", format!("is not valid pool JSON: {e}"))),
            },
            Err(e) => Err(invalid("(root)", format!("is not valid pool JSON: {e}"))),
        };
    }
    if !value.is_object() {
        return Err(invalid("(root)", "must be an object like { dim, items: [...] } or its JSON text"));
    }
    if let Some(pool) = via_json(value) {
        return Ok(pool);
    }
    // The direct path: per-item typed arrays, or a pool the fast path could not read (its
    // errors are precise: it names the field).
    let dim = get(value, "dim").as_f64().ok_or_else(|| invalid("dim", "must be a number"))?;
    let model = match get(value, "model") {
        m if m.is_undefined() || m.is_null() => None,
        m => Some(m.as_string().ok_or_else(|| invalid("model", "must be a string"))?),
    };
    let items_js = get(value, "items");
    if !Array::is_array(&items_js) {
        return Err(invalid("items", "must be an array"));
    }
    let vectors_js = get(value, "vectors");
    let vectors = if vectors_js.is_undefined() || vectors_js.is_null() {
        None
    } else {
        Some(float32_values(&vectors_js).ok_or_else(|| invalid("vectors", "must be a Float32Array or an array of numbers"))?)
    };

    let items_js = Array::from(&items_js);
    let mut items = Vec::with_capacity(items_js.length() as usize);
    for (i, item) in items_js.iter().enumerate() {
        let path = |name: &str| format!("items[{i}].{name}");
        if !item.is_object() {
            return Err(invalid(&format!("items[{i}]"), "must be an object like { id, vector, score }"));
        }
        let vector_js = get(&item, "vector");
        let vector = if vector_js.is_undefined() || vector_js.is_null() {
            None
        } else if let Some(values) = float32_values(&vector_js) {
            Some(VectorInput::Values(values))
        } else {
            Some(plain_input::<VectorInput>(&vector_js).map_err(|_| {
                invalid(&path("vector"), "must be numbers, a Float32Array, base64, or { base64, dtype, scale }")
            })?)
        };
        let id = get(&item, "id").as_string().ok_or_else(|| invalid(&path("id"), "must be a string"))?;
        items.push(PoolItemInput {
            id,
            vector,
            text: optional(&item, i, "text", JsValue::as_string, "a string (the product's words)")?,
            score: optional(&item, i, "score", JsValue::as_f64, "a number")?,
            category: optional(&item, i, "category", JsValue::as_string, "a string")?,
            price: optional(&item, i, "price", JsValue::as_f64, "a number")?,
            pinned: optional(&item, i, "pinned", JsValue::as_f64, "a slot index")?,
            sponsored: optional(&item, i, "sponsored", JsValue::as_bool, "true or false")?,
            available: optional(&item, i, "available", JsValue::as_bool, "true or false")?,
            repeat: optional(&item, i, "repeat", JsValue::as_bool, "true or false")?,
            rebuy_rate: optional(&item, i, "rebuyRate", JsValue::as_f64, "a number from 0 to 1")?,
            neighbours: match get(&item, "neighbours") {
                n if n.is_undefined() || n.is_null() => None,
                n => Some(plain_input::<NeighboursInput>(&n).map_err(|_| {
                    invalid(&path("neighbours"), "must be { ids: string[], weights: number[] }")
                })?),
            },
        });
    }
    CandidatePool::from_input(PoolInput { model, dim, items, vectors })
}

/// The fast path for plain-JSON pools (what `fetch().json()` gives): one native
/// `JSON.stringify` and one serde_json parse instead of ~10 boundary crossings per item, with
/// the pool-level matrix copied separately. `None` when it does not apply (per-item typed
/// arrays, which JSON cannot carry) or the pool is invalid — the direct path then reads it
/// again and names the problem.
fn via_json(value: &JsValue) -> Option<CandidatePool> {
    let items = get(value, "items");
    if !Array::is_array(&items) {
        return None;
    }
    let first_vector = get(&Array::from(&items).get(0), "vector");
    if first_vector.is_object() && !Array::is_array(&first_vector) && get(&first_vector, "base64").is_undefined() {
        return None; // a typed array
    }
    let matrix_js = get(value, "vectors");
    let matrix = if matrix_js.is_undefined() || matrix_js.is_null() { None } else { Some(float32_values(&matrix_js)?) };
    let shallow = js_sys::Object::assign(&js_sys::Object::new(), &js_sys::Object::from(value.clone()));
    let _ = Reflect::delete_property(&shallow, &JsValue::from_str("vectors"));
    let text = js_sys::JSON::stringify(&shallow).ok()?.as_string()?;
    let mut input: PoolInput = serde_json::from_str(&text).ok()?;
    // JSON.stringify writes NaN and ±Infinity as null, which would read as "no score": an item
    // whose number came back absent but has a value in the object goes to the direct path,
    // which reports it (`items[i].score`).
    let items_js = Array::from(&items);
    for (i, item) in input.items.iter().enumerate() {
        for (key, absent) in [("score", item.score.is_none()), ("price", item.price.is_none()), ("pinned", item.pinned.is_none())] {
            if absent {
                let value = get(&items_js.get(i as u32), key);
                if !value.is_null() && !value.is_undefined() {
                    return None;
                }
            }
        }
    }
    input.vectors = matrix;
    CandidatePool::from_input(input).ok()
}

fn invalid(field: &str, reason: impl Into<String>) -> LocalRankError {
    LocalRankError::invalid_pool(field, reason)
}

/// An optional property of `items[index]`: absent/null → None, right type → Some, wrong type →
/// an error naming it. The path is only formatted on error: this runs for every field of
/// every item.
fn optional<T>(
    item: &JsValue,
    index: usize,
    key: &str,
    read: fn(&JsValue) -> Option<T>,
    expected: &str,
) -> Result<Option<T>, LocalRankError> {
    let value = Reflect::get(item, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    read(&value).map(Some).ok_or_else(|| invalid(&format!("items[{index}].{key}"), format!("must be {expected}")))
}

/// A Float32Array or a JS array of numbers as f32 values (anything that is not a number
/// becomes NaN, which validation then reports with its index).
fn float32_values(value: &JsValue) -> Option<Vec<f32>> {
    if let Some(typed) = value.dyn_ref::<Float32Array>() {
        return Some(typed.to_vec());
    }
    Array::is_array(value).then(|| Float32Array::new(value).to_vec())
}

/// The server order as sent, for when the pool cannot be validated: every item's string id
/// (of a pool object or of its JSON text).
fn raw_ids(pool: &JsValue) -> Vec<String> {
    if let Some(text) = pool.as_string() {
        // Through JS's JSON.parse: the pool's JSON text is known to be unusable, and any
        // items with string ids in it are still the server's order.
        return match js_sys::JSON::parse(&text) {
            Ok(value) if value.is_object() => raw_ids(&value),
            _ => Vec::new(),
        };
    }
    let items = get(pool, "items");
    if !Array::is_array(&items) {
        return Vec::new();
    }
    Array::from(&items).iter().filter_map(|item| get(&item, "id").as_string()).collect()
}

fn get(target: &JsValue, key: &str) -> JsValue {
    if !target.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A pool item's `vector` or `neighbours` object read as JSON (its messages are the caller's).
fn plain_input<T: serde::de::DeserializeOwned>(value: &JsValue) -> Result<T, ()> {
    let text = super::convert::input_json(value).map_err(|_| ())?;
    serde_json::from_str(&text).map_err(|_| ())
}
