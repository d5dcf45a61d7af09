//! Where the model trains: the CPU (burn's flex backend, both cores) in every build, or a GPU
//! through burn-wgpu in a build with the `gpu` feature. The one place the feature is looked at.
use burn::tensor::Device;

use crate::error::{ModelError, Result};

/// The device `localrank train --device` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrainDevice {
    /// burn's pure-Rust flex backend on every core (always available).
    #[default]
    Cpu,
    /// The first GPU adapter wgpu finds (Vulkan, Metal, DX12 or GL); needs `--features gpu`.
    Gpu,
}

impl std::str::FromStr for TrainDevice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "cpu" => Ok(TrainDevice::Cpu),
            "gpu" => Ok(TrainDevice::Gpu),
            other => Err(format!("unknown device {other:?}: use cpu or gpu")),
        }
    }
}

/// The CPU device used for training and inference (burn's pure-Rust flex backend).
pub fn cpu_device() -> Device {
    Device::flex()
}

/// The device for `kind`, or why it is not available.
pub fn device(kind: TrainDevice) -> Result<Device> {
    match kind {
        TrainDevice::Cpu => Ok(cpu_device()),
        TrainDevice::Gpu => gpu_device(),
    }
}

#[cfg(feature = "gpu")]
fn gpu_device() -> Result<Device> {
    Device::wgpu_options().init().map_err(|e| {
        ModelError::Backend(format!(
            "no usable GPU adapter: {e}. On a machine without a GPU a software Vulkan driver (Debian/Ubuntu: mesa-vulkan-drivers) provides one, slowly; or train with --device cpu"
        ))
    })
}

#[cfg(not(feature = "gpu"))]
fn gpu_device() -> Result<Device> {
    Err(ModelError::BadConfig("this localrank was built without GPU support: build it with `cargo build --profile native -p localrank-cli --features gpu`, or train with --device cpu".into()))
}
