//! Placing a product the model never trained on (issue 11). The text tower maps a product's
//! words into the item space only as well as a bag of hashed words can; the learned vectors
//! of the products nearest that point carry what shoppers did with products like it. So a
//! new product's vector is borrowed: the similarity-weighted mean of its `k` nearest learned
//! products' unit vectors.
//!
//! "Nearest" is the cosine between the product's text-tower vector and each learned
//! product's *whole* vector (ID row + text vector, as the item table holds it): the export
//! needs nothing but the model and the new product's text, and no learned product's text.
//!
//! Which learned products may lend ([`Lenders`]) is chosen with the neighbour count: every
//! learned product, or only those still selling at the end of the log. A product nobody has
//! bought lately is often discontinued or out of season, while a new one joins the current
//! range: on MovieLens-100k, Complete Journey and ml-long, borrowing only from the selling
//! products halves the new arrivals' median rank in the whole catalogue, with the warm ranking
//! within noise on the first two (ml-long, 7 new arrivals near its popular products, pays
//! 12 %; docs/training.md, "New arrivals").

use localrank_core::rank::score::dot;

use crate::data::{Dataset, ItemText, SplitPart};
use crate::error::Result;
use crate::eval::MetricsSum;
use crate::export::text_only_items;
use crate::train::EncoderScorer;
use crate::ModelWeights;

/// The neighbour counts [`choose_placement`] tries.
pub const NEIGHBOUR_CHOICES: [usize; 7] = [1, 3, 5, 10, 20, 50, 100];

/// The count used when the log has no validation target with text to choose by.
pub const DEFAULT_NEIGHBOURS: usize = 10;

/// The share of the training log's time span, at its end, in which a product must have a
/// training event to count as still selling ([`Lenders::Selling`]).
pub const SELLING_SHARE: f64 = 0.10;

/// The learned products a new product may borrow its vector from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lenders {
    /// Every product with a training event.
    Learned,
    /// Products with a training event in the last [`SELLING_SHARE`] of the training span.
    Selling,
}

impl Lenders {
    pub fn name(self) -> &'static str {
        match self {
            Lenders::Learned => "learned",
            Lenders::Selling => "selling",
        }
    }

    /// Per item of `ds`: whether it may lend. `Selling` falls back to `Learned` when the
    /// training events span no time or none falls in the window.
    pub fn mask(self, ds: &Dataset) -> Vec<bool> {
        let mut learned = vec![false; ds.num_items()];
        let mut span = (i64::MAX, i64::MIN);
        for u in 0..ds.num_users() {
            for e in ds.train_sequence(u) {
                learned[e.item as usize] = true;
                span = (span.0.min(e.ts), span.1.max(e.ts));
            }
        }
        if self == Lenders::Learned || span.0 >= span.1 {
            return learned;
        }
        let cutoff = span.1 - ((span.1 - span.0) as f64 * SELLING_SHARE).floor() as i64;
        let mut selling = vec![false; ds.num_items()];
        for u in 0..ds.num_users() {
            for e in ds.train_sequence(u).iter().filter(|e| e.ts >= cutoff) {
                selling[e.item as usize] = true;
            }
        }
        if selling.iter().any(|&s| s) {
            selling
        } else {
            learned
        }
    }
}

/// Cases [`choose_placement`] reads at most (evenly spaced): each user's validation target
/// and the two training events before it.
const MAX_CASES: usize = 6000;

/// Events per user read as cases, ending at the validation target.
const CASES_PER_USER: usize = 3;

/// Items each case's target competes with, all placed the same way (a storefront's new
/// arrivals compete with each other in the "New" slots).
const RIVALS: usize = 200;

