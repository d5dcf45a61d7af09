//! Maximal marginal relevance: so the first screen is not ten near-copies of one product.
//! Each pick maximises `λ·relevance − (1 − λ)·(max similarity to what is already picked)`.

use super::score::{NORM_EPSILON, norm};


/// Reorders `ranked` (indices into the pool, best first, with relevance in [0, 1]) so that the
/// first `top` positions are diversified. λ = 1 returns the relevance order unchanged.
/// Only a window of the best `4 × top` candidates competes, which bounds the cost at
/// O(top² · window · dim) however large the pool.
pub fn diversify<'v>(ranked: &[(usize, f32)], vector: &dyn Fn(usize) -> &'v [f32], lambda: f32, top: usize) -> Vec<usize> {
    if lambda >= 1.0 || top <= 1 || ranked.len() <= 1 {
        return ranked.iter().map(|&(i, _)| i).collect();
    }
    let window = ranked.len().min(top.saturating_mul(4));
    let mut remaining: Vec<(usize, f32)> = ranked[..window].to_vec();
    let norms: Vec<f32> = remaining.iter().map(|&(i, _)| norm(vector(i)).max(NORM_EPSILON)).collect();
    // max similarity of each remaining candidate to the picked set
    let mut max_sim = vec![f32::NEG_INFINITY; remaining.len()];
    let mut alive = vec![true; remaining.len()];
    let mut picked = Vec::with_capacity(ranked.len());
    for _ in 0..top.min(window) {
        let mut best: Option<(usize, f32)> = None;
        for (k, &(_, relevance)) in remaining.iter().enumerate() {
            if !alive[k] {
                continue;
            }
            let redundancy = if max_sim[k] == f32::NEG_INFINITY { 0.0 } else { max_sim[k] };
            let value = lambda * relevance - (1.0 - lambda) * redundancy;
            // Strictly greater: ties keep relevance order.
            if best.is_none_or(|(_, v)| value > v) {
                best = Some((k, value));
            }
        }
        let Some((chosen, _)) = best else { break };
        alive[chosen] = false;
        let chosen_item = remaining[chosen].0;
        picked.push(chosen_item);
        let chosen_vector = vector(chosen_item);
        for (k, &(item, _)) in remaining.iter().enumerate() {
            if alive[k] {
                let v = vector(item);
                let sim = super::score::dot(v, chosen_vector) / (norms[k] * norms[chosen]);
                max_sim[k] = max_sim[k].max(sim);
            }
        }
    }
    remaining.retain(|&(item, _)| !picked.contains(&item));
    picked.extend(remaining.iter().map(|&(i, _)| i));
    picked.extend(ranked[window..].iter().map(|&(i, _)| i));
    picked
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
        assert_eq!(diversify(&ranked, &|i| &v[i], 1.0, 10), vec![0, 1, 2, 3]);
    }

    #[test]
    fn near_copies_are_spread_apart() {
        let v = vectors();
        let ranked = [(0, 1.0), (1, 0.95), (2, 0.9), (3, 0.5)];
        let order = diversify(&ranked, &|i| &v[i], 0.5, 10);
        assert_eq!(order[0], 0);
        assert_eq!(order[1], 2, "the different item comes before the near-copy: {order:?}");
        assert_eq!(order.len(), 4);
    }

    #[test]
    fn items_beyond_the_window_keep_their_order() {
        let v: Vec<Vec<f32>> = (0..20).map(|i| vec![1.0, i as f32 * 0.01]).collect();
        let ranked: Vec<(usize, f32)> = (0..20).map(|i| (i, 1.0 - i as f32 * 0.01)).collect();
        let order = diversify(&ranked, &|i| &v[i], 0.3, 2);
        assert_eq!(order.len(), 20);
        assert_eq!(&order[8..], &(8..20).collect::<Vec<_>>()[..]);
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
    }
}
