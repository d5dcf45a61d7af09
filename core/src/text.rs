//! Product text and search queries as hashed tokens: the input of the text tower (issue 11).
//!
//! No vocabulary is downloaded or shipped: words and their character n-grams are hashed into a
//! fixed table, fastText-style, so a product added an hour ago or a query never seen in
//! training still maps to rows the tower has learned (shared sub-words: "tomato" and
//! "tomatoes" share most of their n-grams). The trainer and the browser tokenize with this one
//! module, so a text means the same rows in both.
//!
//! - words: maximal runs of word characters (letters and digits of any script; [`is_word_char`]),
//!   lower-cased ([`fold_case`]);
//! - each word is one token, and so is each character n-gram (`min_n..=max_n` characters) of
//!   the word wrapped in `<` `>`, so prefixes and suffixes are marked;
//! - a token's row is FNV-1a (64-bit) of its UTF-8 bytes, with words and n-grams hashed in
//!   different namespaces, modulo the table size.
use serde::{Deserialize, Serialize};
use thiserror::Error;

mod chars;
pub use chars::{fold_case, is_word_char};

/// The longest text or query accepted, in UTF-8 bytes. A product page's description can be
/// longer: the trainer keeps the first [`MAX_TEXT_BYTES`] (at a character boundary) and the
/// engine rejects longer input with [`TextError::TooLong`], so both see at most this much.
pub const MAX_TEXT_BYTES: usize = 1024;

/// A text the engine cannot embed. `field` names where it came from (`items[3].text`,
/// `query`), so a storefront developer sees which input to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TextError {
    #[error("{field} is empty: give the product's title/category words or the shopper's query")]
    Empty { field: String },
    #[error("{field} is {bytes} bytes; at most {max} are accepted (send the title and category, not the whole page)", max = MAX_TEXT_BYTES)]
    TooLong { field: String, bytes: usize },
    #[error("{field} has no letters or digits to read")]
    NoWords { field: String },
}

/// How text becomes rows of the tower's hashed embedding table. Written to model.json by the
/// trainer; the defaults are what it uses unless tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextHashing {
    /// Rows of the hashed table.
    pub buckets: u32,
    /// Shortest character n-gram (0 with `max_n` 0: whole words only).
    pub min_n: u8,
    /// Longest character n-gram.
    pub max_n: u8,
}

impl Default for TextHashing {
    fn default() -> TextHashing {
        TextHashing { buckets: 1 << 14, min_n: 3, max_n: 4 }
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(seed: u64, bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(seed, |h, b| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME))
}

impl TextHashing {
    /// Why this configuration cannot be used, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.buckets == 0 {
            return Err("buckets must be at least 1".into());
        }
        if self.max_n < self.min_n || (self.min_n == 0 && self.max_n != 0) {
            return Err(format!("n-gram range {}..={} is empty; use min_n <= max_n, both 0 for words only", self.min_n, self.max_n));
        }
        Ok(())
    }

    /// Appends the table rows of `text`'s tokens to `out` (in text order; a repeated word
    /// counts again, as in mean pooling over the words of a sentence). Returns how many words
    /// it read. Never fails: see [`check_text`] for the engine's input rules.
    pub fn token_rows(&self, text: &str, out: &mut Vec<u32>) -> usize {
        let buckets = u64::from(self.buckets.max(1));
        let mut words = 0;
        let mut chars: Vec<char> = Vec::new();
        for word in split_words(text) {
            words += 1;
            chars.clear();
            chars.push('<');
            chars.extend(word.chars().map(fold_case));
            chars.push('>');
            let lowered = &chars[1..chars.len() - 1];
            out.push((fnv1a(FNV_OFFSET, utf8(lowered)) % buckets) as u32);
            if self.max_n == 0 {
                continue;
            }
            let ngram_seed = fnv1a(FNV_OFFSET, *b"#");
            for n in usize::from(self.min_n)..=usize::from(self.max_n) {
                // A word shorter than n (with its markers) has no n-gram of that size; a word whose
                // marked form is exactly n long would repeat the word token, so skip that too.
                if chars.len() <= n {
                    break;
                }
                for gram in chars.windows(n) {
                    out.push((fnv1a(ngram_seed, utf8(gram)) % buckets) as u32);
                }
            }
        }
        words
    }
}

/// The words of a text as the tower reads them: maximal runs of word characters, lower-cased
/// (also what the trainer's TF-IDF content baseline counts).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    split_words(text).map(|w| w.chars().map(fold_case).collect())
}

fn split_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !is_word_char(c)).filter(|w| !w.is_empty())
}

fn utf8(chars: &[char]) -> impl Iterator<Item = u8> + '_ {
    chars.iter().flat_map(|c| {
        let mut buf = [0u8; 4];
        let len = c.encode_utf8(&mut buf).len();
        buf.into_iter().take(len)
    })
}

