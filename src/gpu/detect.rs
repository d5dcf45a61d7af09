//! WebGPU adapter detection in the browser (window or worker), through `navigator.gpu`.
//! Reflection keeps this free of web-sys's unstable WebGPU bindings; the compute path (wgpu)
//! arrives with the runtime and reuses this answer.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::{AdapterInfo, Backend, BackendInfo};

pub async fn detect() -> BackendInfo {
    match request_adapter().await {
        Ok(adapter) => adapter,
        Err(reason) => BackendInfo::cpu(reason),
    }
}

async fn request_adapter() -> Result<BackendInfo, String> {
    let navigator = get(&js_sys::global(), "navigator").ok_or("no navigator in this context")?;
    let gpu = get(&navigator, "gpu").ok_or("this browser does not expose WebGPU (navigator.gpu is missing)")?;
    let request: Function = get(&gpu, "requestAdapter")
        .and_then(|f| f.dyn_into().ok())
        .ok_or("navigator.gpu.requestAdapter is not a function")?;
    let promise: Promise = request
        .call0(&gpu)
        .map_err(|e| format!("requestAdapter() threw: {e:?}"))?
        .dyn_into()
        .map_err(|_| "requestAdapter() did not return a promise")?;
    let adapter = JsFuture::from(promise).await.map_err(|e| format!("requestAdapter() failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("WebGPU is present but no adapter is available (disabled or blocklisted GPU)".into());
    }
    let info = get(&adapter, "info");
    let text = |key: &str| info.as_ref().and_then(|i| get(i, key)).and_then(|v| v.as_string()).unwrap_or_default();
    // Chrome reports isFallbackAdapter on the info object; older versions on the adapter.
    let is_fallback_adapter = info
        .as_ref()
        .and_then(|i| get(i, "isFallbackAdapter"))
        .or_else(|| get(&adapter, "isFallbackAdapter"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    Ok(BackendInfo {
        backend: Backend::Webgpu,
        adapter: Some(AdapterInfo {
            vendor: text("vendor"),
            architecture: text("architecture"),
            description: text("description"),
            is_fallback_adapter,
        }),
        reason: None,
    })
}

fn get(target: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(target, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}
