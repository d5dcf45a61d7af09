//! "Search steers" (issue 11, item 5): does a search move the homepage toward what the shopper
//! wants? For each test user whose target item has category words, a search for those words
//! (never the title) is appended to the history, and the target's rank over the whole
//! catalogue is compared with the rank from the same history without it.
use burn::tensor::Device;
use localrank_core::text::TextHashing;
use serde::{Deserialize, Serialize};

use super::{evaluate_ranks, EvalOptions, Scorer};
use crate::data::{Dataset, Event, EventKind, SplitPart};
use crate::encoder::{make_batch, IntentEncoder};
use crate::train::{history_row, EncoderScorer};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchSteers {
    /// Test users whose target has category words (the ones measured).
    pub users: usize,
    /// Median 1-based rank of the target without and with the search.
    pub median_rank_without: usize,
    pub median_rank_with: usize,
    /// Users whose target rose, fell.
    pub rose: usize,
    pub fell: usize,
    #[serde(rename = "ndcg@10_without")]
    pub ndcg10_without: f64,
    #[serde(rename = "ndcg@10_with")]
    pub ndcg10_with: f64,
}

/// The encoder's scores after each user's history plus one search for the target's category.
struct WithSearch<'a> {
    model: &'a IntentEncoder,
    device: Device,
    hashing: TextHashing,
}

/// The index of `search` in the kind vocabulary.
fn search_kind() -> u8 {
    EventKind::ALL.iter().position(|&k| k == EventKind::Search).unwrap_or(0) as u8
}

fn category_query(ds: &Dataset, item: u32) -> Option<&str> {
    ds.item_text.get(item as usize).and_then(Option::as_ref).and_then(|t| t.category_words()).filter(|q| q.chars().any(localrank_core::text::is_word_char))
}

impl Scorer for WithSearch<'_> {
    fn score(&self, ds: &Dataset, users: &[usize], part: SplitPart) -> Vec<Vec<f32>> {
        let mut rows = Vec::with_capacity(users.len());
        let mut queries = Vec::with_capacity(users.len());
        for &u in users {
            let (hist, target) = ds.history_and_target(u, part);
            let mut events = hist.to_vec();
            // The search happens just before the target event; its item field is unused (the
            // step's input is the query's text vector).
            events.push(Event { item: hist.last().map_or(0, |e| e.item), kind: search_kind(), ts: target.ts });
            rows.push(history_row(&events, target.ts, self.model.window_len(events.len())));
            let mut q = Vec::new();
            if let Some(query) = category_query(ds, target.item) {
                self.hashing.token_rows(query, &mut q);
            }
            queries.push(q);
        }
        let len = rows.iter().map(|r| r.0.len()).max().unwrap_or(1).max(1);
        let mut batch = make_batch(&rows, len);
        for (b, q) in queries.into_iter().enumerate() {
            batch.texts.push((b * len + len - 1, q));
        }
        self.model.cosine_scores(self.model.intents(&batch, &self.device))
    }
}

/// Measures the steer on the test split, with queries tokenized by `hashing` (the model's
/// `EncoderConfig::text`). `None` when the model has no text tower or no test target has
/// category words.
pub fn search_steers(model: &IntentEncoder, hashing: TextHashing, ds: &Dataset, device: &Device, opts: &EvalOptions) -> Option<SearchSteers> {
    model.text.as_ref()?;
    let users: Vec<usize> = (0..ds.num_users()).filter(|&u| category_query(ds, ds.history_and_target(u, SplitPart::Test).1.item).is_some()).collect();
    if users.is_empty() {
        return None;
    }
    let plain = EncoderScorer { model, max_len: model.position.weight.dims()[0], device: device.clone(), gap_to_target: true };
    let searched = WithSearch { model, device: device.clone(), hashing };
    let (without, ranks_without) = evaluate_ranks(&plain, ds, SplitPart::Test, Some(&users), opts);
    let (with, ranks_with) = evaluate_ranks(&searched, ds, SplitPart::Test, Some(&users), opts);
    let median = |r: &[usize]| {
        let mut r = r.to_vec();
        r.sort_unstable();
        r.get(r.len() / 2).map_or(0, |x| x + 1)
    };
    Some(SearchSteers {
        users: users.len(),
        median_rank_without: median(&ranks_without),
        median_rank_with: median(&ranks_with),
        rose: ranks_without.iter().zip(&ranks_with).filter(|(a, b)| b < a).count(),
        fell: ranks_without.iter().zip(&ranks_with).filter(|(a, b)| b > a).count(),
        ndcg10_without: without.ndcg10,
        ndcg10_with: with.ndcg10,
    })
}
