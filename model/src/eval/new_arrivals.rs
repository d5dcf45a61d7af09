//! The new-arrivals protocol (issue 11): can a model place a product it never trained on?
//!
//! Items whose first interaction falls in the last [`NEW_ARRIVAL_SHARE`] of the log's time
//! span are the new arrivals. They are removed from every sequence, so no model sees their IDs
//! in training or validation — except as the test target of a user whose last event is one of
//! them: those users are the test users. Ranking is over the whole catalogue, new arrivals
//! included, with the usual leave-one-out exclusions. An ID-only model has no vector for a new
//! arrival ([`WithoutNewArrivals`] ranks them last); a content model (TF-IDF, the text tower)
//! can place them from their words.
use crate::data::{Dataset, Protocol, SplitPart};
use crate::error::{ModelError, Result};
use crate::eval::Scorer;

/// The share of the log's time span, at its end, whose first-seen items are new arrivals.
pub const NEW_ARRIVAL_SHARE: f64 = 0.10;

pub struct NewArrivalsSplit {
    /// The log without the new arrivals, except as the test users' last events. Items keep
    /// their indices (and text), so every scorer ranks the same catalogue.
    pub dataset: Dataset,
    /// Per item: whether it is a new arrival.
    pub is_new: Vec<bool>,
    /// Users (indices into `dataset`) whose test target is a new arrival.
    pub test_users: Vec<usize>,
    /// The first timestamp of the new-arrival window.
    pub cutoff: i64,
}

impl NewArrivalsSplit {
    pub fn new_items(&self) -> usize {
        self.is_new.iter().filter(|&&n| n).count()
    }
}

/// Splits a leave-one-out dataset; `share` of the time span at its end defines new arrivals.
pub fn split_new_arrivals(ds: &Dataset, share: f64) -> Result<NewArrivalsSplit> {
    let empty = |why: String| ModelError::EmptyDataset { stage: format!("new arrivals: {why}") };
    if ds.protocol() != Protocol::LeaveOneOut {
        return Err(empty("needs leave-one-out data (prepare without --protocol next-basket)".into()));
    }
    if !(share > 0.0 && share < 1.0) {
        return Err(empty(format!("the new-arrival share must be within (0, 1), not {share}")));
    }
    let all = ds.sequences.iter().flatten();
    let (first, last) = all.fold((i64::MAX, i64::MIN), |(lo, hi), e| (lo.min(e.ts), hi.max(e.ts)));
    if first >= last {
        return Err(empty("every event has the same timestamp: no time span to take the newest items from".into()));
    }
    // The window is at most `share` of the span (rounded down to whole seconds).
    let cutoff = last - ((last - first) as f64 * share).floor() as i64;
    let mut first_seen = vec![i64::MAX; ds.num_items()];
    for e in ds.sequences.iter().flatten() {
        let f = &mut first_seen[e.item as usize];
        *f = (*f).min(e.ts);
    }
    let is_new: Vec<bool> = first_seen.iter().map(|&t| t != i64::MAX && t >= cutoff).collect();

    let mut out = Dataset { user_ids: Vec::new(), sequences: Vec::new(), notes: ds.notes.clone(), ..ds.clone() };
    let mut test_users = Vec::new();
    for (u, seq) in ds.sequences.iter().enumerate() {
        let Some(last_event) = seq.last() else { continue };
        let mut kept: Vec<_> = seq.iter().filter(|e| !is_new[e.item as usize]).copied().collect();
        let target_is_new = is_new[last_event.item as usize];
        if target_is_new {
            kept.push(*last_event);
        }
        // Leave-one-out needs a training event, a validation target and a test target.
        if kept.len() < 3 {
            continue;
        }
        if target_is_new {
            test_users.push(out.sequences.len());
        }
        out.user_ids.push(ds.user_ids[u].clone());
        out.sequences.push(kept);
    }
    if test_users.is_empty() {
        return Err(empty(format!("no user's last event is one of the {} new arrivals", is_new.iter().filter(|&&n| n).count())));
    }
    out.notes.push(format!(
        "new arrivals: {} items first seen in the last {:.0} % of the time span (from {cutoff}); {} test users whose last event is one; {} of {} users kept",
        is_new.iter().filter(|&&n| n).count(),
        share * 100.0,
        test_users.len(),
        out.num_users(),
        ds.num_users()
    ));
    out.validate().map_err(empty)?;
    Ok(NewArrivalsSplit { dataset: out, is_new, test_users, cutoff })
}

/// An ID-only scorer as it must serve a catalogue with new arrivals: it has no vector for
/// them, so they rank after every item it knows.
pub struct WithoutNewArrivals<'a, S> {
    pub scorer: &'a S,
    pub is_new: &'a [bool],
}