/// Unit length (a zero vector stays zero).
pub fn unit(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 1e-12 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The text tower's vector of every item's text, row-major `[items, dim]` (zero rows for items
/// without text, or whose text has no word to hash).
pub fn tower_vectors(w: &ModelWeights, ds: &Dataset) -> Result<Vec<f32>> {
    let dim = w.config.dim;
    // Ids are the items' indices, so each row finds its place again.
    let texts: Vec<(String, ItemText)> = ds.item_text.iter().enumerate().filter_map(|(i, t)| t.clone().map(|t| (i.to_string(), t))).collect();
    let rows = text_only_items(w, &texts)?;
    let mut tower = vec![0f32; ds.num_items() * dim];
    for (id, row) in rows.ids.iter().zip(rows.vectors.chunks_exact(dim)) {
        if let Ok(i) = id.parse::<usize>() {
            tower[i * dim..][..dim].copy_from_slice(row);
        }
    }
    Ok(tower)
}

/// The `k` rows of `keys` (row-major `[n, dim]`, unit rows or zeros) with the highest
/// positive cosine to `query` (unit), best first, ties by row; rows `allowed` says false for
/// are skipped.
pub fn nearest(keys: &[f32], dim: usize, query: &[f32], k: usize, allowed: Option<&[bool]>) -> Vec<(usize, f32)> {
    let mut near: Vec<(usize, f32)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return near;
    }
    for (j, row) in keys.chunks_exact(dim).enumerate() {
        if allowed.is_some_and(|a| !a[j]) {
            continue;
        }
        let s = dot(row, query);
        // A NaN row (a broken export) never matches.
        if s.is_nan() || s <= 0.0 || (near.len() == k && s <= near[k - 1].1) {
            continue;
        }
        let at = near.partition_point(|&(_, t)| t >= s);
        near.insert(at, (j, s));
        near.truncate(k);
    }
    near
}

/// The similarity-weighted mean of `table`'s unit rows at `near`, as a unit vector; None
/// without neighbours.
pub fn borrow(table: &[f32], dim: usize, near: &[(usize, f32)]) -> Option<Vec<f32>> {
    if near.is_empty() {
        return None;
    }
    let mut out = vec![0f32; dim];
    for &(j, s) in near {
        let mut row = table[j * dim..][..dim].to_vec();
        unit(&mut row);
        out.iter_mut().zip(&row).for_each(|(o, r)| *o += s * r);
    }
    unit(&mut out);
    Some(out)
}

/// Row-major `[n, dim]` rows scaled to unit length.
pub fn unit_rows(rows: &[f32], dim: usize) -> Vec<f32> {
    let mut out = rows.to_vec();
    out.chunks_exact_mut(dim).for_each(unit);
    out
}

/// Replaces each text-tower vector in `rows` (row-major `[m, dim]`) with the vector borrowed
/// from its `k` nearest `learned` item vectors (`[n, dim]`, any norm; only rows `lenders`
/// allows, when given). A row with no lender at a positive cosine keeps its tower vector.
/// Returns how many rows were placed by neighbours.
pub fn place_by_neighbours(learned: &[f32], dim: usize, rows: &mut [f32], k: usize, lenders: Option<&[bool]>) -> usize {
    if k == 0 {
        return 0;
    }
    let keys = unit_rows(learned, dim);
    let mut placed = 0;
    for row in rows.chunks_exact_mut(dim) {
        let mut q = row.to_vec();
        unit(&mut q);
        if let Some(v) = borrow(&keys, dim, &nearest(&keys, dim, &q, k, lenders)) {
            row.copy_from_slice(&v);
            placed += 1;
        }
    }
    placed
}

/// How a model places products it never trained on: the lenders and neighbour count chosen
/// on the training log's validation targets, with each choice's score.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Learned neighbours to borrow from.
    pub k: usize,
    /// Which learned products may lend.
    pub lenders: Lenders,
    /// Mean NDCG@10 (among placed and among learned rivals) of each tried choice
    /// ([`Lenders`] × [`NEIGHBOUR_CHOICES`]).
    pub ndcg10: Vec<(Lenders, usize, f64)>,
    /// Validation cases read.
    pub cases: usize,
}

impl Placement {
    pub fn describe(&self) -> String {
        if self.cases == 0 {
            return format!("new products placed by their {} nearest learned items (the default: no validation target has text to choose by)", self.k);
        }
        let tried: Vec<String> = self.ndcg10.iter().map(|(l, k, n)| format!("{} k {k}: {n:.4}", l.name())).collect();
        format!(
            "new products placed by their {} nearest {} items (chosen on {} validation targets and events before them, treated as new, each ranked among {RIVALS} others placed alike and among the same {RIVALS} as learned; mean NDCG@10 {})",
            self.k,
            self.lenders.name(),
            self.cases,
            tried.join(", ")
        )
    }
}

