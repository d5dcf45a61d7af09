//! The new-arrivals protocol (issue 11): can a model place a product it never trained on?
//!
//! Items whose first interaction falls in the last [`NEW_ARRIVAL_SHARE`] of the log's time
//! span are the new arrivals. They are removed from every training sequence, so no model sees
//! their IDs in training or validation. The test cases: every user's **first** interaction
//! with a new arrival, with the user's events before it as the history (a user's later events
//! stay in the training log, as the history of a leave-one-out test user does: the encoder
//! has no user rows, so it learns nothing about this user but item sequences). An ID-only
//! model has no vector for a new arrival ([`WithoutNewArrivals`] ranks them last); a content
//! model (TF-IDF, the text tower) can place them from their words.
//!
//! Each case's target is ranked twice ([`case_ranks`]): over the whole catalogue (history
//! items excluded) and among the new arrivals only — what a storefront's "New" slots ask of
//! the engine, which orders the few new arrivals the candidate service puts in the pool.
//!
//! (Until 2026-12-03 the test users were only those whose *last* event was a new arrival,
//! kept at the end of their training sequence: 14 on MovieLens-100k, too few to read
//! NDCG@10. docs/training.md, "New arrivals", has both.)
use crate::data::{Dataset, Protocol, SplitPart};
use crate::error::{ModelError, Result};
use crate::eval::{rank_of, EvalOptions, Scorer};

/// The share of the log's time span, at its end, whose first-seen items are new arrivals.
pub const NEW_ARRIVAL_SHARE: f64 = 0.10;

pub struct NewArrivalsSplit {
    /// The training log: every sequence without the new arrivals (users left with fewer than
    /// three events dropped). Items keep their indices (and text), so every scorer ranks the
    /// same catalogue.
    pub dataset: Dataset,
    /// The test cases, one sequence per user who meets a new arrival: the events before that
    /// user's first new arrival, then the new arrival (read with [`SplitPart::Test`]).
    pub cases: Dataset,
    /// Per item: whether it is a new arrival.
    pub is_new: Vec<bool>,
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
    let new_items = is_new.iter().filter(|&&n| n).count();

    let mut out = Dataset { user_ids: Vec::new(), sequences: Vec::new(), notes: ds.notes.clone(), ..ds.clone() };
    let mut cases = Dataset { user_ids: Vec::new(), sequences: Vec::new(), notes: Vec::new(), ..ds.clone() };
    let mut without_history = 0;
    for (u, seq) in ds.sequences.iter().enumerate() {
        // The user's first new arrival (everything before it is an older product).
        if let Some(at) = seq.iter().position(|e| is_new[e.item as usize]) {
            if at == 0 {
                without_history += 1;
            } else {
                cases.user_ids.push(ds.user_ids[u].clone());
                cases.sequences.push(seq[..=at].to_vec());
            }
        }
        let kept: Vec<_> = seq.iter().filter(|e| !is_new[e.item as usize]).copied().collect();
        // Leave-one-out needs a training event, a validation target and a test target.
        if kept.len() >= 3 {
            out.user_ids.push(ds.user_ids[u].clone());
            out.sequences.push(kept);
        }
    }
    if cases.sequences.is_empty() {
        return Err(empty(format!("no user meets one of the {new_items} new arrivals after an older product")));
    }
    if out.sequences.is_empty() {
        return Err(empty("no user has three events without the new arrivals to train on".into()));
    }
    let note = format!(
        "new arrivals: {new_items} items first seen in the last {:.0} % of the time span (from {cutoff}); {} test cases: each user's first new arrival after their older events ({without_history} users met one first and have no history); {} of {} users train",
        share * 100.0,
        cases.num_users(),
        out.num_users(),
        ds.num_users()
    );
    out.notes.push(note.clone());
    cases.notes.push(note);
    out.validate().map_err(empty)?;
    Ok(NewArrivalsSplit { dataset: out, cases, is_new, cutoff })
}

