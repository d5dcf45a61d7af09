//! The prepared dataset: per-user event sequences over a dense item index, and its split:
//! leave-one-out (last event = test target, second-to-last = validation target) or next-basket
//! (last basket = test target, the one before = validation target; see [`Protocol`]).
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::item_text::{ItemText, ItemTexts};
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
    /// Next-basket data only: per user, the index in `sequences[u]` where each basket starts
    /// (strictly increasing, the first is 0). Empty for leave-one-out data, and absent from
    /// files written before the next-basket protocol existed, which therefore load unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub basket_starts: Vec<Vec<u32>>,
    /// Per item (indexed like `item_ids`): its catalogue text, when a catalogue was read
    /// ([`Dataset::attach_text`]). Empty without one; absent from older files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item_text: Vec<Option<ItemText>>,
    /// Catalogue products no kept event names (new or never bought): no ID vector can be
    /// learned for them, but the text tower can place them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catalogue_text: Vec<(String, ItemText)>,
}

/// How much of a dataset a catalogue covers ([`Dataset::attach_text`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextCoverage {
    /// Items of the log with catalogue text.
    pub with_text: usize,
    /// Items of the log the catalogue does not describe.
    pub without_text: usize,
    /// Catalogue products the log never names.
    pub catalogue_only: usize,
}

impl std::fmt::Display for TextCoverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = self.with_text + self.without_text;
        let pct = if total == 0 { 0.0 } else { 100.0 * self.with_text as f64 / total as f64 };
        write!(f, "item text: {} of {} items ({pct:.1} %), {} without; {} catalogue products not in the log", self.with_text, total, self.without_text, self.catalogue_only)
    }
}

/// How a prepared dataset is split into training, validation and test targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// One event per target: each user's last event is the test target, the one before the
    /// validation target. Items already in the history are removed from the ranking.
    #[default]
    LeaveOneOut,
    /// One basket per target: each user's last basket is the test target, the one before the
    /// validation target; repeats are kept and history items stay in the ranking.
    NextBasket,
}

impl Protocol {
    /// The name used on the command line, in file names and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::LeaveOneOut => "leave-one-out",
            Protocol::NextBasket => "next-basket",
        }
    }
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

    pub fn protocol(&self) -> Protocol {
        if self.basket_starts.is_empty() {
            Protocol::LeaveOneOut
        } else {
            Protocol::NextBasket
        }
    }

    /// Where `part`'s target starts and ends in the user's sequence: the last (test) or
    /// second-to-last (validation) event or basket.
    fn target_range(&self, user: usize, part: SplitPart) -> std::ops::Range<usize> {
        let len = self.sequences[user].len();
        let back = match part {
            SplitPart::Validation => 2,
            SplitPart::Test => 1,
        };
        match self.basket_starts.get(user) {
            Some(starts) => {
                let b = starts.len() - back;
                let end = starts.get(b + 1).map_or(len, |&e| e as usize);
                starts[b] as usize..end
            }
            None => len - back..len - back + 1,
        }
    }

    /// Events a model may train on: everything before the validation target (leave-one-out:
    /// all but the last two events; next-basket: all but the last two baskets).
    pub fn train_sequence(&self, user: usize) -> &[Event] {
        &self.sequences[user][..self.target_range(user, SplitPart::Validation).start]
    }

    /// The history the model sees and the (first) event it must predict for `part`.
    /// Validation: history = train part, target = second-to-last event (basket).
    /// Test: history = everything before the last event (basket), target = the last one.
    /// The target's timestamp is the ranking time.
    pub fn history_and_target(&self, user: usize, part: SplitPart) -> (&[Event], Event) {
        let s = &self.sequences[user];
        let t = self.target_range(user, part).start;
        (&s[..t], s[t])
    }

    /// The whole target of `part`: one event (leave-one-out) or the basket (next-basket).
    pub fn target_events(&self, user: usize, part: SplitPart) -> &[Event] {
        &self.sequences[user][self.target_range(user, part)]
    }

    /// Number of baskets of a user (next-basket data); 0 for leave-one-out data.
    pub fn num_baskets(&self, user: usize) -> usize {
        self.basket_starts.get(user).map_or(0, Vec::len)
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

    /// `events` as the browser's history store holds them (seqs from 1, milliseconds, the
    /// item's category), so the engine's own code can read a user's history.
    pub fn stored_history(&self, events: &[Event]) -> Vec<localrank_core::StoredEvent> {
        events
            .iter()
            .enumerate()
            .map(|(seq, e)| localrank_core::StoredEvent {
                seq: seq as u32 + 1,
                kind: localrank_core::EventKind::ALL.get(usize::from(e.kind)).copied().unwrap_or(localrank_core::EventKind::View),
                item: Some(self.item_ids[e.item as usize].clone()),
                query: None,
                timestamp: e.ts as f64 * 1000.0,
                category: self.item_category[e.item as usize].clone(),
                price: None,
            })
            .collect()
    }

    /// Gives every item the catalogue describes its text, and keeps the catalogue's other
    /// products (in file order) for the text tower to place.
    pub fn attach_text(&mut self, texts: &ItemTexts) -> TextCoverage {
        self.item_text = self.item_ids.iter().map(|id| texts.get(id).cloned()).collect();
        let with_text = self.item_text.iter().filter(|t| t.is_some()).count();
        let known: std::collections::HashSet<&str> = self.item_ids.iter().map(String::as_str).collect();
        self.catalogue_text = texts.iter().filter(|(id, _)| !known.contains(id)).map(|(id, t)| (id.to_string(), t.clone())).collect();
        let coverage = TextCoverage { with_text, without_text: self.num_items() - with_text, catalogue_only: self.catalogue_text.len() };
        self.notes.push(coverage.to_string());
        coverage
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
        if self.item_category.len() != n || self.item_price.len() != n || (!self.item_text.is_empty() && self.item_text.len() != n) {
            return Err("item attribute tables do not match the item count".into());
        }
        if self.user_ids.len() != self.sequences.len() {
            return Err("user id table does not match the sequence count".into());
        }
        if !self.basket_starts.is_empty() && self.basket_starts.len() != self.sequences.len() {
            return Err("basket table does not match the sequence count".into());
        }
        for (u, s) in self.sequences.iter().enumerate() {
            if let Some(starts) = self.basket_starts.get(u) {
                if starts.len() < 3 {
                    return Err(format!("user {} has {} baskets; next-basket needs at least 3", self.user_ids[u], starts.len()));
                }
                let increasing = starts.first() == Some(&0) && starts.windows(2).all(|w| w[0] < w[1]);
                if !increasing || starts.last().is_some_and(|&l| l as usize >= s.len()) {
                    return Err(format!("user {}'s basket boundaries are not increasing positions within the sequence", self.user_ids[u]));
                }
            }
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
