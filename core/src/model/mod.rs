//! The intent encoder on the device: the exported model's config and weights, validated, and
//! the CPU forward pass that turns a shopper's recent history into an intent vector.
//!
//! The file format is the one `localrank-model` exports (docs/model-format.md, written from
//! `model/src/export.rs`): `model.json` (the config) and `model.safetensors` (encoder tensors
//! only — item vectors travel with the candidate pool, not with the model). Weights may be
//! f32, f16, or int8 with a per-row f32 scale (`<name>.scale`); all are widened to f32 at load
//! time, so every backend computes in f32 on one contiguous copy.
//!
//! The CPU forward here is the reference the WGSL kernels (`crate::gpu`) are tested against,
//! and it is tested against burn's forward in `model/tests/engine_parity.rs`.

mod config;
mod encoder;
mod error;
pub mod fixture;
mod kernels;
pub(crate) use kernels::linear_rows;
pub(crate) mod safetensors;
mod text_tower;
mod weights;

pub use config::{gap_bucket, ModelConfig, Positions, Precision, ACTIVATION, FORMAT_NAME, FORMAT_VERSION, NUM_GAP_BUCKETS, TEXT_TOWER_VERSION, TIME_GAP_BOUNDARIES_SECONDS};
pub use encoder::{tanh, EncoderState, EncoderStep, IntentEncoder, PreparedInput};
pub use error::ModelError;
pub use text_tower::{TextTower, TextTowerConfig, TEXT_EMBEDDING, TEXT_PROJ_BIAS, TEXT_PROJ_WEIGHT};
pub use weights::{BlockWeights, Span, Weights};
