//! Interaction data: reading raw logs, preparing training sequences, and the prepared dataset.
pub mod dataset;
pub mod event_kind;
pub mod item_text;
pub mod prepare;
pub mod readers;
pub mod rebuy;
pub mod synth;
pub mod timestamp;

pub use dataset::{Dataset, Event, Protocol, SplitPart};
pub use event_kind::EventKind;
pub use item_text::{read_item_texts, ItemText, ItemTexts};
pub use prepare::{prepare, Dedupe, PrepareOptions};
pub use readers::{Malformed, RawEvent, RawLog, RowFields};
