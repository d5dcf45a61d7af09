//! localrank-model: the localrank intent encoder (a SASRec-class causal transformer) as a burn
//! Module, with data preparation, training, full-ranking evaluation against baselines, and
//! export to the weights format the engine crate loads (see docs/model-format.md).
pub mod data;
pub mod error;
pub mod time_gap;

pub use error::{ModelError, Result};
