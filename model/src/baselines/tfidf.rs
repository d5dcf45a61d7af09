//! The content baseline (issue 11): TF-IDF cosine between the text of a user's history items
//! and each item's text. It needs no interactions with an item, only its words, so it can rank
//! products nobody has bought yet; it is what the text tower must beat on new arrivals.
//!
//! An item's vector: term frequency × smoothed inverse document frequency
//! (`ln((1 + N) / (1 + df)) + 1`, N = items with text), L2-normalised. A user's profile: the
//! mean of their distinct history items' vectors. Score: cosine of profile and item (0 for an
//! item without text). Words are `localrank_core::text::words`, the tower's own split.
use std::collections::HashMap;

use localrank_core::text::words;

use crate::data::{Dataset, SplitPart};
use crate::eval::Scorer;

pub struct TfIdf {
    /// Per item: (term, weight), L2-normalised; empty without text.
    vectors: Vec<Vec<(u32, f32)>>,
    /// Per term: (item, weight), for scoring a profile against every item at once.
    postings: Vec<Vec<(u32, f32)>>,
}

impl TfIdf {
    /// Fits on the dataset's item text (`Dataset::item_text`); every item scores 0 without one.
    pub fn fit(ds: &Dataset) -> TfIdf {
        let mut vocab: HashMap<String, u32> = HashMap::new();
        let mut counts: Vec<Vec<(u32, f32)>> = Vec::with_capacity(ds.num_items());
        for i in 0..ds.num_items() {
            let mut tf: HashMap<u32, f32> = HashMap::new();
            if let Some(Some(text)) = ds.item_text.get(i) {
                for w in words(&text.joined()) {
                    let next = vocab.len() as u32;
                    *tf.entry(*vocab.entry(w).or_insert(next)).or_insert(0.0) += 1.0;
                }
            }
            let mut terms: Vec<(u32, f32)> = tf.into_iter().collect();
            terms.sort_unstable_by_key(|&(t, _)| t);
            counts.push(terms);
        }
        let documents = counts.iter().filter(|c| !c.is_empty()).count() as f32;
        let mut df = vec![0f32; vocab.len()];
        for terms in &counts {
            for &(t, _) in terms {
                df[t as usize] += 1.0;
            }
        }
        let idf: Vec<f32> = df.iter().map(|&d| ((1.0 + documents) / (1.0 + d)).ln() + 1.0).collect();
        let mut postings = vec![Vec::new(); vocab.len()];
        let vectors: Vec<Vec<(u32, f32)>> = counts
            .into_iter()
            .enumerate()
            .map(|(i, terms)| {
                let mut v: Vec<(u32, f32)> = terms.into_iter().map(|(t, c)| (t, c * idf[t as usize])).collect();
                let norm = v.iter().map(|&(_, w)| w * w).sum::<f32>().sqrt();
                if norm > 0.0 {
                    v.iter_mut().for_each(|(_, w)| *w /= norm);
                }
                for &(t, w) in &v {
                    postings[t as usize].push((i as u32, w));
                }
                v
            })
            .collect();
        TfIdf { vectors, postings }
    }

    /// Cosine of every item with the profile of `history` (item indices; repeats count once).
    pub fn scores_for(&self, history: impl IntoIterator<Item = u32>, num_items: usize) -> Vec<f32> {
        let mut seen: Vec<u32> = history.into_iter().collect();
        seen.sort_unstable();
        seen.dedup();
        let mut profile: HashMap<u32, f32> = HashMap::new();
        for &h in &seen {
            for &(t, w) in &self.vectors[h as usize] {
                *profile.entry(t).or_insert(0.0) += w;
            }
        }
        let norm = profile.values().map(|w| w * w).sum::<f32>().sqrt();
        let mut s = vec![0f32; num_items];
        if norm == 0.0 {
            return s;
        }
        for (&t, &pw) in &profile {
            for &(i, w) in &self.postings[t as usize] {
                s[i as usize] += pw / norm * w;
            }
        }
        s
    }
}

impl Scorer for TfIdf {
    fn score(&self, ds: &Dataset, users: &[usize], part: SplitPart) -> Vec<Vec<f32>> {
        users
            .iter()
            .map(|&u| {
                let (hist, _) = ds.history_and_target(u, part);
                self.scores_for(hist.iter().map(|e| e.item), ds.num_items())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Event, ItemText};

    fn catalogue(texts: &[Option<&str>]) -> Dataset {
        let n = texts.len();
        let e = |item: u32, ts: i64| Event { item, kind: 0, ts };
        Dataset {
            name: "shop".into(),
            item_ids: (0..n).map(|i| format!("i{i}")).collect(),
            item_category: vec![None; n],
            item_price: vec![None; n],
            user_ids: vec!["u0".into()],
            sequences: vec![vec![e(0, 1), e(1, 2), e(2, 3)]],
            notes: vec![],
            basket_starts: vec![],
            item_text: texts.iter().map(|t| t.map(|t| ItemText { title: Some(t.into()), ..ItemText::default() })).collect(),
            catalogue_text: vec![],
        }
    }

    #[test]
    fn ranks_items_by_shared_rare_words() {
        let ds = catalogue(&[Some("oat milk barista"), Some("whole milk"), Some("oat biscuits"), Some("dark chocolate"), None, Some("oat milk organic")]);
        let m = TfIdf::fit(&ds);
        let s = m.scores_for([0], ds.num_items());
        // Shares "oat" and "milk" > shares one word > shares nothing; no text scores 0.
        assert!(s[5] > s[1] && s[5] > s[2], "{s:?}");
        assert!(s[1] > 0.0 && s[2] > 0.0);
        assert_eq!((s[3], s[4]), (0.0, 0.0));
        assert!((s[0] - 1.0).abs() < 1e-5, "an item is its own best match: {}", s[0]);
        // "milk" is in 3 of 5 texts, "oat" in 3, "biscuits" in 1: a history of the biscuits
        // ranks the other oat item above the milk-only one.
        let s = m.scores_for([2], ds.num_items());
        assert!(s[0] > s[1] && s[1] == 0.0, "{s:?}");
        // An empty history or one without text gives no scores.
        assert!(m.scores_for([], ds.num_items()).iter().all(|&x| x == 0.0));
        assert!(m.scores_for([4], ds.num_items()).iter().all(|&x| x == 0.0));
    }

    #[test]
    fn scores_the_split_history() {
        let ds = catalogue(&[Some("tea green"), Some("tea black"), Some("coffee beans")]);
        let s = TfIdf::fit(&ds).score(&ds, &[0], SplitPart::Test);
        // Test history = items 0 and 1: item 2 shares nothing.
        assert_eq!(s[0][2], 0.0);
        assert!(s[0][0] > 0.0 && s[0][1] > 0.0);
    }
}
