//! The engine's one sort: a stable merge sort of positions behind a `dyn` comparator, so the
//! shipped wasm holds one compiled sort instead of one per element type and closure. The
//! standard library's sorts are faster on large inputs but each instantiation costs several KB
//! (~60 KB of the wasm for the dozen call sites); the engine sorts hundreds of items, where a
//! merge sort (insertion-sorted runs of 8, then merges) takes microseconds.

use std::cmp::Ordering;

/// Runs this long are put in order by insertion before merging: three merge passes fewer.
const RUN: usize = 8;

/// The bottom-up merge sort both entry points share: `before(a, b)` says whether `a` must come
/// before `b` (strictly: equal elements keep their order). Generic, so the score sort gets its
/// comparison inlined; `sorted_positions` passes a `dyn` closure through it.
fn merge_sort<T: Copy + Default>(items: &mut Vec<T>, mut before: impl FnMut(T, T) -> bool) {
    let n = items.len();
    for start in (0..n).step_by(RUN) {
        let end = (start + RUN).min(n);
        for i in start + 1..end {
            let x = items[i];
            let mut j = i;
            // Past the earlier ones only while strictly before them: stability.
            while j > start && before(x, items[j - 1]) {
                items[j] = items[j - 1];
                j -= 1;
            }
            items[j] = x;
        }
    }
    let mut buffer = vec![T::default(); n];
    let mut width = RUN;
    while width < n {
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j, mut k) = (start, mid, start);
            while i < mid && j < end {
                // Take from the right run only when it strictly comes first: stability.
                if before(items[j], items[i]) {
                    buffer[k] = items[j];
                    j += 1;
                } else {
                    buffer[k] = items[i];
                    i += 1;
                }
                k += 1;
            }
            buffer[k..k + (mid - i)].copy_from_slice(&items[i..mid]);
            k += mid - i;
            buffer[k..k + (end - j)].copy_from_slice(&items[j..end]);
            start = end;
        }
        std::mem::swap(items, &mut buffer);
        width *= 2;
    }
}

/// The positions `0..n` in stable sorted order under `cmp` (equal elements keep their order).
pub fn sorted_positions(n: usize, cmp: &mut dyn FnMut(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    merge_sort(&mut order, |a, b| cmp(a, b) == Ordering::Less);
    order
}

/// Sorts pool positions by `score`, highest first, stably (equal scores, and NaN, keep their
/// order): the ranking's hot sort, with the comparison inlined rather than behind `dyn`.
pub fn sort_positions_by_score_desc(positions: &mut Vec<usize>, score: &[f32]) {
    // Each score beside its position: the comparisons read neighbours, not `score[p]`.
    let mut keyed: Vec<(f32, usize)> = positions.iter().map(|&p| (score[p], p)).collect();
    merge_sort(&mut keyed, |a, b| a.0 > b.0);
    positions.clear();
    positions.extend(keyed.iter().map(|&(_, p)| p));
}

/// Sorts `v` stably by `cmp` (like `slice::sort_by`).
pub fn sort_by<T>(v: &mut Vec<T>, mut cmp: impl FnMut(&T, &T) -> Ordering) {
    let order = sorted_positions(v.len(), &mut |a, b| cmp(&v[a], &v[b]));
    let mut slots: Vec<Option<T>> = v.drain(..).map(Some).collect();
    v.extend(order.into_iter().filter_map(|i| slots[i].take()));
}

/// Sorts `v` stably by a key (like `slice::sort_by_key`).
pub fn sort_by_key<T, K: Ord>(v: &mut Vec<T>, mut key: impl FnMut(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_the_standard_library_stable_sort() {
        let mut state = 7u64;
        for n in [0usize, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 64, 100, 513] {
            // Few distinct keys, so stability is visible: the second field is the input order.
            let input: Vec<(u8, usize)> = (0..n)
                .map(|i| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((state >> 60) as u8, i)
                })
                .collect();
            let mut ours = input.clone();
            sort_by_key(&mut ours, |e| e.0);
            let mut reference = input.clone();
            reference.sort_by_key(|e| e.0);
            assert_eq!(ours, reference, "n = {n}");
            let mut descending = input.clone();
            sort_by(&mut descending, |a, b| b.0.cmp(&a.0));
            reference.sort_by(|a, b| b.0.cmp(&a.0));
            assert_eq!(descending, reference, "n = {n}, descending");
            // The score sort of positions: the same order as a stable sort by descending score.
            let scores: Vec<f32> = input.iter().map(|e| f32::from(e.0) * 0.5).collect();
            let mut positions: Vec<usize> = (0..n).rev().collect();
            let mut expected = positions.clone();
            expected.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap_or(Ordering::Equal));
            sort_positions_by_score_desc(&mut positions, &scores);
            assert_eq!(positions, expected, "n = {n}, positions by score");
        }
    }
}
