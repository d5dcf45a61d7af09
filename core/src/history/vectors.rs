//! The item-vector cache: id → public item vector (+ category), filled from recorded events and
//! candidate pools so that history items can be encoded later, even when the page that showed
//! them is long gone. Bounded; the least recently used entry goes first.

use crate::hash::FastHashMap;

use serde::{Deserialize, Serialize};

/// One cached item, as persisted. `used` is a logical clock: larger = more recently used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedVector {
    pub id: String,
    pub vector: Vec<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub used: u64,
}

#[derive(Debug, Clone)]
pub struct VectorCache {
    capacity: usize,
    dim: Option<usize>,
    entries: FastHashMap<String, CachedVector>,
    clock: u64,
    /// How many times entries were taken out (evicted or cleared): a reader that remembered
    /// what the cache held can tell whether it may still hold it.
    removals: u64,
}

/// What an insert changed, for the store to persist.
#[derive(Debug, Default, PartialEq)]
pub struct CacheUpdate {
    pub put: Vec<CachedVector>,
    pub evicted: Vec<String>,
}

impl VectorCache {
    pub fn new(capacity: usize, dim: Option<usize>) -> Self {
        VectorCache { capacity: capacity.max(1), dim, entries: crate::hash::map(), clock: 0, removals: 0 }
    }

    /// Rebuilds the cache from persisted entries. Entries of another dimension than `dim` (a
    /// model change) and entries beyond capacity are returned for deletion.
    pub fn restore(&mut self, stored: Vec<CachedVector>) -> Vec<String> {
        let mut stale = Vec::new();
        let mut stored = stored;
        crate::sort::sort_by_key(&mut stored, |e| e.used);
        for entry in stored {
            if self.dim.is_some_and(|dim| entry.vector.len() != dim) || entry.vector.is_empty() {
                stale.push(entry.id);
                continue;
            }
            self.dim.get_or_insert(entry.vector.len());
            self.clock = self.clock.max(entry.used);
            self.place(entry);
        }
        stale.extend(self.evict_overflow());
        stale
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn ids(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    pub fn dim(&self) -> Option<usize> {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&CachedVector> {
        self.entries.get(id)
    }

    /// Inserts or refreshes entries (marking them most recently used). Applied in memory before
    /// the store persists it: if that write fails the cache is merely ahead of the disk, which
    /// costs nothing (it is a cache), whereas history itself is only changed after a write.
    pub fn insert(&mut self, items: Vec<(String, Vec<f32>, Option<String>)>) -> CacheUpdate {
        let mut update = CacheUpdate::default();
        for (id, vector, category) in items {
            self.dim.get_or_insert(vector.len());
            self.clock += 1;
            let entry = CachedVector { id, vector, category, used: self.clock };
            update.put.push(entry.clone());
            self.place(entry);
        }
        let evicted = self.evict_overflow();
        update.put.retain(|e| !evicted.contains(&e.id));
        update.evicted = evicted;
        update
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.removals += 1;
    }

    /// Changes whenever entries are taken out (evicted or cleared); never goes back.
    pub fn removals(&self) -> u64 {
        self.removals
    }

    fn place(&mut self, entry: CachedVector) {
        self.entries.insert(entry.id.clone(), entry);
    }

    /// Drops the least recently used entries beyond capacity. One sort per overflowing batch
    /// (not an ordered index kept on every insert): eviction is rare, and an ordered map's
    /// code is a noticeable share of the shipped wasm.
    fn evict_overflow(&mut self) -> Vec<String> {
        let overflow = self.entries.len().saturating_sub(self.capacity);
        if overflow == 0 {
            return Vec::new();
        }
        let mut oldest: Vec<(u64, &String)> = self.entries.values().map(|e| (e.used, &e.id)).collect();
        crate::sort::sort_by_key(&mut oldest, |&(used, _)| used);
        let oldest: Vec<(u64, String)> = oldest[..overflow].iter().map(|&(used, id)| (used, id.clone())).collect();
        for (_, id) in &oldest {
            self.entries.remove(id);
        }
        self.removals += 1;
        oldest.into_iter().map(|(_, id)| id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str) -> (String, Vec<f32>, Option<String>) {
        (id.to_owned(), vec![1.0, 0.0], None)
    }

    #[test]
    fn evicts_least_recently_used() {
        let mut cache = VectorCache::new(2, None);
        cache.insert(vec![item("a"), item("b")]);
        cache.insert(vec![item("a")]); // a is now newer than b
        let update = cache.insert(vec![item("c")]);
        assert_eq!(update.evicted, vec!["b".to_owned()]);
        assert!(cache.get("a").is_some() && cache.get("c").is_some() && cache.get("b").is_none());
    }

    #[test]
    fn restore_keeps_order_and_drops_other_dimensions() {
        let mut cache = VectorCache::new(2, Some(2));
        let stale = cache.restore(vec![
            CachedVector { id: "old".into(), vector: vec![1.0, 2.0], category: None, used: 1 },
            CachedVector { id: "wrong".into(), vector: vec![1.0, 2.0, 3.0], category: None, used: 5 },
            CachedVector { id: "mid".into(), vector: vec![1.0, 2.0], category: None, used: 2 },
            CachedVector { id: "new".into(), vector: vec![1.0, 2.0], category: None, used: 3 },
        ]);
        assert_eq!(stale, vec!["wrong".to_owned(), "old".to_owned()]);
        let update = cache.insert(vec![item("x")]);
        assert_eq!(update.evicted, vec!["mid".to_owned()]);
        assert!(update.put[0].used > 3, "the clock continues after the restored entries");
    }

    #[test]
    fn an_item_inserted_and_evicted_in_one_batch_is_not_written() {
        let mut cache = VectorCache::new(1, None);
        let update = cache.insert(vec![item("a"), item("b")]);
        assert_eq!(update.evicted, vec!["a".to_owned()]);
        assert_eq!(update.put.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), vec!["b"]);
    }
}
