//! The JavaScript API (wasm32 only): what the npm package wraps. Every exported function
//! returns a promise that resolves, or rejects with an `Error` whose `name` is
//! "LocalRankError" and which carries `code` (and `field` for input errors). Nothing here
//! makes a network request.

pub(crate) mod convert;
mod model;
mod rank;
mod sync;

pub use rank::{pool_from_js, prepare_pool, PreparedPool};

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::{LocalRankError, Warning};
use crate::gpu::{self, BackendInfo};
use crate::idb::{BrowserStore, IdbStore};
use crate::history::{History, MemoryStore, OpenOptions, RetentionPolicy, StorageChoice};
use crate::report::DapTask;
use convert::{from_js, js_error, to_js};

#[wasm_bindgen(typescript_custom_section)]
const TS_ERRORS: &str = r#"
/** Every code a localrank promise can reject with: the engine's (history, pool, storage,
 * options) and model loading's (`ModelErrorCode`, which includes `NoModel`). */
export type LocalRankErrorCode = "InvalidEvent" | "InvalidOptions" | "InvalidPool" | "SchemaTooNew" | "CorruptRecords" | "StorageUnavailable" | "StorageFull" | "Storage" | "Internal" | ModelErrorCode;

/** The DAP task an experiment's daily reports go to (`open({ experiment: { id, dap } })`;
 * docs/measurement.md). The storefront fetches both configs; the engine makes no request.
 * A mistake here does not stop `open()`: it is an `InvalidOptions` warning in
 * `status().warnings` naming the field (`experiment.dap.leaderConfig`, …), `takeReport()`
 * rejects with it, and ranking and the experiment's tally carry on. */
export interface DapTaskConfig {
    /** The task id as the aggregators show it: 32 bytes as unpadded base64url (43 characters). */
    taskId: string;
    /** The task's `time_precision` in seconds (a whole number, e.g. 86400). A report's time,
     * the start of the day it describes, is rounded down to it. */
    timePrecision: number;
    /** The leader's `HpkeConfigList`: the raw body of `GET {leader}/hpke_config?task_id={taskId}`
     * (`application/dap-hpke-config-list`) as bytes, or those bytes as base64url. The first
     * X25519 / HKDF-SHA256 / AES-128-GCM config in it is used. */
    leaderConfig: Uint8Array | string;
    /** The helper's `HpkeConfigList`, from `GET {helper}/hpke_config?task_id={taskId}`. */
    helperConfig: Uint8Array | string;
}

/** One finished day's report (`takeReport()`): a DAP-09 upload for the storefront to send
 * to the task's leader as `fetch(new URL(path, leaderUrl), { method, headers: { 'content-type':
 * contentType }, body })`. The body is opaque: a random report id, the day rounded to the
 * task's time precision, and two secret shares each encrypted to one aggregator. */
export interface DapUpload {
    method: "PUT";
    /** Relative to the leader's URL (which should end in `/`): `tasks/{taskId}/reports`. */
    path: string;
    contentType: "application/dap-report";
    /** 1,478 bytes, in an ArrayBuffer of their own (`& BufferSource`: so TypeScript ≥ 5.7 accepts
     * it as a `fetch` body, where a bare `Uint8Array` may view a SharedArrayBuffer). */
    body: Uint8Array & BufferSource;
}

/** The error every localrank promise rejects with. */
export interface LocalRankError extends Error {
    name: "LocalRankError";
    /** Stable, machine-readable kind: any `LocalRankErrorCode`. */
    code: LocalRankErrorCode;
    /** The offending input field: for InvalidEvent, InvalidOptions and InvalidPool, and for model
     * errors the config field or tensor at fault. */
    field?: string;
}
"#;

/// The message of the panic that stopped the engine, if one did. A panic aborts the wasm
/// instance (wasm32 has no unwinding); the JS layer catches the resulting trap, reads this
/// once, and serves every later call in fail-open mode without touching the instance again.
static LAST_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

#[wasm_bindgen(start)]
fn start() {
    // The message only: the trap that follows reaches js/index.js as a RuntimeError whose stack
    // has the page's frames (the shipped wasm has no function names to add).
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        web_sys::console::error_1(&JsValue::from_str(&format!("localrank: {message}")));
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(message);
        }
    }));
}

