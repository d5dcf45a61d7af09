//! The event-kind vocabulary. Its order is part of the model format: the kind embedding's
//! row i belongs to `EventKind::ALL[i]`.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    View = 0,
    Click = 1,
    Cart = 2,
    Purchase = 3,
    Favorite = 4,
    Search = 5,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::View,
        EventKind::Click,
        EventKind::Cart,
        EventKind::Purchase,
        EventKind::Favorite,
        EventKind::Search,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventKind::View => "view",
            EventKind::Click => "click",
            EventKind::Cart => "cart",
            EventKind::Purchase => "purchase",
            EventKind::Favorite => "favorite",
            EventKind::Search => "search",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Accepts the vocabulary names and a few common synonyms found in store logs.
    pub fn parse(s: &str) -> Option<EventKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "view" | "pageview" | "impression" | "detail" => Some(EventKind::View),
            "click" => Some(EventKind::Click),
            "cart" | "addtocart" | "add_to_cart" | "basket" => Some(EventKind::Cart),
            "purchase" | "buy" | "order" | "transaction" => Some(EventKind::Purchase),
            "favorite" | "favourite" | "wishlist" | "like" => Some(EventKind::Favorite),
            "search" => Some(EventKind::Search),
            _ => None,
        }
    }

    pub fn from_index(i: usize) -> Option<EventKind> {
        Self::ALL.get(i).copied()
    }
}

pub fn vocabulary() -> Vec<&'static str> {
    EventKind::ALL.iter().map(|k| k.name()).collect()
}
