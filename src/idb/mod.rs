//! IndexedDB (wasm32 only): the shopper's history ([`history`]) and the model cache
//! ([`model_cache`]), over one set of helpers that turn IndexedDB's failures into
//! [`LocalRankError`]s: opening a database (creating its stores in `upgradeneeded`), opening a
//! store inside a transaction, and committing — where an abort caused by the quota becomes
//! `StorageFull` and any other failure `Storage`, naming the operation.
//!
//! Both follow one rule: every operation is one transaction whose requests are all issued up
//! front, and results are read after it commits. No await happens while a transaction must
//! stay active (IndexedDB commits a transaction as soon as the event loop turns without a
//! pending request, so an await in between would find it finished).

pub mod history;
pub mod model_cache;

pub use history::{BrowserStore, IdbStore, SCHEMA_VERSION};

use idb::{Database, DatabaseEvent, Factory, TransactionResult};
use serde::Serialize;
use wasm_bindgen::JsValue;

use crate::error::LocalRankError;

/// Why a database did not open. The history store and the model cache report these
/// differently (the history goes on in memory; the model cache is only a cache), so this is
/// not a [`LocalRankError`] yet.
pub(crate) enum OpenError {
    /// No IndexedDB in this context, or accessing it threw (storage blocked by the browser).
    NoIndexedDb(idb::Error),
    /// `indexedDB.open()` threw (an opaque origin, for example).
    Refused(idb::Error),
    /// The open request failed: `VersionError` (the database is newer), an aborted upgrade…
    Failed(idb::Error),
}

impl OpenError {
    /// What went wrong, for a message that also names the database.
    pub fn reason(&self, name: &str) -> String {
        match self {
            OpenError::NoIndexedDb(e) => format!("no IndexedDB in this context: {e}"),
            OpenError::Refused(e) => format!("IndexedDB refused to open `{name}`: {e}"),
            OpenError::Failed(e) => format!("opening `{name}` failed: {e}"),
        }
    }
}

/// Opens `name` at `version`; `upgrade` creates whatever stores are missing.
pub(crate) async fn open_database(
    factory: &Factory,
    name: &str,
    version: u32,
    upgrade: fn(&Database) -> Result<(), idb::Error>,
) -> Result<Database, OpenError> {
    let mut request = factory.open(name, Some(version)).map_err(OpenError::Refused)?;
    request.on_upgrade_needed(move |event| {
        // Errors here abort the upgrade, which surfaces as a failed open.
        if let Ok(db) = event.database() {
            let _ = upgrade(&db);
        }
    });
    request.await.map_err(OpenError::Failed)
}

pub(crate) fn factory() -> Result<Factory, OpenError> {
    Factory::new().map_err(OpenError::NoIndexedDb)
}

pub(crate) fn store(tx: &idb::Transaction, name: &str) -> Result<idb::ObjectStore, LocalRankError> {
    tx.object_store(name)
        .map_err(|e| LocalRankError::storage("open an object store", format!("`{name}` is missing: {e}")))
}

/// Waits for `tx` to finish. An abort is reported with the transaction's own error, so a full
/// quota is `StorageFull` (which `record()` answers by trimming) rather than a generic failure.
pub(crate) async fn commit(tx: idb::Transaction, operation: &str) -> Result<(), LocalRankError> {
    let error = tx.error();
    match tx.await {
        Ok(TransactionResult::Committed) => Ok(()),
        Ok(TransactionResult::Aborted) => match error {
            Some(e) if e.name() == "QuotaExceededError" => {
                Err(LocalRankError::StorageFull { operation: operation.to_owned(), reason: e.message() })
            }
            Some(e) => Err(LocalRankError::storage(operation, format!("{}: {}", e.name(), e.message()))),
            None => Err(LocalRankError::storage(operation, "the transaction was aborted")),
        },
        Err(e) => Err(LocalRankError::storage(operation, e.to_string())),
    }
}

pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, LocalRankError> {
    crate::web::convert::to_plain_js(value).map_err(|e| LocalRankError::Internal(format!("could not convert a record for IndexedDB: {e}")))
}

pub(crate) fn js_array(value: JsValue) -> impl Iterator<Item = JsValue> {
    js_sys::Array::from(&value).into_iter()
}

pub(crate) fn dom_name(error: &idb::Error) -> Option<String> {
    match error {
        idb::Error::DomException(e) => Some(e.name()),
        _ => None,
    }
}

pub(crate) fn read_error(operation: &str, error: idb::Error) -> LocalRankError {
    LocalRankError::storage(operation, error.to_string())
}

pub(crate) fn write_error(operation: &str, error: idb::Error) -> LocalRankError {
    match &error {
        idb::Error::DomException(e) if e.name() == "QuotaExceededError" => {
            LocalRankError::StorageFull { operation: operation.to_owned(), reason: e.message() }
        }
        idb::Error::DomException(e) => LocalRankError::storage(operation, format!("{}: {}", e.name(), e.message())),
        other => LocalRankError::storage(operation, other.to_string()),
    }
}
