//! The model's JavaScript API: `engine.loadModel(bytes, configJson, options?)`,
//! `engine.loadCachedModel(version)`, `engine.warmup()`, `engine.modelInfo()` and a synthetic
//! `engine.benchmarkModel(options)`. The storefront fetches the files itself: the engine makes
//! no network request. The bytes are cached in IndexedDB ([`crate::idb::model_cache`]: one
//! entry per version; saving a version drops every other) so a returning shopper's page can
//! `loadCachedModel(version)` instead of downloading again. The model is public data, not the
//! shopper's: nothing derived from history is stored or returned here — the intent vector is
//! only available to Rust callers (`Engine::model_runtime`).

use std::rc::Rc;

use js_sys::{Promise, Reflect, Uint8Array};
use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::convert::{js_error, now_ms, to_js, OptionsReader};
use crate::error::LocalRankError;
use super::Engine;
use crate::idb::model_cache;
use crate::gpu::{Backend, BackendChoice, ModelRuntime, Calibration};
use crate::format::model_version;
use crate::history::EventKind;
use crate::model::fixture::SplitMix;
use crate::model::{EncoderStep, IntentEncoder, ModelError};

#[wasm_bindgen(typescript_custom_section)]
const TS_MODEL: &str = r#"
/** Error codes of model loading, part of `LocalRankErrorCode`: the message names the config
 * field or the first bad tensor, `field` carries that name. `NoModel`: no model is loaded. */
export type ModelErrorCode = "ModelConfig" | "ModelContainer" | "MissingTensor" | "UnexpectedTensor" | "WrongDtype" | "WrongShape" | "NonFiniteWeights" | "EncoderInput" | "NoModel";
"#;

/// `loadModel` options.
// Read by `OptionsReader` (LoadModelOptions::read); the derive gives only the TypeScript type.
#[derive(Debug, Default, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct LoadModelOptions {
    /// Cache key; defaults to the model version the candidate service announces for the same
    /// files (`m` + FNV-1a 64 of model.json then model.safetensors, docs/model-format.md).
    #[tsify(optional)]
    pub version: Option<String>,
    /// Keep the bytes in IndexedDB for `loadCachedModel` (default true).
    #[tsify(optional)]
    pub cache: Option<bool>,
}

impl LoadModelOptions {
    fn read(options: JsValue) -> Result<LoadModelOptions, LocalRankError> {
        let o = OptionsReader::new(options, &["version", "cache"])?;
        Ok(LoadModelOptions { version: o.string("version")?, cache: o.bool("cache")? })
    }
}

/// What `loadModel` / `loadCachedModel` / `modelInfo` report.
#[derive(Debug, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    pub version: String,
    pub dtype: String,
    pub dim: usize,
    pub heads: usize,
    pub blocks: usize,
    pub max_len: usize,
    pub ffn_dim: usize,
    /// Whether the bytes are now in the IndexedDB cache.
    pub cached: bool,
    /// Why caching failed (the model is loaded anyway).
    #[tsify(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_error: Option<String>,
}

#[derive(Debug, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct WarmupResult {
    /// The backend that is warm now.
    pub backend: Backend,
    #[tsify(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub ms: f64,
    /// CPU vs WebGPU timing that decides `auto` (present when WebGPU warmed up).
    #[tsify(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

/// `benchmarkModel` options: synthetic inputs only (never the shopper's history).
// Read by `OptionsReader` (BenchmarkOptions::read); the derive gives only the TypeScript type.
#[derive(Debug, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct BenchmarkOptions {
    #[tsify(optional)]
    pub backend: Option<BackendChoice>,
    #[tsify(optional)]
    pub history_length: Option<usize>,
    #[tsify(optional)]
    pub pool_size: Option<usize>,
    #[tsify(optional)]
    pub iterations: Option<usize>,
    /// Score a fixed intent only (no forward pass).
    #[tsify(optional)]
    pub score_only: Option<bool>,
    /// Each call's history is the previous one plus a new event, in the model's window (the
    /// engine's rule), with what the last pass computed kept: the cost of a ranking right after
    /// the shopper acts. Off: every call is a full pass on the same history.
    #[tsify(optional)]
    pub incremental: Option<bool>,
    /// Time the model's text tower embedding this text (a query, or a product's words)
    /// instead of the encoder. Each sample is the mean of 100 embeddings (the page's clock is
    /// coarser than one).
    #[tsify(optional)]
    pub text: Option<String>,
}

impl BenchmarkOptions {
    fn read(options: JsValue) -> Result<BenchmarkOptions, LocalRankError> {
        let o = OptionsReader::new(options, &["backend", "historyLength", "poolSize", "iterations", "scoreOnly", "incremental", "text"])?;
        let backends = [BackendChoice::Auto, BackendChoice::Webgpu, BackendChoice::Cpu];
        Ok(BenchmarkOptions {
            backend: o.choice("backend", &["auto", "webgpu", "cpu"])?.map(|i| backends[i]),
            history_length: o.count("historyLength")?,
            pool_size: o.count("poolSize")?,
            iterations: o.count("iterations")?,
            score_only: o.bool("scoreOnly")?,
            incremental: o.bool("incremental")?,
            text: o.string("text")?,
        })
    }
}

