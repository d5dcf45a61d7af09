//! The history through the real JS API, on real IndexedDB, in headless Chromium
//! (`wasm-pack test --headless --chrome`; webdriver.json turns WebGPU on).
#![cfg(target_arch = "wasm32")]

use idb::{DatabaseEvent, Factory, KeyPath, ObjectStoreParams, TransactionMode, TransactionResult};
use js_sys::{Array, Reflect};
use localrank::web::{Engine, open_engine};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A database name no other test (or earlier run) uses.
fn fresh_db(label: &str) -> String {
    format!("localrank-test-{label}-{}-{}", js_sys::Date::now(), (js_sys::Math::random() * 1e9) as u64)
}

/// The engine on the IndexedDB database `db`.
async fn open_db(db: &str) -> Engine {
    open(&format!(r#"{{"database":"{db}"}}"#)).await
}

fn js(json: &str) -> JsValue {
    js_sys::JSON::parse(json).expect("test JSON")
}

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap()
}

async fn open(options: &str) -> Engine {
    open_engine(js(options)).await.expect("open")
}

async fn call(promise: js_sys::Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

async fn record(engine: &Engine, event: &str) -> JsValue {
    call(engine.record(js(event))).await.expect("record")
}

async fn items(engine: &Engine) -> Vec<String> {
    let history = call(engine.history()).await.unwrap();
    Array::from(&history).iter().map(|e| get(&e, "item").as_string().unwrap_or_default()).collect()
}

async fn status(engine: &Engine) -> JsValue {
    call(engine.status()).await.unwrap()
}

async fn close(engine: Engine) {
    call(engine.close()).await.unwrap();
}

#[wasm_bindgen_test]
async fn events_survive_closing_and_reopening() {
    let db = fresh_db("persist");
    let options = format!(r#"{{"database":"{db}"}}"#);
    let engine = open(&options).await;
    let earlier = js_sys::Date::now() - 60_000.0;
    record(&engine, &format!(r#"{{"kind":"view","item":"a","timestamp":{earlier},"vector":[1,0,0],"category":"shoes"}}"#)).await;
    record(&engine, r#"{"kind":"cart","item":"b","price":12.5}"#).await;
    record(&engine, r#"{"kind":"search","query":"red shoes"}"#).await;
    close(engine).await;

    let engine = open(&options).await;
    assert_eq!(items(&engine).await, ["a", "b", ""]);
    let status = status(&engine).await;
    assert_eq!(get(&status, "storage").as_string().unwrap(), "indexeddb");
    assert_eq!(get(&status, "events").as_f64(), Some(3.0));
    assert_eq!(get(&status, "cachedVectors").as_f64(), Some(1.0));
    assert_eq!(get(&status, "dim").as_f64(), Some(3.0));
    assert_eq!(Array::from(&get(&status, "warnings")).length(), 0);
    close(engine).await;
}

#[wasm_bindgen_test]
async fn retention_trims_the_oldest_on_append_and_on_open() {
    let db = fresh_db("retention");
    let engine = open(&format!(r#"{{"database":"{db}","maxEvents":3}}"#)).await;
    let now = js_sys::Date::now();
    for i in 0..6 {
        record(&engine, &format!(r#"{{"kind":"view","item":"i{i}","timestamp":{}}}"#, now - 100.0 + i as f64)).await;
    }
    assert_eq!(items(&engine).await, ["i3", "i4", "i5"]);
    close(engine).await;

    let engine = open(&format!(r#"{{"database":"{db}","maxEvents":2}}"#)).await;
    assert_eq!(items(&engine).await, ["i4", "i5"]);
    close(engine).await;
    assert_eq!(raw_count(&db, "events").await, 2, "trimmed on disk, not just in memory");
}

#[wasm_bindgen_test]
async fn forget_leaves_an_empty_database() {
    let db = fresh_db("forget");
    let engine = open_db(&db).await;
    record(&engine, r#"{"kind":"purchase","item":"a","vector":[0.5,0.5]}"#).await;
    call(engine.forget()).await.unwrap();
    assert!(items(&engine).await.is_empty());
    close(engine).await;
    for store in ["events", "vectors", "meta"] {
        assert_eq!(raw_count(&db, store).await, 0, "{store} is empty");
    }
}

#[wasm_bindgen_test]
async fn a_schema_1_database_opens_and_is_migrated() {
    let db = fresh_db("schema1");
    // The prototype layout: one `events` store, vectors embedded in each record.
    let factory = Factory::new().unwrap();
    let mut request = factory.open(&db, Some(1)).unwrap();
    request.on_upgrade_needed(|event| {
        let database = event.database().unwrap();
        let mut params = ObjectStoreParams::new();
        params.auto_increment(true).key_path(Some(KeyPath::new_single("seq")));
        database.create_object_store("events", params).unwrap();
    });
    let database = request.await.unwrap();
    let tx = database.transaction(&["events"], TransactionMode::ReadWrite).unwrap();
    let events = tx.object_store("events").unwrap();
    events.add(&js(r#"{"kind":"view","item":"old-1","timestamp":1790000000000,"vector":[1,2]}"#), None).unwrap();
    events.add(&js(r#"{"kind":"click","item":"old-2","timestamp":1790000000001}"#), None).unwrap();
    assert!(matches!(tx.await.unwrap(), TransactionResult::Committed));
    database.close();

    let engine = open(&format!(r#"{{"database":"{db}","maxAgeDays":100000}}"#)).await;
    assert_eq!(items(&engine).await, ["old-1", "old-2"]);
    let status = status(&engine).await;
    assert_eq!(get(&status, "cachedVectors").as_f64(), Some(1.0), "the embedded vector moved to the cache");
    assert_eq!(Array::from(&get(&status, "warnings")).length(), 0);
    record(&engine, r#"{"kind":"view","item":"new"}"#).await;
    close(engine).await;
    assert_eq!(raw_count(&db, "vectors").await, 1);
    assert_eq!(raw_version(&db).await, 2);
}

#[wasm_bindgen_test]
async fn a_corrupt_record_is_skipped_and_reported() {
    let db = fresh_db("corrupt");
    let engine = open_db(&db).await;
    record(&engine, r#"{"kind":"view","item":"good"}"#).await;
    close(engine).await;
    raw_add(&db, "events", r#"{"kind":42,"timestamp":"yesterday"}"#).await;
    raw_add(&db, "events", r#"{"kind":"view","timestamp":1}"#).await; // a view without an item

    let engine = open_db(&db).await;
    assert_eq!(items(&engine).await, ["good"]);
    let warnings = Array::from(&get(&status(&engine).await, "warnings"));
    assert_eq!(warnings.length(), 1);
    let warning = warnings.get(0);
    assert_eq!(get(&warning, "code").as_string().unwrap(), "CorruptRecords");
    assert!(get(&warning, "message").as_string().unwrap().contains("skipped 2"));
    // Recording still works, and the unreadable records are left for inspection, not deleted.
    record(&engine, r#"{"kind":"view","item":"after"}"#).await;
    close(engine).await;
    assert_eq!(raw_count(&db, "events").await, 4);
}

#[wasm_bindgen_test]
async fn a_record_json_cannot_hold_is_reported_and_the_others_are_kept() {
    let db = fresh_db("bigint");
    let engine = open_db(&db).await;
    record(&engine, r#"{"kind":"view","item":"first"}"#).await;
    close(engine).await;
    // IndexedDB stores a BigInt; JSON cannot write one, so the store's records cannot cross as
    // one JSON text: the engine must still read every other record.
    let odd = js(r#"{"kind":"view","item":"odd"}"#);
    Reflect::set(&odd, &"timestamp".into(), &js_sys::BigInt::from(5u32).into()).unwrap();
    raw_add_value(&db, "events", &odd).await;

    let engine = open_db(&db).await;
    assert_eq!(items(&engine).await, ["first"]);
    let warnings = Array::from(&get(&status(&engine).await, "warnings"));
    assert_eq!(warnings.length(), 1);
    assert_eq!(get(&warnings.get(0), "code").as_string().unwrap(), "CorruptRecords");
    close(engine).await;
}

#[wasm_bindgen_test]
async fn a_newer_schema_falls_back_to_memory_with_a_typed_warning() {
    let db = fresh_db("newer");
    let factory = Factory::new().unwrap();
    factory.open(&db, Some(7)).unwrap().await.unwrap().close();

    let engine = open_db(&db).await;
    let status = status(&engine).await;
    assert_eq!(get(&status, "storage").as_string().unwrap(), "memory");
    let warning = Array::from(&get(&status, "warnings")).get(0);
    assert_eq!(get(&warning, "code").as_string().unwrap(), "SchemaTooNew");
    assert!(get(&warning, "message").as_string().unwrap().contains("schema version 7"));
    // The page goes on: events are kept in memory.
    record(&engine, r#"{"kind":"view","item":"x"}"#).await;
    assert_eq!(items(&engine).await, ["x"]);
    close(engine).await;
    assert_eq!(raw_version(&db).await, 7, "the newer database is left alone");
}

#[wasm_bindgen_test]
async fn bad_events_are_rejected_with_the_field_named_and_nothing_lost() {
    let engine = open(&format!(r#"{{"database":"{}","dim":2}}"#, fresh_db("bad"))).await;
    record(&engine, r#"{"kind":"view","item":"keep"}"#).await;
    let nan = js(r#"{"kind":"view","item":"x"}"#);
    Reflect::set(&nan, &"timestamp".into(), &JsValue::from_f64(f64::NAN)).unwrap();
    // What JSON.stringify would turn into null or drop: still named (inputs are read as JSON).
    let infinite = js(r#"{"kind":"view","item":"x"}"#);
    Reflect::set(&infinite, &"vector".into(), &Array::of2(&JsValue::from_f64(0.5), &JsValue::from_f64(f64::INFINITY))).unwrap();
    let typed_nan = js(r#"{"kind":"view","item":"x"}"#);
    Reflect::set(&typed_nan, &"vector".into(), &js_sys::Float32Array::from(&[f32::NAN, 1.0][..])).unwrap();
    let bigint = js(r#"{"kind":"view","item":"x"}"#);
    Reflect::set(&bigint, &"timestamp".into(), &js_sys::BigInt::from(1_700_000_000_000u64).into()).unwrap();
    let cases: Vec<(JsValue, &str)> = vec![
        (infinite, "vector[1]"),
        (typed_nan, "vector[0]"),
        (bigint, "timestamp"),
        (js(r#"{"kind":"teleport","item":"x"}"#), "kind"),
        (js(r#"{"item":"x"}"#), "kind"),
        (js(r#"{"kind":"view","item":""}"#), "item"),
        (js(r#"{"kind":"view","item":7}"#), "item"),
        (js(r#"{"kind":"view"}"#), "item"),
        (js(r#"{"kind":"view","item":"x","vector":[1,2,3]}"#), "vector"),
        (js(r#"{"kind":"view","item":"x","vector":[1,"a"]}"#), "vector[1]"),
        (js(r#"{"kind":"view","item":"x","price":"cheap"}"#), "price"),
        (js(r#"{"kind":"search"}"#), "query"),
        (nan, "timestamp"),
        (JsValue::from_str("view"), "(root)"),
        (js(r#"["view","x"]"#), "(root)"),
        (JsValue::NULL, "(root)"),
    ];
    for (event, field) in cases {
        let described = js_sys::JSON::stringify(&event).map(String::from).unwrap_or_default();
        let error = call(engine.record(event)).await.expect_err(&described);
        assert_eq!(get(&error, "name").as_string().unwrap(), "LocalRankError");
        assert_eq!(get(&error, "code").as_string().unwrap(), "InvalidEvent", "{described}");
        assert_eq!(get(&error, "field").as_string().unwrap(), field, "{described}");
    }
    // A Float32Array is accepted as a vector.
    let typed = js(r#"{"kind":"view","item":"typed"}"#);
    Reflect::set(&typed, &"vector".into(), &js_sys::Float32Array::from(&[0.25f32, 0.75][..])).unwrap();
    call(engine.record(typed)).await.expect("Float32Array vector");
    assert_eq!(items(&engine).await, ["keep", "typed"]);
    close(engine).await;
}

#[wasm_bindgen_test]
async fn invalid_options_reject_open() {
    let error = open_engine(js(r#"{"maxEvents":0}"#)).await.err().expect("rejected");
    assert_eq!(error.code(), "InvalidOptions");
    assert_eq!(error.field(), Some("maxEvents"));
    let error = open_engine(js(r#"{"storage":"floppy"}"#)).await.err().expect("rejected");
    assert_eq!(error.field(), Some("storage"));
    let nan = js(r#"{"storage":"memory"}"#);
    Reflect::set(&nan, &"maxEvents".into(), &JsValue::from_f64(f64::NAN)).unwrap();
    let error = open_engine(nan).await.err().expect("NaN is not a number of events");
    assert_eq!((error.code(), error.field()), ("InvalidOptions", Some("maxEvents")));
    assert!(error.to_string().contains("NaN"), "{error}");
    let big = js(r#"{"storage":"memory"}"#);
    Reflect::set(&big, &"maxEvents".into(), &js_sys::BigInt::from(500u32).into()).unwrap();
    let error = open_engine(big).await.err().expect("a BigInt is not a number");
    assert_eq!(error.field(), Some("maxEvents"));
    assert!(error.to_string().contains("\"500n\""), "{error}");
}

#[wasm_bindgen_test]
async fn memory_storage_persists_nothing() {
    let db = fresh_db("memory");
    let options = format!(r#"{{"database":"{db}","storage":"memory"}}"#);
    let engine = open(&options).await;
    record(&engine, r#"{"kind":"view","item":"a"}"#).await;
    assert_eq!(get(&status(&engine).await, "storage").as_string().unwrap(), "memory");
    close(engine).await;
    assert!(items(&open(&options).await).await.is_empty());
}

#[wasm_bindgen_test]
async fn webgpu_adapter_is_detected_with_the_flag_on() {
    let info = call(localrank::web::detect_backend()).await.unwrap();
    let described = js_sys::JSON::stringify(&info).map(String::from).unwrap_or_default();
    console_log!("WebGPU detection: {described}");
    // webdriver.json starts Chromium with --enable-unsafe-webgpu: SwiftShader provides an adapter.
    assert_eq!(get(&info, "backend").as_string().unwrap(), "webgpu", "{described}");
    let adapter = get(&info, "adapter");
    assert!(!get(&adapter, "vendor").as_string().unwrap_or_default().is_empty() || !get(&adapter, "architecture").as_string().unwrap_or_default().is_empty(), "{described}");
}

#[wasm_bindgen_test]
async fn another_tab_upgrading_the_schema_is_not_blocked_and_history_goes_on_in_memory() {
    let db = fresh_db("upgrade");
    let engine = open_db(&db).await;
    record(&engine, r#"{"kind":"view","item":"before"}"#).await;
    // A tab running a newer localrank opens the database at a higher version. Our open
    // connection must close on `versionchange` rather than block it.
    let factory = Factory::new().unwrap();
    let upgrade = async { factory.open(&db, Some(3)).unwrap().await.expect("upgrade").close() };
    assert!(within(5_000, upgrade).await.is_some(), "the upgrade was blocked by the open engine");

    record(&engine, r#"{"kind":"view","item":"after"}"#).await;
    assert_eq!(items(&engine).await, ["before", "after"], "nothing lost");
    let status = status(&engine).await;
    assert_eq!(get(&status, "storage").as_string().unwrap(), "memory");
    let codes: Vec<String> = Array::from(&get(&status, "warnings")).iter().map(|w| get(&w, "code").as_string().unwrap()).collect();
    assert!(codes.contains(&"SchemaTooNew".to_owned()), "{codes:?}");
    assert_eq!(raw_version(&db).await, 3, "the newer tab's database is left alone");
}

#[wasm_bindgen_test]
async fn deleting_the_database_elsewhere_is_not_blocked_and_the_engine_reopens_it() {
    let db = fresh_db("deleted");
    let engine = open_db(&db).await;
    record(&engine, r#"{"kind":"view","item":"old"}"#).await;
    let factory = Factory::new().unwrap();
    let delete = async { factory.delete(&db).unwrap().await.expect("delete") };
    assert!(within(5_000, delete).await.is_some(), "the delete was blocked by the open engine");
    record(&engine, r#"{"kind":"view","item":"new"}"#).await;
    assert_eq!(get(&status(&engine).await, "storage").as_string().unwrap(), "indexeddb", "reopened");
    close(engine).await;
    assert_eq!(raw_count(&db, "events").await, 1, "the reopened database holds the new event");
}

/// Runs `future`, giving up after `ms` milliseconds (so a blocked IndexedDB call fails the
/// test instead of hanging it).
async fn within<T>(ms: i32, future: impl std::future::Future<Output = T>) -> Option<T> {
    let timer = JsFuture::from(js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).unwrap();
    }));
    match futures::future::select(Box::pin(future), Box::pin(timer)).await {
        futures::future::Either::Left((value, _)) => Some(value),
        futures::future::Either::Right(_) => None,
    }
}

// Raw IndexedDB helpers: the tests check what is on disk, not just what the engine says.

async fn raw_count(db: &str, store: &str) -> u32 {
    let database = Factory::new().unwrap().open(db, None).unwrap().await.unwrap();
    let tx = database.transaction(&[store], TransactionMode::ReadOnly).unwrap();
    let count = tx.object_store(store).unwrap().count(None).unwrap().await.unwrap();
    database.close();
    count
}

async fn raw_add(db: &str, store: &str, record: &str) {
    raw_add_value(db, store, &js(record)).await;
}

async fn raw_add_value(db: &str, store: &str, record: &JsValue) {
    let database = Factory::new().unwrap().open(db, None).unwrap().await.unwrap();
    let tx = database.transaction(&[store], TransactionMode::ReadWrite).unwrap();
    tx.object_store(store).unwrap().add(record, None).unwrap();
    assert!(matches!(tx.await.unwrap(), TransactionResult::Committed));
    database.close();
}

async fn raw_version(db: &str) -> u32 {
    let database = Factory::new().unwrap().open(db, None).unwrap().await.unwrap();
    let version = database.version().unwrap();
    database.close();
    version
}