/// The engine's rules for a text or query it is asked to embed: not empty, at most
/// [`MAX_TEXT_BYTES`], at least one word. Returns the text trimmed.
pub fn check_text<'a>(field: &str, text: &'a str) -> Result<&'a str, TextError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(TextError::Empty { field: field.to_string() });
    }
    if trimmed.len() > MAX_TEXT_BYTES {
        return Err(TextError::TooLong { field: field.to_string(), bytes: trimmed.len() });
    }
    if !trimmed.chars().any(is_word_char) {
        return Err(TextError::NoWords { field: field.to_string() });
    }
    Ok(trimmed)
}

/// `text` cut to at most [`MAX_TEXT_BYTES`] at a character boundary (the trainer's rule for
/// long catalogue descriptions).
pub fn truncate_text(text: &str) -> &str {
    if text.len() <= MAX_TEXT_BYTES {
        return text;
    }
    let mut end = MAX_TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(h: &TextHashing, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        h.token_rows(text, &mut out);
        out
    }

    #[test]
    fn words_are_case_and_punctuation_insensitive() {
        let h = TextHashing::default();
        assert_eq!(rows(&h, "Organic Tomatoes, 500g"), rows(&h, "organic   TOMATOES 500G!"));
        assert_ne!(rows(&h, "organic tomatoes"), rows(&h, "organic potatoes"));
    }

    #[test]
    fn counts_words_and_their_ngrams() {
        // "milk" is "<milk>": 4 trigrams + 3 four-grams + the word itself.
        let h = TextHashing { buckets: 1 << 20, min_n: 3, max_n: 4 };
        let mut out = Vec::new();
        assert_eq!(h.token_rows("Milk", &mut out), 1);
        assert_eq!(out.len(), 1 + 4 + 3);
        // Words only.
        let words = TextHashing { buckets: 1 << 20, min_n: 0, max_n: 0 };
        let mut out = Vec::new();
        assert_eq!(words.token_rows("whole milk, 1 l", &mut out), 4);
        assert_eq!(out.len(), 4);
        // A one-letter word's marked form "<l>" is 3 characters: no n-gram repeats it.
        let mut out = Vec::new();
        h.token_rows("l", &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn related_words_share_ngram_rows() {
        let h = TextHashing { buckets: 1 << 20, min_n: 3, max_n: 4 };
        let a: std::collections::HashSet<u32> = rows(&h, "tomato").into_iter().collect();
        let b: std::collections::HashSet<u32> = rows(&h, "tomatoes").into_iter().collect();
        let c: std::collections::HashSet<u32> = rows(&h, "biscuit").into_iter().collect();
        assert!(a.intersection(&b).count() >= 6, "{:?} {:?}", a, b);
        assert_eq!(a.intersection(&c).count(), 0);
    }

    #[test]
    fn rows_stay_in_the_table_and_are_stable() {
        let h = TextHashing { buckets: 97, min_n: 2, max_n: 5 };
        let r = rows(&h, "Crème fraîche — 200 ml, Ärmel ΣΊΣΥΦΟΣ");
        assert!(!r.is_empty());
        assert!(r.iter().all(|&x| x < 97));
        // The hash is part of the model format: a change would silently scramble every shipped
        // text tower. These rows are FNV-1a as documented in docs/model-format.md.
        let fixed = TextHashing { buckets: 1 << 14, min_n: 0, max_n: 0 };
        assert_eq!(rows(&fixed, "milk"), vec![(fnv1a(FNV_OFFSET, *b"milk") % (1 << 14)) as u32]);
        assert_eq!(fnv1a(FNV_OFFSET, *b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn checks_name_the_field() {
        assert_eq!(check_text("query", "  milk "), Ok("milk"));
        assert_eq!(check_text("query", "   "), Err(TextError::Empty { field: "query".into() }));
        assert_eq!(check_text("items[2].text", "!!!"), Err(TextError::NoWords { field: "items[2].text".into() }));
        let long = "a".repeat(MAX_TEXT_BYTES + 1);
        let err = check_text("items[0].text", &long).unwrap_err();
        assert!(err.to_string().contains("items[0].text is 1025 bytes"), "{err}");
        assert!(TextHashing { buckets: 0, ..Default::default() }.check().is_err());
        assert!(TextHashing { buckets: 8, min_n: 4, max_n: 3 }.check().is_err());
        assert!(TextHashing::default().check().is_ok());
    }

    #[test]
    fn words_match_the_token_split() {
        let w: Vec<String> = words("Crème-Fraîche 200ML").collect();
        assert_eq!(w, ["crème", "fraîche", "200ml"]);
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        let s = "é".repeat(MAX_TEXT_BYTES); // 2 bytes each
        let t = truncate_text(&s);
        assert!(t.len() <= MAX_TEXT_BYTES && t.len() >= MAX_TEXT_BYTES - 1);
        assert!(t.chars().all(|c| c == 'é'));
        assert_eq!(truncate_text("short"), "short");
    }
}