#[derive(Debug, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct BenchmarkResult {
    /// Per-call milliseconds (the first call is `first_ms`, not in `samples`).
    pub samples: Vec<f64>,
    pub first_ms: f64,
    pub backend: Backend,
    #[tsify(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

fn model_error(e: &ModelError) -> JsValue {
    let field = match e {
        ModelError::Config { field, .. } => Some(field.clone()),
        ModelError::MissingTensor { name } | ModelError::UnexpectedTensor { name } | ModelError::WrongDtype { name, .. } | ModelError::WrongShape { name, .. } | ModelError::NonFinite { name } => Some(name.clone()),
        _ => None,
    };
    error_with(e.code(), &e.to_string(), field.as_deref())
}

fn error_with(code: &str, message: &str, field: Option<&str>) -> JsValue {
    let js = js_sys::Error::new(message);
    js.set_name("LocalRankError");
    let _ = Reflect::set(&js, &"code".into(), &code.into());
    if let Some(f) = field {
        let _ = Reflect::set(&js, &"field".into(), &f.into());
    }
    js.into()
}

fn info(rt: &ModelRuntime, cached: bool, cache_error: Option<String>) -> ModelInfo {
    let c = rt.encoder().config();
    ModelInfo { version: rt.version().to_owned(), dtype: c.dtype.as_str().to_owned(), dim: c.dim, heads: c.heads, blocks: c.blocks, max_len: c.max_len, ffn_dim: c.ffn_dim, cached, cache_error }
}

impl Engine {
    /// The loaded model and its WebGPU runtime, for Rust callers (ranking). None until a
    /// model is loaded.
    pub fn model_runtime(&self) -> Option<Rc<ModelRuntime>> {
        self.model.borrow().clone()
    }
}

#[wasm_bindgen]
impl Engine {
    /// Loads and validates a model (`model.safetensors` bytes + `model.json` text). Rejects with
    /// a LocalRankError naming the config field or the first bad tensor; the previous model
    /// stays loaded then. Caching failures do not reject: see `cacheError`.
    #[wasm_bindgen(js_name = loadModel, unchecked_return_type = "Promise<ModelInfo>")]
    pub fn load_model(&self, weights: Uint8Array, config: String, #[wasm_bindgen(unchecked_param_type = "LoadModelOptions | undefined")] options: JsValue) -> Promise {
        let slot = self.model.clone();
        future_to_promise(async move {
            let options = LoadModelOptions::read(options).map_err(|e| js_error(&e))?;
            let bytes = weights.to_vec();
            let encoder = IntentEncoder::load(&bytes, &config).map_err(|e| model_error(&e))?;
            let version = options.version.unwrap_or_else(|| model_version(config.as_bytes(), &bytes));
            let (cached, cache_error) = if options.cache.unwrap_or(true) {
                match model_cache::put(&version, &weights, &config).await {
                    Ok(()) => (true, None),
                    Err(e) => (false, Some(e.to_string())),
                }
            } else {
                (false, None)
            };
            let rt = Rc::new(ModelRuntime::new(encoder, version));
            let result = to_js(&info(&rt, cached, cache_error));
            *slot.borrow_mut() = Some(rt);
            result
        })
    }

    /// Loads `version` from the IndexedDB cache; resolves null when it is not cached.
    #[wasm_bindgen(js_name = loadCachedModel, unchecked_return_type = "Promise<ModelInfo | null>")]
    pub fn load_cached_model(&self, version: String) -> Promise {
        let slot = self.model.clone();
        future_to_promise(async move {
            let Some(cached) = model_cache::get(&version).await.map_err(|e| js_error(&e))? else {
                return Ok(JsValue::NULL);
            };
            let encoder = IntentEncoder::load(&cached.weights, &cached.config).map_err(|e| model_error(&e))?;
            let rt = Rc::new(ModelRuntime::new(encoder, version));
            let result = to_js(&info(&rt, true, None));
            *slot.borrow_mut() = Some(rt);
            result
        })
    }

    /// The loaded model, or undefined.
    #[wasm_bindgen(js_name = modelInfo, unchecked_return_type = "ModelInfo | undefined")]
    pub fn model_info(&self) -> JsValue {
        self.model.borrow().as_ref().and_then(|rt| to_js(&info(rt, false, None)).ok()).unwrap_or(JsValue::UNDEFINED)
    }