/// The panic that stopped the engine, if any (read by the JS layer after a trap).
#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> Option<String> {
    LAST_PANIC.lock().ok().and_then(|last| last.clone())
}

/// The engine's version.
#[wasm_bindgen]
pub fn version() -> String {
    crate::VERSION.to_owned()
}

/// The event kinds, in the model's vocabulary order.
#[wasm_bindgen(js_name = eventKinds, unchecked_return_type = "EventKind[]")]
pub fn event_kinds() -> Vec<JsValue> {
    crate::history::EventKind::ALL.iter().map(|k| JsValue::from_str(k.as_str())).collect()
}

/// Asks the browser for a WebGPU adapter; reports the CPU (with the reason) when there is none.
#[wasm_bindgen(js_name = detectBackend, unchecked_return_type = "Promise<BackendInfo>")]
pub fn detect_backend() -> Promise {
    future_to_promise(async { to_js(&gpu::detect().await) })
}

/// What `status()` reports.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct EngineStatus {
    pub version: String,
    /// Where history lives: "indexeddb", or "memory" when persistent storage was unavailable.
    pub storage: String,
    pub database: String,
    pub events: usize,
    pub cached_vectors: usize,
    #[tsify(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dim: Option<usize>,
    pub retention: RetentionPolicy,
    pub backend: BackendInfo,
    /// Problems the engine worked around (for example an unreadable database).
    pub warnings: Vec<Warning>,
    /// The lift experiment this browser takes part in (`open({ experiment })`) and its arm.
    #[tsify(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<ExperimentStatus>,
}

/// `status().experiment`.
#[derive(Serialize, Tsify)]
pub struct ExperimentStatus {
    pub id: String,
    pub arm: crate::measure::Arm,
}

/// An open engine: one shopper's history on this device.
#[wasm_bindgen]
pub struct Engine {
    pub(crate) history: Rc<sync::SharedHistory>,
    pub(crate) database: String,
    pub(crate) backend: Rc<RefCell<Option<BackendInfo>>>,
    /// The loaded intent encoder and its WebGPU runtime (src/web/model.rs: `loadModel`).
    pub(crate) model: Rc<RefCell<Option<Rc<crate::gpu::ModelRuntime>>>>,
    /// The experiment's DAP task (`experiment.dap`), checked at open: `None` when not
    /// configured, the `InvalidOptions` error when it was wrong (`takeReport()` returns it).
    pub(crate) dap: Rc<Option<Result<DapTask, LocalRankError>>>,
}

/// Opens the engine. Never fails because of storage: an unusable or unreadable database
/// leaves the engine on an in-memory history, with a warning in `status().warnings`.
/// Rejects only for invalid options.
#[wasm_bindgen(unchecked_return_type = "Promise<Engine>")]
pub fn open(#[wasm_bindgen(unchecked_param_type = "OpenOptions")] options: JsValue) -> Promise {
    future_to_promise(async move {
        let engine = open_engine(options).await.map_err(|e| js_error(&e))?;
        Ok(engine.into())
    })
}

pub async fn open_engine(options: JsValue) -> Result<Engine, LocalRankError> {
    let options: OpenOptions = if options.is_undefined() || options.is_null() {
        OpenOptions::default()
    } else {
        from_js(options, LocalRankError::invalid_option)?
    };
    options.validate()?;
    let now = js_sys::Date::now();
    let database = options.database_name().to_owned();

    let mut warnings = Vec::new();
    let store = match options.storage.unwrap_or_default() {
        StorageChoice::Memory => BrowserStore::Memory(MemoryStore::new()),
        StorageChoice::Indexeddb => match IdbStore::open(&database).await {
            Ok(store) => BrowserStore::Idb(store),
            Err(error) => {
                warnings.push(error);
                BrowserStore::Memory(MemoryStore::new())
            }
        },
    };
    let mut history = match History::open(store, &options, now).await {
        Ok(history) => history,
        Err(error) => {
            warnings.push(error);
            History::open(BrowserStore::Memory(MemoryStore::new()), &options, now).await?
        }
    };
    if let Some(config) = options.experiment.clone()
        && let Err(error) = history.join_experiment(config, convert::random_u32()).await
    {
        // Storage failed mid-join: this page runs outside the experiment (no arm, no tally).
        warnings.push(error);
    }
    // A wrong DAP setting stops only the reports: ranking and the tally carry on, and the
    // developer sees the error in the console, in status().warnings and from takeReport().
    let dap = options.experiment.as_ref().and_then(|experiment| experiment.dap.as_ref()).map(DapTask::from_options);
    if let Some(Err(error)) = &dap {
        warnings.push(error.clone());
    }
    for warning in warnings {
        log_warning(&warning);
        history.add_warning(warning);
    }
    let shared_name = (history.storage_kind() == "indexeddb").then_some(database.as_str());
    let history = sync::SharedHistory::new(history, shared_name);
    Ok(Engine { history: Rc::new(history), database, backend: Rc::new(RefCell::new(None)), model: Rc::new(RefCell::new(None)), dap: Rc::new(dap) })
}

