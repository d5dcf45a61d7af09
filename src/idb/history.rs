//! The IndexedDB history store, and [`BrowserStore`]: IndexedDB when it works, memory when it
//! cannot be used, behind one type.
//!
//! Layout, schema version 2 (`SCHEMA_VERSION`):
//! - `events`: keyPath `seq`, autoIncrement — one record per event ([`StoredEvent`]);
//! - `vectors`: keyPath `id` — the item-vector cache ([`CachedVector`]);
//! - `meta`: out-of-line keys — `dim`, the item-vector dimension.
//!
//! Schema version 1 (the prototype layout) had only `events`, each record carrying its item's
//! `vector`. Opening such a database adds the new stores (in `upgradeneeded`) and then moves
//! the vectors out of the events (in the first load, idempotently, so an interrupted migration
//! simply resumes).
//!
//! When another tab upgrades the schema (or deletes the database), this connection gets
//! `versionchange`: it closes at once so the other tab is not blocked, and reopens on its next
//! operation. If the database is now newer than this engine understands, the reopen fails with
//! `SchemaTooNew` and [`BrowserStore`] carries on in memory with everything it had.

use idb::{Database, Factory, KeyPath, ObjectStoreParams, Request, TransactionMode};
use std::cell::Cell;
use std::rc::Rc;

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};

use super::{commit, dom_name, factory, js_array, open_database, read_error, store, to_js, write_error, OpenError};

use crate::history::event::StoredEvent;
use crate::history::store::{already_reported, Change, HistoryStore, Snapshot};
use crate::history::vectors::{CachedVector, VectorCache};
use crate::history::MemoryStore;
use crate::error::LocalRankError;
use crate::web::convert::from_stored;

pub const SCHEMA_VERSION: u32 = 2;
const EVENTS: &str = "events";
const VECTORS: &str = "vectors";
const META: &str = "meta";
const ALL_STORES: [&str; 3] = [EVENTS, VECTORS, META];
const DIM_KEY: &str = "dim";
/// The lift experiment's state (its record text), in the meta store.
const EXPERIMENT_KEY: &str = "experiment";

pub struct IdbStore {
    db: Database,
    name: String,
    /// Set when `versionchange` closed the connection; the next operation reopens it.
    closed: Rc<Cell<bool>>,
}

impl IdbStore {
    /// Opens (creating or migrating) the named database.
    pub async fn open(name: &str) -> Result<IdbStore, LocalRankError> {
        let factory = factory().map_err(|e| unavailable(e.reason(name)))?;
        match open_database(&factory, name, SCHEMA_VERSION, create_missing_stores).await {
            Ok(mut db) => {
                let closed = Rc::new(Cell::new(false));
                let flag = closed.clone();
                db.on_version_change(move |event: web_sys::Event| {
                    if let Some(db) = event.target().and_then(|t| t.dyn_into::<web_sys::IdbDatabase>().ok()) {
                        db.close();
                    }
                    flag.set(true);
                });
                Ok(IdbStore { db, name: name.to_owned(), closed })
            }
            Err(OpenError::Failed(error)) if dom_name(&error).as_deref() == Some("VersionError") => {
                let found = existing_version(&factory, name).await.unwrap_or(SCHEMA_VERSION + 1);
                Err(LocalRankError::SchemaTooNew { database: name.to_owned(), found, supported: SCHEMA_VERSION })
            }
            Err(error) => Err(unavailable(error.reason(name))),
        }
    }

    /// Closes the connection (another tab's upgrade, or deleting the database, waits for it).
    pub fn close(&self) {
        self.db.close();
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reopens the connection if `versionchange` closed it.
    async fn ensure_open(&mut self) -> Result<(), LocalRankError> {
        if self.closed.get() {
            *self = IdbStore::open(&self.name).await?;
        }
        Ok(())
    }

    /// Moves vectors embedded in schema-1 event records into the `vectors` store.
    async fn migrate_embedded_vectors(&self, legacy: &[(StoredEvent, CachedVector)]) -> Result<(), LocalRankError> {
        let tx = self.transaction(TransactionMode::ReadWrite, "migrate schema-1 records")?;
        let events = store(&tx, EVENTS)?;
        let vectors = store(&tx, VECTORS)?;
        for (event, vector) in legacy {
            events.put(&to_js(event)?, None).map_err(|e| write_error("migrate an event", e))?;
            vectors.put(&to_js(vector)?, None).map_err(|e| write_error("migrate a vector", e))?;
        }
        commit(tx, "migrate schema-1 records").await
    }

    fn transaction(&self, mode: TransactionMode, operation: &str) -> Result<idb::Transaction, LocalRankError> {
        self.db.transaction(&ALL_STORES, mode).map_err(|e| LocalRankError::storage(operation, e.to_string()))
    }
}

impl HistoryStore for IdbStore {
    fn kind(&self) -> &'static str {
        "indexeddb"
    }

