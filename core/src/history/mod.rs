//! The shopper's private history: events, retention, the item-vector cache, and the stores
//! that persist them. [`History`] holds the rules and an in-memory mirror (ranking reads the
//! mirror, never the disk); a [`HistoryStore`] persists.

pub mod event;
mod export;
mod memory;
pub mod options;
pub mod retention;
pub mod store;
pub mod vectors;


pub use event::{EventInput, EventKind, StoredEvent};
pub use export::HistoryExport;
pub use memory::MemoryStore;
pub use options::{OpenOptions, StorageChoice};
pub use retention::RetentionPolicy;
pub use store::{Change, HistoryStore, Snapshot};
pub use vectors::{CachedVector, VectorCache};

use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use crate::error::LocalRankError;
use crate::measure::tally::{ExperimentConfig, ExperimentState};
use crate::measure::{Arm, DayOutcome};
use crate::pool::CandidatePool;
use event::{NewEvent, ValidationContext};

/// How many recent candidate pools the engine keeps in memory to look up the vectors of items
/// the shopper interacts with next (a click on a homepage tile carries no vector of its own).
const RECENT_POOLS: usize = 4;

/// The history of one shopper on one device.
pub struct History<S: HistoryStore> {
    store: S,
    /// Every readable event, in (`timestamp`, `seq`) order.
    events: Vec<StoredEvent>,
    vectors: VectorCache,
    policy: RetentionPolicy,
    warnings: Vec<LocalRankError>,
    /// The last few pools ranked, newest first: memory only, shared, never copied.
    recent_pools: VecDeque<Rc<CandidatePool>>,
    /// How far `remember_pool` has checked the events against the newest pool, so that the
    /// homepage, re-ranked with the same pool after every event, looks at the new events only.
    pool_checked: Option<PoolCheck>,
    /// The experiment state as stored when opened (JSON), until `join_experiment` reads it.
    stored_experiment: Option<String>,
    /// The lift experiment this browser takes part in, with its state.
    experiment: Option<(ExperimentConfig, ExperimentState)>,
}

/// What `remember_pool` last checked: the events up to `seq` against the newest pool, filled in
/// by the text tower as `filled` (a new model fills in another copy), while the vector cache had
/// taken out `removals` times.
#[derive(Debug)]
struct PoolCheck {
    seq: u32,
    filled: Option<Arc<CandidatePool>>,
    removals: u64,
}

impl<S: HistoryStore> History<S> {
    /// Loads the store, reports unreadable records, and enforces the retention policy.
    pub async fn open(mut store: S, options: &OpenOptions, now: f64) -> Result<Self, LocalRankError> {
        let policy = options.retention()?;
        let snapshot = store.load().await?;
        let mut warnings = Vec::new();
        if let Some(first) = snapshot.corrupt.first() {
            warnings.push(LocalRankError::CorruptRecords {
                database: options.database_name().to_owned(),
                count: snapshot.corrupt.len(),
                first: first.clone(),
            });
        }

        let mut events = snapshot.events;
        crate::sort::sort_by(&mut events, |a, b| a.order_key().partial_cmp(&b.order_key()).unwrap_or(std::cmp::Ordering::Equal));

        // A dimension set at open wins: a different stored one means the model changed and the
        // cached vectors belong to the old item space.
        let dim = options.dim.or(snapshot.dim);
        let mut vectors = VectorCache::new(options.max_cached_vectors(), dim);
        let stale_vectors = vectors.restore(snapshot.vectors);

        let stored_experiment = snapshot.experiment;
        let mut history =
            History { store, events, vectors, policy, warnings, recent_pools: VecDeque::new(), pool_checked: None, stored_experiment, experiment: None };
        let expired = history.policy.to_drop(&history.events, 0, now);
        let set_dim = history.vectors.dim().filter(|d| Some(*d) != snapshot.dim);
        if !expired.is_empty() || !stale_vectors.is_empty() || set_dim.is_some() {
            history
                .store
                .apply(Change { remove_events: &expired, remove_vectors: &stale_vectors, set_dim, ..Change::default() })
                .await?;
            history.events.retain(|e| !expired.contains(&e.seq));
        }
        Ok(history)
    }

