//! The engine's side of the WebGPU module (`gpu-web/`, pkg/localrank_gpu_bg.wasm): a
//! [`GpuDispatcher`] that sends each planned call to that module through JS.
//!
//! The engine never loads the module itself (it makes no request of its own): `js/index.js`
//! registers a loader with [`set_gpu_module_loader`] — a function returning a promise of the
//! module's exports — and the engine calls it the first time it creates a GPU runtime. Without a
//! loader (a page that uses the raw wasm-bindgen build, the Rust browser tests' default), WebGPU
//! is unavailable with that reason and everything runs on the CPU.
//!
//! Every array crosses as a JS-owned copy (`Float32Array::from`), never a view into this
//! module's memory, so nothing the other side allocates can detach what it is reading.

use std::cell::RefCell;

use js_sys::{Float32Array, Function, Promise, Uint32Array, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{GpuCall, GpuDispatcher, GpuError};

thread_local! {
    static LOADER: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers how the engine gets the WebGPU module's exports: `loader()` returns a promise of
/// an object with `createRunner` (pkg/localrank_gpu.js after its wasm is initialised).
#[wasm_bindgen(js_name = setGpuModuleLoader)]
pub fn set_gpu_module_loader(loader: Function) {
    LOADER.with(|l| *l.borrow_mut() = Some(loader));
}

#[wasm_bindgen]
extern "C" {
    /// The module's exports (`createRunner`).
    type GpuModule;
    #[wasm_bindgen(method, catch, js_name = createRunner)]
    fn create_runner(this: &GpuModule, weights: Float32Array, params_slots: u32) -> Result<Promise, JsValue>;

    /// The module's `GpuRunner`: one model's device, pipelines and buffers.
    type GpuRunner;
    #[wasm_bindgen(method, catch)]
    fn run(this: &GpuRunner, header: Uint32Array, uploads: Float32Array, params: Uint8Array, dispatches: Uint32Array) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, js_name = isLost)]
    fn is_lost(this: &GpuRunner) -> bool;
    #[wasm_bindgen(method)]
    fn destroy(this: &GpuRunner);
    /// wasm-bindgen's own: drops the Rust value behind the JS object now, not at garbage
    /// collection.
    #[wasm_bindgen(method)]
    fn free(this: &GpuRunner);
}

fn message(value: &JsValue) -> String {
    match value.dyn_ref::<js_sys::Error>() {
        Some(e) => e.message().into(),
        None => value.as_string().unwrap_or_else(|| format!("{value:?}")),
    }
}

/// A rejection from the module as the variant it names (see gpu-web's `js_error`).
fn gpu_error(value: JsValue) -> GpuError {
    let error = value.dyn_ref::<js_sys::Error>();
    let message = message(&value);
    match error.map(|e| String::from(e.name())).as_deref() {
        Some("Unavailable") => GpuError::Unavailable(message),
        Some("Unsupported") => GpuError::Unsupported(message),
        Some("Lost") => GpuError::Lost,
        _ => GpuError::Failed(message),
    }
}

/// The WebGPU module's runner for one model.
pub struct JsDispatcher {
    runner: GpuRunner,
}

async fn module() -> Result<GpuModule, GpuError> {
    let loader = LOADER.with(|l| l.borrow().clone()).ok_or_else(|| GpuError::Unavailable("the WebGPU module is not loaded (the npm package's JS layer loads it; the bare wasm build has no GPU runtime)".into()))?;
    let promise: Promise = loader
        .call0(&JsValue::UNDEFINED)
        .and_then(|p| p.dyn_into().map_err(|_| JsValue::from_str("the loader did not return a promise")))
        .map_err(|e| GpuError::Unavailable(message(&e)))?;
    let exports = JsFuture::from(promise).await.map_err(|e| GpuError::Unavailable(message(&e)))?;
    Ok(exports.unchecked_into())
}

/// The runner's device and buffers go when the engine drops it (a lost device replaced, a new
/// model loaded), as they did when the runtime lived in this module — not whenever the JS
/// garbage collector gets to the handle.
impl Drop for JsDispatcher {
    fn drop(&mut self) {
        self.runner.free();
    }
}

impl GpuDispatcher for JsDispatcher {
    async fn create(weights: &[f32], params_slots: usize) -> Result<Self, GpuError> {
        let module = module().await?;
        let promise = module.create_runner(Float32Array::from(weights), params_slots as u32).map_err(gpu_error)?;
        let runner = JsFuture::from(promise).await.map_err(gpu_error)?;
        Ok(JsDispatcher { runner: runner.unchecked_into() })
    }

    fn is_lost(&self) -> bool {
        self.runner.is_lost()
    }

    fn destroy(&self) {
        self.runner.destroy()
    }

    async fn run(&mut self, call: GpuCall) -> Result<Vec<f32>, GpuError> {
        let dispatches: Vec<u32> = call.dispatches.concat();
        let promise = self
            .runner
            .run(Uint32Array::from(&call.header()[..]), Float32Array::from(&call.upload_data[..]), Uint8Array::from(&call.params[..]), Uint32Array::from(&dispatches[..]))
            .map_err(gpu_error)?;
        let values = JsFuture::from(promise).await.map_err(gpu_error)?;
        let values: Float32Array = values.dyn_into().map_err(|_| GpuError::Failed("the WebGPU module's readback is not a Float32Array".into()))?;
        Ok(values.to_vec())
    }
}
