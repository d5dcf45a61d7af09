//! Non-sequential baselines scored by the same evaluation code as localrank: most-popular,
//! item-kNN (cosine over co-occurrence), BPR matrix factorisation, and the next-basket
//! frequency baselines (G-, P-, GP-TopFreq), and the TF-IDF content baseline. All train on the training part of each user's
//! sequence only.
pub mod bpr;
pub mod item_knn;
pub mod popularity;
pub mod tfidf;
pub mod topfreq;

pub use bpr::{Bpr, BprConfig};
pub use item_knn::{cooccurrence_neighbours, ItemKnn, EXPORT_NEIGHBOURS};
pub use popularity::Popularity;
pub use tfidf::TfIdf;
pub use topfreq::{TopFreq, TopFreqKind};
