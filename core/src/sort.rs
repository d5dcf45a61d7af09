//! The engine's sorts: a stable merge sort of positions behind a `dyn` comparator, so the
//! shipped wasm holds one compiled sort instead of one per element type and closure, and a
//! radix sort for the ranking's hot sort of scores. The
//! standard library's sorts are faster on large inputs but each instantiation costs several KB
//! (~60 KB of the wasm for the dozen call sites); the engine sorts hundreds of items, where a
//! merge sort (insertion-sorted runs of 8, then merges) takes microseconds.

use std::cmp::Ordering;

/// Runs this long are put in order by insertion before merging: three merge passes fewer.
const RUN: usize = 8;

/// A stable bottom-up merge sort of positions: `before(a, b)` says whether position `a` must
/// come before `b` (strictly: equal elements keep their order).
fn merge_sort(items: &mut Vec<usize>, before: &mut dyn FnMut(usize, usize) -> bool) {
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
    let mut buffer = vec![0usize; n];
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
    merge_sort(&mut order, &mut |a, b| cmp(a, b) == Ordering::Less);
    order
}

/// Sorts pool positions by `score`, highest first, stably (equal scores keep their order): the
/// ranking's hot sort.
///
/// A least-significant-digit radix sort on the scores' bits (four byte-wide passes, each
/// stable): no comparisons at all, a few microseconds for a homepage pool (the merge sort was
/// the largest part of a re-rank after the model, profiled). −0.0 equals 0.0, as it compares;
/// NaN (which no validated input produces) goes last.
pub fn sort_positions_by_score_desc(positions: &mut Vec<usize>, score: &[f32]) {
    let key = |x: f32| -> u32 {
        if x.is_nan() {
            return u32::MAX;
        }
        let bits = (x + 0.0).to_bits();
        // Ascending float order as ascending integers, then reversed.
        !(if bits >> 31 == 1 { !bits } else { bits | 0x8000_0000 })
    };
    let n = positions.len();
    let mut keyed: Vec<(u32, usize)> = positions.iter().map(|&p| (key(score[p]), p)).collect();
    let mut buffer = vec![(0u32, 0usize); n];
    for shift in [0, 8, 16, 24] {
        let mut starts = [0usize; 257];
        for &(k, _) in &keyed {
            starts[((k >> shift) & 0xff) as usize + 1] += 1;
        }
        if starts.contains(&n) {
            continue; // one digit for all: this pass would not move anything
        }
        for d in 1..257 {
            starts[d] += starts[d - 1];
        }
        for &entry in &keyed {
            let d = ((entry.0 >> shift) & 0xff) as usize;
            buffer[starts[d]] = entry;
            starts[d] += 1;
        }
        std::mem::swap(&mut keyed, &mut buffer);
    }
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
    fn scores_sort_highest_first_across_signs_zeros_and_infinities() {
        let mut state = 3u64;
        for n in [1usize, 2, 5, 40, 300, 1000] {
            let special = [0.0, -0.0, 1.5, -1.5, f32::INFINITY, f32::NEG_INFINITY, f32::MIN_POSITIVE, -f32::MIN_POSITIVE, f32::MAX, f32::MIN, 1e-40, -1e-40];
            let scores: Vec<f32> = (0..n)
                .map(|i| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    if i % 3 == 0 { special[(state >> 59) as usize % special.len()] } else { ((state >> 40) as f32 / 16_777_216.0 - 0.5) * 1e3 }
                })
                .collect();
            let mut positions: Vec<usize> = (0..n).collect();
            let mut expected = positions.clone();
            expected.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap_or(Ordering::Equal));
            sort_positions_by_score_desc(&mut positions, &scores);
            assert_eq!(positions, expected, "n = {n}");
        }
        // NaN last, the rest in order.
        let mut positions = vec![0, 1, 2, 3];
        sort_positions_by_score_desc(&mut positions, &[1.0, f32::NAN, 3.0, -f32::NAN]);
        assert_eq!(&positions[..2], &[2, 0]);
        assert_eq!(&positions[2..], &[1, 3]);
    }

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