#[wasm_bindgen]
impl Engine {
    /// Validates and stores one event. Rejects with `InvalidEvent` (naming the field) and
    /// leaves stored history untouched when the event is bad.
    #[wasm_bindgen(unchecked_return_type = "Promise<StoredEvent>")]
    pub fn record(&self, #[wasm_bindgen(unchecked_param_type = "EventInput")] event: JsValue) -> Promise {
        let history = self.history.clone();
        future_to_promise(async move {
            let input = from_js(event, LocalRankError::invalid_event).map_err(|e| js_error(&e))?;
            let stored = history.lock().await.record(input, js_sys::Date::now()).await.map_err(|e| js_error(&e))?;
            history.changed();
            to_js(&stored)
        })
    }

    /// Every stored event, oldest first.
    #[wasm_bindgen(unchecked_return_type = "Promise<StoredEvent[]>")]
    pub fn history(&self) -> Promise {
        let history = self.history.clone();
        future_to_promise(async move { to_js(&history.lock().await.events()) })
    }

    /// The shopper's history as a JSON document (`HistoryExport`), for them to download.
    #[wasm_bindgen(js_name = exportHistory, unchecked_return_type = "Promise<string>")]
    pub fn export_history(&self) -> Promise {
        let history = self.history.clone();
        future_to_promise(async move {
            let json = history.lock().await.export(js_sys::Date::now()).to_json();
            Ok(JsValue::from_str(&json))
        })
    }

