//! Event kinds in store logs. The kinds themselves are the engine's [`EventKind`] (one
//! definition: its `ALL` order is the model's vocabulary, the kind embedding's row i belongs to
//! `EventKind::ALL[i]`); this module adds the synonyms that real logs use for them.
pub use localrank_core::EventKind;

/// A log's event-kind cell: the vocabulary names and a few common synonyms, any case.
/// Stricter than nothing, looser than the browser API (which takes the names only).
pub fn parse_log_kind(s: &str) -> Option<EventKind> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_synonyms_map_to_the_engines_kinds() {
        assert_eq!(parse_log_kind(" AddToCart "), Some(EventKind::Cart));
        assert_eq!(parse_log_kind("favourite"), Some(EventKind::Favorite));
        assert_eq!(parse_log_kind("transaction"), Some(EventKind::Purchase));
        assert_eq!(parse_log_kind("refund"), None);
        // Every vocabulary name parses to itself.
        for kind in EventKind::ALL {
            assert_eq!(parse_log_kind(kind.as_str()), Some(kind));
        }
    }
}
