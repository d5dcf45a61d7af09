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

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::IdbDatabase;

use super::{open_database, to_js, OpenError, Requests, StoreSpec};

use crate::history::event::StoredEvent;
use crate::history::EventKind;
use localrank_core::json_tree::{self, FieldError, Fields, Node};
use crate::history::store::{already_reported, Change, HistoryStore, Snapshot};
use crate::history::vectors::{CachedVector, VectorCache};
use crate::history::MemoryStore;
use crate::error::LocalRankError;

pub const SCHEMA_VERSION: u32 = 2;
const EVENTS: &str = "events";
const VECTORS: &str = "vectors";
const META: &str = "meta";
const ALL_STORES: [&str; 3] = [EVENTS, VECTORS, META];
/// The stores of schema 2 (`upgradeneeded` creates whichever are missing).
const STORES: [StoreSpec; 3] = [(EVENTS, Some("seq"), true), (VECTORS, Some("id"), false), (META, None, false)];
const DIM_KEY: &str = "dim";
/// The lift experiment's state (its record text), in the meta store.
const EXPERIMENT_KEY: &str = "experiment";

pub struct IdbStore {
    db: IdbDatabase,
    name: String,
    /// Set when `versionchange` closed the connection; the next operation reopens it.
    closed: Rc<Cell<bool>>,
    /// Sets `closed`; kept alive as long as the connection may call it.
    _on_version_change: Closure<dyn FnMut()>,
}

