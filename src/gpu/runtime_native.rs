//! Native builds have no WebGPU: this stand-in for `runtime.rs` always reports that, so the
//! backend selection logic above it is the same code (and tested) natively.

use super::{GpuError, GpuOutput};
use crate::model::{PreparedInput, Weights};

pub struct GpuRuntime {
    _private: (),
}

impl GpuRuntime {
    pub async fn new(_weights: &Weights) -> Result<GpuRuntime, GpuError> {
        Err(GpuError::Unavailable("native build: WebGPU is only used in the browser".into()))
    }

    pub fn is_lost(&self) -> bool {
        true
    }

    pub fn destroy(&self) {}

    pub async fn run(&mut self, _weights: &Weights, _input: Option<&PreparedInput>, _intent: Option<&[f32]>, _items: &[f32], _k: usize) -> Result<GpuOutput, GpuError> {
        Err(GpuError::Lost)
    }
}
