//! The model cache: database `localrank-models`, store `models`, one record
//! `{config: string, weights: Uint8Array}` per version (out-of-line key = the version).
//! Saving a version drops every other, so a storefront never accumulates old models. The model
//! is public data, not the shopper's; it lives apart from the history database so that
//! `forget()` and the history's schema never touch it.
//!
//! The cache is only a cache: callers treat a failure here as "not cached", never as a failed
//! model load. A damaged record reads as a miss.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbDatabase;

use super::{open_database, Requests, StoreSpec};
use crate::error::LocalRankError;

pub const DATABASE: &str = "localrank-models";
const STORE: &str = "models";
const STORES: [StoreSpec; 1] = [(STORE, None, false)];
const VERSION: u32 = 1;

/// A cached model's files.
pub struct CachedModel {
    pub weights: Vec<u8>,
    pub config: String,
}

async fn open(operation: &str) -> Result<IdbDatabase, LocalRankError> {
    open_database(DATABASE, VERSION, &STORES, None).await.map_err(|e| LocalRankError::storage(operation, e.reason(DATABASE)))
}

/// Stores `version` and deletes every other cached version, in one transaction.
pub async fn put(version: &str, weights: &Uint8Array, config: &str) -> Result<(), LocalRankError> {
    const OP: &str = "cache the model";
    let db = open(OP).await?;
    let record = js_sys::Object::new();
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(&record, &"config".into(), &config.into());
    let _ = Reflect::set(&record, &"weights".into(), weights);
    let requests = Requests::new();
    requests.clear(STORE);
    requests.put(STORE, &record, Some(&JsValue::from_str(version)));
    let result = requests.run(&db, &[STORE], true, OP).await;
    db.close();
    result.map(drop)
}

/// The cached files of `version`, or None when it is not cached (or its record is damaged).
pub async fn get(version: &str) -> Result<Option<CachedModel>, LocalRankError> {
    const OP: &str = "read the model cache";
    let db = open(OP).await?;
    let requests = Requests::new();
    let index = requests.get(STORE, &JsValue::from_str(version));
    let results = requests.run(&db, &[STORE], false, OP).await;
    db.close();
    let record = results?.get(index);
    if !record.is_object() {
        return Ok(None);
    }
    let config = Reflect::get(&record, &"config".into()).ok().and_then(|v| v.as_string());
    let weights = Reflect::get(&record, &"weights".into()).ok().and_then(|v| v.dyn_into::<Uint8Array>().ok());
    Ok(match (weights, config) {
        (Some(weights), Some(config)) => Some(CachedModel { weights: weights.to_vec(), config }),
        _ => None,
    })
}
