//! Maximal marginal relevance: so the first screen is not ten near-copies of one product.
//! Each pick maximises `λ·relevance − (1 − λ)·(max similarity to what is already picked)`.

use super::score::NORM_EPSILON;
#[cfg(test)]
use super::score::norm;


/// Reorders `ranked` (indices into the pool, best first, with relevance in [0, 1]) so that the
/// first `top` positions are diversified. λ = 1 returns the relevance order unchanged.
/// Only a window of the best `4 × top` candidates competes, which bounds the cost at
/// O(top · window · dim) however large the pool. `row(i)` is pool item `i`'s vector and norm.
///
/// Lazy greedy: after the first pick, a candidate's redundancy (its largest similarity to the
/// picked items) can only grow, so the value last computed for it is an upper bound. Each pick
/// brings only the candidate with the highest bound up to date, until that one is current:
/// the same picks as updating every candidate after every pick (the reference in the tests),
/// for a fraction of the dot products (profiled: MMR was the largest part of a re-rank). The
/// bounds sit in a max-heap, so finding the highest is a pop rather than a scan of the window
/// (profiled again: the scans had become most of MMR's time).
pub fn diversify<'v>(ranked: &[(usize, f32)], row: &dyn Fn(usize) -> (&'v [f32], f32), lambda: f32, top: usize) -> Vec<usize> {
    if lambda >= 1.0 || top <= 1 || ranked.len() <= 1 {
        return ranked.iter().map(|&(i, _)| i).collect();
    }
    let window = ranked.len().min(top.saturating_mul(4));
    let candidates = &ranked[..window];
    let rows: Vec<(&[f32], f32)> = candidates.iter().map(|&(i, _)| row(i)).map(|(v, n)| (v, n.max(NORM_EPSILON))).collect();
    let similarity = |a: usize, b: usize| super::score::dot(rows[a].0, rows[b].0) / (rows[a].1 * rows[b].1);
    // Per candidate: its largest similarity to the first `seen[k]` picks (−∞ before any).
    let mut max_sim = vec![f32::NEG_INFINITY; window];
    let mut seen = vec![0usize; window];
    // Positions in `candidates` of the picks, in order.
    let mut picks: Vec<usize> = Vec::with_capacity(top.min(window));
    let value = |k: usize, max_sim: &[f32]| {
        let redundancy = if max_sim[k] == f32::NEG_INFINITY { 0.0 } else { max_sim[k] };
        lambda * candidates[k].1 - (1.0 - lambda) * redundancy
    };
    let mut bounds = Bounds::new((0..window).map(|k| (value(k, &max_sim), k)).collect());
    while picks.len() < top.min(window) {
        // The highest value as last computed; ties go to the more relevant (lower k).
        let Some((_, chosen)) = bounds.pop() else { break };
        if seen[chosen] != picks.len() {
            for &p in &picks[seen[chosen]..] {
                max_sim[chosen] = max_sim[chosen].max(similarity(chosen, p));
            }
            seen[chosen] = picks.len();
            bounds.push((value(chosen, &max_sim), chosen));
            continue;
        }
        picks.push(chosen);
        if picks.len() == 1 {
            // The first redundancy may be negative, which *raises* a value: bring everyone up
            // to date once, so every later stale value is an upper bound.
            let rest: Vec<(f32, usize)> = bounds
                .0
                .iter()
                .map(|&(_, k)| {
                    max_sim[k] = similarity(k, chosen);
                    seen[k] = 1;
                    (value(k, &max_sim), k)
                })
                .collect();
            bounds = Bounds::new(rest);
        }
    }
    let mut picked = vec![false; window];
    for &k in &picks {
        picked[k] = true;
    }
    let mut order: Vec<usize> = picks.iter().map(|&k| candidates[k].0).collect();
    order.extend((0..window).filter(|&k| !picked[k]).map(|k| candidates[k].0));
    order.extend(ranked[window..].iter().map(|&(i, _)| i));
    order
}

/// A binary max-heap of (value, candidate) under [`higher`], written out: std's `BinaryHeap`
/// needs an `Ord` key, and the wasm is kept small.
struct Bounds(Vec<(f32, usize)>);

/// Whether `a` comes before `b`: the higher value, and on equal values the lower candidate.
fn higher(a: (f32, usize), b: (f32, usize)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 < b.1)
}

impl Bounds {
    fn new(entries: Vec<(f32, usize)>) -> Bounds {
        let mut heap = Bounds(entries);
        for i in (0..heap.0.len() / 2).rev() {
            heap.sift_down(i);
        }
        heap
    }

    fn push(&mut self, entry: (f32, usize)) {
        self.0.push(entry);
        let mut i = self.0.len() - 1;
        while i > 0 && higher(self.0[i], self.0[(i - 1) / 2]) {
            self.0.swap(i, (i - 1) / 2);
            i = (i - 1) / 2;
        }
    }