    /// Creates the WebGPU device and pipelines, runs one synthetic call, then times a synthetic
    /// 10 000-candidate call on each backend (the calibration `auto` uses), at a moment the
    /// page chooses (idle time), so ranking never pays for it. Resolves with the backend that
    /// is warm (the CPU, with the reason, when WebGPU is unavailable). Rejects only with
    /// `NoModel` when no model is loaded.
    #[wasm_bindgen(unchecked_return_type = "Promise<WarmupResult>")]
    pub fn warmup(&self) -> Promise {
        let rt = self.model_runtime();
        future_to_promise(async move {
            let rt = rt.ok_or_else(|| error_with("NoModel", "warmup() needs a model: call loadModel() first", None))?;
            let t0 = now_ms();
            let (backend, reason, calibration) = rt.warmup_calibrated(&now_ms).await;
            to_js(&WarmupResult { backend, reason, ms: now_ms() - t0, calibration })
        })
    }

    /// Times the loaded model on synthetic, seeded inputs (never the shopper's history), for
    /// the benchmark harness (benches/browser). Resolves per-call milliseconds.
    #[wasm_bindgen(js_name = benchmarkModel, unchecked_return_type = "Promise<BenchmarkResult>")]
    pub fn benchmark_model(&self, #[wasm_bindgen(unchecked_param_type = "BenchmarkOptions")] options: JsValue) -> Promise {
        let rt = self.model_runtime();
        future_to_promise(async move {
            let rt = rt.ok_or_else(|| error_with("NoModel", "benchmarkModel() needs a model: call loadModel() first", None))?;
            let o = BenchmarkOptions::read(options).map_err(|e| js_error(&e))?;
            if let Some(text) = &o.text {
                return benchmark_text(&rt, text, o.iterations.unwrap_or(50).max(1));
            }
            let d = rt.encoder().config().dim;
            let (n, pool, iterations) = (o.history_length.unwrap_or(50).max(1), o.pool_size.unwrap_or(100), o.iterations.unwrap_or(50).max(1));
            let choice = o.backend.unwrap_or_default();
            let mut rng = SplitMix(17);
            let incremental = o.incremental.unwrap_or(false);
            let events = if incremental { n + iterations } else { n };
            let vectors: Vec<Vec<f32>> = (0..events).map(|_| (0..d).map(|_| rng.uniform()).collect()).collect();
            let steps: Vec<EncoderStep> = vectors.iter().enumerate().map(|(i, v)| EncoderStep { vector: v, kind: EventKind::ALL[i % 6], timestamp: 1.7e12 + i as f64 * 60_000.0 }).collect();
            let items: Vec<f32> = (0..pool * d).map(|_| rng.uniform()).collect();
            let intent: Vec<f32> = (0..d).map(|_| rng.uniform()).collect();
            let now = 1.7e12 + n as f64 * 60_000.0;
            let mut samples = Vec::with_capacity(iterations);
            let mut first_ms = 0.0;
            let mut last = (Backend::Cpu, None);
            let max_len = rt.encoder().config().max_len;
            for i in 0..=iterations {
                let (steps, now) = if incremental {
                    // A history of n + i events: the model's window of it, ranked a minute
                    // after its last event.
                    let len = n + i;
                    let window = rt.encoder().config().window_len(max_len, len as u64);
                    (&steps[len - window..len], steps[len - 1].timestamp + 60_000.0)
                } else {
                    // Measure the whole pass every time, not the reuse of an unchanged input's intent.
                    rt.forget_last_intent();
                    (&steps[..], now)
                };
                let t0 = now_ms();
                let r = if o.score_only.unwrap_or(false) { rt.score(&intent, &items, 10, choice).await } else { rt.encode_and_score(steps, now, &items, 10, choice).await };
                let dt = now_ms() - t0;
                let r = r.map_err(|e| model_error(&e))?;
                last = (r.backend, r.fallback);
                if i == 0 { first_ms = dt } else { samples.push(dt) }
            }
            to_js(&BenchmarkResult { samples, first_ms, backend: last.0, fallback: last.1 })
        })
    }
}

/// `benchmarkModel({ text })`: the text tower's cost per embedding (the same for a query and
/// for a pool item sent with `text`, whose vector is this embedding copied into the pool).
fn benchmark_text(rt: &ModelRuntime, text: &str, iterations: usize) -> Result<JsValue, JsValue> {
    const BATCH: usize = 100;
    let tower = rt.encoder().weights().text.as_ref().ok_or_else(|| error_with("NoModel", "benchmarkModel({ text }) needs a model with a text tower (model.json `text`)", None))?;
    let mut samples = Vec::with_capacity(iterations);
    let mut first_ms = 0.0;
    for k in 0..=iterations {
        let t0 = now_ms();
        for _ in 0..BATCH {
            if tower.embed("text", text).is_err() {
                return Err(error_with("InvalidOptions", "`text` must have words, at most 1 KB", Some("text")));
            }
        }
        let ms = (now_ms() - t0) / BATCH as f64;
        if k == 0 { first_ms = ms } else { samples.push(ms) }
    }
    to_js(&BenchmarkResult { samples, first_ms, backend: Backend::Cpu, fallback: None })
}