    async fn load(&mut self) -> Result<Snapshot, LocalRankError> {
        const OP: &str = "load the history";
        self.ensure_open().await?;
        let tx = self.transaction(TransactionMode::ReadOnly, OP)?;
        let events = store(&tx, EVENTS)?.get_all(None, None).map_err(|e| read_error(OP, e))?;
        let vectors = store(&tx, VECTORS)?.get_all(None, None).map_err(|e| read_error(OP, e))?;
        let dim = store(&tx, META)?.get(JsValue::from_str(DIM_KEY)).map_err(|e| read_error(OP, e))?;
        let experiment = store(&tx, META)?.get(JsValue::from_str(EXPERIMENT_KEY)).map_err(|e| read_error(OP, e))?;
        commit(tx, OP).await?;

        let mut snapshot = Snapshot::default();
        let mut legacy = Vec::new();
        for record in js_array(events.result().map_err(|e| read_error(OP, e))?) {
            match decode_event(&record) {
                Ok((event, Some(vector))) => {
                    let id = event.item.clone().unwrap_or_default();
                    let cached = CachedVector { id, vector, category: event.category.clone(), used: event.seq.into() };
                    snapshot.vectors.push(cached.clone());
                    legacy.push((event.clone(), cached));
                    snapshot.events.push(event);
                }
                Ok((event, None)) => snapshot.events.push(event),
                Err(problem) => snapshot.corrupt.push(problem),
            }
        }
        for record in js_array(vectors.result().map_err(|e| read_error(OP, e))?) {
            match from_stored::<CachedVector>(&record) {
                Ok(vector) => snapshot.vectors.push(vector),
                // A broken cache entry is only a cache miss; it is overwritten when seen again.
                Err(_) => {}
            }
        }
        snapshot.dim = dim.result().ok().and_then(|v| v.as_f64()).map(|d| d as usize).filter(|d| *d > 0);
        snapshot.experiment = experiment.result().ok().and_then(|v| v.as_string());
        if !legacy.is_empty() {
            self.migrate_embedded_vectors(&legacy).await?;
        }
        Ok(snapshot)
    }

    async fn save_report_mark(&mut self, record: &str, id: &str, day: i64) -> Result<bool, LocalRankError> {
        const OP: &str = "mark the day reported";
        self.ensure_open().await?;
        // One readwrite transaction: IndexedDB runs overlapping readwrite transactions on a
        // store one after the other, so a second tab's check sees the first tab's mark.
        let tx = self.transaction(TransactionMode::ReadWrite, OP)?;
        let meta = store(&tx, META)?;
        let key = JsValue::from_str(EXPERIMENT_KEY);
        let stored = meta.get(key.clone()).map_err(|e| read_error(OP, e))?.await.map_err(|e| read_error(OP, e))?;
        let won = !already_reported(stored.and_then(|v| v.as_string()).as_deref(), id, day);
        if won {
            meta.put(&JsValue::from_str(record), Some(&key)).map_err(|e| write_error(OP, e))?;
        }
        commit(tx, OP).await?;
        Ok(won)
    }

    async fn apply(&mut self, change: Change<'_>) -> Result<Option<u32>, LocalRankError> {
        const OP: &str = "save the history";
        self.ensure_open().await?;
        let tx = self.transaction(TransactionMode::ReadWrite, OP)?;
        let events = store(&tx, EVENTS)?;
        let vectors = store(&tx, VECTORS)?;
        for seq in change.remove_events {
            events.delete(JsValue::from(*seq)).map_err(|e| write_error(OP, e))?;
        }
        for id in change.remove_vectors {
            vectors.delete(JsValue::from_str(id)).map_err(|e| write_error(OP, e))?;
        }
        for entry in change.put_vectors {
            vectors.put(&to_js(entry)?, None).map_err(|e| write_error(OP, e))?;
        }
        if let Some(dim) = change.set_dim {
            store(&tx, META)?
                .put(&JsValue::from(dim as u32), Some(&JsValue::from_str(DIM_KEY)))
                .map_err(|e| write_error(OP, e))?;
        }
        if let Some(state) = change.set_experiment {
            store(&tx, META)?
                .put(&JsValue::from_str(state), Some(&JsValue::from_str(EXPERIMENT_KEY)))
                .map_err(|e| write_error(OP, e))?;
        }
        let added = match change.append {
            Some(event) => Some(events.add(&to_js(event)?, None).map_err(|e| write_error(OP, e))?),
            None => None,
        };
        commit(tx, OP).await?;
        added
            .map(|request| {
                let key = request.result().map_err(|e| write_error(OP, e))?;
                key.as_f64()
                    .map(|k| k as u32)
                    .ok_or_else(|| LocalRankError::storage(OP, "IndexedDB returned a non-numeric key"))
            })
            .transpose()
    }

