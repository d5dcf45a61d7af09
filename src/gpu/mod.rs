//! Compute backends for the model: WebGPU (wgpu 30 on the browser's `navigator.gpu`) and the
//! CPU, and the choice between them.
//!
//! - [`detect`] asks the browser for an adapter (for `status()`); natively there is none.
//! - [`plan`] is the WebGPU forward pass as data (buffer layout + dispatch list for
//!   shaders/encoder.wgsl), built and tested natively.
//! - `runtime` (wasm32) runs a plan: pipelines created once, buffers reused, one submit and one
//!   readback per call, error scopes and device-lost handling.
//! - [`ModelRuntime`] (`select`) is what ranking calls: `auto | webgpu | cpu`, CPU fallback
//!   for every WebGPU failure, the backend that ran reported in every [`Scored`]; its docs hold
//!   the measured CPU/WebGPU crossover.

use serde::Serialize;
use tsify::Tsify;

pub mod plan;
mod select;

// The wgpu runtime exists only in the browser; natively a stand-in reports "no WebGPU", so the
// selection logic in `select` is one code path on both.
#[cfg(target_arch = "wasm32")]
mod runtime;
#[cfg(not(target_arch = "wasm32"))]
#[path = "runtime_native.rs"]
mod runtime;

pub use runtime::GpuRuntime;
pub use select::{top_k, BackendChoice, Calibration, ModelRuntime, Scored, CALIBRATION_POOL};

/// Why a WebGPU call did not produce a result; the caller then computes on the CPU.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GpuError {
    #[error("WebGPU is unavailable: {0}")]
    Unavailable(String),
    #[error("the model is beyond the WebGPU kernels' limits: {0}")]
    Unsupported(String),
    #[error("the WebGPU device was lost")]
    Lost,
    #[error("WebGPU call failed: {0}")]
    Failed(String),
}

/// What one WebGPU call returns.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuOutput {
    pub intent: Vec<f32>,
    pub scores: Vec<f32>,
    pub top: Vec<u32>,
}

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