impl<S: Scorer> Scorer for WithoutNewArrivals<'_, S> {
    fn score(&self, ds: &Dataset, users: &[usize], part: SplitPart) -> Vec<Vec<f32>> {
        let mut scores = self.scorer.score(ds, users, part);
        for s in &mut scores {
            for (x, &new) in s.iter_mut().zip(self.is_new) {
                if new {
                    *x = f32::NEG_INFINITY;
                }
            }
        }
        scores
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::{Popularity, TfIdf};
    use crate::data::{Event, ItemText};
    use crate::eval::{evaluate, EvalOptions};

    /// Items 0–3 are old (ts 0–80), item 4 appears at ts 95 and 100 (the last 10 %).
    fn shop() -> Dataset {
        let e = |item: u32, ts: i64| Event { item, kind: 0, ts };
        let sequences = vec![
            vec![e(0, 0), e(1, 10), e(2, 20), e(4, 100)], // test user: ends on the new arrival
            vec![e(1, 5), e(2, 30), e(3, 80)],
            vec![e(0, 1), e(3, 40), e(4, 95), e(2, 99)], // a new arrival mid-sequence: dropped
            vec![e(4, 96), e(2, 97), e(0, 98)],           // 2 events left: dropped
        ];
        let texts = ["oat milk", "rye bread", "oat biscuits", "dark chocolate", "oat milk barista"];
        Dataset {
            name: "shop".into(),
            item_ids: (0..5).map(|i| format!("i{i}")).collect(),
            item_category: vec![None; 5],
            item_price: vec![None; 5],
            user_ids: (0..4).map(|u| format!("u{u}")).collect(),
            sequences,
            notes: vec![],
            basket_starts: vec![],
            item_text: texts.iter().map(|t| Some(ItemText { title: Some(t.to_string()), ..ItemText::default() })).collect(),
            catalogue_text: vec![],
        }
    }

    #[test]
    fn new_arrivals_leave_training_and_become_test_targets() {
        let split = split_new_arrivals(&shop(), NEW_ARRIVAL_SHARE).expect("splits");
        assert_eq!(split.cutoff, 90);
        assert_eq!(split.is_new, [false, false, false, false, true]);
        assert_eq!(split.dataset.user_ids, ["u0", "u1", "u2"]);
        assert_eq!(split.test_users, [0]);
        let ds = &split.dataset;
        for u in 0..ds.num_users() {
            assert!(ds.train_sequence(u).iter().all(|e| e.item != 4), "user {u} trains on a new arrival");
            assert_ne!(ds.history_and_target(u, SplitPart::Validation).1.item, 4);
        }
        assert_eq!(ds.history_and_target(0, SplitPart::Test).1.item, 4);
        assert!(ds.notes.last().is_some_and(|n| n.contains("1 items first seen in the last 10 %")));
    }

    #[test]
    fn id_only_ranks_new_arrivals_last_and_text_finds_them() {
        let split = split_new_arrivals(&shop(), NEW_ARRIVAL_SHARE).expect("splits");
        let ds = &split.dataset;
        let opts = EvalOptions::default();
        let pop = Popularity::fit(ds);
        let id_only = evaluate(&WithoutNewArrivals { scorer: &pop, is_new: &split.is_new }, ds, SplitPart::Test, Some(&split.test_users), &opts);
        // History {0, 1, 2} is excluded: item 3 ranks first, the new arrival second.
        assert_eq!(id_only.hr10, 1.0);
        assert!((id_only.ndcg10 - 1.0 / 3f64.log2()).abs() < 1e-9, "{}", id_only.ndcg10);
        // "oat milk barista" shares words with the history's "oat milk" and "oat biscuits".
        let text = evaluate(&TfIdf::fit(ds), ds, SplitPart::Test, Some(&split.test_users), &opts);
        assert_eq!(text.ndcg10, 1.0);
    }

    #[test]
    fn logs_without_a_usable_split_are_named_errors() {
        let mut flat = shop();
        flat.sequences.iter_mut().flatten().for_each(|e| e.ts = 7);
        assert!(split_new_arrivals(&flat, 0.1).err().is_some_and(|e| e.to_string().contains("same timestamp")));
        assert!(split_new_arrivals(&shop(), 1.5).is_err());
        // Nobody ends on a new item.
        let mut none = shop();
        none.sequences[0].pop();
        none.sequences[0].push(Event { item: 3, kind: 0, ts: 100 });
        assert!(split_new_arrivals(&none, 0.1).err().is_some_and(|e| e.to_string().contains("no user's last event")));
    }
}
