//! BPR-MF (Rendle et al. 2009): user and item factors trained by SGD on (user, positive,
//! uniformly sampled negative) triples. The epoch count is chosen on validation NDCG@10.
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{Dataset, SplitPart};
use crate::eval::{evaluate_parallel, EvalOptions, Metrics, Scorer};

#[derive(Debug, Clone)]
pub struct BprConfig {
    pub dim: usize,
    pub learning_rate: f32,
    pub reg: f32,
    pub max_epochs: usize,
    /// Validate every this many epochs; stop after `patience` validations without gain.
    pub eval_every: usize,
    pub patience: usize,
    /// Users the epoch choice is validated on (0 = all); above it, an evenly spaced sample.
    /// Full-catalogue validation of every user is the fit's largest cost on a large log
    /// (20,000 users × 50,000 items per check); 3,000 users measure NDCG@10 well enough to
    /// pick an epoch, as for the encoder (`auto`'s validation users).
    pub validation_users: usize,
    pub seed: u64,
    /// Stop at the first epoch that ends after this instant, keeping the best model so far
    /// (the current one when no epoch was validated yet): a time-budgeted training run must
    /// not spend its budget on the item table's starting point.
    pub deadline: Option<Instant>,
}

impl Default for BprConfig {
    fn default() -> Self {
        BprConfig { dim: 64, learning_rate: 0.05, reg: 1e-3, max_epochs: 200, eval_every: 5, patience: 3, validation_users: 3_000, seed: 7, deadline: None }
    }
}

#[derive(Clone)]
pub struct Bpr {
    dim: usize,
    users: Vec<f32>,
    items: Vec<f32>,
    item_bias: Vec<f32>,
}

impl Bpr {
    /// The item factors, row-major `[items, dim]`.
    pub fn item_factors(&self) -> (&[f32], usize) {
        (&self.items, self.dim)
    }

    fn train_epoch(&mut self, pairs: &[(u32, u32)], seen: &[Vec<u32>], cfg: &BprConfig, rng: &mut ChaCha8Rng) {
        let (d, n_items) = (self.dim, self.item_bias.len());
        for _ in 0..pairs.len() {
            let (u, i) = pairs[rng.random_range(0..pairs.len())];
            // A user who has seen every item has no negative to sample (a small catalogue):
            // without this the rejection loop below never ends.
            if seen[u as usize].len() >= n_items {
                continue;
            }
            let j = loop {
                let j = rng.random_range(0..n_items) as u32;
                if seen[u as usize].binary_search(&j).is_err() {
                    break j;
                }
            };
            let (u, i, j) = (u as usize, i as usize, j as usize);
            let mut x = self.item_bias[i] - self.item_bias[j];
            for k in 0..d {
                x += self.users[u * d + k] * (self.items[i * d + k] - self.items[j * d + k]);
            }
            let g = 1.0 / (1.0 + x.exp()); // d/dx of ln sigmoid(x)
            let lr = cfg.learning_rate;
            self.item_bias[i] += lr * (g - cfg.reg * self.item_bias[i]);
            self.item_bias[j] += lr * (-g - cfg.reg * self.item_bias[j]);
            for k in 0..d {
                let (pu, qi, qj) = (self.users[u * d + k], self.items[i * d + k], self.items[j * d + k]);
                self.users[u * d + k] += lr * (g * (qi - qj) - cfg.reg * pu);
                self.items[i * d + k] += lr * (g * pu - cfg.reg * qi);
                self.items[j * d + k] += lr * (-g * pu - cfg.reg * qj);
            }
        }
    }

    /// Trains with early stopping on validation NDCG@10; returns the best model, its
    /// validation metrics and the number of epochs it was trained for.
    pub fn fit(ds: &Dataset, cfg: &BprConfig) -> (Bpr, Metrics, usize) {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let (nu, ni, d) = (ds.num_users(), ds.num_items(), cfg.dim);
        let mut init = |n: usize| (0..n).map(|_| rng.random_range(-0.1..0.1f32)).collect::<Vec<_>>();
        let mut model = Bpr { dim: d, users: init(nu * d), items: init(ni * d), item_bias: vec![0.0; ni] };
        let mut pairs = Vec::new();
        let mut seen = vec![Vec::new(); nu];
        for u in 0..nu {
            for e in ds.train_sequence(u) {
                pairs.push((u as u32, e.item));
                seen[u].push(e.item);
            }
            seen[u].sort_unstable();
            seen[u].dedup();
        }
        let opts = EvalOptions::default();
        let val_users: Option<Vec<usize>> = (cfg.validation_users > 0 && nu > cfg.validation_users).then(|| (0..cfg.validation_users).map(|k| k * nu / cfg.validation_users).collect());
        let (mut best, mut best_m, mut best_epoch, mut bad) = (model.clone(), Metrics::default(), 0, 0);
        for epoch in 1..=cfg.max_epochs {
            model.train_epoch(&pairs, &seen, cfg, &mut rng);
            let out_of_time = cfg.deadline.is_some_and(|d| Instant::now() >= d);
            if epoch % cfg.eval_every == 0 || out_of_time {
                let m = evaluate_parallel(&model, ds, SplitPart::Validation, val_users.as_deref(), &opts);
                if m.ndcg10 > best_m.ndcg10 || (out_of_time && best_epoch == 0) {
                    (best, best_m, best_epoch, bad) = (model.clone(), m, epoch, 0);
                } else {
                    bad += 1;
                    if bad >= cfg.patience {
                        break;
                    }
                }
            }
            if out_of_time {
                break;
            }
        }
        (best, best_m, best_epoch)
    }
}

impl Scorer for Bpr {
    fn score(&self, ds: &Dataset, users: &[usize], _part: SplitPart) -> Vec<Vec<f32>> {
        let d = self.dim;
        users
            .iter()
            .map(|&u| {
                let pu = &self.users[u * d..(u + 1) * d];
                (0..ds.num_items()).map(|i| self.item_bias[i] + pu.iter().zip(&self.items[i * d..(i + 1) * d]).map(|(a, b)| a * b).sum::<f32>()).collect()
            })
            .collect()
    }
}