/// Chooses which learned products lend ([`Lenders`]) and how many ([`NEIGHBOUR_CHOICES`]) to
/// place a new product, on the data the model trained on: each validation target that has
/// text, and the two events before it (more cases: the choice is close between neighbouring
/// counts), is treated as new — its vector rebuilt from its tower vector (`tower`,
/// `[items, dim]`, zero rows without text) with `k` lenders other than itself — and ranked
/// for its user twice: among [`RIVALS`] other items rebuilt the same way (a storefront's
/// "New" slots, where new products meet each other) and among the same items' learned vectors
/// (a homepage pool, where a new product meets learned ones). The best mean NDCG@10 wins;
/// on a tie, all learned products before the selling ones, and the smaller count. The
/// tower's vector alone is not a choice: the tower trained on these very items' texts, so on
/// them it scores as no new product's vector would (MovieLens-100k: 0.42 against 0.38 for
/// the best k, while on the real new arrivals it lost to every k; see docs/training.md, "New
/// arrivals"). `table`: the learned item vectors `[items, dim]`; items without a training
/// event never lend.
pub fn choose_placement(encoder: &EncoderScorer, ds: &Dataset, table: &[f32], tower: &[f32], dim: usize) -> Placement {
    let n = ds.num_items();
    let has_text: Vec<bool> = tower.chunks_exact(dim).map(|r| r.iter().any(|&x| x != 0.0)).collect();
    let learned = Lenders::Learned.mask(ds);
    let selling = Lenders::Selling.mask(ds);
    // Selling is a choice only when it leaves some learned product out.
    let options: Vec<(Lenders, &[bool])> = if selling == learned { vec![(Lenders::Learned, &learned)] } else { vec![(Lenders::Learned, &learned), (Lenders::Selling, &selling)] };
    // (user, position): the validation target and the events just before it, each with the
    // events before it as the history.
    let mut cases: Vec<(usize, usize)> = Vec::new();
    for u in 0..ds.num_users() {
        let at = ds.history_and_target(u, SplitPart::Validation).0.len();
        for p in at.saturating_sub(CASES_PER_USER - 1).max(1)..=at {
            if has_text[ds.sequences[u][p].item as usize] {
                cases.push((u, p));
            }
        }
    }
    let step = cases.len().div_ceil(MAX_CASES).max(1);
    let cases: Vec<(usize, usize)> = cases.into_iter().step_by(step).collect();
    // Rivals: every (n / RIVALS)-th learned item with text, a fixed spread over the catalogue.
    let pool: Vec<usize> = (0..n).filter(|&i| learned[i] && has_text[i]).collect();
    let rivals: Vec<usize> = pool.iter().copied().step_by(pool.len().div_ceil(RIVALS).max(1)).collect();
    let keys = unit_rows(table, dim);
    let tower_unit = unit_rows(tower, dim);
    let max_k = NEIGHBOUR_CHOICES.iter().copied().max().unwrap_or(0);
    let mut needed: Vec<usize> = cases.iter().map(|&(u, p)| ds.sequences[u][p].item as usize).chain(rivals.iter().copied()).collect();
    needed.sort_unstable();
    needed.dedup();
    let mut intents: Vec<Vec<f32>> = Vec::with_capacity(cases.len());
    for chunk in cases.chunks(256) {
        intents.extend(encoder.intents_at(ds, chunk).into_iter().map(|mut q| {
            unit(&mut q);
            q
        }));
    }
    // The rivals' learned scores for each case: the same for every choice.
    let learned_scores: Vec<Vec<f32>> = intents.iter().map(|q| rivals.iter().map(|&r| dot(&keys[r * dim..][..dim], q)).collect()).collect();
    // Per choice, the mean NDCG@10 of the target's rank among the rivals placed alike (the
    // "New" slots) and among the rivals' learned vectors (a homepage pool, where a new product
    // meets learned ones).
    let mut ndcg10: Vec<(Lenders, usize, f64)> = Vec::with_capacity(options.len() * NEIGHBOUR_CHOICES.len());
    for &(lenders, mask) in &options {
        // Each needed item's neighbour list (itself left out), longest first; shorter k read a prefix.
        let mut allowed = mask.to_vec();
        let mut lists: std::collections::HashMap<usize, Vec<(usize, f32)>> = std::collections::HashMap::with_capacity(needed.len());
        for &i in &needed {
            allowed[i] = false;
            lists.insert(i, nearest(&keys, dim, &tower_unit[i * dim..][..dim], max_k, Some(&allowed)));
            allowed[i] = mask[i];
        }
        let vector = |i: usize, k: usize| -> Vec<f32> {
            let near = &lists[&i];
            borrow(&keys, dim, &near[..k.min(near.len())]).unwrap_or_else(|| tower_unit[i * dim..][..dim].to_vec())
        };
        for &k in &NEIGHBOUR_CHOICES {
            // The rivals as this choice rebuilds them.
            let rival_vectors: Vec<Vec<f32>> = rivals.iter().map(|&r| vector(r, k)).collect();
            let (mut among_placed, mut among_learned) = (MetricsSum::default(), MetricsSum::default());
            for ((&(u, p), q), learned) in cases.iter().zip(&intents).zip(&learned_scores) {
                let target = ds.sequences[u][p].item as usize;
                let score = dot(&vector(target, k), q);
                let above = |rival_score: f32, r: usize| r != target && rival_score > score;
                among_placed.add_rank(rival_vectors.iter().zip(&rivals).filter(|&(v, &r)| above(dot(v, q), r)).count());
                among_learned.add_rank(learned.iter().zip(&rivals).filter(|&(&l, &r)| above(l, r)).count());
            }
            ndcg10.push((lenders, k, (among_placed.mean().ndcg10 + among_learned.mean().ndcg10) / 2.0));
        }
    }
    let (lenders, k) = pick(&ndcg10, cases.len());
    Placement { k, lenders, ndcg10, cases: cases.len() }
}