    /// Erases the shopper's history and cached item vectors, on disk and in memory.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn forget(&self) -> Promise {
        let history = self.history.clone();
        // The model's kept rows and intent are derived from the history: erased too.
        if let Some(runtime) = self.model_runtime() {
            runtime.forget_last_intent();
        }
        future_to_promise(async move {
            history.lock().await.forget().await.map_err(|e| js_error(&e))?;
            history.changed();
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Version, storage in use, counts, retention, compute backend and warnings.
    #[wasm_bindgen(unchecked_return_type = "Promise<EngineStatus>")]
    pub fn status(&self) -> Promise {
        let history = self.history.clone();
        let backend = self.backend.clone();
        let database = self.database.clone();
        future_to_promise(async move {
            let detected = backend.borrow().clone();
            let backend_info = match detected {
                Some(info) => info,
                None => {
                    let info = gpu::detect().await;
                    *backend.borrow_mut() = Some(info.clone());
                    info
                }
            };
            let history = history.lock().await;
            to_js(&EngineStatus {
                version: crate::VERSION.to_owned(),
                storage: history.storage_kind().to_owned(),
                database,
                events: history.len(),
                cached_vectors: history.vectors().len(),
                dim: history.vectors().dim(),
                retention: history.policy(),
                backend: backend_info,
                warnings: history.warnings().iter().map(Warning::from).collect(),
                experiment: history.experiment_arm().map(|(id, arm)| ExperimentStatus { id: id.to_owned(), arm }),
            })
        })
    }

    /// Whether a finished day is waiting for its report (`takeReport()` asks first, so the
    /// report module is downloaded only when there is a day to seal). `false` without an
    /// experiment or `experiment.dap`; rejects with the `InvalidOptions` error of a wrong
    /// `experiment.dap` (naming the field). Package-internal: js/index.js calls it.
    #[wasm_bindgen(js_name = reportDue, unchecked_return_type = "Promise<boolean>")]
    pub fn report_due(&self) -> Promise {
        let history = self.history.clone();
        let dap = self.dap.clone();
        future_to_promise(async move {
            match dap.as_ref() {
                None => Ok(JsValue::FALSE),
                Some(Err(error)) => Err(js_error(error)),
                Some(Ok(_)) => Ok(JsValue::from_bool(history.lock().await.experiment_report_due(js_sys::Date::now()))),
            }
        })
    }

    /// The lift experiment's report for one finished day, sealed with `seal_day` (the report
    /// module's `sealDay`, which js/index.js loads on demand), or `null` when there is nothing
    /// to send: no experiment or no `experiment.dap`, no finished day with a homepage shown, or
    /// that day already reported (by this tab or another). The day is marked reported in
    /// storage before the upload is returned: a failed send loses that day's report, it is
    /// never sent twice; a failed seal leaves the day due. The engine makes no request.
    /// Package-internal: the public `takeReport()` is js/index.js's.
    #[wasm_bindgen(js_name = takeReport, unchecked_return_type = "Promise<DapUpload | null>")]
    pub fn take_report(&self, seal_day: js_sys::Function) -> Promise {
        let history = self.history.clone();
        let dap = self.dap.clone();
        future_to_promise(async move {
            let task = match dap.as_ref() {
                None => return Ok(JsValue::NULL),
                Some(Err(error)) => return Err(js_error(error)),
                Some(Ok(task)) => task,
            };
            let upload = history
                .lock()
                .await
                .take_experiment_report_with(js_sys::Date::now(), |day, outcome| task.seal(day, &outcome, |request| call_seal_day(&seal_day, request)))
                .await
                .map_err(|e| js_error(&e))?;
            let Some(upload) = upload else { return Ok(JsValue::NULL) };
            // Other tabs re-read the state (reported_through) before their next call.
            history.changed();
            upload_to_js(&upload)
        })
    }

    /// Closes the database connection. The engine must not be used afterwards.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        let history = self.history.clone();
        future_to_promise(async move {
            history.lock().await.store().close();
            history.close();
            Ok(JsValue::UNDEFINED)
        })
    }
}

/// Calls the report module's `sealDay(taskId, timePrecision, leaderConfig, helperConfig,
/// time, bucket)`: the body's bytes, or what it threw as text.
fn call_seal_day(seal_day: &js_sys::Function, request: &crate::report::SealRequest) -> Result<Vec<u8>, String> {
    use wasm_bindgen::JsCast;
    let args = js_sys::Array::new();
    args.push(&js_sys::Uint8Array::from(request.task_id.as_slice()));
    // Whole seconds below 2⁵³ (checked at open / by the day arithmetic): exact as f64.
    args.push(&JsValue::from_f64(request.time_precision_s as f64));
    args.push(&js_sys::Uint8Array::from(request.leader_config.as_slice()));
    args.push(&js_sys::Uint8Array::from(request.helper_config.as_slice()));
    args.push(&JsValue::from_f64(request.time_s as f64));
    args.push(&JsValue::from(request.bucket));
    let body = seal_day.apply(&JsValue::NULL, &args).map_err(|thrown| {
        thrown.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| thrown.as_string()).unwrap_or_else(|| "the report module threw".into())
    })?;
    body.dyn_into::<js_sys::Uint8Array>().map(|bytes| bytes.to_vec()).map_err(|_| "the report module's sealDay returned no bytes (a different localrank version?)".into())
}

/// `{ method, path, contentType, body: Uint8Array }`: the body as bytes, not a number array.
fn upload_to_js(upload: &localrank_report::Upload) -> Result<JsValue, JsValue> {
    let object = js_sys::Object::new();
    let set = |key: &str, value: &JsValue| js_sys::Reflect::set(&object, &JsValue::from_str(key), value).map(drop);
    set("method", &JsValue::from_str(upload.method))?;
    set("path", &JsValue::from_str(&upload.path))?;
    set("contentType", &JsValue::from_str(upload.content_type))?;
    set("body", &js_sys::Uint8Array::from(upload.body.as_slice()).into())?;
    Ok(object.into())
}

pub(crate) fn log_warning(warning: &LocalRankError) {
    web_sys::console::warn_1(&JsValue::from_str(&format!("localrank: {warning}")));
}
