//! Log-bucketed time gaps. For history position i the gap is `t[i+1] - t[i]` in seconds; for
//! the last position it is `now - t[last]`, where "now" is the moment of ranking (in training
//! and evaluation: the timestamp of the event being predicted). Bucket b is the number of
//! boundaries that are <= the gap, so there are `BOUNDARIES.len() + 1` buckets.

//!
//! The boundaries and the bucket function are the engine's (part of the model format, defined
//! once in `localrank_core::model`): training and the browser bucket gaps identically by construction.

/// Boundaries in seconds: 1 s, 1 min, 10 min, 1 h, 6 h, 1 day, 3 days, 1 week, 30 days, 90 days.
pub use localrank_core::model::TIME_GAP_BOUNDARIES_SECONDS as BOUNDARIES;
pub use localrank_core::model::NUM_GAP_BUCKETS as NUM_BUCKETS;
/// Negative gaps (clock skew) fall into bucket 0 like simultaneous events.
pub use localrank_core::model::gap_bucket as bucket;

/// Buckets for a history with timestamps `ts` (ascending) ranked at time `now`.
pub fn buckets_for(ts: &[i64], now: i64) -> Vec<usize> {
    (0..ts.len())
        .map(|i| {
            let next = if i + 1 < ts.len() { ts[i + 1] } else { now };
            bucket(next - ts[i])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_gap_is_measured_to_now() {
        assert_eq!(buckets_for(&[0, 0, 120], 120 + 3_600), vec![0, 2, 4]);
    }
}