/// The choice with the best score, the first on a tie; all learned products and
/// [`DEFAULT_NEIGHBOURS`] without cases or without a finite score.
fn pick(scores: &[(Lenders, usize, f64)], cases: usize) -> (Lenders, usize) {
    let default = (Lenders::Learned, DEFAULT_NEIGHBOURS);
    if cases == 0 {
        return default;
    }
    scores.iter().filter(|(_, _, v)| v.is_finite()).fold((default, f64::NEG_INFINITY), |best, &(l, k, v)| if v > best.1 { ((l, k), v) } else { best }).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_keeps_the_best_positive_cosines_in_order() {
        // Rows: x, y, x+y, -x, 0, 0.9x+0.1y.
        let keys = unit_rows(&[1.0, 0.0, 0.0, 1.0, 1.0, 1.0, -1.0, 0.0, 0.0, 0.0, 0.9, 0.1], 2);
        let q = [1.0, 0.0];
        let near = nearest(&keys, 2, &q, 3, None);
        assert_eq!(near.iter().map(|n| n.0).collect::<Vec<_>>(), [0, 5, 2]);
        assert!((near[0].1 - 1.0).abs() < 1e-6 && near[2].1 > 0.7 && near[2].1 < 0.71);
        // Orthogonal, opposite and zero rows never count, even with room left.
        assert_eq!(nearest(&keys, 2, &q, 10, None).len(), 3);
        assert_eq!(nearest(&keys, 2, &q, 3, Some(&[false, true, true, true, true, false])).iter().map(|n| n.0).collect::<Vec<_>>(), [2]);
        assert!(nearest(&keys, 2, &[0.0, 0.0], 3, None).is_empty());
        assert!(nearest(&keys, 2, &q, 0, None).is_empty());
    }

    #[test]
    fn the_best_choice_wins_and_ties_go_to_all_learned_lenders_and_fewer_neighbours() {
        use Lenders::{Learned, Selling};
        assert_eq!(pick(&[(Learned, 1, 0.2), (Learned, 5, 0.3), (Learned, 20, 0.25)], 10), (Learned, 5));
        assert_eq!(pick(&[(Learned, 1, 0.2), (Learned, 5, 0.3), (Learned, 20, 0.3), (Selling, 3, 0.3)], 10), (Learned, 5));
        assert_eq!(pick(&[(Learned, 1, 0.2), (Learned, 5, 0.3), (Selling, 3, 0.31)], 10), (Selling, 3));
        assert_eq!(pick(&[(Learned, 1, f64::NAN), (Learned, 5, 0.1)], 10), (Learned, 5));
        assert_eq!(pick(&[(Learned, 1, 0.2), (Learned, 5, 0.3)], 0), (Learned, DEFAULT_NEIGHBOURS), "no cases: the default");
        assert_eq!(pick(&[(Selling, 1, f64::NAN)], 3), (Learned, DEFAULT_NEIGHBOURS));
    }

    #[test]
    fn a_new_row_is_the_weighted_mean_of_its_neighbours() {
        let table = [2.0, 0.0, 0.0, 3.0];
        let v = borrow(&table, 2, &[(0, 0.75), (1, 0.25)]).expect("has neighbours");
        // 0.75 x + 0.25 y, unit length.
        let n = (0.75f32 * 0.75 + 0.25 * 0.25).sqrt();
        assert!((v[0] - 0.75 / n).abs() < 1e-6 && (v[1] - 0.25 / n).abs() < 1e-6, "{v:?}");
        assert!(borrow(&table, 2, &[]).is_none());

        // A row near x borrows x's learned direction; one facing away from everything keeps
        // its own vector.
        let learned = [1.0, 0.1, 0.0, 1.0];
        let mut rows = [0.9, 0.0, -1.0, -1.0];
        assert_eq!(place_by_neighbours(&learned, 2, &mut rows, 1, None), 1);
        let x = unit_rows(&learned, 2);
        assert!((rows[0] - x[0]).abs() < 1e-6 && (rows[1] - x[1]).abs() < 1e-6, "{rows:?}");
        assert_eq!(&rows[2..], &[-1.0, -1.0]);
    }

    /// Training parts (the last two events of each user are validation and test targets):
    /// item 0 sells early only, item 1 early and late, item 2 only as a target.
    fn log(ts_late: i64) -> Dataset {
        use crate::data::Event;
        let e = |item: u32, ts: i64| Event { item, kind: 0, ts };
        Dataset {
            name: "lenders".into(),
            item_ids: (0..3).map(|i| format!("i{i}")).collect(),
            item_category: vec![None; 3],
            item_price: vec![None; 3],
            user_ids: vec!["u0".into(), "u1".into()],
            sequences: vec![vec![e(0, 0), e(1, 10), e(2, 200), e(2, 201)], vec![e(0, 5), e(1, ts_late), e(2, 202), e(2, 203)]],
            notes: vec![],
            basket_starts: vec![],
            item_text: vec![None; 3],
            catalogue_text: vec![],
        }
    }

    #[test]
    fn selling_lenders_are_the_products_bought_at_the_end_of_the_training_span() {
        // Training events span 0–100; the last 10 % starts at 90: only item 1 sells there.
        assert_eq!(Lenders::Learned.mask(&log(100)), [true, true, false]);
        assert_eq!(Lenders::Selling.mask(&log(100)), [false, true, false]);
        // No time span (every training event at once): every learned product lends.
        let flat = {
            let mut d = log(100);
            d.sequences.iter_mut().flatten().for_each(|e| e.ts = 7);
            d
        };
        assert_eq!(Lenders::Selling.mask(&flat), [true, true, false]);
    }

    #[test]
    fn only_allowed_lenders_place_a_row() {
        // The row is nearest x, but x may not lend: it borrows y's direction (the only lender
        // at a positive cosine), and with no lender at all it keeps its own vector.
        let learned = [1.0, 0.0, 0.6, 0.8];
        let mut rows = [1.0, 0.1];
        assert_eq!(place_by_neighbours(&learned, 2, &mut rows, 1, Some(&[false, true])), 1);
        assert!((rows[0] - 0.6).abs() < 1e-6 && (rows[1] - 0.8).abs() < 1e-6, "{rows:?}");
        let mut rows = [1.0, 0.1];
        assert_eq!(place_by_neighbours(&learned, 2, &mut rows, 3, Some(&[false, false])), 0);
        assert_eq!(rows, [1.0, 0.1]);
    }
}
