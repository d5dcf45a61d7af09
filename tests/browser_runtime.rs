//! Parity (b) of issue 3 in headless Chromium with WebGPU on (SwiftShader here): the WGSL
//! forward pass and cosine kernel equal the CPU path within 1e-4 and give the same top-10 on
//! 100 seeded histories; f16/int8 models too; and WebGPU failures complete on the CPU.
//! Run: `wasm-pack test --headless --chrome -- --test browser_runtime`.
//!
//! The WebGPU module (`gpu-web/`) is linked into this test binary and registered as the
//! engine's module loader, so every call below crosses the same bridge (`src/gpu/bridge.rs`)
//! as in a page, where the JS layer loads the module's own wasm file instead.
#![cfg(target_arch = "wasm32")]

use localrank::gpu::{Backend, BackendChoice, ModelRuntime};
use localrank::history::EventKind;
use localrank::model::fixture::{random_model, SplitMix};
use localrank::model::{EncoderStep, IntentEncoder, Precision};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const TOLERANCE: f32 = 1e-4;

/// Registers the linked WebGPU module as the engine's loader (once per test binary): its
/// exports object with `createRunner`, as pkg/localrank_gpu.js would give it.
pub fn install_gpu_module() {
    use js_sys::{Float32Array, Function, Object, Promise, Reflect};
    thread_local!(static INSTALLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if INSTALLED.with(|i| i.replace(true)) {
        return;
    }
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::future_to_promise;
    let create = Closure::<dyn Fn(Float32Array, u32) -> Promise>::new(|weights: Float32Array, slots: u32| {
        future_to_promise(async move { localrank_gpu_web::create_runner(weights.to_vec(), slots).await.map(JsValue::from) })
    });
    let exports = Object::new();
    Reflect::set(&exports, &"createRunner".into(), create.as_ref()).expect("set");
    create.forget();
    let exports = JsValue::from(exports);
    let loader = Closure::<dyn Fn() -> Promise>::new(move || Promise::resolve(&exports));
    localrank::gpu::set_gpu_module_loader(loader.as_ref().unchecked_ref::<Function>().clone());
    loader.forget();
}

fn runtime(dim: usize, heads: usize, blocks: usize, max_len: usize, ffn: usize, p: Precision, seed: u64) -> ModelRuntime {
    install_gpu_module();
    let (bytes, json) = random_model(dim, heads, blocks, max_len, ffn, p, seed).expect("fixture");
    ModelRuntime::new(IntentEncoder::load(&bytes, &json).expect("loads"), "test")
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max)
}

struct Case {
    vectors: Vec<Vec<f32>>,
    kinds: Vec<EventKind>,
    times: Vec<f64>,
    now: f64,
}

fn cases(count: usize, dim: usize, max_len: usize, seed: u64) -> Vec<Case> {
    let mut rng = SplitMix(seed);
    (0..count)
        .map(|_| {
            let n = 1 + (rng.next_u64() % (max_len as u64 + 10)) as usize;
            let mut t = 1.7e12;
            let mut times = Vec::with_capacity(n);
            for _ in 0..n {
                t += [0.0, 800.0, 45_000.0, 4e6, 9e7, 2e9][(rng.next_u64() % 6) as usize];
                times.push(t);
            }
            Case {
                vectors: (0..n).map(|_| (0..dim).map(|_| rng.uniform() * 0.6).collect()).collect(),
                kinds: (0..n).map(|_| EventKind::ALL[(rng.next_u64() % 6) as usize]).collect(),
                now: t + 5e6,
                times,
            }
        })
        .collect()
}

fn steps(c: &Case) -> Vec<EncoderStep<'_>> {
    c.vectors.iter().zip(&c.kinds).zip(&c.times).map(|((v, &kind), &timestamp)| EncoderStep { vector: v, kind, timestamp }).collect()
}