    /// Validates and stores one event. On any error nothing stored changes.
    pub async fn record(&mut self, input: EventInput, now: f64) -> Result<StoredEvent, LocalRankError> {
        let mut validated = input.validate(ValidationContext { now, dim: self.vectors.dim() })?;
        if validated.vector.is_none()
            && let Some((vector, category)) = validated.event.item.as_deref().and_then(|id| self.pool_vector(id))
        {
            // The event came from an item the page ranked: take its vector (and category).
            if self.vectors.dim().is_none_or(|d| d == vector.len()) {
                validated.vector = Some(vector.to_vec());
                if validated.event.category.is_none() {
                    validated.event.category = category.map(str::to_owned);
                }
            }
        }
        let event = validated.event;
        if event.timestamp < self.policy.cutoff(now) {
            return Err(LocalRankError::invalid_event(
                "timestamp",
                format!("is older than the retention window of {} days", self.policy.max_age_days),
            ));
        }
        let remove_events = self.evictions_for(&event, now)?;

        let dim_before = self.vectors.dim();
        let cache_update = match (&validated.vector, &event.item) {
            (Some(vector), Some(item)) => {
                Some(self.vectors.insert(vec![(item.clone(), vector.clone(), event.category.clone())]))
            }
            _ => None,
        };
        let (put_vectors, remove_vectors) = cache_update.map(|u| (u.put, u.evicted)).unwrap_or_default();
        let set_dim = self.vectors.dim().filter(|_| dim_before.is_none());

        // A full disk must not cost the newest event: drop the oldest tenth and retry, a few
        // times, before giving up.
        let mut remove_events = remove_events;
        let mut attempt = 0;
        let seq = loop {
            let result = self
                .store
                .apply(Change {
                    append: Some(&event),
                    remove_events: &remove_events,
                    put_vectors: &put_vectors,
                    remove_vectors: &remove_vectors,
                    set_dim,
                    set_experiment: None,
                })
                .await;
            match result {
                Err(LocalRankError::StorageFull { .. }) if attempt < 4 && remove_events.len() < self.events.len() => {
                    attempt += 1;
                    let kept = self.events.len() - remove_events.len();
                    let extra = (kept / 10).max(1);
                    let more: Vec<u32> =
                        self.events.iter().map(|e| e.seq).filter(|s| !remove_events.contains(s)).take(extra).collect();
                    remove_events.extend(more);
                }
                Err(
                    error @ (LocalRankError::SchemaTooNew { .. } | LocalRankError::StorageUnavailable { .. }),
                ) if self.store.fall_back_to_memory(&self.events, &self.vectors) => {
                    // The database went away under us (another tab upgraded it): keep going in
                    // memory with everything we had, and say so.
                    self.warnings.push(error);
                }
                Err(error) => return Err(error),
                Ok(seq) => {
                    break seq.ok_or_else(|| LocalRankError::Internal("the store did not assign a sequence number".into()))?;
                }
            }
        };
        if attempt > 0 {
            // One current warning, not one per event.
            self.warnings.retain(|w| w.code() != "StorageFull");
            self.warnings.push(LocalRankError::StorageFull {
                operation: "record an event".into(),
                reason: format!("trimmed the {} oldest events to make room", remove_events.len()),
            });
        }

        self.events.retain(|e| !remove_events.contains(&e.seq));
        let stored = StoredEvent::from_new(seq, event);
        let at = self.events.partition_point(|e| e.order_key() <= stored.order_key());
        self.events.insert(at, stored.clone());
        self.tally_event(&stored, now).await;
        Ok(stored)
    }

    /// Which stored events the policy drops when `event` arrives; an error if it would drop
    /// `event` itself (it is older than everything the policy keeps).
    fn evictions_for(&self, event: &NewEvent, now: f64) -> Result<Vec<u32>, LocalRankError> {
        let is_newest = self.events.last().is_none_or(|last| event.timestamp >= last.timestamp);
        if is_newest {
            return Ok(self.policy.to_drop(&self.events, 1, now));
        }
        // Out of order (a late-arriving event): decide on the merged history.
        const PENDING: u32 = u32::MAX;
        let mut merged = self.events.clone();
        let pending = StoredEvent::from_new(PENDING, event.clone());
        let at = merged.partition_point(|e| e.order_key() <= pending.order_key());
        merged.insert(at, pending);
        let dropped = self.policy.to_drop(&merged, 0, now);
        if dropped.contains(&PENDING) {
            return Err(LocalRankError::invalid_event(
                "timestamp",
                format!("is older than all {} events kept (maxEvents)", self.policy.max_events),
            ));
        }
        Ok(dropped)
    }