    async fn clear(&mut self) -> Result<(), LocalRankError> {
        const OP: &str = "erase the history";
        self.ensure_open().await?;
        let tx = self.transaction(TransactionMode::ReadWrite, OP)?;
        for name in ALL_STORES {
            store(&tx, name)?.clear().map_err(|e| write_error(OP, e))?;
        }
        commit(tx, OP).await
    }
}

/// The store a browser engine runs on: IndexedDB, or memory when IndexedDB failed at open.
pub enum BrowserStore {
    Idb(IdbStore),
    Memory(MemoryStore),
}

impl HistoryStore for BrowserStore {
    fn kind(&self) -> &'static str {
        match self {
            BrowserStore::Idb(s) => s.kind(),
            BrowserStore::Memory(s) => s.kind(),
        }
    }

    async fn load(&mut self) -> Result<Snapshot, LocalRankError> {
        match self {
            BrowserStore::Idb(s) => s.load().await,
            BrowserStore::Memory(s) => s.load().await,
        }
    }

    async fn save_report_mark(&mut self, record: &str, id: &str, day: i64) -> Result<bool, LocalRankError> {
        match self {
            BrowserStore::Idb(s) => s.save_report_mark(record, id, day).await,
            BrowserStore::Memory(s) => s.save_report_mark(record, id, day).await,
        }
    }

    async fn apply(&mut self, change: Change<'_>) -> Result<Option<u32>, LocalRankError> {
        match self {
            BrowserStore::Idb(s) => s.apply(change).await,
            BrowserStore::Memory(s) => s.apply(change).await,
        }
    }

    async fn clear(&mut self) -> Result<(), LocalRankError> {
        match self {
            BrowserStore::Idb(s) => s.clear().await,
            BrowserStore::Memory(s) => s.clear().await,
        }
    }

    fn fall_back_to_memory(&mut self, events: &[StoredEvent], vectors: &VectorCache) -> bool {
        match self {
            BrowserStore::Idb(store) => {
                store.close();
                *self = BrowserStore::Memory(MemoryStore::seeded(events, vectors));
                true
            }
            BrowserStore::Memory(_) => false,
        }
    }
}

impl BrowserStore {
    pub fn close(&self) {
        if let BrowserStore::Idb(s) = self {
            s.close();
        }
    }
}

fn create_missing_stores(db: &Database) -> Result<(), idb::Error> {
    let existing = db.store_names();
    let has = |name: &str| existing.iter().any(|s| s == name);
    if !has(EVENTS) {
        let mut params = ObjectStoreParams::new();
        params.auto_increment(true).key_path(Some(KeyPath::new_single("seq")));
        db.create_object_store(EVENTS, params)?;
    }
    if !has(VECTORS) {
        let mut params = ObjectStoreParams::new();
        params.key_path(Some(KeyPath::new_single("id")));
        db.create_object_store(VECTORS, params)?;
    }
    if !has(META) {
        db.create_object_store(META, ObjectStoreParams::new())?;
    }
    Ok(())
}

/// Reads one event record; a schema-1 record also yields its embedded vector.
fn decode_event(record: &JsValue) -> Result<(StoredEvent, Option<Vec<f32>>), String> {
    let seq = Reflect::get(record, &JsValue::from_str("seq")).ok().and_then(|v| v.as_f64());
    let label = seq.map(|s| format!("record {s}")).unwrap_or_else(|| "a record without seq".into());
    let event: StoredEvent =
        from_stored(record).map_err(|e| format!("{label}: {e}"))?;
    event.check().map_err(|e| format!("{label}: {e}"))?;
    let vector = Reflect::get(record, &JsValue::from_str("vector"))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
        .and_then(|v| from_stored::<Vec<f32>>(&v).ok())
        .filter(|v| !v.is_empty() && v.iter().all(|x| x.is_finite()));
    Ok((event, vector))
}

async fn existing_version(factory: &Factory, name: &str) -> Option<u32> {
    let db = factory.open(name, None).ok()?.await.ok()?;
    let version = db.version().ok();
    db.close();
    version
}

fn unavailable(reason: String) -> LocalRankError {
    LocalRankError::StorageUnavailable { reason }
}