/// Runs every case on WebGPU and on the CPU; returns (max intent diff, max score diff).
async fn compare(rt: &ModelRuntime, cases: &[Case], items: &[f32], k: usize) -> (f32, f32) {
    let (mut worst_intent, mut worst_score) = (0f32, 0f32);
    for (i, c) in cases.iter().enumerate() {
        let s = steps(c);
        let gpu = rt.encode_and_score(&s, c.now, items, k, BackendChoice::Webgpu).await.expect("gpu call");
        assert_eq!(gpu.backend, Backend::Webgpu, "case {i}: WebGPU did not run: {:?}", gpu.fallback);
        let cpu = rt.encode_and_score(&s, c.now, items, k, BackendChoice::Cpu).await.expect("cpu call");
        assert_eq!(cpu.backend, Backend::Cpu);
        worst_intent = worst_intent.max(max_diff(&gpu.intent, &cpu.intent));
        worst_score = worst_score.max(max_diff(&gpu.scores, &cpu.scores));
        assert_eq!(gpu.top, cpu.top, "case {i}: top-{k} differs");
    }
    (worst_intent, worst_score)
}

#[wasm_bindgen_test]
async fn webgpu_forward_and_scores_equal_the_cpu_on_100_histories() {
    let (dim, max_len) = (64, 50);
    let rt = runtime(dim, 2, 2, max_len, 256, Precision::F32, 11);
    let mut rng = SplitMix(3);
    let items: Vec<f32> = (0..500 * dim).map(|_| rng.uniform()).collect();
    let (di, ds) = compare(&rt, &cases(100, dim, max_len, 5), &items, 10).await;
    console_log!("f32 d=64: max |intent diff| {di:e}, max |score diff| {ds:e} over 100 histories");
    assert!(di < TOLERANCE && ds < TOLERANCE, "intent {di}, scores {ds}");
}

#[wasm_bindgen_test]
async fn webgpu_matches_cpu_for_f16_and_int8_models_and_other_shapes() {
    for (p, dim, heads, blocks, max_len, ffn, pool) in [(Precision::F16, 64, 4, 2, 20, 128, 70), (Precision::Int8, 32, 2, 3, 12, 64, 1000), (Precision::F32, 8, 1, 1, 3, 8, 1)] {
        let rt = runtime(dim, heads, blocks, max_len, ffn, p, 21);
        let mut rng = SplitMix(4);
        let items: Vec<f32> = (0..pool * dim).map(|_| rng.uniform()).collect();
        let (di, ds) = compare(&rt, &cases(15, dim, max_len, 6), &items, 10).await;
        console_log!("{p:?} d={dim}: max |intent diff| {di:e}, max |score diff| {ds:e}");
        assert!(di < TOLERANCE && ds < TOLERANCE, "{p:?}: intent {di}, scores {ds}");
    }
}

#[wasm_bindgen_test]
async fn score_only_matches_the_cpu_and_pools_grow() {
    let dim = 64;
    let rt = runtime(dim, 2, 2, 50, 256, Precision::F32, 12);
    let mut rng = SplitMix(9);
    let intent: Vec<f32> = (0..dim).map(|_| rng.uniform()).collect();
    // Growing pools reallocate the activation buffers; zero rows must score 0, not NaN.
    for pool in [3usize, 300, 5000] {
        let mut items: Vec<f32> = (0..pool * dim).map(|_| rng.uniform()).collect();
        items[..dim].fill(0.0);
        let gpu = rt.score(&intent, &items, 10, BackendChoice::Webgpu).await.expect("gpu");
        assert_eq!(gpu.backend, Backend::Webgpu, "{:?}", gpu.fallback);
        let cpu = rt.score(&intent, &items, 10, BackendChoice::Cpu).await.expect("cpu");
        let want = localrank::rank::cosine_scores(&intent, &items, dim);
        assert!(max_diff(&gpu.scores, &want) < TOLERANCE);
        assert_eq!(gpu.scores[0], 0.0);
        assert_eq!(gpu.top, cpu.top, "pool {pool}");
        assert_eq!(gpu.top.len(), pool.min(10));
    }
}

