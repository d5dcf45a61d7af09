//! Compute backends for the model: a GPU device (WebGPU in the browser, supplied by the web
//! layer through [`GpuDevice`]) and the CPU, and the choice between them.
//!
//! - [`plan`] is the WebGPU forward pass as data (buffer layout + dispatch list for
//!   shaders/encoder.wgsl), built and tested natively.
//! - [`GpuDevice`] is the seam: [`Planned`] runs the plan on a [`GpuDispatcher`] (in the
//!   browser the wgpu one of `gpu-web/`, a second wasm module loaded only where WebGPU is
//!   used); natively [`NoGpu`] reports that there is no GPU, so the selection logic is one
//!   code path everywhere.
//! - [`ModelRuntime`] (`select`) is what ranking calls: `auto | webgpu | cpu`, CPU fallback
//!   for every GPU failure, the backend that ran reported in every [`Scored`]; its docs hold
//!   the measured CPU/WebGPU crossover.

use serde::Serialize;
#[cfg(feature = "tsify")]
use tsify::Tsify;

mod device;
pub mod dispatch;
pub mod plan;
mod select;
pub mod wgsl;

pub use device::{GpuDevice, NoGpu};
pub use dispatch::{GpuCall, GpuDispatcher, Planned};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Webgpu,
    Cpu,
}

/// What the adapter says about itself (WebGPU's `GPUAdapterInfo`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct AdapterInfo {
    pub vendor: String,
    pub architecture: String,
    pub description: String,
    /// True for software adapters such as SwiftShader.
    pub is_fallback_adapter: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct BackendInfo {
    /// The backend the engine will compute on.
    pub backend: Backend,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub adapter: Option<AdapterInfo>,
    /// Why the CPU was chosen, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub reason: Option<String>,
}

impl BackendInfo {
    pub fn cpu(reason: impl Into<String>) -> Self {
        BackendInfo { backend: Backend::Cpu, adapter: None, reason: Some(reason.into()) }
    }
}
