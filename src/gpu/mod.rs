//! The browser's GPU: adapter detection for `status()`, and the bridge to the WebGPU module
//! (`gpu-web/`, loaded by the JS layer only where WebGPU is used) that runs the core's plans.
//! The backend choice and CPU fallback are the core's ([`ModelRuntime`]); [`Planned`] over
//! [`JsDispatcher`] is the [`GpuDevice`] it drives here.

pub use localrank_core::gpu::*;

#[cfg(target_arch = "wasm32")]
mod bridge;
#[cfg(target_arch = "wasm32")]
mod detect;

#[cfg(target_arch = "wasm32")]
pub use bridge::{set_gpu_module_loader, JsDispatcher};
#[cfg(target_arch = "wasm32")]
pub use detect::detect;

/// The model runtime the browser engine uses: the core's backend choice over the WebGPU
/// module. It shadows the core's `ModelRuntime` (whose default device is `NoGpu`) so that
/// browser code and browser tests naming `localrank::gpu::ModelRuntime` get the real GPU
/// whenever the module is loaded.
#[cfg(target_arch = "wasm32")]
pub type ModelRuntime = localrank_core::gpu::ModelRuntime<Planned<JsDispatcher>>;
