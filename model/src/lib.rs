//! localrank-model: the localrank intent encoder (a SASRec-class causal transformer) as a burn
//! Module, with data preparation, training, full-ranking evaluation against baselines, and
//! export to the weights format the engine crate loads (see docs/model-format.md).
pub mod auto;
pub mod baselines;
pub mod cold_start;
pub mod config;
pub mod data;
pub mod device;
pub mod encoder;
pub mod error;
pub mod eval;
pub mod export;
pub mod reference;
pub mod text_tower;
pub mod time_gap;
pub mod train;
pub mod weights;

pub use config::{EncoderConfig, TrainConfig};
pub use error::{ModelError, Result};
pub use weights::ModelWeights;

pub use device::{cpu_device, TrainDevice};
