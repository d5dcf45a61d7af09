//! Full-ranking evaluation shared by localrank and every baseline: leave-one-out (here),
//! next-basket with the repeat/explore split ([`basket`]), the homepage-pool protocol, and the
//! tuning of the engine's blend for each protocol ([`blend`], [`next_basket`]), and the
//! new-arrivals split that content models are judged on ([`new_arrivals`]), and how faithfully
//! an f16/int8 export reproduces the f32 rankings ([`precision`]).
pub mod basket;
pub mod blend;
pub mod new_arrivals;
pub mod next_basket;
pub mod precision;
pub mod repeat_fit;
pub mod search_steers;
pub mod metrics;

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, SplitPart};
pub use metrics::{paired_ndcg10_change, rank_of, Metrics, MetricsSum, PairedChange};

/// Anything that scores every item for a batch of users.
pub trait Scorer {
    /// One score vector (length = number of items) per user, for the given split part.
    fn score(&self, ds: &Dataset, users: &[usize], part: SplitPart) -> Vec<Vec<f32>>;
}

#[derive(Debug, Clone, Copy)]
pub struct EvalOptions {
    /// Remove items the user already interacted with from the ranking (the target itself is
    /// never removed). Fair when the data never repeats a user-item pair.
    pub exclude_history: bool,
    pub batch_users: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions { exclude_history: true, batch_users: 256 }
    }
}

fn excluded_mask(ds: &Dataset, user: usize, part: SplitPart, opts: &EvalOptions) -> (Vec<bool>, usize) {
    let (hist, target) = ds.history_and_target(user, part);
    let mut ex = vec![false; ds.num_items()];
    if opts.exclude_history {
        for e in hist {
            ex[e.item as usize] = true;
        }
    }
    ex[target.item as usize] = false;
    (ex, target.item as usize)
}

/// Full ranking over all items for `users` (all users when None).
pub fn evaluate(scorer: &dyn Scorer, ds: &Dataset, part: SplitPart, users: Option<&[usize]>, opts: &EvalOptions) -> Metrics {
    evaluate_ranks(scorer, ds, part, users, opts).0
}

/// Each user's 0-based target rank (all users when None), in user order, and their mean
/// metrics: what [`evaluate`] returns, plus the ranks a paired comparison
/// ([`paired_ndcg10_change`]) needs.
pub fn evaluate_ranks(scorer: &dyn Scorer, ds: &Dataset, part: SplitPart, users: Option<&[usize]>, opts: &EvalOptions) -> (Metrics, Vec<usize>) {
    let all: Vec<usize> = (0..ds.num_users()).collect();
    let ranks = target_ranks(scorer, ds, users.unwrap_or(&all), part, opts);
    (mean_of(&ranks), ranks)
}

/// As [`evaluate`], with the users split over every core: for scorers that are plain Rust
/// (the baselines; the encoder's burn backend is parallel already). The ranks are merged in
/// user order, so the result is bit-identical to [`evaluate`]'s on any number of cores.
pub fn evaluate_parallel<S: Scorer + Sync>(scorer: &S, ds: &Dataset, part: SplitPart, users: Option<&[usize]>, opts: &EvalOptions) -> Metrics {
    let all: Vec<usize> = (0..ds.num_users()).collect();
    let users = users.unwrap_or(&all);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, users.len().max(1));
    let per_thread = users.len().div_ceil(threads).max(1);
    let ranks: Vec<usize> = std::thread::scope(|s| {
        let handles: Vec<_> = users.chunks(per_thread).map(|chunk| s.spawn(move || target_ranks(scorer, ds, chunk, part, opts))).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    mean_of(&ranks)
}

/// The 0-based rank of each user's target, in `users` order.
fn target_ranks(scorer: &dyn Scorer, ds: &Dataset, users: &[usize], part: SplitPart, opts: &EvalOptions) -> Vec<usize> {
    let mut ranks = Vec::with_capacity(users.len());
    for chunk in users.chunks(opts.batch_users.max(1)) {
        let scores = scorer.score(ds, chunk, part);
        for (&u, s) in chunk.iter().zip(&scores) {
            let (ex, target) = excluded_mask(ds, u, part, opts);
            ranks.push(rank_of(s, target, &ex));
        }
    }
    ranks
}

fn mean_of(ranks: &[usize]) -> Metrics {
    let mut sum = MetricsSum::default();
    for &r in ranks {
        sum.add_rank(r);
    }
    sum.mean()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HomepagePool {
    pub pool_size: usize,
    pub users: usize,
    pub users_with_target_in_pool: usize,
    #[serde(rename = "server_order_ndcg@10")]
    pub server_ndcg10: f64,
    #[serde(rename = "localrank_ndcg@10")]
    pub localrank_ndcg10: f64,
    #[serde(rename = "server_order_hr@10")]
    pub server_hr10: f64,
    #[serde(rename = "localrank_hr@10")]
    pub localrank_hr10: f64,
    /// localrank / server - 1 on NDCG@10.
    pub lift: f64,
}

/// The product's own protocol: the server's non-personal pool (the `pool_size` most popular
/// training items, in popularity order) either shown as is or reordered by the scorer. Items
/// already in the user's history are dropped from the pool in both orders (the engine's slot
/// rules drop already-bought items). NDCG@10 is averaged over all users; users whose test item
/// is not in the pool count as misses for both orders.
pub fn homepage_pool(scorer: &dyn Scorer, ds: &Dataset, pool_size: usize, opts: &EvalOptions) -> HomepagePool {
    let pool = blend::popular_pool(ds, pool_size);
    let mut in_pool = vec![false; ds.num_items()];
    for &i in &pool {
        in_pool[i] = true;
    }
    let (mut server, mut local) = (MetricsSum::default(), MetricsSum::default());
    let mut hits = 0;
    let users: Vec<usize> = (0..ds.num_users()).collect();
    for chunk in users.chunks(opts.batch_users.max(1)) {
        let scores = scorer.score(ds, chunk, SplitPart::Test);
        for (&u, s) in chunk.iter().zip(&scores) {
            let (mut ex, target) = excluded_mask(ds, u, SplitPart::Test, opts);
            if !in_pool[target] {
                // A miss in both orders: rank beyond any cut-off.
                server.add_rank(usize::MAX / 2);
                local.add_rank(usize::MAX / 2);
                continue;
            }
            hits += 1;
            for (i, e) in ex.iter_mut().enumerate() {
                *e = *e || !in_pool[i];
            }
            // Server order: rank by position in the pool.
            let pos_score: Vec<f32> = {
                let mut v = vec![f32::NEG_INFINITY; ds.num_items()];
                for (p, &i) in pool.iter().enumerate() {
                    v[i] = -(p as f32);
                }
                v
            };
            server.add_rank(rank_of(&pos_score, target, &ex));
            local.add_rank(rank_of(s, target, &ex));
        }
    }
    let (s, l) = (server.mean(), local.mean());
    HomepagePool {
        pool_size: pool.len(),
        users: users.len(),
        users_with_target_in_pool: hits,
        server_ndcg10: s.ndcg10,
        localrank_ndcg10: l.ndcg10,
        server_hr10: s.hr10,
        localrank_hr10: l.hr10,
        lift: if s.ndcg10 > 0.0 { l.ndcg10 / s.ndcg10 - 1.0 } else { 0.0 },
    }
}
