//! localrank's WebGPU runtime as a second WebAssembly module (`pkg/localrank_gpu_bg.wasm`).
//!
//! Why a module of its own: wgpu and the WGSL kernels are ~29 KB gzip, more than a backend most
//! pages never use (no WebGPU in the browser, or `auto` staying on the faster CPU) should add
//! to every page's engine. The engine plans every call itself (`localrank_core::gpu::Planned`:
//! the model's limits, the buffer layout, the dispatch list, what the readback means); this
//! module only executes such a call ([`GpuCall`]) on the device. `js/index.js` loads it the
//! first time the engine asks for WebGPU (a `webgpu` ranking, `warmup()`), and hands its
//! exports to the engine (`src/gpu/bridge.rs`). Nothing here reads history or makes a request.
//!
//! JS API (called by the engine through the bridge, not by storefronts):
//! `createRunner(weights: Float32Array, paramsSlots) → Promise<GpuRunner>`,
//! `runner.run(header: Uint32Array, uploads: Float32Array, params: Uint8Array, dispatches:
//! Uint32Array) → Promise<Float32Array>`, `runner.isLost()`, `runner.destroy()`. Failures
//! reject with an `Error` whose `name` is the `GpuError` variant (`Unavailable`,
//! `Unsupported`, `Lost`, `Failed`).

pub use localrank_core::gpu::{GpuCall, GpuDispatcher, GpuError};
use localrank_core::gpu::wgsl;

/// The WGSL kernels (shaders/encoder.wgsl) with their comments blanked ([`wgsl::blank_comments`]),
/// compiled by the runtime; the core's plan names their entry points and
/// `core/tests/runtime_plan.rs` validates them natively, blanked as here.
pub const SHADER: &str = match std::str::from_utf8(&BLANKED) {
    Ok(text) => text,
    Err(_) => panic!("blanking comments keeps the shader UTF-8"),
};
const SOURCE: &str = include_str!("../../shaders/encoder.wgsl");
const BLANKED: [u8; SOURCE.len()] = wgsl::blank_comments(SOURCE);

#[cfg(target_arch = "wasm32")]
mod dispatcher;
#[cfg(target_arch = "wasm32")]
mod exports;

#[cfg(target_arch = "wasm32")]
pub use dispatcher::WgpuDispatcher;
#[cfg(target_arch = "wasm32")]
pub use exports::{create_runner, GpuRunner};