    /// Caches item vectors seen outside events. Vectors of another dimension than the cache's
    /// mean the item space changed (a new model): the old cache is dropped and replaced.
    pub async fn cache_vectors(&mut self, items: Vec<(String, Vec<f32>, Option<String>)>) -> Result<(), LocalRankError> {
        let Some(dim) = items.first().map(|(_, v, _)| v.len()) else { return Ok(()) };
        for (id, vector, _) in &items {
            event::check_vector(vector.clone(), Some(dim))
                .map_err(|reason| LocalRankError::invalid_event("vector", format!("of item {id:?} {reason}")))?;
        }
        let mut stale = Vec::new();
        if self.vectors.dim().is_some_and(|d| d != dim) {
            stale = self.vectors.ids();
            self.vectors = VectorCache::new(self.vectors.capacity(), Some(dim));
            self.pool_checked = None;
        }
        let dim_changed = self.vectors.dim() != Some(dim);
        let mut update = self.vectors.insert(items);
        update.evicted.extend(stale);
        let set_dim = (dim_changed || !update.evicted.is_empty()).then_some(dim);
        self.store
            .apply(Change { put_vectors: &update.put, remove_vectors: &update.evicted, set_dim, ..Change::default() })
            .await?;
        Ok(())
    }

    /// Remembers a ranked pool (in memory) so later events on its items find their vectors,
    /// and refreshes the persisted vectors of history items the pool contains. Returns whether
    /// anything was written.
    pub async fn remember_pool(&mut self, pool: Rc<CandidatePool>) -> Result<bool, LocalRankError> {
        let mut refresh = Vec::new();
        let mut seen = crate::hash::set();
        // An item sent with only `text` has a vector only once a text tower filled the pool in
        // (a ranking with the model did, and the pool keeps that copy); its placeholder row is
        // not one to cache.
        let filled = pool.text_vectors_filled();
        let source = filled.as_deref().unwrap_or(&pool);
        // Events already checked against this same pool (as filled in then), whose vectors the
        // cache has held since (nothing was taken out of it), are skipped.
        let removals = self.vectors.removals();
        let checked = match &self.pool_checked {
            Some(check)
                if self.recent_pools.front().is_some_and(|p| Rc::ptr_eq(p, &pool))
                    && check.removals == removals
                    && match (&check.filled, &filled) {
                        (None, None) => true,
                        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                        _ => false,
                    } =>
            {
                check.seq
            }
            _ => 0,
        };
        let newest = self.events.iter().map(|e| e.seq).max().unwrap_or(0);
        for event in self.events.iter().rev().filter(|e| e.seq > checked) {
            let Some(id) = event.item.as_deref() else { continue };
            if !seen.insert(id) {
                continue;
            }
            if let Some(p) = source.position(id).filter(|&p| source.has_vector(p)) {
                let vector = source.vector(p);
                if self.vectors.get(id).is_none_or(|c| c.vector != vector) {
                    refresh.push((id.to_owned(), vector.to_vec(), pool.items[p].category.clone()));
                }
            }
        }
        self.recent_pools.retain(|p| !Rc::ptr_eq(p, &pool));
        self.recent_pools.push_front(pool);
        self.recent_pools.truncate(RECENT_POOLS);
        let wrote = !refresh.is_empty();
        self.pool_checked = None;
        self.cache_vectors(refresh).await?;
        // Only when this refresh took nothing out: else the next one checks everything again.
        if self.vectors.removals() == removals {
            self.pool_checked = Some(PoolCheck { seq: newest, filled, removals });
        }
        Ok(wrote)
    }

    /// An item's vector and category from the recently ranked pools, newest first.
    pub fn pool_vector(&self, id: &str) -> Option<(&[f32], Option<&str>)> {
        self.recent_pools
            .iter()
            .find_map(|pool| pool.position(id).filter(|&p| pool.has_vector(p)).map(|p| (pool.vector(p), pool.items[p].category.as_deref())))
    }

