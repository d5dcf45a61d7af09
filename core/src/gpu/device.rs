//! The seam between the backend choice (plain Rust, here) and a GPU implementation (the web
//! crate's wgpu runtime over the browser's WebGPU).

use super::{GpuError, GpuOutput};
use crate::model::{PreparedInput, Weights};

/// A GPU that runs the [`super::plan`] for one model: created once per model, reused across
/// calls, dropped when lost.
#[allow(async_fn_in_trait)] // single-threaded by design: wasm has no Send futures to offer
pub trait GpuDevice: Sized {
    /// Acquires a device, compiles the pipelines and uploads the weights.
    async fn create(weights: &Weights) -> Result<Self, GpuError>;

    /// True once the device is gone (driver reset, GPU process crash, `destroy`).
    fn is_lost(&self) -> bool;

    /// Destroys the device as a driver reset would (exercises the device-lost path).
    fn destroy(&self);

    /// One forward pass (when `input` is given) or a given `intent`, then the cosine scores of
    /// `items` (row-major `[pool, dim]`) and their top `k`.
    async fn run(
        &mut self,
        weights: &Weights,
        input: Option<&PreparedInput>,
        intent: Option<&[f32]>,
        items: &[f32],
        k: usize,
    ) -> Result<GpuOutput, GpuError>;
}

/// No GPU: what native builds (the trainer, tests, servers) use. Every GPU request completes on
/// the CPU with this reason.
pub struct NoGpu;

impl GpuDevice for NoGpu {
    async fn create(_weights: &Weights) -> Result<NoGpu, GpuError> {
        Err(GpuError::Unavailable("no GPU device in this build: WebGPU is only used in the browser".into()))
    }

    fn is_lost(&self) -> bool {
        true
    }

    fn destroy(&self) {}

    async fn run(&mut self, _: &Weights, _: Option<&PreparedInput>, _: Option<&[f32]>, _: &[f32], _: usize) -> Result<GpuOutput, GpuError> {
        Err(GpuError::Lost)
    }
}
