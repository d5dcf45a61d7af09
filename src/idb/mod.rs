//! IndexedDB (wasm32 only): the shopper's history ([`history`]) and the model cache
//! ([`model_cache`]), over one small layer that turns IndexedDB's failures into
//! [`LocalRankError`]s: opening a database (creating its stores in `upgradeneeded`), and
//! running one transaction — where an abort caused by the quota becomes `StorageFull` and any
//! other failure `Storage`, naming the operation.
//!
//! Both follow one rule: every operation is one transaction whose requests are all issued up
//! front, and results are read after it commits. The requests themselves are issued by
//! `requests.js` beside this file (IndexedDB's callbacks are JavaScript's home ground; done from
//! Rust through the `idb` crate they cost ~12 KB gzip of wasm): Rust builds the list of
//! requests ([`Requests`]), awaits one promise, and reads the results.

pub mod history;
pub mod model_cache;

pub use history::{BrowserStore, IdbStore, SCHEMA_VERSION};

use js_sys::{Array, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::IdbDatabase;

use crate::error::LocalRankError;

#[wasm_bindgen(module = "/src/idb/requests.js")]
extern "C" {
    #[wasm_bindgen(js_name = openDatabase)]
    fn open_database_js(name: &str, version: u32, stores: &Array, on_version_change: Option<&js_sys::Function>) -> Promise;
    #[wasm_bindgen(js_name = transact)]
    fn transact_js(db: &IdbDatabase, stores: &Array, mode: &str, requests: &Array) -> Promise;
    /// A getAll result as one JSON text; records JSON cannot hold are `null`.
    #[wasm_bindgen(js_name = recordsJson)]
    pub(crate) fn records_json(records: &JsValue) -> String;
}

/// An object store a database needs: its name, its key path (`None`: out-of-line keys) and
/// whether keys are generated.
pub(crate) type StoreSpec = (&'static str, Option<&'static str>, bool);

/// Why a database did not open. The history store and the model cache report these
/// differently (the history goes on in memory; the model cache is only a cache), so this is
/// not a [`LocalRankError`] yet.
pub(crate) enum OpenError {
    /// No IndexedDB in this context, or accessing it threw (storage blocked by the browser).
    NoIndexedDb(String),
    /// `indexedDB.open()` threw (an opaque origin, for example).
    Refused(String),
    /// The stored database is newer than the version asked for (`found`).
    TooNew { found: u32 },
    /// The open request failed otherwise: an aborted upgrade, a blocked or closed backing store…
    Failed(String),
}

impl OpenError {
    /// What went wrong, for a message that also names the database.
    pub fn reason(&self, name: &str) -> String {
        match self {
            OpenError::NoIndexedDb(e) => format!("no IndexedDB in this context: {e}"),
            OpenError::Refused(e) => format!("IndexedDB refused to open `{name}`: {e}"),
            OpenError::TooNew { found } => format!("`{name}` is at version {found}, newer than this engine reads"),
            OpenError::Failed(e) => format!("opening `{name}` failed: {e}"),
        }
    }
}

/// What `requests.js` rejects with: `{ stage, name, message, found }`.
struct Failure {
    stage: String,
    name: String,
    message: String,
    found: Option<u32>,
}

impl Failure {
    fn read(value: &JsValue) -> Failure {
        let text = |key: &str| Reflect::get(value, &JsValue::from_str(key)).ok().and_then(|v| v.as_string()).unwrap_or_default();
        let found = Reflect::get(value, &JsValue::from_str("found")).ok().and_then(|v| v.as_f64()).map(|v| v as u32);
        Failure { stage: text("stage"), name: text("name"), message: text("message"), found }
    }

    /// "Name: message", or whichever of the two there is.
    fn describe(&self) -> String {
        match (self.name.is_empty(), self.message.is_empty()) {
            (false, false) => format!("{}: {}", self.name, self.message),
            (false, true) => self.name.clone(),
            _ => self.message.clone(),
        }
    }

    fn into_error(self, operation: &str) -> LocalRankError {
        if self.name == "QuotaExceededError" {
            LocalRankError::StorageFull { operation: operation.to_owned(), reason: self.message }
        } else if self.stage == "aborted" && self.name == "AbortError" {
            LocalRankError::storage(operation, "the transaction was aborted")
        } else {
            LocalRankError::storage(operation, self.describe())
        }
    }
}

/// Opens `name` at `version`, creating whichever of `stores` are missing. `on_version_change`
/// is called after the connection closed itself for another tab's upgrade or deletion.
pub(crate) async fn open_database(
    name: &str,
    version: u32,
    stores: &[StoreSpec],
    on_version_change: Option<&js_sys::Function>,
) -> Result<IdbDatabase, OpenError> {
    let specs: Array = stores
        .iter()
        .map(|(store, key_path, auto)| {
            let key_path = key_path.map_or(JsValue::NULL, JsValue::from_str);
            Array::of3(&JsValue::from_str(store), &key_path, &JsValue::from_bool(*auto))
        })
        .collect();
    match JsFuture::from(open_database_js(name, version, &specs, on_version_change)).await {
        Ok(db) => Ok(db.unchecked_into()),
        Err(thrown) => {
            let failure = Failure::read(&thrown);
            Err(match failure.stage.as_str() {
                "unavailable" => OpenError::NoIndexedDb(failure.describe()),
                "refused" => OpenError::Refused(failure.describe()),
                _ if failure.name == "VersionError" => OpenError::TooNew { found: failure.found.unwrap_or(version + 1) },
                _ => OpenError::Failed(failure.describe()),
            })
        }
    }
}

/// The requests of one transaction, issued together by [`Requests::run`]. Each adding method
/// returns the index of its result in [`Results`].
pub(crate) struct Requests(Array);

impl Requests {
    pub fn new() -> Requests {
        Requests(Array::new())
    }

    fn push(&self, kind: &str, store: &str, key: &JsValue, value: &JsValue) -> u32 {
        self.0.push(&Array::of4(&JsValue::from_str(kind), &JsValue::from_str(store), key, value)) - 1
    }

    pub fn get(&self, store: &str, key: &JsValue) -> u32 {
        self.push("get", store, key, &JsValue::UNDEFINED)
    }

    pub fn get_all(&self, store: &str) -> u32 {
        self.push("getAll", store, &JsValue::UNDEFINED, &JsValue::UNDEFINED)
    }

    /// `key`: `None` for a store with in-line keys (the key is in the record).
    pub fn put(&self, store: &str, value: &JsValue, key: Option<&JsValue>) {
        self.push("put", store, key.unwrap_or(&JsValue::UNDEFINED), value);
    }

    /// Adds a record to a store with generated keys; the result is the new key.
    pub fn add(&self, store: &str, value: &JsValue) -> u32 {
        self.push("add", store, &JsValue::UNDEFINED, value)
    }

    pub fn delete(&self, store: &str, key: &JsValue) {
        self.push("delete", store, key, &JsValue::UNDEFINED);
    }

    pub fn clear(&self, store: &str) {
        self.push("clear", store, &JsValue::UNDEFINED, &JsValue::UNDEFINED);
    }

    /// Reads `key` and, in the same transaction, puts what `decide` returns for the stored
    /// value (nothing when it returns `None`). The result is whether it put a value.
    pub fn update(&self, store: &str, key: &JsValue, decide: impl FnOnce(JsValue) -> Option<JsValue> + 'static) -> u32 {
        let decide = Closure::once_into_js(move |stored: JsValue| decide(stored).unwrap_or(JsValue::UNDEFINED));
        self.push("update", store, key, &decide)
    }

    /// Runs the requests in one transaction over `stores`; the results once it committed.
    pub async fn run(self, db: &IdbDatabase, stores: &[&str], write: bool, operation: &str) -> Result<Results, LocalRankError> {
        let stores: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        let mode = if write { "readwrite" } else { "readonly" };
        match JsFuture::from(transact_js(db, &stores, mode, &self.0)).await {
            Ok(results) => Ok(Results(results.unchecked_into())),
            Err(thrown) => Err(Failure::read(&thrown).into_error(operation)),
        }
    }
}

/// The results of a committed transaction, by the index its request was given.
pub(crate) struct Results(Array);

impl Results {
    pub fn get(&self, index: u32) -> JsValue {
        self.0.get(index)
    }
}

pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, LocalRankError> {
    crate::web::convert::to_plain_js(value).map_err(|e| LocalRankError::Internal(format!("could not convert a record for IndexedDB: {e}")))
}