    /// An item's vector from the persisted cache or the recent pools.
    pub fn lookup_vector(&self, id: &str) -> Option<(&[f32], Option<&str>)> {
        self.vectors.get(id).map(|c| (c.vector.as_slice(), c.category.as_deref())).or_else(|| self.pool_vector(id))
    }

    /// Re-reads the store after another tab changed it: events from every tab, in time order,
    /// with the retention policy enforced on the combined history. Cached vectors the other
    /// tab added are merged in; unreadable records were reported at open and stay skipped.
    pub async fn reload(&mut self, now: f64) -> Result<(), LocalRankError> {
        let snapshot = self.store.load().await?;
        // Another tab of the same experiment tallies into the same day: take its state.
        if let (Some((config, state)), Some(record)) = (&mut self.experiment, &snapshot.experiment)
            && let Ok(stored) = ExperimentState::from_record(record)
            && stored.id == config.id
        {
            *state = stored;
        }
        let mut events = snapshot.events;
        crate::sort::sort_by(&mut events, |a, b| a.order_key().partial_cmp(&b.order_key()).unwrap_or(std::cmp::Ordering::Equal));
        self.events = events;
        // Another tab's events may be older than those checked: check them all again.
        self.pool_checked = None;
        let missing: Vec<_> = snapshot
            .vectors
            .into_iter()
            .filter(|v| self.vectors.get(&v.id).is_none() && self.vectors.dim().is_none_or(|d| d == v.vector.len()))
            .map(|v| (v.id, v.vector, v.category))
            .collect();
        self.vectors.insert(missing);
        let expired = self.policy.to_drop(&self.events, 0, now);
        if !expired.is_empty() {
            self.store.apply(Change { remove_events: &expired, ..Change::default() }).await?;
            self.events.retain(|e| !expired.contains(&e.seq));
        }
        Ok(())
    }

    /// Joins the storefront's experiment: the stored state when it is the same experiment,
    /// else a new one with `coin` (a uniform 32-bit draw from a good random source) — so the
    /// arm is drawn once per browser per experiment. Returns the arm.
    pub async fn join_experiment(&mut self, config: ExperimentConfig, coin: u32) -> Result<Arm, LocalRankError> {
        config.validate()?;
        let stored = self.stored_experiment.take().and_then(|record| match ExperimentState::from_record(&record) {
            Ok(state) => Some(state),
            Err(e) => {
                // A damaged record loses only the tally: the browser joins afresh.
                self.warnings.push(LocalRankError::CorruptRecords { database: "experiment".into(), count: 1, first: e });
                None
            }
        });
        let state = match stored {
            Some(state) if state.id == config.id => state,
            _ => {
                let state = ExperimentState::new(&config, coin);
                self.save_experiment(&state).await?;
                state
            }
        };
        let arm = state.arm(&config);
        self.experiment = Some((config, state));
        Ok(arm)
    }

    /// The experiment this browser takes part in and its arm.
    pub fn experiment_arm(&self) -> Option<(&str, Arm)> {
        self.experiment.as_ref().map(|(config, state)| (config.id.as_str(), state.arm(config)))
    }

    /// The homepage was shown in `order`: tallied for the experiment, if there is one.
    pub async fn homepage_shown(&mut self, order: &[String], now: f64) -> Result<(), LocalRankError> {
        self.update_experiment(|state, arm| state.homepage_shown(order, now, arm)).await
    }

    /// The finished day's outcome, at most once per day (saved as reported before it is
    /// returned, so a crash after this call loses a report rather than doubling one).
    pub async fn take_experiment_report(&mut self, now: f64) -> Result<Option<(i64, DayOutcome)>, LocalRankError> {
        self.take_experiment_report_with(now, |day, outcome| Ok((day, outcome))).await
    }

    /// Whether [`take_experiment_report_with`](Self::take_experiment_report_with) would make a
    /// report now: a finished day with a homepage shown, not reported yet. Changes nothing; the
    /// engine asks first so the report module is loaded only when there is a day to seal.
    pub fn experiment_report_due(&self, now: f64) -> bool {
        let Some((config, state)) = &self.experiment else { return false };
        let mut next = state.clone();
        let arm = next.arm(config);
        next.take_report(now, arm).is_some()
    }

