//! The browser's GPU: adapter detection for `status()` and the wgpu runtime that runs the
//! core's dispatch plan ([`plan`]) on WebGPU. The backend choice and CPU fallback are the
//! core's ([`ModelRuntime`]); here [`WebGpu`] is the [`GpuDevice`] it drives.

pub use localrank_core::gpu::*;

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
mod detect;
#[cfg(target_arch = "wasm32")]
mod runtime;

#[cfg(target_arch = "wasm32")]
pub use detect::detect;
#[cfg(target_arch = "wasm32")]
pub use runtime::WebGpu;

/// The model runtime the browser engine uses: the core's backend choice over WebGPU. It
/// shadows the core's `ModelRuntime` (whose default device is `NoGpu`) so that browser code
/// and browser tests naming `localrank::gpu::ModelRuntime` always get the real GPU.
#[cfg(target_arch = "wasm32")]
pub type ModelRuntime = localrank_core::gpu::ModelRuntime<WebGpu>;