/// Each case's 0-based target rank, in case order, over the whole catalogue (`.0`, the
/// usual exclusions) and among the new arrivals only (`.1`: every older item is left out).
pub fn case_ranks(scorer: &dyn Scorer, split: &NewArrivalsSplit, opts: &EvalOptions) -> (Vec<usize>, Vec<usize>) {
    let cases = &split.cases;
    let users: Vec<usize> = (0..cases.num_users()).collect();
    let (mut full, mut among_new) = (Vec::with_capacity(users.len()), Vec::with_capacity(users.len()));
    for chunk in users.chunks(opts.batch_users.max(1)) {
        let scores = scorer.score(cases, chunk, SplitPart::Test);
        for (&u, s) in chunk.iter().zip(&scores) {
            let (hist, target) = cases.history_and_target(u, SplitPart::Test);
            let mut excluded = vec![false; cases.num_items()];
            if opts.exclude_history {
                for e in hist {
                    excluded[e.item as usize] = true;
                }
            }
            let t = target.item as usize;
            excluded[t] = false;
            full.push(rank_of(s, t, &excluded));
            for (x, &new) in excluded.iter_mut().zip(&split.is_new) {
                *x |= !new;
            }
            excluded[t] = false;
            among_new.push(rank_of(s, t, &excluded));
        }
    }
    (full, among_new)
}

/// The 1-based median of 0-based ranks (the upper middle for an even count, as the first
/// reports had it; 0 without any).
pub fn median_rank(ranks: &[usize]) -> usize {
    let mut r = ranks.to_vec();
    r.sort_unstable();
    r.get(r.len() / 2).map_or(0, |x| x + 1)
}

/// A content part the engine could compute on the device: the cosine of an item's text
/// vector with the mean of the shopper's last `recent` distinct history items' text vectors
/// (each row unit length; an item without text scores 0). The text-tower counterpart of the
/// TF-IDF baseline, which matches the words of the history items.
pub struct TextContent {
    /// Row-major `[items, dim]`, unit rows (zeros without text).
    vectors: Vec<f32>,
    dim: usize,
    recent: usize,
}

impl TextContent {
    /// `vectors`: row-major `[items, dim]` text vectors (any norm; zero rows stay zero).
    pub fn new(mut vectors: Vec<f32>, dim: usize, recent: usize) -> TextContent {
        vectors.chunks_mut(dim.max(1)).for_each(crate::cold_start::unit);
        TextContent { vectors, dim: dim.max(1), recent: recent.max(1) }
    }

    pub fn num_items(&self) -> usize {
        self.vectors.len() / self.dim
    }

    /// Every item's cosine with the profile of `history` (oldest first; the last `recent`
    /// distinct items count, each once).
    pub fn scores_for(&self, history: &[u32]) -> Vec<f32> {
        let mut picked: Vec<u32> = Vec::new();
        for &h in history.iter().rev() {
            if picked.len() == self.recent {
                break;
            }
            if !picked.contains(&h) {
                picked.push(h);
            }
        }
        let mut profile = vec![0f32; self.dim];
        for &h in &picked {
            let row = &self.vectors[h as usize * self.dim..][..self.dim];
            profile.iter_mut().zip(row).for_each(|(p, x)| *p += x);
        }
        let norm = profile.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm <= 1e-12 {
            return vec![0.0; self.num_items()];
        }
        self.vectors.chunks(self.dim).map(|row| row.iter().zip(&profile).map(|(a, b)| a * b).sum::<f32>() / norm).collect()
    }
}

impl Scorer for TextContent {
    fn score(&self, ds: &Dataset, users: &[usize], part: SplitPart) -> Vec<Vec<f32>> {
        users
            .iter()
            .map(|&u| {
                let hist: Vec<u32> = ds.history_and_target(u, part).0.iter().map(|e| e.item).collect();
                self.scores_for(&hist)
            })
            .collect()
    }
}

/// A scorer's scores plus `weight` × a content scorer's ([`TextContent`], or TF-IDF to see
/// what exact word matches would add).
pub struct WithContent<'a> {
    pub scorer: &'a dyn Scorer,
    pub content: &'a dyn Scorer,
    pub weight: f32,
}

impl Scorer for WithContent<'_> {
    fn score(&self, ds: &Dataset, users: &[usize], part: SplitPart) -> Vec<Vec<f32>> {
        let mut scores = self.scorer.score(ds, users, part);
        for (s, c) in scores.iter_mut().zip(self.content.score(ds, users, part)) {
            s.iter_mut().zip(c).for_each(|(x, y)| *x += self.weight * y);
        }
        scores
    }
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

/// Scores by the intents of an encoder against an item table of one's own (unit rows):
/// how a variant of the item vectors (say, new arrivals placed another way) would rank.
pub struct TableScorer<'a> {
    pub encoder: &'a crate::train::EncoderScorer<'a>,
    /// Row-major `[items, dim]`, unit rows.
    pub table: Vec<f32>,
    pub dim: usize,
}

