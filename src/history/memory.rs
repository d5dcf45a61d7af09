//! The in-memory store: the native implementation, and the browser's fallback when IndexedDB
//! cannot be used. Nothing survives the process (or the page).

use std::collections::BTreeMap;

use super::event::StoredEvent;
use super::store::{Change, HistoryStore, Snapshot};
use super::vectors::CachedVector;
use crate::error::LocalRankError;

#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    events: BTreeMap<u32, StoredEvent>,
    vectors: BTreeMap<String, CachedVector>,
    dim: Option<usize>,
    next_seq: u32,
    /// Records that a test planted as unreadable, to exercise the corrupt-record path.
    corrupt: Vec<String>,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore { next_seq: 1, ..Default::default() }
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
            events: self.events.values().cloned().collect(),
            vectors: self.vectors.values().cloned().collect(),
            dim: self.dim,
            corrupt: self.corrupt.clone(),
        })
    }

    async fn apply(&mut self, change: Change<'_>) -> Result<Option<u32>, LocalRankError> {
        for seq in change.remove_events {
            self.events.remove(seq);
        }
        for id in change.remove_vectors {
            self.vectors.remove(id);
        }
        for entry in change.put_vectors {
            self.vectors.insert(entry.id.clone(), entry.clone());
        }
        if let Some(dim) = change.set_dim {
            self.dim = Some(dim);
        }
        let seq = change.append.map(|event| {
            let seq = self.next_seq.max(1);
            self.next_seq = seq + 1;
            self.events.insert(seq, StoredEvent::from_new(seq, event.clone()));
            seq
        });
        Ok(seq)
    }

    async fn clear(&mut self) -> Result<(), LocalRankError> {
        let next_seq = self.next_seq;
        *self = MemoryStore { next_seq, ..MemoryStore::new() };
        Ok(())
    }
}