    fn pop(&mut self) -> Option<(f32, usize)> {
        let last = self.0.pop()?;
        let Some(&top) = self.0.first() else { return Some(last) };
        self.0[0] = last;
        self.sift_down(0);
        Some(top)
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.0.len();
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut best = i;
            if l < n && higher(self.0[l], self.0[best]) {
                best = l;
            }
            if r < n && higher(self.0[r], self.0[best]) {
                best = r;
            }
            if best == i {
                return;
            }
            self.0.swap(i, best);
            i = best;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> Vec<Vec<f32>> {
        // 0 and 1 are near-copies; 2 is different but slightly less relevant.
        vec![vec![1.0, 0.0], vec![0.99, 0.01], vec![0.0, 1.0], vec![0.7, 0.7]]
    }

    #[test]
    fn lambda_one_is_relevance_order() {
        let v = vectors();
        let ranked = [(0, 1.0), (1, 0.95), (2, 0.9), (3, 0.5)];
        assert_eq!(diversify(&ranked, &|i| (&v[i][..], norm(&v[i])), 1.0, 10), vec![0, 1, 2, 3]);
    }

    #[test]
    fn near_copies_are_spread_apart() {
        let v = vectors();
        let ranked = [(0, 1.0), (1, 0.95), (2, 0.9), (3, 0.5)];
        let order = diversify(&ranked, &|i| (&v[i][..], norm(&v[i])), 0.5, 10);
        assert_eq!(order[0], 0);
        assert_eq!(order[1], 2, "the different item comes before the near-copy: {order:?}");
        assert_eq!(order.len(), 4);
    }

    /// The eager MMR this module computed before the lazy version: every candidate updated after
    /// every pick.
    fn eager<'v>(ranked: &[(usize, f32)], vector: &dyn Fn(usize) -> &'v [f32], lambda: f32, top: usize) -> Vec<usize> {
        if lambda >= 1.0 || top <= 1 || ranked.len() <= 1 {
            return ranked.iter().map(|&(i, _)| i).collect();
        }
        let window = ranked.len().min(top.saturating_mul(4));
        let mut remaining: Vec<(usize, f32)> = ranked[..window].to_vec();
        let norms: Vec<f32> = remaining.iter().map(|&(i, _)| norm(vector(i)).max(NORM_EPSILON)).collect();
        let mut max_sim = vec![f32::NEG_INFINITY; remaining.len()];
        let mut alive = vec![true; remaining.len()];
        let mut picked = Vec::new();
        for _ in 0..top.min(window) {
            let mut best: Option<(usize, f32)> = None;
            for (k, &(_, relevance)) in remaining.iter().enumerate() {
                if !alive[k] {
                    continue;
                }
                let redundancy = if max_sim[k] == f32::NEG_INFINITY { 0.0 } else { max_sim[k] };
                let value = lambda * relevance - (1.0 - lambda) * redundancy;
                if best.is_none_or(|(_, v)| value > v) {
                    best = Some((k, value));
                }
            }
            let Some((chosen, _)) = best else { break };
            alive[chosen] = false;
            picked.push(remaining[chosen].0);
            let chosen_vector = vector(remaining[chosen].0);
            for (k, &(item, _)) in remaining.iter().enumerate() {
                if alive[k] {
                    let sim = crate::rank::score::dot(vector(item), chosen_vector) / (norms[k] * norms[chosen]);
                    max_sim[k] = max_sim[k].max(sim);
                }
            }
        }
        remaining.retain(|&(item, _)| !picked.contains(&item));
        picked.extend(remaining.iter().map(|&(i, _)| i));
        picked.extend(ranked[window..].iter().map(|&(i, _)| i));
        picked
    }

    #[test]
    fn lazy_picks_equal_eager_picks() {
        let mut rng = crate::model::fixture::SplitMix(5);
        for case in 0..300 {
            let (n, dim) = (1 + case % 150, 1 + case % 9);
            // Signed components: negative similarities, the case the first pick's full update is for.
            let v: Vec<Vec<f32>> = (0..n).map(|_| (0..dim).map(|_| rng.uniform() * 2.0 - 1.0).collect()).collect();
            // Relevance with ties (rounded), best first as rank() passes it.
            let mut ranked: Vec<(usize, f32)> = (0..n).map(|i| (i, (rng.uniform() * 8.0).round() / 8.0)).collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
            let lambda = [0.0, 0.3, 0.7, 0.95][case % 4];
            let top = [2, 5, 24, 60][case / 4 % 4];
            assert_eq!(diversify(&ranked, &|i| (&v[i][..], norm(&v[i])), lambda, top), eager(&ranked, &|i| &v[i], lambda, top), "case {case}: n {n}, dim {dim}, λ {lambda}, top {top}");
        }
    }

    #[test]
    fn items_beyond_the_window_keep_their_order() {
        let v: Vec<Vec<f32>> = (0..20).map(|i| vec![1.0, i as f32 * 0.01]).collect();
        let ranked: Vec<(usize, f32)> = (0..20).map(|i| (i, 1.0 - i as f32 * 0.01)).collect();
        let order = diversify(&ranked, &|i| (&v[i][..], norm(&v[i])), 0.3, 2);
        assert_eq!(order.len(), 20);
        assert_eq!(&order[8..], &(8..20).collect::<Vec<_>>()[..]);
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
    }
}