impl Scorer for TableScorer<'_> {
    fn score(&self, ds: &Dataset, users: &[usize], part: SplitPart) -> Vec<Vec<f32>> {
        self.encoder
            .intents(ds, users, part)
            .into_iter()
            .map(|mut q| {
                crate::cold_start::unit(&mut q);
                self.table.chunks(self.dim).map(|row| localrank_core::rank::score::dot(row, &q)).collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::{Popularity, TfIdf};
    use crate::data::{Event, ItemText};

    /// Items 0–3 are old (ts 0–80); items 4 (ts 95, 96, 100) and 5 (ts 92) appear in the
    /// last 10 %.
    fn shop() -> Dataset {
        let e = |item: u32, ts: i64| Event { item, kind: 0, ts };
        let sequences = vec![
            vec![e(0, 0), e(1, 10), e(2, 20), e(4, 100)],          // ends on a new arrival
            vec![e(1, 5), e(2, 30), e(3, 80), e(5, 92)],           // likewise, the other one
            vec![e(0, 1), e(3, 40), e(4, 95), e(2, 99)],           // a new arrival mid-sequence
            vec![e(4, 96), e(2, 97), e(0, 98)],                    // meets it first: no history
        ];
        let texts = ["oat milk", "rye bread", "oat biscuits", "dark chocolate", "oat milk barista", "rye sourdough loaf"];
        Dataset {
            name: "shop".into(),
            item_ids: (0..6).map(|i| format!("i{i}")).collect(),
            item_category: vec![None; 6],
            item_price: vec![None; 6],
            user_ids: (0..4).map(|u| format!("u{u}")).collect(),
            sequences,
            notes: vec![],
            basket_starts: vec![],
            item_text: texts.iter().map(|t| Some(ItemText { title: Some(t.to_string()), ..ItemText::default() })).collect(),
            catalogue_text: vec![],
        }
    }

    /// The same scores for every user.
    struct Fixed(Vec<f32>);

    impl Scorer for Fixed {
        fn score(&self, _: &Dataset, users: &[usize], _: SplitPart) -> Vec<Vec<f32>> {
            users.iter().map(|_| self.0.clone()).collect()
        }
    }

    #[test]
    fn new_arrivals_leave_training_and_each_users_first_one_is_a_test_case() {
        let split = split_new_arrivals(&shop(), NEW_ARRIVAL_SHARE).expect("splits");
        assert_eq!(split.cutoff, 90);
        assert_eq!(split.is_new, [false, false, false, false, true, true]);
        assert_eq!(split.new_items(), 2);
        // Training: no new arrival anywhere; u3 keeps 2 events and drops out.
        let ds = &split.dataset;
        assert_eq!(ds.user_ids, ["u0", "u1", "u2"]);
        assert!(ds.sequences.iter().flatten().all(|e| e.item < 4), "{:?}", ds.sequences);
        assert_eq!(ds.sequences[2].iter().map(|e| e.item).collect::<Vec<_>>(), [0, 3, 2]);
        // Cases: u2's new arrival mid-sequence counts (with the events before it only); u3 met
        // a new arrival before anything else and has no history to rank by.
        let cases = &split.cases;
        assert_eq!(cases.user_ids, ["u0", "u1", "u2"]);
        let case = |u: usize| {
            let (hist, target) = cases.history_and_target(u, SplitPart::Test);
            (hist.iter().map(|e| e.item).collect::<Vec<_>>(), target.item)
        };
        assert_eq!(case(0), (vec![0, 1, 2], 4));
        assert_eq!(case(1), (vec![1, 2, 3], 5));
        assert_eq!(case(2), (vec![0, 3], 4));
        let note = ds.notes.last().expect("a note");
        assert!(note.contains("2 items first seen in the last 10 %") && note.contains("3 test cases") && note.contains("(1 users met one first"), "{note}");
    }

    #[test]
    fn cases_rank_over_the_catalogue_and_among_the_new_arrivals() {
        let split = split_new_arrivals(&shop(), NEW_ARRIVAL_SHARE).expect("splits");
        let scores = Fixed(vec![0.9, 0.8, 0.7, 0.6, 0.5, 0.55]);
        let (full, among_new) = case_ranks(&scores, &split, &EvalOptions::default());
        // u0 (history 0, 1, 2; target 4): 3 and 5 beat it, of the new arrivals only 5.
        // u1 (history 1, 2, 3; target 5): 0 beats it; it leads the new arrivals.
        // u2 (history 0, 3; target 4): 1, 2 and 5 beat it.
        assert_eq!(full, [2, 1, 3]);
        assert_eq!(among_new, [1, 0, 1]);
        assert_eq!(median_rank(&full), 3);
        assert_eq!(median_rank(&among_new), 2);
        assert_eq!(median_rank(&[]), 0);
        // Without the history exclusion u0's own history items 0–2 beat the target too.
        let (full, _) = case_ranks(&scores, &split, &EvalOptions { exclude_history: false, ..EvalOptions::default() });
        assert_eq!(full, [5, 4, 5]);
    }

    #[test]
    fn id_only_ranks_new_arrivals_last_and_text_finds_them() {
        let split = split_new_arrivals(&shop(), NEW_ARRIVAL_SHARE).expect("splits");
        let opts = EvalOptions::default();
        let pop = Popularity::fit(&split.dataset);
        let (full, _) = case_ranks(&WithoutNewArrivals { scorer: &pop, is_new: &split.is_new }, &split, &opts);
        // Every old item the history leaves in the ranking beats a new arrival (and ties among
        // the new arrivals go by index: u1's item 5 comes after item 4).
        assert_eq!(full, [1, 2, 2]);
        // "oat milk barista" shares words with u0's "oat milk" and "oat biscuits".
        let (full, among_new) = case_ranks(&TfIdf::fit(&split.dataset), &split, &opts);
        assert_eq!((full[0], among_new[0]), (0, 0));
    }

    #[test]
    fn text_content_matches_the_recent_history_and_adds_to_a_scorer() {
        // Items: 0 → x, 1 → y, 2 → x + y, 3 has no text, 4 → mostly x.
        let vectors = vec![1.0, 0.0, 0.0, 2.0, 1.0, 1.0, 0.0, 0.0, 2.0, 0.1];
        let c = TextContent::new(vectors.clone(), 2, 20);
        assert_eq!(c.num_items(), 5);
        let s = c.scores_for(&[0]);
        assert!((s[0] - 1.0).abs() < 1e-6 && s[1].abs() < 1e-6 && s[3] == 0.0, "{s:?}");
        assert!(s[4] > s[2] && s[2] > s[1], "{s:?}");
        // Distinct items count once: 1, 1, 0 is the profile x + y, which item 2 matches.
        let s = c.scores_for(&[1, 1, 0]);
        assert!((s[2] - 1.0).abs() < 1e-6 && (s[0] - s[1]).abs() < 1e-6, "{s:?}");
        // Only the last `recent` distinct items: of 0, 1 only 1.
        let s = TextContent::new(vectors, 2, 1).scores_for(&[0, 1]);
        assert!((s[1] - 1.0).abs() < 1e-6 && s[0].abs() < 1e-6, "{s:?}");
        assert_eq!(c.scores_for(&[]), vec![0.0; 5]);
        assert_eq!(c.scores_for(&[3]), vec![0.0; 5], "a history without text has no profile");

        let split = split_new_arrivals(&shop(), NEW_ARRIVAL_SHARE).expect("splits");
        let content = TextContent::new((0..6).flat_map(|i| [if i % 2 == 0 { 1.0 } else { 0.0 }, if i % 2 == 0 { 0.0 } else { 1.0 }]).collect(), 2, 20);
        let base = Fixed(vec![0.0; 6]);
        let blended = WithContent { scorer: &base, content: &content, weight: 0.5 }.score(&split.cases, &[1], SplitPart::Test);
        // u1's history 1, 2, 3 is two odd items and one even: profile (1, 2) / √5.
        let (even, odd) = (0.5 / 5f32.sqrt(), 0.5 * 2.0 / 5f32.sqrt());
        for (i, x) in blended[0].iter().enumerate() {
            let want = if i % 2 == 0 { even } else { odd };
            assert!((x - want).abs() < 1e-6, "item {i}: {x} vs {want}");
        }
    }

    #[test]
    fn logs_without_a_usable_split_are_named_errors() {
        let mut flat = shop();
        flat.sequences.iter_mut().flatten().for_each(|e| e.ts = 7);
        assert!(split_new_arrivals(&flat, 0.1).err().is_some_and(|e| e.to_string().contains("same timestamp")));
        assert!(split_new_arrivals(&shop(), 1.5).is_err());
        // Nobody meets a new item after an older one.
        let mut none = shop();
        none.sequences.truncate(1);
        none.sequences[0].pop();
        none.sequences[0].push(Event { item: 3, kind: 0, ts: 50 });
        none.sequences.push(vec![Event { item: 4, kind: 0, ts: 100 }, Event { item: 0, kind: 0, ts: 100 }]);
        none.user_ids.truncate(2);
        assert!(split_new_arrivals(&none, 0.1).err().is_some_and(|e| e.to_string().contains("no user meets one of the 1 new arrivals")), "{:?}", split_new_arrivals(&none, 0.1).err());
    }
}