impl IdbStore {
    /// Opens (creating or migrating) the named database.
    pub async fn open(name: &str) -> Result<IdbStore, LocalRankError> {
        let closed = Rc::new(Cell::new(false));
        let flag = closed.clone();
        let on_version_change = Closure::<dyn FnMut()>::new(move || flag.set(true));
        let callback: &js_sys::Function = on_version_change.as_ref().unchecked_ref();
        match open_database(name, SCHEMA_VERSION, &STORES, Some(callback)).await {
            Ok(db) => Ok(IdbStore { db, name: name.to_owned(), closed, _on_version_change: on_version_change }),
            Err(OpenError::TooNew { found }) => {
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
        let requests = Requests::new();
        for (event, vector) in legacy {
            requests.put(EVENTS, &to_js(event)?, None);
            requests.put(VECTORS, &to_js(vector)?, None);
        }
        requests.run(&self.db, &ALL_STORES, true, "migrate schema-1 records").await.map(drop)
    }
}

impl HistoryStore for IdbStore {
    fn kind(&self) -> &'static str {
        "indexeddb"
    }

    async fn load(&mut self) -> Result<Snapshot, LocalRankError> {
        const OP: &str = "load the history";
        self.ensure_open().await?;
        let requests = Requests::new();
        let events = requests.get_all(EVENTS);
        let vectors = requests.get_all(VECTORS);
        let dim = requests.get(META, &JsValue::from_str(DIM_KEY));
        let experiment = requests.get(META, &JsValue::from_str(EXPERIMENT_KEY));
        let results = requests.run(&self.db, &ALL_STORES, false, OP).await?;

        let mut snapshot = Snapshot::default();
        let mut legacy = Vec::new();
        for record in records(results.get(events)) {
            match record.and_then(|record| decode_event(&record)) {
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
        for record in records(results.get(vectors)) {
            // A broken cache entry is only a cache miss; it is overwritten when seen again.
            if let Some(vector) = record.ok().and_then(|record| decode_vector(&record)) {
                snapshot.vectors.push(vector);
            }
        }
        snapshot.dim = results.get(dim).as_f64().map(|d| d as usize).filter(|d| *d > 0);
        snapshot.experiment = results.get(experiment).as_string();
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
        let (record, id) = (record.to_owned(), id.to_owned());
        let requests = Requests::new();
        let won = requests.update(META, &JsValue::from_str(EXPERIMENT_KEY), move |stored| {
            (!already_reported(stored.as_string().as_deref(), &id, day)).then(|| JsValue::from_str(&record))
        });
        let results = requests.run(&self.db, &[META], true, OP).await?;
        Ok(results.get(won).is_truthy())
    }

    async fn apply(&mut self, change: Change<'_>) -> Result<Option<u32>, LocalRankError> {
        const OP: &str = "save the history";
        self.ensure_open().await?;
        let requests = Requests::new();
        for seq in change.remove_events {
            requests.delete(EVENTS, &JsValue::from(*seq));
        }
        for id in change.remove_vectors {
            requests.delete(VECTORS, &JsValue::from_str(id));
        }
        for entry in change.put_vectors {
            requests.put(VECTORS, &to_js(entry)?, None);
        }
        if let Some(dim) = change.set_dim {
            requests.put(META, &JsValue::from(dim as u32), Some(&JsValue::from_str(DIM_KEY)));
        }
        if let Some(state) = change.set_experiment {
            requests.put(META, &JsValue::from_str(state), Some(&JsValue::from_str(EXPERIMENT_KEY)));
        }
        let added = match change.append {
            Some(event) => Some(requests.add(EVENTS, &to_js(event)?)),
            None => None,
        };
        let results = requests.run(&self.db, &ALL_STORES, true, OP).await?;
        added
            .map(|index| {
                results
                    .get(index)
                    .as_f64()
                    .map(|k| k as u32)
                    .ok_or_else(|| LocalRankError::storage(OP, "IndexedDB returned a non-numeric key"))
            })
            .transpose()
    }

    async fn clear(&mut self) -> Result<(), LocalRankError> {
        const OP: &str = "erase the history";
        self.ensure_open().await?;
        let requests = Requests::new();
        for name in ALL_STORES {
            requests.clear(name);
        }
        requests.run(&self.db, &ALL_STORES, true, OP).await.map(drop)
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

/// The records of one store as JSON values: the whole array crosses the wasm boundary once, as
/// JSON text (`requests.js`), and is parsed into [`Node`] trees, each record then read field by
/// field (no serde derive per record type in the wasm). A record JSON cannot hold (a BigInt,
/// say) arrives as `null`: an error for the caller to report.
fn records(value: JsValue) -> Vec<Result<Node, String>> {
    match json_tree::parse(&super::records_json(&value)) {
        Ok(Node::List(records)) => records
            .into_iter()
            .map(|record| if record == Node::Null { Err("a record that cannot be read as JSON".to_owned()) } else { Ok(record) })
            .collect(),
        _ => vec![Err("the store's records cannot be read as JSON".to_owned())],
    }
}

/// A list of numbers, every one finite (JSON writes a NaN as `null`, which fails here).
fn vector(record: &Fields<'_>, key: &str) -> Option<Vec<f32>> {
    let vector = record.numbers(key).ok()?;
    (!vector.is_empty() && vector.iter().all(|x| x.is_finite())).then_some(vector)
}

/// Reads one event record; a schema-1 record also yields its embedded vector.
fn decode_event(record: &Node) -> Result<(StoredEvent, Option<Vec<f32>>), String> {
    let seq = record.get("seq").and_then(Node::as_f64);
    let label = seq.map(|s| format!("record {s}")).unwrap_or_else(|| "a record without seq".into());
    let read = || -> Result<(StoredEvent, Option<Vec<f32>>), FieldError> {
        let f = Fields::root(record, "the record")?;
        let kind = f.text("kind")?;
        let event = StoredEvent {
            seq: f.whole("seq", u64::from(u32::MAX))? as u32,
            kind: EventKind::parse(kind).ok_or_else(|| FieldError { field: "kind".into(), reason: format!("is {kind:?}, not an event kind") })?,
            item: f.optional_text("item")?.map(str::to_owned),
            query: f.optional_text("query")?.map(str::to_owned),
            timestamp: f.number("timestamp")?,
            category: f.optional_text("category")?.map(str::to_owned),
            price: f.get("price").map(|_| f.number("price")).transpose()?,
        };
        Ok((event, vector(&f, "vector")))
    };
    let (event, vector) = read().map_err(|e| format!("{label}: {e}"))?;
    event.check().map_err(|e| format!("{label}: {e}"))?;
    Ok((event, vector))
}

/// Reads one cached vector; `None` for a damaged entry (only a cache miss).
fn decode_vector(record: &Node) -> Option<CachedVector> {
    let f = Fields::root(record, "the record").ok()?;
    Some(CachedVector {
        id: f.text("id").ok()?.to_owned(),
        vector: vector(&f, "vector")?,
        category: f.optional_text("category").ok()?.map(str::to_owned),
        used: f.whole("used", (1 << 53) - 1).ok()?,
    })
}

fn unavailable(reason: String) -> LocalRankError {
    LocalRankError::StorageUnavailable { reason }
}
