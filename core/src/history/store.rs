//! The persistence seam. A [`HistoryStore`] only stores and loads; the rules (validation,
//! retention, ordering, the vector cache's bounds) live in [`super::History`], so every store
//! behaves the same and the rules are tested natively on [`super::MemoryStore`].

use super::event::{NewEvent, StoredEvent};
use super::vectors::{CachedVector, VectorCache};
use crate::error::LocalRankError;

/// Everything a store holds, as loaded at open.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Readable events, in any order (the history sorts them).
    pub events: Vec<StoredEvent>,
    pub vectors: Vec<CachedVector>,
    /// The item-vector dimension recorded with the data, if any.
    pub dim: Option<usize>,
    /// Records that could not be read: how many, and a description of the first.
    pub corrupt: Vec<String>,
    /// The lift experiment's state (`measure::tally::ExperimentState::to_record`), if any.
    pub experiment: Option<String>,
}

/// One atomic change: an append with the evictions it causes, written in one transaction so
/// a crash never leaves the history half-trimmed.
#[derive(Debug, Default)]
pub struct Change<'a> {
    pub append: Option<&'a NewEvent>,
    pub remove_events: &'a [u32],
    pub put_vectors: &'a [CachedVector],
    pub remove_vectors: &'a [String],
    pub set_dim: Option<usize>,
    /// Replaces the stored experiment state (its record text).
    pub set_experiment: Option<&'a str>,
}

/// Where history lives: IndexedDB in the browser, memory natively (and as the fallback when
/// the browser's storage is unavailable).
#[allow(async_fn_in_trait)] // single-threaded by design: wasm has no Send futures to offer
pub trait HistoryStore {
    /// "indexeddb" or "memory": reported in the engine status.
    fn kind(&self) -> &'static str;

    /// Reads everything the store holds.
    async fn load(&mut self) -> Result<Snapshot, LocalRankError>;

    /// Reads only the stored experiment state (`Snapshot::experiment`). Stores that can read
    /// one record cheaply override this; the default loads everything.
    async fn load_experiment(&mut self) -> Result<Option<String>, LocalRankError> {
        Ok(self.load().await?.experiment)
    }

    /// Saves `record`, the experiment state after `day` was taken for its report, unless the
    /// stored state of the same experiment (`id`) already reports `day` or later: another tab
    /// did it first. Returns whether it saved. Stores that can read and write in one
    /// transaction override this, so two tabs can never both win; the default reads, then
    /// writes.
    async fn save_report_mark(&mut self, record: &str, id: &str, day: i64) -> Result<bool, LocalRankError> {
        if already_reported(self.load_experiment().await?.as_deref(), id, day) {
            return Ok(false);
        }
        self.apply(Change { set_experiment: Some(record), ..Change::default() }).await?;
        Ok(true)
    }

    /// Applies a change atomically. Returns the `seq` given to the appended event, if any.
    async fn apply(&mut self, change: Change<'_>) -> Result<Option<u32>, LocalRankError>;

    /// Erases everything: events, cached vectors, metadata.
    async fn clear(&mut self) -> Result<(), LocalRankError>;

    /// When persistent storage became unusable mid-session (another tab upgraded the schema),
    /// switches to memory holding `events` and `vectors`, and says whether it did. Stores that
    /// have nothing to fall back to keep the default.
    fn fall_back_to_memory(&mut self, _events: &[StoredEvent], _vectors: &VectorCache) -> bool {
        false
    }
}

/// Does the stored experiment record say `day` of experiment `id` was reported already? An
/// unreadable record or another experiment's says no (nothing of theirs can be re-sent).
pub fn already_reported(stored: Option<&str>, id: &str, day: i64) -> bool {
    stored
        .and_then(|record| crate::measure::tally::ExperimentState::from_record(record).ok())
        .is_some_and(|state| state.id == id && state.reported_through.is_some_and(|r| r >= day))
}

#[cfg(test)]
mod tests {
    use super::already_reported;
    use crate::measure::tally::{ExperimentConfig, ExperimentState};

    #[test]
    fn a_stored_mark_of_the_same_experiment_at_or_after_the_day_wins() {
        let config = ExperimentConfig { id: "home".into(), split: 0.5, dap: None };
        let mut state = ExperimentState::new(&config, 7);
        state.reported_through = Some(20_000);
        let record = state.to_record();
        assert!(already_reported(Some(&record), "home", 20_000));
        assert!(already_reported(Some(&record), "home", 19_999));
        assert!(!already_reported(Some(&record), "home", 20_001));
        assert!(!already_reported(Some(&record), "other", 20_000), "another experiment's mark");
        assert!(!already_reported(Some("garbage"), "home", 20_000));
        assert!(!already_reported(None, "home", 20_000));
    }
}
