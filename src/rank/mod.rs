//! Ranking the homepage: cosine relevance against the shopper's intent, blended with the
//! server's score and category affinity, diversified (MMR), with slot rules and explanations.

pub mod score;

pub use score::{cosine, cosine_scores};
