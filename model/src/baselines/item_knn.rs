//! Item-kNN: cosine similarity of items' user sets over the training interactions,
//! sim(i, j) = |U_i ∩ U_j| / sqrt(|U_i| |U_j|), keeping each item's `k` nearest neighbours
//! (RecBole's ItemKNN default k = 100, no shrinkage). A user's score for item j is the sum of
//! sim(h, j) over the items h in their history.
use crate::data::{Dataset, SplitPart};
use crate::eval::Scorer;

pub struct ItemKnn {
    /// Per item: (neighbour, similarity), at most k entries.
    neighbours: Vec<Vec<(u32, f32)>>,
}

impl ItemKnn {
    pub fn fit(ds: &Dataset, k: usize) -> ItemKnn {
        ItemKnn { neighbours: cooccurrence_neighbours(ds, k) }
    }
}

/// Co-occurrence neighbours per item that `localrank export` writes into the item table (and
/// `localrank eval` tunes the blend with). Measured in docs/training.md ("The neighbour part").
pub const EXPORT_NEIGHBOURS: usize = 20;

/// The item-kNN similarity, one definition for the baseline and the engine's neighbour part
/// (`localrank export` writes these lists into the item table): per item, its `k` most similar
/// other items over the training part of every user's sequence, sim(i, j) = |U_i ∩ U_j| /
/// sqrt(|U_i| |U_j|) ∈ (0, 1], most similar first (ties by item index). Items that share no
/// user with item i are not listed.
pub fn cooccurrence_neighbours(ds: &Dataset, k: usize) -> Vec<Vec<(u32, f32)>> {
    let n = ds.num_items();
    let mut users_of: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut items_of: Vec<Vec<u32>> = Vec::with_capacity(ds.num_users());
    for u in 0..ds.num_users() {
        let mut items: Vec<u32> = ds.train_sequence(u).iter().map(|e| e.item).collect();
        items.sort_unstable();
        items.dedup();
        for &i in &items {
            users_of[i as usize].push(u as u32);
        }
        items_of.push(items);
    }
    let mut neighbours = Vec::with_capacity(n);
    let mut co = vec![0u32; n];
    let mut touched = Vec::new();
    for i in 0..n {
        for &u in &users_of[i] {
            for &j in &items_of[u as usize] {
                if j as usize != i {
                    if co[j as usize] == 0 {
                        touched.push(j);
                    }
                    co[j as usize] += 1;
                }
            }
        }
        let ni = users_of[i].len() as f32;
        let mut sims: Vec<(u32, f32)> = touched.iter().map(|&j| (j, co[j as usize] as f32 / (ni * users_of[j as usize].len() as f32).sqrt())).collect();
        for &j in &touched {
            co[j as usize] = 0;
        }
        touched.clear();
        sims.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        sims.truncate(k);
        neighbours.push(sims);
    }
    neighbours
}

impl Scorer for ItemKnn {
    fn score(&self, ds: &Dataset, users: &[usize], part: SplitPart) -> Vec<Vec<f32>> {
        users
            .iter()
            .map(|&u| {
                let (hist, _) = ds.history_and_target(u, part);
                let mut s = vec![0f32; ds.num_items()];
                for e in hist {
                    for &(j, w) in &self.neighbours[e.item as usize] {
                        s[j as usize] += w;
                    }
                }
                s
            })
            .collect()
    }
}
