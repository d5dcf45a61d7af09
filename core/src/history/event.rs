//! What a shopper did: the event kinds, the event a storefront records, and the event as stored.

use serde::{Deserialize, Serialize};
#[cfg(feature = "tsify")]
use tsify::Tsify;

use crate::error::LocalRankError;

/// Longest item id, category or search query accepted, in bytes. Ids are keys, not documents.
pub const MAX_TEXT_BYTES: usize = 512;

/// The kinds of event localrank understands. This enum is the one definition: the TypeScript
/// union, the model's event-kind vocabulary (its embedding rows, in `ALL` order) and the
/// validation messages all come from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    View,
    Click,
    Cart,
    Purchase,
    Favorite,
    /// A search: carries a `query` instead of an `item`.
    Search,
}

impl EventKind {
    /// Every kind, in the model's vocabulary order.
    pub const ALL: [EventKind; 6] = [
        EventKind::View,
        EventKind::Click,
        EventKind::Cart,
        EventKind::Purchase,
        EventKind::Favorite,
        EventKind::Search,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::View => "view",
            EventKind::Click => "click",
            EventKind::Cart => "cart",
            EventKind::Purchase => "purchase",
            EventKind::Favorite => "favorite",
            EventKind::Search => "search",
        }
    }

    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// Position in [`EventKind::ALL`]: the row of this kind in the model's embedding table.
    pub fn index(self) -> usize {
        EventKind::ALL.iter().position(|&kind| kind == self).unwrap_or(0)
    }

    /// Whether events of this kind are about a catalogue item (all but `search`).
    pub fn has_item(self) -> bool {
        self != EventKind::Search
    }

    /// The kinds as a human list, for error messages: "view, click, …".
    pub fn names() -> String {
        EventKind::ALL.map(EventKind::as_str).join(", ")
    }
}

/// An event as the storefront records it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct EventInput {
    // Optional in Rust only so that a missing kind gets a clear error rather than a parse failure.
    #[cfg_attr(feature = "tsify", tsify(type = "EventKind"))]
    pub kind: Option<EventKind>,
    /// The catalogue item's id; required for every kind but `search`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub item: Option<String>,
    /// The search text; required for `search`, not allowed otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub query: Option<String>,
    /// When it happened, in milliseconds since the Unix epoch. Defaults to now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub timestamp: Option<f64>,
    /// The item's public vector (as sent in the candidate pool), if the page has it at hand.
    /// It is cached per item, not per event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "number[] | Float32Array"))]
    pub vector: Option<Vec<f32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub price: Option<f64>,
}

/// A validated event, before the store gives it a sequence number. Serialized, it is the
/// stored record minus `seq` (which IndexedDB's key generator fills in).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewEvent {
    pub kind: EventKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    pub timestamp: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
}

/// An event as stored and as returned by `history()`. `seq` orders events recorded in the
/// same millisecond; history is always in (`timestamp`, `seq`) order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    pub seq: u32,
    pub kind: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub item: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub query: Option<String>,
    pub timestamp: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub price: Option<f64>,
}

impl StoredEvent {
    pub fn from_new(seq: u32, event: NewEvent) -> StoredEvent {
        StoredEvent {
            seq,
            kind: event.kind,
            item: event.item,
            query: event.query,
            timestamp: event.timestamp,
            category: event.category,
            price: event.price,
        }
    }

    /// The sort key of history: time, then arrival order.
    pub fn order_key(&self) -> (f64, u32) {
        (self.timestamp, self.seq)
    }

    /// Checks a record read back from storage; a record that fails is reported as corrupt.
    pub fn check(&self) -> Result<(), String> {
        if !self.timestamp.is_finite() || self.timestamp < 0.0 {
            return Err(format!("record {} has timestamp {}", self.seq, self.timestamp));
        }
        if self.kind.has_item() != self.item.is_some() {
            return Err(format!("record {} of kind {} has no item", self.seq, self.kind.as_str()));
        }
        Ok(())
    }
}

/// What validation needs to know besides the event itself.
#[derive(Debug, Clone, Copy)]
pub struct ValidationContext {
    /// Current time in ms since the epoch (the default timestamp).
    pub now: f64,
    /// The item-vector dimension already fixed for this engine, if any.
    pub dim: Option<usize>,
}

/// A validated event plus the item vector it carried, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedEvent {
    pub event: NewEvent,
    pub vector: Option<Vec<f32>>,
}

impl EventInput {
    /// Checks every field and names the first one that is wrong.
    pub fn validate(self, ctx: ValidationContext) -> Result<ValidatedEvent, LocalRankError> {
        let kind = self
            .kind
            .ok_or_else(|| invalid("kind", format!("is required: one of {}", EventKind::names())))?;

        let item = match (kind.has_item(), self.item) {
            (true, Some(item)) => Some(check_text("item", item)?),
            (true, None) => return Err(invalid("item", format!("is required for `{}` events", kind.as_str()))),
            (false, Some(_)) => return Err(invalid("item", "is not allowed on `search` events (use `query`)")),
            (false, None) => None,
        };
        let query = match (kind, self.query) {
            (EventKind::Search, Some(query)) => Some(check_text("query", query)?),
            (EventKind::Search, None) => return Err(invalid("query", "is required for `search` events")),
            (_, Some(_)) => return Err(invalid("query", "is only allowed on `search` events")),
            (_, None) => None,
        };

        let timestamp = match self.timestamp {
            None => ctx.now,
            Some(t) if !t.is_finite() => return Err(invalid("timestamp", format!("must be a finite number of ms, got {t}"))),
            Some(t) if t < 0.0 => return Err(invalid("timestamp", format!("must be ms since 1970, got {t}"))),
            Some(t) => t,
        };

        let category = self.category.map(|c| check_text("category", c)).transpose()?;
        if let Some(problem) = self.price.and_then(price_problem) {
            return Err(invalid("price", problem));
        }
        let price = self.price;

        let vector = match self.vector {
            None => None,
            Some(_) if !kind.has_item() => return Err(invalid("vector", "is not allowed on `search` events")),
            Some(v) => Some(check_vector(v, ctx.dim).map_err(|reason| invalid("vector", reason))?),
        };

        Ok(ValidatedEvent { event: NewEvent { kind, item, query, timestamp, category, price }, vector })
    }
}

/// What is wrong with a price, if anything: shared by events and pool items, which both
/// carry one.
pub(crate) fn price_problem(price: f64) -> Option<String> {
    (!price.is_finite() || price < 0.0).then(|| format!("must be a finite, non-negative number, got {price}"))
}

fn invalid(field: &str, reason: impl Into<String>) -> LocalRankError {
    LocalRankError::invalid_event(field, reason)
}

fn check_text(field: &str, text: String) -> Result<String, LocalRankError> {
    if text.trim().is_empty() {
        return Err(LocalRankError::invalid_event(field, "must be a non-empty string"));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(LocalRankError::invalid_event(
            field,
            format!("is {} bytes long; the limit is {MAX_TEXT_BYTES}", text.len()),
        ));
    }
    Ok(text)
}

/// Checks an item vector's length and values. Shared by events and (later) candidate pools.
pub fn check_vector(vector: Vec<f32>, dim: Option<usize>) -> Result<Vec<f32>, String> {
    if vector.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(dim) = dim
        && vector.len() != dim
    {
        return Err(format!("has {} values but this engine's item vectors have {dim}", vector.len()));
    }
    if let Some(i) = vector.iter().position(|x| !x.is_finite()) {
        return Err(format!("has a non-finite value at index {i} ({})", crate::format::js_name(vector[i])));
    }
    Ok(vector)
}