#[wasm_bindgen_test]
async fn unsupported_models_and_auto_on_a_software_adapter_run_on_the_cpu() {
    // max_len beyond the attention kernel's shared memory: WebGPU refuses, the call still works.
    let rt = runtime(8, 2, 1, 1100, 16, Precision::F32, 1);
    let v = vec![0.3f32; 8];
    let s = [EncoderStep { vector: &v, kind: EventKind::Cart, timestamp: 0.0 }];
    let items = vec![0.5f32; 8 * 5];
    let r = rt.encode_and_score(&s, 1e3, &items, 3, BackendChoice::Webgpu).await.expect("completes");
    assert_eq!(r.backend, Backend::Cpu);
    assert!(r.fallback.as_deref().unwrap_or("").contains("max_len"), "{:?}", r.fallback);
    assert_eq!(r.top.len(), 3);

    // auto: CPU before warm-up; after the calibrated warm-up, WebGPU exactly when the
    // calibration measured it faster (on SwiftShader here: never).
    let rt = runtime(64, 2, 2, 50, 256, Precision::F32, 2);
    let v = vec![0.1f32; 64];
    let s = [EncoderStep { vector: &v, kind: EventKind::View, timestamp: 0.0 }];
    let items = vec![0.5f32; 64 * localrank::gpu::CALIBRATION_POOL];
    let r = rt.encode_and_score(&s, 1e3, &items, 3, BackendChoice::Auto).await.expect("auto");
    assert_eq!(r.backend, Backend::Cpu);
    let now = || js_sys::Date::now();
    let (warm, reason, cal) = rt.warmup_calibrated(&now).await;
    assert_eq!(warm, Backend::Webgpu, "{reason:?}");
    assert!(rt.gpu_ready());
    let cal = cal.expect("calibrated");
    console_log!("calibration: {cal:?}");
    let r = rt.encode_and_score(&s, 1e3, &items, 3, BackendChoice::Auto).await.expect("auto");
    let want = if cal.webgpu_ms < cal.cpu_ms { Backend::Webgpu } else { Backend::Cpu };
    assert_eq!(r.backend, want);
    // Small pools stay on the CPU whatever the calibration says.
    let r = rt.encode_and_score(&s, 1e3, &items[..64 * 10], 3, BackendChoice::Auto).await.expect("auto");
    assert_eq!(r.backend, Backend::Cpu);
}

#[wasm_bindgen_test]
async fn a_lost_device_falls_back_to_the_cpu_and_is_replaced() {
    let dim = 64;
    let rt = runtime(dim, 2, 2, 50, 256, Precision::F32, 8);
    let all = cases(4, dim, 50, 9);
    let mut rng = SplitMix(10);
    let items: Vec<f32> = (0..200 * dim).map(|_| rng.uniform()).collect();
    let (warm, reason) = rt.warmup().await;
    assert_eq!(warm, Backend::Webgpu, "{reason:?}");
    rt.simulate_device_loss();
    let mut backends = Vec::new();
    for c in &all {
        let s = steps(c);
        let r = rt.encode_and_score(&s, c.now, &items, 10, BackendChoice::Webgpu).await.expect("completes despite the lost device");
        let cpu = rt.encode_and_score(&s, c.now, &items, 10, BackendChoice::Cpu).await.expect("cpu");
        assert!(max_diff(&r.intent, &cpu.intent) < TOLERANCE && max_diff(&r.scores, &cpu.scores) < TOLERANCE);
        assert_eq!(r.top, cpu.top);
        if r.backend == Backend::Cpu {
            assert!(r.fallback.is_some(), "a CPU result after asking for WebGPU says why");
        }
        backends.push(r.backend);
    }
    console_log!("after device loss: {backends:?}");
    assert_eq!(backends.last(), Some(&Backend::Webgpu), "a new device replaces the lost one: {backends:?}");
}

mod js_api {
    use js_sys::{Reflect, Uint8Array};
    use localrank::gpu::Backend;
    use localrank::model::fixture::random_model;
    use localrank::model::Precision;
    use localrank::web::{open_engine, Engine};
    use wasm_bindgen::JsValue;
    use wasm_bindgen_futures::JsFuture;
    use wasm_bindgen_test::*;

