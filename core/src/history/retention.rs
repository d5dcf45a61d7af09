//! How much history a shopper's device keeps. The storefront sets the policy at `open()`; the
//! engine enforces it on open and on every append, always dropping the oldest events first.

use serde::Serialize;
#[cfg(feature = "tsify")]
use tsify::Tsify;

use super::event::StoredEvent;
use crate::error::LocalRankError;

pub const DAY_MS: f64 = 24.0 * 60.0 * 60.0 * 1000.0;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct RetentionPolicy {
    /// Most events kept (default 500).
    pub max_events: usize,
    /// Oldest event kept, in days before now (default 90).
    pub max_age_days: f64,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy { max_events: 500, max_age_days: 90.0 }
    }
}

/// Upper bound on `maxEvents`: the model reads the last few dozen; more only costs storage.
pub const MAX_EVENTS_LIMIT: usize = 100_000;

impl RetentionPolicy {
    pub fn new(max_events: Option<f64>, max_age_days: Option<f64>) -> Result<Self, LocalRankError> {
        let default = RetentionPolicy::default();
        let max_events = match max_events {
            None => default.max_events,
            Some(n) if n.fract() == 0.0 && n >= 1.0 && n <= MAX_EVENTS_LIMIT as f64 => n as usize,
            Some(n) => {
                return Err(LocalRankError::invalid_option(
                    "maxEvents",
                    format!("must be a whole number from 1 to {MAX_EVENTS_LIMIT}, got {n}"),
                ));
            }
        };
        let max_age_days = match max_age_days {
            None => default.max_age_days,
            Some(d) if d.is_finite() && d > 0.0 => d,
            Some(d) => {
                return Err(LocalRankError::invalid_option(
                    "maxAgeDays",
                    format!("must be a positive number of days, got {d}"),
                ));
            }
        };
        Ok(RetentionPolicy { max_events, max_age_days })
    }

    /// The earliest timestamp still kept at time `now`.
    pub fn cutoff(&self, now: f64) -> f64 {
        now - self.max_age_days * DAY_MS
    }

    /// Which events to drop so that `events` (in history order) plus `incoming` more fit the
    /// policy at time `now`. Returns the `seq`s of the oldest events to remove.
    pub fn to_drop(&self, events: &[StoredEvent], incoming: usize, now: f64) -> Vec<u32> {
        let cutoff = self.cutoff(now);
        let expired = events.iter().take_while(|e| e.timestamp < cutoff).count();
        let kept = events.len() - expired;
        let over = (kept + incoming).saturating_sub(self.max_events).min(kept);
        events[..expired + over].iter().map(|e| e.seq).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::event::EventKind;

    fn event(seq: u32, timestamp: f64) -> StoredEvent {
        StoredEvent {
            seq,
            kind: EventKind::View,
            item: Some(format!("i{seq}")),
            query: None,
            timestamp,
            category: None,
            price: None,
        }
    }

    #[test]
    fn drops_oldest_beyond_the_count() {
        let policy = RetentionPolicy { max_events: 3, max_age_days: 90.0 };
        let events: Vec<_> = (0..5).map(|i| event(i, 1000.0 + i as f64)).collect();
        assert_eq!(policy.to_drop(&events, 0, 2000.0), vec![0, 1]);
        assert_eq!(policy.to_drop(&events, 1, 2000.0), vec![0, 1, 2]);
    }

    #[test]
    fn drops_expired_events_first() {
        let policy = RetentionPolicy { max_events: 10, max_age_days: 1.0 };
        let now = 10.0 * DAY_MS;
        let events = vec![event(0, now - 3.0 * DAY_MS), event(1, now - 2.0 * DAY_MS), event(2, now - 0.5 * DAY_MS)];
        assert_eq!(policy.to_drop(&events, 1, now), vec![0, 1]);
    }

    #[test]
    fn never_drops_more_than_exists() {
        let policy = RetentionPolicy { max_events: 1, max_age_days: 1.0 };
        let events = vec![event(0, 5.0)];
        assert_eq!(policy.to_drop(&events, 4, 10.0), vec![0]);
        assert!(policy.to_drop(&[], 4, 10.0).is_empty());
    }

    #[test]
    fn rejects_nonsense_options_naming_the_field() {
        let err = RetentionPolicy::new(Some(0.0), None).unwrap_err();
        assert_eq!(err.field(), Some("maxEvents"));
        let err = RetentionPolicy::new(Some(2.5), None).unwrap_err();
        assert_eq!(err.field(), Some("maxEvents"));
        let err = RetentionPolicy::new(None, Some(f64::NAN)).unwrap_err();
        assert_eq!(err.field(), Some("maxAgeDays"));
        assert_eq!(RetentionPolicy::new(Some(7.0), Some(2.0)).unwrap(), RetentionPolicy { max_events: 7, max_age_days: 2.0 });
    }
}
