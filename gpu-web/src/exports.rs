//! The module's JS API: a runner per model, each call a [`GpuCall`] in flat typed arrays.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use js_sys::{Float32Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::{GpuCall, GpuDispatcher, GpuError, WgpuDispatcher};

/// The rejection value: an `Error` named after the variant, so the engine gets the variant back.
fn js_error(e: &GpuError) -> JsValue {
    let (name, message) = match e {
        GpuError::Unavailable(m) => ("Unavailable", m.as_str()),
        GpuError::Unsupported(m) => ("Unsupported", m.as_str()),
        GpuError::Lost => ("Lost", "the WebGPU device was lost"),
        GpuError::Failed(m) => ("Failed", m.as_str()),
    };
    let error = js_sys::Error::new(message);
    error.set_name(name);
    error.into()
}

/// One model's device, pipelines and buffers.
#[wasm_bindgen]
pub struct GpuRunner {
    /// Taken out for the duration of a call: a second call meanwhile is refused, not queued
    /// (the engine never makes one: its GPU slot is busy then).
    inner: Rc<RefCell<Option<WgpuDispatcher>>>,
    lost: Arc<AtomicBool>,
}

/// Acquires an adapter and device, compiles the pipelines and uploads `weights`.
#[wasm_bindgen(js_name = createRunner)]
pub async fn create_runner(weights: Vec<f32>, params_slots: u32) -> Result<GpuRunner, JsValue> {
    let dispatcher = WgpuDispatcher::create(&weights, params_slots as usize).await.map_err(|e| js_error(&e))?;
    let lost = dispatcher.lost_flag();
    Ok(GpuRunner { inner: Rc::new(RefCell::new(Some(dispatcher))), lost })
}

#[wasm_bindgen]
impl GpuRunner {
    /// Runs one call; resolves to the readback range.
    pub fn run(&self, header: Vec<u32>, uploads: Vec<f32>, params: Vec<u8>, dispatches: Vec<u32>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let call = GpuCall::from_parts(&header, uploads, params, &dispatches).ok_or_else(|| js_error(&GpuError::Failed("the call's parts do not fit together".into())))?;
            let Some(mut dispatcher) = inner.borrow_mut().take() else {
                return Err(js_error(&GpuError::Failed("the runner is busy with another call".into())));
            };
            let result = dispatcher.run(call).await;
            *inner.borrow_mut() = Some(dispatcher);
            let values = result.map_err(|e| js_error(&e))?;
            Ok(Float32Array::from(&values[..]).into())
        })
    }

    #[wasm_bindgen(js_name = isLost)]
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Destroys the device as a driver reset would (the engine's device-loss test path).
    pub fn destroy(&self) {
        if let Some(d) = self.inner.borrow().as_ref() {
            d.destroy();
        }
    }
}