    fn get(v: &JsValue, key: &str) -> JsValue {
        Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    async fn engine() -> Engine {
        super::install_gpu_module();
        open_engine(js_sys::JSON::parse(r#"{"storage":"memory"}"#).expect("json")).await.expect("open")
    }

    fn options(version: &str) -> JsValue {
        js_sys::JSON::parse(&format!(r#"{{"version":"{version}"}}"#)).expect("json")
    }

    #[wasm_bindgen_test]
    async fn load_warm_up_and_reload_from_the_cache() {
        let (bytes, json) = random_model(64, 2, 2, 50, 256, Precision::Int8, 5).expect("fixture");
        let e = engine().await;
        assert!(e.model_info().is_undefined());
        let info = JsFuture::from(e.load_model(Uint8Array::from(&bytes[..]), json.clone(), options("test-v1"))).await.expect("loads");
        assert_eq!(get(&info, "dim").as_f64(), Some(64.0));
        assert_eq!(get(&info, "dtype").as_string().as_deref(), Some("int8"));
        assert_eq!(get(&info, "cached").as_bool(), Some(true), "{:?}", get(&info, "cacheError"));
        assert!(e.model_runtime().is_some(), "ranking can reach the model from Rust");

        let warm = JsFuture::from(e.warmup()).await.expect("warmup");
        assert_eq!(get(&warm, "backend").as_string().as_deref(), Some("webgpu"), "{:?}", get(&warm, "reason"));
        console_log!("warmup (device + pipelines + first call): {} ms", get(&warm, "ms").as_f64().unwrap_or(-1.0));
        assert_eq!(e.model_runtime().map(|rt| rt.gpu_ready()), Some(true));

        // A returning shopper: a fresh engine loads the cached bytes without the files.
        let again = engine().await;
        let cached = JsFuture::from(again.load_cached_model("test-v1".into())).await.expect("cache read");
        assert_eq!(get(&cached, "version").as_string().as_deref(), Some("test-v1"));
        assert!(JsFuture::from(again.load_cached_model("nope".into())).await.expect("cache read").is_null());
        // Saving a new version drops the old one.
        let (bytes2, json2) = random_model(16, 2, 1, 8, 32, Precision::F32, 6).expect("fixture");
        JsFuture::from(again.load_model(Uint8Array::from(&bytes2[..]), json2, options("test-v2"))).await.expect("loads v2");
        assert!(JsFuture::from(again.load_cached_model("test-v1".into())).await.expect("cache read").is_null());
        assert_eq!(again.model_runtime().map(|rt| rt.encoder().config().dim), Some(16));
        let _ = Backend::Cpu;
    }

    #[wasm_bindgen_test]
    async fn bad_models_reject_naming_the_tensor_and_keep_the_old_model() {
        let (bytes, json) = random_model(16, 2, 1, 8, 32, Precision::F32, 5).expect("fixture");
        let e = engine().await;
        JsFuture::from(e.load_model(Uint8Array::from(&bytes[..]), json.clone(), JsValue::UNDEFINED)).await.expect("loads");
        let wrong = json.replace("\"ffn_dim\":32", "\"ffn_dim\":48");
        let err = JsFuture::from(e.load_model(Uint8Array::from(&bytes[..]), wrong, JsValue::UNDEFINED)).await.expect_err("rejects");
        assert_eq!(get(&err, "name").as_string().as_deref(), Some("LocalRankError"));
        assert_eq!(get(&err, "code").as_string().as_deref(), Some("WrongShape"));
        assert_eq!(get(&err, "field").as_string().as_deref(), Some("blocks.0.ffn.up.weight"));
        let err = JsFuture::from(e.load_model(Uint8Array::from(&bytes[..bytes.len() / 2]), json, JsValue::UNDEFINED)).await.expect_err("truncated");
        assert_eq!(get(&err, "code").as_string().as_deref(), Some("ModelContainer"));
        assert_eq!(e.model_runtime().map(|rt| rt.encoder().config().ffn_dim), Some(32));
    }

    /// Without a `version`, the cache key is the one localrank-server announces for the same
    /// files, so a page that loaded without one can `loadCachedModel(pool.model)` later.
    #[wasm_bindgen_test]
    async fn the_default_version_is_the_servers_model_version() {
        let (bytes, json) = random_model(16, 2, 1, 8, 32, Precision::F16, 7).expect("fixture");
        let e = engine().await;
        let info = JsFuture::from(e.load_model(Uint8Array::from(&bytes[..]), json.clone(), JsValue::UNDEFINED)).await.expect("loads");
        let expected = localrank::format::model_version(json.as_bytes(), &bytes);
        assert!(expected.starts_with('m') && expected.len() == 17, "{expected}");
        assert_eq!(get(&info, "version").as_string(), Some(expected.clone()));
        let cached = JsFuture::from(engine().await.load_cached_model(expected.clone())).await.expect("cache read");
        assert_eq!(get(&cached, "version").as_string(), Some(expected));
    }
}