    /// Turns the finished day into its report with `make` (the engine seals it) and marks the
    /// day reported in the store before returning what `make` made. If `make` fails, nothing
    /// is marked and the day stays due (a later call retries it); if the store cannot save
    /// the mark, the report is dropped and the error returned; if another tab marked the day
    /// first, the report is dropped and `None` returned: a day may be lost, never sent twice.
    pub async fn take_experiment_report_with<T>(
        &mut self,
        now: f64,
        make: impl FnOnce(i64, DayOutcome) -> Result<T, LocalRankError>,
    ) -> Result<Option<T>, LocalRankError> {
        let Some((config, state)) = &self.experiment else { return Ok(None) };
        let mut next = state.clone();
        let arm = next.arm(config);
        let Some((day, outcome)) = next.take_report(now, arm) else {
            // No day due; moving to today may still have closed one without a homepage.
            if next != *state {
                self.save_experiment(&next).await?;
                if let Some((_, state)) = &mut self.experiment {
                    *state = next;
                }
            }
            return Ok(None);
        };
        let made = make(day, outcome)?;
        // The mark and the check that no other tab of this browser reported the day are one
        // store transaction: of two tabs taking the same day, one wins, the other sends nothing.
        let won = self.store.save_report_mark(&next.to_record(), &next.id, day).await?;
        if let Some((_, state)) = &mut self.experiment {
            if !won {
                next.reported_through = next.reported_through.max(Some(day));
            }
            *state = next;
        }
        Ok(won.then_some(made))
    }

    async fn tally_event(&mut self, event: &StoredEvent, now: f64) {
        let result = match (event.kind, event.item.as_deref()) {
            (EventKind::Click, Some(item)) => self.update_experiment(|state, arm| state.clicked(item, now, arm)).await,
            (EventKind::Purchase, _) => self.update_experiment(|state, arm| state.purchased(now, arm)).await,
            _ => Ok(()),
        };
        if let Err(error) = result {
            // The event itself is stored; only the experiment's tally missed it.
            self.warnings.retain(|w| w.code() != error.code());
            self.warnings.push(error);
        }
    }

    /// Applies `change` to the experiment state and saves it when it changed.
    async fn update_experiment(&mut self, change: impl FnOnce(&mut ExperimentState, Arm)) -> Result<(), LocalRankError> {
        let Some((config, state)) = &mut self.experiment else { return Ok(()) };
        let before = state.clone();
        let arm = state.arm(config);
        change(state, arm);
        if *state == before {
            return Ok(());
        }
        let state = state.clone();
        self.save_experiment(&state).await
    }

    async fn save_experiment(&mut self, state: &ExperimentState) -> Result<(), LocalRankError> {
        let record = state.to_record();
        self.store.apply(Change { set_experiment: Some(&record), ..Change::default() }).await.map(drop)
    }

    /// Erases the shopper's history and the vector cache, on disk and in memory.
    pub async fn forget(&mut self) -> Result<(), LocalRankError> {
        self.store.clear().await?;
        self.events.clear();
        self.vectors.clear();
        self.pool_checked = None;
        // The experiment's coin and tally go too: erasing means everything. The page joins the
        // experiment again (a new coin) when it next opens the engine.
        self.experiment = None;
        Ok(())
    }

    /// All events, oldest first.
    pub fn events(&self) -> &[StoredEvent] {
        &self.events
    }

    /// The last `n` events, oldest first.
    pub fn recent(&self, n: usize) -> &[StoredEvent] {
        &self.events[self.events.len().saturating_sub(n)..]
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn vectors(&self) -> &VectorCache {
        &self.vectors
    }

    pub fn policy(&self) -> RetentionPolicy {
        self.policy
    }

    /// What the engine worked around while opening (unreadable records, …).
    pub fn warnings(&self) -> &[LocalRankError] {
        &self.warnings
    }

    pub fn add_warning(&mut self, warning: LocalRankError) {
        self.warnings.push(warning);
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back (to reopen it, as a new page load would).
    pub fn into_store(self) -> S {
        self.store
    }

    pub fn storage_kind(&self) -> &'static str {
        self.store.kind()
    }

    /// The shopper's data as a self-describing JSON document.
    pub fn export(&self, now: f64) -> HistoryExport {
        HistoryExport::new(self.events.clone(), self.policy, now)
    }
}
