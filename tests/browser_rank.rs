//! rank() end to end in headless Chromium: the JS API, IndexedDB, fail-open.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Reflect};
use localrank::web::{Engine, open_engine};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn js(json: &str) -> JsValue {
    js_sys::JSON::parse(json).expect("test JSON")
}

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap()
}

fn strings(value: &JsValue) -> Vec<String> {
    Array::from(value).iter().map(|v| v.as_string().unwrap_or_default()).collect()
}

fn fresh_db(label: &str) -> String {
    format!("localrank-rank-{label}-{}-{}", js_sys::Date::now(), (js_sys::Math::random() * 1e9) as u64)
}

/// 3 categories × 5 items, interleaved in server order, vectors pointing along one axis each.
fn catalogue() -> String {
    let mut items = Vec::new();
    for k in 0..5 {
        for (c, category) in ["shoes", "books", "garden"].iter().enumerate() {
            let mut vector = vec![0.05 * k as f32; 3];
            vector[c] = 1.0;
            items.push(format!(
                r#"{{"id":"{category}-{k}","vector":{vector:?},"category":"{category}","score":{}}}"#,
                100 - items.len()
            ));
        }
    }
    format!(r#"{{"dim":3,"items":[{}]}}"#, items.join(","))
}

async fn engine(label: &str) -> Engine {
    open_engine(js(&format!(r#"{{"database":"{}"}}"#, fresh_db(label)))).await.expect("open")
}

async fn record(engine: &Engine, event: &str) {
    JsFuture::from(engine.record(js(event))).await.expect("record");
}

async fn rank(engine: &Engine, pool: JsValue, options: JsValue) -> JsValue {
    JsFuture::from(engine.rank(pool, options)).await.expect("rank never rejects")
}

#[wasm_bindgen_test]
async fn a_books_shopper_sees_books_first_with_reasons() {
    let engine = engine("books").await;
    record(&engine, r#"{"kind":"view","item":"books-3","vector":[0,1,0.1]}"#).await;
    record(&engine, r#"{"kind":"cart","item":"books-4","vector":[0.1,1,0]}"#).await;
    let ranking = rank(&engine, js(&catalogue()), JsValue::UNDEFINED).await;
    assert_eq!(get(&ranking, "personalized").as_bool(), Some(true), "{:?}", get(&ranking, "reason"));
    let order = strings(&get(&ranking, "order"));
    assert!(order[..3].iter().all(|id| id.starts_with("books")), "{order:?}");
    assert_eq!(order.len(), 15);
    assert_eq!(get(&ranking, "backend").as_string().unwrap(), "cpu");
    assert_eq!(get(&ranking, "intent").as_string().unwrap(), "history");
    let first = Array::from(&get(&ranking, "items")).get(0);
    assert!(get(&first, "because").as_string().unwrap().starts_with("books-"));
    assert!(get(&get(&first, "parts"), "intent").as_f64().unwrap() > 0.9);
    assert!(get(&ranking, "elapsedMs").as_f64().unwrap() >= 0.0);
}

#[wasm_bindgen_test]
async fn a_click_on_a_ranked_item_is_reflected_in_the_next_ranking() {
    let engine = engine("realtime").await;
    record(&engine, r#"{"kind":"view","item":"shoes-1","vector":[1,0,0]}"#).await;
    let first = rank(&engine, js(&catalogue()), JsValue::UNDEFINED).await;
    assert!(strings(&get(&first, "order"))[0].starts_with("shoes"));
    // Tiles carry no vector: the engine takes it from the pool it just ranked.
    for item in ["garden-1", "garden-2", "garden-3"] {
        record(&engine, &format!(r#"{{"kind":"purchase","item":"{item}"}}"#)).await;
    }
    let second = rank(&engine, js(&catalogue()), JsValue::UNDEFINED).await;
    let order = strings(&get(&second, "order"));
    assert!(order[0].starts_with("garden"), "{order:?}");
    // Bought items sink to the end.
    assert!(order[12..].iter().all(|id| ["garden-1", "garden-2", "garden-3"].contains(&id.as_str())), "{order:?}");
}

#[wasm_bindgen_test]
async fn the_ranking_survives_a_new_engine_on_the_same_database() {
    let db = fresh_db("reopen");
    let options = format!(r#"{{"database":"{db}"}}"#);
    let engine = open_engine(js(&options)).await.unwrap();
    let pool = js(&catalogue());
    rank(&engine, pool.clone(), JsValue::UNDEFINED).await; // remembers the pool's vectors
    record(&engine, r#"{"kind":"favorite","item":"garden-4"}"#).await;
    let before = strings(&get(&rank(&engine, pool.clone(), JsValue::UNDEFINED).await, "order"));
    JsFuture::from(engine.close()).await.unwrap();
    let reopened = open_engine(js(&options)).await.unwrap();
    // A pool without garden-4: its vector must come from the persisted cache.
    let other_pool = js(&catalogue().replace(r#""id":"garden-4""#, r#""id":"garden-x""#));
    let after = strings(&get(&rank(&reopened, other_pool, JsValue::UNDEFINED).await, "order"));
    assert!(before[0].starts_with("garden") && after[0].starts_with("garden"), "{before:?} / {after:?}");
}

#[wasm_bindgen_test]
async fn a_float32_matrix_pool_ranks_like_the_json_pool() {
    let engine = engine("matrix").await;
    record(&engine, r#"{"kind":"view","item":"b","vector":[0,1]}"#).await;
    let pool = js(r#"{"dim":2,"items":[{"id":"a","score":3},{"id":"b","score":2},{"id":"c","score":1}]}"#);
    let matrix = js_sys::Float32Array::from(&[1.0f32, 0.0, 0.0, 1.0, 0.1, 0.9][..]);
    Reflect::set(&pool, &"vectors".into(), &matrix).unwrap();
    let json = js(r#"{"dim":2,"items":[{"id":"a","score":3,"vector":[1,0]},{"id":"b","score":2,"vector":[0,1]},{"id":"c","score":1,"vector":[0.1,0.9]}]}"#);
    let options = js(r#"{"diversity":1}"#);
    let from_matrix = strings(&get(&rank(&engine, pool, options.clone()).await, "order"));
    let from_json = strings(&get(&rank(&engine, json, options).await, "order"));
    assert_eq!(from_matrix, from_json);
    assert_eq!(from_matrix[0], "b");
}

#[wasm_bindgen_test]
async fn bad_input_gives_the_server_order_back_with_the_reason() {
    let engine = engine("failopen").await;
    record(&engine, r#"{"kind":"view","item":"x","vector":[1,0]}"#).await;

    let duplicate = js(r#"{"dim":2,"items":[{"id":"a","vector":[1,0]},{"id":"b","vector":[0,1]},{"id":"a","vector":[1,1]}]}"#);
    let ranking = rank(&engine, duplicate, JsValue::UNDEFINED).await;
    assert_eq!(get(&ranking, "personalized").as_bool(), Some(false));
    assert_eq!(strings(&get(&ranking, "order")), ["a", "b", "a"], "the ids exactly as sent");
    assert_eq!(get(&ranking, "error").as_string().unwrap(), "InvalidPool");
    assert!(get(&ranking, "reason").as_string().unwrap().contains("items[2].id"));

    let wrong_dim = js(r#"{"dim":3,"items":[{"id":"a","vector":[1,0]}]}"#);
    let ranking = rank(&engine, wrong_dim, JsValue::UNDEFINED).await;
    assert!(get(&ranking, "reason").as_string().unwrap().contains("items[0].vector"));

    let bad_type = js(r#"{"dim":2,"items":[{"id":"a","vector":[1,0],"score":"high"}]}"#);
    let ranking = rank(&engine, bad_type, JsValue::UNDEFINED).await;
    assert!(get(&ranking, "reason").as_string().unwrap().contains("items[0].score"), "{:?}", get(&ranking, "reason"));
    assert_eq!(get(&ranking, "field").as_string().as_deref(), Some("items[0].score"));

    // A non-finite number in a plain object: JSON.stringify (the fast path) would write it as
    // null, i.e. "no score"; it must be reported like the per-item typed-array path does.
    for (key, value) in [("score", f64::NAN), ("score", f64::INFINITY), ("price", f64::NEG_INFINITY), ("pinned", f64::NAN)] {
        for with_matrix in [false, true] {
            let pool = if with_matrix {
                let pool = js(r#"{"dim":2,"items":[{"id":"a","score":1},{"id":"b","score":2}]}"#);
                Reflect::set(&pool, &"vectors".into(), &js_sys::Float32Array::from(&[1f32, 0.0, 0.0, 1.0][..])).unwrap();
                pool
            } else {
                js(r#"{"dim":2,"items":[{"id":"a","vector":[1,0],"score":1},{"id":"b","vector":[0,1],"score":2}]}"#)
            };
            Reflect::set(&Array::from(&get(&pool, "items")).get(1), &key.into(), &JsValue::from_f64(value)).unwrap();
            let ranking = rank(&engine, pool, JsValue::UNDEFINED).await;
            assert_eq!(get(&ranking, "error").as_string().as_deref(), Some("InvalidPool"), "{key} = {value}, matrix {with_matrix}");
            assert_eq!(get(&ranking, "field").as_string(), Some(format!("items[1].{key}")), "{key} = {value}, matrix {with_matrix}");
            assert_eq!(strings(&get(&ranking, "order")), ["a", "b"]);
        }
    }

    let good = js(r#"{"dim":2,"items":[{"id":"a","vector":[1,0]},{"id":"b","vector":[0,1]}]}"#);
    let ranking = rank(&engine, good.clone(), js(r#"{"diversity":7}"#)).await;
    assert_eq!(get(&ranking, "error").as_string().unwrap(), "InvalidOptions");
    assert_eq!(strings(&get(&ranking, "order")), ["a", "b"]);
    let ranking = rank(&engine, good.clone(), js(r#"{"weights":{"server":-1}}"#)).await;
    assert_eq!(get(&ranking, "error").as_string().unwrap(), "InvalidOptions");
    assert!(get(&ranking, "reason").as_string().unwrap().contains("weights.server"), "{:?}", get(&ranking, "reason"));
    assert_eq!(strings(&get(&ranking, "order")), ["a", "b"]);

    for garbage in [JsValue::NULL, JsValue::from_str("pool"), js(r#"{"items":"nope"}"#)] {
        let ranking = rank(&engine, garbage, JsValue::UNDEFINED).await;
        assert_eq!(get(&ranking, "personalized").as_bool(), Some(false));
        assert_eq!(Array::from(&get(&ranking, "order")).length(), 0);
    }
    // The engine still works afterwards, and nothing stored was lost.
    let ranking = rank(&engine, good, JsValue::UNDEFINED).await;
    assert_eq!(get(&ranking, "personalized").as_bool(), Some(true));
    assert_eq!(strings(&get(&ranking, "order"))[0], "a");
}

#[wasm_bindgen_test]
async fn no_history_means_server_order_with_a_reason() {
    let engine = engine("empty").await;
    let ranking = rank(&engine, js(&catalogue()), JsValue::UNDEFINED).await;
    assert_eq!(get(&ranking, "personalized").as_bool(), Some(false));
    assert!(get(&ranking, "reason").as_string().unwrap().contains("no history"));
    assert!(get(&ranking, "error").is_undefined(), "an empty history is not an error");
    assert_eq!(strings(&get(&ranking, "order"))[..3], ["shoes-0", "books-0", "garden-0"]);
}

#[wasm_bindgen_test]
fn the_object_and_json_text_paths_read_every_field_alike() {
    // Every field of PoolItemInput, set; the JSON text goes through serde, the object through
    // the direct reader. If a field is added to one and not the other, this fails.
    let text = r#"{"model":"m1","dim":2,"items":[
        {"id":"a","vector":[1,0],"score":2.5,"category":"shoes","price":9.99,"pinned":1,"sponsored":false,"available":true,"repeat":true,"neighbours":{"ids":["b","x"],"weights":[0.5,0.25]}},
        {"id":"b","vector":"AACAPwAAAAA=","sponsored":true,"available":false},
        {"id":"c","vector":{"base64":"AgA=","dtype":"int8","scale":0.5},"text":"unused: the vector wins"},
        {"id":"d","text":"Garden hose, 20 m","score":1}]}"#;
    let from_text = localrank::web::pool_from_js(&JsValue::from_str(text)).expect("text");
    let from_object = localrank::web::pool_from_js(&js(text)).expect("object (JSON fast path)");
    assert_eq!(from_text, from_object);
    // A Float32Array vector cannot go through JSON: this object takes the direct path.
    let typed = js(text);
    let first = Array::from(&get(&typed, "items")).get(0);
    Reflect::set(&first, &"vector".into(), &js_sys::Float32Array::from(&[1.0f32, 0.0][..])).unwrap();
    let from_direct = localrank::web::pool_from_js(&typed).expect("object (direct path)");
    assert_eq!(from_text, from_direct);
    assert_eq!(from_object.items[0].pinned, Some(1));
    assert!(from_object.items[0].repeat && from_object.items[1].sponsored && !from_object.items[1].available);
    assert_eq!(from_object.model.as_deref(), Some("m1"));
    assert_eq!(from_direct.items[0].neighbours, Some(vec![("b".to_owned(), 0.5), ("x".to_owned(), 0.25)]));
    assert_eq!(from_direct.items[3].text.as_deref(), Some("Garden hose, 20 m"));
    assert_eq!((from_direct.text_only_items(), from_text.text_only_items()), (1, 1));
    let error = localrank::web::pool_from_js(&js(r#"{"dim":2,"items":[{"id":"a","vector":[1,0],"sponsored":"yes"}]}"#)).unwrap_err();
    assert_eq!(error.field(), Some("items[0].sponsored"));
    let error = localrank::web::pool_from_js(&JsValue::from_str("{not json")).unwrap_err();
    assert_eq!(error.code(), "InvalidPool");
}

/// A pool of 40 items in an 8-dim space and an engine with a seeded random model loaded.
async fn engine_with_model(label: &str) -> (Engine, JsValue) {
    engine_with_tuned_model(label, None).await
}

/// The same, with `blend` (JSON) as the model's tuned weights in its model.json.
async fn engine_with_tuned_model(label: &str, blend: Option<&str>) -> (Engine, JsValue) {
    use localrank::model::{Precision, fixture};
    let engine = engine(label).await;
    let (weights, config) = fixture::random_model(8, 2, 2, 16, 32, Precision::F32, 42).unwrap();
    let config = match blend {
        Some(blend) => config.replacen('{', &format!(r#"{{"blend":{blend},"#), 1),
        None => config,
    };
    let bytes = js_sys::Uint8Array::from(&weights[..]);
    JsFuture::from(engine.load_model(bytes, config, js(r#"{"cache":false}"#))).await.expect("loadModel");
    let items: Vec<String> = (0..40)
        .map(|i| {
            let vector: Vec<f32> = (0..8).map(|d| ((i * 13 + d * 7) % 17) as f32 / 8.5 - 1.0).collect();
            format!(r#"{{"id":"sku-{i}","vector":{vector:?},"score":{},"category":"c{}"}}"#, 40 - i, i % 4)
        })
        .collect();
    let pool = js(&format!(r#"{{"dim":8,"items":[{}]}}"#, items.join(",")));
    rank(&engine, pool.clone(), JsValue::UNDEFINED).await; // remember the pool's vectors
    for item in ["sku-3", "sku-11", "sku-27", "sku-11"] {
        record(&engine, &format!(r#"{{"kind":"view","item":"{item}"}}"#)).await;
    }
    (engine, pool)
}

#[wasm_bindgen_test]
async fn a_loaded_model_computes_the_intent_on_cpu_and_webgpu_alike() {
    let (engine, pool) = engine_with_model("model").await;
    let on_cpu = rank(&engine, pool.clone(), js(r#"{"backend":"cpu","diversity":1}"#)).await;
    assert_eq!(get(&on_cpu, "intent").as_string().unwrap(), "model");
    assert_eq!(get(&on_cpu, "backend").as_string().unwrap(), "cpu");
    assert!(get(&on_cpu, "model").as_string().is_some());
    let on_gpu = rank(&engine, pool.clone(), js(r#"{"backend":"webgpu","diversity":1}"#)).await;
    assert_eq!(get(&on_gpu, "intent").as_string().unwrap(), "model");
    // SwiftShader is there (webdriver.json); were WebGPU to fail, the CPU would finish the call.
    let backend = get(&on_gpu, "backend").as_string().unwrap();
    console_log!("rank with backend:webgpu ran on {backend}");
    let scores = |ranking: &JsValue| -> Vec<f64> {
        Array::from(&get(ranking, "items")).iter().map(|i| get(&get(&i, "parts"), "intent").as_f64().unwrap()).collect()
    };
    let ids = |ranking: &JsValue| strings(&get(ranking, "order"));
    // Same items, intent scores within 1e-4 item by item (orders may differ only on near-ties).
    let (cpu_ids, gpu_ids) = (ids(&on_cpu), ids(&on_gpu));
    let cpu_scores = scores(&on_cpu);
    let gpu_scores = scores(&on_gpu);
    for (id, gpu) in gpu_ids.iter().zip(&gpu_scores) {
        let cpu = cpu_scores[cpu_ids.iter().position(|c| c == id).unwrap()];
        assert!((cpu - gpu).abs() < 1e-4, "{id}: cpu {cpu} vs webgpu {gpu}");
    }
    // The model's intent differs from the history mean: ranking without the model changes scores.
    let plain = engine_without_model_scores(&pool).await;
    assert_ne!(plain, cpu_scores, "the model, not the history mean, produced the intent");
}

#[wasm_bindgen_test]
async fn a_models_tuned_blend_weights_are_the_defaults_and_a_call_overrides_them() {
    let (engine, pool) = engine_with_tuned_model("tuned", Some(r#"{"intent":1,"server":0,"affinity":2,"neighbour":0.5}"#)).await;
    let weights = |ranking: &JsValue| {
        let w = get(ranking, "weights");
        ["intent", "server", "affinity", "neighbour"].map(|k| get(&w, k).as_f64().unwrap_or(f64::NAN))
    };
    let tuned = rank(&engine, pool.clone(), JsValue::UNDEFINED).await;
    assert_eq!(get(&tuned, "intent").as_string().unwrap(), "model");
    assert_eq!(weights(&tuned), [1.0, 0.0, 2.0, 0.5]);
    // Score = intent + 2 × affinity + 0.5 × neighbour, as reported item by item; the
    // neighbour part is computed on the device (some item is like the history).
    let items = Array::from(&get(&tuned, "items"));
    for item in items.iter() {
        let parts = get(&item, "parts");
        let part = |k: &str| get(&parts, k).as_f64().unwrap();
        let expected = part("intent") + 2.0 * part("affinity") + 0.5 * part("neighbour");
        assert!((get(&item, "score").as_f64().unwrap() - expected).abs() < 1e-5);
    }
    assert!(items.iter().any(|item| get(&get(&item, "parts"), "neighbour").as_f64().unwrap() > 0.0));
    let overridden = rank(&engine, pool.clone(), js(r#"{"weights":{"server":0.5}}"#)).await;
    assert_eq!(weights(&overridden), [1.0, 0.5, 2.0, 0.5]);
    // Without a tuned blend, the built-in defaults.
    let (plain, pool) = engine_with_model("untuned").await;
    assert_eq!(weights(&rank(&plain, pool, JsValue::UNDEFINED).await), [1.0, 0.35, 0.5, 0.0]);
}

/// The same history ranked by an engine without a model (history-mean intent).
async fn engine_without_model_scores(pool: &JsValue) -> Vec<f64> {
    let engine = engine("nomodel").await;
    rank(&engine, pool.clone(), JsValue::UNDEFINED).await;
    for item in ["sku-3", "sku-11", "sku-27", "sku-11"] {
        record(&engine, &format!(r#"{{"kind":"view","item":"{item}"}}"#)).await;
    }
    let ranking = rank(&engine, pool.clone(), js(r#"{"diversity":1}"#)).await;
    assert_eq!(get(&ranking, "intent").as_string().unwrap(), "history");
    Array::from(&get(&ranking, "items")).iter().map(|i| get(&get(&i, "parts"), "intent").as_f64().unwrap()).collect()
}

#[wasm_bindgen_test]
async fn a_model_of_another_dimension_is_ignored_for_that_pool() {
    let (engine, _) = engine_with_model("otherdim").await;
    let pool = js(r#"{"dim":2,"items":[{"id":"a","vector":[1,0]},{"id":"b","vector":[0,1]}]}"#);
    let _ = JsFuture::from(engine.record(js(r#"{"kind":"view","item":"x","vector":[0,1]}"#))).await;
    let ranking = rank(&engine, pool, JsValue::UNDEFINED).await;
    assert_ne!(get(&ranking, "intent").as_string().unwrap(), "model");
}

/// The 40-item pool of `engine_with_model` plus two new products known only by their words,
/// one of them the shopper's search.
fn pool_with_text_items() -> String {
    let mut items: Vec<String> = (0..40)
        .map(|i| {
            let vector: Vec<f32> = (0..8).map(|d| ((i * 13 + d * 7) % 17) as f32 / 8.5 - 1.0).collect();
            format!(r#"{{"id":"sku-{i}","vector":{vector:?},"score":{},"category":"c{}"}}"#, 40 - i, i % 4)
        })
        .collect();
    items.insert(1, r#"{"id":"new-oat","text":"Oat milk, organic","score":39.5}"#.to_owned());
    items.insert(5, r#"{"id":"new-hose","text":"garden hose 20 m","score":35.5,"category":"c1"}"#.to_owned());
    format!(r#"{{"dim":8,"items":[{}]}}"#, items.join(","))
}

fn ranked_item(ranking: &JsValue, id: &str) -> JsValue {
    Array::from(&get(ranking, "items")).iter().find(|item| get(item, "id").as_string().as_deref() == Some(id)).unwrap_or_else(|| panic!("{id} is ranked"))
}

#[wasm_bindgen_test]
async fn text_only_items_and_searches_go_through_the_models_text_tower() {
    use localrank::model::{Precision, TextTowerConfig, fixture};
    let engine = engine("text").await;
    for item in ["sku-3", "sku-11", "sku-27"] {
        record(&engine, &format!(r#"{{"kind":"view","item":"{item}"}}"#)).await;
    }
    record(&engine, r#"{"kind":"search","query":"oat milk organic"}"#).await;
    let pool = js(&pool_with_text_items());

    // No model: the new products keep a place from the server score, and the ranking says why.
    let cold = rank(&engine, pool.clone(), JsValue::UNDEFINED).await;
    assert_eq!(strings(&get(&cold, "order")).len(), 42);
    let text = get(&cold, "text");
    assert_eq!(get(&text, "textItems").as_f64(), Some(2.0));
    assert_eq!(get(&text, "searches").as_f64(), Some(1.0));
    assert_eq!(get(&text, "embedded").as_bool(), Some(false));
    assert!(get(&text, "reason").as_string().unwrap().contains("no model is loaded"));
    assert_eq!(get(&get(&ranked_item(&cold, "new-oat"), "parts"), "intent").as_f64(), Some(0.0));

    // A model with a text tower: the products get vectors, the search a step.
    let tower = TextTowerConfig { buckets: 1024, min_n: 3, max_n: 4, dim: 8 };
    let (weights, config) = fixture::random_model_with_text(8, 2, 2, 16, 32, Precision::Int8, Some(tower), 42).unwrap();
    JsFuture::from(engine.load_model(js_sys::Uint8Array::from(&weights[..]), config, js(r#"{"cache":false}"#))).await.expect("loadModel");
    // Every item explained (the default is the first 24), wherever the new product lands.
    let ranking = rank(&engine, pool.clone(), js(r#"{"backend":"cpu","explainTop":42}"#)).await;
    assert_eq!(get(&ranking, "intent").as_string().as_deref(), Some("model"), "{:?}", get(&ranking, "reason"));
    let text = get(&ranking, "text");
    assert_eq!(get(&text, "embedded").as_bool(), Some(true));
    assert!(get(&text, "reason").is_undefined());
    let oat = ranked_item(&ranking, "new-oat");
    assert_ne!(get(&get(&oat, "parts"), "intent").as_f64(), Some(0.0));
    // The product whose words are the search's is explained by it, on the page only.
    assert_eq!(get(&oat, "because").as_string().as_deref(), Some("oat milk organic"));
    assert_eq!(get(&oat, "becauseKind").as_string().as_deref(), Some("search"));

    // The prepared (packed) path, as the npm package ranks: the same scores and reasons.
    let prepared = localrank::web::prepare_pool(pool.clone()).expect("a valid pool");
    let packed = JsFuture::from(engine.rank_prepared(&prepared, js(r#"{"backend":"cpu","explainTop":42}"#))).await.expect("never rejects");
    let meta = js_sys::JSON::parse(&get(&packed, "meta").as_string().unwrap()).unwrap();
    assert_eq!(get(&get(&meta, "text"), "embedded").as_bool(), Some(true));
    let because = get(&packed, "because").as_string().expect("explanations");
    assert!(because.contains(r#""oat milk organic","search""#), "{because}");
    // Ranked again: the same answer (the pool's embedded copy is kept).
    let again = JsFuture::from(engine.rank_prepared(&prepared, js(r#"{"backend":"cpu"}"#))).await.expect("never rejects");
    assert_eq!(js_sys::Float32Array::from(get(&again, "values")).to_vec(), js_sys::Float32Array::from(get(&packed, "values")).to_vec());

    // A click on the new product later finds the vector the tower gave it.
    record(&engine, r#"{"kind":"click","item":"new-oat"}"#).await;
    let after = rank(&engine, pool, js(r#"{"backend":"cpu"}"#)).await;
    assert_eq!(get(&after, "personalized").as_bool(), Some(true));
}

#[wasm_bindgen_test]
async fn bad_text_and_queries_are_typed_errors_naming_the_field() {
    let engine = engine("bad-text").await;
    record(&engine, r#"{"kind":"view","item":"a","vector":[1,0]}"#).await;
    let long = "a".repeat(1025);
    for (item, field) in [
        (r#"{"id":"a","text":""}"#.to_owned(), "items[0].text"),
        (r#"{"id":"a","text":"   "}"#.to_owned(), "items[0].text"),
        (format!(r#"{{"id":"a","text":"{long}"}}"#), "items[0].text"),
        (r#"{"id":"a","text":5}"#.to_owned(), "items[0].text"),
        (r#"{"id":"a","text":"?!"}"#.to_owned(), "items[0].text"),
        (r#"{"id":"a"}"#.to_owned(), "items[0].vector"),
    ] {
        let text = format!(r#"{{"dim":2,"items":[{item},{{"id":"b","vector":[0,1]}}]}}"#);
        // The object (JSON fast path, then the direct reader) and the JSON text alike.
        for pool in [js(&text), JsValue::from_str(&text)] {
            let ranking = rank(&engine, pool, JsValue::UNDEFINED).await;
            assert_eq!(get(&ranking, "error").as_string().as_deref(), Some("InvalidPool"), "{item}");
            assert_eq!(get(&ranking, "field").as_string().as_deref(), Some(field), "{item}: {:?}", get(&ranking, "reason"));
            assert_eq!(strings(&get(&ranking, "order")), ["a", "b"], "the server order comes back");
        }
    }
    for (event, field) in [
        (r#"{"kind":"search","query":""}"#.to_owned(), "query"),
        (r#"{"kind":"search","query":5}"#.to_owned(), "query"),
        (format!(r#"{{"kind":"search","query":"{long}"}}"#), "query"),
    ] {
        let error = JsFuture::from(engine.record(js(&event))).await.expect_err("rejected");
        assert_eq!(get(&error, "code").as_string().as_deref(), Some("InvalidEvent"), "{event}");
        assert_eq!(get(&error, "field").as_string().as_deref(), Some(field), "{event}");
    }
}

#[wasm_bindgen_test]
async fn model_options_are_checked_field_by_field() {
    use localrank::model::{Precision, fixture};
    let engine = engine("model-options").await;
    let (weights, config) = fixture::random_model(8, 2, 2, 16, 32, Precision::F32, 42).unwrap();
    let load = |options: JsValue| JsFuture::from(engine.load_model(js_sys::Uint8Array::from(&weights[..]), config.clone(), options));
    let rejection = |error: JsValue| (get(&error, "code").as_string().unwrap(), get(&error, "field").as_string().unwrap());
    let bad = [
        (r#"{"cache":false,"chache":true}"#, "chache"),
        (r#"{"cache":"no"}"#, "cache"),
        (r#"{"version":7}"#, "version"),
        (r#"[false]"#, "(root)"),
    ];
    for (options, field) in bad {
        let error = load(js(options)).await.expect_err(options);
        assert_eq!(rejection(error), ("InvalidOptions".to_owned(), field.to_owned()), "{options}");
    }
    let info = load(js(r#"{"cache":false,"version":"m-test"}"#)).await.expect("valid options load");
    assert_eq!(get(&info, "version").as_string().unwrap(), "m-test");
    JsFuture::from(engine.load_model(js_sys::Uint8Array::from(&weights[..]), config.clone(), JsValue::UNDEFINED)).await.expect("no options");

    let bench = |options: &str| JsFuture::from(engine.benchmark_model(js(options)));
    for (options, field) in [(r#"{"iterations":2.5}"#, "iterations"), (r#"{"backend":"gpu"}"#, "backend"), (r#"{"poolSize":-1}"#, "poolSize"), (r#"{"rounds":3}"#, "rounds")] {
        let error = bench(options).await.expect_err(options);
        assert_eq!(rejection(error), ("InvalidOptions".to_owned(), field.to_owned()), "{options}");
    }
    let result = bench(r#"{"backend":"cpu","historyLength":5,"poolSize":10,"iterations":2,"incremental":true}"#).await.expect("a valid benchmark runs");
    assert_eq!(Array::from(&get(&result, "samples")).length(), 2);
}
