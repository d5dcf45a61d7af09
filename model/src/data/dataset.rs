//! The prepared dataset: per-user event sequences over a dense item index, and the
//! leave-one-out split (last event = test target, second-to-last = validation target).
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{io_err, ModelError, Result};

/// One interaction. `item` indexes [`Dataset::item_ids`]; `kind` indexes `EventKind::ALL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub item: u32,
    pub kind: u8,
    pub ts: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Dataset {
    pub name: String,
    /// Original item ids; position = dense item index.
    pub item_ids: Vec<String>,
    pub item_category: Vec<Option<String>>,
    pub item_price: Vec<Option<f32>>,
    pub user_ids: Vec<String>,
    /// One chronologically ordered sequence per user (ties keep input row order).
    pub sequences: Vec<Vec<Event>>,
    /// How the data was prepared, for reports.
    pub notes: Vec<String>,
}

/// Which leave-one-out part a history/target pair belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitPart {
    Validation,
    Test,
}

impl Dataset {
    pub fn num_items(&self) -> usize {
        self.item_ids.len()
    }

    pub fn num_users(&self) -> usize {
        self.sequences.len()
    }

    pub fn num_events(&self) -> usize {
        self.sequences.iter().map(Vec::len).sum()
    }

    /// Events a model may train on: everything except the last two of each user.
    pub fn train_sequence(&self, user: usize) -> &[Event] {
        let s = &self.sequences[user];
        &s[..s.len().saturating_sub(2)]
    }

    /// The history the model sees and the event it must predict for `part`.
    /// Validation: history = train part, target = second-to-last event.
    /// Test: history = everything before the last event, target = the last event.
    pub fn history_and_target(&self, user: usize, part: SplitPart) -> (&[Event], Event) {
        let s = &self.sequences[user];
        let t = match part {
            SplitPart::Validation => s.len() - 2,
            SplitPart::Test => s.len() - 1,
        };
        (&s[..t], s[t])
    }

    /// Popularity of each item counted over training events only (no leakage of targets).
    pub fn train_popularity(&self) -> Vec<u32> {
        let mut pop = vec![0u32; self.num_items()];
        for u in 0..self.num_users() {
            for e in self.train_sequence(u) {
                pop[e.item as usize] += 1;
            }
        }
        pop
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        let file = std::fs::File::create(path).map_err(io_err(path))?;
        serde_json::to_writer(std::io::BufWriter::new(file), self).map_err(|e| ModelError::Json { path: path.to_path_buf(), message: e.to_string() })
    }

    pub fn load(path: &Path) -> Result<Dataset> {
        let file = std::fs::File::open(path).map_err(io_err(path))?;
        let ds: Dataset = serde_json::from_reader(std::io::BufReader::new(file)).map_err(|e| ModelError::Json { path: path.to_path_buf(), message: e.to_string() })?;
        ds.validate().map_err(|m| ModelError::Json { path: path.to_path_buf(), message: m })?;
        Ok(ds)
    }

    /// Checks the invariants the trainer and evaluator rely on.
    pub fn validate(&self) -> Result<(), String> {
        let n = self.num_items();
        if self.item_category.len() != n || self.item_price.len() != n {
            return Err("item attribute tables do not match the item count".into());
        }
        if self.user_ids.len() != self.sequences.len() {
            return Err("user id table does not match the sequence count".into());
        }
        for (u, s) in self.sequences.iter().enumerate() {
            if s.len() < 3 {
                return Err(format!("user {} has {} events; leave-one-out needs at least 3", self.user_ids[u], s.len()));
            }
            if s.iter().any(|e| e.item as usize >= n || e.kind as usize >= 6) {
                return Err(format!("user {} has an event with an out-of-range item or kind", self.user_ids[u]));
            }
            if s.windows(2).any(|w| w[1].ts < w[0].ts) {
                return Err(format!("user {}'s events are not in time order", self.user_ids[u]));
            }
        }
        Ok(())
    }
}
