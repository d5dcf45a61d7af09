//! Which compute backend this device offers. On wasm32 it asks the browser for a WebGPU
//! adapter (`navigator.gpu.requestAdapter()`); natively the engine always computes on the CPU.

use serde::Serialize;
use tsify::Tsify;

pub mod plan;

#[cfg(target_arch = "wasm32")]
mod webgpu;
#[cfg(target_arch = "wasm32")]
pub use webgpu::detect;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Webgpu,
    Cpu,
}

/// What the adapter says about itself (WebGPU's `GPUAdapterInfo`).
#[derive(Debug, Clone, PartialEq, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct AdapterInfo {
    pub vendor: String,
    pub architecture: String,
    pub description: String,
    /// True for software adapters such as SwiftShader.
    pub is_fallback_adapter: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct BackendInfo {
    /// The backend the engine will compute on.
    pub backend: Backend,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub adapter: Option<AdapterInfo>,
    /// Why the CPU was chosen, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub reason: Option<String>,
}

impl BackendInfo {
    pub fn cpu(reason: impl Into<String>) -> Self {
        BackendInfo { backend: Backend::Cpu, adapter: None, reason: Some(reason.into()) }
    }
}

/// Natively there is no WebGPU: the CPU path is the engine's reference implementation.
#[cfg(not(target_arch = "wasm32"))]
pub async fn detect() -> BackendInfo {
    BackendInfo::cpu("native build: WebGPU is only used in the browser")
}
