//! The in-memory store: the native implementation, and the browser's fallback when IndexedDB
//! cannot be used. Nothing survives the process (or the page).

use crate::hash::FastHashMap;

use super::event::StoredEvent;
use super::store::{Change, HistoryStore, Snapshot};
use super::vectors::{CachedVector, VectorCache};
use crate::error::LocalRankError;

#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    /// In `seq` order (appends take the next seq).
    events: Vec<StoredEvent>,
    vectors: FastHashMap<String, CachedVector>,
    dim: Option<usize>,
    experiment: Option<String>,
    next_seq: u32,
    /// Records that a test planted as unreadable, to exercise the corrupt-record path.
    corrupt: Vec<String>,
    /// A simulated storage quota, in events, to exercise the storage-full path.
    quota: Option<usize>,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore { next_seq: 1, ..Default::default() }
    }

    /// A store holding what an engine had in memory when its persistent store went away.
    pub fn seeded(events: &[StoredEvent], vectors: &VectorCache) -> Self {
        let mut store = MemoryStore::new();
        for event in events {
            store.events.push(event.clone());
            store.next_seq = store.next_seq.max(event.seq + 1);
        }
        crate::sort::sort_by_key(&mut store.events, |e| e.seq);
        store.events.dedup_by_key(|e| e.seq);
        for id in vectors.ids() {
            if let Some(entry) = vectors.get(&id) {
                store.vectors.insert(id, entry.clone());
            }
        }
        store.dim = vectors.dim();
        store
    }

    /// A store that fails like a full disk once it would hold more than `events` events.
    pub fn with_quota(events: usize) -> Self {
        MemoryStore { quota: Some(events), ..MemoryStore::new() }
    }

    fn position(&self, seq: u32) -> Option<usize> {
        self.events.binary_search_by_key(&seq, |e| e.seq).ok()
    }

    /// Plants an unreadable record, as a damaged database would contain.
    pub fn insert_corrupt(&mut self, description: &str) {
        self.corrupt.push(description.to_owned());
    }
}

impl HistoryStore for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn load(&mut self) -> Result<Snapshot, LocalRankError> {
        Ok(Snapshot {
            events: self.events.clone(),
            vectors: self.vectors.values().cloned().collect(),
            dim: self.dim,
            corrupt: self.corrupt.clone(),
            experiment: self.experiment.clone(),
        })
    }

    async fn apply(&mut self, change: Change<'_>) -> Result<Option<u32>, LocalRankError> {
        // All or nothing, like an IndexedDB transaction.
        if let Some(quota) = self.quota {
            let removed = change.remove_events.iter().filter(|s| self.position(**s).is_some()).count();
            let after = self.events.len() - removed + usize::from(change.append.is_some());
            if after > quota {
                return Err(LocalRankError::StorageFull {
                    operation: "save the history".into(),
                    reason: format!("the simulated quota of {quota} events is reached"),
                });
            }
        }
        for seq in change.remove_events {
            if let Some(i) = self.position(*seq) {
                self.events.remove(i);
            }
        }
        for id in change.remove_vectors {
            self.vectors.remove(id);
        }
        for entry in change.put_vectors {
            self.vectors.insert(entry.id.clone(), entry.clone());
        }
        if let Some(state) = change.set_experiment {
            self.experiment = Some(state.to_owned());
        }
        if let Some(dim) = change.set_dim {
            self.dim = Some(dim);
        }
        let seq = change.append.map(|event| {
            let seq = self.next_seq.max(1);
            self.next_seq = seq + 1;
            // seq is above every stored one, so the Vec stays in seq order.
            self.events.push(StoredEvent::from_new(seq, event.clone()));
            seq
        });
        Ok(seq)
    }

    async fn clear(&mut self) -> Result<(), LocalRankError> {
        let next_seq = self.next_seq;
        *self = MemoryStore { next_seq, quota: self.quota, ..MemoryStore::new() };
        Ok(())
    }
}
