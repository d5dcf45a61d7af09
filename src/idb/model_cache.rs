//! The model cache: database `localrank-models`, store `models`, one record
//! `{config: string, weights: Uint8Array}` per version (out-of-line key = the version).
//! Saving a version drops every other, so a storefront never accumulates old models. The model
//! is public data, not the shopper's; it lives apart from the history database so that
//! `forget()` and the history's schema never touch it.
//!
//! The cache is only a cache: callers treat a failure here as "not cached", never as a failed
//! model load. A damaged record reads as a miss.

use idb::{Database, ObjectStoreParams, Request, TransactionMode};
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use super::{commit, factory, open_database, read_error, store, write_error};
use crate::error::LocalRankError;

pub const DATABASE: &str = "localrank-models";
const STORE: &str = "models";
const VERSION: u32 = 1;

/// A cached model's files.
pub struct CachedModel {
    pub weights: Vec<u8>,
    pub config: String,
}

fn create_store(db: &Database) -> Result<(), idb::Error> {
    if !db.store_names().iter().any(|n| n == STORE) {
        db.create_object_store(STORE, ObjectStoreParams::new())?;
    }
    Ok(())
}

async fn open(operation: &str) -> Result<Database, LocalRankError> {
    let factory = factory().map_err(|e| LocalRankError::storage(operation, e.reason(DATABASE)))?;
    open_database(&factory, DATABASE, VERSION, create_store)
        .await
        .map_err(|e| LocalRankError::storage(operation, e.reason(DATABASE)))
}

/// Stores `version` and deletes every other cached version, in one transaction.
pub async fn put(version: &str, weights: &Uint8Array, config: &str) -> Result<(), LocalRankError> {
    const OP: &str = "cache the model";
    let db = open(OP).await?;
    let result = async {
        let tx = db.transaction(&[STORE], TransactionMode::ReadWrite).map_err(|e| write_error(OP, e))?;
        let models = store(&tx, STORE)?;
        let record = js_sys::Object::new();
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&record, &"config".into(), &config.into());
        let _ = Reflect::set(&record, &"weights".into(), weights);
        models.clear().map_err(|e| write_error(OP, e))?;
        models.put(&record, Some(&JsValue::from_str(version))).map_err(|e| write_error(OP, e))?;
        commit(tx, OP).await
    }
    .await;
    db.close();
    result
}

/// The cached files of `version`, or None when it is not cached (or its record is damaged).
pub async fn get(version: &str) -> Result<Option<CachedModel>, LocalRankError> {
    const OP: &str = "read the model cache";
    let db = open(OP).await?;
    let request = async {
        let tx = db.transaction(&[STORE], TransactionMode::ReadOnly).map_err(|e| read_error(OP, e))?;
        let request = store(&tx, STORE)?.get(JsValue::from_str(version)).map_err(|e| read_error(OP, e))?;
        commit(tx, OP).await?;
        Ok::<_, LocalRankError>(request)
    }
    .await;
    db.close();
    let record = request?.result().map_err(|e| read_error(OP, e))?;
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
