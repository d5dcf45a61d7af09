//! The export format: what a shopper downloads when they ask to see everything stored about
//! them. Self-describing and versioned so it can be read back or inspected by hand.

use serde::{Deserialize, Serialize};
#[cfg(feature = "tsify")]
use tsify::Tsify;

use super::event::StoredEvent;
use super::retention::RetentionPolicy;

pub const EXPORT_FORMAT: &str = "localrank-history";
pub const EXPORT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct HistoryExport {
    pub format: String,
    pub version: u32,
    /// When the export was made, ms since the epoch.
    pub exported_at: f64,
    pub max_events: usize,
    pub max_age_days: f64,
    /// Every stored event, oldest first. Item vectors are public catalogue data and not included.
    pub events: Vec<StoredEvent>,
}

impl HistoryExport {
    pub fn new(events: Vec<StoredEvent>, policy: RetentionPolicy, now: f64) -> Self {
        HistoryExport {
            format: EXPORT_FORMAT.to_owned(),
            version: EXPORT_VERSION,
            exported_at: now,
            max_events: policy.max_events,
            max_age_days: policy.max_age_days,
            events,
        }
    }

    pub fn to_json(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
