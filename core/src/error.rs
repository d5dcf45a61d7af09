//! The errors a storefront developer sees, and the warnings an engine carries when it had to
//! degrade (for example to an in-memory history) instead of failing the page.

use serde::Serialize;
#[cfg(feature = "tsify")]
use tsify::Tsify;

/// Every error the engine reports. `code()` is stable and meant for programs; the message is
/// meant for the developer reading the console and says what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LocalRankError {
    /// An event passed to `record()` was rejected; nothing stored was touched.
    #[error("invalid event: `{field}` {reason}")]
    InvalidEvent { field: String, reason: String },

    /// An option passed to `open()` is out of range or of the wrong type.
    #[error("invalid option: `{field}` {reason}")]
    InvalidOptions { field: String, reason: String },

    /// The candidate pool passed to `rank()` is malformed; ranking fell back to server order.
    #[error("invalid pool: `{field}` {reason}")]
    InvalidPool { field: String, reason: String },

    /// The history database exists but was written by a newer version of localrank.
    #[error(
        "the history database `{database}` has schema version {found}, newer than the {supported} \
         this engine understands; using an empty in-memory history (upgrade the localrank package)"
    )]
    SchemaTooNew { database: String, found: u32, supported: u32 },

    /// Some stored records could not be read; they were skipped and left untouched on disk.
    #[error("skipped {count} unreadable history record(s) in `{database}`; first problem: {first}")]
    CorruptRecords { database: String, count: usize, first: String },

    /// Persistent storage cannot be used at all (private mode, blocked storage, no IndexedDB).
    #[error("persistent storage is unavailable ({reason}); history is kept in memory for this page only")]
    StorageUnavailable { reason: String },

    /// The browser's storage quota is exhausted. `record()` trims the oldest events and retries
    /// before reporting this.
    #[error("storage is full while trying to {operation}: {reason}")]
    StorageFull { operation: String, reason: String },

    /// A read or write on IndexedDB (the history, or the model cache) failed.
    #[error("IndexedDB failed while trying to {operation}: {reason}")]
    Storage { operation: String, reason: String },

    /// A bug in localrank surfaced as a panic; the engine keeps running in fail-open mode.
    #[error("internal error in localrank (please report it): {0}")]
    Internal(String),
}

impl LocalRankError {
    /// Every value `code()` returns, in declaration order. The web crate's TypeScript type
    /// `LocalRankErrorCode` must list them all (a test there checks it).
    pub const CODES: [&'static str; 9] =
        ["InvalidEvent", "InvalidOptions", "InvalidPool", "SchemaTooNew", "CorruptRecords", "StorageUnavailable", "StorageFull", "Storage", "Internal"];

    /// A stable, machine-readable name for the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidEvent { .. } => "InvalidEvent",
            Self::InvalidOptions { .. } => "InvalidOptions",
            Self::InvalidPool { .. } => "InvalidPool",
            Self::SchemaTooNew { .. } => "SchemaTooNew",
            Self::CorruptRecords { .. } => "CorruptRecords",
            Self::StorageUnavailable { .. } => "StorageUnavailable",
            Self::StorageFull { .. } => "StorageFull",
            Self::Storage { .. } => "Storage",
            Self::Internal(_) => "Internal",
        }
    }

    /// The offending input field, for errors about input.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidEvent { field, .. } | Self::InvalidOptions { field, .. } | Self::InvalidPool { field, .. } => {
                Some(field)
            }
            _ => None,
        }
    }

    pub fn invalid_event(field: &str, reason: impl Into<String>) -> Self {
        Self::InvalidEvent { field: field.to_owned(), reason: reason.into() }
    }

    pub fn invalid_option(field: &str, reason: impl Into<String>) -> Self {
        Self::InvalidOptions { field: field.to_owned(), reason: reason.into() }
    }

    pub fn invalid_pool(field: &str, reason: impl Into<String>) -> Self {
        Self::InvalidPool { field: field.to_owned(), reason: reason.into() }
    }

    pub fn storage(operation: &str, reason: impl Into<String>) -> Self {
        Self::Storage { operation: operation.to_owned(), reason: reason.into() }
    }
}

/// Something the engine had to work around. The page keeps working; the storefront may log it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
pub struct Warning {
    /// The `code()` of the underlying [`LocalRankError`].
    pub code: String,
    pub message: String,
}

impl From<&LocalRankError> for Warning {
    fn from(error: &LocalRankError) -> Self {
        Warning { code: error.code().to_owned(), message: error.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::LocalRankError;

    #[test]
    fn codes_lists_every_variant_once() {
        let s = String::new;
        let every = [
            LocalRankError::InvalidEvent { field: s(), reason: s() },
            LocalRankError::InvalidOptions { field: s(), reason: s() },
            LocalRankError::InvalidPool { field: s(), reason: s() },
            LocalRankError::SchemaTooNew { database: s(), found: 3, supported: 2 },
            LocalRankError::CorruptRecords { database: s(), count: 1, first: s() },
            LocalRankError::StorageUnavailable { reason: s() },
            LocalRankError::StorageFull { operation: s(), reason: s() },
            LocalRankError::Storage { operation: s(), reason: s() },
            LocalRankError::Internal(s()),
        ];
        let codes: Vec<&str> = every.iter().map(LocalRankError::code).collect();
        assert_eq!(codes, LocalRankError::CODES);
    }
}
