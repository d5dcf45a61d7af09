//! The options a storefront passes to `open()`.

use serde::{Deserialize, Serialize};
#[cfg(feature = "tsify")]
use tsify::Tsify;

use super::retention::RetentionPolicy;
use crate::error::LocalRankError;

pub const DEFAULT_DATABASE: &str = "localrank";
pub const DEFAULT_MAX_CACHED_VECTORS: usize = 2_000;
/// Largest item-vector dimension accepted; real models use tens to a few hundred.
pub const MAX_DIM: usize = 4_096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "lowercase")]
pub enum StorageChoice {
    /// IndexedDB, falling back to memory (with a warning) when it cannot be used.
    #[default]
    Indexeddb,
    /// Memory only: nothing is persisted (useful for tests and privacy-first shops).
    Memory,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct OpenOptions {
    /// IndexedDB database name (default "localrank"); one per storefront origin is typical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub database: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub storage: Option<StorageChoice>,
    /// Most events kept (default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub max_events: Option<f64>,
    /// Oldest event kept, in days (default 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub max_age_days: Option<f64>,
    /// Most item vectors cached (default 2000), least recently used dropped first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub max_cached_vectors: Option<f64>,
    /// The item-vector dimension (the model's). When omitted, the first vector seen fixes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub dim: Option<usize>,
    /// Takes part in a lift experiment (docs/measurement.md): this browser draws its arm once
    /// and keeps a private daily tally. Off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub experiment: Option<crate::measure::tally::ExperimentConfig>,
}

impl OpenOptions {
    /// Checks every option, naming the first that is wrong.
    pub fn validate(&self) -> Result<(), LocalRankError> {
        self.retention()?;
        if let Some(name) = &self.database
            && name.trim().is_empty()
        {
            return Err(LocalRankError::invalid_option("database", "must be a non-empty name"));
        }
        if let Some(n) = self.max_cached_vectors
            && !(n.fract() == 0.0 && (1.0..=1_000_000.0).contains(&n))
        {
            return Err(LocalRankError::invalid_option(
                "maxCachedVectors",
                format!("must be a whole number from 1 to 1000000, got {n}"),
            ));
        }
        if let Some(dim) = self.dim
            && !(1..=MAX_DIM).contains(&dim)
        {
            return Err(LocalRankError::invalid_option("dim", format!("must be from 1 to {MAX_DIM}, got {dim}")));
        }
        if let Some(experiment) = &self.experiment {
            experiment.validate()?;
        }
        Ok(())
    }

    pub fn retention(&self) -> Result<RetentionPolicy, LocalRankError> {
        RetentionPolicy::new(self.max_events, self.max_age_days)
    }

    pub fn database_name(&self) -> &str {
        self.database.as_deref().unwrap_or(DEFAULT_DATABASE)
    }

    pub fn max_cached_vectors(&self) -> usize {
        self.max_cached_vectors.map(|n| n as usize).unwrap_or(DEFAULT_MAX_CACHED_VECTORS)
    }
}
